"""The canonical 1D ghost model dx/dt = r + x^2 (the paper's analytical model, Figs. 1, 2 and 8A).

The state starts at x(0) = 0; the single learnable parameter r sets the escape time
t*(r) = pi / (2 sqrt r). A sigmoid readout y = sigmoid(a (x - x_th)) must stay off for t <= T and turn
on for T < t <= 2T (delayed activation). In the sharp limit a -> inf the T-normalised loss is

    L(r) = |T - t*(r)| / T   for r > r*/4,        L(r) = 1   for r <= r*/4  (the no-learning zone),

minimal (0) at r* = pi^2 / (4 T^2). Its gradient is +-(pi/(4T)) r^(-3/2) with a cusp at r*.

Conventions used throughout this module
---------------------------------------
* ``normalized=True``: gradients of the T-normalised loss L. ``normalized=False``: the paper code's
  convention, the same gradient without the 1/T factor (so a code learning rate is T times larger in
  effect). The loss itself is always the T-normalised L in [0, 1].
* Gradient at the two special points (chosen as in the paper's ``gradient_loss``, bands closed on
  [r*/4, r*]): at the cusp r = r* the LEFT derivative -(pi/(4T)) r*^(-3/2) (= -2T^2/pi^2, or -2T^3/pi^2
  unnormalised) is used, so gradient descent sitting exactly on r* steps upwards; at the zone edge r*/4
  the band value -(pi/(4T)) (r*/4)^(-3/2) (8 times the cusp value, pointing out of the zone). Strictly
  below r*/4 the gradient is exactly 0 and the loss exactly 1.
* ``trapped`` means a run ended with r < r*/4: there the sharp-limit gradient is 0, so it never leaves.
* Histories: index j of ``r`` / ``loss`` holds the value after ``epochs_recorded[j]`` updates
  (j = 0 is the initial r0); with ``record_every=k`` these are epochs 0, k, 2k, ... up to ``epochs``.

Everything heavy (Euler simulation, gradient descent over many runs) runs in the C++ core with OpenMP;
every run's result is independent of the number of threads.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np

from . import __version__, _core
from ._optional import require
from ._progress import run_with_control
from ._seeding import SeedLike, seed_key
from ._stats import power_law_fit
from ._validation import (
    DEFAULT_MAX_MEMORY,
    INT64_MAX,
    _is_complex,
    check_bool,
    check_int,
    check_memory,
    check_real,
    check_threads,
)

__all__ = [
    "optimal_r",
    "no_learning_boundary",
    "escape_time",
    "loss",
    "loss_grad",
    "critical_lr",
    "simulate",
    "SimulationResult",
    "train",
    "CanonicalTrainResult",
    "lr_sweep",
    "LRSweepResult",
    "empirical_critical_lr",
    "CriticalLRResult",
    "fit_critical_lr_scaling",
    "ScalingFit",
]

ArrayLike = Union[float, Sequence[float], np.ndarray]
#: A SeedSequence's entropy: an int, or the sequence of ints it was made from (None: not seeded).
Entropy = Union[int, Sequence[int], None]


# ---------------------------------------------------------------------------------------------- helpers


def _float_array(value: Any, name: str, *, allow_inf: bool = False) -> np.ndarray:
    if (
        isinstance(value, (str, bytes, bool, np.bool_))
        or _is_complex(value)
        or (isinstance(value, np.ndarray) and value.dtype.kind not in "iuf")
    ):
        raise TypeError(f"{name} must be a real number or an array of real numbers, got {type(value).__name__}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except OverflowError as err:
        raise ValueError(f"{name} holds a number too large for float64") from err
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a number or an array of numbers, got {type(value).__name__}") from err
    if np.any(np.isnan(arr)):
        raise ValueError(f"{name} must not contain NaN")
    if not allow_inf and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (it contains inf)")
    return arr


def _delay(T: Any) -> np.ndarray:
    arr = _float_array(T, "T")
    if np.any(arr <= 0):
        raise ValueError(f"T must be > 0, got {T!r}")
    _representable(arr)
    return arr


def _scalar_delay(T: Any) -> float:
    T = check_real(T, "T", positive=True)
    _representable(np.asarray(T))
    return T


def _representable(T: np.ndarray) -> None:
    """r* = pi^2 / (4 T^2) and the critical lr ~ T^-5 must be finite and nonzero in float64."""
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        ok = np.isfinite(np.pi**2 / (4.0 * T * T)) & (3.0 * np.pi**4 / (32.0 * T**5) > 0)
    if not np.all(ok):
        raise ValueError(
            f"T must be within about [1e-154, 1e64] so that r* = pi^2/(4 T^2) and the critical lr "
            f"~ T^-5 are finite nonzero float64 numbers, got {T if T.ndim == 0 else T[~ok][0]}"
        )


def _out(x: np.ndarray) -> Union[float, np.ndarray]:
    """0-d results come back as Python floats, everything else as arrays."""
    return float(x) if np.ndim(x) == 0 else x


def _broadcast(arrays: Sequence[np.ndarray], names: Sequence[str]) -> Tuple[np.ndarray, ...]:
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        desc = ", ".join(f"{n} {a.shape}" for n, a in zip(names, arrays))
        raise ValueError(f"{' and '.join(names)} must have broadcastable shapes, got {desc}") from None
    # np.array (not ascontiguousarray, which turns 0-d into 1-d) keeps scalar inputs 0-d.
    return tuple(np.array(np.broadcast_to(a, shape), dtype=np.float64, order="C") for a in arrays)


# ---------------------------------------------------------------------------------------------- closed forms


def optimal_r(T: ArrayLike) -> Union[float, np.ndarray]:
    """The optimum r* = pi^2 / (4 T^2), where the escape time equals the delay T and L = 0.

    Parameters
    ----------
    T : float or array_like
        Delay of the task (> 0), in the model's time units.

    Returns
    -------
    float or ndarray
        r*, shaped like ``T``.

    Examples
    --------
    >>> f"{optimal_r(100.0):.6e}"
    '2.467401e-04'
    """
    T = _delay(T)
    return _out((np.pi * np.pi) / (4.0 * T * T))


def no_learning_boundary(T: ArrayLike) -> Union[float, np.ndarray]:
    """Edge of the no-learning zone, r*/4 = pi^2 / (16 T^2).

    Below it the unit never fires within the trial (t* >= 2T): L = 1 and dL/dr = 0 (paper Fig. 2).

    Parameters
    ----------
    T : float or array_like
        Delay of the task (> 0).

    Returns
    -------
    float or ndarray
        r*/4, shaped like ``T``.

    Examples
    --------
    >>> bool(no_learning_boundary(100.0) == optimal_r(100.0) / 4)
    True
    >>> float(loss(0.99 * no_learning_boundary(100.0), 100.0))
    1.0
    """
    T = _delay(T)
    return _out(((np.pi * np.pi) / (4.0 * T * T)) / 4.0)


def escape_time(r: ArrayLike) -> Union[float, np.ndarray]:
    """Blow-up time t*(r) = pi / (2 sqrt r) of x(t) = sqrt(r) tan(sqrt(r) t); inf for r <= 0 (never fires).

    Parameters
    ----------
    r : float or array_like
        The model's parameter (any real; inf allowed).

    Returns
    -------
    float or ndarray
        t*(r), shaped like ``r``.

    Examples
    --------
    >>> escape_time([optimal_r(100.0), -1.0])
    array([100.,  inf])
    """
    r = _float_array(r, "r", allow_inf=True)
    positive = r > 0
    with np.errstate(divide="ignore"):
        t = np.where(positive, np.pi / (2.0 * np.sqrt(np.where(positive, r, 1.0))), np.inf)
    return _out(t)


def loss(r: ArrayLike, T: ArrayLike) -> Union[float, np.ndarray]:
    """Sharp-limit (a -> inf) T-normalised loss: |T - t*(r)| / T if r > r*/4, else exactly 1.

    Parameters
    ----------
    r : float or array_like
        The model's parameter.
    T : float or array_like
        Delay (> 0); broadcasts with ``r``.

    Returns
    -------
    float or ndarray
        L(r) in [0, 1], shaped like ``broadcast(r, T)``.

    Examples
    --------
    >>> loss(2 * optimal_r(100.0), 100.0)  # 1 - 1/sqrt(2)
    0.2928932188134524
    """
    r = _float_array(r, "r", allow_inf=True)
    T = _delay(T)
    r, T = np.broadcast_arrays(r, T)
    edge = ((np.pi * np.pi) / (4.0 * T * T)) / 4.0
    active = r > edge
    with np.errstate(divide="ignore"):
        t_star = np.pi / (2.0 * np.sqrt(np.where(active, r, 1.0)))
    return _out(np.where(active, np.abs(T - t_star) / T, 1.0))


def loss_grad(r: ArrayLike, T: ArrayLike, normalized: bool = True) -> Union[float, np.ndarray]:
    """Sharp-limit gradient dL/dr (the one :func:`train` uses without a confidence).

    -(pi/(4T)) r^(-3/2) on [r*/4, r*] (the cusp r* takes this left derivative), +(pi/(4T)) r^(-3/2)
    above r*, exactly 0 below r*/4.

    Parameters
    ----------
    r : float or array_like
        The model's parameter.
    T : float or array_like
        Delay (> 0); broadcasts with ``r``.
    normalized : bool
        True: the gradient of the T-normalised loss. False: without the 1/T factor, +-pi/(4 r^1.5), the
        paper code's convention (its learning rates are T times larger in effect).

    Returns
    -------
    float or ndarray
        dL/dr, shaped like ``broadcast(r, T)``.

    Examples
    --------
    >>> T = 100.0
    >>> round(abs(loss_grad(optimal_r(T), T, normalized=False)) / (2 * T**3 / np.pi**2), 12)
    1.0
    """
    r = _float_array(r, "r", allow_inf=True)
    T = _delay(T)
    normalized = check_bool(normalized, "normalized")
    r, T = np.broadcast_arrays(r, T)
    r_star = (np.pi * np.pi) / (4.0 * T * T)
    scale = np.pi / (4.0 * T) if normalized else np.full_like(T, np.pi / 4.0)
    inside = ~(r < r_star / 4.0)
    safe_r = np.where(inside & (r > 0), r, 1.0)
    magnitude = scale / (safe_r * np.sqrt(safe_r))
    return _out(np.where(inside, np.where(r > r_star, magnitude, -magnitude), 0.0))


def critical_lr(T: ArrayLike, normalized: bool = True) -> Union[float, np.ndarray]:
    """Critical learning rate 3 pi^4 / (32 T^4) (normalised loss) or 3 pi^4 / (32 T^5) (paper code).

    Above it a step from just above r* can land in the no-learning zone (dimensionless step > 3/4).

    Parameters
    ----------
    T : float or array_like
        Delay (> 0).
    normalized : bool
        True: for the gradient of the T-normalised loss; False: for the paper code's gradient (no 1/T).

    Returns
    -------
    float or ndarray
        The critical learning rate, shaped like ``T``.

    Examples
    --------
    >>> f"{critical_lr(100.0, normalized=False):.4e}"
    '9.1321e-10'
    """
    T = _delay(T)
    normalized = check_bool(normalized, "normalized")
    power = 4 if normalized else 5
    return _out(3.0 * np.pi**4 / (32.0 * T**power))


def _seed_sequence(seed: SeedLike) -> np.random.SeedSequence:
    """A fresh SeedSequence for ``seed`` (int >= 0, SeedSequence or None), keeping a child's spawn_key.

    A copy, so spawning from it never changes the caller's object (results stay reproducible)."""
    if isinstance(seed, np.random.SeedSequence):
        return np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key, pool_size=seed.pool_size)
    if seed is None:
        return np.random.SeedSequence()
    return np.random.SeedSequence(seed_key(seed).entropy)  # seed_key validates the type and sign


# ---------------------------------------------------------------------------------------------- simulation


@dataclass(frozen=True)
class SimulationResult:
    """Loss of the Euler-simulated model and its exact derivative in r, shaped like broadcast(r, confidence).

    Unpacks like a tuple: ``L, dL = simulate(...)``.
    """

    loss: Union[float, np.ndarray]
    dloss_dr: Union[float, np.ndarray]

    def __iter__(self):
        return iter((self.loss, self.dloss_dr))


def _check_sim_args(T: Any, threshold: Any, dt: Any) -> Tuple[float, float, float]:
    T = _scalar_delay(T)
    threshold = check_real(threshold, "threshold")
    dt = check_real(dt, "dt", positive=True)
    if not 1 <= round(2 * T / dt) <= 1e9:
        raise ValueError(f"dt must give between 1 and 1e9 Euler steps over 2T, got 2T/dt = {2 * T / dt}")
    return T, threshold, dt


def _confidence_array(confidence: Any) -> np.ndarray:
    a = _float_array(confidence, "confidence")
    if np.any(a <= 0):
        raise ValueError("confidence must be > 0 (use confidence=None for the sharp limit)")
    return a


def simulate(
    r: ArrayLike,
    T: float,
    confidence: ArrayLike,
    threshold: float = 10.0,
    dt: float = 0.1,
    *,
    n_threads: Optional[int] = None,
) -> SimulationResult:
    """Euler simulation of the canonical model with a finite-confidence readout, and its exact gradient.

    x_0 = 0, x_{k+1} = x_k + dt (x_k^2 + r), clipped to [-1e6, 1e6]; y_{k+1} = sigmoid(a (x_{k+1} - x_th));
    target 1 when (k+1) dt > T, else 0; L = sum_k (y_{k+1} - y*_{k+1})^2 dt / T over round(2T/dt) steps.
    dL/dr is the exact derivative of this discrete L (forward sensitivity dx/dr carried along; a clipped
    state has sensitivity 0).

    Parameters
    ----------
    r, confidence : array_like
        Broadcast against each other; confidence ``a`` > 0.
    T : float
        Delay (trial length 2T). threshold: readout threshold x_th. dt: Euler step.
    n_threads : int, optional
        OpenMP threads (None: default). Results do not depend on it.

    Returns
    -------
    SimulationResult
        ``loss`` and ``dloss_dr`` (T-normalised loss), shaped like the broadcast input (floats for scalars).

    Examples
    --------
    >>> L, dL = simulate(optimal_r(100.0), 100.0, confidence=1.0)
    >>> bool(L < 0.01)
    True
    """
    T, threshold, dt = _check_sim_args(T, threshold, dt)
    r_arr = _float_array(r, "r")
    a_arr = _confidence_array(confidence)
    r_b, a_b = _broadcast([r_arr, a_arr], ["r", "confidence"])
    threads = check_threads(n_threads)
    L, g = _core.canonical_simulate(r_b.ravel(), a_b.ravel(), T, threshold, dt, threads)
    shape = r_b.shape
    return SimulationResult(_out(L.reshape(shape)), _out(g.reshape(shape)))


# ---------------------------------------------------------------------------------------------- training


@dataclass(frozen=True)
class CanonicalTrainResult:
    """Gradient descent on r for a grid of runs (grid axes = broadcast(r0, lr[, confidence]), epochs last).

    Attributes
    ----------
    r, loss : ndarray [..., n_records]
        r after ``epochs_recorded[j]`` updates and its loss (sharp or simulated, T-normalised).
    epochs_recorded : ndarray [n_records]
    r_final : ndarray [...]
        r after all updates.
    arrival_epoch : ndarray[int64] [...]
        First epoch n with r_n <= r* (0 if r0 <= r*), -1 if never.
    trapped : ndarray[bool] [...]
        Ended with r < r*/4 (no-learning zone). diverged: r became NaN/inf (that run stopped).
    interrupted : bool
        True if Ctrl-C stopped the call; unfinished runs then have NaN in their remaining records.
    """

    r: np.ndarray
    loss: np.ndarray
    epochs_recorded: np.ndarray
    r_final: np.ndarray
    arrival_epoch: np.ndarray
    trapped: np.ndarray
    diverged: np.ndarray
    r0: np.ndarray
    lr: np.ndarray
    interrupted: bool
    config: dict = field(default_factory=dict)
    seed_entropy: Entropy = None
    version: str = ""
    n_threads: int = 0

    def to_xarray(self) -> Any:
        """An ``xarray.Dataset`` with dims ``run_0, run_1, ...`` (the grid axes) and ``epoch``."""
        xr = require("xarray", "io", "CanonicalTrainResult.to_xarray")
        grid = tuple(f"run_{k}" for k in range(self.r_final.ndim))
        data = {
            "r": (grid + ("epoch",), self.r),
            "loss": (grid + ("epoch",), self.loss),
            "r_final": (grid, self.r_final),
            "arrival_epoch": (grid, self.arrival_epoch),
            "trapped": (grid, self.trapped),
            "diverged": (grid, self.diverged),
            "r0": (grid, self.r0),
            "lr": (grid, self.lr),
        }
        attrs = {k: v for k, v in self.config.items() if isinstance(v, (int, float, str, bool))}
        attrs.update(version=self.version, interrupted=int(self.interrupted), seed_entropy=str(self.seed_entropy))
        return xr.Dataset(data, coords={"epoch": self.epochs_recorded}, attrs=attrs)


def _record_epochs(epochs: int, record_every: int, record_epochs: Union[Sequence[int], np.ndarray, None]) -> np.ndarray:
    if record_epochs is None:
        rec = np.arange(0, epochs + 1, record_every, dtype=np.int64)
        if rec[-1] != epochs:
            rec = np.append(rec, np.int64(epochs))
        return rec
    try:
        rec = np.asarray(record_epochs)
    except (TypeError, ValueError, OverflowError) as err:
        raise TypeError("record_epochs must be a 1-D sequence of integers") from err
    if rec.ndim != 1 or not np.issubdtype(rec.dtype, np.integer):
        raise TypeError("record_epochs must be a 1-D sequence of integers")
    rec = rec.astype(np.int64)
    if rec.size and (np.any(np.diff(rec) <= 0) or rec[0] < 0 or rec[-1] > epochs):
        raise ValueError(f"record_epochs must be strictly increasing and within [0, epochs={epochs}]")
    return rec


def train(
    r0: Optional[ArrayLike],
    lr: ArrayLike,
    T: float,
    epochs: int,
    normalized: bool = True,
    confidence: Optional[ArrayLike] = None,
    seed: SeedLike = None,
    n_threads: Optional[int] = None,
    record_every: int = 1,
    threshold: float = 10.0,
    dt: float = 0.1,
    progress: Optional[bool] = None,
    *,
    record_epochs: Union[Sequence[int], np.ndarray, None] = None,
    max_memory: float = DEFAULT_MAX_MEMORY,
) -> CanonicalTrainResult:
    """Plain gradient descent r <- r - lr g(r) for every broadcast (r0, lr[, confidence]) run at once.

    Parameters
    ----------
    r0 : array_like or None
        Initial r. None draws r0 = 10 r* (1 + 0.1 z), z ~ N(0, 1) from ``seed`` (one per lr entry); this
        is the only use of ``seed`` (kept for API symmetry; recorded in ``seed_entropy``).
    lr : array_like
        Learning rates >= 0 (broadcast with ``r0``).
    T : float
        Delay (> 0).
    epochs : int
        Number of updates (>= 0).
    normalized : bool
        True: gradient of the T-normalised loss; False: the paper code's gradient (no 1/T).
    confidence : array_like, optional
        None: sharp-limit gradient (:func:`loss_grad`). A value a > 0 (broadcast with r0, lr): the exact
        gradient of the Euler-simulated loss (:func:`simulate`, one simulation per epoch), times T when
        ``normalized=False``.
    seed : int, numpy.random.SeedSequence or None
        Seed of the random r0 (only used when ``r0`` is None).
    n_threads : int or None
        OpenMP threads (None: ``OMP_NUM_THREADS`` or all cores).
    record_every : int
        Record every k-th epoch (0, k, 2k, ...; the final epoch is always recorded).
    threshold, dt : float
        Readout threshold x_th and Euler step of the finite-confidence simulation.
    progress : bool or None
        A tqdm bar over runs (None: only in an interactive terminal or notebook). Ctrl-C stops every run within
        256 epochs and returns them (``interrupted=True``).
    record_epochs : sequence of int, optional
        Explicit, strictly increasing epochs to record instead (overrides ``record_every``).
    max_memory : float
        Bytes the histories may take; above it a ValueError is raised before any work.

    Returns
    -------
    CanonicalTrainResult
        ``r`` and ``loss`` histories (runs first, records last, at ``epochs_recorded``), ``r_final``,
        ``arrival_epoch``, ``trapped`` and ``diverged`` flags.

    Examples
    --------
    >>> T = 100.0
    >>> res = train(10 * optimal_r(T), [1e-10, 1e-9], T, 3000, normalized=False, record_every=100)
    >>> res.trapped.tolist(), res.loss[:, -1].round(3).tolist()[1]
    ([False, True], 1.0)
    """
    T, threshold, dt = _check_sim_args(T, threshold, dt)
    epochs = check_int(epochs, "epochs", minimum=0, maximum=INT64_MAX - 1)
    record_every = check_int(record_every, "record_every", minimum=1)
    normalized = check_bool(normalized, "normalized")
    lr_arr = _float_array(lr, "lr")
    if np.any(lr_arr < 0):
        raise ValueError("lr must be >= 0")
    entropy = None
    if r0 is None:
        ss = _seed_sequence(seed)
        entropy = ss.entropy
        z = np.random.default_rng(ss).standard_normal(lr_arr.shape)
        r0_arr = 10.0 * float(optimal_r(T)) * (1.0 + 0.1 * z)
    else:
        r0_arr = _float_array(r0, "r0")
    arrays, names = [r0_arr, lr_arr], ["r0", "lr"]
    if confidence is not None:
        arrays.append(_confidence_array(confidence))
        names.append("confidence")
    broadcast = _broadcast(arrays, names)
    shape = broadcast[0].shape
    n_runs = int(np.prod(shape, dtype=np.int64))
    threads = check_threads(n_threads)
    if progress is not None:
        progress = check_bool(progress, "progress")
    max_memory = check_real(max_memory, "max_memory", positive=True, finite=False)
    # r and loss histories [n_runs, n_rec] plus a few per-run outputs, allocated before the C++ loop starts
    rec = None if record_epochs is None else _record_epochs(epochs, record_every, record_epochs)
    n_rec_max = epochs // record_every + 2 if rec is None else rec.size
    check_memory(
        n_runs * (n_rec_max * 2 * 8 + 64),
        max_memory,
        f"canonical.train's histories ({n_runs} runs x {n_rec_max} recorded epochs)",
        "raise record_every, pass record_epochs, or raise max_memory",
    )
    if rec is None:
        rec = _record_epochs(epochs, record_every, None)
    flat_conf = broadcast[2].ravel() if confidence is not None else None

    def call(control: Any) -> dict:
        return _core.canonical_train(
            broadcast[0].ravel(),
            broadcast[1].ravel(),
            flat_conf,
            T,
            epochs,
            normalized,
            rec,
            threshold,
            dt,
            threads,
            control,
        )

    out, interrupted = run_with_control(call, total=n_runs, progress=progress, desc="canonical.train")
    if interrupted:
        warnings.warn(
            f"canonical.train interrupted: {int(np.sum(out['completed']))} of {n_runs} runs finished "
            "(the others stopped early: result.interrupted is True)",
            RuntimeWarning,
            stacklevel=2,
        )
    n_rec = rec.size
    config = dict(
        T=T,
        epochs=epochs,
        normalized=normalized,
        threshold=threshold,
        dt=dt,
        record_every=record_every,
        gradient="sharp" if confidence is None else "simulated",
        confidence=None if confidence is None else broadcast[2],
    )
    return CanonicalTrainResult(
        r=out["r"].reshape(shape + (n_rec,)),
        loss=out["loss"].reshape(shape + (n_rec,)),
        epochs_recorded=rec,
        r_final=out["r_final"].reshape(shape),
        arrival_epoch=out["arrival_epoch"].reshape(shape),
        trapped=out["trapped"].astype(bool).reshape(shape),
        diverged=out["diverged"].astype(bool).reshape(shape),
        r0=broadcast[0],
        lr=broadcast[1],
        interrupted=bool(interrupted or not np.all(out["completed"])),
        config=config,
        seed_entropy=entropy,
        version=__version__,
        n_threads=threads if threads > 0 else int(_core.default_threads()),
    )


# ---------------------------------------------------------------------------------------------- lr sweep


@dataclass(frozen=True)
class LRSweepResult:
    """Fig 2D-style sweep. Axes: [lr, seed, record]. ``mean_loss``/``sem_loss``: [lr, record] over seeds.

    ``loss[i, j, k]`` is the loss of run (lrs[i], seed j) at epoch ``record_epochs[k]`` counted like the
    paper's training loop (1-based; the loss is computed before that epoch's update), i.e. the loss of r
    after ``record_epochs[k] - 1`` updates. ``trapped``/``arrival_epoch`` refer to the end of all epochs.
    """

    lrs: np.ndarray
    record_epochs: np.ndarray
    r0: np.ndarray
    loss: np.ndarray
    mean_loss: np.ndarray
    sem_loss: np.ndarray
    trapped: np.ndarray
    trapped_fraction: np.ndarray
    arrival_epoch: np.ndarray
    arrived_fraction: np.ndarray
    T: float
    normalized: bool
    seeding: str
    seed_entropy: Entropy
    version: str
    interrupted: bool

    def to_xarray(self) -> Any:
        """An ``xarray.Dataset`` with dims ``lr``, ``seed`` and ``epoch``."""
        xr = require("xarray", "io", "LRSweepResult.to_xarray")
        return xr.Dataset(
            {
                "loss": (("lr", "seed", "epoch"), self.loss),
                "mean_loss": (("lr", "epoch"), self.mean_loss),
                "sem_loss": (("lr", "epoch"), self.sem_loss),
                "trapped": (("lr", "seed"), self.trapped),
                "trapped_fraction": ("lr", self.trapped_fraction),
                "r0": (("lr", "seed"), self.r0),
                "arrival_epoch": (("lr", "seed"), self.arrival_epoch),
            },
            coords={"lr": self.lrs, "seed": np.arange(self.loss.shape[1]), "epoch": self.record_epochs},
            attrs={
                "T": self.T,
                "normalized": int(self.normalized),
                "seeding": self.seeding,
                "seed_entropy": str(self.seed_entropy),
                "version": self.version,
            },
        )


def _initial_r(
    T: float, n_lrs: int, n_seeds: int, r0_mean: float, r0_std: float, seeding: str, seed: SeedLike
) -> Tuple[np.ndarray, Entropy]:
    """r0[i, j] = r0_mean r* + (r0_std r*) z[i, j], z from the chosen seeding (see lr_sweep)."""
    r_star = float(optimal_r(T))
    z = np.empty((n_lrs, n_seeds))
    entropy = None
    if seeding == "paper":
        for i in range(n_lrs):
            # np.random.seed(i) then one legacy randn() per repeat, in repeat order (the paper's loop).
            z[i] = np.random.RandomState(i).randn(n_seeds)
    else:
        ss = _seed_sequence(seed)
        entropy = ss.entropy
        children = ss.spawn(n_lrs)
        for i, child in enumerate(children):
            z[i] = np.random.default_rng(child).standard_normal(n_seeds)
    return r0_mean * r_star + z * (r0_std * r_star), entropy


def lr_sweep(
    T: float,
    lrs: ArrayLike,
    n_seeds: int = 10,
    epochs: int = 10000,
    normalized: bool = True,
    seed: SeedLike = None,
    record_epochs: Sequence[int] = (1000, 2000, 3000, 5000, 10000),
    *,
    seeding: str = "modern",
    r0_mean: float = 10.0,
    r0_std: float = 0.1,
    n_threads: Optional[int] = None,
    progress: Optional[bool] = None,
) -> LRSweepResult:
    """Learning-rate sweep of the sharp-limit model like the paper's Fig 2D (all runs in one C++ call).

    For each lr index i, ``n_seeds`` runs start at r0 = r0_mean r* + r0_std r* z (paper: 10 r* + N(0, (r*/10)^2)).
    The loss "at epoch E" is that of the E-th epoch's forward pass (r after E - 1 updates), as in a loop that
    appends the loss before each update. Below the critical lr the runs end on short cycles around r*
    (period 3 near 8.7e-10 at T = 100), so a single-epoch read-out depends on the cycle phase, which itself
    depends on rounding (e.g. ``r**1.5`` vs ``r*sqrt(r)``): compare such values statistically.

    Parameters
    ----------
    T : float
        Delay (> 0).
    lrs : array_like
        Learning rates (1-D, > 0).
    n_seeds : int
        Runs per learning rate.
    epochs : int
        Updates per run.
    normalized : bool
        The paper's Fig 2D grid logspace(-11, -8, 100) is in the code convention: pass normalized=False.
    seed : int, numpy.random.SeedSequence or None
        Seed of the starting points (``seeding="modern"`` only).
    record_epochs : sequence of int
        Epochs (1-based) at which the loss is reported.
    seeding : {"modern", "paper"}
        "modern": z for lr index i from ``default_rng(SeedSequence(seed).spawn(n_lrs)[i])``.
        "paper": ``np.random.seed(i)`` per lr index and one legacy ``np.random.randn()`` per repeat, in
        repeat order (``seed`` is ignored). This is our reading of the paper's script; its exact arithmetic
        for r0 (e.g. ``10*r_star + randn()*r_star/10``) may differ from ours in the last bit.
    r0_mean, r0_std : float
        Starting points r0 = r0_mean r* + r0_std r* z, z ~ N(0, 1).
    n_threads : int or None
        OpenMP threads (None: default).
    progress : bool or None
        A tqdm bar (None: only in an interactive terminal or notebook).

    Returns
    -------
    LRSweepResult
        ``loss`` (lr, seed, record), ``mean_loss`` and ``sem_loss`` (lr, record), ``trapped`` (lr, seed),
        ``trapped_fraction`` (lr,), starting points and arrival epochs.

    Examples
    --------
    >>> res = lr_sweep(100.0, [1e-10, 1e-9], n_seeds=3, epochs=3000, normalized=False,
    ...                record_epochs=[3000], seed=0)
    >>> res.trapped_fraction.tolist()
    [0.0, 1.0]
    """
    T = _scalar_delay(T)
    lrs_arr = _float_array(lrs, "lrs")
    if lrs_arr.ndim != 1:
        raise ValueError(f"lrs must be a 1-D array, got shape {lrs_arr.shape}")
    n_seeds = check_int(n_seeds, "n_seeds", minimum=1)
    epochs = check_int(epochs, "epochs", minimum=0)
    if seeding not in ("modern", "paper"):
        raise ValueError(f"seeding must be 'modern' or 'paper', got {seeding!r}")
    r0_mean = check_real(r0_mean, "r0_mean")
    r0_std = check_real(r0_std, "r0_std", nonnegative=True)
    if isinstance(record_epochs, (str, bytes)) or not isinstance(record_epochs, (Sequence, np.ndarray, range)):
        raise TypeError(f"record_epochs must be a sequence of ints, got {type(record_epochs).__name__}")
    rec = _record_epochs(epochs, 1, list(record_epochs))
    if rec.size == 0 or rec[0] < 1:
        raise ValueError("record_epochs must be >= 1 (epoch E is the loss of the E-th epoch's forward pass)")
    n_runs = lrs_arr.size * n_seeds
    check_memory(
        n_runs * (rec.size * 2 * 8 + 96),
        DEFAULT_MAX_MEMORY,
        f"lr_sweep's {n_runs} runs",
        "use fewer n_seeds, lrs or record_epochs",
    )
    r0, entropy = _initial_r(T, lrs_arr.size, n_seeds, r0_mean, r0_std, seeding, seed)
    # Epoch E (1-based, as in the paper's per-epoch loss list) evaluates r after E - 1 updates.
    res = train(
        r0,
        lrs_arr[:, None],
        T,
        epochs,
        normalized=normalized,
        n_threads=n_threads,
        record_epochs=rec - 1,
        progress=progress,
    )
    L = res.loss
    mean = L.mean(axis=1)
    sem = L.std(axis=1, ddof=1) / np.sqrt(n_seeds) if n_seeds > 1 else np.full_like(mean, np.nan)
    arrived = res.arrival_epoch >= 0
    return LRSweepResult(
        lrs=lrs_arr,
        record_epochs=rec,
        r0=r0,
        loss=L,
        mean_loss=mean,
        sem_loss=sem,
        trapped=res.trapped,
        trapped_fraction=res.trapped.mean(axis=1),
        arrival_epoch=res.arrival_epoch,
        arrived_fraction=arrived.mean(axis=1),
        T=T,
        normalized=bool(normalized),
        seeding=seeding,
        seed_entropy=entropy,
        version=__version__,
        interrupted=res.interrupted,
    )


# ---------------------------------------------------------------------------------------------- critical lr


@dataclass(frozen=True)
class CriticalLRResult:
    """Empirical critical lr (50 % of runs trapped) next to the analytic 3 pi^4 / (32 T^4 or T^5).

    ``lr_critical`` is the geometric midpoint of the final bracket [lr_below, lr_above] where the trapped
    fraction is < 0.5 at lr_below and >= 0.5 at lr_above. ``grid_lrs``/``grid_fraction``: the coarse scan.
    """

    T: float
    normalized: bool
    lr_critical: float
    lr_below: float
    lr_above: float
    analytic: float
    ratio: float
    grid_lrs: np.ndarray
    grid_fraction: np.ndarray
    n_evaluations: int
    n_seeds: int
    epochs: int
    seed_entropy: Entropy


def empirical_critical_lr(
    T: float,
    normalized: bool = True,
    n_seeds: int = 20,
    epochs: int = 20000,
    seed: SeedLike = None,
    *,
    r0_mean: float = 10.0,
    r0_std: float = 1.0,
    grid: Sequence[float] = tuple(np.geomspace(0.7, 1.5, 9)),
    rtol: float = 1e-3,
    n_threads: Optional[int] = None,
) -> CriticalLRResult:
    """Learning rate at which the fraction of trapped runs (r < r*/4 after ``epochs``) crosses 50 %.

    Runs start at r0 = r0_mean r* + r0_std r* z (default 10 r* (1 + N(0, 0.01)), 10 r* as in the paper's
    Fig. 2 runs), the same ``n_seeds`` starting points for every lr. A coarse scan over ``grid`` x the analytic
    critical lr (one parallel C++ call) brackets the first crossing of 0.5 (widened by factors of 2 if
    needed); bisection in log lr then narrows the bracket to a relative width ``rtol`` (each step one train
    call over seeds).

    Because the sharp-limit GD map is exactly scale-invariant in rho = r / r*, the same ``seed`` at a
    different T gives the same standardised starting points (used by :func:`fit_critical_lr_scaling`).

    Parameters
    ----------
    T : float
        Delay (> 0).
    normalized : bool
        True: normalised-loss gradient; False: the paper code's convention.
    n_seeds : int
        Runs per learning rate.
    epochs : int
        Updates per run before the trapped fraction is counted.
    seed : int, numpy.random.SeedSequence or None
        Seed of the starting points.
    r0_mean, r0_std : float
        Starting points r0 = r0_mean r* + r0_std r* z, z ~ N(0, 1).
    grid : sequence of float
        Coarse scan, in units of the analytic critical lr.
    rtol : float
        Relative width of the final bracket.
    n_threads : int or None
        OpenMP threads (None: default).

    Returns
    -------
    CriticalLRResult
        ``lr_critical``, ``analytic`` and their ``ratio``, the bracket (``lr_below``, ``lr_above``) and the
        coarse scan (``grid_lrs``, ``grid_fraction``).

    Examples
    --------
    >>> res = empirical_critical_lr(100.0, normalized=False, n_seeds=10, epochs=5000, seed=0)
    >>> bool(0.9 < res.ratio < 1.1)
    True
    """
    T = _scalar_delay(T)
    normalized = check_bool(normalized, "normalized")
    n_seeds = check_int(n_seeds, "n_seeds", minimum=1)
    epochs = check_int(epochs, "epochs", minimum=1)
    rtol = check_real(rtol, "rtol", positive=True)
    if rtol < 1e-12:
        raise ValueError(f"rtol must be >= 1e-12 (float64 bisection cannot resolve less), got {rtol}")
    grid_arr = _float_array(grid, "grid")
    if grid_arr.ndim != 1 or grid_arr.size < 2 or np.any(grid_arr <= 0) or np.any(np.diff(grid_arr) <= 0):
        raise ValueError("grid must be a strictly increasing 1-D sequence of at least 2 positive factors")
    check_memory(
        n_seeds * grid_arr.size * 96,
        DEFAULT_MAX_MEMORY,
        f"empirical_critical_lr's {n_seeds} seeds x {grid_arr.size} grid points",
        "use fewer n_seeds",
    )
    ss = _seed_sequence(seed)
    analytic = float(critical_lr(T, normalized))
    r0, _ = _initial_r(
        T, 1, n_seeds, check_real(r0_mean, "r0_mean"), check_real(r0_std, "r0_std", nonnegative=True), "modern", ss
    )
    r0 = r0[0]
    n_eval = 0

    def fractions(lrs: np.ndarray) -> np.ndarray:
        nonlocal n_eval
        n_eval += lrs.size
        res = train(
            r0[None, :],
            lrs[:, None],
            T,
            epochs,
            normalized=normalized,
            n_threads=n_threads,
            record_epochs=[epochs],
            progress=False,
        )
        if res.interrupted:  # Ctrl-C: a partial scan would mislead the bisection; stop the whole search
            raise KeyboardInterrupt
        return res.trapped.mean(axis=1)

    grid_lrs = grid_arr * analytic
    frac = fractions(grid_lrs)
    for _ in range(20):  # widen until the scan starts below 50 % and ends at or above it
        if frac[0] >= 0.5:
            grid_lrs = np.concatenate([[grid_lrs[0] / 2.0], grid_lrs])
            frac = np.concatenate([fractions(grid_lrs[:1]), frac])
        elif not np.any(frac >= 0.5):
            grid_lrs = np.concatenate([grid_lrs, [grid_lrs[-1] * 2.0]])
            frac = np.concatenate([frac, fractions(grid_lrs[-1:])])
        else:
            break
    else:
        raise ValueError(
            "could not bracket the 50 % trapped crossing within 2^20 of the grid: try more epochs, a "
            "wider grid or other r0_mean / r0_std"
        )
    first = int(np.argmax(frac >= 0.5))
    lo, hi = float(grid_lrs[first - 1]), float(grid_lrs[first])
    for _ in range(200):  # rtol >= 1e-12 needs at most ~50 halvings of log(hi / lo) <= log(2^20 * 1.5 / 0.7)
        if not hi / lo > 1.0 + rtol:
            break
        mid = math.sqrt(lo * hi)
        if fractions(np.array([mid]))[0] >= 0.5:
            hi = mid
        else:
            lo = mid
    lr_c = math.sqrt(lo * hi)
    return CriticalLRResult(
        T=T,
        normalized=normalized,
        lr_critical=lr_c,
        lr_below=lo,
        lr_above=hi,
        analytic=analytic,
        ratio=lr_c / analytic,
        grid_lrs=grid_lrs,
        grid_fraction=frac,
        n_evaluations=n_eval,
        n_seeds=n_seeds,
        epochs=epochs,
        seed_entropy=ss.entropy,
    )


@dataclass(frozen=True)
class ScalingFit:
    """Power law lr_c = prefactor * T^exponent fitted by least squares in log-log, with 95 % t intervals."""

    Ts: np.ndarray
    lr_critical: np.ndarray
    exponent: float
    exponent_se: float
    exponent_ci: Tuple[float, float]
    prefactor: float
    prefactor_ci: Tuple[float, float]
    analytic_exponent: int
    analytic_prefactor: float
    results: Tuple[CriticalLRResult, ...]


def fit_critical_lr_scaling(
    Ts: Sequence[float] = (25.0, 50.0, 100.0, 200.0, 400.0),
    normalized: bool = True,
    n_seeds: int = 20,
    epochs: int = 20000,
    seed: SeedLike = None,
    *,
    common_random_numbers: bool = True,
    n_threads: Optional[int] = None,
    **kwargs: Any,
) -> ScalingFit:
    """Empirical critical lr at each T and a log-log least-squares fit lr_c = A T^p (95 % t-based CI).

    With ``common_random_numbers`` (default) the same seed is used at every T, so the standardised starting
    points r0 / r* are identical and, the GD map being scale-invariant, the exponent comes out -5 (or -4) by
    construction: the fit then checks the implementation (its residuals are only rounding and bisection
    width). ``False`` gives each T its own child of ``SeedSequence(seed)``, so each T is an independent
    measurement and the confidence interval reflects sampling noise. Analytic: p = -4 (normalised) or -5
    (code), A = 3 pi^4 / 32. With fewer than 3 T values the standard errors are NaN.

    Parameters
    ----------
    Ts : sequence of float
        At least two delays.
    normalized : bool
        True: normalised-loss gradient; False: the paper code's convention.
    n_seeds, epochs : int
        As in :func:`empirical_critical_lr`.
    seed : int, numpy.random.SeedSequence or None
        Seed of the starting points.
    common_random_numbers : bool
        The same draws at every T (True) or independent draws per T (False).
    n_threads : int or None
        OpenMP threads (None: default).
    **kwargs
        Passed to :func:`empirical_critical_lr`.

    Returns
    -------
    ScalingFit
        Per-T results, the fitted exponent and prefactor with standard errors and 95 % intervals, and the
        analytic values.

    Examples
    --------
    >>> fit = fit_critical_lr_scaling([50.0, 100.0, 200.0], normalized=False, n_seeds=10, epochs=5000, seed=0)
    >>> round(fit.exponent, 2)
    -5.0
    """
    try:
        Ts_arr = _delay(Ts)
    except (TypeError, ValueError) as err:
        raise type(err)(f"Ts: {err}") from None
    if Ts_arr.ndim != 1 or Ts_arr.size < 2:
        raise ValueError("Ts must be a 1-D sequence of at least 2 delays")
    ss = _seed_sequence(seed)
    if check_bool(common_random_numbers, "common_random_numbers"):
        seeds = [ss for _ in Ts_arr]  # empirical_critical_lr copies it: identical draws at every T
    else:
        seeds = ss.spawn(Ts_arr.size)
    results = tuple(
        empirical_critical_lr(float(T), normalized, n_seeds, epochs, s, n_threads=n_threads, **kwargs)
        for T, s in zip(Ts_arr, seeds)
    )
    lr_c = np.array([r.lr_critical for r in results])
    fit = power_law_fit(Ts_arr, lr_c)
    return ScalingFit(
        Ts=Ts_arr,
        lr_critical=lr_c,
        exponent=fit.exponent,
        exponent_se=fit.exponent_se,
        exponent_ci=fit.exponent_ci95,
        prefactor=fit.prefactor,
        prefactor_ci=fit.prefactor_ci95,
        analytic_exponent=-4 if normalized else -5,
        analytic_prefactor=3.0 * math.pi**4 / 32.0,
        results=results,
    )
