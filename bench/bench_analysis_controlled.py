"""Controlled ratio: ghostfast find_slow_points (1 thread) vs 200 numpy Adam steps x 25, same process.
Run as: OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 PYTHONPATH=python python bench/bench_analysis_controlled.py"""

import sys, time, numpy as np

sys.path.insert(0, __import__("os").path.dirname(__file__))
from bench_analysis import network_and_starts, adam_numpy
from ghostfast import analysis as A

W, b, starts = network_and_starts(1000)
for rep in range(2):
    t0 = time.perf_counter()
    sp = A.find_slow_points(W, b, starts, n_threads=1)
    t_gf = time.perf_counter() - t0
    t0 = time.perf_counter()
    adam_numpy(W, b, starts, steps=200)
    t_np = (time.perf_counter() - t0) / 200 * 5000
    print(
        f"ghostfast 1 thr {t_gf:.2f} s; numpy Adam 5000 (extrapolated from 200 steps) {t_np:.1f} s; ratio {t_np / t_gf:.1f}"
    )
