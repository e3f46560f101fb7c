"""What keeping a sweep's finished runs on disk costs: ``sweep.sweep(..., out=DIR)`` (chunks of about 1/16 of the
runs, each written as it finishes: what ``ghostfast reproduce`` does for the figures trained by sweeps) against
one ``train_many`` call over every run, in the same process, with the same bits checked.

The cost is not the writing (kilobytes per run) but each chunk's end: the threads wait for the chunk's last
lane group before the next chunk starts. The grids are the paper-scale Fig 6A and Fig 6B grids with fewer
epochs (the wait per chunk is a fixed share of the chunk's time, whatever the number of epochs).

Usage:  PYTHONPATH=python python bench/bench_checkpoint.py [--epochs 400] [--threads 2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time

import numpy as np

from ghostfast import __version__, rnn, sweep, tasks, vector_kernel
from ghostfast._figures_rnn import full_rank_delayed_model, rank_one_model


def grids(epochs: int) -> dict:
    fig6b_model = rnn.Model(
        N=100, rank=1, alpha=0.5, readout="linear", output="sigmoid", read="after", x0=-0.3, init="delayed"
    )
    return {
        "Fig 6A rank one (300 runs)": (rank_one_model(), dict(lr=list(np.logspace(-4, -1, 30)), seed=list(range(10)))),
        "Fig 6A full rank (300 runs)": (
            full_rank_delayed_model(),
            dict(lr=list(np.logspace(-4, 1, 30)), seed=list(range(10))),
        ),
        "Fig 6B, 9 ranks (900 runs)": (
            fig6b_model,
            dict(lr=list(np.logspace(-3, 0, 10)), seed=list(range(10)), rank=[1, 2, 3, 4, 5, 10, 30, 50, 100]),
        ),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=400)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3, help="best of this many timings of each")
    args = ap.parse_args()
    print(
        f"ghostfast {__version__}, kernel {vector_kernel()}, {platform.processor() or platform.machine()}, "
        f"{args.threads} threads, {args.epochs} epochs per run, best of {args.repeat}"
    )
    print("| grid | one call | checkpointed (out=) | chunks | ratio |")
    print("|---|---|---|---|---|")
    for name, (model, grid) in grids(args.epochs).items():
        kw = dict(epochs=args.epochs, record_every=10, n_threads=args.threads, progress=False, **grid)
        task = tasks.delayed_activation(20)
        best_one, best_ck, n_chunks = np.inf, np.inf, 0
        for _ in range(args.repeat):
            t = time.perf_counter()
            one = sweep.sweep(model, task, **kw)
            best_one = min(best_one, time.perf_counter() - t)
            d = tempfile.mkdtemp()
            try:
                t = time.perf_counter()
                ck = sweep.sweep(model, task, out=d, **kw)
                best_ck = min(best_ck, time.perf_counter() - t)
                n_chunks = len([p for p in os.listdir(d) if p.startswith("chunk-")])
            finally:
                shutil.rmtree(d)
            np.testing.assert_array_equal(one.loss, ck.loss)  # the same bits
        print(f"| {name} | {best_one:.2f} s | {best_ck:.2f} s | {n_chunks} | {best_ck / best_one:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
