"""Figures of the trained RNNs (paper Figs 3, 6A, 6B, 8B).

The rank-one network is the paper's Fig 3 network (N = 100, alpha = 0.5, latent readout sigmoid(c (kappa - 1)) with
c = 10, x0 = -0.3, delayed activation with T = 20), initialised like the paper's PyTorch code
(``rnn.init_params(model, seed, scheme="torch")``; seed 40 is the paper's Fig 3 network). Float64 throughout,
where the paper ran float32: see the precision note in :mod:`ghostfast.figures`.
"""

from __future__ import annotations

import os
from typing import Any, Optional, Sequence, Union

import numpy as np

from . import analysis, metrics, plotting, rnn, sweep, tasks
from ._figures_base import (
    FigureResult,
    band,
    check_scale,
    finished,
    mean_sem,
    new_figure,
    pick,
    stops_on_interrupt,
    sweep_store,
    threads,
)
from ._validation import check_int

_T_RNN = 20
#: The paper's flow-map grid (linspace(-15, 15, 1000)) and the plotted part (indices 200:800, kappa ~ [-9, 9]).
_KAPPA_FULL = np.linspace(-15.0, 15.0, 1000)
_KAPPA_PLOT = _KAPPA_FULL[200:800]


def rank_one_model(confidence: float = 10.0, train_confidence: bool = False) -> rnn.Model:
    """The rank-one network of paper Fig 3 with the paper's PyTorch initialisation."""
    return rnn.Model(
        N=100,
        rank=1,
        alpha=0.5,
        readout="latent",
        confidence=confidence,
        threshold=1.0,
        train_confidence=train_confidence,
        read="after",
        x0=-0.3,
        init="torch",
    )


def _kappa0(params: Any, x0: float = -0.3) -> float:
    """The initial latent kappa0 = n . x0 of a rank-one network started at x0 = -0.3 (every unit)."""
    return float(x0 * np.sum(params["n"]))


def _flow_panels(
    axes: Sequence[Any], snapshots: dict, epochs: Sequence[int], ylim: Optional[tuple] = None
) -> tuple[np.ndarray, np.ndarray]:
    """Draw f(kappa) of each snapshot (plotting.plot_flow_1d) and return the flow maps and kappa0 values."""
    stack = [snapshots[e] for e in epochs]
    flows = analysis.flow_maps_1d(
        np.stack([p["m"] for p in stack]),
        np.stack([p["n"] for p in stack]),
        np.stack([p["b"] for p in stack]),
        _KAPPA_PLOT,
    )
    k0 = np.array([_kappa0(p) for p in stack])
    for ax, e, p, k in zip(axes, epochs, stack, k0):
        plotting.plot_flow_1d(p, _KAPPA_PLOT, ax=ax, kappa0=k, threshold=1.0)
        ax.set_title(f"flow map, epoch {e}", fontsize=9)
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.legend(fontsize=6, loc="best")
    return flows, k0


@stops_on_interrupt
def fig3_small_lr(scale: str = "default", *, seed: int = 40, n_threads: Optional[int] = None) -> FigureResult:
    """Fig 3A/B: the rank-one network at a small learning rate: long plateau with a tiny gradient, a gradient
    spike and an abrupt loss drop; flow maps f(kappa) = -kappa + n.tanh(m kappa + b) at three epochs, with kappa0
    (red dot) and the readout threshold kappa = 1 (orange). After learning a ghost (a minimum of f slightly
    above 0) sits between kappa0 and 1.

    Scales ("paper": paper Fig 3A exactly; one run, serial):
    ==========  ======  ========  ===========================  ============
    scale       lr      epochs    flow maps at epochs          record every
    ==========  ======  ========  ===========================  ============
    paper       0.003   500 000   1, 200 001, 499 001          100
    default     0.003   100 000   1, 30 001, 99 001            20
    quick       0.01    20 000    1, 8 001, 19 001             10
    ==========  ======  ========  ===========================  ============
    Seed 40 (the paper's network) drops near epoch 33 600 at lr 0.003 and 10 100 at lr 0.01 (float64).
    The number of fixed points (sign changes of f on linspace(-15, 15, 1000)) is counted at every recorded
    epoch (the paper's supplementary "fixed point test"): ``data["fixed_point_count"]``.

    Parameters
    ----------
    scale : {"quick", "default", "paper"}
        Size of the run (table above).
    seed : int
        Seed of the PyTorch-style initialisation (40: the paper's network).
    n_threads : int, optional
        OpenMP threads (None: default). Results do not depend on it.

    Returns
    -------
    FigureResult
        Four Axes (history, three flow maps). ``data``: ``epochs`` (n,), ``loss``, ``grad_norm``,
        ``fixed_point_count`` (n,), ``flow_epochs`` (3,), ``kappa`` (600,), ``flow`` (3, 600), ``kappa0`` (3,).

    Examples
    --------
    The quick scale trains at lr 0.01 for 20 000 epochs; ``scale="paper"`` is paper Fig 3A (lr 0.003,
    500 000 epochs).

    >>> from ghostfast import figures
    >>> res = figures.fig3_small_lr(scale="quick")
    >>> loss = res.data["loss"]
    >>> bool(loss[0] > 0.999 and loss[-1] < 0.05)  # from the plateau to learned
    True
    >>> int(res.data["fixed_point_count"].max())  # no bifurcation: one fixed point at every recorded epoch
    1
    """
    scale = check_scale(scale)
    seed = check_int(seed, "seed", minimum=0)
    lr, epochs, flow_epochs, every = pick(
        scale,
        (0.01, 20000, (1, 8001, 19001), 10),
        (0.003, 100000, (1, 30001, 99001), 20),
        (0.003, 500000, (1, 200001, 499001), 100),
    )
    model = rank_one_model()
    params = rnn.init_params(model, seed, scheme="torch")
    res = rnn.train(
        model,
        tasks.delayed_activation(_T_RNN),
        lr=lr,
        epochs=epochs,
        params=params,
        record_every=every,
        snapshot_epochs=flow_epochs,
        fixed_point_grid=_KAPPA_FULL,
        n_threads=threads(n_threads),
    )
    fig, axes = new_figure(2, 3, figsize=(12.0, 7.0))
    gs = axes[0, 0].get_gridspec()
    for ax in axes[0]:
        ax.remove()
    ax_hist = fig.add_subplot(gs[0, :])
    plotting.plot_history(res.loss, res.grad_norm, ax=ax_hist, epochs=res.epochs, ylim=(1e-6, 5.0))
    for e in flow_epochs:
        ax_hist.axvline(e, color="grey", lw=0.8, ls=":")
    assert res.fixed_point_count is not None  # counted on fixed_point_grid
    max_fp = int(np.max(res.fixed_point_count))
    ax_hist.set_title(
        f"Fig 3A: rank-one RNN (N = 100, T = {_T_RNN}), seed {seed}, SGD lr {lr:g}, {epochs} epochs; "
        f"fixed points during training: at most {max_fp}",
        fontsize=10,
    )
    flows, k0 = _flow_panels(axes[1], res.snapshots, flow_epochs)
    data = {
        "epochs": res.epochs,
        "loss": res.loss,
        "grad_norm": res.grad_norm,
        "fixed_point_count": res.fixed_point_count,
        "flow_epochs": np.asarray(flow_epochs),
        "kappa": _KAPPA_PLOT,
        "flow": flows,
        "kappa0": k0,
    }
    params_out = {
        "scale": scale,
        "seed": seed,
        "init": "torch",
        "lr": lr,
        "epochs": epochs,
        "record_every": every,
        "flow_epochs": list(flow_epochs),
        "N": 100,
        "T": _T_RNN,
    }
    return FigureResult("fig3_small_lr", fig, data, params_out)


@stops_on_interrupt
def fig3_large_lr(
    scale: str = "default",
    *,
    seed: int = 40,
    flow_epochs: Optional[Sequence[int]] = None,
    n_threads: Optional[int] = None,
) -> FigureResult:
    """Fig 3C/D: the rank-one network at lr 0.02 (above the critical rate), 6000 epochs: plateau at
    L ~ 0.9999, an abrupt drop, then no monotone convergence; an inset on epochs 5000-5200 and flow maps at
    three epochs around the drop (ylim [-1, 3]).

    The paper (float32) drew its flow maps at epochs 5156, 5163 and 5166. In float64 seed 40 drops earlier
    (first loss < 0.5 at epoch 5051) and then oscillates around L ~ 0.03-0.6 instead of the paper's behaviour;
    lr 0.02 is above the critical rate, so the post-drop path depends on rounding. With ``flow_epochs=None`` the
    flow maps are drawn at (d - 7, d, d + 3), d = the detected drop epoch (the paper's spacing); pass
    ``flow_epochs=(5156, 5163, 5166)`` for the paper's epochs.

    Parameters
    ----------
    scale : {"quick", "default", "paper"}
        Every scale runs the same computation (the paper's).
    seed : int
        Seed of the PyTorch-style initialisation (40: the paper's network).
    flow_epochs : sequence of 3 int, optional
        Epochs of the three flow maps (None: around the detected drop, see above).
    n_threads : int, optional
        OpenMP threads (None: default). Results do not depend on it.

    Returns
    -------
    FigureResult
        Five Axes (history, inset; the three flow maps overlaid, a close-up around the threshold, the fixed
        point kappa* over the drop window). ``data``: ``epochs`` (6000,), ``loss``, ``grad_norm``,
        ``accuracy``, ``drop_epoch`` (0-d), ``flow_epochs`` (3,), ``kappa`` (600,), ``flow`` (3, 600),
        ``kappa0`` (3,), ``window_epochs`` (W,) (drop - 60 ... drop + 140), ``fixed_point_kappa`` (W,) (the
        largest fixed point at the start of each window epoch).

    Examples
    --------
    >>> from ghostfast import figures
    >>> res = figures.fig3_large_lr(scale="quick")
    >>> drop = int(res.data["drop_epoch"])
    >>> 4000 < drop < 6000
    True
    >>> # the drop comes as the largest fixed point kappa* passes the readout threshold kappa = 1
    >>> crossing = res.data["window_epochs"][res.data["fixed_point_kappa"] > 1.0][0]
    >>> abs(int(crossing) - drop) <= 10
    True
    """
    scale = check_scale(scale)
    seed = check_int(seed, "seed", minimum=0)
    lr, epochs = 0.02, 6000
    model = rank_one_model()
    params = rnn.init_params(model, seed, scheme="torch")
    task = tasks.delayed_activation(_T_RNN)
    res = rnn.train(model, task, lr=lr, epochs=epochs, params=params, n_threads=threads(n_threads))
    drop = int(metrics.drop_epoch(res.loss, res.epochs))
    if flow_epochs is None:
        flow_epochs = (drop - 7, drop, drop + 3) if drop >= 7 else (epochs - 20, epochs - 10, epochs - 1)
    flow_epochs = tuple(check_int(e, "flow_epochs", minimum=0) for e in flow_epochs)
    if len(flow_epochs) != 3 or any(e > epochs for e in flow_epochs):
        raise ValueError(f"flow_epochs must be 3 epochs in [0, {epochs}], got {flow_epochs}")
    # Parameters at the start of every epoch of the inset window and of the chosen epochs: a second (cheap) run
    # that keeps only those snapshots.
    lo_w, hi_w = (max(0, drop - 60), min(epochs, drop + 140)) if drop >= 0 else (5000, 5200)
    window_epochs = np.arange(lo_w, hi_w + 1)
    snaps = rnn.train(
        model,
        task,
        lr=lr,
        epochs=max(max(flow_epochs), hi_w) + 1,
        params=params,
        record_every=epochs,
        snapshot_epochs=sorted(set(flow_epochs) | set(window_epochs.tolist())),
        n_threads=threads(n_threads),
    ).snapshots
    # The largest fixed point kappa* of each window epoch: the readout turns on when it passes kappa = 1.
    fp_kappa = np.array([float(np.max(analysis.fixed_points_1d(snaps[int(e)]).kappa)) for e in window_epochs])

    fig, axes = new_figure(2, 3, figsize=(12.0, 7.0))
    gs = axes[0, 0].get_gridspec()
    for ax in axes[0]:
        ax.remove()
    ax_hist = fig.add_subplot(gs[0, :2])
    ax_in = fig.add_subplot(gs[0, 2])
    plotting.plot_history(res.loss, res.grad_norm, ax=ax_hist, epochs=res.epochs, ylim=(1e-6, 5.0))
    ax_hist.set_title(
        f"Fig 3C: rank-one RNN, seed {seed}, SGD lr {lr:g} (above critical), float64; drop at epoch {drop}", fontsize=10
    )
    window = (res.epochs >= 5000) & (res.epochs <= 5200)
    plotting.plot_history(
        res.loss[window], res.grad_norm[window], ax=ax_in, epochs=res.epochs[window], ylim=(1e-3, 5.0)
    )
    colors = ("tab:blue", "tab:green", "tab:purple")
    for e, c in zip(flow_epochs, colors):
        ax_in.axvline(e, color=c, lw=1.0, ls=":")
    ax_in.set_title("epochs 5000-5200 (dotted: flow maps below)", fontsize=9)
    ax_in.get_legend().remove()
    # Bottom row: the three flow maps overlaid on the paper's range, a close-up around the threshold where
    # they differ, and the fixed point's path through the threshold over the window.
    stack = [snaps[e] for e in flow_epochs]
    flows = analysis.flow_maps_1d(
        np.stack([p["m"] for p in stack]),
        np.stack([p["n"] for p in stack]),
        np.stack([p["b"] for p in stack]),
        _KAPPA_PLOT,
    )
    k0 = np.array([_kappa0(p) for p in stack])
    ax_all, ax_zoom, ax_fp = axes[1]
    zoom = (_KAPPA_PLOT > -1.0) & (_KAPPA_PLOT < 2.0)
    for ax in (ax_all, ax_zoom):
        for e, f, c in zip(flow_epochs, flows, colors):
            ax.plot(_KAPPA_PLOT, f, color=c, lw=1.4, label=f"epoch {e}")
        ax.axhline(0.0, color="grey", lw=0.8)
        ax.axvline(1.0, color="orange", lw=1.2, label="threshold κ = 1")
        ax.scatter(k0[:1], [0.0], color="red", zorder=5, label="κ0")
        ax.set_xlabel("κ")
        ax.set_ylabel("f(κ)")
    ax_all.set_ylim(-1.0, 3.0)
    ax_all.set_title("flow maps f(κ) around the drop", fontsize=9)
    ax_all.legend(fontsize=7, loc="upper right")
    fz = flows[:, zoom]
    ax_zoom.set_xlim(-1.0, 2.0)
    ax_zoom.set_ylim(max(-0.6, fz.min()), min(0.6, fz.max()))
    ax_zoom.set_title("close-up: the fixed point crosses the threshold", fontsize=9)
    for e, c in zip(flow_epochs, colors):
        fp = analysis.fixed_points_1d(snaps[e])
        ax_zoom.scatter(fp.kappa, np.zeros(len(fp)), s=40, color=c, edgecolors="black", zorder=6)
    ax_fp.plot(window_epochs, fp_kappa, color="black", lw=1.2, label="fixed point κ*")
    ax_fp.axhline(1.0, color="orange", lw=1.2, label="threshold κ = 1")
    for e, c in zip(flow_epochs, colors):
        ax_fp.axvline(e, color=c, lw=1.0, ls=":")
    ax_fp.set_xlabel("epoch")
    ax_fp.set_ylabel("κ*")
    ax_fp.set_title("the fixed point over the drop window", fontsize=9)
    ax_fp.legend(fontsize=7)
    data = {
        "epochs": res.epochs,
        "loss": res.loss,
        "grad_norm": res.grad_norm,
        "accuracy": res.accuracy,
        "drop_epoch": np.array(drop),
        "flow_epochs": np.asarray(flow_epochs),
        "kappa": _KAPPA_PLOT,
        "flow": flows,
        "kappa0": k0,
        "window_epochs": window_epochs,
        "fixed_point_kappa": fp_kappa,
    }
    params_out = {
        "scale": scale,
        "seed": seed,
        "init": "torch",
        "lr": lr,
        "epochs": epochs,
        "flow_epochs": list(flow_epochs),
        "N": 100,
        "T": _T_RNN,
    }
    return FigureResult("fig3_large_lr", fig, data, params_out)


def full_rank_delayed_model() -> rnn.Model:
    """The full-rank network of paper Fig 6A (right): W, w_out, b_out ~ N(0, 1/N), b = 0, linear
    sigmoid readout of the state after each update, x0 = -0.3."""
    return rnn.Model(
        N=100, rank="full", alpha=0.5, readout="linear", output="sigmoid", read="after", x0=-0.3, init="delayed"
    )


@stops_on_interrupt
def fig6a(
    scale: str = "default",
    *,
    n_threads: Optional[int] = None,
    progress: Optional[bool] = None,
    checkpoint: Union[str, os.PathLike, None] = None,
) -> FigureResult:
    """Fig 6A: loss vs learning rate at several epochs, mean +- SEM over seeds (log-log; ``plotting.plot_lr_sweep``),
    and the fraction of seeds trapped in the no-learning zone at the end (:func:`ghostfast.metrics.trapped`:
    loss > L0/2 and gradient norm <= 1e-3 of the run's largest), for the rank-one network (left; the Fig 3 network,
    fixed latent readout with confidence 10) and the full-rank network (right; W ~ N(0, 1/N), trainable linear
    sigmoid readout). Rank one: a window of successful learning that widens to the left with more epochs and a
    hard wall at the critical lr (~1.5-1.9e-2 for T = 20) beyond which every run ends at L = 1. Full rank: more
    trainable dimensions, learning over a wider range of learning rates (paper Sec. on sloppy parameters).

    One ``sweep.sweep`` call per network (OpenMP over runs). Rank-one seeds use the paper's PyTorch
    initialisation; full-rank seeds numpy's generator (compare statistically).
    ==========  =====  ======================  =====  =========  ==========================
    scale       net    lrs                     seeds  epochs     epochs shown
    ==========  =====  ======================  =====  =========  ==========================
    paper       one    logspace(-4, -1, 30)    0-9    200 001    10k 20k 30k 50k 100k 200k
    paper       full   logspace(-4, 1, 30)     0-9    200 001    same
    default     one    logspace(-3, -1, 9)     0-2    20 001     5k, 10k, 20k
    default     full   logspace(-3, 1, 9)      0-2    5 001      1k, 2k, 5k
    quick       one    logspace(-2.5, -1, 6)   0-1    15 001     5k, 10k, 15k
    quick       full   logspace(-2, 1, 7)      0-1    1 001      250, 500, 1k
    ==========  =====  ======================  =====  =========  ==========================
    ``ghostfast reproduce --list`` estimates the time of each scale from the cost per run-epoch measured on
    your machine.

    Parameters
    ----------
    scale : {"quick", "default", "paper"}
        Size of the run (table above).
    n_threads : int, optional
        OpenMP threads (None: default). Results do not depend on it.
    progress : bool, optional
        A tqdm bar over the sweep's runs (None: only in an interactive terminal or a notebook).
    checkpoint : path, optional
        A directory where the sweeps keep their finished runs as they finish (``sweep.sweep``'s ``out``: one
        subdirectory per network). Called again with the same directory after Ctrl-C, the figure trains only the
        runs not yet finished, with bit-identical results. ``ghostfast reproduce`` passes ``<out>/fig6a.runs`` and
        removes it once the figure is saved.

    Returns
    -------
    FigureResult
        Four Axes (loss and trapped fraction for each network). ``data``: per network ``<net>_`` with net in
        (``one``, ``full``): ``lrs`` (n,), ``seeds`` (s,), ``epochs_shown`` (k,), ``loss`` (n, s, k),
        ``mean_loss`` (n, k), ``trapped_fraction`` (n,), ``learned`` (n, s) (:func:`ghostfast.metrics.learned`),
        ``grad_norm_final`` (n, s). Rank one's arrays also without prefix (``lrs``, ``mean_loss``, ...).

    Examples
    --------
    The quick scale: 6 (rank one) and 7 (full rank) learning rates x 2 seeds.

    >>> from ghostfast import figures
    >>> res = figures.fig6a(scale="quick")
    >>> lrs, trapped = res.data["one_lrs"], res.data["one_trapped_fraction"]
    >>> wall = float(lrs[trapped == 1.0].min())  # rank one: every run from here up ends at L = 1
    >>> bool((trapped[lrs >= wall] == 1.0).all())
    True
    >>> full_lrs, full_final = res.data["full_lrs"], res.data["full_mean_loss"][:, -1]
    >>> bool((full_final[full_lrs >= 3 * wall] < 0.05).any())  # full rank still learns far beyond the wall
    True
    """
    scale = check_scale(scale)
    runs = {
        "one": pick(
            scale,
            (np.logspace(-2.5, -1, 6), range(2), 15001, 5000, (5000, 10000, 15000)),
            (np.logspace(-3, -1, 9), range(3), 20001, 5000, (5000, 10000, 20000)),
            (np.logspace(-4, -1, 30), range(10), 200001, 10000, (10000, 20000, 30000, 50000, 100000, 200000)),
        ),
        "full": pick(
            scale,
            (np.logspace(-2, 1, 7), range(2), 1001, 50, (250, 500, 1000)),
            (np.logspace(-3, 1, 9), range(3), 5001, 500, (1000, 2000, 5000)),
            (np.logspace(-4, 1, 30), range(10), 200001, 10000, (10000, 20000, 30000, 50000, 100000, 200000)),
        ),
    }
    models = {"one": rank_one_model(), "full": full_rank_delayed_model()}
    fig, axes = new_figure(2, 2, figsize=(11.5, 6.4), height_ratios=(3, 1))
    data: dict = {}
    params_out: dict = {"scale": scale, "N": 100, "T": _T_RNN}
    for col, net in enumerate(("one", "full")):
        lrs, seeds, epochs, every, shown = runs[net]
        res = sweep.sweep(
            models[net],
            tasks.delayed_activation(_T_RNN),
            epochs=epochs,
            lr=list(lrs),
            seed=list(seeds),
            record_every=every,
            n_threads=threads(n_threads),
            progress=progress,
            **sweep_store(checkpoint, net),
        )
        # Records are the epochs 0, every, 2 every, ... < epochs (hence epochs = last shown + 1).
        idx = np.searchsorted(res.record_epochs, shown)
        ax, ax_trap = axes[:, col]
        plotting.plot_lr_sweep(res, res.record_epochs[idx], ax=ax, ax_trapped=ax_trap)
        ax_trap.sharex(ax)
        name = "rank one (fixed readout, c = 10)" if net == "one" else "full rank (trainable readout)"
        ax.set_title(f"Fig 6A: {name}, N = 100, T = {_T_RNN}", fontsize=10)
        ax.legend(fontsize=8, loc="lower left")
        ax_trap.set_xlabel("learning rate (SGD)")
        L = res.loss[..., idx]
        d = {
            "lrs": np.asarray(lrs),
            "seeds": np.asarray(list(seeds)),
            "epochs_shown": res.record_epochs[idx],
            "loss": L,
            "mean_loss": L.mean(axis=1),
            "trapped_fraction": res.trapped.mean(axis=1),
            "learned": metrics.learned(res.loss),
            "grad_norm_final": res.grad_norm[..., -1],
        }
        data.update({f"{net}_{k}": v for k, v in d.items()})
        if net == "one":
            data.update(d)
            data["sem_loss"] = mean_sem(L, axis=1)[1]
        if net == "full" and (data["one_trapped_fraction"] == 1.0).any():
            wall = float(data["one_lrs"][np.argmax(data["one_trapped_fraction"] == 1.0)])
            for a in (ax, ax_trap):
                a.axvline(
                    wall, color="tab:red", ls="--", lw=1, label="rank-one wall (all trapped)" if a is ax else None
                )
            ax.legend(fontsize=8, loc="lower left")
        params_out[net] = {
            "lrs": np.asarray(lrs).tolist(),
            "seeds": list(seeds),
            "epochs": epochs,
            "record_every": every,
            "init": "torch" if net == "one" else "delayed",
        }
    return FigureResult("fig6a", fig, data, params_out)


@stops_on_interrupt
def fig6b(
    scale: str = "default",
    *,
    n_threads: Optional[int] = None,
    progress: Optional[bool] = None,
    checkpoint: Union[str, os.PathLike, None] = None,
) -> FigureResult:
    """Fig 6B: rank-K networks with a trainable linear sigmoid readout (paper Fig 6B): the fraction of
    learned networks (final loss / initial loss < 1e-2) vs K, one curve per learning rate; and learning curves
    (loss / loss0, mean over seeds, log-log) coloured by K at the learning rate where the ranks differ most.
    Claim: the fraction learned rises with K (more trainable dimensions stabilise learning).

    Initialisation: ``rnn.init_params`` "delayed" preset (m, n, w_out, b_out ~ N(0, 1/N), b = 0) from numpy's
    generator, not the paper's PyTorch stream: compare statistically. One ``sweep.sweep`` call over
    lr x seed x rank.
    ==========  ===================================  ======================  =====  ========
    scale       K                                    lrs                     seeds  epochs
    ==========  ===================================  ======================  =====  ========
    paper       1, 2, 3, 4, 5, 10, 30, 50, 100       logspace(-3, 0, 10)     0-9    500 000
    default     1, 3, 10, 30                         0.03, 0.1               0-2    10 000
    quick       1, 30                                0.01                    0-2    3 000
    ==========  ===================================  ======================  =====  ========
    The paper scale is 5e7 run-epochs per rank (``ghostfast reproduce --list`` estimates its time); split it
    over machines with ``sweep.sweep(..., backend="dask")``.

    Parameters
    ----------
    scale : {"quick", "default", "paper"}
        Size of the run (table above).
    n_threads : int, optional
        OpenMP threads (None: default). Results do not depend on it.
    progress : bool, optional
        A tqdm bar over the sweep's runs (None: only in an interactive terminal or a notebook).
    checkpoint : path, optional
        A directory where the sweep keeps its finished runs as they finish (``sweep.sweep``'s ``out``).
        Called again with the same directory after Ctrl-C, the figure trains only the runs not yet finished,
        with bit-identical results. ``ghostfast reproduce`` passes ``<out>/fig6b.runs`` and removes it once
        the figure is saved.

    Returns
    -------
    FigureResult
        Two Axes. ``data``: ``ranks`` (k,), ``lrs`` (n,), ``seeds`` (s,), ``fraction_learned`` (n, k),
        ``relative_final_loss`` (n, s, k), ``record_epochs`` (r,), ``curve_lr`` (0-d), ``curves`` (k, r)
        (mean loss / loss0 at ``curve_lr``).

    Examples
    --------
    The quick scale compares ranks 1 and 30 (3 seeds, lr 0.01, 3000 epochs).

    >>> from ghostfast import figures
    >>> res = figures.fig6b(scale="quick")
    >>> res.data["ranks"].tolist()
    [1, 30]
    >>> rel = res.data["relative_final_loss"][0]  # final / initial loss, (seed, rank)
    >>> bool((rel[:, 1] < 0.5 * rel[:, 0]).all())  # every seed gets further at rank 30 than at rank 1
    True
    """
    scale = check_scale(scale)
    ranks, lrs, seeds, epochs, every = pick(
        scale,
        ((1, 30), np.array([0.01]), range(3), 3000, 10),
        ((1, 3, 10, 30), np.array([0.03, 0.1]), range(3), 10000, 50),
        ((1, 2, 3, 4, 5, 10, 30, 50, 100), np.logspace(-3, 0, 10), range(10), 500000, 1000),
    )
    model = rnn.Model(
        N=100, rank=1, alpha=0.5, readout="linear", output="sigmoid", read="after", x0=-0.3, init="delayed"
    )
    res = sweep.sweep(
        model,
        tasks.delayed_activation(_T_RNN),
        epochs=epochs,
        lr=list(lrs),
        seed=list(seeds),
        rank=list(ranks),
        record_every=every,
        n_threads=threads(n_threads),
        progress=progress,
        **sweep_store(checkpoint, "ranks"),
    )
    rel = res.loss / res.loss[..., :1]  # (lr, seed, rank, record)
    rel_final = rel[..., -1]
    learned = metrics.learned(res.loss)
    frac = learned.mean(axis=1)  # (lr, rank)
    spread = frac.max(axis=1) - frac.min(axis=1)
    best = int(np.argmax(spread))
    with np.errstate(invalid="ignore"):
        curves = np.nanmean(rel[best], axis=0)  # (rank, record)
    fig, axes = new_figure(1, 2, figsize=(11.0, 4.2))
    ax_frac, ax_curve = axes[0]
    import matplotlib

    lr_colors = matplotlib.colormaps["plasma"](np.linspace(0.0, 0.85, len(lrs)))
    for i, (lr, color) in enumerate(zip(lrs, lr_colors)):
        ax_frac.plot(ranks, frac[i], marker="o", ms=4, color=color, label=f"lr = {lr:.3g}")
    ax_frac.set_xscale("log")
    ax_frac.set_ylim(-0.05, 1.05)
    ax_frac.set_xlabel("rank K")
    ax_frac.set_ylabel(f"fraction learned (final/initial loss < 1e-2, {len(seeds)} seeds)")
    ax_frac.legend(fontsize=7)
    k_colors = matplotlib.colormaps["viridis"](np.linspace(0.0, 0.9, len(ranks)))
    x = np.maximum(res.record_epochs, 1)
    for k, (K, color) in enumerate(zip(ranks, k_colors)):
        ax_curve.plot(x, curves[k], color=color, label=f"K = {K}")
    ax_curve.set_xscale("log")
    ax_curve.set_yscale("log")
    ax_curve.set_xlabel("epoch")
    ax_curve.set_ylabel("loss / initial loss (mean over seeds)")
    ax_curve.set_title(f"learning curves at lr = {lrs[best]:.3g}", fontsize=9)
    ax_curve.legend(fontsize=7)
    fig.suptitle(f"Fig 6B: rank-K RNN with trainable readout, T = {_T_RNN}, {epochs} epochs", fontsize=10)
    data = {
        "ranks": np.asarray(ranks),
        "lrs": np.asarray(lrs),
        "seeds": np.asarray(list(seeds)),
        "fraction_learned": frac,
        "relative_final_loss": rel_final,
        "record_epochs": res.record_epochs,
        "curve_lr": np.array(lrs[best]),
        "curves": curves,
    }
    params_out = {
        "scale": scale,
        "ranks": list(ranks),
        "lrs": np.asarray(lrs).tolist(),
        "seeds": list(seeds),
        "epochs": epochs,
        "record_every": every,
        "init": "delayed",
        "N": 100,
        "T": _T_RNN,
    }
    return FigureResult("fig6b", fig, data, params_out)


@stops_on_interrupt
def fig8b_ablation(
    scale: str = "default",
    *,
    n_threads: Optional[int] = None,
    progress: Optional[bool] = None,
    checkpoint: Union[str, os.PathLike, None] = None,
) -> FigureResult:
    """Fig 8B (ablation): rank-one networks that learned and then fell into the no-learning zone at lr 0.02
    get a lower output confidence c. Phase 1: every seed trains 6000 epochs at c = 10 (``sweep.sweep``).
    Runs kept: max accuracy in epochs 5950-5999 <= 0.5 AND max accuracy in 0-5999 > 0.5. Phase 2: each kept
    run is copied once per c in logspace(-3, 1, 30) and trained 100 more epochs at that fixed c (same lr;
    one ``rnn.train_many`` call). Plotted: accuracy and gradient norm, mean +- SEM over kept runs, epochs
    5800-6100, for every 3rd c from index 2 (c = 1.9e-3 ... 10). Claim: small c (<= 0.2) lets the networks
    leave the zone (accuracy > 0.5); c = 10 keeps them at <= 0.5.

    Which seeds fall back depends on float rounding (lr 0.02 is above the critical rate): in float64, 56 of
    seeds 0-99 are kept (the paper's float32 count is not known).
    ==========  ============  ==========
    scale       seeds         c values
    ==========  ============  ==========
    paper       0-99          30
    default     0-39          30
    quick       0-11          10 plotted
    ==========  ============  ==========

    Parameters
    ----------
    scale : {"quick", "default", "paper"}
        Size of the run (table above).
    n_threads : int, optional
        OpenMP threads (None: default). Results do not depend on it.
    progress : bool, optional
        A tqdm bar over the sweep's runs (None: only in an interactive terminal or a notebook).
    checkpoint : path, optional
        A directory where the sweep of phase 1 keeps its finished runs as they finish (``sweep.sweep``'s ``out``).
        Called again with the same directory after Ctrl-C, the figure trains only the runs not yet finished,
        with bit-identical results. ``ghostfast reproduce`` passes ``<out>/fig8b_ablation.runs`` and removes it once
        the figure is saved.

    Returns
    -------
    FigureResult
        Two Axes. ``data``: ``epochs`` (300,) = 5800..6099, ``c_values`` (n_c,), ``c_plotted`` (10,),
        ``accuracy_mean``/``accuracy_sem``/``grad_mean``/``grad_sem`` (n_c, 300), ``final_accuracy`` (n_c,)
        (mean accuracy over kept runs at epoch 6099), ``selected_seeds`` (n_sel,), ``n_selected`` (0-d).

    Examples
    --------
    >>> import numpy as np
    >>> from ghostfast import figures
    >>> res = figures.fig8b_ablation(scale="quick")  # seeds 0-11, 10 confidences
    >>> int(res.data["n_selected"]) > 0  # some runs learned and then fell into the no-learning zone
    True
    >>> c, acc = res.data["c_values"], res.data["final_accuracy"]  # mean accuracy 100 epochs after the switch
    >>> bool(acc[np.isclose(c, 10.0)][0] <= 0.5)  # at c = 10 they stay trapped ...
    True
    >>> bool((acc[c <= 0.2] > 0.5).all())  # ... at c <= 0.2 they leave the zone
    True
    """
    scale = check_scale(scale)
    n_seeds = pick(scale, 12, 40, 100)
    lr, epochs, extra = 0.02, 6000, 100
    c_all = np.logspace(-3, 1, 30)
    c_plot = c_all[2::3]
    c_values = c_plot if scale == "quick" else c_all
    model = rank_one_model()
    task = tasks.delayed_activation(_T_RNN)
    nt = threads(n_threads)
    phase1 = sweep.sweep(
        model,
        task,
        epochs=epochs,
        lr=[lr],
        seed=list(range(n_seeds)),
        record_every=1,
        keep_params=True,
        n_threads=nt,
        progress=progress,
        **sweep_store(checkpoint, "phase1"),
    )
    assert phase1.params is not None  # keep_params=True
    acc1 = phase1.accuracy[0]  # (seed, epoch)
    keep = (acc1[:, 5950:6000].max(axis=1) <= 0.5) & (acc1[:, :6000].max(axis=1) > 0.5) & phase1.done[0]
    sel = np.flatnonzero(keep)
    if sel.size == 0:
        raise RuntimeError(f"no run among seeds 0-{n_seeds - 1} learned and then fell into the no-learning zone")
    jobs = []
    for s in sel:
        final = phase1.params[0, s]
        for c in c_values:
            p = {k: np.array(v, copy=True) for k, v in final.items()}
            p["c"] = np.array(float(c))
            jobs.append(rnn.TrainJob(model=model, task=task, lr=lr, epochs=extra, params=p))
    out = finished(rnn.train_many(jobs, n_threads=nt))
    acc2 = np.stack([r.accuracy for r in out]).reshape(sel.size, c_values.size, extra)
    grad2 = np.stack([r.grad_norm for r in out]).reshape(sel.size, c_values.size, extra)
    lo = 5800
    pre_acc = np.broadcast_to(acc1[sel, lo:epochs][:, None, :], (sel.size, c_values.size, epochs - lo))
    pre_grad = np.broadcast_to(phase1.grad_norm[0][sel, lo:epochs][:, None, :], pre_acc.shape)
    acc = np.concatenate([pre_acc, acc2], axis=2)  # (sel, c, 300)
    grad = np.concatenate([pre_grad, grad2], axis=2)
    acc_mean, acc_sem = mean_sem(acc, axis=0)
    grad_mean, grad_sem = mean_sem(grad, axis=0)
    ep = np.arange(lo, epochs + extra)

    fig, axes = new_figure(2, 1, figsize=(7.0, 6.4), sharex=True)
    ax_acc, ax_grad = axes[:, 0]
    import matplotlib

    colors = matplotlib.colormaps["coolwarm"](np.linspace(0.0, 1.0, c_plot.size))
    for c, color in zip(c_plot, colors):
        k = int(np.argmin(np.abs(c_values - c)))
        band(ax_acc, ep, acc_mean[k], acc_sem[k], color=color, label=f"c = {c:.3g}")
        band(ax_grad, ep, grad_mean[k], grad_sem[k], floor=1e-12, color=color)
    for a in (ax_acc, ax_grad):
        a.axvline(epochs, color="black", lw=0.8, ls="--")
        a.set_xlim(lo, epochs + extra)
    ax_acc.axhline(0.5, color="grey", lw=0.8, ls=":")
    ax_acc.set_ylabel("accuracy (mean ± SEM)")
    ax_acc.set_title(
        f"Fig 8B: {sel.size}/{n_seeds} rank-one runs trapped after learning (lr {lr:g}, c = 10);\n"
        "confidence c switched at epoch 6000 (dashed)",
        fontsize=9,
    )
    ax_acc.legend(fontsize=6, ncol=2, loc="center left")
    ax_grad.set_yscale("log")
    ax_grad.set_ylabel("gradient norm")
    ax_grad.set_xlabel("epoch")
    data = {
        "epochs": ep,
        "c_values": c_values,
        "c_plotted": c_plot,
        "accuracy_mean": acc_mean,
        "accuracy_sem": acc_sem,
        "grad_mean": grad_mean,
        "grad_sem": grad_sem,
        "final_accuracy": acc_mean[:, -1],
        "selected_seeds": sel,
        "n_selected": np.array(sel.size),
    }
    params_out = {
        "scale": scale,
        "seeds": f"0-{n_seeds - 1}",
        "lr": lr,
        "epochs": epochs,
        "extra_epochs": extra,
        "c_values": c_values.tolist(),
        "init": "torch",
        "N": 100,
        "T": _T_RNN,
    }
    return FigureResult("fig8b_ablation", fig, data, params_out)


@stops_on_interrupt
def fig8b_learnable(scale: str = "default", *, seed: int = 40, n_threads: Optional[int] = None) -> FigureResult:
    """Fig 8B (learnable confidence): the rank-one network (seed 40, lr 0.02) with the confidence c trained
    along with m, n, b. Phase 1: c starts at 10, 10 000 epochs; phase 2: m, n, b copied, c reset to 1 (still
    learnable), 10 000 more epochs. Loss and gradient norm over the 20 000 epochs (log-y), dashed line at the
    reset. In the paper (float32) phase 1 ends trapped and lowering c lets learning resume; in float64 seed 40
    learns in phase 1 (drop near epoch 6000, c stays ~10) and the reset to c = 1 costs a transient loss
    increase before it converges again (the float32/float64 caveat of :mod:`ghostfast.figures`).

    Parameters
    ----------
    scale : {"quick", "default", "paper"}
        Every scale runs the same computation (the paper's).
    seed : int
        Seed of the PyTorch-style initialisation (40: the paper's network).
    n_threads : int, optional
        OpenMP threads (None: default). Results do not depend on it.

    Returns
    -------
    FigureResult
        Two Axes. ``data``: ``epochs`` (20000,), ``loss``, ``grad_norm`` (20000,), ``c_end`` (2,) (c at the
        end of each phase), ``switch_epoch`` (0-d).

    Examples
    --------
    >>> from ghostfast import figures
    >>> res = figures.fig8b_learnable(scale="quick")
    >>> int(res.data["switch_epoch"])  # c is reset to 1 here
    10000
    >>> bool(res.data["loss"][-100:].max() < 0.1)  # and the network converges again
    True
    """
    scale = check_scale(scale)
    seed = check_int(seed, "seed", minimum=0)
    lr, phase = 0.02, 10000
    model = rank_one_model(confidence=10.0, train_confidence=True)
    task = tasks.delayed_activation(_T_RNN)
    p0 = rnn.init_params(model, seed, scheme="torch")
    r1 = rnn.train(model, task, lr=lr, epochs=phase, params=p0, n_threads=threads(n_threads))
    p1 = {k: np.array(v, copy=True) for k, v in r1.params.items()}
    p1["c"] = np.array(1.0)
    r2 = rnn.train(model, task, lr=lr, epochs=phase, params=p1, n_threads=threads(n_threads))
    ep = np.arange(2 * phase)
    loss = np.concatenate([r1.loss, r2.loss])
    grad = np.concatenate([r1.grad_norm, r2.grad_norm])
    fig, axes = new_figure(2, 1, figsize=(7.0, 5.6), sharex=True)
    ax_l, ax_g = axes[:, 0]
    ax_l.plot(ep, loss, color="black")
    ax_g.plot(ep, grad, color="tab:red")
    for a in (ax_l, ax_g):
        a.axvline(phase, color="grey", ls="--", lw=1)
        a.set_yscale("log")
    ax_l.set_ylabel("loss")
    ax_g.set_ylabel("gradient norm")
    ax_g.set_xlabel("epoch")
    ax_l.set_title(
        f"Fig 8B: learnable confidence, seed {seed}, lr {lr:g}; c: 10 → {float(r1.params['c']):.3g}, "
        f"reset to 1 at epoch {phase} → {float(r2.params['c']):.3g}",
        fontsize=9,
    )
    data = {
        "epochs": ep,
        "loss": loss,
        "grad_norm": grad,
        "c_end": np.array([float(r1.params["c"]), float(r2.params["c"])]),
        "switch_epoch": np.array(phase),
    }
    params_out = {
        "scale": scale,
        "seed": seed,
        "lr": lr,
        "epochs_per_phase": phase,
        "c_initial": [10.0, 1.0],
        "init": "torch",
        "N": 100,
        "T": _T_RNN,
    }
    return FigureResult("fig8b_learnable", fig, data, params_out)
