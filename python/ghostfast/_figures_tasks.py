"""Figures of full-rank task RNNs on DCDT / DMTS (paper Figs 5 and 7).

Models are the paper's task RNNs (N = 100, alpha = 0.5, one input, read before the update, tanh output for DCDT and
sigmoid for DMTS) with the "task" initialisation preset of :func:`ghostfast.rnn.init_params` (xavier-uniform
W, w_in, w_out; PyTorch-default biases) drawn from numpy's generator: the paper's PyTorch seeds cannot be
matched, so compare statistically.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from . import analysis, metrics, plotting, rnn, sweep, tasks
from ._figures_base import (
    FigureResult,
    KeptRun,
    check_scale,
    fit_y,
    legend_panel,
    new_figure,
    pick,
    stops_on_interrupt,
    sweep_store,
    threads,
    train_many_kept,
)
from ._validation import check_choice, check_int

#: Fig 7: task -> (config, output nonlinearity, example lr index in logspace(-3, 1, 20), example seeds).
_FIG7 = {"dcdt": ("B", "tanh", 12, (1, 9)), "dmts": ("A", "sigmoid", 15, (12, 0))}


def _task(name: str, config: str, samples_per_class: int = 1) -> tasks.Task:
    if name == "dcdt":
        return tasks.dcdt(*tasks.dcdt_config(config), samples_per_class=samples_per_class)
    return tasks.dmts(*tasks.dmts_config(config), samples_per_class=samples_per_class)


def _full_rank_model(output: str, noise_std: float, x0_std: float) -> rnn.Model:
    x0: Any = "random" if x0_std > 0 else 0.0
    return rnn.Model(
        N=100,
        rank="full",
        alpha=0.5,
        readout="linear",
        output=output,
        read="before",
        n_in=1,
        noise_std=noise_std,
        x0=x0,
        x0_std=x0_std,
    )


@stops_on_interrupt
def fig7(
    scale: str = "default",
    *,
    task: str = "dcdt",
    n_threads: Optional[int] = None,
    progress: Optional[bool] = None,
    checkpoint: Union[str, os.PathLike, None] = None,
) -> FigureResult:
    """Fig 7: full-rank RNNs on DCDT (config B, 32 steps) or DMTS (config A, 38 steps), deterministic
    (no noise, r0 = 0), SGD. Box plots over seeds of the time-averaged loss, gradient norm and weight norm
    ||W||_F vs learning rate; example runs (loss, gradient norm, ||W||_F vs epoch, log-log as in the paper, except
    that a y axis whose values span less than a factor of 2 is linear) at the paper's
    example lr (the grid point nearest 0.336 for DCDT, 1.438 for DMTS) for two seeds. Claim: beyond a critical
    lr the time-averaged loss rises while the time-averaged gradient collapses (the no-learning zone).

    The gradient norm is over ALL trainable parameters (``sweep`` records that), where the paper logged
    ||grad W||_F only; W dominates it in these runs but the two are not identical.

    ==========  =====================  =====  =======
    scale       lrs                    seeds  epochs
    ==========  =====================  =====  =======
    paper       logspace(-3, 1, 20)    0-19   20 000
    default     logspace(-3, 1, 9)     0-3    1 000
    quick       logspace(-3, 1, 5)     0-1    200
    ==========  =====================  =====  =======

    Parameters
    ----------
    scale : {"quick", "default", "paper"}
        Size of the run (table above).
    task : {"dcdt", "dmts"}
        The task: DCDT (config B) or DMTS (config A).
    n_threads : int, optional
        OpenMP threads (None: default). Results do not depend on it.
    progress : bool, optional
        A tqdm bar over the sweep's runs (None: only in an interactive terminal or a notebook).
    checkpoint : path, optional
        A directory where the sweep keeps its finished runs as they finish (``sweep.sweep``'s ``out``).
        Called again with the same directory after Ctrl-C, the figure trains only the runs not yet finished,
        with bit-identical results. ``ghostfast reproduce`` passes ``<out>/fig7_<task>.runs`` and removes it once
        the figure is saved.

    Returns
    -------
    FigureResult
        Six Axes (3 box plots, 3 example panels). ``data``: ``lrs`` (n,), ``seeds`` (s,), ``mean_loss``,
        ``mean_grad_norm``, ``mean_weight_norm`` (n, s) (time averages), ``example_lr`` (0-d),
        ``example_seeds`` (2,), ``example_epochs`` (E,), ``example_loss``/``example_grad_norm``/
        ``example_weight_norm`` (2, E).

    Examples
    --------
    >>> import numpy as np
    >>> from ghostfast import figures
    >>> res = figures.fig7(scale="quick", task="dcdt")  # 5 learning rates x 2 seeds, 200 epochs
    >>> res.data["mean_loss"].shape  # time-averaged loss per (lr, seed)
    (5, 2)
    >>> loss = np.nanmedian(res.data["mean_loss"], axis=1)
    >>> grad = np.nanmedian(res.data["mean_grad_norm"], axis=1)
    >>> best = int(np.argmin(loss))
    >>> # at the largest lr the loss is up and the gradient has collapsed: the no-learning zone
    >>> bool(loss[-1] > 1.1 * loss[best] and grad[-1] < 0.2 * grad[best])
    True
    """
    scale = check_scale(scale)
    task = check_choice(task, "task", tuple(_FIG7))
    config, output, paper_idx, paper_seeds = _FIG7[task]
    lrs, seeds, epochs = pick(
        scale,
        (np.logspace(-3, 1, 5), range(2), 200),
        (np.logspace(-3, 1, 9), range(4), 1000),
        (np.logspace(-3, 1, 20), range(20), 20000),
    )
    model = _full_rank_model(output, 0.0, 0.0)
    res = sweep.sweep(
        model,
        _task(task, config),
        epochs=epochs,
        lr=list(lrs),
        seed=list(seeds),
        n_threads=threads(n_threads),
        progress=progress,
        **sweep_store(checkpoint, task),
    )
    with np.errstate(invalid="ignore"):
        mean_loss = np.nanmean(res.loss, axis=-1)
        mean_grad = np.nanmean(res.grad_norm, axis=-1)
        mean_w = np.nanmean(res.weight_norm, axis=-1)
    ex_lr_target = float(np.logspace(-3, 1, 20)[paper_idx])
    ex_i = int(np.argmin(np.abs(np.log(lrs) - np.log(ex_lr_target))))
    seed_list = list(seeds)
    ex_seeds = [s for s in paper_seeds if s in seed_list]
    ex_seeds = (ex_seeds + [s for s in seed_list if s not in ex_seeds])[:2]
    ex_j = [seed_list.index(s) for s in ex_seeds]

    data = {
        "lrs": np.asarray(lrs),
        "seeds": np.asarray(seed_list),
        "mean_loss": mean_loss,
        "mean_grad_norm": mean_grad,
        "mean_weight_norm": mean_w,
        "example_lr": np.array(lrs[ex_i]),
        "example_seeds": np.asarray(ex_seeds),
        "example_epochs": res.record_epochs,
        "example_loss": res.loss[ex_i, ex_j],
        "example_grad_norm": res.grad_norm[ex_i, ex_j],
        "example_weight_norm": res.weight_norm[ex_i, ex_j],
    }
    xlim = (10.0, 3e4) if scale == "paper" else (1.0, float(max(epochs, 10)))
    fig = _draw_fig7(data, task=task, config=config, epochs=epochs, xlim=xlim)
    params_out = {
        "scale": scale,
        "task": task,
        "config": config,
        "lrs": np.asarray(lrs).tolist(),
        "seeds": seed_list,
        "epochs": epochs,
        "noise_std": 0.0,
        "x0": 0.0,
        "init": "task",
        "N": 100,
    }
    return FigureResult(f"fig7_{task}", fig, data, params_out)


def _draw_fig7(data: Dict[str, np.ndarray], *, task: str, config: str, epochs: int, xlim: Tuple[float, float]) -> Any:
    """Fig 7 drawn from its ``data`` alone (so saved data can be redrawn): box plots over seeds, and the
    example runs on log epochs within ``xlim``."""
    lrs = data["lrs"]
    fig, axes = new_figure(2, 3, figsize=(13.0, 7.5))
    labels = [f"{lr:.2g}" for lr in lrs]
    for ax, values, name in zip(
        axes[0],
        (data["mean_loss"], data["mean_grad_norm"], data["mean_weight_norm"]),
        ("time-averaged loss", "time-averaged gradient norm", "time-averaged ||W||_F"),
    ):
        ax.boxplot([v[np.isfinite(v)] for v in values], positions=np.arange(len(lrs)), widths=0.6)
        ax.set_xticks(np.arange(len(lrs)), labels, rotation=60, fontsize=7)
        ax.set_yscale("log")
        ax.set_xlabel("learning rate (SGD)")
        ax.set_title(name, fontsize=9)
    x = np.maximum(data["example_epochs"], 1)
    colors = ("tab:blue", "tab:red")
    for ax, key, name in zip(
        axes[1], ("example_loss", "example_grad_norm", "example_weight_norm"), ("loss", "gradient norm", "||W||_F")
    ):
        for hist, s, color in zip(data[key], data["example_seeds"], colors):
            ax.plot(x, hist, color=color, label=f"seed {s}")
        ax.set_xscale("log")
        fit_y(ax, x, data[key], xlim)
        ax.set_xlabel("epoch")
        ax.set_title(f"{name}, lr = {float(data['example_lr']):.3g}", fontsize=9)
        ax.legend(fontsize=7)
    fig.suptitle(
        f"Fig 7: full-rank RNN on {task.upper()} (config {config}), {len(data['seeds'])} seeds, {epochs} epochs, "
        "no noise",
        fontsize=10,
    )
    return fig


@stops_on_interrupt
def fig7_dcdt(
    scale: str = "default",
    *,
    n_threads: Optional[int] = None,
    progress: Optional[bool] = None,
    checkpoint: Union[str, os.PathLike, None] = None,
) -> FigureResult:
    """Fig 7, DCDT half: ``fig7(scale, task="dcdt", ...)``.

    Parameters
    ----------
    scale : {"quick", "default", "paper"}
        Size of the run (see :func:`fig7`).
    n_threads, progress, checkpoint
        As in :func:`fig7`.

    Returns
    -------
    FigureResult
        As :func:`fig7`, named ``"fig7_dcdt"``.

    Examples
    --------
    >>> import numpy as np
    >>> from ghostfast import figures
    >>> res = figures.fig7_dcdt(scale="quick")  # 5 learning rates x 2 seeds, 200 epochs
    >>> loss = np.nanmedian(res.data["mean_loss"], axis=1)  # time-averaged loss per lr, median over seeds
    >>> grad = np.nanmedian(res.data["mean_grad_norm"], axis=1)
    >>> best = int(np.argmin(loss))
    >>> 0 < best < 4  # the best learning rate lies inside the grid
    True
    >>> bool(loss[-1] > 1.1 * loss[best] and grad[-1] < 0.2 * grad[best])  # beyond it: the no-learning zone
    True
    """
    return fig7(scale, task="dcdt", n_threads=n_threads, progress=progress, checkpoint=checkpoint)


@stops_on_interrupt
def fig7_dmts(
    scale: str = "default",
    *,
    n_threads: Optional[int] = None,
    progress: Optional[bool] = None,
    checkpoint: Union[str, os.PathLike, None] = None,
) -> FigureResult:
    """Fig 7, DMTS half: ``fig7(scale, task="dmts", ...)``.

    Parameters
    ----------
    scale : {"quick", "default", "paper"}
        Size of the run (see :func:`fig7`).
    n_threads, progress, checkpoint
        As in :func:`fig7`.

    Returns
    -------
    FigureResult
        As :func:`fig7`, named ``"fig7_dmts"``.

    Examples
    --------
    >>> import numpy as np
    >>> from ghostfast import figures
    >>> res = figures.fig7_dmts(scale="quick")  # 5 learning rates x 2 seeds, 200 epochs
    >>> loss = np.nanmedian(res.data["mean_loss"], axis=1)  # time-averaged loss per lr, median over seeds
    >>> grad = np.nanmedian(res.data["mean_grad_norm"], axis=1)
    >>> best = int(np.argmin(loss))
    >>> 0 < best < 4  # the best learning rate lies inside the grid
    True
    >>> bool(loss[-1] > 1.1 * loss[best] and grad[-1] < 0.2 * grad[best])  # beyond it: the no-learning zone
    True
    """
    return fig7(scale, task="dmts", n_threads=n_threads, progress=progress, checkpoint=checkpoint)


#: Fig 5: "near the trajectories" is within this fraction of the trajectories' extent (the diameter of the
#: visited states) of a visited state.
NEAR_TRAJECTORIES = 0.25


def moving_points_near(kind: np.ndarray, distance: np.ndarray, extent: float) -> np.ndarray:
    """Indices of the slow points that are not fixed points and lie near the trajectories (Fig 5's claim), nearest
    first; the figure's search and the report's check both call it."""
    idx = np.flatnonzero((kind != "fixed point") & (distance <= NEAR_TRAJECTORIES * extent))
    return idx[np.argsort(distance[idx])]


#: Fig 5: task -> (config, output, epochs per scale (quick, default, paper), snapshot epochs per scale, panel).
_FIG5 = {
    "dcdt": ("A", "tanh", (3001, 3001, 3001), ((10, 200, 1000, 3000),) * 3, "5A-C"),
    "dmts": (
        "B",
        "sigmoid",
        (50001, 100001, 100001),
        ((100, 1000, 30000, 50000), (100, 1000, 50000, 100000), (100, 1000, 50000, 100000)),
        "5D-F",
    ),
}


def _kind_counts(sp: Any) -> str:
    """'1 fixed point, 2 ghosts' (classes present, singular/plural right)."""
    parts = []
    for kind in ("fixed point", "ghost", "slow point"):
        n = int(np.count_nonzero(sp.kind == kind)) if len(sp) else 0
        if n:
            parts.append(f"{n} {kind}" + ("s" if n > 1 else ""))
    return ", ".join(parts) if parts else "no slow points"


def slow_point_row(
    fig: Any, gs_row: Any, gs_bar: Any, states: list, sps: list, titles: list, speed_range: tuple = (-6.0, 0.0)
) -> list:
    """One row of 3-D PCA panels (``plotting.plot_pca_3d``, markers by class) with ONE shared horizontal
    colour bar for log10 speed in ``gs_bar``. Returns the 3-D Axes."""
    import matplotlib
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    axes = []
    with_legend = legend_panel(sps)
    for k, (st, sp, title) in enumerate(zip(states, sps, titles)):
        ax = fig.add_subplot(gs_row[k], projection="3d")
        plotting.plot_pca_3d(st, sp, ax=ax, speed_range=speed_range, colorbar=False, legend=(k == with_legend))
        ax.set_title(title, fontsize=8, pad=0)
        axes.append(ax)
    cax = fig.add_subplot(gs_bar)
    sm = ScalarMappable(norm=Normalize(*speed_range), cmap=matplotlib.colormaps["viridis"])
    fig.colorbar(
        sm,
        cax=cax,
        orientation="horizontal",
        label="log10 speed |F| of the slow points (markers: o fixed point, X ghost, ^ slow point)",
    )
    return axes


@stops_on_interrupt
def fig5(scale: str = "default", *, task: str = "dcdt", seed: int = 3, n_threads: Optional[int] = None) -> FigureResult:
    """Fig 5: a full-rank RNN learning DCDT (Fig 5A-C: config A, 22 steps, 3001 epochs, snapshots at epochs
    10, 200, 1000, 3000) or DMTS (Fig 5D-F: config B, 44 steps, 100 001 epochs, snapshots at 100, 1000,
    50 000, 100 000), one trial per class, noise 1e-2, random r0 with sigma 0.1, SGD lr 1e-2, seed 3: loss and
    ||grad W||_F vs epoch (log-log), accuracy vs epoch (log-x), and at each snapshot the trial trajectories on
    their top-3 principal components with the slow points found from every visited state
    (``analysis.find_slow_points``: exact-Hessian Newton in C++, where the paper ran 5000 Adam steps),
    coloured by log10 speed (one colour bar for the row) and marked by class (fixed point, ghost, slow point).
    A fifth panel shows the network just before the accuracy jump
    (:func:`ghostfast.metrics.accuracy_jump_epoch`), which none of the paper's four epochs catches.
    Claim (paper Fig 5): before the accuracy jump a ghost or slow point lies near the trajectories. The
    parameters are kept every 1/500 of training; the last 10 of those snapshots before the jump (2 % of
    training) are searched, latest first, for a slow point that is not a fixed point within 25 % of the
    trajectories' extent of a visited state, and the panel shows the first found (else the last snapshot before
    the jump).

    Measured (seed 3, float64): DCDT's accuracy jumps at epoch ~150; ghosts lie beside the trajectories from
    epoch ~130, and the saddle-node bifurcation that makes the attractors comes at ~150. DMTS (quick scale) has a
    ghost at 22 % of the trajectories' extent from epoch 20 000 to 38 000 whose speed falls from 0.2 to 0.005;
    the accuracy jumps at ~38 000, when the ghost becomes a pair of fixed points.

    DCDT: the paper's computation at every scale. DMTS: "paper" and "default" are the paper's
    (100 001 epochs); "quick" trains 50 001 epochs with snapshots at 100, 1000,
    30 000, 50 000: seed 3 sits on a plateau at accuracy ~0.89 (loss ~0.06) until epoch ~40 000 and
    then learns abruptly (accuracy 1.0 from ~50 000; measured, float64). Differences from the paper: numpy's generator for the initialisation, noise and r0
    (seed 3 is not the paper's network); each panel's PCA is fitted on that epoch's states (the paper pooled
    all saved epochs).

    Parameters
    ----------
    scale : {"quick", "default", "paper"}
        Size of the run (see above).
    task : {"dcdt", "dmts"}
        The task: DCDT (paper Fig 5A-C) or DMTS (paper Fig 5D-F).
    seed : int
        Seed of the initialisation, the noise and the initial states (numpy's generator: the paper's seed
        number 3 is not the paper's network).
    n_threads : int, optional
        OpenMP threads (None: default). Results do not depend on it.

    Returns
    -------
    FigureResult
        Two history Axes, four 3-D Axes and one colour bar. ``data``: ``epochs`` (E,), ``loss``,
        ``grad_norm_W``, ``accuracy`` (E,), ``snapshot_epochs`` (4,), ``states`` (4, B, S + 1, 100),
        ``slow_x`` (U, 100), ``slow_speed`` (U,), ``slow_distance`` (U,), ``slow_min_abs_eig`` (U,),
        ``slow_epoch`` (U,) (which snapshot each point belongs to), ``slow_kind`` (U,) (str),
        ``trajectory_extent`` (4,) (diameter of each snapshot's visited states); the accuracy jump:
        ``accuracy_jump_epoch`` (0-d, -1: none), ``searched_epochs`` (Q,), ``pre_jump_epoch`` (0-d, the
        fifth panel's), ``pre_jump_has_slow_point`` (0-d bool), ``pre_jump_states`` (B, S + 1, 100),
        ``pre_jump_slow_speed``, ``pre_jump_slow_distance`` (V,), ``pre_jump_slow_kind`` (V,),
        ``pre_jump_extent`` (0-d).

    Examples
    --------
    DCDT is the paper's computation at every scale; :func:`fig5_dmts` is the long run.

    >>> from ghostfast import figures
    >>> res = figures.fig5(scale="quick", task="dcdt")
    >>> res.data["snapshot_epochs"].tolist()
    [10, 200, 1000, 3000]
    >>> res.data["states"].shape  # (snapshot, trial, step, unit): the trajectories of the PCA panels
    (4, 2, 23, 100)
    >>> sorted(set(res.data["slow_epoch"].tolist()))  # slow points found at every snapshot
    [10, 200, 1000, 3000]
    """
    scale = check_scale(scale)
    task = check_choice(task, "task", tuple(_FIG5))
    seed = check_int(seed, "seed", minimum=0)
    config, output, epoch_choices, snap_choices, panel = _FIG5[task]
    epochs = pick(scale, *epoch_choices)
    snap_epochs = pick(scale, *snap_choices)
    lr = 1e-2
    model = _full_rank_model(output, 1e-2, 0.1)
    tk = _task(task, config)
    every = 1 if epochs <= 5000 else 10
    # the parameters every 1/500 of training, for the search before the accuracy jump
    kept = sorted(set(snap_epochs) | set(range(0, epochs, max(1, (epochs - 1) // 500))))
    res = rnn.train(
        model,
        tk,
        lr=lr,
        epochs=epochs,
        seed=seed,
        snapshot_epochs=kept,
        record_every=every,
        n_threads=threads(n_threads),
    )

    def slow_points_at(e: int) -> tuple[np.ndarray, float, analysis.SlowPoints]:
        p = res.snapshots[e]
        st = rnn.forward(model, p, tk, seed=seed).states  # (B, S + 1, N): r_0 .. r_S
        flat = st.reshape(-1, model.N)
        ext = float(np.linalg.norm(flat.max(axis=0) - flat.min(axis=0)))
        return st, ext, analysis.find_slow_points(p, starts=flat, n_threads=threads(n_threads))

    jump = int(metrics.accuracy_jump_epoch(res.accuracy, res.epochs))
    searched = [e for e in kept if e < jump][-10:] if jump > 0 else []
    found, pre = False, (searched[-1] if searched else -1)
    for e in reversed(searched):  # latest first: the slow point closest to the jump
        st, ext, sp = slow_points_at(e)
        if e == pre:
            pre_st, pre_ext, pre_sp = st, ext, sp
        if moving_points_near(sp.kind, sp.distance, ext).size:
            found, pre, pre_st, pre_ext, pre_sp = True, e, st, ext, sp
            break
    states, sps, sx, ss, sd, se, sk, sev, extent = [], [], [], [], [], [], [], [], []
    for e in snap_epochs:
        st, ext, sp = slow_points_at(e)
        states.append(st)
        extent.append(ext)
        sps.append(sp)
        sx.append(sp.x)
        ss.append(sp.speed)
        sd.append(sp.distance)
        se.append(np.full(len(sp), e))
        sk.append(sp.kind)
        sev.append(np.min(np.abs(sp.eigenvalues.real), axis=1) if len(sp) else np.zeros(0))
    from matplotlib.figure import Figure

    fig = Figure(figsize=(17.0, 7.4), layout="constrained")
    # the right 3-D panel's "PC 3" label stays inside (ConstrainedLayoutEngine.set takes rect)
    engine = fig.get_layout_engine()
    assert engine is not None  # layout="constrained" sets one
    engine.set(rect=(0.0, 0.0, 0.975, 1.0))  # type: ignore[call-arg]
    gs = fig.add_gridspec(3, 5, height_ratios=(1.0, 1.5, 0.04))
    ax_loss = fig.add_subplot(gs[0, :2])
    ax_acc = fig.add_subplot(gs[0, 2:])
    x = np.maximum(res.epochs, 1)
    ax_loss.plot(x, res.loss, color="black", lw=0.8, label="loss")
    ax_loss.plot(x, res.grad_norm_groups["W"], color="tab:red", lw=0.8, label="||grad W||_F")
    ax_loss.set_xscale("log")
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("epoch")
    ax_loss.legend(fontsize=8)
    ax_acc.plot(x, res.accuracy, color="tab:blue", lw=0.8)
    ax_acc.set_xscale("log")
    ax_acc.set_ylim(-0.02, 1.02)
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy")
    for e in snap_epochs:
        for a in (ax_loss, ax_acc):
            a.axvline(max(e, 1), color="grey", lw=0.8, ls=":")
    if jump > 0:
        for a in (ax_loss, ax_acc):
            a.axvline(jump, color="tab:red", lw=1.0, ls="--")
        ax_acc.set_title("accuracy (dashed: the accuracy jump; dotted: the panels below)", fontsize=9)

    def at(e: int) -> float:
        return float(res.accuracy[min(int(np.searchsorted(res.epochs, e)), res.epochs.size - 1)])

    # the panels in the order of their epochs: the paper's four and the one before the accuracy jump
    panels = [
        (e, st, sp, f"epoch {e} (accuracy {at(e):.2f}):\n{_kind_counts(sp)}")
        for e, st, sp in zip(snap_epochs, states, sps)
    ]
    if pre >= 0:
        for a in (ax_loss, ax_acc):
            a.axvline(max(pre, 1), color="grey", lw=0.8, ls=":")
        title = f"epoch {pre}, {jump - pre} epochs before the accuracy jump\n(accuracy {at(pre):.2f}): {_kind_counts(pre_sp)}"
        panels.append((pre, pre_st, pre_sp, title))
    panels.sort(key=lambda panel: panel[0])  # stable: the paper's panel first at a shared epoch
    row = [gs[1, k] for k in range(len(panels))]
    slow_point_row(fig, row, gs[2, 1:4], [q[1] for q in panels], [q[2] for q in panels], [q[3] for q in panels])
    when = f"accuracy jump at epoch {jump}" if jump > 0 else "no accuracy jump"
    verdict = (
        f"a {'ghost' if np.any(pre_sp.kind == 'ghost') else 'slow point'} near the trajectories {jump - pre} "
        "epochs before it"
        if found
        else "no ghost or slow point near the trajectories in the 2 % of training before it"
    )
    fig.suptitle(
        f"Fig {panel}: full-rank RNN on {task.upper()} (config {config}), seed {seed}, SGD lr {lr:g}, "
        f"{epochs} epochs; trajectories (grey) and slow points on the top 3 PCs\n{when}; {verdict}",
        fontsize=10,
    )
    data = {
        "epochs": res.epochs,
        "loss": res.loss,
        "grad_norm_W": res.grad_norm_groups["W"],
        "accuracy": res.accuracy,
        "snapshot_epochs": np.asarray(snap_epochs),
        "states": np.stack(states),
        "slow_x": np.concatenate(sx),
        "slow_speed": np.concatenate(ss),
        "slow_distance": np.concatenate(sd),
        "slow_min_abs_eig": np.concatenate(sev),
        "slow_epoch": np.concatenate(se),
        "slow_kind": np.concatenate(sk).astype(str),
        "trajectory_extent": np.asarray(extent),
        "accuracy_jump_epoch": np.array(jump),
        "searched_epochs": np.asarray(searched, dtype=np.int64),
        "pre_jump_epoch": np.array(pre),
        "pre_jump_has_slow_point": np.array(found),
        "pre_jump_states": pre_st if pre >= 0 else np.zeros((0,)),
        "pre_jump_slow_speed": pre_sp.speed if pre >= 0 else np.zeros(0),
        "pre_jump_slow_distance": pre_sp.distance if pre >= 0 else np.zeros(0),
        "pre_jump_slow_kind": pre_sp.kind.astype(str) if pre >= 0 else np.zeros(0, dtype=str),
        "pre_jump_extent": np.array(pre_ext if pre >= 0 else np.nan),
    }
    params_out = {
        "scale": scale,
        "task": task,
        "seed": seed,
        "lr": lr,
        "epochs": epochs,
        "record_every": every,
        "snapshot_epochs": list(snap_epochs),
        "kept_every": max(1, (epochs - 1) // 500),
        "noise_std": 1e-2,
        "x0_std": 0.1,
        "config": config,
        "init": "task",
        "N": 100,
    }
    return FigureResult(f"fig5_{task}", fig, data, params_out)


@stops_on_interrupt
def fig5_dcdt(scale: str = "default", **kwargs: Any) -> FigureResult:
    """Fig 5A-C (full-rank DCDT): ``fig5(scale, task="dcdt", ...)``.

    Parameters
    ----------
    scale : {"quick", "default", "paper"}
        Size of the run (see :func:`fig5`).
    **kwargs
        ``seed`` and ``n_threads`` of :func:`fig5`.

    Returns
    -------
    FigureResult
        As :func:`fig5`, named ``"fig5_dcdt"``.

    Examples
    --------
    >>> from ghostfast import figures
    >>> res = figures.fig5_dcdt(scale="quick")
    >>> acc = res.data["accuracy"]  # one value per epoch, 3001 epochs
    >>> bool(acc[:100].mean() < 0.6 and acc[-100:].mean() > 0.95)  # from chance to learned
    True
    >>> # at the last snapshot a slow or fixed point lies among the states the trajectories visit
    >>> near = res.data["slow_distance"][res.data["slow_epoch"] == 3000]
    >>> bool((near <= 0.25 * res.data["trajectory_extent"][-1]).any())
    True
    """
    return fig5(scale, task="dcdt", **kwargs)


@stops_on_interrupt
def fig5_dmts(scale: str = "default", **kwargs: Any) -> FigureResult:
    """Fig 5D-F (full-rank DMTS): ``fig5(scale, task="dmts", ...)``.

    Parameters
    ----------
    scale : {"quick", "default", "paper"}
        Size of the run (see :func:`fig5`).
    **kwargs
        ``seed`` and ``n_threads`` of :func:`fig5`.

    Returns
    -------
    FigureResult
        As :func:`fig5`, named ``"fig5_dmts"``.

    Examples
    --------
    ``figures.fig5_dmts(scale="quick")`` trains 50 001 epochs (the network learns abruptly after a plateau
    near epoch 40 000), too long for the documentation's doctest build (``tests/test_figures.py``
    runs it); :func:`fig5_dcdt` shows the same analysis on a short run. Here only the
    arguments are checked, before anything is trained:

    >>> from ghostfast import figures
    >>> figures.fig5_dmts(scale="tiny")
    Traceback (most recent call last):
        ...
    ValueError: scale must be one of ['quick', 'default', 'paper'], got 'tiny'
    """
    return fig5(scale, task="dmts", **kwargs)


@stops_on_interrupt
def fig8c(
    scale: str = "default",
    *,
    n_threads: Optional[int] = None,
    checkpoint: Union[str, os.PathLike, None] = None,
) -> FigureResult:
    """Fig 8C: capping the readout confidence of full-rank RNNs on DCDT (config A, 10 trials per class, noise
    1e-3, random r0 with sigma 0.1, Adam lr 0.1). Phase 1: plain training. Phase 2: the same runs continue
    (same parameters, Adam moments and random stream: ``rnn.TrainState``) with the readout L1 norm fixed to
    c before every forward pass (``Model.readout_l1_cap``), for c in {0.1, 0.5, 1, 3, inf} (inf: no cap).
    Phase 1 is shared by the five branches (trained once). Plotted: accuracy and loss, mean +- SEM over seeds.
    Claim (paper Fig 8C): late accuracy is higher for c in {0.5, 1, 3} than for c = inf.

    ==========  =====  ================  ===================
    scale       seeds  epochs (1 + 2)    recorded every
    ==========  =====  ================  ===================
    paper       0-99   10 000 + 10 000   200
    default     0-2    1 000 + 1 000     10
    quick       0-1    200 + 200         10
    ==========  =====  ================  ===================

    At the reduced scales the phases are far shorter than the paper's, so the effect of the cap need not
    have developed yet.

    Parameters
    ----------
    scale : {"quick", "default", "paper"}
        Size of the run (table above).
    n_threads : int, optional
        OpenMP threads (None: default). Results do not depend on it.
    checkpoint : path, optional
        A directory where both phases keep their finished runs as they finish, in chunks (``phase1``: the
        runs' histories and states, ``phase2``: the branches' histories). Called again with the same
        directory after Ctrl-C, the figure trains only the chunks not yet finished, with bit-identical
        results. ``ghostfast reproduce`` passes ``<out>/fig8c.runs`` and removes it once the figure is saved.

    Returns
    -------
    FigureResult
        Two Axes. ``data``: ``epochs`` (n,), ``caps`` (5,) (inf = no cap), ``accuracy_mean``/``accuracy_sem``/
        ``loss_mean``/``loss_sem`` (5, n), ``late_accuracy`` (5, seeds) (mean over the second half of phase 2),
        ``switch_epoch`` (0-d).

    Examples
    --------
    >>> from ghostfast import figures
    >>> res = figures.fig8c(scale="quick")  # 2 seeds, 200 + 200 epochs
    >>> res.data["caps"].tolist()
    [0.1, 0.5, 1.0, 3.0, inf]
    >>> late = res.data["late_accuracy"].mean(axis=1)  # per cap, over the second half of phase 2
    >>> bool((late[1:4] > late[-1]).all())  # caps 0.5, 1 and 3 end above no cap
    True
    """
    scale = check_scale(scale)
    n_seeds, E1, E2, every = pick(scale, (2, 200, 200, 10), (3, 1000, 1000, 10), (100, 10000, 10000, 200))
    caps = np.array([0.1, 0.5, 1.0, 3.0, np.inf])
    lr = 0.1
    from dataclasses import replace

    from ._seeding import seed_key

    model = _full_rank_model("tanh", 1e-3, 0.1)
    task = _task("dcdt", "A", samples_per_class=10)
    nt = threads(n_threads)
    keys = [seed_key(s) for s in range(n_seeds)]
    jobs1 = [
        rnn.TrainJob(
            model,
            task,
            lr,
            E1,
            rnn.init_params(model, s),
            optimizer="adam",
            key0=k.key0,
            key1=k.key1,
            record_every=every,
        )
        for s, k in zip(range(n_seeds), keys)
    ]
    # everything the runs depend on, so that runs kept in the checkpoint by another scale are not reused
    config = {"scale": scale, "seeds": n_seeds, "epochs": (E1, E2), "every": every, "caps": caps.tolist(), "lr": lr}

    def train(jobs: List[rnn.TrainJob], part: str, keep_state: bool) -> List[KeptRun]:
        return train_many_kept(
            jobs, n_threads=nt, checkpoint=checkpoint, part=part, config=config, keep_state=keep_state
        )

    out1 = train(jobs1, "phase1", keep_state=True)
    jobs2 = []
    for r, k in zip(out1, keys):
        assert r.state is not None  # phase 1 keeps its runs' states
        for c in caps:
            m_c = model if np.isinf(c) else replace(model, readout_l1_cap=float(c))
            jobs2.append(
                rnn.TrainJob(
                    m_c,
                    task,
                    lr,
                    E2,
                    r.state.params,
                    optimizer="adam",
                    key0=k.key0,
                    key1=k.key1,
                    record_every=every,
                    state=r.state,
                )
            )
    out2 = train(jobs2, "phase2", keep_state=False)
    acc1 = np.stack([r.accuracy for r in out1])  # (seed, n1)
    loss1 = np.stack([r.loss for r in out1])
    acc2 = np.stack([r.accuracy for r in out2]).reshape(n_seeds, caps.size, -1)
    loss2 = np.stack([r.loss for r in out2]).reshape(n_seeds, caps.size, -1)
    epochs = np.concatenate([out1[0].epochs, out2[0].epochs])
    acc = np.concatenate([np.broadcast_to(acc1[:, None, :], (n_seeds, caps.size, acc1.shape[1])), acc2], axis=2)
    loss = np.concatenate([np.broadcast_to(loss1[:, None, :], (n_seeds, caps.size, loss1.shape[1])), loss2], axis=2)
    from ._figures_base import mean_sem

    acc_mean, acc_sem = mean_sem(acc, axis=0)
    loss_mean, loss_sem = mean_sem(loss, axis=0)
    late = acc2[:, :, acc2.shape[2] // 2 :].mean(axis=2).T  # (cap, seed)
    data = {
        "epochs": epochs,
        "caps": caps,
        "accuracy_mean": acc_mean,
        "accuracy_sem": acc_sem,
        "loss_mean": loss_mean,
        "loss_sem": loss_sem,
        "late_accuracy": late,
        "switch_epoch": np.array(E1),
    }
    fig = _draw_fig8c(data, lr=lr)
    params_out = {
        "scale": scale,
        "seeds": f"0-{n_seeds - 1}",
        "lr": lr,
        "optimizer": "adam",
        "epochs_phase1": E1,
        "epochs_phase2": E2,
        "record_every": every,
        "caps": [float(c) for c in caps],
        "samples_per_class": 10,
        "noise_std": 1e-3,
        "x0_std": 0.1,
        "config": "A",
        "init": "task",
        "N": 100,
    }
    return FigureResult("fig8c", fig, data, params_out)


def _draw_fig8c(data: Dict[str, np.ndarray], *, lr: float) -> Any:
    """Fig 8C from its data alone (so a saved run can be drawn again)."""
    from ._figures_base import band

    epochs, caps, E1 = data["epochs"], data["caps"], int(data["switch_epoch"])
    n_seeds = data["late_accuracy"].shape[1]
    fig, axes = new_figure(2, 1, figsize=(7.0, 6.4), sharex=True)
    ax_acc, ax_loss = axes[:, 0]
    colors = ("tab:blue", "tab:green", "tab:orange", "tab:red", "black")
    for i, (c, color) in enumerate(zip(caps, colors)):
        label = "c = ∞ (no cap)" if np.isinf(c) else f"c = {c:g}"
        band(ax_acc, epochs, data["accuracy_mean"][i], data["accuracy_sem"][i], color=color, label=label)
        band(ax_loss, epochs, data["loss_mean"][i], data["loss_sem"][i], floor=1e-6, color=color)
    for a in (ax_acc, ax_loss):
        a.axvline(E1, color="grey", ls="--", lw=1)
    ax_acc.set_ylabel("accuracy (mean ± SEM)")
    ax_acc.legend(fontsize=8)
    ax_loss.set_yscale("log")
    ax_loss.set_ylabel("loss")
    ax_loss.set_xlabel("epoch")
    ax_acc.set_title(
        f"Fig 8C: full-rank RNN on DCDT, Adam lr {lr:g}, {n_seeds} seeds\n"
        f"readout L1 norm capped at c from epoch {E1} (dashed line)",
        fontsize=9,
    )
    return fig
