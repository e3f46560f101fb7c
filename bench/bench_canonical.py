"""Speed of ghostfast.canonical.train on the paper's Fig 2D sweep against numpy baselines run in the same process.

Workload (spec section 6 "2D"): T = 100, 100 learning rates in logspace(-11, -8), 10 repeats each with
r0 = 10 r* + N(0, (r*/10)^2), 10 000 epochs of plain gradient descent with the sharp-limit gradient (paper
code convention), loss recorded every epoch by the paper script (we record the 5 epochs it plots).

Baselines:
  * paper-style: Python loops over lr, repeat and epoch, calling scalar numpy loss/gradient functions the
    way the paper's script does. Too slow to run in full: a subset of lrs is timed and extrapolated linearly
    (every run costs the same: the paper's loop has no early exit).
  * vectorised numpy: all 1000 runs as one array, a Python loop over the 10 000 epochs.

Usage: PYTHONPATH=python python bench/bench_canonical.py [--paper-lrs 4] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

import ghostfast
from ghostfast import canonical

T = 100.0
EPOCHS = 10000
N_SEEDS = 10
LRS = np.logspace(-11, -8, 100)
RECORD = (1000, 2000, 3000, 5000, 10000)


# ---- the paper script's way: scalar numpy functions, called once per epoch per run
def err_func(r: float, T: float) -> float:
    r_star = np.pi**2 / (4 * T**2)
    if r <= r_star / 4:
        return 1.0
    return np.abs(T - np.pi / (2 * np.sqrt(r))) / T


def gradient_loss(r: float, T: float) -> float:
    r_star = np.pi**2 / (4 * T**2)
    if r < r_star / 4:
        return 0.0
    if r <= r_star:
        return -np.pi / (4 * r**1.5)
    return np.pi / (4 * r**1.5)


def paper_style(lrs: np.ndarray) -> np.ndarray:
    r_star = np.pi**2 / (4 * T**2)
    losses = np.zeros((lrs.size, N_SEEDS, EPOCHS))
    for i, lr in enumerate(lrs):
        np.random.seed(i)
        for rep in range(N_SEEDS):
            r = 10 * r_star + np.random.randn() * r_star / 10
            for epoch in range(EPOCHS):
                losses[i, rep, epoch] = err_func(r, T)
                r = r - lr * gradient_loss(r, T)
    return losses


def vectorised_numpy(r0: np.ndarray, lrs: np.ndarray) -> tuple:
    r_star = np.pi**2 / (4 * T**2)
    r = r0.copy()
    lr = np.broadcast_to(lrs[:, None], r0.shape)
    recorded = []
    for epoch in range(EPOCHS + 1):
        active = r > r_star / 4
        if epoch + 1 in RECORD:  # the loss of (1-based) epoch E's forward pass: r after E - 1 updates
            safe = np.where(active, r, 1.0)
            recorded.append(np.where(active, np.abs(T - np.pi / (2 * np.sqrt(safe))) / T, 1.0))
        if epoch == EPOCHS:
            break
        safe = np.where(r < r_star / 4, 1.0, r)
        magnitude = (np.pi / 4.0) / (safe * np.sqrt(safe))
        g = np.where(r < r_star / 4, 0.0, np.where(r > r_star, magnitude, -magnitude))
        r = r - lr * g
    return r, np.stack(recorded, axis=-1)


def best_of(fn, repeats: int) -> tuple:
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--paper-lrs", type=int, default=4, help="lrs timed for the paper-style loop")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--paper-full-limit",
        type=float,
        default=60.0,
        help="run the paper-style loop in full when its estimated time is below this (s)",
    )
    args = parser.parse_args()

    print(
        f"ghostfast {ghostfast.__version__}, OpenMP {ghostfast.has_openmp}, default threads "
        f"{ghostfast.default_threads()}, {platform.processor() or platform.machine()}, cpus {os.cpu_count()}"
    )
    print(f"workload: {LRS.size} lrs x {N_SEEDS} seeds x {EPOCHS} epochs = {LRS.size * N_SEEDS * EPOCHS:.1e} updates")

    timings = {}
    sweep = canonical.lr_sweep(T, LRS, N_SEEDS, EPOCHS, normalized=False, seeding="paper", record_epochs=RECORD)
    record = np.array(RECORD) - 1  # the loss of epoch E's forward pass = r after E - 1 updates
    for threads in (1, 2):
        # The training itself, from the same r0 the baselines get (fair comparison).
        t, _ = best_of(
            lambda: canonical.train(
                sweep.r0, LRS[:, None], T, EPOCHS, normalized=False, record_epochs=record, n_threads=threads
            ),
            args.repeats,
        )
        timings[f"ghostfast {threads} thread(s)"] = t
        print(f"ghostfast train (1000 runs), n_threads={threads}: {t * 1e3:.1f} ms")
        t_all, _ = best_of(
            lambda: canonical.lr_sweep(
                T, LRS, N_SEEDS, EPOCHS, normalized=False, seeding="paper", record_epochs=RECORD, n_threads=threads
            ),
            args.repeats,
        )
        print(
            f"ghostfast lr_sweep incl. paper seeding (100 legacy RandomState draws in Python), "
            f"n_threads={threads}: {t_all * 1e3:.1f} ms"
        )

    t_vec, (r_vec, loss_vec) = best_of(lambda: vectorised_numpy(sweep.r0, LRS), 1)
    print(f"vectorised numpy (1000 runs as one array, loop over epochs): {t_vec:.2f} s")
    print(
        f"  agreement with ghostfast: max |loss difference| at the recorded epochs = "
        f"{np.abs(loss_vec - sweep.loss).max():.1e}"
    )

    k = max(1, min(args.paper_lrs, LRS.size))
    idx = list(range(0, LRS.size, LRS.size // k))[:k]
    t0 = time.perf_counter()
    paper_losses = paper_style(LRS[idx])
    t_sub = time.perf_counter() - t0
    t_paper = t_sub * LRS.size / len(idx)
    print(
        f"paper-style Python loop: {len(idx)} lrs took {t_sub:.2f} s -> {t_paper:.1f} s for {LRS.size} lrs "
        f"by linear extrapolation"
    )
    if t_paper <= args.paper_full_limit:
        t0 = time.perf_counter()
        paper_losses = paper_style(LRS)
        t_paper = time.perf_counter() - t0
        idx = list(range(LRS.size))
        print(f"  ... estimate <= {args.paper_full_limit:g} s, so it was run in full: {t_paper:.1f} s measured")
    else:
        print(f"  ... estimate > {args.paper_full_limit:g} s: NOT run in full, the extrapolation is used")
    paper_at = paper_losses[:, :, np.array(RECORD) - 1]  # epoch E = the E-th entry of the per-epoch list
    paper_trapped = (paper_losses[:, :, -1] == 1.0).mean(axis=1)
    ours_trapped = sweep.trapped_fraction[idx]
    settled = (paper_trapped % 1 == 0) & (ours_trapped % 1 == 0)
    diff_mean = np.abs(paper_at.mean(axis=1) - sweep.mean_loss[idx])[settled].max()
    print(
        f"  agreement with ghostfast: trapped fraction equal at {np.sum(paper_trapped == ours_trapped)}/{len(idx)} "
        f"lrs; max |difference of seed-mean loss| over lrs that neither side traps partially = {diff_mean:.2f}"
    )
    print(
        "  (the paper-style code rounds r0 and r**1.5 differently; in the oscillatory regime single runs then\n"
        "   sit on another phase of their cycle, so only statistics agree, not single epochs)"
    )

    t_fast = min(timings.values())
    print("\nratios (baseline time / ghostfast time, best ghostfast thread count):")
    print(f"  paper-style Python loop / ghostfast:         {t_paper / t_fast:,.0f}x")
    print(f"  vectorised numpy / ghostfast:                {t_vec / t_fast:,.0f}x")
    print(
        f"  ghostfast 1 thread / 2 threads:              "
        f"{timings['ghostfast 1 thread(s)'] / timings['ghostfast 2 thread(s)']:.2f}x"
    )


if __name__ == "__main__":
    main()
