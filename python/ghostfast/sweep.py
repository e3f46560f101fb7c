"""Many trainings at once: grids over learning rate x seed x any model or task field, in parallel.

Every grid point is one ``rnn.TrainJob``; a chunk of grid points is ONE ``rnn.train_many`` call (OpenMP over
runs, GIL released). Chunks run locally (``backend="local"``) or on a ``dask.distributed`` cluster
(``backend="dask"``). With ``out=`` each finished chunk is written to disk atomically and a rerun of the
same call resumes. Results never depend on threads, chunking, resume or backend (see :func:`sweep`).

Also: :func:`critical_lr` (the learning rate above which most seeds end in the no-learning zone) and
:func:`critical_lr_scaling` (its power law in the delay T of the delayed-activation task).
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union, cast

import numpy as np

from . import __version__
from . import metrics as _metrics
from ._optional import require
from ._progress import bar_class, progress_default, run_with_control
from ._seeding import seed_key
from ._stats import PowerLawFit, power_law_fit, student_t_cdf, student_t_ppf
from ._sweep_grid import GridSpec, build_spec, config_hash, plain, run_chunk
from ._sweep_result import (
    DROP_FRACTION,
    TRAP_GRAD_TOL,
    TRAP_LOSS_FRACTION,
    Collector,
    SweepResult,
    drop_epochs,
    load,
    trapped_mask,
)
from ._sweep_store import Store
from ._validation import DEFAULT_MAX_MEMORY, check_choice, check_int, check_real, check_threads, fmt_bytes

__all__ = [
    "sweep",
    "SweepResult",
    "load",
    "drop_epochs",
    "trapped_mask",
    "critical_lr",
    "CriticalLR",
    "critical_lr_scaling",
    "CriticalLRScaling",
    "power_law_fit",
    "PowerLawFit",
    "student_t_cdf",
    "student_t_ppf",
    "estimate_memory",
]

logger = logging.getLogger("ghostfast.sweep")

BACKENDS = ("local", "dask")
CHUNK_BYTES = 256 * 2**20  # default cap on the histories one train_many call returns
LANE_GROUP = 16  # the most runs one SIMD lane group trains together (float32 on AVX-512)
_HISTORY_COUNT = 4  # loss, grad_norm, accuracy, weight_norm


def _n_records_estimate(epochs: int, record_every: int) -> int:
    # Epochs 0, r, 2r, ... < epochs (the engine's result decides the exact count; this sizes the estimate).
    return -(-epochs // record_every) if epochs > 0 else 0


def estimate_memory(spec: GridSpec) -> int:
    """Bytes the result arrays of a sweep will take (histories, plus final params with keep_params).

    :func:`sweep` logs this estimate before any work starts and refuses a sweep above ``max_memory``.

    Parameters
    ----------
    spec : GridSpec
        The expanded grid (built from a :func:`sweep` call's arguments by ``ghostfast._sweep_grid.build_spec``).

    Returns
    -------
    int
        Bytes.

    Examples
    --------
    >>> from ghostfast import rnn, tasks
    >>> from ghostfast._sweep_grid import build_spec
    >>> spec, _ = build_spec(rnn.Model(N=10), tasks.delayed_activation(3), 1000, [1e-2, 2e-2], range(4), "sgd",
    ...                      10, False, {})
    >>> estimate_memory(spec)                          # 8 runs x 100 records x 4 histories x 8 bytes + 64 per run
    26112
    """
    n_rec = _n_records_estimate(spec.epochs, spec.record_every)
    total = spec.n_runs * (n_rec * _HISTORY_COUNT * 8 + 64)
    if spec.keep_params:
        from . import rnn

        per_model = {
            k: sum(np.asarray(v).nbytes for v in rnn.init_params(m, 0).values()) for k, m in spec.models.items()
        }
        # every model-axis combination appears equally often in the grid
        total += spec.n_runs // len(per_model) * sum(per_model.values())
    return int(total)


_fmt_bytes = fmt_bytes


def _chunks(pending: Sequence[int], size: int) -> List[List[int]]:
    return [list(pending[i : i + size]) for i in range(0, len(pending), size)]


def sweep(
    model: Any,
    task: Any,
    epochs: int,
    lr: Any,
    seed: Any = (0,),
    *,
    n_threads: Optional[int] = None,
    progress: Optional[bool] = None,
    out: Union[str, os.PathLike, None] = None,
    backend: str = "local",
    client: Any = None,
    chunk_size: Optional[int] = None,
    record_every: int = 1,
    optimizer: Any = "sgd",
    keep_params: bool = False,
    init_scheme: Any = None,
    overwrite: bool = False,
    max_memory: float = DEFAULT_MAX_MEMORY,
    drop_fraction: float = DROP_FRACTION,
    trap_loss_fraction: float = TRAP_LOSS_FRACTION,
    trap_grad_tol: float = TRAP_GRAD_TOL,
    **grid: Any,
) -> SweepResult:
    """Train every point of a grid (lr x seed x optimizer x model/task fields) in parallel.

    Parameters
    ----------
    model : rnn.Model
        The base model; ``**grid`` entries naming Model fields replace them per grid point.
    task : tasks.Task or callable
        A fixed Task, or a task factory (e.g. ``tasks.delayed_activation``) whose keyword parameters may be
        swept in ``**grid`` (``task=tasks.delayed_activation, T=[10, 20, 40]``). Fix other factory arguments
        with ``functools.partial``. A name that is both a Model field and a factory parameter (``n_in`` for
        ``tasks.dcdt``) must be written ``model__n_in`` or ``task__n_in``.
    epochs : int >= 0
    lr : float or sequence of float > 0
    seed : int or sequence of distinct ints >= 0
        Initial parameters are ``rnn.init_params(model, seed, scheme=init_scheme)``: the same network for
        every lr (as in the paper). The noise / initial-state stream of run ``i`` is
        ``Rng(seed_key(seed), stream=i)`` where ``i`` is the run's flat index in the full grid (C order over
        the axes). A grid point's result therefore
        depends only on its own config, seed and index: never on ``n_threads``, ``chunk_size``, resume or
        ``backend``.
    n_threads : int or None
        OpenMP threads per ``train_many`` call (local: None = all cores; dask: None = 1 per worker task).
    progress : bool or None
        tqdm bar over finished runs (None: on in a terminal, off in CI).
    out : path or None
        Directory for checkpoints: every finished chunk is written atomically with a manifest holding the
        config hash; rerunning the same call resumes, skipping finished runs. A different sweep at the
        same path raises ValueError unless ``overwrite=True`` (which discards the stored runs).
    backend : {"local", "dask"}
        "dask" sends chunks to ``client`` (a ``dask.distributed.Client``; None: a LocalCluster made for the
        call and closed after). Needs ``pip install 'ghostfast[dask]'``.
    chunk_size : int or None
        Runs per ``train_many`` call. None: all pending runs in one call (local, no ``out``), else about 1/16
        of them (at least the thread count), so checkpoints and dask tasks are frequent enough; in both cases
        capped so one call's histories stay under ~256 MiB (peak memory stays near the result's size).
    record_every : int >= 1
        Histories keep every ``record_every``-th epoch.
    optimizer : "sgd", "adam" or a list of them (a list becomes an axis right after ``seed``)
    keep_params : bool
        Keep the final parameters of every run (``result.params``).
    init_scheme : None, str or dict
        ``scheme`` of ``rnn.init_params`` (e.g. "torch": the paper's PyTorch draws for the rank-one model, so
        seed s is the paper's seed s).
    max_memory : float
        Refuse (ValueError) when the result arrays would exceed this many bytes (default 8 GiB). The estimate
        is logged (logger ``ghostfast.sweep``, level INFO) before any work starts.
    drop_fraction, trap_loss_fraction, trap_grad_tol : float
        Thresholds of the derived flags ``drop_epoch`` and ``trapped`` (see :class:`SweepResult` and
        :mod:`ghostfast.metrics`; ``trap_grad_tol`` is relative to each run's largest gradient norm).
    **grid : sequences
        Axes over Model fields (``rank=[1, 2, 5]``, ``confidence=[...]``) or task factory parameters
        (``T=[10, 20, 40]``). The result's axes are ``lr, seed, [optimizer], *grid`` in that order.

    Returns
    -------
    SweepResult
        On Ctrl-C: the finished runs (others NaN, ``done`` False), ``interrupted=True`` and a RuntimeWarning
        saying how many finished.

    Examples
    --------
    >>> from ghostfast import rnn, tasks, sweep
    >>> model = rnn.Model(N=100, rank=1, alpha=0.5, readout="latent", confidence=10.0, threshold=1.0,
    ...                   read="after", x0=-0.3)
    >>> res = sweep.sweep(model, tasks.delayed_activation(T=20), epochs=200, lr=[1e-2, 2e-2], seed=range(3))
    >>> res.loss.shape          # (lr, seed, record)
    (2, 3, 200)
    """
    backend = check_choice(backend, "backend", BACKENDS)
    if client is not None and backend != "dask":
        raise ValueError("client is only used with backend='dask' (got backend='local')")
    threads = check_threads(n_threads)
    if chunk_size is not None:
        chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
    max_memory = check_real(max_memory, "max_memory", positive=True, finite=False)
    flags = {
        "drop_fraction": check_real(drop_fraction, "drop_fraction", positive=True),
        "trap_loss_fraction": check_real(trap_loss_fraction, "trap_loss_fraction", positive=True),
        "trap_grad_tol": check_real(trap_grad_tol, "trap_grad_tol", positive=True),
    }
    spec, config = build_spec(
        model, task, epochs, lr, seed, optimizer, record_every, keep_params, grid, init_scheme=init_scheme
    )
    digest = config_hash(config)  # flags are derived at assembly: changing them does not invalidate a resume
    config = {**config, "flags": flags, "config_hash": digest}

    need = estimate_memory(spec)
    # The estimate is shown before any work starts: in the progress bar's label and in the INFO log.
    label = f"sweep [{spec.n_runs} runs x {spec.epochs} epochs, results {_fmt_bytes(need)}]"
    logger.info("sweep: %d runs x %d epochs, result arrays %s", spec.n_runs, spec.epochs, _fmt_bytes(need))
    if need > max_memory:
        raise ValueError(
            f"max_memory: this sweep's result arrays need {_fmt_bytes(need)} "
            f"({spec.n_runs} runs), above max_memory={_fmt_bytes(max_memory)}; raise record_every, "
            "split the grid, or raise max_memory"
        )

    store = Store(out, config, digest, overwrite=overwrite) if out is not None else None
    n_rec = _n_records_estimate(spec.epochs, spec.record_every)
    collector = Collector(spec.shape, n_rec, spec.keep_params)
    if store is not None:
        for stored in store.read(spec.n_runs, spec.keep_params):
            collector.add(stored)
    pending = [int(i) for i in np.flatnonzero(~collector.done)]
    if store is not None and len(pending) < spec.n_runs:
        logger.info(
            "sweep: resuming from %s: %d of %d runs already finished",
            store.path,
            spec.n_runs - len(pending),
            spec.n_runs,
        )

    interrupted = False
    if pending:
        if chunk_size is None:
            width = max(1, threads or _default_threads()) if backend == "local" else 1
            # Each finished chunk's TrainResults (histories + per-group gradient norms) live until it is
            # collected: cap a chunk's histories at ~CHUNK_BYTES so peak memory stays near the result's size.
            per_run = max(1, n_rec) * 8 * 8
            cap = max(width, CHUNK_BYTES // per_run)
            if backend == "local" and store is None:
                chunk_size = min(len(pending), cap)
            else:
                chunk_size = min(max(width, -(-len(pending) // 16)), cap)
            # runs of one small shape train together in SIMD lane groups of up to LANE_GROUP: whole groups
            chunk_size = min(len(pending), cap, -(-chunk_size // LANE_GROUP) * LANE_GROUP)
        chunk_list = _chunks(pending, chunk_size)
        if backend == "local":
            interrupted = _run_local(spec, chunk_list, n_threads, progress, store, len(pending), collector.add, label)
        else:
            interrupted = _run_dask(
                spec, chunk_list, n_threads, progress, store, client, len(pending), collector.add, label + " (dask)"
            )

    seeds = next(a.values for a in spec.axes if a.kind == "seed")
    result = collector.finish(
        {a.name: tuple(a.values) for a in spec.axes},
        config=config,
        seed_entropy=np.array([seed_key(s).entropy for s in seeds], dtype=np.int64),
        version=__version__,
        interrupted=interrupted,
        flags=flags,
    )
    if interrupted:
        n_done = int(result.done.sum())
        where = f"; rerun the same call to resume from {store.path}" if store is not None else ""
        warnings.warn(
            f"sweep interrupted: {n_done} of {spec.n_runs} runs finished (the others are NaN){where}",
            RuntimeWarning,
            stacklevel=2,
        )
    n_div = int(result.diverged.sum())
    if n_div:
        logger.info("sweep: %d run(s) diverged (flagged in result.diverged)", n_div)
    return result


def _default_threads() -> int:
    from . import _core

    return int(_core.default_threads())


def _run_local(
    spec: GridSpec,
    chunk_list: List[List[int]],
    n_threads: Optional[int],
    progress: Optional[bool],
    store: Optional[Store],
    total: int,
    collect: Callable[[Dict[str, Any]], None],
    label: str = "sweep",
) -> bool:
    def call(control: Any) -> None:
        for runs in chunk_list:
            if control.cancelled:
                break
            packed = run_chunk(spec, runs, n_threads, control)
            if store is not None:
                store.write(packed)
            collect(packed)  # only this worker thread touches the collector until it has finished

    _, interrupted = run_with_control(call, total=total, progress=progress, desc=label, unit="run")
    return interrupted


def _run_dask(
    spec: GridSpec,
    chunk_list: List[List[int]],
    n_threads: Optional[int],
    progress: Optional[bool],
    store: Optional[Store],
    client: Any,
    total: int,
    collect: Callable[[Dict[str, Any]], None],
    label: str = "sweep (dask)",
) -> bool:
    distributed = require("dask.distributed", "dask", "backend='dask'")
    Client, LocalCluster, as_completed = distributed.Client, distributed.LocalCluster, distributed.as_completed
    own_cluster = None
    if client is None:
        own_cluster = LocalCluster(
            n_workers=max(1, _default_threads()), threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(own_cluster)
    threads = 1 if n_threads is None else n_threads
    interrupted = False
    bar = None
    show = progress_default() if progress is None else bool(progress)
    futures: List[Any] = []
    try:
        if show:
            bar = bar_class()(total=total, desc=label, unit="run", dynamic_ncols=True)
        futures = [client.submit(run_chunk, spec, runs, threads, None, pure=False) for runs in chunk_list]
        try:
            for future in as_completed(futures):
                packed = future.result()
                # Ctrl-C arrives in this thread at any bytecode: collect before writing, so every chunk on disk
                # is also in the returned result (a chunk collected but not yet written is recomputed on resume;
                # the atomic write leaves no partial file).
                collect(packed)
                if store is not None:
                    store.write(packed)
                if bar is not None:
                    bar.update(len(packed["runs"]))
        except KeyboardInterrupt:
            interrupted = True
            client.cancel(futures)
    finally:
        if bar is not None:
            bar.close()
        if own_cluster is not None:
            client.close()
            own_cluster.close()
    return interrupted


# ---------------------------------------------------------------------------------------------------------
# Critical learning rate


@dataclass(frozen=True)
class CriticalLR:
    """Result of :func:`critical_lr`.

    Attributes
    ----------
    lr : float
        Geometric midpoint of the final bracket (NaN if the fraction trapped never crossed ``fraction``).
    bracket : (float, float)
        Largest lr evaluated with fraction trapped < ``fraction`` and smallest with >= ``fraction``.
    lrs, trapped_fraction, learned_fraction : ndarray
        Every evaluated lr (sorted) with the fraction of seeds trapped / learned (final / initial loss <
        learned_loss: :func:`ghostfast.metrics.learned`).
    found : bool
    config : dict
    """

    lr: float
    bracket: Tuple[float, float]
    lrs: np.ndarray
    trapped_fraction: np.ndarray
    learned_fraction: np.ndarray
    found: bool
    config: Dict[str, Any] = field(default_factory=dict)


def _fractions(res: SweepResult, learned_loss: float) -> Tuple[np.ndarray, np.ndarray]:
    axes = tuple(range(1, res.trapped.ndim))
    trapped = res.trapped.mean(axis=axes)
    learned = _metrics.learned(res.loss, ratio=learned_loss).mean(axis=axes)
    return trapped, learned


def critical_lr(
    model: Any,
    task: Any,
    epochs: int,
    *,
    seeds: Sequence[int] = range(10),
    lr_bounds: Tuple[float, float] = (1e-3, 1e-1),
    n_grid: int = 8,
    n_bisect: int = 4,
    fraction: float = 0.5,
    learned_loss: float = 0.05,
    n_threads: Optional[int] = None,
    progress: Optional[bool] = None,
    record_every: Optional[int] = None,
    trap_loss_fraction: float = TRAP_LOSS_FRACTION,
    trap_grad_tol: float = TRAP_GRAD_TOL,
    **grid: Any,
) -> CriticalLR:
    """The learning rate at which the fraction of seeds trapped in the no-learning zone crosses ``fraction``.

    A coarse log grid of ``n_grid`` lrs on ``lr_bounds`` (one parallel sweep over lr x seeds) finds the
    first grid lr where the fraction trapped (:func:`trapped_mask` after ``epochs`` epochs) is
    >= ``fraction``; then ``n_bisect`` bisection steps in log lr between it and the previous grid point
    (each one parallel sweep over the seeds) narrow the bracket. Assumes one crossing in that interval.

    Parameters
    ----------
    model, task, epochs : as in :func:`sweep` (``**grid`` may fix factory parameters as 1-element lists).
    seeds : sequence of int
    lr_bounds : (lo, hi) with 0 < lo < hi
    n_grid : int >= 2; n_bisect : int >= 0
    fraction : float in (0, 1]
    learned_loss : float
        Final / initial loss below which a run counts as learned (:func:`ghostfast.metrics.learned`;
        reported, not used for the crossing).

    Returns
    -------
    CriticalLR

    Examples
    --------
    >>> from ghostfast import rnn, tasks
    >>> model = rnn.Model(N=100, rank=1, alpha=0.5, readout="latent", confidence=10.0, threshold=1.0,
    ...                   read="after", x0=-0.3)
    >>> c = critical_lr(model, tasks.delayed_activation(T=10), 1500, seeds=range(4), lr_bounds=(5e-3, 0.5),
    ...                 n_grid=6, n_bisect=2)
    >>> bool(c.found and c.bracket[0] <= c.lr <= c.bracket[1])
    True
    """
    if not (isinstance(lr_bounds, (tuple, list)) and len(lr_bounds) == 2):
        raise ValueError(f"lr_bounds must be a pair (lo, hi), got {lr_bounds!r}")
    lo = check_real(lr_bounds[0], "lr_bounds[0]", positive=True)
    hi = check_real(lr_bounds[1], "lr_bounds[1]", positive=True)
    if not lo < hi:
        raise ValueError(f"lr_bounds must satisfy lo < hi, got {lr_bounds!r}")
    n_grid = check_int(n_grid, "n_grid", minimum=2, maximum=10**5)
    # beyond ~60 halvings of log(hi / lo) the bracket is below float64 resolution: a bound, not a hang
    n_bisect = check_int(n_bisect, "n_bisect", minimum=0, maximum=64)
    fraction = check_real(fraction, "fraction", positive=True)
    if fraction > 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    epochs = check_int(epochs, "epochs", minimum=1)
    if record_every is None:
        record_every = max(1, epochs // 200)
    if isinstance(seeds, (str, bytes, Mapping)) or not isinstance(seeds, Iterable):
        raise TypeError(f"seeds must be a sequence of ints, got {type(seeds).__name__}")
    seeds = list(seeds)
    for s in seeds:
        check_int(s, "seeds", minimum=0)
    common = dict(
        n_threads=n_threads,
        progress=progress,
        record_every=record_every,
        trap_loss_fraction=trap_loss_fraction,
        trap_grad_tol=trap_grad_tol,
        **grid,
    )

    grid_lrs = np.geomspace(lo, hi, n_grid)
    res = sweep(model, task, epochs, lr=grid_lrs, seed=seeds, **common)
    trapped, learned = _fractions(res, learned_loss)
    evaluated: Dict[float, Tuple[float, float]] = {
        float(x): (float(t), float(s)) for x, t, s in zip(grid_lrs, trapped, learned)
    }
    above = np.flatnonzero(trapped >= fraction)
    found = above.size > 0 and above[0] > 0
    if found:
        k = int(above[0])
        b_lo, b_hi = float(grid_lrs[k - 1]), float(grid_lrs[k])
        for _ in range(n_bisect):
            mid = math.sqrt(b_lo * b_hi)
            r = sweep(model, task, epochs, lr=[mid], seed=seeds, **common)
            t_frac, l_frac = _fractions(r, learned_loss)
            evaluated[mid] = (float(t_frac[0]), float(l_frac[0]))
            if t_frac[0] >= fraction:
                b_hi = mid
            else:
                b_lo = mid
        lr_c = math.sqrt(b_lo * b_hi)
    else:
        if above.size:  # already >= fraction at lr_bounds[0]
            b_lo, b_hi = float("nan"), float(grid_lrs[0])
        else:
            b_lo, b_hi = float(grid_lrs[-1]), float("nan")
        lr_c = float("nan")
        side = "below lr_bounds[0]" if above.size else "above lr_bounds[1]"
        warnings.warn(
            f"critical_lr: the fraction trapped does not cross {fraction} inside lr_bounds={tuple(lr_bounds)}"
            f" (the critical lr is {side}, or more epochs are needed)",
            RuntimeWarning,
            stacklevel=2,
        )
    lrs = np.array(sorted(evaluated))
    return CriticalLR(
        lr=float(lr_c),
        bracket=(b_lo, b_hi),
        lrs=lrs,
        trapped_fraction=np.array([evaluated[x][0] for x in lrs]),
        learned_fraction=np.array([evaluated[x][1] for x in lrs]),
        found=bool(found),
        config={
            "epochs": epochs,
            "seeds": plain(seeds),
            "lr_bounds": [lo, hi],
            "n_grid": n_grid,
            "n_bisect": n_bisect,
            "fraction": fraction,
            "learned_loss": learned_loss,
            "trap_loss_fraction": trap_loss_fraction,
            "trap_grad_tol": trap_grad_tol,
            "sweep_config": res.config,
        },
    )


@dataclass(frozen=True)
class CriticalLRScaling:
    """Result of :func:`critical_lr_scaling`: ``lr_c[i]`` at delay ``Ts[i]`` and the power-law fit."""

    Ts: np.ndarray
    lr_c: np.ndarray
    results: Tuple[CriticalLR, ...]
    fit: Optional[PowerLawFit]


def critical_lr_scaling(
    model: Any,
    Ts: Sequence[int] = (10, 20, 40, 80),
    *,
    task: Optional[Callable[..., Any]] = None,
    epochs: Union[int, Callable[[int], int]] = 5000,
    lr_bounds: Union[Tuple[float, float], Callable[[int], Tuple[float, float]]] = (1e-4, 1.0),
    seeds: Sequence[int] = range(10),
    **kwargs: Any,
) -> CriticalLRScaling:
    """Critical learning rate of the delayed-activation task as a function of the delay T, with a power law.

    Parameters
    ----------
    model : rnn.Model
    Ts : sequence of int
    task : callable ``task(T=...)``; default ``tasks.delayed_activation``
    epochs : int or callable ``T -> int``
    lr_bounds : (lo, hi) or callable ``T -> (lo, hi)``
    seeds : sequence of int
    **kwargs : passed to :func:`critical_lr` (n_grid, n_bisect, fraction, n_threads, ...)

    Returns
    -------
    CriticalLRScaling
        ``fit`` is ``power_law_fit(Ts, lr_c)`` over the T where a crossing was found (None if < 2).

    Examples
    --------
    >>> from ghostfast import rnn
    >>> model = rnn.Model(N=100, rank=1, alpha=0.5, readout="latent", confidence=10.0, threshold=1.0,
    ...                   read="after", x0=-0.3)
    >>> sc = critical_lr_scaling(model, Ts=[5, 10], epochs=lambda T: 150 * T, seeds=range(4),
    ...                          lr_bounds=(1e-3, 1.0), n_grid=6, n_bisect=2)
    >>> bool(sc.fit.exponent < 0)                  # the critical rate falls with the delay
    True
    """
    if task is None:
        from . import tasks

        task = tasks.delayed_activation
    if isinstance(Ts, (str, bytes, Mapping)) or not isinstance(Ts, Iterable):
        raise TypeError(f"Ts must be a sequence of ints, got {type(Ts).__name__}")
    Ts_list = [check_int(T, "Ts", minimum=1) for T in Ts]
    if not Ts_list:
        raise ValueError("Ts must not be empty")
    results = []
    for T in Ts_list:
        e = epochs(T) if callable(epochs) else epochs
        b = lr_bounds(T) if callable(lr_bounds) else lr_bounds
        results.append(
            critical_lr(model, task, e, seeds=seeds, lr_bounds=cast(Tuple[float, float], tuple(b)), T=[T], **kwargs)
        )
    lr_c = np.array([r.lr for r in results])
    ok = np.isfinite(lr_c)
    fit = power_law_fit(np.array(Ts_list)[ok], lr_c[ok]) if ok.sum() >= 2 else None
    return CriticalLRScaling(Ts=np.array(Ts_list), lr_c=lr_c, results=tuple(results), fit=fit)
