"""Fig 4: rank-2 RNNs on DCDT and DMTS, their 2-D latent flow, and the ghosts around the abrupt transition
(paper Fig 4: ghost points precede abrupt transitions).

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
from ._figures_base import FigureResult, check_scale, legend_panel, pick, stops_on_interrupt, threads
from ._validation import check_choice, check_int

#: Ghost criteria (the paper's claim that a ghost precedes the transition, made quantitative): not a fixed
#: point (|F| >= 1e-3) and one eigenvalue with |Re| < 0.05.
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


@stops_on_interrupt
def fig4(scale: str = "default", *, task: str = "dmts", seed: int = 0, n_threads: Optional[int] = None) -> FigureResult:
    """Fig 4: a rank-2 RNN learning DCDT (Fig 4A-D: config A, SGD lr 1e-3, no noise) or DMTS (Fig 4E-H:
    config A, Adam lr 1e-4, noise 1e-2): normalised loss and gradient norm (top left), accuracy (top right),
    and at four checkpoints (start, plateau, just before the transition, end) the 2-D latent speed map log10 |F(kappa)|
    (``plotting.plot_speed_2d``) with the refined slow points (``analysis.slow_points_2d``: fixed points black,
    ghosts red with their slow direction, slow points orange) and the trial trajectories kappa_t = n x_t (white).

    The claim checked (paper Fig 4: ghost points precede abrupt transitions): just before the abrupt
    transition, a refined slow point that is not a fixed point (|F| >= 1e-3) with a Jacobian eigenvalue
    |Re lambda| < 0.05 lies in the trajectories' range (their bounding box widened by 10 % on each side). The
    transition is :func:`ghostfast.metrics.transition_epoch`, the loss's largest fall on log-log axes. The
    parameters are kept at every snapshot; the last 20 snapshots before the transition (plus 10 spread over
    the 2 % of training before them) are searched, latest first. Where none has a ghost, up to 20 snapshots
    over the quarter of the transition's epoch after it are searched for the first ghost, and that snapshot
    replaces the plateau panel. In 2-D every local minimum of |F| that is not a fixed point has an exactly
    zero eigenvalue, so the eigenvalue criterion admits any such minimum and its speed |F| tells how slow the
    ghost is (``data["pre_transition_ghost"]``). ``data["drop_epoch"]`` is the package's drop
    (:func:`ghostfast.metrics.drop_epoch` from the zero output's loss, :func:`plateau_loss`), for reference.

    Measured. DCDT at paper scale, the paper's own seed-0 network: the loss falls gradually from its plateau (half
    the zero output's loss at epoch ~500) and makes its abrupt transition at epoch ~7550 (accuracy 0.75 -> 0.89 over
    epochs 7000-8000). Over epochs 3000-7900 the latent flow has the same three fixed points (two attractors and the
    saddle between them) and no ghost; two ghosts (|F| 0.17-0.19) appear in the trajectories' range between epochs
    8000 and 8250 and stay to the end (the paper checks its DCDT ghost at epoch 99 000). So in this network the
    ghosts come at the end of the transition, not before it. DCDT at quick scale, seed 0 (numpy's initialisation,
    Adam): the loss leaves its plateau at epoch 2063, where the only slow point, a stable fixed point, becomes a
    saddle between two new attractors (a near-pitchfork: DCDT is symmetric in the cue); the transition is at 2172
    and the first ghost in range at 2536. Over seeds 0-9 at quick scale 8 runs learn: the 4 with early transitions
    (seeds 1, 3, 6, 8, epochs 58-778) have a ghost just before it, the 4 with long plateaus (seeds 0, 2, 5, 9,
    transitions at 1717-2705) have none, and their first ghost comes 68-364 epochs after the transition. DMTS at
    quick scale, seed 0: the loss falls from 0.288 onto its plateau (0.145 at epoch 200, 0.12 at 4000) and its
    transition is at epoch 4038, with a ghost (|F| 0.055) in range one epoch before it. Over seeds 0-4, 4 have a
    ghost in the snapshot before the transition (|F| 0.055-1.3; seed 2's, at 1.3, is a fast minimum of the speed
    rather than a slow ghost) and seed 3 has its first 114 epochs after it. The DMTS network at paper scale (numpy's
    seed 0) drops twice, at epochs ~3950 and ~4750; a ghost appears at the first drop and slows down until a saddle-
    node at ~4450, and the transition is the second drop.

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
        ``accuracy`` (R,), ``checkpoints`` (4,), ``plateau_loss``, ``drop_epoch`` and ``transition_epoch`` (-1:
        none), ``pre_transition_epoch`` (0-d), ``searched_epochs`` (S,), ``pre_transition_has_ghost`` (0-d bool),
        ``post_transition_ghost_epoch`` (-1: none found), ``pre_transition_ghost`` and ``post_transition_ghost``
        (4,) =
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
    transition = int(metrics.transition_epoch(res.loss, res.epochs))
    before = [e for e in snaps if e < transition] if transition > 0 else []
    # The checkpoints searched for the ghost: the last 20 snapshots before the transition, and 10 more spread
    # over the 2 % of training before those (a ghost lives from a few epochs to hundreds before the transition).
    near = before[-20:]
    far = [e for e in before[:-20] if e >= transition - 0.02 * epochs]
    search = sorted(set(near) | set(far[:: max(1, len(far) // 10)])) if before else []
    grid = np.linspace(-5.0, 5.0, 201)

    def ghost_at(e: int) -> tuple[bool, np.ndarray]:
        p = res.snapshots[e]
        red = analysis.latent_reduction(p, rank=2, basis="factors")
        sp = analysis.slow_points_2d(red, grid, grid, ghost_eig_tol=GHOST_EIG_TOL, n_threads=nt)
        return _ghost_in_range(sp, red.project(rnn.forward(model, p, tk, seed=seed).states))

    found, ghost, ghost_epoch = False, np.full(4, np.nan), -1
    for e in reversed(search):  # latest first: the ghost closest to the transition
        ok, g = ghost_at(e)
        if ok:
            found, ghost, ghost_epoch = True, g, e
            break
    # Where the claim fails, when does a ghost appear instead? The first of up to 20 snapshots spread over the
    # quarter of the transition's epoch after it (the paper's DCDT network: ghosts from ~8 % after it).
    after = [e for e in snaps if transition <= e <= 1.25 * transition] if transition > 0 else []
    after_epoch, after_ghost = -1, np.full(4, np.nan)
    for e in after[:: max(1, -(-len(after) // 20))]:
        ok, g = ghost_at(e)
        if ok:
            after_epoch, after_ghost = e, g
            break
    pre = ghost_epoch if found else (before[-1] if before else -1)
    on_plateau = before[len(before) // 2] if before else snaps[len(snaps) // 2]
    # the panels: start, plateau (or, when no ghost precedes the transition, the first ghost after it), just
    # before the transition, end
    third = after_epoch if (not found and after_epoch >= 0) else on_plateau
    checkpoints = sorted({0, third, max(pre, 0), snaps[-1]})
    while len(checkpoints) < 4:  # degenerate cases (no transition found): fill with evenly spaced snapshots
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
    # log epochs, as in Fig 5: the plateau, the transition and the slow decay after it each get their share of
    # the width (on linear epochs the paper's DCDT transition, at 7550 of 100 000, sits at the left edge);
    # epoch 0 is drawn at 1
    x = np.maximum(res.epochs, 1)
    plotting.plot_history(res.loss, res.grad_norm, ax=ax_h, epochs=x, ylim=None)
    ax_a.plot(x, res.accuracy, color="tab:blue", lw=0.8)
    ax_a.set_ylim(-0.02, 1.02)
    ax_a.set_ylabel("accuracy")
    for a in (ax_h, ax_a):
        a.set_xscale("log")
        a.set_xlabel("epoch (epoch 0 at 1)")
    for e in checkpoints:
        for a in (ax_h, ax_a):
            a.axvline(max(e, 1), color="grey", lw=0.8, ls=":")
    if transition > 0:
        for a in (ax_h, ax_a):
            a.axvline(transition, color="tab:red", lw=1.0, ls="--")
    ax_h.set_title(
        "loss and gradient norm / max (dotted: checkpoints below; dashed: the abrupt transition)", fontsize=9
    )
    idx = [min(int(np.searchsorted(res.epochs, e)), res.epochs.size - 1) for e in checkpoints]
    with_legend = legend_panel(sps)
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
        gap = transition - e
        if e == pre:
            tag = f" ({gap} epoch{'s' if gap != 1 else ''} before the transition)"
        elif e == after_epoch:
            tag = f" ({-gap} epoch{'s' if gap != -1 else ''} after the transition)"
        else:
            tag = ""
        ax.set_title(f"epoch {e}{tag}, loss {res.loss[idx[k]]:.3g}\n" + _counts(sp), fontsize=8)
        ax.set_aspect("equal")
        if k == with_legend:
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
    when = f"abrupt transition at epoch {transition}" if transition > 0 else "no transition"
    lag = transition - ghost_epoch
    if found:
        verdict = (
            f"ghost {lag} epoch{'s' if lag != 1 else ''} before it: |F| = {ghost[2]:.2g} at κ = ({ghost[0]:.2f}, "
            f"{ghost[1]:.2f})"
        )
    elif transition > 0:
        verdict = "no ghost in the trajectories' range before it" + (
            f"; the first one {after_epoch - transition} epochs after it" if after_epoch >= 0 else ""
        )
    else:
        verdict = "no ghost searched"
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
        "transition_epoch": np.array(transition),
        "pre_transition_epoch": np.array(pre),
        "searched_epochs": np.asarray(search, dtype=np.int64),
        "pre_transition_has_ghost": np.array(found),
        "pre_transition_ghost": ghost,
        "post_transition_ghost_epoch": np.array(after_epoch),
        "post_transition_ghost": after_ghost,
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


@stops_on_interrupt
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
    >>> 0 < int(res.data["transition_epoch"]) < 3500  # the abrupt transition after the plateau
    True
    >>> bool(res.data["accuracy"][0] < 0.6 and res.data["final_accuracy"] > 0.9)  # from chance to learned
    True
    """
    return fig4(scale, task="dcdt", **kwargs)


@stops_on_interrupt
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
    before the transition for a ghost, too long for the documentation's doctest build (``tests/test_figures.py``
    runs it). Here only the arguments are checked, before anything is trained:

    >>> from ghostfast import figures
    >>> figures.fig4_dmts(scale="tiny")
    Traceback (most recent call last):
        ...
    ValueError: scale must be one of ['quick', 'default', 'paper'], got 'tiny'
    """
    return fig4(scale, task="dmts", **kwargs)
