"""Phase-space analysis of leaky-tanh networks: flow maps, fixed points, ghosts and slow points, and
abrupt-learning metrics of loss histories (the analyses of the paper's Figs. 3, 4 and 5).

Conventions (column vectors): the network ``x_{t+1} = (1 - alpha) x_t + alpha tanh(W x_t + b)`` with
``W = m @ n`` (rank K: ``m`` (N, K), ``n`` (K, N)) or a full ``W`` (N, N). Its zero-input flow is
``F(x) = -x + tanh(W x + b)``; the map is the Euler step ``x + alpha F(x)``.

* 1-D (rank one): the latent ``kappa = n . x`` obeys exactly ``kappa_{t+1} = kappa_t + alpha f(kappa_t)``
  with ``f(kappa) = -kappa + n . tanh(m kappa + b)``: :func:`flow_map_1d`, :func:`flow_maps_1d`,
  :func:`fixed_points_1d`, :func:`ghosts_1d`, :func:`count_fixed_points_1d`.
* 2-D latent (rank two): :func:`latent_reduction` (SVD of W), :func:`speed_field_2d`,
  :func:`slow_points_2d`.
* N-D (full rank): :func:`find_slow_points` (exact-Hessian Levenberg-Marquardt in C++, many starts in
  parallel), :func:`adam_slow_points` (the paper's solver, for comparison).
* :func:`learning_metrics`: plateau length, drop epoch and sharpness, trapped, learned and oscillation flags
  (drop epoch, trapped and learned are :mod:`ghostfast.metrics`' single definitions).

Jacobian eigenvalues of slow points are computed in numpy (``numpy.linalg.eigvals`` on the Jacobians of
the de-duplicated points), which is cheap next to the minimisation.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from . import _core
from . import metrics as _metrics
from ._validation import INT64_MAX, as_float_array, check_bool, check_int, check_real, check_threads

__all__ = [
    "FixedPoints1D",
    "Ghosts1D",
    "LatentReduction",
    "SlowPoints",
    "LearningMetrics",
    "rank_one_vectors",
    "stack_rank_one",
    "flow_map_1d",
    "flow_maps_1d",
    "count_fixed_points_1d",
    "fixed_points_1d",
    "ghosts_1d",
    "default_kappa_grid",
    "latent_reduction",
    "latent_flow",
    "latent_jacobian",
    "speed_field_2d",
    "slow_point_candidates_2d",
    "slow_points_2d",
    "full_flow",
    "full_jacobian",
    "find_slow_points",
    "adam_slow_points",
    "learning_metrics",
]

#: Classes of slow points (see :func:`find_slow_points`).
KINDS = ("fixed point", "ghost", "slow point")
#: Stability of true fixed points ("" for non-fixed points).
STABILITIES = ("stable", "saddle", "unstable", "")

_STATUS_NAMES = {0: "fixed", 1: "stationary", 2: "stalled", 3: "max_iter", 4: "non-finite"}


# ---------------------------------------------------------------------------------------------------
# parameter handling
# ---------------------------------------------------------------------------------------------------
def _get(params: Any, key: str) -> Any:
    if isinstance(params, Mapping):
        return params.get(key)
    return getattr(params, key, None)


def rank_one_vectors(
    params: Any = None, *, m: Any = None, n: Any = None, b: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(m, n, b)`` as three float64 vectors of length N from a rank-one parameter set.

    Parameters
    ----------
    params : dict, object or tuple, optional
        A dict (keys ``m``, ``n``, ``b``), an object with those attributes, or a tuple ``(m, n, b)``.
    m, n, b : array_like, optional
        Override the entries of ``params``. ``m`` may be (N,) or (N, 1), ``n`` (N,) or (1, N); ``b``
        defaults to zeros.

    Returns
    -------
    m, n, b : ndarray, shape ``(N,)``

    Examples
    --------
    >>> m, n, b = rank_one_vectors({"m": [[1.0], [2.0]], "n": [[0.5, 0.5]]})
    >>> m.tolist(), n.tolist(), b.tolist()
    ([1.0, 2.0], [0.5, 0.5], [0.0, 0.0])
    """
    if isinstance(params, (tuple, list)):
        if len(params) != 3:
            raise ValueError(f"params as a sequence must be (m, n, b), got {len(params)} items")
        pm, pn, pb = params
    elif params is None:
        pm = pn = pb = None
    else:
        pm, pn, pb = _get(params, "m"), _get(params, "n"), _get(params, "b")
    names = {k: ("params[%r]" % k if given is None else k) for k, given in (("m", m), ("n", n), ("b", b))}
    m = pm if m is None else m
    n = pn if n is None else n
    b = pb if b is None else b
    if m is None or n is None:
        if params is not None and not isinstance(params, (Mapping, tuple, list)) and not hasattr(params, "m"):
            raise TypeError(
                f"params must be a dict with keys 'm', 'n' (and 'b'), an object with those attributes "
                f"or a tuple (m, n, b), got {type(params).__name__}"
            )
        raise ValueError("params: rank-one analysis needs m and n (a dict with keys 'm', 'n', 'b')")
    nm, nn, nb = names["m"], names["n"], names["b"]
    m = as_float_array(m, nm)
    n = as_float_array(n, nn)
    if m.ndim == 2 and m.shape[1] == 1:
        m = m[:, 0]
    if n.ndim == 2 and n.shape[0] == 1:
        n = n[0]
    if m.ndim != 1:
        raise ValueError(f"{nm} must have shape (N,) or (N, 1) for rank-one analysis, got {m.shape}")
    if n.ndim != 1 or n.shape != m.shape:
        raise ValueError(f"{nn} must have shape (N,) or (1, N) with N = {m.shape[0]} (from {nm}), got {n.shape}")
    if m.shape[0] < 1:
        raise ValueError(f"{nm} and {nn} must be non-empty")
    b = np.zeros_like(m) if b is None else as_float_array(b, nb)
    if b.shape != m.shape:
        raise ValueError(f"{nb} must have shape ({m.shape[0]},) (N from {nm}), got {b.shape}")
    return np.ascontiguousarray(m), np.ascontiguousarray(n), np.ascontiguousarray(b)


def _weights_and_bias(params: Any, b: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Full W (N, N) and b (N,) from a dict with ``W`` or ``m``/``n`` (any rank), or a matrix."""
    is_matrix = isinstance(params, (np.ndarray, list, tuple))
    if not is_matrix and not isinstance(params, Mapping) and not (hasattr(params, "W") or hasattr(params, "m")):
        raise TypeError(f"params must be a dict with 'W' or 'm' and 'n', or the matrix W, got {type(params).__name__}")
    if not is_matrix:  # a dict (or an object with attributes) holding W, or m and n, and maybe b
        W = _get(params, "W")
        if W is None:
            m, n = _get(params, "m"), _get(params, "n")
            if m is None or n is None:
                raise ValueError(
                    f"params must contain 'W' or both 'm' and 'n', got keys "
                    f"{sorted(map(str, params)) if isinstance(params, Mapping) else '(none)'}"
                )
            m = as_float_array(m, "params['m']")
            n = as_float_array(n, "params['n']")
            if m.ndim == 1:
                m = m[:, None]
            if n.ndim == 1:
                n = n[None, :]
            if m.ndim != 2 or n.ndim != 2 or m.shape[1] != n.shape[0] or m.shape[0] != n.shape[1]:
                raise ValueError(f"params: m (N, K) and n (K, N) do not match: m {m.shape}, n {n.shape}")
            W = m @ n
        wname = "params['W']"
        bname = "b" if b is not None else "params['b']"
        if b is None:
            b = _get(params, "b")
    else:
        W = params
        wname, bname = "params (the matrix W)", "b"
    W = as_float_array(W, wname, ndim=2)
    if W.shape[0] != W.shape[1] or W.shape[0] < 1:
        raise ValueError(f"{wname} must be a non-empty square (N, N) matrix, got {W.shape}")
    N = W.shape[0]
    b = np.zeros(N) if b is None else as_float_array(b, bname)
    if b.shape != (N,):
        raise ValueError(f"{bname} must have shape ({N},) to match W {W.shape}, got {b.shape}")
    return W, b


def default_kappa_grid(n: np.ndarray, points: int = 4001) -> np.ndarray:
    """A grid that contains every fixed point of the rank-one flow.

    |kappa*| = |n . tanh(.)| <= sum |n_i|, so ``linspace(-R, R, points)`` with ``R = sum |n_i| + 1``.

    Parameters
    ----------
    n : array_like
        The readout vector n of the network.
    points : int
        Grid size.

    Returns
    -------
    ndarray, shape ``(points,)``

    Examples
    --------
    >>> g = default_kappa_grid([0.5, -1.5], points=5)
    >>> g.tolist()
    [-3.0, -1.5, 0.0, 1.5, 3.0]
    """
    n = as_float_array(n, "n")
    points = check_int(points, "points", minimum=2, maximum=10**8)
    R = float(np.sum(np.abs(n))) + 1.0
    if not np.isfinite(R):
        raise ValueError("n: sum |n_i| overflows float64")
    return np.linspace(-R, R, points)


def _grid(kappa_grid: Any, n: np.ndarray, name: str = "kappa_grid", min_points: int = 1) -> np.ndarray:
    if kappa_grid is None:
        return default_kappa_grid(n)
    g = as_float_array(kappa_grid, name, ndim=1)
    if g.size < min_points:
        raise ValueError(f"{name} must have at least {min_points} points, got {g.size}")
    if g.size > 1 and not np.all(np.diff(g) > 0):
        raise ValueError(f"{name} must be strictly increasing")
    return g


# ---------------------------------------------------------------------------------------------------
# 1-D: rank-one latent flow
# ---------------------------------------------------------------------------------------------------
def flow_map_1d(params: Any, kappa_grid: Any, *, n_threads: int | None = None) -> np.ndarray:
    """The exact latent flow ``f(kappa) = -kappa + n . tanh(m kappa + b)`` of a rank-one network.

    Parameters
    ----------
    params : dict with ``m`` (N,) or (N, 1), ``n`` (N,) or (1, N), ``b`` (N,); or a tuple ``(m, n, b)``.
    kappa_grid : (G,) strictly increasing latent values.
    n_threads : OpenMP threads (None: default).

    Returns
    -------
    (G,) float64: f on the grid. The map is ``kappa_{t+1} = kappa_t + alpha f(kappa_t)``.

    Examples
    --------
    >>> f = flow_map_1d({"m": [1.0], "n": [0.5], "b": [0.0]}, [0.0, 1.0])
    >>> bool(f[0] == 0.0)
    True
    """
    m, n, b = rank_one_vectors(params)
    grid = _grid(kappa_grid, n)
    return _core.flow_map_1d_batch(m[None], n[None], b[None], grid, check_threads(n_threads))[0]


def _stack(m: Any, n: Any, b: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m = as_float_array(m, "m")
    n = as_float_array(n, "n")
    if m.ndim == 3 and m.shape[2] == 1:
        m = m[:, :, 0]
    if n.ndim == 3 and n.shape[1] == 1:
        n = n[:, 0, :]
    if m.ndim != 2:
        raise ValueError(f"m must be a stack of shape (E, N) or (E, N, 1), got {m.shape}")
    if n.shape != m.shape:
        raise ValueError(f"n must have shape {m.shape} (or (E, 1, N)) to match m, got {n.shape}")
    b = np.zeros_like(m) if b is None else as_float_array(b, "b")
    if b.ndim == 1 and b.shape[0] == m.shape[1]:
        b = np.broadcast_to(b, m.shape)
    if b.shape != m.shape:
        raise ValueError(f"b must have shape {m.shape} to match m, got {b.shape}")
    if m.shape[0] < 1 or m.shape[1] < 1:
        raise ValueError(f"the stack must be non-empty, got m {m.shape}")
    return np.ascontiguousarray(m), np.ascontiguousarray(n), np.ascontiguousarray(b)


def flow_maps_1d(m: Any, n: Any, b: Any, kappa_grid: Any, *, n_threads: int | None = None) -> np.ndarray:
    """Flow maps of E rank-one snapshots (e.g. a training history): ``out[e, g] = f_e(kappa_grid[g])``.

    OpenMP over (snapshot, grid block); bit-identical for any ``n_threads``.

    Parameters
    ----------
    m, n : array_like, shape ``(E, N)``
        Stacks of the snapshots' vectors (``m`` may be (E, N, 1), ``n`` (E, 1, N)); see :func:`stack_rank_one`.
    b : array_like or None
        (E, N), one (N,) vector for all snapshots, or None (zeros).
    kappa_grid : array_like, shape ``(G,)``
        Latent values at which f is evaluated.
    n_threads : int or None
        OpenMP threads (None: default).

    Returns
    -------
    ndarray, shape ``(E, G)``
        f(kappa) = -kappa + n . tanh(m kappa + b) of each snapshot on the grid.

    Examples
    --------
    >>> flow_maps_1d([[1.0], [2.0]], [[1.0], [1.0]], None, [0.0, 1.0]).round(4).tolist()
    [[0.0, -0.2384], [0.0, -0.036]]
    """
    m, n, b = _stack(m, n, b)
    grid = _grid(kappa_grid, n[0])
    return _core.flow_map_1d_batch(m, n, b, grid, check_threads(n_threads))


def stack_rank_one(snapshots: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(m, n, b) stacks (E, N) from a sequence of rank-one parameter dicts, or a dict {epoch: params}.

    For :func:`flow_maps_1d` and :func:`count_fixed_points_1d`; a dict (e.g. ``TrainResult.snapshots``) is
    taken in increasing epoch order.

    Parameters
    ----------
    snapshots : sequence of dict or dict
        Rank-one parameter sets, or ``{epoch: params}``.

    Returns
    -------
    m, n, b : ndarray, shape ``(E, N)``

    Examples
    --------
    >>> m, n, b = stack_rank_one({10: {"m": [1.0, 0.0], "n": [1.0, 1.0], "b": [0.0, 0.0]},
    ...                           0: {"m": [2.0, 0.0], "n": [1.0, 1.0], "b": [0.0, 0.0]}})
    >>> m[:, 0].tolist()                               # epoch 0 first
    [2.0, 1.0]
    """
    if isinstance(snapshots, Mapping):
        if not all(isinstance(k, numbers.Real) and not isinstance(k, bool) for k in snapshots):
            raise TypeError("snapshots as a dict must map epochs (numbers) to parameter dicts")
        items = [snapshots[k] for k in sorted(snapshots)]
    elif isinstance(snapshots, (list, tuple)):
        items = list(snapshots)
    else:
        raise TypeError(
            f"snapshots must be a dict {{epoch: params}} or a list of parameter dicts, got {type(snapshots).__name__}"
        )
    if not items:
        raise ValueError("snapshots must contain at least one parameter set")
    vecs = []
    for i, p in enumerate(items):
        try:
            vecs.append(rank_one_vectors(p))
        except (TypeError, ValueError) as err:
            raise type(err)(f"snapshots[{i}]: {err}") from None
    N = vecs[0][0].shape[0]
    if any(v[0].shape[0] != N for v in vecs):
        raise ValueError("all snapshots must have the same N")
    return tuple(np.stack([v[i] for v in vecs]) for i in range(3))  # type: ignore[return-value]


def count_fixed_points_1d(
    m: Any, n: Any, b: Any, kappa_grid: Any = None, *, n_threads: int | None = None
) -> np.ndarray:
    """Number of fixed points of each of E rank-one snapshots on a grid (the paper's Fig. 3 "fixed point test").

    Counts strict sign changes of f between grid neighbours plus exact zeros at grid points (a tangency
    between grid points is invisible, as in the paper's test). The flow maps are not stored.

    Parameters
    ----------
    m, n : array_like, shape ``(E, N)``
        Stacks of the snapshots' vectors (see :func:`flow_maps_1d`).
    b : array_like or None
        (E, N), one (N,) vector, or None (zeros).
    kappa_grid : array_like, optional
        Default ``linspace(-15, 15, 1000)``, as in the paper.
    n_threads : int or None
        OpenMP threads (None: default).

    Returns
    -------
    ndarray of int64, shape ``(E,)``

    Examples
    --------
    >>> count_fixed_points_1d([[0.1], [2.0]], [[0.1], [1.0]], None).tolist()   # one, then a pitchfork's three
    [1, 3]
    """
    m, n, b = _stack(m, n, b)
    grid = np.linspace(-15.0, 15.0, 1000) if kappa_grid is None else _grid(kappa_grid, n[0], min_points=2)
    return _core.count_fixed_points_1d_batch(m, n, b, grid, check_threads(n_threads))


@dataclass(frozen=True)
class FixedPoints1D:
    """Fixed points of the 1-D latent flow: location, slope f'(kappa*), stability (f' < 0) and |f| left."""

    kappa: np.ndarray
    slope: np.ndarray
    stable: np.ndarray
    residual: np.ndarray

    def __len__(self) -> int:
        return int(self.kappa.size)


def fixed_points_1d(params: Any, kappa_grid: Any = None, *, tol: float = 1e-12) -> FixedPoints1D:
    """Fixed points of ``f(kappa) = -kappa + n . tanh(m kappa + b)``.

    Sign changes of f between grid neighbours (and exact zeros at grid points) are refined by bisection
    and Newton's method to ``|d kappa| <= tol``. ``stable`` is the continuous-time criterion
    ``f'(kappa*) < 0``; the map kappa + alpha f(kappa) is stable iff ``-2 < alpha f'(kappa*) < 0``, so the
    two differ only when ``alpha * slope <= -2`` (check ``slope`` for large alpha). Two fixed points closer
    than the grid spacing (a near-tangency) can be missed: pass a finer grid there.

    Parameters
    ----------
    params : dict, object or tuple
        A rank-one parameter set (see :func:`rank_one_vectors`).
    kappa_grid : array_like, optional
        Default: :func:`default_kappa_grid`, which covers every fixed point.
    tol : float
        Refinement tolerance in kappa.

    Returns
    -------
    FixedPoints1D
        ``kappa``, ``slope`` f'(kappa*), ``stable`` and ``residual`` of each fixed point, in increasing kappa.

    Examples
    --------
    >>> fp = fixed_points_1d({"m": [2.0], "n": [1.0], "b": [0.0]})
    >>> len(fp), int(fp.stable.sum())
    (3, 2)
    """
    m, n, b = rank_one_vectors(params)
    grid = _grid(kappa_grid, n, min_points=2)
    tol = check_real(tol, "tol", positive=True)
    kappa, slope, residual = _core.fixed_points_1d(m, n, b, grid, tol)
    return FixedPoints1D(kappa=kappa, slope=slope, stable=slope < 0, residual=residual)


@dataclass(frozen=True)
class Ghosts1D:
    """Ghosts of the 1-D latent flow and their normal form ``dx/dt = r + x^2``.

    ``kappa``: location kappa_g (an extremum of f, f'(kappa_g) = 0); ``speed``: eps = f(kappa_g) (signed:
    > 0 for a minimum of f above zero, the flow moves right through it; < 0 for a maximum below zero, the
    flow moves left); ``curvature``: f''(kappa_g) (> 0 for minima, < 0 for maxima); ``r = eps f''/2`` (> 0
    for both kinds: with x = f''(kappa_g) (kappa - kappa_g) / 2 the local flow is dx/dt = r + x^2);
    ``passage_time``: pi / sqrt(r), the time (in the flow's units) to pass the ghost from far before to
    far after it. ``kind``: "min" or "max".
    """

    kappa: np.ndarray
    speed: np.ndarray
    curvature: np.ndarray
    r: np.ndarray
    passage_time: np.ndarray
    kind: np.ndarray

    def __len__(self) -> int:
        return int(self.kappa.size)

    def passage_steps(self, alpha: float) -> np.ndarray:
        """Predicted number of steps of the map kappa + alpha f(kappa) through each ghost: pi / (alpha sqrt r)
        (asymptotic for small eps: corrections are O(1) steps and relative O(sqrt r))."""
        alpha = check_real(alpha, "alpha", positive=True)
        return self.passage_time / alpha


def ghosts_1d(params: Any, kappa_grid: Any = None, *, max_speed: float = np.inf, tol: float = 1e-12) -> Ghosts1D:
    """Ghosts of the rank-one latent flow: local minima of f with f > 0 and local maxima with f < 0.

    Such an extremum has no zero of f nearby (f keeps its sign across it), so the flow slows down there
    without stopping; the smaller |eps| = |f(kappa_g)|, the longer the passage. Near it
    f = eps + f''/2 (kappa - kappa_g)^2 is the canonical form dx/dt = r + x^2 with r = eps f''/2. Extrema are
    found as sign changes of the exact f' on the grid and refined by Newton's method on f' = 0 with the exact
    f'' (to ``|d kappa| <= tol``). See :class:`Ghosts1D` for the sign conventions.

    Parameters
    ----------
    params : dict, object or tuple
        A rank-one parameter set (see :func:`rank_one_vectors`).
    kappa_grid : array_like, optional
        Default: :func:`default_kappa_grid`.
    max_speed : float
        Keep only ghosts with |eps| <= max_speed.
    tol : float
        Refinement tolerance in kappa.

    Returns
    -------
    Ghosts1D
        ``kappa``, ``speed`` eps, ``curvature`` f'', ``r``, ``passage_time`` and ``kind`` ("min" or "max") of
        each ghost.

    Examples
    --------
    >>> g = ghosts_1d({"m": [2.0], "n": [1.0], "b": [0.6]})
    >>> len(g), str(g.kind[0]), bool(g.speed[0] > 0)
    (1, 'min', True)
    """
    m, n, b = rank_one_vectors(params)
    grid = _grid(kappa_grid, n, min_points=3)
    tol = check_real(tol, "tol", positive=True)
    max_speed = check_real(max_speed, "max_speed", positive=True, finite=False)
    kappa, value, curvature, _slope = _core.extrema_1d(m, n, b, grid, tol)
    is_min = (curvature > 0) & (value > 0)
    is_max = (curvature < 0) & (value < 0)
    keep = (is_min | is_max) & (np.abs(value) <= max_speed)
    r = 0.5 * value[keep] * curvature[keep]
    return Ghosts1D(
        kappa=kappa[keep],
        speed=value[keep],
        curvature=curvature[keep],
        r=r,
        passage_time=np.pi / np.sqrt(r),
        kind=np.where(is_min[keep], "min", "max"),
    )


# ---------------------------------------------------------------------------------------------------
# 2-D latent reduction (rank two)
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LatentReduction:
    """Latent coordinates kappa = P x of a low-rank network: F(kappa) = -kappa + P tanh(M kappa + b).

    ``M`` (N, K) = U_K Sigma_K and ``P`` (K, N) = V_K^T from the SVD W = U Sigma V^T; exact when W has rank
    <= K (``exact``: sigma_{K+1} <= 1e-12 sigma_1). ``singular_values``: all of them.
    """

    M: np.ndarray
    P: np.ndarray
    b: np.ndarray
    singular_values: np.ndarray
    exact: bool

    @property
    def rank(self) -> int:
        """Number of latent dimensions K (columns of M)."""
        return int(self.M.shape[1])

    def project(self, states: Any) -> np.ndarray:
        """Latents kappa = P x of states [..., N] -> [..., K]."""
        x = as_float_array(states, "states")
        if x.shape[-1] != self.P.shape[1]:
            raise ValueError(f"states must have last axis N = {self.P.shape[1]}, got shape {x.shape}")
        return x @ self.P.T


def latent_reduction(params: Any, b: Any = None, *, rank: int = 2, basis: str = "svd") -> LatentReduction:
    """Reduce a network (dict with ``W`` or ``m``/``n``, or a matrix W) to ``rank`` latents.

    ``basis="svd"`` (the paper's Fig. 4 code): M = U_K Sigma_K, P = V_K^T from the SVD of W (orthonormal
    latent axes). ``basis="factors"``: M = m, P = n of a rank-K parameter dict, i.e. the model's own latents
    kappa = n @ x (exact; the axes are then not orthonormal, so |F| and its minima are measured in that
    metric). ``singular_values`` are those of W in both cases.

    Parameters
    ----------
    params : dict or array_like
        A parameter dict (``W``, or ``m`` and ``n``; ``b`` is taken from it) or the matrix W.
    b : array_like, optional
        The bias (default: ``params["b"]``, else zeros).
    rank : int
        Number of latents K.
    basis : {"svd", "factors"}

    Returns
    -------
    LatentReduction
        ``M`` (N, K), ``P`` (K, N), ``b``, ``singular_values`` and ``exact`` (True when rank(W) <= K, so the
        latent flow F(kappa) = -kappa + P tanh(M kappa + b) is exact).

    Examples
    --------
    >>> red = latent_reduction(np.outer([1.0, 0.0], [0.0, 2.0]), rank=1)
    >>> red.exact, red.M.shape
    (True, (2, 1))
    """
    W, b = _weights_and_bias(params, b)
    rank = check_int(rank, "rank", minimum=1)
    if basis not in ("svd", "factors"):
        raise ValueError(f"basis must be 'svd' or 'factors', got {basis!r}")
    if rank > W.shape[0]:
        raise ValueError(f"rank must be <= N = {W.shape[0]}, got {rank}")
    U, s, Vt = np.linalg.svd(W)
    exact = bool(rank == W.shape[0] or s[rank] <= 1e-12 * max(s[0], 1e-300))
    if basis == "factors":
        m, n = _get(params, "m"), _get(params, "n")
        if m is None or n is None:
            raise ValueError("basis='factors' needs params with 'm' (N, K) and 'n' (K, N)")
        m = as_float_array(m, "m", ndim=2, shape=(W.shape[0], rank))
        n = as_float_array(n, "n", ndim=2, shape=(rank, W.shape[0]))
        return LatentReduction(M=np.ascontiguousarray(m), P=np.ascontiguousarray(n), b=b, singular_values=s, exact=True)
    M = np.ascontiguousarray(U[:, :rank] * s[:rank])
    P = np.ascontiguousarray(Vt[:rank])
    return LatentReduction(M=M, P=P, b=b, singular_values=s, exact=exact)


def _check_reduction(reduction: Any) -> LatentReduction:
    if not isinstance(reduction, LatentReduction):
        raise TypeError(f"reduction must be a LatentReduction (from latent_reduction), got {type(reduction).__name__}")
    return reduction


def latent_flow(reduction: LatentReduction, kappa: Any) -> np.ndarray:
    """The latent flow F(kappa) = -kappa + P tanh(M kappa + b) (numpy).

    Parameters
    ----------
    reduction : LatentReduction
    kappa : array_like, shape ``(..., K)``

    Returns
    -------
    ndarray, shape ``(..., K)``

    Examples
    --------
    >>> red = latent_reduction(0.5 * np.eye(2), rank=2)
    >>> latent_flow(red, [0.0, 0.0]).tolist()
    [0.0, 0.0]
    """
    reduction = _check_reduction(reduction)
    k = as_float_array(kappa, "kappa")
    if k.ndim == 0:
        raise ValueError(f"kappa must have last axis K = {reduction.rank}, got a scalar")
    if k.shape[-1] != reduction.rank:
        raise ValueError(f"kappa must have last axis K = {reduction.rank}, got shape {k.shape}")
    return -k + np.tanh(k @ reduction.M.T + reduction.b) @ reduction.P.T


def latent_jacobian(reduction: LatentReduction, kappa: Any) -> np.ndarray:
    """Jacobian J = -I + P diag(1 - tanh^2(M kappa + b)) M of the latent flow.

    Parameters
    ----------
    reduction : LatentReduction
    kappa : array_like, shape ``(..., K)``

    Returns
    -------
    ndarray, shape ``(..., K, K)``

    Examples
    --------
    >>> red = latent_reduction(0.5 * np.eye(2), rank=2)
    >>> latent_jacobian(red, [0.0, 0.0]).round(12).tolist()
    [[-0.5, 0.0], [0.0, -0.5]]
    """
    reduction = _check_reduction(reduction)
    k = as_float_array(kappa, "kappa")
    if k.ndim == 0 or k.shape[-1] != reduction.rank:
        raise ValueError(f"kappa must have last axis K = {reduction.rank}, got shape {k.shape}")
    d = 1.0 - np.tanh(k @ reduction.M.T + reduction.b) ** 2
    return -np.eye(reduction.rank) + np.einsum("an,...n,nc->...ac", reduction.P, d, reduction.M)


def speed_field_2d(reduction: LatentReduction, grid_x: Any, grid_y: Any, *, n_threads: int | None = None) -> np.ndarray:
    """Speed |F| of a 2-D latent flow on a grid (rows = y, as ``pcolormesh`` expects).

    C++ with OpenMP over rows; bit-identical for any ``n_threads``.

    Parameters
    ----------
    reduction : LatentReduction
        A rank-2 reduction (see :func:`latent_reduction`).
    grid_x, grid_y : array_like
        1-D grids of the two latents.
    n_threads : int or None
        OpenMP threads (None: default).

    Returns
    -------
    ndarray, shape ``(len(grid_y), len(grid_x))``

    Examples
    --------
    >>> red = latent_reduction(0.5 * np.eye(2), rank=2)
    >>> speed = speed_field_2d(red, np.linspace(-1, 1, 5), np.linspace(-1, 1, 3))
    >>> speed.shape, float(speed[1, 2])                # the fixed point at the origin
    ((3, 5), 0.0)
    """
    reduction = _check_reduction(reduction)
    if reduction.rank != 2:
        raise ValueError(f"speed_field_2d needs a rank-2 reduction, got rank {reduction.rank}")
    gx = _grid(grid_x, reduction.b, "grid_x")
    gy = _grid(grid_y, reduction.b, "grid_y")
    return _core.speed_field_2d(reduction.M, reduction.P, reduction.b, gx, gy, check_threads(n_threads))


def slow_point_candidates_2d(speed: np.ndarray, grid_x: np.ndarray, grid_y: np.ndarray) -> np.ndarray:
    """Grid points equal to the minimum of |F| over their 3x3 neighbourhood.

    The paper's ``minimum_filter`` test (Fig. 4 code); borders use the available neighbours.

    Parameters
    ----------
    speed : ndarray, shape ``(len(grid_y), len(grid_x))``
        |F| on the grid (see :func:`speed_field_2d`).
    grid_x, grid_y : ndarray
        The grids.

    Returns
    -------
    ndarray, shape ``(C, 2)``
        Latent points (x, y) of the candidates.

    Examples
    --------
    >>> red = latent_reduction(0.5 * np.eye(2), rank=2)
    >>> gx = gy = np.linspace(-1, 1, 5)
    >>> slow_point_candidates_2d(speed_field_2d(red, gx, gy), gx, gy).tolist()
    [[0.0, 0.0]]
    """
    s = as_float_array(speed, "speed", ndim=2, finite=False)
    if np.any(np.isnan(s)):
        raise ValueError("speed must not contain NaN")
    ny, nx = s.shape
    gx = as_float_array(grid_x, "grid_x", shape=(nx,))
    gy = as_float_array(grid_y, "grid_y", shape=(ny,))
    padded = np.pad(s, 1, mode="constant", constant_values=np.inf)
    if s.size == 0:
        return np.empty((0, 2))
    neigh = np.min(np.stack([padded[i : i + ny, j : j + nx] for i in range(3) for j in range(3)]), axis=0)
    iy, ix = np.nonzero(s <= neigh)
    return np.stack([gx[ix], gy[iy]], axis=1)


# ---------------------------------------------------------------------------------------------------
# slow points (2-D latent and N-D)
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SlowPoints:
    """De-duplicated slow points of a flow F, each a local minimum of q = |F|^2 / 2.

    Per point: ``x`` (U, K) location; ``speed`` |F|; ``grad_norm`` |grad q| at the end; ``iterations``;
    ``converged`` (the minimiser stopped at a fixed point, a stationary point of q or the rounding floor
    rather than the iteration cap); ``eigenvalues`` (U, K) of the Jacobian, sorted by decreasing real part;
    ``slow_direction`` (U, K) the unit (real part of the) eigenvector of the eigenvalue with the smallest
    |Re lambda| (the ghost's slow direction, drawn red in the paper's 2-D plots);
    ``kind`` in ("fixed point", "ghost", "slow point"); ``stability`` ("stable", "saddle", "unstable", or
    "" for non-fixed points); ``distance`` to the nearest start; ``count`` how many starts converged to
    it; ``start_index`` the start that produced the kept representative. ``assignment`` (S,) maps every
    start to its point (-1 if that start did not converge); ``start_speed`` (S,) the final |F| reached from
    every start; ``factorizations`` (S,) Cholesky factorisations used per start. ``config``: thresholds used.
    """

    x: np.ndarray
    speed: np.ndarray
    grad_norm: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray
    eigenvalues: np.ndarray
    slow_direction: np.ndarray
    kind: np.ndarray
    stability: np.ndarray
    distance: np.ndarray
    count: np.ndarray
    start_index: np.ndarray
    assignment: np.ndarray
    start_speed: np.ndarray
    factorizations: np.ndarray
    config: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.speed.size)

    def select(self, kind: str) -> np.ndarray:
        """Indices of the points of one kind."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {list(KINDS)}, got {kind!r}")
        return np.nonzero(self.kind == kind)[0]


def _classify(
    speed: np.ndarray, eigenvalues: np.ndarray, converged: np.ndarray, tol_fixed: float, ghost_eig_tol: float
) -> tuple[np.ndarray, np.ndarray]:
    re = eigenvalues.real
    fixed = speed < tol_fixed
    near_zero = np.min(np.abs(re), axis=1) < ghost_eig_tol if re.size else np.zeros(len(speed), bool)
    kind = np.where(fixed, "fixed point", np.where(near_zero & converged, "ghost", "slow point")).astype(object)
    stability = np.full(len(speed), "", dtype=object)
    if re.size:
        stable = np.all(re < 0, axis=1)
        unstable = np.all(re > 0, axis=1)
        stability[fixed] = np.where(stable, "stable", np.where(unstable, "unstable", "saddle"))[fixed]
    return kind.astype(str), stability.astype(str)


def _nearest_start_distance(x: np.ndarray, starts: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Distance from each end point x[i] (i in ``rows``, a mask) to its nearest start, inf elsewhere.

    |a|^2 + |b|^2 - 2 a.b, clipped for rounding, in blocks of rows so that memory stays O(block * S)."""
    dist = np.full(x.shape[0], np.inf)
    idx = np.flatnonzero(rows)
    s2 = np.sum(starts * starts, axis=1)[None, :]
    for lo in range(0, idx.size, 512):
        sel = idx[lo : lo + 512]
        xs = x[sel]
        sq = np.sum(xs * xs, axis=1)[:, None] + s2 - 2.0 * xs @ starts.T
        dist[sel] = np.sqrt(np.maximum(np.min(sq, axis=1), 0.0))
    return dist


def _deduplicate(
    x: np.ndarray, starts: np.ndarray, usable: np.ndarray, tol: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Greedy clustering within ``tol`` (Euclidean, full space), visiting points from the one closest to
    the start set outward, so each cluster is represented by its point closest to the starts."""
    S = x.shape[0]
    dist = _nearest_start_distance(x, starts, usable)
    order = np.argsort(np.where(usable, dist, np.inf), kind="stable")
    reps: list[int] = []
    assignment = np.full(S, -1, dtype=np.int64)
    rep_x = np.empty((0, x.shape[1]))
    for i in order:
        if not usable[i]:
            continue
        if reps:
            d = np.sqrt(np.sum((rep_x - x[i]) ** 2, axis=1))
            j = int(np.argmin(d))
            if d[j] <= tol:
                assignment[i] = j
                continue
        assignment[i] = len(reps)
        reps.append(int(i))
        rep_x = np.vstack([rep_x, x[i]])
    reps_arr = np.asarray(reps, dtype=np.int64)
    counts = np.bincount(assignment[assignment >= 0], minlength=len(reps)).astype(np.int64)
    return reps_arr, assignment, dist, counts


def _solve(
    M: np.ndarray,
    P: np.ndarray | None,
    b: np.ndarray,
    starts: np.ndarray,
    *,
    max_iter: int,
    n_threads: int | None,
    progress: bool | None,
) -> dict:
    max_iter = check_int(max_iter, "max_iter", minimum=0, maximum=2**31 - 1)
    threads = check_threads(n_threads)
    if progress is not None:
        progress = check_bool(progress, "progress")
    from ._progress import run_with_control

    # Always through run_with_control, so Ctrl-C stops the starts not yet begun (the others finish).
    out, interrupted = run_with_control(
        lambda control: _core.find_slow_points(M, P, b, starts, max_iter=max_iter, n_threads=threads, control=control),
        total=starts.shape[0],
        progress=progress,
        desc="slow points",
        unit="start",
    )
    out["interrupted"] = interrupted
    if interrupted:
        warnings.warn(
            "slow-point search interrupted: the starts not begun are left out (config['interrupted'])",
            RuntimeWarning,
            stacklevel=4,
        )
    return out


def _finish(
    raw: dict,
    starts: np.ndarray,
    jacobian,
    *,
    tol_fixed: float,
    ghost_eig_tol: float,
    dedup_tol: float,
    deduplicate: bool,
    config: dict,
) -> SlowPoints:
    status = raw["status"]
    converged_all = status <= 2  # fixed, stationary, or stalled at the rounding floor
    usable = converged_all & np.isfinite(raw["speed"])
    x_all = raw["x"]
    if deduplicate:
        reps, assignment, dist, counts = _deduplicate(x_all, starts, usable, dedup_tol)
    else:
        reps = np.arange(x_all.shape[0])
        assignment = np.where(usable, reps, -1)
        dist = _nearest_start_distance(x_all, starts, np.ones(x_all.shape[0], dtype=bool))
        counts = np.ones(len(reps), dtype=np.int64)
    x = x_all[reps]
    K = starts.shape[1]
    if len(reps):
        eig, vec = np.linalg.eig(jacobian(x))
        order = np.argsort(-eig.real, axis=1, kind="stable")
        eig = np.take_along_axis(eig, order, axis=1)
        vec = np.take_along_axis(vec, order[:, None, :], axis=2)
        slow = np.argmin(np.abs(eig.real), axis=1)
        direction = vec[np.arange(len(reps)), :, slow].real
        direction /= np.maximum(np.linalg.norm(direction, axis=1, keepdims=True), 1e-300)
    else:
        eig = np.empty((0, K), dtype=complex)
        direction = np.empty((0, K))
    speed = raw["speed"][reps]
    converged = converged_all[reps]
    kind, stability = _classify(speed, eig, converged, tol_fixed, ghost_eig_tol)
    cfg = dict(
        config,
        tol_fixed=tol_fixed,
        ghost_eig_tol=ghost_eig_tol,
        dedup_tol=dedup_tol,
        interrupted=bool(raw.get("interrupted", False)),
    )
    return SlowPoints(
        x=x,
        speed=speed,
        grad_norm=raw["grad_norm"][reps],
        iterations=raw["iterations"][reps],
        converged=converged,
        eigenvalues=eig,
        slow_direction=direction,
        kind=kind,
        stability=stability,
        distance=dist[reps],
        count=counts,
        start_index=reps,
        assignment=assignment,
        start_speed=raw["speed"],
        factorizations=raw["factorizations"],
        config=cfg,
    )


def _check_thresholds(tol_fixed: float, ghost_eig_tol: float, dedup_tol: float) -> tuple[float, float, float]:
    return (
        check_real(tol_fixed, "tol_fixed", positive=True),
        check_real(ghost_eig_tol, "ghost_eig_tol", positive=True),
        check_real(dedup_tol, "dedup_tol", nonnegative=True),
    )


def slow_points_2d(
    reduction: LatentReduction,
    grid_x: Any,
    grid_y: Any,
    *,
    starts: Any = None,
    tol_fixed: float = 1e-8,
    ghost_eig_tol: float = 0.05,
    dedup_tol: float = 1e-6,
    max_iter: int = 100,
    n_threads: int | None = None,
) -> SlowPoints:
    """Slow points of a 2-D latent flow (paper Fig. 4).

    Grid candidates (3x3 minima of |F|) are refined by Newton's method on E = |F|^2/2 with the exact Hessian
    (J^T J + sum_i F_i Hess F_i) and Levenberg-Marquardt damping (initial 1e-6, increased x10 whenever a step
    does not decrease E), at most ``max_iter`` iterations; then de-duplicated and classified:

    * "fixed point": |F| < ``tol_fixed`` after refinement; ``stability`` from the Jacobian's eigenvalues
      (all Re < 0 stable, all > 0 unstable, else saddle);
    * "ghost": a converged local minimum of |F| with |F| >= tol_fixed and an eigenvalue with
      |Re lambda| < ``ghost_eig_tol`` (0.05: the ghost criterion used for Figs. 4 and 5);
    * "slow point": any other local minimum of |F|.

    Parameters
    ----------
    reduction : LatentReduction
        A rank-2 reduction (see :func:`latent_reduction`).
    grid_x, grid_y : array_like
        1-D grids on which candidates are searched.
    starts : array_like, shape ``(C, 2)``, optional
        Extra starting points (e.g. trajectory latents).
    tol_fixed, ghost_eig_tol : float
        Classification thresholds (see above).
    dedup_tol : float
        Points closer than this are merged.
    max_iter : int
        Newton iterations per start.
    n_threads : int or None
        OpenMP threads (None: default).

    Returns
    -------
    SlowPoints
        ``x``, ``speed``, ``kind``, ``stability``, Jacobian ``eigenvalues``, ``slow_direction`` and convergence
        information, one entry per distinct point.

    Examples
    --------
    >>> red = latent_reduction(0.5 * np.eye(2), rank=2)
    >>> sp = slow_points_2d(red, np.linspace(-1, 1, 5), np.linspace(-1, 1, 5))
    >>> sp.kind.tolist(), sp.stability.tolist()
    (['fixed point'], ['stable'])
    """
    reduction = _check_reduction(reduction)
    if reduction.rank != 2:
        raise ValueError(f"slow_points_2d needs a rank-2 reduction, got rank {reduction.rank}")
    tol_fixed, ghost_eig_tol, dedup_tol = _check_thresholds(tol_fixed, ghost_eig_tol, dedup_tol)
    # None: 201 points per axis (the 1-D default of 4001 would make 16 million grid points and as many
    # candidate refinements in 2-D)
    gx = default_kappa_grid(reduction.b, 201) if grid_x is None else _grid(grid_x, reduction.b, "grid_x", min_points=2)
    gy = default_kappa_grid(reduction.b, 201) if grid_y is None else _grid(grid_y, reduction.b, "grid_y", min_points=2)
    speed = speed_field_2d(reduction, gx, gy, n_threads=n_threads)
    cand = slow_point_candidates_2d(speed, gx, gy)
    if starts is not None:
        cand = np.vstack([cand, as_float_array(starts, "starts", ndim=2, shape=(None, 2))])
    cand = np.ascontiguousarray(cand)
    raw = _solve(reduction.M, reduction.P, reduction.b, cand, max_iter=max_iter, n_threads=n_threads, progress=False)
    return _finish(
        raw,
        cand,
        lambda x: latent_jacobian(reduction, x),
        tol_fixed=tol_fixed,
        ghost_eig_tol=ghost_eig_tol,
        dedup_tol=dedup_tol,
        deduplicate=True,
        config={"max_iter": max_iter, "space": "latent-2d"},
    )


def full_flow(W: Any, b: Any, x: Any) -> np.ndarray:
    """The full-rank flow F(x) = -x + tanh(W x + b) (numpy reference).

    Parameters
    ----------
    W : array_like, shape ``(N, N)``
    b : array_like, shape ``(N,)``
    x : array_like, shape ``(..., N)``

    Returns
    -------
    ndarray, shape ``(..., N)``

    Examples
    --------
    >>> full_flow(np.zeros((2, 2)), np.zeros(2), [0.5, -0.5]).tolist()
    [-0.5, 0.5]
    """
    W, b = _weights_and_bias(W, b)
    x = as_float_array(x, "x")
    return -x + np.tanh(x @ W.T + b)


def full_jacobian(W: Any, b: Any, x: Any) -> np.ndarray:
    """Jacobian J = -I + diag(1 - tanh^2(W x + b)) W of the full-rank flow.

    Parameters
    ----------
    W : array_like, shape ``(N, N)``
    b : array_like, shape ``(N,)``
    x : array_like, shape ``(..., N)``

    Returns
    -------
    ndarray, shape ``(..., N, N)``

    Examples
    --------
    >>> full_jacobian(0.5 * np.eye(2), np.zeros(2), [0.0, 0.0]).tolist()
    [[-0.5, 0.0], [0.0, -0.5]]
    """
    W, b = _weights_and_bias(W, b)
    x = as_float_array(x, "x")
    d = 1.0 - np.tanh(x @ W.T + b) ** 2
    return -np.eye(W.shape[0]) + d[..., :, None] * W


def find_slow_points(
    params: Any,
    b: Any = None,
    starts: Any = None,
    *,
    tol_fixed: float = 1e-8,
    ghost_eig_tol: float = 0.05,
    dedup_tol: float = 1e-6,
    max_iter: int = 100,
    deduplicate: bool = True,
    n_threads: int | None = None,
    progress: bool | None = None,
) -> SlowPoints:
    """Fixed points, ghosts and slow points of the full flow F(x) = -x + tanh(W x + b) (paper Fig. 5).

    From every start, q(x) = |F(x)|^2 / 2 is minimised in C++ (OpenMP over starts) by Newton's method with
    the exact Hessian J^T J + sum_i F_i Hess F_i, a dense Cholesky solve and Levenberg-Marquardt damping
    (at most ``max_iter`` iterations); this converges quadratically both to fixed points (q = 0) and to
    ghosts (q > 0), to |F| ~ 1e-15 and locations ~ 1e-13, where the paper's 5000 Adam steps stop around
    |F| ~ 1e-3..1e-5. Ends are then de-duplicated (within ``dedup_tol`` in the full space, keeping the point
    closest to the start set), their Jacobian eigenvalues computed with numpy, and classified as in
    :func:`slow_points_2d`.

    Parameters
    ----------
    params : dict or array_like
        A dict with ``W`` (N, N) or ``m`` (N, K) and ``n`` (K, N) (and ``b``), or the matrix W.
    b : array_like, shape ``(N,)``, optional
        The bias (overrides ``params["b"]``; default zeros).
    starts : array_like, shape ``(S, N)``
        Starting states, e.g. all visited states of a trajectory.
    tol_fixed, ghost_eig_tol : float
        Classification thresholds (see :func:`slow_points_2d`).
    dedup_tol : float
        Ends closer than this are merged.
    max_iter : int
        Newton iterations per start.
    deduplicate : bool
        False keeps one entry per start.
    n_threads : int or None
        OpenMP threads (None: default).
    progress : bool or None
        A tqdm bar over starts (None: only in an interactive terminal or notebook).

    Returns
    -------
    SlowPoints
        ``x``, ``speed``, ``kind``, ``stability``, Jacobian ``eigenvalues``, ``slow_direction``, the distance
        to the nearest start and convergence information, one entry per distinct point.

    Examples
    --------
    >>> sp = find_slow_points(0.5 * np.eye(3), np.zeros(3), np.ones((4, 3)))
    >>> sp.kind.tolist(), sp.stability.tolist()
    (['fixed point'], ['stable'])
    """
    W, b = _weights_and_bias(params, b)
    N = W.shape[0]
    if starts is None:
        raise ValueError("starts (S, N) are required")
    starts = as_float_array(starts, "starts", ndim=2)
    if starts.shape[1] != N:
        raise ValueError(f"starts must have shape (S, {N}) to match W {W.shape}, got {starts.shape}")
    if starts.shape[0] < 1:
        raise ValueError("starts must contain at least one state")
    tol_fixed, ghost_eig_tol, dedup_tol = _check_thresholds(tol_fixed, ghost_eig_tol, dedup_tol)
    raw = _solve(W, None, b, starts, max_iter=max_iter, n_threads=n_threads, progress=progress)
    return _finish(
        raw,
        starts,
        lambda x: full_jacobian(W, b, x),
        tol_fixed=tol_fixed,
        ghost_eig_tol=ghost_eig_tol,
        dedup_tol=dedup_tol,
        deduplicate=bool(deduplicate),
        config={"max_iter": max_iter, "space": "full"},
    )


def adam_slow_points(
    params: Any,
    b: Any = None,
    starts: Any = None,
    *,
    lr: float = 1e-2,
    iterations: int = 5000,
    n_threads: int | None = None,
    progress: bool | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The paper's solver (Fig. 5 code) for comparison: Adam on the mean of F(x)^2 over units, from each start.

    Adam (``lr``, betas 0.9/0.999, eps 1e-8) in C++, no Newton step; :func:`find_slow_points` converges far
    more accurately in less time (``bench/bench_analysis_controlled.py``).

    Parameters
    ----------
    params : dict or array_like
        A parameter dict with ``W`` (and ``b``) or the matrix W.
    b : array_like, optional
        The bias (default: ``params["b"]``).
    starts : array_like, shape ``(S, N)``
        Starting states.
    lr : float
        Adam's learning rate.
    iterations : int
        Adam steps per start.
    n_threads : int or None
        OpenMP threads (None: default).
    progress : bool or None
        A bar over starts (None: only in an interactive terminal or a notebook). Ctrl-C stops every start
        within 256 iterations and returns where they are, with a RuntimeWarning.

    Returns
    -------
    x_end : ndarray, shape ``(S, N)``
    speed : ndarray, shape ``(S,)``
        |F(x_end)|.

    Examples
    --------
    >>> x, speed = adam_slow_points(0.5 * np.eye(3), np.zeros(3), np.ones((2, 3)), iterations=2000)
    >>> bool(np.all(speed < 1e-3))
    True
    """
    W, b = _weights_and_bias(params, b)
    if starts is None:
        raise ValueError("starts (S, N) are required")
    starts = as_float_array(starts, "starts", ndim=2, shape=(None, W.shape[0]))
    lr = check_real(lr, "lr", positive=True)
    iterations = check_int(iterations, "iterations", minimum=0, maximum=INT64_MAX)
    threads = check_threads(n_threads)
    if progress is not None:
        progress = check_bool(progress, "progress")
    from ._progress import run_with_control

    out, interrupted = run_with_control(
        lambda control: _core.adam_slow_points(W, None, b, starts, lr, iterations, threads, control),
        total=starts.shape[0],
        progress=progress,
        desc="adam slow points",
        unit="start",
    )
    x, speed, completed = out
    if interrupted:
        warnings.warn(
            f"adam_slow_points interrupted: {int(completed.sum())} of {starts.shape[0]} starts ran all "
            f"{iterations} iterations (the others stopped early)",
            RuntimeWarning,
            stacklevel=2,
        )
    return x, speed


# ---------------------------------------------------------------------------------------------------
# abrupt-learning metrics
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LearningMetrics:
    """Abrupt-learning metrics of loss histories [..., epochs] (all arrays have the leading shape).

    The three outcome metrics are :mod:`ghostfast.metrics`' single definitions (the same as
    ``sweep.SweepResult``'s): ``drop_epoch``: first epoch with L < ``drop_fraction * L0`` (-1 if never;
    :func:`ghostfast.metrics.drop_epoch`); ``trapped``: in the no-learning zone at the last epoch, i.e. last
    loss > ``trapped_fraction * L0`` and, when gradient norms are given, last gradient norm <= ``grad_tol``
    times the run's largest gradient norm (:func:`ghostfast.metrics.trapped`, relative to the run's own scale
    so that a slow escape from the zone is not misjudged); ``learned``: final / initial loss <
    ``learned_ratio`` (:func:`ghostfast.metrics.learned`, paper Fig 6B).

    Descriptive metrics: ``initial``: L0; ``final``: mean loss over the last ``window`` epochs;
    ``dropped``: ``drop_epoch >= 0``; ``plateau_length``: the first epoch with L < ``plateau_fraction * L0``
    (epochs spent on the initial plateau; = epochs if never); ``transition_epoch``: the abrupt transition on
    log-log axes (:func:`ghostfast.metrics.transition_epoch`, the one the figures search before);
    ``steepest_epoch``: epoch e of the steepest decrease L[e] - L[e+1] of the (moving-average smoothed) loss,
    in loss per epoch; ``drop_rate``: that decrease / L0
    (fraction of the initial loss lost in one epoch: ~1 for an abrupt drop, ~1/plateau for a gradual one);
    ``drop_duration``: epochs from 10 % to 90 % of the total drop L0 - min L (-1 if not dropped);
    ``fell_back``: dropped but trapped; ``sign_change_fraction``: fraction of sign changes of consecutive
    loss increments in the last window (0 monotone, ~0.5 noise, 1 period-2 oscillation);
    ``relative_std``: std / mean of the loss over the last window; ``oscillating``:
    sign_change_fraction >= ``oscillation_fraction`` and relative_std >= ``oscillation_rel_std``.
    """

    initial: np.ndarray
    final: np.ndarray
    dropped: np.ndarray
    plateau_length: np.ndarray
    drop_epoch: np.ndarray
    transition_epoch: np.ndarray
    steepest_epoch: np.ndarray
    drop_rate: np.ndarray
    drop_duration: np.ndarray
    trapped: np.ndarray
    learned: np.ndarray
    fell_back: np.ndarray
    sign_change_fraction: np.ndarray
    relative_std: np.ndarray
    oscillating: np.ndarray
    config: dict = field(default_factory=dict)


def _first_true(mask: np.ndarray, default: int) -> np.ndarray:
    any_ = mask.any(axis=-1)
    return np.where(any_, np.argmax(mask, axis=-1), default)


def learning_metrics(
    loss: Any,
    grad_norm: Any = None,
    *,
    plateau_fraction: float = 0.9,
    window: int = 100,
    smooth: int = 1,
    trapped_fraction: float = _metrics.TRAP_LOSS_FRACTION,
    grad_tol: float = _metrics.TRAP_GRAD_FRACTION,
    oscillation_fraction: float = 0.5,
    oscillation_rel_std: float = 1e-3,
    drop_fraction: float = _metrics.DROP_FRACTION,
    learned_ratio: float = _metrics.LEARNED_RATIO,
) -> LearningMetrics:
    """Plateau, drop, trap and oscillation metrics of loss histories ``loss[..., epochs]``.

    Numpy, vectorised over the leading axes. ``window`` is clipped to the number of epochs; ``smooth`` is the
    width of the moving average applied to L before the steepest drop is located (1 = none).

    Parameters
    ----------
    loss : array_like, shape ``(..., n_epochs)``
    grad_norm : array_like, optional
        Same shape; needed for the trapped flag's gradient criterion.
    plateau_fraction, window, smooth, trapped_fraction, grad_tol, oscillation_fraction, oscillation_rel_std
        Thresholds, documented in :class:`LearningMetrics`.
    drop_fraction, learned_ratio
        The drop and learned thresholds of :mod:`ghostfast.metrics` (one definition with the sweeps).

    Returns
    -------
    LearningMetrics
        ``plateau_length``, ``drop_epoch``, ``drop_rate``, ``drop_duration``, ``trapped``, ``oscillating`` and
        related fields, one entry per history.

    Examples
    --------
    >>> L = np.r_[np.ones(50), np.full(50, 1e-3)]
    >>> met = learning_metrics(L, window=10)
    >>> int(met.plateau_length), int(met.drop_epoch), int(met.steepest_epoch), bool(met.trapped)
    (50, 50, 49, False)
    """
    L = as_float_array(loss, "loss", finite=False)
    if L.ndim < 1 or L.shape[-1] < 2:
        raise ValueError(f"loss must have an epochs axis (last) with at least 2 epochs, got shape {L.shape}")
    if np.any(np.isnan(L)) or np.any(L < 0):
        raise ValueError("loss must be non-negative and not NaN (inf marks a diverged run and is allowed)")
    E = L.shape[-1]
    plateau_fraction = check_real(plateau_fraction, "plateau_fraction", positive=True)
    trapped_fraction = check_real(trapped_fraction, "trapped_fraction", positive=True)
    grad_tol = check_real(grad_tol, "grad_tol", nonnegative=True)
    oscillation_fraction = check_real(oscillation_fraction, "oscillation_fraction", nonnegative=True)
    oscillation_rel_std = check_real(oscillation_rel_std, "oscillation_rel_std", nonnegative=True)
    window = min(check_int(window, "window", minimum=2), E)
    smooth = check_int(smooth, "smooth", minimum=1)
    L0 = L[..., 0]
    last = L[..., E - window :]
    with np.errstate(invalid="ignore", over="ignore"):
        final = np.mean(last, axis=-1)
    below = L < plateau_fraction * L0[..., None]
    plateau_length = _first_true(below, E)
    drop_epoch = _metrics.drop_epoch(L, fraction=drop_fraction)
    dropped = drop_epoch >= 0
    Ls = L
    if smooth > 1:
        kernel = np.ones(smooth) / smooth
        Ls = np.apply_along_axis(lambda v: np.convolve(v, kernel, mode="valid"), -1, L)
    with np.errstate(invalid="ignore"):
        dec = -np.diff(Ls, axis=-1)
    dec = np.where(np.isfinite(dec), dec, -np.inf)
    steepest_epoch = np.argmax(dec, axis=-1) + (smooth - 1) // 2
    with np.errstate(invalid="ignore", divide="ignore"):
        drop_rate = np.max(dec, axis=-1) / L0
    Lmin = np.min(L, axis=-1)
    total = L0 - Lmin
    e10 = _first_true(L <= (L0 - 0.1 * total)[..., None], -1)
    e90 = _first_true(L <= (L0 - 0.9 * total)[..., None], -1)
    drop_duration = np.where(dropped & (e10 >= 0) & (e90 >= 0), e90 - e10, -1)
    G = None
    if grad_norm is not None:
        G = as_float_array(grad_norm, "grad_norm", finite=False)
        if G.shape != L.shape:
            raise ValueError(f"grad_norm must have the shape of loss {L.shape}, got {G.shape}")
    trapped = _metrics.trapped(L, G, loss_fraction=trapped_fraction, grad_fraction=grad_tol)
    learned = _metrics.learned(L, ratio=learned_ratio)
    inc = np.diff(last, axis=-1)
    if inc.shape[-1] >= 2:
        prod = inc[..., 1:] * inc[..., :-1]
        sign_change_fraction = np.mean(prod < 0, axis=-1)
    else:
        sign_change_fraction = np.zeros(L0.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        relative_std = np.where(final > 0, np.std(last, axis=-1) / final, 0.0)
    oscillating = (sign_change_fraction >= oscillation_fraction) & (relative_std >= oscillation_rel_std)
    cfg = dict(
        plateau_fraction=plateau_fraction,
        window=window,
        smooth=smooth,
        trapped_fraction=trapped_fraction,
        grad_tol=grad_tol,
        oscillation_fraction=oscillation_fraction,
        oscillation_rel_std=oscillation_rel_std,
        drop_fraction=drop_fraction,
        learned_ratio=learned_ratio,
    )
    out = dict(
        initial=L0,
        final=final,
        dropped=dropped,
        plateau_length=plateau_length,
        drop_epoch=drop_epoch,
        transition_epoch=_metrics.transition_epoch(L),
        steepest_epoch=steepest_epoch,
        drop_rate=drop_rate,
        drop_duration=drop_duration,
        trapped=trapped,
        learned=learned,
        fell_back=dropped & trapped,
        sign_change_fraction=sign_change_fraction,
        relative_std=relative_std,
        oscillating=oscillating,
    )
    return LearningMetrics(**{k: np.asarray(v) for k, v in out.items()}, config=cfg)
