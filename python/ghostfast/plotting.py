"""Plot helpers (matplotlib): one function per panel type. Each takes ``ax=None`` (a new figure and Axes
are created), returns the Axes and never calls ``plt.show()``.

Analysis panels: :func:`plot_flow_1d` (rank-one latent flow with fixed points and ghosts),
:func:`plot_speed_2d` (2-D latent speed map with unit arrows and slow points), :func:`plot_pca_3d`
(N-D states and slow points on the top principal components), :func:`plot_history` (loss and
gradient-norm histories normalised by their maxima, log-y).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from . import analysis as _an

__all__ = ["plot_flow_1d", "plot_speed_2d", "plot_pca_3d", "plot_history", "KIND_COLORS"]

#: Colours of slow-point classes in every plot.
KIND_COLORS = {"fixed point": "black", "ghost": "red", "slow point": "tab:orange"}


def _axes(ax: Any, projection: str | None = None) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    fig = plt.figure()
    return fig.add_subplot(111, projection=projection) if projection else fig.add_subplot(111)


def plot_flow_1d(params: Any, kappa_grid: Any = None, *, ax: Any = None, kappa0: float | None = None,
                 threshold: float | None = 1.0, fixed_points: bool = True, ghosts: bool = True,
                 max_ghost_speed: float = np.inf, **line_kw: Any) -> Any:
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
    ax = _axes(ax)
    grid = np.linspace(-15.0, 15.0, 1000)[200:800] if kappa_grid is None else np.asarray(kappa_grid, float)
    f = _an.flow_map_1d(params, grid)
    ax.plot(grid, f, color=line_kw.pop("color", "tab:blue"), label=line_kw.pop("label", "f(kappa)"), **line_kw)
    ax.axhline(0.0, color="grey", lw=0.8)
    if threshold is not None:
        ax.axvline(float(threshold), color="orange", lw=1.2, label="threshold")
    if kappa0 is not None:
        ax.scatter([float(kappa0)], [0.0], color="red", zorder=5, label="kappa0")
    if fixed_points:
        fp = _an.fixed_points_1d(params, grid)
        if len(fp):
            ax.scatter(fp.kappa, np.zeros(len(fp)), s=40, zorder=6, facecolors=np.where(fp.stable, "black", "none"),
                       edgecolors="black", label="fixed points")
    if ghosts:
        gh = _an.ghosts_1d(params, grid, max_speed=max_ghost_speed)
        if len(gh):
            ax.scatter(gh.kappa, gh.speed, marker="x", color="red", zorder=6, label="ghosts")
    ax.set_xlabel("kappa")
    ax.set_ylabel("f(kappa)")
    return ax


def plot_speed_2d(reduction: _an.LatentReduction, grid_x: Any, grid_y: Any, *, ax: Any = None,
                  slow_points: _an.SlowPoints | None = None, trajectories: Sequence[Any] | None = None,
                  arrows: int = 20, vmin: float = -1.0, vmax: float = 1.0, n_threads: int | None = None) -> Any:
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
    ax = _axes(ax)
    gx = np.asarray(grid_x, float)
    gy = np.asarray(grid_y, float)
    speed = _an.speed_field_2d(reduction, gx, gy, n_threads=n_threads)
    with np.errstate(divide="ignore"):
        mesh = ax.pcolormesh(gx, gy, np.log10(speed), vmin=vmin, vmax=vmax, cmap="viridis", shading="auto")
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
                ax.scatter(slow_points.x[idx, 0], slow_points.x[idx, 1], color=color, edgecolors="white", s=40,
                           zorder=5, label=kind)
    ax.set_xlim(gx[0], gx[-1])
    ax.set_ylim(gy[0], gy[-1])
    ax.set_xlabel("kappa 1")
    ax.set_ylabel("kappa 2")
    return ax


def plot_pca_3d(states: Any, slow_points: _an.SlowPoints | None = None, *, ax: Any = None,
                speed_range: tuple[float, float] = (-6.0, 0.0)) -> Any:
    """States and slow points on the top-3 principal components of the pooled states (paper Fig. 5).

    PCA by numpy SVD of the centred states, on 3-D axes. Trajectories are grey lines; slow points are coloured
    by log10 speed over ``speed_range``.

    Parameters
    ----------
    states : array_like, shape ``(..., T, N)``
        Each leading index one trajectory.
    slow_points : SlowPoints, optional
        From :func:`ghostfast.analysis.find_slow_points`.
    ax : matplotlib 3-D Axes, optional
    speed_range : tuple of float
        Colour range of log10 speed (paper Fig. 5: -6 to 0).

    Returns
    -------
    mpl_toolkits.mplot3d.axes3d.Axes3D
        One line per trajectory, one PathCollection for the slow points.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ax = plot_pca_3d(rng.normal(size=(2, 10, 5)))
    >>> len(ax.lines)
    2
    """
    X = np.asarray(states, float)
    if X.ndim < 2:
        raise ValueError(f"states must be [..., T, N], got shape {X.shape}")
    trajs = X.reshape(-1, X.shape[-2], X.shape[-1])
    pooled = trajs.reshape(-1, X.shape[-1])
    mean = pooled.mean(axis=0)
    _, _, Vt = np.linalg.svd(pooled - mean, full_matrices=False)
    k = min(3, Vt.shape[0])
    basis = np.zeros((3, X.shape[-1]))
    basis[:k] = Vt[:k]
    ax = _axes(ax, projection="3d")
    for tr in trajs:
        p = (tr - mean) @ basis.T
        ax.plot(p[:, 0], p[:, 1], p[:, 2], color="grey", lw=0.8)
    if slow_points is not None and len(slow_points):
        p = (slow_points.x - mean) @ basis.T
        with np.errstate(divide="ignore"):
            c = np.log10(np.maximum(slow_points.speed, 1e-300))
        sc = ax.scatter(p[:, 0], p[:, 1], p[:, 2], c=c, vmin=speed_range[0], vmax=speed_range[1], cmap="viridis_r",
                        s=40, depthshade=False)
        ax.figure.colorbar(sc, ax=ax, label="log10 speed")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.set_zlabel("PC 3")
    return ax


def plot_history(loss: Any, grad_norm: Any = None, *, ax: Any = None, epochs: Any = None,
                 ylim: tuple[float, float] | None = (1e-6, 5.0)) -> Any:
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
    ax = _axes(ax)
    L = np.asarray(loss, float)
    x = np.arange(L.shape[-1]) if epochs is None else np.asarray(epochs)
    ax.plot(x, L / np.max(L), color="black", label="loss / max")
    if grad_norm is not None:
        G = np.asarray(grad_norm, float)
        ax.plot(x, G / np.max(G), color="tab:red", label="grad norm / max")
    ax.set_yscale("log")
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel("epoch")
    ax.legend(loc="best")
    return ax
