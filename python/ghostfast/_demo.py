"""``ghostfast demo``: the canonical model's critical learning rate, measured against theory.

Runs the paper's Fig 2D-style learning-rate sweep (T = 100, the paper code's unnormalised gradient), finds
the learning rate at which half the runs end trapped in the no-learning zone, compares it with the analytic
3 pi^4 / (32 T^5), and (full mode) fits the power law lr_c ~ T^p over five delays (theory: p = -5). The
gradient-descent map is scale invariant (only r / r* and lr T^5 matter), so the fit uses independent seeds at
each delay: with the same draws at every T it would return -5 by construction, not as a measurement.
"""

from __future__ import annotations

import os
import time
from typing import Optional, Tuple

import numpy as np

from . import canonical


def _plot(sweep: canonical.LRSweepResult, analytic: float, measured: float, path: str) -> None:
    """The sweep drawn as the paper's Fig 2D (``ghostfast.figures``), with the measured critical lr."""
    from ._figures_canonical import draw_lr_sweep

    del analytic  # draw_lr_sweep draws the same analytic 3 pi^4 / (32 T^5) line the demo prints
    fig, _ = draw_lr_sweep(sweep, measured_critical_lr=measured)
    fig.savefig(path, dpi=120)


def run_demo(out_dir: str = "ghostfast-demo", quick: bool = False, n_threads: Optional[int] = None) -> int:
    """Run the demo, print measured vs analytic critical learning rates, write ``final_loss_vs_lr.png``.

    Returns the process exit code (0). ``quick``: fewer lrs, seeds and epochs (a couple of seconds).
    """
    start = time.perf_counter()
    T = 100.0
    record: Tuple[int, ...]
    if quick:
        lrs, n_seeds, epochs, record = np.logspace(-11, -8, 40), 5, 3000, (1000, 2000, 3000)
        crit_seeds, crit_epochs = 10, 5000
    else:
        lrs, n_seeds, epochs, record = np.logspace(-11, -8, 100), 10, 10000, (1000, 2000, 3000, 5000, 10000)
        crit_seeds, crit_epochs = 20, 20000
    analytic = float(canonical.critical_lr(T, normalized=False))
    print(f"canonical model dx/dt = r + x^2, T = {T:g}, paper-code convention (gradient without 1/T)")
    print(f"r* = pi^2/(4T^2) = {canonical.optimal_r(T):.6e}, no-learning zone r < r*/4")

    sweep = canonical.lr_sweep(
        T,
        lrs,
        n_seeds=n_seeds,
        epochs=epochs,
        normalized=False,
        seeding="paper",
        record_epochs=record,
        n_threads=n_threads,
    )
    print(f"lr sweep: {lrs.size} lrs x {n_seeds} seeds x {epochs} epochs (paper seeding np.random.seed(i))")
    crit = canonical.empirical_critical_lr(
        T, normalized=False, n_seeds=crit_seeds, epochs=crit_epochs, seed=0, n_threads=n_threads
    )
    print(f"analytic critical lr 3*pi^4/(32 T^5) = {analytic:.4e}")
    print(
        f"measured critical lr (50% of {crit_seeds} runs trapped after {crit_epochs} epochs) = "
        f"{crit.lr_critical:.4e} (ratio {crit.ratio:.4f})"
    )

    if not quick:
        # Independent seeds at each T: gradient descent on r is scale invariant (r / r* and lr T^5 are the only
        # variables), so with the SAME draws at every T the exponent would come out -5 by construction. With
        # independent draws each T's critical lr is a separate finite-sample measurement of the same
        # dimensionless threshold, and the fit's scatter and confidence interval mean something.
        fit = canonical.fit_critical_lr_scaling(
            (25.0, 50.0, 100.0, 200.0, 400.0),
            normalized=False,
            n_seeds=crit_seeds,
            epochs=crit_epochs,
            seed=0,
            common_random_numbers=False,
            n_threads=n_threads,
        )
        print(
            "critical lr vs T, independent seeds at each T (the map is scale invariant: with the same seeds the "
            "exponent would be -5 exactly, by construction)"
        )
        for res in fit.results:
            print(
                f"  T = {res.T:5g}: measured {res.lr_critical:.4e}, analytic {res.analytic:.4e}, ratio {res.ratio:.4f}"
            )
        print(
            f"power-law fit lr_c = A T^p: p = {fit.exponent:.4f} (95% CI {fit.exponent_ci[0]:.4f} .. "
            f"{fit.exponent_ci[1]:.4f}; theory {fit.analytic_exponent}), A = {fit.prefactor:.3f} "
            f"(theory 3 pi^4/32 = {fit.analytic_prefactor:.3f})"
        )

    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "final_loss_vs_lr.png")
    _plot(sweep, analytic, crit.lr_critical, path)
    print(f"figure: {path}")
    print(f"done in {time.perf_counter() - start:.1f} s")
    return 0
