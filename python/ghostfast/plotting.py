"""Plot helpers (matplotlib): one function per panel type. Each takes ``ax=None`` (a new figure and Axes
are created), returns the Axes and never calls ``plt.show()``.

Analysis panels: :func:`plot_flow_1d` (rank-one latent flow with fixed points and ghosts),
:func:`plot_speed_2d` (2-D latent speed map with unit arrows and slow points), :func:`plot_pca_3d`
(N-D states and slow points on the top principal components), :func:`plot_history` (loss and
gradient-norm histories normalised by their maxima, log-y), :func:`plot_lr_sweep` (loss vs learning
rate at several epochs with the trapped fraction below: paper Figs 2D and 6A).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from . import analysis as _an
from ._validation import as_float_array, check_bool, check_int, check_real


def _pair(value: Any, name: str) -> tuple[float, float]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2:
        raise TypeError(f"{name} must be a pair (low, high) of numbers, got {value!r}"[:200])
    lo, hi = check_real(value[0], f"{name}[0]"), check_real(value[1], f"{name}[1]")
    if not lo < hi:
        raise ValueError(f"{name} must have low < high, got {value!r}")
    return lo, hi


def _slow_points_arg(slow_points: Any) -> Any:
    if slow_points is not None and not isinstance(slow_points, _an.SlowPoints):
        raise TypeError(f"slow_points must be a SlowPoints result or None, got {type(slow_points).__name__}")
    return slow_points


__all__ = [
    "plot_flow_1d",
    "plot_speed_2d",
    "plot_pca_3d",
    "plot_history",
    "plot_lr_sweep",
    "KIND_COLORS",
    "KIND_MARKERS",
]

#: Colours of slow-point classes in every plot.
KIND_COLORS = {"fixed point": "black", "ghost": "red", "slow point": "tab:orange"}
#: Markers of slow-point classes (plots that colour points by speed tell the classes apart by marker).
KIND_MARKERS = {"fixed point": "o", "ghost": "X", "slow point": "^"}


def _axes(ax: Any, projection: str | None = None) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    fig = plt.figure()
    return fig.add_subplot(111, projection=projection) if projection else fig.add_subplot(111)


def plot_flow_1d(
    params: Any,
    kappa_grid: Any = None,
    *,
    ax: Any = None,
    kappa0: float | None = None,
    threshold: float | None = 1.0,
    fixed_points: bool = True,
    ghosts: bool = True,
    max_ghost_speed: float = np.inf,
    **line_kw: Any,
) -> Any:
    """The rank-one latent flow f(kappa) (paper Fig. 3), with its fixed points and ghosts.

    Draws the curve, the zero line, the readout threshold (vertical orange line at ``threshold``), the initial
    latent ``kappa0`` (red dot on f = 0), fixed points (filled black: stable, open: unstable) and ghosts (red
    crosses).

    Parameters
    ----------
    params : dict, object or tuple
        A rank-one parameter set (see :func:`ghostfast.analysis.rank_one_vectors`).
    kappa_grid : array_like, optional
        Default ``linspace(-15, 15, 1000)[200:800]`` (kappa ~ [-9, 9]) as in the paper's plots.
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure's Axes).
    kappa0 : float, optional
        The initial latent, drawn as a red dot.
    threshold : float or None
        The readout threshold (None to omit).
    fixed_points, ghosts : bool
        Mark them.
    max_ghost_speed : float
        Mark only ghosts with |f| <= this.
    **line_kw
        Passed to the curve's ``plot``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = plot_flow_1d({"m": [2.0], "n": [1.0], "b": [0.6]}, kappa0=-0.5)
    >>> ax.get_xlabel(), len(ax.lines) >= 2
    ('kappa', True)
    """
    grid = (
        np.linspace(-15.0, 15.0, 1000)[200:800]
        if kappa_grid is None
        else as_float_array(kappa_grid, "kappa_grid", ndim=1)
    )
    if threshold is not None:
        threshold = check_real(threshold, "threshold")
    if kappa0 is not None:
        kappa0 = check_real(kappa0, "kappa0")
    fixed_points = check_bool(fixed_points, "fixed_points")
    ghosts = check_bool(ghosts, "ghosts")
    max_ghost_speed = check_real(max_ghost_speed, "max_ghost_speed", nonnegative=True, finite=False)
    f = _an.flow_map_1d(params, grid)
    ax = _axes(ax)
    ax.plot(grid, f, color=line_kw.pop("color", "tab:blue"), label=line_kw.pop("label", "f(kappa)"), **line_kw)
    ax.axhline(0.0, color="grey", lw=0.8)
    if threshold is not None:
        ax.axvline(float(threshold), color="orange", lw=1.2, label="threshold")
    if kappa0 is not None:
        ax.scatter([float(kappa0)], [0.0], color="red", zorder=5, label="kappa0")
    if fixed_points:
        fp = _an.fixed_points_1d(params, grid)
        if len(fp):
            ax.scatter(
                fp.kappa,
                np.zeros(len(fp)),
                s=40,
                zorder=6,
                facecolors=np.where(fp.stable, "black", "none"),
                edgecolors="black",
                label="fixed points",
            )
    if ghosts:
        gh = _an.ghosts_1d(params, grid, max_speed=max_ghost_speed)
        if len(gh):
            ax.scatter(gh.kappa, gh.speed, marker="x", color="red", zorder=6, label="ghosts")
    ax.set_xlabel("kappa")
    ax.set_ylabel("f(kappa)")
    return ax


def plot_speed_2d(
    reduction: _an.LatentReduction,
    grid_x: Any,
    grid_y: Any,
    *,
    ax: Any = None,
    slow_points: _an.SlowPoints | None = None,
    trajectories: Sequence[Any] | None = None,
    arrows: int = 20,
    vmin: float = -1.0,
    vmax: float = 1.0,
    colorbar: bool = True,
    n_threads: int | None = None,
) -> Any:
    """Speed map of a 2-D latent flow (paper Fig. 4), with slow points and trajectories.

    log10 |F| as a colour mesh (``vmin``, ``vmax``), an ``arrows`` x ``arrows`` field of unit-normalised F,
    slow points coloured by class (``KIND_COLORS``), each ghost's slow eigen-direction as a red segment, and
    optional latent trajectories.

    Parameters
    ----------
    reduction : LatentReduction
        A rank-2 reduction (see :func:`ghostfast.analysis.latent_reduction`).
    grid_x, grid_y : array_like
        1-D grids of the two latents.
    ax : matplotlib Axes, optional
    slow_points : SlowPoints, optional
        From :func:`ghostfast.analysis.slow_points_2d`.
    trajectories : sequence of array_like, optional
        Latent trajectories, each (T, 2).
    arrows : int
        Arrows per side of the direction field.
    vmin, vmax : float
        Colour range of log10 |F|.
    colorbar : bool
        False leaves the colour bar (limits ``vmin``/``vmax``, viridis) to the caller, e.g. one shared bar for a
        row of maps.
    n_threads : int or None
        OpenMP threads for the speed field.

    Returns
    -------
    matplotlib.axes.Axes
        One QuadMesh, one Quiver, one PathCollection per slow-point class, one line per trajectory and per
        ghost.

    Examples
    --------
    >>> from ghostfast import analysis
    >>> red = analysis.latent_reduction(0.5 * np.eye(2), rank=2)
    >>> grid = np.linspace(-1, 1, 21)
    >>> ax = plot_speed_2d(red, grid, grid, slow_points=analysis.slow_points_2d(red, grid, grid))
    >>> len(ax.collections) >= 3
    True
    """
    gx = as_float_array(grid_x, "grid_x", ndim=1)
    gy = as_float_array(grid_y, "grid_y", ndim=1)
    if gx.size < 2 or gy.size < 2:
        raise ValueError(f"grid_x and grid_y need at least 2 points each, got {gx.size} and {gy.size}")
    slow_points = _slow_points_arg(slow_points)
    arrows = check_int(arrows, "arrows", minimum=1, maximum=1000)
    vmin, vmax = _pair((vmin, vmax), "(vmin, vmax)")
    if trajectories is not None:
        if isinstance(trajectories, (str, bytes)) or not isinstance(trajectories, Sequence):
            raise TypeError(f"trajectories must be a sequence of (T, 2) arrays, got {type(trajectories).__name__}")
        trajectories = [
            as_float_array(t, f"trajectories[{i}]", ndim=2, shape=(None, 2)) for i, t in enumerate(trajectories)
        ]
    speed = _an.speed_field_2d(reduction, gx, gy, n_threads=n_threads)
    ax = _axes(ax)
    with np.errstate(divide="ignore"):
        mesh = ax.pcolormesh(gx, gy, np.log10(speed), vmin=vmin, vmax=vmax, cmap="viridis", shading="auto")
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, label="log10 |F|")
    ax_x = np.linspace(gx[0], gx[-1], arrows)
    ax_y = np.linspace(gy[0], gy[-1], arrows)
    KX, KY = np.meshgrid(ax_x, ax_y)
    F = _an.latent_flow(reduction, np.stack([KX, KY], axis=-1))
    norm = np.maximum(np.linalg.norm(F, axis=-1), 1e-300)
    ax.quiver(KX, KY, F[..., 0] / norm, F[..., 1] / norm, color="white", alpha=0.7)
    if trajectories is not None:
        for traj in trajectories:
            t = np.asarray(traj, float)
            ax.plot(t[:, 0], t[:, 1], color="white", lw=1.0)
    if slow_points is not None:
        # the slow eigen-direction of each ghost, as a red segment (as in the paper's Fig. 4)
        span = 0.05 * max(gx[-1] - gx[0], gy[-1] - gy[0])
        for i in slow_points.select("ghost"):
            c, d = slow_points.x[i], slow_points.slow_direction[i] * span
            ax.plot([c[0] - d[0], c[0] + d[0]], [c[1] - d[1], c[1] + d[1]], color="red", lw=2, zorder=4)
        for kind, color in KIND_COLORS.items():
            idx = slow_points.select(kind)
            if idx.size:
                ax.scatter(
                    slow_points.x[idx, 0],
                    slow_points.x[idx, 1],
                    color=color,
                    edgecolors="white",
                    s=45,
                    marker=KIND_MARKERS[kind],
                    zorder=5,
                    label=kind,
                )
    ax.set_xlim(gx[0], gx[-1])
    ax.set_ylim(gy[0], gy[-1])
    ax.set_xlabel("kappa 1")
    ax.set_ylabel("kappa 2")
    return ax


def pca_basis(states: Any, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """(mean (N,), basis (k, N)) of the top-``k`` principal components of states [..., N] (numpy SVD of the
    centred pooled states; rows of zeros when there are fewer than ``k`` components)."""
    X = np.asarray(states, float)
    pooled = X.reshape(-1, X.shape[-1])
    mean = pooled.mean(axis=0)
    _, _, Vt = np.linalg.svd(pooled - mean, full_matrices=False)
    basis = np.zeros((k, X.shape[-1]))
    basis[: min(k, Vt.shape[0])] = Vt[:k]
    return mean, basis


def plot_pca_3d(
    states: Any,
    slow_points: _an.SlowPoints | None = None,
    *,
    ax: Any = None,
    speed_range: tuple[float, float] = (-6.0, 0.0),
    colorbar: bool = True,
    cmap: str = "viridis",
    legend: bool = True,
) -> Any:
    """States and slow points on the top-3 principal components of the pooled states (paper Fig. 5).

    PCA of the pooled states (:func:`pca_basis`), on 3-D axes. Trajectories are grey lines; slow points are
    coloured by log10 speed over ``speed_range`` (dark = slow) with one marker per class (:data:`KIND_MARKERS`:
    fixed point o, ghost X, slow point ^).

    Parameters
    ----------
    states : array_like, shape ``(..., T, N)``
        Each leading index one trajectory.
    slow_points : SlowPoints, optional
        From :func:`ghostfast.analysis.find_slow_points`.
    ax : matplotlib 3-D Axes, optional
    speed_range : tuple of float
        Colour range of log10 speed (paper Fig. 5: -6 to 0).
    colorbar : bool
        False leaves the colour bar to the caller (e.g. one shared bar per row: the colour limits are
        ``speed_range`` and the colormap ``cmap`` for every panel).
    cmap : str
        Colormap of the speeds.
    legend : bool
        Draw the legend of the slow-point classes.

    Returns
    -------
    mpl_toolkits.mplot3d.axes3d.Axes3D
        One line per trajectory, one PathCollection per class present.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ax = plot_pca_3d(rng.normal(size=(2, 10, 5)))
    >>> len(ax.lines)
    2
    """
    X = as_float_array(states, "states")
    if X.ndim < 2 or X.shape[-1] < 1 or X.size == 0:
        raise ValueError(f"states must be a non-empty array [..., T, N], got shape {X.shape}")
    slow_points = _slow_points_arg(slow_points)
    if slow_points is not None and len(slow_points) and slow_points.x.shape[1] != X.shape[-1]:
        raise ValueError(f"slow_points live in {slow_points.x.shape[1]} dimensions, states in {X.shape[-1]}")
    speed_range = _pair(speed_range, "speed_range")
    trajs = X.reshape(-1, X.shape[-2], X.shape[-1])
    mean, basis = pca_basis(trajs)
    ax = _axes(ax, projection="3d")
    for tr in trajs:
        p = (tr - mean) @ basis.T
        ax.plot(p[:, 0], p[:, 1], p[:, 2], color="grey", lw=0.8)
    if slow_points is not None and len(slow_points):
        p = (slow_points.x - mean) @ basis.T
        with np.errstate(divide="ignore"):
            c = np.log10(np.maximum(slow_points.speed, 1e-300))
        sc = None
        for kind, marker in KIND_MARKERS.items():
            idx = slow_points.select(kind)
            if idx.size:
                sc = ax.scatter(
                    p[idx, 0],
                    p[idx, 1],
                    p[idx, 2],
                    c=c[idx],
                    vmin=speed_range[0],
                    vmax=speed_range[1],
                    cmap=cmap,
                    marker=marker,
                    s=55,
                    edgecolors="black",
                    linewidths=0.6,
                    depthshade=False,
                    label=kind,
                )
        if colorbar and sc is not None:
            ax.figure.colorbar(sc, ax=ax, label="log10 speed |F|", shrink=0.7)
        if legend:
            ax.legend(fontsize=6, loc="upper left", handletextpad=0.2, borderpad=0.3)
    ax.set_xlabel("PC 1", labelpad=-2, fontsize=8)
    ax.set_ylabel("PC 2", labelpad=-2, fontsize=8)
    ax.set_zlabel("PC 3", labelpad=0, fontsize=8)
    ax.tick_params(labelsize=6, pad=0)
    from matplotlib.ticker import MaxNLocator

    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        axis.set_major_locator(MaxNLocator(4))
    ax.set_box_aspect(None, zoom=0.85)  # room for the axis labels inside the panel
    return ax


def plot_history(
    loss: Any,
    grad_norm: Any = None,
    *,
    ax: Any = None,
    epochs: Any = None,
    ylim: tuple[float, float] | None = (1e-6, 5.0),
) -> Any:
    """Loss (and gradient norm) histories normalised by their maxima on a log-y axis (paper Figs. 3, 4).

    The abrupt-learning signature is a plateau with tiny gradient, a gradient spike and a loss drop.

    Parameters
    ----------
    loss : array_like
        Loss history.
    grad_norm : array_like, optional
        Gradient-norm history (same length).
    ax : matplotlib Axes, optional
    epochs : array_like, optional
        x values (default: 0, 1, ...).
    ylim : tuple of float or None
        y limits (the paper's 1e-6 to 5).

    Returns
    -------
    matplotlib.axes.Axes
        One line per history.

    Examples
    --------
    >>> ax = plot_history(np.r_[np.ones(50), np.full(50, 1e-3)], np.r_[np.full(49, 1e-4), 1.0, np.full(50, 1e-5)])
    >>> len(ax.lines)
    2
    """
    L = as_float_array(loss, "loss", ndim=1, finite=False)
    if L.size == 0:
        raise ValueError("loss must not be empty")
    x = np.arange(L.shape[-1]) if epochs is None else as_float_array(epochs, "epochs", shape=(L.size,))
    G = None if grad_norm is None else as_float_array(grad_norm, "grad_norm", shape=(L.size,), finite=False)
    if ylim is not None:
        ylim = _pair(ylim, "ylim")
    ax = _axes(ax)
    # the loss on top: a noisy gradient norm (Adam with noise after the drop) would otherwise hide it
    ax.plot(x, L / np.max(L), color="black", label="loss / max", zorder=3)
    if G is not None:
        ax.plot(x, G / np.max(G), color="tab:red", label="grad norm / max", lw=0.8, zorder=2)
    ax.set_yscale("log")
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel("epoch")
    ax.legend(loc="best")
    return ax


def _lr_sweep_arrays(result: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(lrs (n,), record epochs (R,), loss (n, seeds, R), trapped fraction (n,)) of a canonical
    ``LRSweepResult`` or a ``sweep.SweepResult`` with axes (lr, seed) (more axes are pooled with the seeds)."""
    if hasattr(result, "coords"):  # sweep.SweepResult
        lrs = np.asarray(result.coords["lr"], float)
        L = np.asarray(result.loss, float).reshape(lrs.size, -1, result.loss.shape[-1])
        trapped = np.asarray(result.trapped).reshape(lrs.size, -1)
        keep = np.asarray(result.done).reshape(lrs.size, -1)
        frac = np.array([t[k].mean() if k.any() else np.nan for t, k in zip(trapped, keep)])
        return lrs, np.asarray(result.record_epochs), L, frac
    return (
        np.asarray(result.lrs, float),
        np.asarray(result.record_epochs),
        np.asarray(result.loss, float),
        np.asarray(result.trapped_fraction, float),
    )


def plot_lr_sweep(
    result: Any,
    epochs: Sequence[int] | None = None,
    *,
    ax: Any = None,
    ax_trapped: Any = None,
    cmap: str = "viridis",
    critical_lr: float | None = None,
    label: str | None = None,
    ylim: tuple[float, float] | None = None,
) -> tuple[Any, Any]:
    """Loss vs learning rate, mean +- SEM over seeds (log-log), one curve per epoch, and the fraction of runs
    trapped in the no-learning zone at the end (paper Figs 2D and 6A).

    Parameters
    ----------
    result : canonical.LRSweepResult or sweep.SweepResult
        A sweep over (lr, seed) (a SweepResult's further axes are pooled with the seeds).
    epochs : recorded epochs to draw (default: every recorded epoch); each is matched to the nearest record.
    ax, ax_trapped : Axes for the loss and the trapped fraction (None: a new figure with both; pass
        ``ax_trapped=False`` to omit the lower panel).
    critical_lr : a vertical dashed line (e.g. the analytic critical rate).
    label : text prepended to each curve's legend entry.
    ylim : (lo, hi); default: fitted to the data (from a third of the smallest positive mean - SEM, but no
        lower than 1e-7 below the smallest mean, to 3).

    Returns
    -------
    (ax, ax_trapped)

    Examples
    --------
    >>> from ghostfast import canonical
    >>> sw = canonical.lr_sweep(100, np.geomspace(1e-7, 2e-6, 8), n_seeds=3, epochs=1000, seed=0,
    ...                         record_epochs=[100, 1000], progress=False)
    >>> ax, ax_trapped = plot_lr_sweep(sw)
    >>> ax.get_xscale(), ax.get_yscale()
    ('log', 'log')
    """
    lrs, rec, L, frac = _lr_sweep_arrays(result)
    if ax is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(6.4, 6.4))
        gs = fig.add_gridspec(2, 1, height_ratios=(3, 1))
        ax = fig.add_subplot(gs[0])
        if ax_trapped is None:
            ax_trapped = fig.add_subplot(gs[1], sharex=ax)
    if epochs is None:
        idx = np.arange(rec.size)
    else:
        idx = np.array([int(np.argmin(np.abs(rec - int(e)))) for e in epochs])
    import matplotlib

    colors = matplotlib.colormaps[cmap](np.linspace(0.1, 0.9, idx.size))
    lows, mins = [], []
    n = L.shape[1]
    for k, color in zip(idx, colors):
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(L[..., k], axis=1)
            sem = np.nanstd(L[..., k], axis=1, ddof=1) / np.sqrt(n) if n > 1 else np.zeros_like(mean)
        sem = np.nan_to_num(sem)
        lo = mean - sem
        pos = mean[mean > 0]
        if pos.size:
            mins.append(pos.min())
            lows.append(lo[lo > 0].min() if (lo > 0).any() else pos.min())
        (line,) = ax.plot(
            lrs, mean, color=color, marker=".", ms=3, label=(f"{label}, " if label else "") + f"epoch {rec[k]}"
        )
        ax.fill_between(lrs, np.maximum(lo, 1e-300), mean + sem, color=line.get_color(), alpha=0.25, lw=0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    if ylim is None and mins:
        ylim = (max(min(lows) / 3.0, min(mins) * 1e-7), 3.0)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_ylabel(f"loss (mean ± SEM over {n} runs)")
    if critical_lr is not None:
        ax.axvline(float(critical_lr), color="black", ls="--", lw=1, label="analytic critical lr")
    if ax_trapped is not None and ax_trapped is not False:
        ax_trapped.plot(lrs, frac, color="black", marker=".", ms=3)
        ax_trapped.set_xscale("log")
        ax_trapped.set_ylim(-0.05, 1.05)
        ax_trapped.set_ylabel("trapped fraction")
        ax_trapped.set_xlabel("learning rate")
        if critical_lr is not None:
            ax_trapped.axvline(float(critical_lr), color="black", ls="--", lw=1)
    else:
        ax.set_xlabel("learning rate")
    return ax, (ax_trapped if ax_trapped is not False else None)
