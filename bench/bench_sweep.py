"""Benchmark of ghostfast.sweep on the Fig 6A rank-one sweep (paper Fig. 6A).

Measures, in one process:
1. the Fig 6A sweep (30 lr = logspace(-4, -1, 30) x 10 seeds) for ``--epochs`` epochs on all cores, and its
   linear extrapolation to the paper's 200 001 epochs (every epoch costs the same: full-batch BPTT over 40 steps);
2. parallel efficiency: a sub-sweep on 1 thread vs 2 threads (same runs, bit-identical results checked);
3. the paper's baseline: a sequential PyTorch loop over epochs for one rank-one network (float32 as in the
   paper's code, and float64), per-epoch time measured here (if torch is installed), and the spec's ~3 ms/epoch.

Usage:  PYTHONPATH=python python bench/bench_sweep.py [--epochs 20001] [--torch-epochs 300]
        PYTHONPATH=python python bench/bench_sweep.py --scaling [--Ts 5 10 20 40] [--seeds 6]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

from ghostfast import __version__, default_threads, rnn, sweep, tasks

PAPER_EPOCHS = 200_001
PAPER_MS_PER_EPOCH = 3.0  # the authors' code: eager PyTorch CPU, one rank-one network


def rank_one() -> "rnn.Model":
    return rnn.Model(N=100, rank=1, alpha=0.5, readout="latent", confidence=10.0, threshold=1.0, read="after", x0=-0.3)


def torch_ms_per_epoch(epochs: int, dtype_name: str) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    dtype = getattr(torch, dtype_name)
    N, T, alpha, c = 100, 20, 0.5, 10.0
    torch.manual_seed(0)
    m = (torch.randn(N, dtype=dtype) / N**0.5).requires_grad_()
    n = (torch.randn(N, dtype=dtype) / N**0.5).requires_grad_()
    b = torch.zeros(N, dtype=dtype, requires_grad=True)
    opt = torch.optim.SGD([m, n, b], lr=1e-2)
    target = torch.zeros(2 * T, dtype=dtype)
    target[T:] = 1.0

    def epoch() -> None:
        x = -0.3 * torch.ones(N, dtype=dtype)
        loss = torch.zeros((), dtype=dtype)
        for t in range(2 * T):
            kappa = n @ x
            x = (1 - alpha) * x + alpha * torch.tanh(m * kappa + b)
            y = torch.sigmoid(c * (n @ x - 1.0))
            loss = loss + (y - target[t]) ** 2
        loss = loss / T
        opt.zero_grad()
        loss.backward()
        torch.sqrt(sum((p.grad**2).sum() for p in (m, n, b)))  # the paper logs the gradient norm
        opt.step()

    for _ in range(10):
        epoch()
    t0 = time.perf_counter()
    for _ in range(epochs):
        epoch()
    return (time.perf_counter() - t0) / epochs * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=20_001, help="epochs of the timed Fig 6A sweep")
    ap.add_argument("--eff-epochs", type=int, default=5_000, help="epochs of the 1-vs-2-thread comparison")
    ap.add_argument("--torch-epochs", type=int, default=300)
    ap.add_argument(
        "--init",
        default="torch",
        help="init_params scheme for the Fig 6A sweep (default: %(default)s, "
        "the paper's PyTorch draws, so seeds 0-9 are the paper's networks)",
    )
    ap.add_argument(
        "--scaling",
        action="store_true",
        help="instead: critical lr vs delay T (delayed activation, rank one) with a power-law fit",
    )
    ap.add_argument("--Ts", type=int, nargs="+", default=[5, 10, 20, 40])
    ap.add_argument("--seeds", type=int, default=6)
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # long runs: show each result as it comes
    if args.scaling:
        return scaling(args)
    threads = default_threads()  # read before torch is imported (torch.set_num_threads changes the OpenMP default)

    print(
        f"ghostfast {__version__}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"default threads {threads}, load average {os.getloadavg()}"
    )
    model = rank_one()
    task = tasks.delayed_activation(20)
    lrs = np.logspace(-4, -1, 30)

    # 1. the Fig 6A sweep on all cores
    t0 = time.perf_counter()
    res = sweep.sweep(
        model, task, args.epochs, lr=lrs, seed=range(10), record_every=1000, progress=False, init_scheme=args.init
    )
    wall = time.perf_counter() - t0
    runs = res.done.size
    per_epoch_us = wall / (runs * args.epochs) * 1e6
    full = wall * PAPER_EPOCHS / args.epochs
    print(
        f"\n[1] Fig 6A sweep: {runs} runs x {args.epochs} epochs on {threads} threads, init {args.init!r}: {wall:.1f} s "
        f"({per_epoch_us:.2f} us per run-epoch, wall)"
    )
    print(f"    extrapolated to {PAPER_EPOCHS} epochs: {full:.0f} s = {full / 60:.1f} min (target < 10 min)")
    frac_trapped = res.trapped.mean(axis=1)
    print("    fraction trapped per lr:", np.array2string(frac_trapped, precision=1, max_line_width=200))
    at = np.flatnonzero(frac_trapped >= 0.5)
    if at.size:
        print(f"    first lr with >= 50% of seeds trapped at epoch {args.epochs - 1}: {lrs[at[0]]:.4g}")
    mean_final = res.final_loss.mean(axis=1)
    print(
        "    mean loss at the last recorded epoch per lr:", np.array2string(mean_final, precision=3, max_line_width=200)
    )
    learned_all = np.flatnonzero((res.final_loss < 0.05).all(axis=1))
    if learned_all.size:
        print(
            f"    smallest lr with every seed learned (loss < 0.05): {lrs[learned_all[0]]:.4g} "
            f"(spec rule of thumb 150/E = {150 / args.epochs:.4g})"
        )

    # 2. parallel efficiency (same runs; results must be bit-identical)
    sub_lrs = lrs[14:22]  # around the critical region: a mix of learning and trapped runs
    timings = {}
    results = {}
    for threads in (1, 2):
        t0 = time.perf_counter()
        results[threads] = sweep.sweep(
            model,
            task,
            args.eff_epochs,
            lr=sub_lrs,
            seed=range(10),
            n_threads=threads,
            record_every=100,
            progress=False,
        )
        timings[threads] = time.perf_counter() - t0
    same = all(
        np.array_equal(getattr(results[1], k), getattr(results[2], k), equal_nan=True)
        for k in ("loss", "grad_norm", "accuracy", "weight_norm")
    )
    print(
        f"\n[2] {sub_lrs.size * 10} runs x {args.eff_epochs} epochs: 1 thread {timings[1]:.2f} s, 2 threads "
        f"{timings[2]:.2f} s: speed-up {timings[1] / timings[2]:.2f}x (target >= 1.8x); bit-identical: {same}"
    )

    # 3. the paper's sequential PyTorch loop
    print(
        f"\n[3] paper code's cost (eager PyTorch): {PAPER_MS_PER_EPOCH} ms/epoch sequential -> Fig 6A = "
        f"{PAPER_MS_PER_EPOCH * 1e-3 * runs * PAPER_EPOCHS / 3600:.0f} h"
    )
    for dtype in ("float32", "float64"):
        ms = torch_ms_per_epoch(args.torch_epochs, dtype)
        if ms is None:
            print("    torch not installed: pip install torch==2.13.0")
            break
        seq_h = ms * 1e-3 * runs * PAPER_EPOCHS / 3600
        print(
            f"    PyTorch {dtype} measured here: {ms:.3f} ms/epoch -> Fig 6A sequential {seq_h:.1f} h; "
            f"ghostfast sweep is {seq_h * 3600 / full:.0f}x faster (wall, {threads} threads), "
            f"{ms * 1e3 / (per_epoch_us * threads):.0f}x per core"
        )


def scaling(args: argparse.Namespace) -> None:
    """Critical lr of the rank-one RNN vs the delay T. Epochs grow like T^2 because runs near lr_c need
    ~ 1/lr_c epochs to reach the optimum (measured: lr_c ~ T^-1.7..-2, drop epoch at lr_c ~ 600 ... 21 000
    for T = 5 ... 40); E(T) = 40 T^2 + 2000 is about 3x the arrival time at lr_c."""
    model = rank_one()
    print(f"ghostfast {__version__}, load average {os.getloadavg()}")

    def epochs(T: int) -> int:
        return 40 * T * T + 2000

    def bounds(T: int) -> tuple:
        guess = 0.017 * (20 / T) ** 1.8
        return guess / 4, guess * 4

    t0 = time.perf_counter()
    sc = sweep.critical_lr_scaling(
        model,
        Ts=args.Ts,
        epochs=epochs,
        lr_bounds=bounds,
        seeds=range(args.seeds),
        n_grid=7,
        n_bisect=4,
        progress=False,
    )
    print(f"critical lr scaling ({args.seeds} seeds, n_grid=7, n_bisect=4): {time.perf_counter() - t0:.0f} s")
    for T, r in zip(sc.Ts, sc.results):
        print(
            f"  T={T:3d} epochs={epochs(T):6d} lr_c={r.lr:.4g} bracket=({r.bracket[0]:.4g}, {r.bracket[1]:.4g})"
            f"  lr_c*T^2={r.lr * T**2:.3g}  lr_c*T^4={r.lr * T**4:.4g}"
        )
        print("         lrs", np.array2string(r.lrs, precision=4, max_line_width=200))
        print("     trapped", np.array2string(r.trapped_fraction, precision=2, max_line_width=200))
        print("     learned", np.array2string(r.learned_fraction, precision=2, max_line_width=200))
    f = sc.fit
    if f is not None:
        print(
            f"  fit lr_c = a T^p: p = {f.exponent:.3f} +- {f.exponent_se:.3f} (95% CI {f.exponent_ci95[0]:.3f} .. "
            f"{f.exponent_ci95[1]:.3f}), a = {f.prefactor:.4g} (95% CI {f.prefactor_ci95[0]:.4g} .. "
            f"{f.prefactor_ci95[1]:.4g}), n = {f.n}"
        )
        for i in range(len(sc.Ts) - 1):
            local = np.log(sc.lr_c[i + 1] / sc.lr_c[i]) / np.log(sc.Ts[i + 1] / sc.Ts[i])
            print(f"  local exponent T={sc.Ts[i]}->{sc.Ts[i + 1]}: {local:.3f}")


if __name__ == "__main__":
    main()
