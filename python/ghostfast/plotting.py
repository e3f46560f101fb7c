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
    """The rank-one latent flow f(kappa) (spec 5.1, Fig 3): the curve, the zero line, the readout
    threshold (vertical orange line at ``threshold``, None to omit), the initial latent ``kappa0`` (red
    dot on f = 0), fixed points (filled black: stable, open: unstable) and ghosts (red crosses).

    Default grid: ``linspace(-15, 15, 1000)[200:800]`` (kappa ~ [-9, 9]) as in the paper's plots.
    Returns the Axes.
    """
    grid = np.linspace(-15.0, 15.0, 1000)[200:800] if kappa_grid is None else as_float_array(
        kappa_grid, "kappa_grid", ndim=1)
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
    """Speed map of a 2-D latent flow (spec 5.2): log10 |F| as a colour mesh (vmin -1, vmax 1), an
    ``arrows`` x ``arrows`` field of unit-normalised F, slow points coloured by class (:data:`KIND_COLORS`),
    each ghost's slow eigen-direction as a red segment, and optional latent trajectories (each (T, 2)).
    Returns the Axes (one QuadMesh, one Quiver, one PathCollection per slow-point class, one line per
    trajectory and per ghost)."""
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
        trajectories = [as_float_array(t, f"trajectories[{i}]", ndim=2, shape=(None, 2))
                        for i, t in enumerate(trajectories)]
    speed = _an.speed_field_2d(reduction, gx, gy, n_threads=n_threads)
    ax = _axes(ax)
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
        # the slow eigen-direction of each ghost, as a red segment (spec 5.2)
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
    """States [..., T, N] (each leading index one trajectory) and slow points on the top-3 principal
    components of the pooled states (numpy SVD of the centred states), on 3-D axes. Trajectories are grey
    lines; slow points are coloured by log10 speed over ``speed_range`` (spec Fig 5: -6 to 0). Returns the
    Axes (one line per trajectory, one PathCollection for the slow points)."""
    X = as_float_array(states, "states")
    if X.ndim < 2 or X.shape[-1] < 1 or X.size == 0:
        raise ValueError(f"states must be a non-empty array [..., T, N], got shape {X.shape}")
    slow_points = _slow_points_arg(slow_points)
    if slow_points is not None and len(slow_points) and slow_points.x.shape[1] != X.shape[-1]:
        raise ValueError(f"slow_points live in {slow_points.x.shape[1]} dimensions, states in {X.shape[-1]}")
    speed_range = _pair(speed_range, "speed_range")
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
    """Loss (and gradient norm) histories normalised by their maxima on a log-y axis (spec Figs 3, 4):
    the abrupt-learning signature is a plateau with tiny gradient, a gradient spike and a loss drop.
    Returns the Axes (one line per history)."""
    L = as_float_array(loss, "loss", ndim=1, finite=False)
    if L.size == 0:
        raise ValueError("loss must not be empty")
    x = np.arange(L.shape[-1]) if epochs is None else as_float_array(epochs, "epochs", shape=(L.size,))
    G = None if grad_norm is None else as_float_array(grad_norm, "grad_norm", shape=(L.size,), finite=False)
    if ylim is not None:
        ylim = _pair(ylim, "ylim")
    ax = _axes(ax)
    ax.plot(x, L / np.max(L), color="black", label="loss / max")
    if G is not None:
        ax.plot(x, G / np.max(G), color="tab:red", label="grad norm / max")
    ax.set_yscale("log")
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel("epoch")
    ax.legend(loc="best")
    return ax
