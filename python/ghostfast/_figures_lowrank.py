"""Fig 4: rank-2 RNNs on DCDT and DMTS, their 2-D latent flow, and the ghost that precedes the abrupt drop
(paper Fig 4).

The rank-2 task model of paper Fig 4: N = 100, W = m n with m (N, 2), n (2, N), one input, the output read from the
two latents kappa = n x before each update (tanh for DCDT, sigmoid for DMTS), random r0 = tanh(sigma z) with
sigma 0.3, initialised by :func:`ghostfast.rnn.init_params`: the paper's PyTorch draws for paper-scale DCDT
(``scheme="torch"``), numpy's generator ("task" preset) otherwise. With zero input (the delay) the latents obey exactly
F(kappa) = -kappa + n tanh(m kappa + b): ``analysis.latent_reduction(params, basis="factors")``.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from . import analysis, metrics, plotting, rnn, tasks
from ._figures_base import FigureResult, check_scale, pick, threads
from ._validation import check_choice, check_int

#: Ghost criteria (the paper's claim that a ghost precedes the drop, made quantitative): not a fixed point (|F| >= 1e-3) and one eigenvalue with |Re| < 0.05.
GHOST_MIN_SPEED = 1e-3
GHOST_EIG_TOL = 0.05

# task -> (config, output, noise, per scale (quick, default, paper): (samples per class, optimizer, lr, epochs,
# snapshot every), panel, per scale: init_params scheme)
_FIG4 = {
    "dcdt": (
        "A",
        "tanh",
        0.0,
        ((10, "adam", 1e-3, 3500, 1), (50, "adam", 1e-3, 6000, 1), (500, "sgd", 1e-3, 100000, 5)),
        "4A-D",
        ("task", "task", "torch"),
    ),
    "dmts": (
        "A",
        "sigmoid",
        1e-2,
        ((10, "adam", 1e-4, 8000, 1), (50, "adam", 1e-4, 8000, 1), (500, "adam", 1e-4, 20000, 1)),
        "4E-H",
        ("task", "task", "task"),
    ),
}


def _model(output: str, noise: float) -> rnn.Model:
    return rnn.Model(
        N=100,
        rank=2,
        alpha=0.5,
        readout="latent_linear",
        output=output,
        read="before",
        n_in=1,
        noise_std=noise,
        x0="random",
        x0_std=0.3,
    )


def plateau_loss(task: tasks.Task) -> float:
    """The loss of the zero output, ``loss_scale * sum(mask * target**2)``: the plateau of a rank-2 task RNN
    before its abrupt drop (DCDT 10/22 = 0.455, DMTS 5/38 = 0.132), the ``reference`` of
    :func:`ghostfast.metrics.drop_epoch` (see there why the DMTS network's initial loss is not its plateau)."""
    return float(task.loss_scale * np.sum(task.mask * task.targets**2))


def _ghost_in_range(sp: analysis.SlowPoints, lat: np.ndarray) -> tuple[bool, np.ndarray]:
    """Is there a slow point with |F| >= 1e-3, an eigenvalue |Re| < 0.05 and inside the trajectories' range
    (the bounding box of the latents ``lat`` (..., 2), widened by 10 % of its size on each side)? Returns
    (found, (kx, ky, speed, min |Re eig|) of the slowest such)."""
    pts = lat.reshape(-1, 2)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    pad = 0.1 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    best = np.full(4, np.nan)
    if not len(sp):
        return False, best
    min_re = np.min(np.abs(sp.eigenvalues.real), axis=1)
    inside = np.all((sp.x >= lo) & (sp.x <= hi), axis=1)
    ok = (sp.speed >= GHOST_MIN_SPEED) & (min_re < GHOST_EIG_TOL) & inside & sp.converged
    if not ok.any():
        return False, best
    j = np.flatnonzero(ok)[np.argmin(sp.speed[ok])]
    return True, np.array([sp.x[j, 0], sp.x[j, 1], sp.speed[j], min_re[j]])


def fig4(scale: str = "default", *, task: str = "dmts", seed: int = 0, n_threads: Optional[int] = None) -> FigureResult:
    """Fig 4: a rank-2 RNN learning DCDT (Fig 4A-D: config A, SGD lr 1e-3, no noise) or DMTS (Fig 4E-H:
    config A, Adam lr 1e-4, noise 1e-2): normalised loss and gradient norm (top left), accuracy (top right),
    and at four checkpoints (start, plateau, just before the drop, end) the 2-D latent speed map log10 |F(kappa)|
    (``plotting.plot_speed_2d``) with the refined slow points (``analysis.slow_points_2d``: fixed points black,
    ghosts red with their slow direction, slow points orange) and the trial trajectories kappa_t = n x_t (white).

    The claim checked (paper Fig 4: ghost points precede abrupt transitions): just before the drop, a refined
    slow point that is not a fixed point (|F| >= 1e-3) with a Jacobian eigenvalue |Re lambda| < 0.05 lies in the
    trajectories' range (their bounding box widened by 10 % on each side). The drop is
    :func:`ghostfast.metrics.drop_epoch` measured from the plateau, the zero output's loss
    (:func:`plateau_loss`): the first epoch with a loss below half of it, which needs the memory the task asks
    for. The parameters are kept at every snapshot and the last 20 snapshots before the drop (plus 10 spread
    over the 2 % of training before them) are searched, latest first. In 2-D every local minimum of |F| that is
    not a fixed point has an exactly zero eigenvalue, so the eigenvalue criterion admits any such minimum and
    its speed |F| tells how slow the ghost is (``data["pre_drop_ghost"]``).

    Measured at quick scale. DCDT, seed 0: drop at epoch 2063; over the 20 epochs before it the only slow point
    is one stable fixed point whose slowest eigenvalue falls from |Re| 0.91 (epoch 2042) to 0.089 (2062), and
    at 2063 it is a saddle between two new attractors at kappa = (0.70, 0.10) and (-0.69, -0.18): a
    (near-)pitchfork, as DCDT is symmetric in the cue, with no ghost before it. Over seeds 0-9, 8 runs drop
    and a ghost precedes the drop in 4 of them (seeds 1, 2, 6, 8: |F| 0.0018-0.12, 2-19 epochs before); seeds
    0, 3, 5 and 9 have none, seeds 4 and 7 stay on the plateau for the 3500 epochs. So at this scale the DCDT
    claim holds for half the runs, not for seed 0. DMTS, seed 0: the loss falls from 0.288 onto the plateau
    (0.145 at epoch 200, 0.12 at 4000), leaves it at epochs 4023-4030 and halves the zero output's loss at
    epoch 5074; the snapshot before it has a ghost (|F| 0.11, an exactly zero eigenvalue) in the
    trajectories' range. Over seeds 0-4 (9000 epochs), 4 runs drop (epochs 1757-5074) and every one has a
    ghost in the snapshot before the drop (|F| 0.069-0.46); seed 3 ends at 0.069, just above the threshold
    0.066. The quick DMTS run therefore trains 8000 epochs, as the default scale does (whose seed-0 drop
    is at epoch 4318).

    ==========  =====  ====================  ==========  =========  =============
    task        scale  trials (per class)    optimizer   epochs     snapshots
    ==========  =====  ====================  ==========  =========  =============
    DCDT        paper  1000 (500)            SGD 1e-3    100 000    every 5
    DCDT        dflt   100 (50)              Adam 1e-3   6 000      every 20
    DCDT        quick  20 (10)               Adam 1e-3   3 500      every 1
    DMTS        paper  2000 (500)            Adam 1e-4   20 000     every 1
    DMTS        dflt   200 (50)              Adam 1e-4   8 000      every 40
    DMTS        quick  40 (10)               Adam 1e-4   8 000      every 1
    ==========  =====  ====================  ==========  =========  =============

    Fewer trials per class than the paper's keep the expected gradient (the loss is a mean over trials) and
    change only the sampling noise of r0 and xi. At paper scale DCDT starts from the paper's own network: the
    weights its script draws after ``torch.manual_seed(seed)`` (``rnn.init_params(..., scheme="torch")``, equal
    to PyTorch's to within 3 float32 ulp). The other runs draw with numpy's generator ("task" preset), and DCDT
    at the reduced scales uses Adam instead of the paper's SGD. The reason is measured: with SGD lr 1e-3 whether
    a network leaves the zero-output plateau (L = 0.455) depends on its initial weights. At 10 trials per
    class over 5000 epochs, 5 of the paper's PyTorch seeds 0-11 leave it (seed 0 among them) and 4 of numpy's
    seeds do (not seed 0). Numpy's seed 0 at paper scale (1000 trials) was still on the plateau after 100 000
    epochs. Larger SGD rates (1e-2, 1e-1) learn and then fall back to the plateau, as above the critical rate.
    Adam lr 1e-3 leaves it after 60-2700 epochs for 8 of numpy's seeds 0-9.

    Parameters
    ----------
    scale : {"quick", "default", "paper"}
        Size of the run (table above).
    task : {"dcdt", "dmts"}
        The task: DCDT (paper Fig 4A-D) or DMTS (paper Fig 4E-H).
    seed : int
        Seed of the initialisation, the random initial states and the noise (numpy's generator).
    n_threads : int, optional
        OpenMP threads (None: default). Results do not depend on it.

    Returns
    -------
    FigureResult
        Two history Axes, four speed maps, one colour bar. ``data``: ``epochs`` (R,), ``loss``, ``grad_norm``,
        ``accuracy`` (R,), ``checkpoints`` (4,), ``plateau_loss``, ``drop_epoch`` (-1: none), ``pre_drop_epoch``
        (0-d), ``searched_epochs`` (S,), ``pre_drop_has_ghost`` (0-d bool), ``pre_drop_ghost`` (4,) =
        (kappa_1, kappa_2, |F|, min |Re eig|) of the slowest qualifying point (NaN if none), ``final_accuracy``
        (0-d), ``grid`` (G,), and per checkpoint ``slow_x`` (U, 2), ``slow_speed``, ``slow_kind``,
        ``slow_checkpoint`` (U,), ``latents`` (4, B', S, 2) (trajectories of up to 10 trials per class).

    Examples
    --------
    :func:`fig4_dcdt` and :func:`fig4_dmts` run this figure for one task each (see their examples); the
    arguments are checked before anything is trained:

    >>> from ghostfast import figures
    >>> figures.fig4(scale="quick", task="xor")
    Traceback (most recent call last):
        ...
    ValueError: task must be one of ['dcdt', 'dmts'], got 'xor'
    """
    scale = check_scale(scale)
    task = check_choice(task, "task", tuple(_FIG4))
    seed = check_int(seed, "seed", minimum=0)
    config, output, noise, sizes, panel, inits = _FIG4[task]
    init = pick(scale, *inits)
    spc, optimizer, lr, epochs, every = pick(scale, *sizes)
    factory = tasks.dcdt if task == "dcdt" else tasks.dmts
    cfg = tasks.dcdt_config(config) if task == "dcdt" else tasks.dmts_config(config)
    tk = factory(*cfg, samples_per_class=spc)
    model = _model(output, noise)
    nt = threads(n_threads)
    snaps = tuple(range(0, epochs + 1, every))
    record = 1 if epochs <= 20000 else 5
    # paper-scale DCDT starts from the paper's network for this seed (its script's PyTorch draws)
    params = rnn.init_params(model, seed, scheme=init)
    res = rnn.train(
        model,
        tk,
        lr,
        epochs,
        optimizer=optimizer,
        params=params,
        seed=seed,
        record_every=record,
        snapshot_epochs=snaps,
        n_threads=nt,
    )
    plateau_level = plateau_loss(tk)
    drop = int(metrics.drop_epoch(res.loss, res.epochs, reference=plateau_level))
    before = [e for e in snaps if e < drop] if drop > 0 else []
    # The checkpoints searched for the ghost: the last 20 snapshots before the drop, and 10 more spread over the
    # 2 % of training before those (a ghost lives from a few epochs to hundreds before the transition).
    near = before[-20:]
    far = [e for e in before[:-20] if e >= drop - 0.02 * epochs]
    search = sorted(set(near) | set(far[:: max(1, len(far) // 10)])) if before else []
    grid = np.linspace(-5.0, 5.0, 201)
    found, ghost, ghost_epoch = False, np.full(4, np.nan), -1
    for e in reversed(search):  # latest first: the ghost closest to the drop
        p = res.snapshots[e]
        red = analysis.latent_reduction(p, rank=2, basis="factors")
        sp = analysis.slow_points_2d(red, grid, grid, ghost_eig_tol=GHOST_EIG_TOL, n_threads=nt)
        ok, g = _ghost_in_range(sp, red.project(rnn.forward(model, p, tk, seed=seed).states))
        if ok:
            found, ghost, ghost_epoch = True, g, e
            break
    pre = ghost_epoch if found else (before[-1] if before else -1)
    on_plateau = before[len(before) // 2] if before else snaps[len(snaps) // 2]
    checkpoints = sorted({0, on_plateau, max(pre, 0), snaps[-1]})
    while len(checkpoints) < 4:  # degenerate cases (no drop found): fill with evenly spaced snapshots
        checkpoints = sorted(set(checkpoints) | {snaps[len(snaps) * len(checkpoints) // 4]})
    # Trajectories of up to 10 trials per class for the maps.
    show = factory(*cfg, samples_per_class=min(spc, 10))
    sps, lats = [], []
    for e in checkpoints:
        p = res.snapshots[e]
        red = analysis.latent_reduction(p, rank=2, basis="factors")
        sps.append(analysis.slow_points_2d(red, grid, grid, ghost_eig_tol=GHOST_EIG_TOL, n_threads=nt))
        lats.append(red.project(rnn.forward(model, p, show, seed=seed).states))

    from matplotlib.figure import Figure

    fig = Figure(figsize=(14.0, 7.6), layout="constrained")
    gs = fig.add_gridspec(3, 4, height_ratios=(1.0, 1.45, 0.05))
    ax_h = fig.add_subplot(gs[0, :2])
    ax_a = fig.add_subplot(gs[0, 2:])
    plotting.plot_history(res.loss, res.grad_norm, ax=ax_h, epochs=res.epochs, ylim=None)
    ax_a.plot(res.epochs, res.accuracy, color="tab:blue", lw=0.8)
    ax_a.set_ylim(-0.02, 1.02)
    ax_a.set_xlabel("epoch")
    ax_a.set_ylabel("accuracy")
    for e in checkpoints:
        for a in (ax_h, ax_a):
            a.axvline(e, color="grey", lw=0.8, ls=":")
    if drop > 0:
        for a in (ax_h, ax_a):
            a.axvline(drop, color="tab:red", lw=1.0, ls="--")
    # the drop's threshold, half the plateau (the zero output's loss), on the panel's loss / max scale
    ax_h.axhline(0.5 * plateau_level / float(np.max(res.loss)), color="black", lw=0.8, ls="--")
    ax_h.set_title(
        "loss and gradient norm / max (dotted: checkpoints below; dashed: drop, half the plateau loss)", fontsize=9
    )
    idx = [min(int(np.searchsorted(res.epochs, e)), res.epochs.size - 1) for e in checkpoints]
    for k, (e, sp, lat) in enumerate(zip(checkpoints, sps, lats)):
        ax = fig.add_subplot(gs[1, k])
        red = analysis.latent_reduction(res.snapshots[e], rank=2, basis="factors")
        # the view: the trajectories and the slow points near them, at least [-1.5, 1.5]^2 (the paper's close-up)
        reach = max(1.5, 1.25 * float(np.max(np.abs(lat))))
        if len(sp):
            close = np.max(np.abs(sp.x), axis=1) < 2.0 * reach
            if close.any():
                reach = max(reach, 1.15 * float(np.max(np.abs(sp.x[close]))))
        reach = min(5.0, float(np.ceil(reach * 2.0) / 2.0))
        view = np.linspace(-reach, reach, 161)
        plotting.plot_speed_2d(
            red, view, view, ax=ax, slow_points=sp, trajectories=list(lat), arrows=15, colorbar=False, n_threads=nt
        )
        tag = f" ({drop - e} epoch{'s' if drop - e != 1 else ''} before the drop)" if e == pre else ""
        ax.set_title(f"epoch {e}{tag}, loss {res.loss[idx[k]]:.3g}\n" + _counts(sp), fontsize=8)
        ax.set_aspect("equal")
        if e == pre or (k == 3 and pre not in checkpoints):
            ax.legend(fontsize=6, loc="lower left")
    import matplotlib
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    fig.colorbar(
        ScalarMappable(norm=Normalize(-1.0, 1.0), cmap=matplotlib.colormaps["viridis"]),
        cax=fig.add_subplot(gs[2, 1:3]),
        orientation="horizontal",
        label="log10 |F(κ)| (latent speed)",
    )
    when = (
        f"drop at epoch {drop} (loss < half the plateau {plateau_level:.3g})"
        if drop >= 0
        else f"no drop (loss never below half the plateau {plateau_level:.3g})"
    )
    lag = drop - ghost_epoch
    verdict = (
        f"ghost {lag} epoch{'s' if lag != 1 else ''} before it: |F| = {ghost[2]:.2g} at κ = ({ghost[0]:.2f}, "
        f"{ghost[1]:.2f})"
        if found
        else ("no ghost in the trajectories' range before the drop" if drop >= 0 else "no ghost searched")
    )
    fig.suptitle(
        f"Fig {panel}: rank-2 RNN on {task.upper()} (config {config}), {2 * spc if task == 'dcdt' else 4 * spc} "
        f"trials, {optimizer.upper()} lr {lr:g}, seed {seed}; {when}; {verdict}",
        fontsize=10,
    )
    slow_ck = np.concatenate([np.full(len(sp), e) for e, sp in zip(checkpoints, sps)])
    data = {
        "epochs": res.epochs,
        "loss": res.loss,
        "grad_norm": res.grad_norm,
        "accuracy": res.accuracy,
        "checkpoints": np.asarray(checkpoints),
        "plateau_loss": np.array(plateau_level),
        "drop_epoch": np.array(drop),
        "pre_drop_epoch": np.array(pre),
        "searched_epochs": np.asarray(search, dtype=np.int64),
        "pre_drop_has_ghost": np.array(found),
        "pre_drop_ghost": ghost,
        "final_accuracy": np.array(float(res.accuracy[-max(1, res.accuracy.size // 50) :].mean())),
        "grid": grid,
        "slow_x": np.concatenate([sp.x for sp in sps]).reshape(-1, 2),
        "slow_speed": np.concatenate([sp.speed for sp in sps]),
        "slow_kind": np.concatenate([sp.kind for sp in sps]).astype(str),
        "slow_checkpoint": slow_ck,
        "latents": np.stack(lats),
    }
    params_out = {
        "scale": scale,
        "task": task,
        "config": config,
        "seed": seed,
        "optimizer": optimizer,
        "lr": lr,
        "epochs": epochs,
        "samples_per_class": spc,
        "noise_std": noise,
        "x0_std": 0.3,
        "snapshot_every": every,
        "record_every": record,
        "rank": 2,
        "N": 100,
        "init": init,
        "grid": "linspace(-5, 5, 201)^2",
    }
    return FigureResult(f"fig4_{task}", fig, data, params_out)


def _counts(sp: analysis.SlowPoints) -> str:
    from ._figures_tasks import _kind_counts

    return _kind_counts(sp)


def fig4_dcdt(scale: str = "default", **kwargs: Any) -> FigureResult:
    """Fig 4A-D (rank-2 DCDT): ``fig4(scale, task="dcdt", ...)``.

    Parameters
    ----------
    scale : {"quick", "default", "paper"}
        Size of the run (see :func:`fig4`).
    **kwargs
        ``seed`` and ``n_threads`` of :func:`fig4`.

    Returns
    -------
    FigureResult
        As :func:`fig4`, named ``"fig4_dcdt"``.

    Examples
    --------
    The quick scale trains 20 trials with Adam for 3500 epochs, keeping the parameters of every epoch.

    >>> from ghostfast import figures
    >>> res = figures.fig4_dcdt(scale="quick")
    >>> res.name
    'fig4_dcdt'
    >>> 0 < int(res.data["drop_epoch"]) < 3500  # the abrupt drop after the plateau
    True
    >>> bool(res.data["accuracy"][0] < 0.6 and res.data["final_accuracy"] > 0.9)  # from chance to learned
    True
    """
    return fig4(scale, task="dcdt", **kwargs)


def fig4_dmts(scale: str = "default", **kwargs: Any) -> FigureResult:
    """Fig 4E-H (rank-2 DMTS): ``fig4(scale, task="dmts", ...)``.

    Parameters
    ----------
    scale : {"quick", "default", "paper"}
        Size of the run (see :func:`fig4`).
    **kwargs
        ``seed`` and ``n_threads`` of :func:`fig4`.

    Returns
    -------
    FigureResult
        As :func:`fig4`, named ``"fig4_dmts"``.

    Examples
    --------
    ``figures.fig4_dmts(scale="quick")`` trains 40 trials with Adam for 8000 epochs and searches the snapshots
    before the drop for a ghost, too long for the documentation's doctest build (``tests/test_figures.py``
    runs it). Here only the arguments are checked, before anything is trained:

    >>> from ghostfast import figures
    >>> figures.fig4_dmts(scale="tiny")
    Traceback (most recent call last):
        ...
    ValueError: scale must be one of ['quick', 'default', 'paper'], got 'tiny'
    """
    return fig4(scale, task="dmts", **kwargs)
