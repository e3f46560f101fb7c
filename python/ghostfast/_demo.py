"""``ghostfast demo``: the canonical model's critical learning rate, measured against theory.

Runs the paper's Fig 2D-style learning-rate sweep (T = 100, the paper code's unnormalised gradient), finds
the learning rate at which half the runs end trapped in the no-learning zone, compares it with the analytic
3 pi^4 / (32 T^5), and (full mode) fits the power law lr_c ~ T^p over five delays (theory: p = -5).
"""
from __future__ import annotations

import os
import time
from typing import Optional

import numpy as np

from . import canonical


def _plot(sweep: canonical.LRSweepResult, analytic: float, measured: float, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    fig, (ax, ax_trap) = plt.subplots(2, 1, figsize=(6.4, 6.4), sharex=True, height_ratios=(3, 1))
    colors = plt.cm.viridis(np.linspace(0.1, 0.9, sweep.record_epochs.size))
    for k, (epoch, color) in enumerate(zip(sweep.record_epochs, colors)):
        mean, sem = sweep.mean_loss[:, k], np.nan_to_num(sweep.sem_loss[:, k])
        ax.plot(sweep.lrs, mean, color=color, label=f"epoch {epoch}")
        ax.fill_between(sweep.lrs, np.maximum(mean - sem, 1e-6), mean + sem, color=color, alpha=0.25, lw=0)
    for a in (ax, ax_trap):
        a.axvline(analytic, color="k", ls="--", lw=1)
        a.axvline(measured, color="tab:red", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylabel("loss (mean ± SEM over seeds)")
    ax.set_title(f"canonical model, T = {sweep.T:g}\ncritical lr: dashed = analytic, dotted = measured (50 % trapped)",
                 fontsize=10)
    ax.legend(fontsize=8, loc="lower left")
    ax_trap.plot(sweep.lrs, sweep.trapped_fraction, color="k", marker=".", ms=3)
    ax_trap.set_ylabel("trapped fraction")
    ax_trap.set_xlabel("learning rate (paper-code convention, gradient without 1/T)")
    ax_trap.set_ylim(-0.05, 1.05)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run_demo(out_dir: str = "ghostfast-demo", quick: bool = False, n_threads: Optional[int] = None) -> int:
    """Run the demo, print measured vs analytic critical learning rates, write ``final_loss_vs_lr.png``.

    Returns the process exit code (0). ``quick``: fewer lrs, seeds and epochs (a couple of seconds).
    """
    start = time.perf_counter()
    T = 100.0
    if quick:
        lrs, n_seeds, epochs, record = np.logspace(-11, -8, 40), 5, 3000, (1000, 2000, 3000)
        crit_seeds, crit_epochs = 10, 5000
    else:
        lrs, n_seeds, epochs, record = np.logspace(-11, -8, 100), 10, 10000, (1000, 2000, 3000, 5000, 10000)
        crit_seeds, crit_epochs = 20, 20000
    analytic = canonical.critical_lr(T, normalized=False)
    print(f"canonical model dx/dt = r + x^2, T = {T:g}, paper-code convention (gradient without 1/T)")
    print(f"r* = pi^2/(4T^2) = {canonical.optimal_r(T):.6e}, no-learning zone r < r*/4")

    sweep = canonical.lr_sweep(T, lrs, n_seeds=n_seeds, epochs=epochs, normalized=False, seeding="paper",
                               record_epochs=record, n_threads=n_threads)
    print(f"lr sweep: {lrs.size} lrs x {n_seeds} seeds x {epochs} epochs (paper seeding np.random.seed(i))")
    crit = canonical.empirical_critical_lr(T, normalized=False, n_seeds=crit_seeds, epochs=crit_epochs, seed=0,
                                           n_threads=n_threads)
    print(f"analytic critical lr 3*pi^4/(32 T^5) = {analytic:.4e}")
    print(f"measured critical lr (50% of {crit_seeds} runs trapped after {crit_epochs} epochs) = "
          f"{crit.lr_critical:.4e} (ratio {crit.ratio:.4f})")

    if not quick:
        fit = canonical.fit_critical_lr_scaling((25.0, 50.0, 100.0, 200.0, 400.0), normalized=False,
                                                n_seeds=crit_seeds, epochs=crit_epochs, seed=0, n_threads=n_threads)
        for res in fit.results:
            print(f"  T = {res.T:5g}: measured {res.lr_critical:.4e}, analytic {res.analytic:.4e}, "
                  f"ratio {res.ratio:.4f}")
        print(f"power-law fit lr_c = A T^p: p = {fit.exponent:.4f} (95% CI {fit.exponent_ci[0]:.4f} .. "
              f"{fit.exponent_ci[1]:.4f}; theory {fit.analytic_exponent}), A = {fit.prefactor:.3f} "
              f"(theory 3 pi^4/32 = {fit.analytic_prefactor:.3f})")

    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "final_loss_vs_lr.png")
    _plot(sweep, analytic, crit.lr_critical, path)
    print(f"figure: {path}")
    print(f"done in {time.perf_counter() - start:.1f} s")
    return 0
