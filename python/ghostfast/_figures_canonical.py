"""Figures of the 1-D canonical model dx/dt = r + x^2 (paper Figs 1, 2, 2D and 8A)."""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from . import canonical, plotting
from ._figures_base import FigureResult, check_scale, new_figure, pick, stops_on_interrupt, threads
from ._validation import check_choice, check_real

_T = 100.0  # the delay of every canonical-model script of the paper's code


@stops_on_interrupt
def fig1(scale: str = "default", *, n_threads: Optional[int] = None) -> FigureResult:
    """Fig 1: saddle-node vs ghost. The vector field dx/dt = x^2 + r for r = -0.5 (two fixed points
    +-sqrt(0.5): stable on the left, unstable on the right) and r = +0.5 (no fixed point; the flow slows near
    x = 0, the ghost), on x in linspace(-1, 1, 100) with ylim [-1, 2] and a zero line (paper Fig 1).

    Every scale draws the same thing; ``n_threads`` is accepted for a uniform signature.

    Parameters
    ----------
    scale : {"quick", "default", "paper"}
        Size of the run (see :mod:`ghostfast.figures`).
    n_threads : int, optional
        Accepted and validated like the other figures' (nothing here runs in parallel).

    Returns
    -------
    FigureResult
        One Axes. ``data``: ``x`` (100,), ``r`` (2,) = (-0.5, 0.5), ``flow`` (2, 100), ``fixed_points`` (2,)
        (of r = -0.5), ``ghost`` (1,) = [0.0] (of r = +0.5).

    Examples
    --------
    >>> from ghostfast import figures
    >>> res = figures.fig1()
    >>> res.data["fixed_points"].round(4).tolist()  # r = -0.5: the saddle-node pair at -+sqrt(0.5)
    [-0.7071, 0.7071]
    >>> bool((res.data["flow"][1] > 0).all())  # r = +0.5: no fixed point left, only the ghost near x = 0
    True
    """
    scale = check_scale(scale)
    threads(n_threads)
    x = np.linspace(-1.0, 1.0, 100)
    r = np.array([-0.5, 0.5])
    flow = x[None, :] ** 2 + r[:, None]
    fixed = np.array([-np.sqrt(0.5), np.sqrt(0.5)])
    fig, axes = new_figure(1, 1, figsize=(5.0, 4.0))
    ax = axes[0, 0]
    ax.plot(x, flow[0], color="tab:blue", label="r = -0.5: two fixed points")
    ax.plot(x, flow[1], color="tab:red", label="r = +0.5: ghost, no fixed point")
    ax.axhline(0.0, color="black", lw=0.8)
    ax.scatter(fixed[:1], [0.0], s=50, color="tab:blue", zorder=5, label="stable")
    ax.scatter(fixed[1:], [0.0], s=50, facecolors="white", edgecolors="tab:blue", zorder=5, label="unstable")
    ax.scatter([0.0], [0.5], marker="x", s=60, color="tab:red", zorder=5, label="ghost (slowest point)")
    ax.set_ylim(-1.0, 2.0)
    ax.set_xlim(-1.0, 1.0)
    ax.set_xlabel("x")
    ax.set_ylabel("dx/dt = x² + r")
    ax.set_title("Fig 1: saddle-node (r < 0) vs ghost (r > 0)")
    ax.legend(fontsize=8, loc="upper center")
    return FigureResult(
        "fig1", fig, {"x": x, "r": r, "flow": flow, "fixed_points": fixed, "ghost": np.array([0.0])}, {"scale": scale}
    )


@stops_on_interrupt
def fig2_loss(
    scale: str = "default", *, confidences: Sequence[float] = (0.1, 1.0), n_threads: Optional[int] = None
) -> FigureResult:
    """Fig 2 (loss): the canonical loss landscape L(r) at T = 100.

    Black: the sharp-limit (a -> inf) T-normalised loss ``canonical.loss`` on a fine grid (1201 points on
    [-r*, 2r*], containing r*/4 and r* exactly); dots: the Euler-simulated loss ``canonical.simulate`` for each
    confidence a (dt = 0.1, x0 = 0, x_th = 10, 2000 steps, clip 1e6) on the paper's grid linspace(-r*, 2r*, 100)
    ("quick": 40 points). Lines at r* (solid) and r*/4 (dashed, edge of the no-learning zone where L = 1).

    Parameters
    ----------
    scale : {"quick", "default", "paper"}
        Size of the run (see :mod:`ghostfast.figures`). "quick" simulates 40 values of r, the others the paper's 100.
    confidences : sequence of float
        The output confidences a of the simulated curves (paper Fig 2: 0.1 and 1).
    n_threads : int, optional
        OpenMP threads (None: default). Results do not depend on it.

    Returns
    -------
    FigureResult
        One Axes. ``data``: ``r_analytic`` (1201,), ``loss_analytic`` (1201,), ``r`` (n,), ``confidences`` (k,),
        ``loss_simulated`` (k, n), ``r_star``, ``r_zone`` (0-d).

    Examples
    --------
    >>> import numpy as np
    >>> from ghostfast import figures
    >>> res = figures.fig2_loss(scale="quick")
    >>> bool(np.isclose(res.data["r_star"], np.pi**2 / (4 * 100**2)))  # the minimum r* = pi^2 / (4 T^2)
    True
    >>> zone = res.data["r_analytic"] <= res.data["r_zone"]  # the no-learning zone r <= r*/4
    >>> bool((res.data["loss_analytic"][zone] == 1.0).all())
    True
    >>> res.data["loss_simulated"].shape  # (confidence, r)
    (2, 40)
    """
    scale = check_scale(scale)
    conf = np.asarray(confidences, dtype=np.float64)
    if conf.ndim != 1 or conf.size < 1:
        raise ValueError("confidences must be a non-empty 1-D sequence of positive numbers")
    r_star = canonical.optimal_r(_T)
    r_zone = canonical.no_learning_boundary(_T)
    r_fine = np.linspace(-r_star, 2 * r_star, 1201)
    L_fine = np.asarray(canonical.loss(r_fine, _T))
    r = np.linspace(-r_star, 2 * r_star, pick(scale, 40, 100, 100))
    sim = canonical.simulate(r[None, :], _T, conf[:, None], n_threads=threads(n_threads))
    L_sim = np.asarray(sim.loss)

    fig, axes = new_figure(1, 1, figsize=(6.0, 4.2))
    ax = axes[0, 0]
    ax.plot(r_fine / r_star, L_fine, color="black", lw=1.5, label="analytic (a → ∞)")
    colors = ["tab:orange", "tab:red", "tab:purple", "tab:brown", "tab:pink"]
    for k, a in enumerate(conf):
        ax.plot(r / r_star, L_sim[k], ".", ms=4, color=colors[k % len(colors)], label=f"simulated, a = {a:g}")
    ax.axvline(1.0, color="grey", lw=1, label="r*")
    ax.axvline(0.25, color="grey", lw=1, ls="--", label="r*/4 (no-learning zone below)")
    ax.set_xlabel("r / r*")
    ax.set_ylabel("loss L(r) (normalised by T)")
    ax.set_ylim(-0.02, 1.05)
    ax.set_title(f"Fig 2: canonical loss landscape, T = {_T:g}, r* = {r_star:.3e}", fontsize=10)
    ax.legend(fontsize=8)
    data = {
        "r_analytic": r_fine,
        "loss_analytic": L_fine,
        "r": r,
        "confidences": conf,
        "loss_simulated": L_sim,
        "r_star": np.array(r_star),
        "r_zone": np.array(r_zone),
    }
    params = {"scale": scale, "T": _T, "dt": 0.1, "threshold": 10.0, "confidences": conf.tolist(), "n_r": int(r.size)}
    return FigureResult("fig2_loss", fig, data, params)


@stops_on_interrupt
def fig2_dynamics(
    scale: str = "default",
    *,
    lrs: Sequence[float] = (1e-10, 1e-9),
    epochs: Optional[int] = None,
    n_threads: Optional[int] = None,
) -> FigureResult:
    """Fig 2 (dynamics): plain gradient descent on r from r0 = 10 r* (T = 100, the paper code's unnormalised
    gradient), loss vs epoch and r vs epoch (log-y, lines at r* and r*/4).

    Below the critical lr 3 pi^4 / (32 T^5) = 9.13e-10 (lr 1e-10): a slow drift, an abrupt arrival at r*
    (epoch ~1540 = 8 (r0^2.5 - r*^2.5) / (5 pi lr)), then a small oscillation around the cusp. Above it
    (lr 1e-9): a fast arrival, an overshoot below r*/4 and L = 1 with zero gradient forever.
    3000 epochs at every scale (the paper's).

    Parameters
    ----------
    scale : {"quick", "default", "paper"}
        Size of the run (see :mod:`ghostfast.figures`). Every scale runs the same computation.
    lrs : sequence of float
        Learning rates, one curve each (the paper's: 1e-10 and 1e-9, either side of the critical rate).
    epochs : int, optional
        Epochs of gradient descent (None: the paper's 3000).
    n_threads : int, optional
        OpenMP threads (None: default). Results do not depend on it.

    Returns
    -------
    FigureResult
        Two Axes (loss, r). ``data``: ``epochs`` (E+1,), ``lrs`` (2,), ``r`` (2, E+1), ``loss`` (2, E+1),
        ``arrival_epoch`` (2,), ``trapped`` (2,), ``r_star``, ``r_zone``, ``critical_lr`` (0-d).

    Examples
    --------
    >>> from ghostfast import figures
    >>> res = figures.fig2_dynamics()
    >>> res.data["trapped"].tolist()  # lr 1e-10 learns, lr 1e-9 ends in the no-learning zone
    [False, True]
    >>> 500 < int(res.data["arrival_epoch"][0]) < 3000  # the slow run's abrupt arrival at r*
    True
    """
    scale = check_scale(scale)
    lr_arr = np.asarray(lrs, dtype=np.float64)
    if lr_arr.ndim != 1 or lr_arr.size < 1:
        raise ValueError("lrs must be a non-empty 1-D sequence of learning rates")
    E = 3000 if epochs is None else int(epochs)
    r_star = canonical.optimal_r(_T)
    r_zone = canonical.no_learning_boundary(_T)
    lr_c = canonical.critical_lr(_T, normalized=False)
    res = canonical.train(10.0 * r_star, lr_arr, _T, E, normalized=False, n_threads=threads(n_threads), progress=False)
    fig, axes = new_figure(1, 2, figsize=(10.0, 4.0))
    ax_loss, ax_r = axes[0]
    colors = ["tab:blue", "tab:red", "tab:green", "tab:purple"]
    for k, lr in enumerate(lr_arr):
        side = "below" if lr < lr_c else "above"
        label = f"lr = {lr:.0e} ({side} lr_c)"
        ax_loss.plot(res.epochs_recorded, res.loss[k], color=colors[k % 4], label=label)
        ax_r.plot(res.epochs_recorded, res.r[k], color=colors[k % 4], label=label)
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss L(r)")
    ax_loss.set_ylim(-0.02, 1.05)
    ax_loss.set_title("loss vs epoch", fontsize=10)
    ax_loss.legend(fontsize=8)
    ax_r.axhline(r_star, color="black", lw=1, label="r*")
    ax_r.axhline(r_zone, color="black", lw=1, ls="--", label="r*/4")
    ax_r.set_yscale("log")
    ax_r.set_xlabel("epoch")
    ax_r.set_ylabel("r")
    ax_r.set_title("r vs epoch", fontsize=10)
    ax_r.legend(fontsize=8)
    fig.suptitle(
        f"Fig 2: gradient descent on r, T = {_T:g}, r0 = 10 r*, critical lr = {lr_c:.3e} (unnormalised gradient)",
        fontsize=10,
    )
    data = {
        "epochs": res.epochs_recorded,
        "lrs": lr_arr,
        "r": res.r,
        "loss": res.loss,
        "arrival_epoch": res.arrival_epoch,
        "trapped": res.trapped,
        "r_star": np.array(r_star),
        "r_zone": np.array(r_zone),
        "critical_lr": np.array(lr_c),
    }
    params = {"scale": scale, "T": _T, "r0": 10.0 * r_star, "epochs": E, "lrs": lr_arr.tolist(), "normalized": False}
    return FigureResult("fig2_dynamics", fig, data, params)


@stops_on_interrupt
def fig2d(
    scale: str = "default", *, measured_critical_lr: Optional[float] = None, n_threads: Optional[int] = None
) -> FigureResult:
    """Fig 2D: mean (+- SEM) loss vs learning rate at several epochs, canonical model, T = 100.

    ``canonical.lr_sweep`` with the paper's seeding (``np.random.seed(i)`` per lr index, r0 = 10 r* +
    N(0, (r*/10)^2)) and the code's unnormalised gradient. A lower panel shows the fraction of runs trapped in
    the no-learning zone after the last epoch. Vertical dashed line: the analytic critical lr 3 pi^4/(32 T^5);
    dotted (optional): ``measured_critical_lr``.

    Parameters
    ----------
    scale : {"quick", "default", "paper"}
        "paper" and "default": the paper's grid (logspace(-11, -8, 100) x 10 repeats, 10 000 epochs, recorded at
        epochs 1000, 2000, 3000, 5000, 10000); "quick": 30 lrs x 5 repeats x 3000 epochs.
    measured_critical_lr : float, optional
        A measured critical learning rate to mark with a dotted line (None: not drawn).
    n_threads : int, optional
        OpenMP threads (None: default). Results do not depend on it.

    Returns
    -------
    FigureResult
        Two Axes. ``data``: ``lrs`` (n,), ``record_epochs`` (k,), ``mean_loss``/``sem_loss`` (n, k),
        ``loss`` (n, seeds, k), ``trapped_fraction`` (n,), ``critical_lr`` (0-d).

    Examples
    --------
    >>> from ghostfast import figures
    >>> res = figures.fig2d(scale="quick")
    >>> lrs, trapped = res.data["lrs"], res.data["trapped_fraction"]
    >>> lr_c = float(res.data["critical_lr"])  # 3 pi^4 / (32 T^5)
    >>> bool((trapped[lrs > 1.1 * lr_c] == 1.0).all())  # above the critical rate every run is trapped
    True
    >>> bool((trapped[lrs < 0.85 * lr_c] == 0.0).all())  # well below it none is
    True
    """
    scale = check_scale(scale)
    n_lr, n_seeds, epochs, record = pick(
        scale,
        (30, 5, 3000, (1000, 2000, 3000)),
        (100, 10, 10000, (1000, 2000, 3000, 5000, 10000)),
        (100, 10, 10000, (1000, 2000, 3000, 5000, 10000)),
    )
    lrs = np.logspace(-11, -8, n_lr)
    sw = canonical.lr_sweep(
        _T,
        lrs,
        n_seeds=n_seeds,
        epochs=epochs,
        normalized=False,
        seeding="paper",
        record_epochs=record,
        n_threads=threads(n_threads),
        progress=False,
    )
    fig, data = draw_lr_sweep(sw, measured_critical_lr)
    params = {
        "scale": scale,
        "T": _T,
        "lrs": "logspace(-11, -8, %d)" % n_lr,
        "n_seeds": n_seeds,
        "epochs": epochs,
        "record_epochs": list(record),
        "seeding": "paper",
        "normalized": False,
        "measured_critical_lr": measured_critical_lr,
    }
    return FigureResult("fig2d", fig, data, params)


def draw_lr_sweep(sw: canonical.LRSweepResult, measured_critical_lr: Optional[float] = None):
    """Draw a :class:`canonical.LRSweepResult` as Fig 2D (loss vs lr per recorded epoch, trapped fraction).

    Returns ``(figure, data)``; used by :func:`fig2d` and by ``ghostfast demo``."""
    T = float(sw.T)
    n_seeds = int(sw.loss.shape[1])
    lr_c = float(canonical.critical_lr(T, normalized=sw.normalized))
    fig, axes = new_figure(2, 1, figsize=(6.4, 6.4), sharex=True, height_ratios=(3, 1))
    ax, ax_trap = axes[:, 0]
    plotting.plot_lr_sweep(sw, ax=ax, ax_trapped=ax_trap, critical_lr=lr_c)
    if measured_critical_lr is not None:
        for a in (ax, ax_trap):
            a.axvline(
                check_real(measured_critical_lr, "measured_critical_lr", positive=True),
                color="tab:red",
                ls=":",
                lw=1,
                label="measured (50 % trapped)" if a is ax else None,
            )
    power = 4 if sw.normalized else 5
    ax.set_ylabel(f"loss (mean ± SEM over {n_seeds} runs)")
    ax.set_title(
        f"Fig 2D: canonical model, T = {T:g}, r0 ≈ 10 r*; critical lr 3π⁴/(32T^{power}) = {lr_c:.3e}", fontsize=10
    )
    ax.legend(fontsize=8, loc="lower left")
    ax_trap.set_xlabel("learning rate" + ("" if sw.normalized else " (paper-code convention: gradient without 1/T)"))
    data = {
        "lrs": sw.lrs,
        "record_epochs": sw.record_epochs,
        "mean_loss": sw.mean_loss,
        "sem_loss": sw.sem_loss,
        "loss": sw.loss,
        "trapped_fraction": sw.trapped_fraction,
        "critical_lr": np.array(lr_c),
    }
    return fig, data


@stops_on_interrupt
def fig8a(
    scale: str = "default",
    *,
    confidences: Sequence[float] = (0.01, 0.1, 0.5, 1.0, 2.0),
    gradient: str = "exact",
    n_threads: Optional[int] = None,
) -> FigureResult:
    """Fig 8A: the gradient profile |dL/dr| (each curve normalised to its maximum on the grid, log-y) vs r, for
    the sharp-limit landscape (black; exactly 0 below r*/4, so not drawn there) and the Euler-simulated model
    at each confidence a (reds). Lower confidence leaves a usable gradient inside the no-learning zone.

    ``gradient="exact"`` (default): the exact derivative of the discrete loss (``canonical.simulate``);
    at high a it is jagged above r*/4 (each Euler step crossing the threshold is a kink of the discrete loss).
    ``gradient="paper"``: ``np.gradient`` of the simulated loss curve on the grid, as the paper's script did
    (smoother, but a finite difference across r*/4 and r*). ``relative_grad_at_zero`` is |dL/dr|(r = 0) / max
    over the grid (the confidence table of the canonical model; "paper": at the grid point nearest 0). Grid:
    linspace(-r*, 2r*, 100) ("quick": 40).

    Parameters
    ----------
    scale : {"quick", "default", "paper"}
        Size of the run (see :mod:`ghostfast.figures`). "quick" uses 40 values of r, the others the paper's 100.
    confidences : sequence of float
        The output confidences a, one curve each.
    gradient : {"exact", "paper"}
        How dL/dr of the simulated model is computed (see above).
    n_threads : int, optional
        OpenMP threads (None: default). Results do not depend on it.

    Returns
    -------
    FigureResult
        One Axes. ``data``: ``r`` (n,), ``confidences`` (k,), ``grad_simulated`` (k, n) (signed, raw),
        ``grad_relative`` (k, n) (|.| / max), ``grad_analytic`` (n,), ``grad_analytic_relative`` (n,),
        ``relative_grad_at_zero`` (k,), ``r_star``, ``r_zone``.

    Examples
    --------
    >>> from ghostfast import figures
    >>> res = figures.fig8a(scale="quick")
    >>> res.data["confidences"].tolist()
    [0.01, 0.1, 0.5, 1.0, 2.0]
    >>> rel = res.data["relative_grad_at_zero"]  # |dL/dr| at r = 0, inside the no-learning zone
    >>> bool(rel[1] > 100 * rel[4])  # a = 0.1 keeps orders of magnitude more gradient there than a = 2
    True
    """
    scale = check_scale(scale)
    gradient = check_choice(gradient, "gradient", ("exact", "paper"))
    conf = np.asarray(confidences, dtype=np.float64)
    if conf.ndim != 1 or conf.size < 1:
        raise ValueError("confidences must be a non-empty 1-D sequence of positive numbers")
    r_star = canonical.optimal_r(_T)
    r_zone = canonical.no_learning_boundary(_T)
    r = np.linspace(-r_star, 2 * r_star, pick(scale, 40, 100, 100))
    nt = threads(n_threads)
    sim = canonical.simulate(r[None, :], _T, conf[:, None], n_threads=nt)
    if gradient == "exact":
        g = np.asarray(sim.dloss_dr)
        g0 = np.asarray(canonical.simulate(np.zeros(conf.size), _T, conf, n_threads=nt).dloss_dr)
    else:
        g = np.gradient(np.asarray(sim.loss), r, axis=1)
        g0 = g[:, int(np.argmin(np.abs(r)))]
    gmax = np.max(np.abs(g), axis=1)
    rel = np.abs(g) / gmax[:, None]
    rel0 = np.abs(g0) / gmax
    ga = np.asarray(canonical.loss_grad(r, _T, normalized=True))
    ga_rel = np.abs(ga) / np.max(np.abs(ga))

    fig, axes = new_figure(1, 1, figsize=(6.0, 4.2))
    ax = axes[0, 0]
    shown = ga_rel > 0
    import matplotlib

    reds = matplotlib.colormaps["Reds"](np.linspace(0.35, 1.0, conf.size))
    for k, a in enumerate(conf):
        ax.plot(r / r_star, np.where(rel[k] > 0, rel[k], np.nan), color=reds[k], lw=1.2, label=f"a = {a:g}")
    # The sharp limit on top (dashed, so the finite-a curves it overlaps above r*/4 stay visible); it is
    # exactly 0 inside the no-learning zone, which a log axis cannot show: a marker at the zone edge says so.
    ax.plot(
        r[shown] / r_star,
        ga_rel[shown],
        color="black",
        lw=2.0,
        ls=(0, (4, 2)),
        zorder=5,
        label="analytic, a → ∞ (0 below r*/4)",
    )
    ax.axvline(1.0, color="grey", lw=1)
    ax.axvline(0.25, color="grey", lw=1, ls="--")
    ax.axvspan(r[0] / r_star, 0.25, color="grey", alpha=0.08, lw=0)
    ax.text(
        0.5 * (r[0] / r_star + 0.25), 2.0, "no-learning zone", ha="center", va="bottom", fontsize=8, color="dimgrey"
    )
    ax.set_yscale("log")
    ax.set_ylim(top=20.0)
    ax.set_xlabel("r / r*  (dashed: r*/4, solid: r*)")
    ax.set_ylabel("|dL/dr| / max")
    ax.set_title(f"Fig 8A: gradient profile vs confidence a, T = {_T:g}", fontsize=10)
    ax.legend(fontsize=8, loc="lower right", framealpha=0.95)
    data = {
        "r": r,
        "confidences": conf,
        "grad_simulated": g,
        "grad_relative": rel,
        "grad_analytic": ga,
        "grad_analytic_relative": ga_rel,
        "relative_grad_at_zero": rel0,
        "r_star": np.array(r_star),
        "r_zone": np.array(r_zone),
    }
    params = {
        "scale": scale,
        "T": _T,
        "dt": 0.1,
        "threshold": 10.0,
        "confidences": conf.tolist(),
        "n_r": int(r.size),
        "gradient": gradient,
    }
    return FigureResult("fig8a", fig, data, params)
