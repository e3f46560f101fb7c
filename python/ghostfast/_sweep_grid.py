"""Grid expansion for ``ghostfast.sweep``: which axes exist, how a flat run index maps to a training job,
and the chunk runner shared by the local and the dask backends.

A run's job depends only on the grid (never on chunking, threads, resume or backend):
- initial parameters: ``rnn.init_params(model_of_the_point, seed)`` (the same network for every lr);
- noise / initial-state stream: ``Rng(seed_key(seed), stream=flat index of the run in the FULL grid)``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import numbers
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ._seeding import seed_key
from ._validation import check_int, check_real

OPTIMIZERS = ("sgd", "adam")

#: Axis kinds: where a swept value goes when a job is built.
KIND_LR, KIND_SEED, KIND_OPTIMIZER, KIND_MODEL, KIND_TASK = "lr", "seed", "optimizer", "model", "task"


def _rnn():
    from . import rnn

    return rnn


def plain(value: Any) -> Any:
    """numpy scalars -> Python scalars (exact), arrays -> nested lists; used for coords and JSON configs."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.ndarray, np.generic)):
        return plain(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)  # stable across processes (set order depends on hash randomisation)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if f.init and not f.name.startswith("_")}
    if callable(obj):
        return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"
    return repr(obj)


def to_json(obj: Any) -> str:
    return json.dumps(obj, default=_json_default, sort_keys=True, allow_nan=True)


def _array_digest(arrays: Sequence[np.ndarray]) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def task_description(task: Any) -> Dict[str, Any]:
    """JSON-able description of a Task instance (name, shapes and a digest of its arrays)."""
    arrays = []
    desc: Dict[str, Any] = {"type": type(task).__name__}
    for f in dataclasses.fields(task) if dataclasses.is_dataclass(task) else []:
        if not f.init or f.name.startswith("_"):  # caches (e.g. Task._core_task) are not part of the task
            continue
        v = getattr(task, f.name)
        if isinstance(v, np.ndarray):
            arrays.append(v)
            desc[f.name] = {"shape": list(v.shape)}
        elif isinstance(v, (str, numbers.Number, bool)) or v is None:
            desc[f.name] = plain(v)
        else:
            desc[f.name] = repr(v)
    desc["digest"] = _array_digest(arrays)
    return desc


def _factory_name(factory: Callable[..., Any]) -> str:
    target = getattr(factory, "func", factory)  # functools.partial
    name = f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', repr(target))}"
    if target is not factory:
        name += f"(*{plain(list(getattr(factory, 'args', ())))}, **{plain(dict(getattr(factory, 'keywords', {})))})"
    return name


@dataclass(frozen=True)
class Axis:
    name: str  # the coordinate name in the result (as given by the user)
    kind: str  # one of KIND_*
    field: str  # the Model field / task factory parameter it sets (== name without prefix)
    values: Tuple[Any, ...]


@dataclass(frozen=True)
class GridSpec:
    """Everything a worker needs to rebuild any run's TrainJob (picklable; sent to dask workers)."""

    axes: Tuple[Axis, ...]
    epochs: int
    record_every: int
    keep_params: bool
    models: Dict[Tuple[int, ...], Any]  # model-axis index tuple -> rnn.Model
    tasks: Dict[Tuple[int, ...], Any]  # task-axis index tuple -> tasks.Task
    job_options: Dict[str, Any] = field(default_factory=dict)  # extra TrainJob fields (fixed)
    init_scheme: Any = None  # passed to rnn.init_params(model, seed, scheme=...)

    @property
    def shape(self) -> Tuple[int, ...]:
        return tuple(len(a.values) for a in self.axes)

    @property
    def n_runs(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def _sub(self, index: Tuple[int, ...], kind: str) -> Tuple[int, ...]:
        return tuple(i for i, a in zip(index, self.axes) if a.kind == kind)

    def point(self, run: int) -> Dict[str, Any]:
        index = np.unravel_index(run, self.shape)
        return {a.name: a.values[i] for a, i in zip(self.axes, index)}

    def job_parts(self, run: int) -> Tuple[Any, Any, float, int, str]:
        """(model, task, lr, seed, optimizer) of a flat run index (C order over the axes)."""
        index = tuple(int(i) for i in np.unravel_index(run, self.shape))
        vals: Dict[str, Any] = {}
        for a, i in zip(self.axes, index):
            if a.kind in (KIND_LR, KIND_SEED, KIND_OPTIMIZER):
                vals[a.kind] = a.values[i]
        model = self.models[self._sub(index, KIND_MODEL)]
        task = self.tasks[self._sub(index, KIND_TASK)]
        optimizer = vals.get(KIND_OPTIMIZER, self.job_options.get("optimizer", "sgd"))
        return model, task, float(vals[KIND_LR]), int(vals[KIND_SEED]), str(optimizer)

    def build_jobs(self, runs: Sequence[int]) -> List[Any]:
        rnn = _rnn()
        jobs = []
        params_cache: Dict[Tuple[int, int], Dict[str, np.ndarray]] = {}
        extra = {k: v for k, v in self.job_options.items() if k != "optimizer"}
        for run in runs:
            model, task, lr, seed, optimizer = self.job_parts(int(run))
            key = (id(model), seed)
            if key not in params_cache:  # params depend only on (model, seed): the same network for every lr
                params_cache[key] = rnn.init_params(model, seed, scheme=self.init_scheme)
            sk = seed_key(seed)
            jobs.append(
                rnn.TrainJob(
                    model=model,
                    task=task,
                    lr=lr,
                    epochs=self.epochs,
                    params=params_cache[key],
                    optimizer=optimizer,
                    key0=sk.key0,
                    key1=sk.key1,
                    stream=int(run),
                    record_every=self.record_every,
                    **extra,
                )
            )
        return jobs


def run_chunk(
    spec: GridSpec, runs: Sequence[int], n_threads: Optional[int] = None, control: Any = None
) -> Dict[str, Any]:
    """Train the runs of one chunk with ONE ``rnn.train_many`` call; return the finished ones as arrays.

    Unfinished runs (after a cancel) are left out. Runs on dask workers with ``control=None``.
    """
    rnn = _rnn()
    runs = [int(r) for r in runs]
    jobs = spec.build_jobs(runs)
    results = rnn.train_many(jobs, n_threads=n_threads, control=control, max_memory=float("inf"))
    return pack_results(spec, runs, results)


def pack_results(spec: GridSpec, runs: Sequence[int], results: Sequence[Any]) -> Dict[str, Any]:
    finished = [(r, res) for r, res in zip(runs, results) if res is not None and not res.interrupted]
    out: Dict[str, Any] = {"runs": np.array([r for r, _ in finished], dtype=np.int64)}
    if not finished:
        return out
    out["record_epochs"] = np.asarray(finished[0][1].epochs, dtype=np.int64)
    for r, res in finished:
        if not np.array_equal(np.asarray(res.epochs, dtype=np.int64), out["record_epochs"]):
            raise RuntimeError(f"run {r}: recorded epochs differ between runs of one sweep")
    for name in ("loss", "grad_norm", "accuracy", "weight_norm"):
        out[name] = np.stack([np.asarray(getattr(res, name), dtype=np.float64) for _, res in finished])
    out["diverged"] = np.array([bool(res.diverged) for _, res in finished])
    out["diverged_epoch"] = np.array(
        [-1 if res.diverged_epoch is None else int(res.diverged_epoch) for _, res in finished], dtype=np.int64
    )
    if spec.keep_params:
        out["params"] = [{k: np.asarray(v, dtype=np.float64) for k, v in res.params.items()} for _, res in finished]
    return out


# ---------------------------------------------------------------------------------------------------------
# Building the spec from the user's call


def _as_values(value: Any, name: str) -> Tuple[Any, ...]:
    if isinstance(value, (str, bytes)) or isinstance(value, Mapping):
        raise TypeError(f"{name} must be a list/tuple/range/1-D array of values to sweep, got {type(value).__name__}")
    if isinstance(value, np.ndarray):
        if value.ndim != 1:
            raise ValueError(f"{name} must be a 1-D array of values to sweep, got shape {value.shape}")
        values = tuple(plain(v) for v in value)
    elif isinstance(value, (list, tuple, range)):
        values = tuple(v.item() if isinstance(v, np.generic) else v for v in value)
    else:
        raise TypeError(f"{name} must be a list/tuple/range/1-D array of values to sweep, got {type(value).__name__}")
    if len(values) == 0:
        raise ValueError(f"{name} must not be empty (an empty grid axis sweeps nothing)")
    return values


def _scalar_or_values(value: Any, name: str) -> Tuple[Any, ...]:
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return (plain(value),)
    return _as_values(value, name)


def build_spec(
    model: Any,
    task: Any,
    epochs: int,
    lr: Any,
    seed: Any,
    optimizer: Any,
    record_every: int,
    keep_params: bool,
    grid: Mapping[str, Any],
    job_options: Optional[Mapping[str, Any]] = None,
    init_scheme: Any = None,
) -> Tuple[GridSpec, Dict[str, Any]]:
    """Validate the call and expand the grid; returns the spec and a JSON-able config (what determines results)."""
    rnn = _rnn()
    if not isinstance(model, rnn.Model):
        raise TypeError(f"model must be a ghostfast.rnn.Model, got {type(model).__name__}")
    epochs = check_int(epochs, "epochs", minimum=0)
    record_every = check_int(record_every, "record_every", minimum=1)

    lrs = _scalar_or_values(lr, "lr")
    for v in lrs:
        try:
            check_real(v, "lr", positive=True)
        except (TypeError, ValueError) as err:
            raise type(err)(f"lr: every learning rate must be a finite number > 0, got {v!r}") from None
    lrs = tuple(float(v) for v in lrs)
    seeds = _scalar_or_values(seed, "seed")
    for v in seeds:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"seed: every seed must be an int >= 0, got {v!r}")
        if not 0 <= int(v) < 2**63:
            raise ValueError(f"seed: every seed must be an int in [0, 2**63), got {int(v)}")
    seeds = tuple(int(v) for v in seeds)
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seed: values must be distinct, got {list(seeds)}")

    axes: List[Axis] = [Axis("lr", KIND_LR, "lr", lrs), Axis("seed", KIND_SEED, "seed", seeds)]
    fixed_optimizer = "sgd"
    if isinstance(optimizer, str):
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {list(OPTIMIZERS)}, got {optimizer!r}")
        fixed_optimizer = optimizer
    else:
        opts = _as_values(optimizer, "optimizer")
        for o in opts:
            if o not in OPTIMIZERS:
                raise ValueError(f"optimizer must be one of {list(OPTIMIZERS)}, got {o!r}")
        axes.append(Axis("optimizer", KIND_OPTIMIZER, "optimizer", opts))

    # Task: a Task instance (fixed) or a factory whose keyword parameters can be swept.
    task_fields: Tuple[str, ...] = ()
    if callable(task) and not dataclasses.is_dataclass(task):
        try:
            sig = inspect.signature(task)
        except (TypeError, ValueError) as err:
            raise TypeError("task must be a tasks.Task or a task factory with an inspectable signature") from err
        task_fields = tuple(
            p.name for p in sig.parameters.values() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        )
    elif not dataclasses.is_dataclass(task):
        raise TypeError(f"task must be a ghostfast.tasks.Task or a task factory (callable), got {type(task).__name__}")
    model_fields = tuple(f.name for f in dataclasses.fields(model))

    unknown, ambiguous = [], []
    for name, value in grid.items():
        target, field_name = None, name
        if name.startswith("model__"):
            field_name, target = name[len("model__") :], KIND_MODEL
            if field_name not in model_fields:
                unknown.append(name)
                continue
        elif name.startswith("task__"):
            field_name, target = name[len("task__") :], KIND_TASK
            if field_name not in task_fields:
                unknown.append(name)
                continue
        else:
            in_model, in_task = name in model_fields, name in task_fields
            if in_model and in_task:
                ambiguous.append(name)
                continue
            if in_model:
                target = KIND_MODEL
            elif in_task:
                target = KIND_TASK
            else:
                unknown.append(name)
                continue
        axes.append(Axis(name, target, field_name, _as_values(value, name)))
    if unknown:
        hint = f"Model fields: {list(model_fields)}"
        hint += (
            f"; task factory parameters: {list(task_fields)}"
            if task_fields
            else " (task is a fixed Task: pass a factory such as tasks.delayed_activation to sweep task parameters)"
        )
        raise ValueError(
            f"unknown grid field(s) {unknown}: a grid axis must be lr, seed, optimizer, a Model "
            f"field or a task factory parameter. {hint}"
        )
    if ambiguous:
        raise ValueError(
            f"grid field(s) {ambiguous} name both a Model field and a task parameter: write "
            f"model__<name> or task__<name> (e.g. **{{'task__{ambiguous[0]}': [...]}})"
        )
    fields_seen: Dict[Tuple[str, str], str] = {}
    for a in axes:
        key = (a.kind, a.field)
        if key in fields_seen:
            raise ValueError(f"grid: {a.name!r} and {fields_seen[key]!r} set the same field")
        fields_seen[key] = a.name

    model_axes = [a for a in axes if a.kind == KIND_MODEL]
    task_axes = [a for a in axes if a.kind == KIND_TASK]
    models: Dict[Tuple[int, ...], Any] = {}
    for idx in np.ndindex(*[len(a.values) for a in model_axes]):
        changes = {a.field: a.values[i] for a, i in zip(model_axes, idx)}
        try:
            models[tuple(int(i) for i in idx)] = dataclasses.replace(model, **changes)
        except (TypeError, ValueError) as err:
            raise type(err)(f"grid point {changes}: {err}") from err
    tasks_: Dict[Tuple[int, ...], Any] = {}
    for idx in np.ndindex(*[len(a.values) for a in task_axes]):
        if task_fields:
            kwargs = {a.field: a.values[i] for a, i in zip(task_axes, idx)}
            try:
                tasks_[tuple(int(i) for i in idx)] = task(**kwargs)
            except TypeError as err:
                raise TypeError(f"task factory {_factory_name(task)} with {kwargs}: {err}") from err
            except ValueError as err:
                raise ValueError(f"task factory {_factory_name(task)} with {kwargs}: {err}") from err
        else:
            tasks_[()] = task

    job_options = dict(job_options or {})
    job_options["optimizer"] = fixed_optimizer
    if init_scheme is not None:  # validate once, before any work (raises ValueError naming the scheme)
        for m_ in models.values():
            rnn.init_params(m_, seeds[0], scheme=init_scheme)
    spec = GridSpec(
        axes=tuple(axes),
        epochs=epochs,
        record_every=record_every,
        keep_params=bool(keep_params),
        models=models,
        tasks=tasks_,
        job_options=job_options,
        init_scheme=init_scheme,
    )
    config = {
        "model": plain(json.loads(to_json(model))),
        "task": (
            {"factory": _factory_name(task), "parameters": list(task_fields)} if task_fields else task_description(task)
        ),
        # Tasks built by a factory are recorded by digest too, so a changed factory invalidates a resume.
        "task_digests": {",".join(map(str, k)): task_description(t)["digest"] for k, t in tasks_.items()},
        "epochs": epochs,
        "record_every": record_every,
        "keep_params": bool(keep_params),
        "axes": [{"name": a.name, "kind": a.kind, "field": a.field, "values": plain(list(a.values))} for a in axes],
        "job_options": plain(json.loads(to_json(job_options))),
        "init_scheme": plain(json.loads(to_json(init_scheme))),
    }
    return spec, config


def config_hash(config: Mapping[str, Any]) -> str:
    return hashlib.sha256(to_json(config).encode()).hexdigest()
