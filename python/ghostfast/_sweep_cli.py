"""``ghostfast sweep config.toml``: run a sweep described by a TOML file.

Example config (every table but [sweep] optional)::

    [model]                 # ghostfast.rnn.Model fields
    N = 100
    rank = 1
    x0 = -0.3

    [task]                  # a factory in ghostfast.tasks and its fixed arguments
    factory = "delayed_activation"
    T = 20

    [sweep]
    epochs = 20001
    lr = { logspace = [-4, -1, 30] }   # or a list, or { geomspace = [lo, hi, n] } / { linspace = [...] }
    seed = { range = [0, 10] }         # or a list
    record_every = 1000
    init_scheme = "torch"              # optional; also optimizer, keep_params, chunk_size, trap_grad_tol, ...
    out = "fig6a-run"                  # optional checkpoint directory (resumes when rerun)
    save = "fig6a.npz"                 # optional result file

    [grid]                  # extra axes: Model fields or task factory parameters
    # confidence = [1.0, 10.0]
"""

from __future__ import annotations

import argparse
import functools
from typing import Any, Dict, Mapping

import numpy as np

_SWEEP_KEYS = {
    "epochs",
    "lr",
    "seed",
    "record_every",
    "optimizer",
    "keep_params",
    "init_scheme",
    "chunk_size",
    "out",
    "save",
    "backend",
    "overwrite",
    "max_memory",
    "drop_fraction",
    "trap_loss_fraction",
    "trap_grad_tol",
    "n_threads",
}


def _load_toml(path: str) -> Dict[str, Any]:
    try:
        import tomllib  # Python >= 3.11
    except ModuleNotFoundError:  # pragma: no cover - Python < 3.11
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError as err:
            raise ImportError("reading a sweep config needs Python >= 3.11 or `pip install tomli`") from err
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def _values(value: Any, name: str) -> Any:
    """A list, or {logspace|geomspace|linspace: [a, b, n]} or {range: [start, stop(, step)]}."""
    if isinstance(value, Mapping):
        if len(value) != 1:
            raise ValueError(f"{name}: give one of logspace, geomspace, linspace, range; got {sorted(value)}")
        ((kind, args),) = value.items()
        makers: Dict[str, Any] = {"logspace": np.logspace, "geomspace": np.geomspace, "linspace": np.linspace}
        if kind in makers:
            a, b, n = args
            return makers[kind](float(a), float(b), int(n))
        if kind == "range":
            return list(range(*[int(v) for v in args]))
        raise ValueError(f"{name}: unknown generator {kind!r} (logspace, geomspace, linspace or range)")
    return value


def build_call(config: Mapping[str, Any]) -> Dict[str, Any]:
    """Turn a parsed config into keyword arguments of ``sweep.sweep`` (plus "save")."""
    from . import rnn, tasks

    unknown_tables = set(config) - {"model", "task", "sweep", "grid"}
    if unknown_tables:
        raise ValueError(f"config: unknown table(s) {sorted(unknown_tables)} (model, task, sweep, grid)")
    model = rnn.Model(**dict(config.get("model", {"N": 100})))
    task_cfg = dict(config.get("task", {"factory": "delayed_activation", "T": 20}))
    factory_name = task_cfg.pop("factory", "delayed_activation")
    factory = getattr(tasks, factory_name, None)
    if factory is None or not callable(factory) or factory_name.startswith("_") or factory_name == "Task":
        raise ValueError(f"config [task]: unknown factory {factory_name!r} (a function of ghostfast.tasks)")
    grid = {k: _values(v, f"grid.{k}") for k, v in dict(config.get("grid", {})).items()}
    clash = set(grid) & set(task_cfg)
    if clash:
        raise ValueError(f"config: {sorted(clash)} given both in [task] and in [grid]")
    task = functools.partial(factory, **task_cfg) if grid else factory(**task_cfg)
    sweep_cfg = dict(config.get("sweep", {}))
    unknown = set(sweep_cfg) - _SWEEP_KEYS
    if unknown:
        raise ValueError(f"config [sweep]: unknown key(s) {sorted(unknown)}; known: {sorted(_SWEEP_KEYS)}")
    if "epochs" not in sweep_cfg or "lr" not in sweep_cfg:
        raise ValueError("config [sweep] needs epochs and lr")
    call = {"model": model, "task": task, **sweep_cfg, **grid}
    call["lr"] = _values(call["lr"], "sweep.lr")
    if "seed" in call:
        call["seed"] = _values(call["seed"], "sweep.seed")
    return call


def run(args: argparse.Namespace) -> int:
    from . import sweep

    call = build_call(_load_toml(args.config))
    if args.threads is not None:
        call["n_threads"] = args.threads
    if args.out is not None:
        call["out"] = args.out
    if args.backend is not None:
        call["backend"] = args.backend
    save = args.save if args.save is not None else call.pop("save", None)
    call.pop("save", None)
    progress = False if args.no_progress else None
    res = sweep.sweep(
        call.pop("model"), call.pop("task"), call.pop("epochs"), call.pop("lr"), progress=progress, **call
    )
    print(
        f"sweep: {int(res.done.sum())} of {res.done.size} runs finished; axes "
        + ", ".join(f"{k}[{len(v)}]" for k, v in res.coords.items())
    )
    lr_axis, final, trapped = res.per_lr()
    averaged = [f"{k} ({len(v)} values)" for k, v in list(res.coords.items())[1:]]
    if averaged:
        extra = [k for k in list(res.coords)[1:] if k != "seed"]
        note = (
            f"; the extra grid axes {', '.join(extra)} are averaged too (--save keeps every grid point)"
            if extra
            else ""
        )
        print(f"per lr, averaged over {' x '.join(averaged)}{note}:")
    print("      lr   mean final loss   fraction trapped")
    for lr, f, t in zip(lr_axis, final, trapped):
        print(f"{lr:9.3g}   {f:15.4g}   {t:16.2f}")
    if res.diverged.any():
        print(f"diverged runs: {int(res.diverged.sum())}")
    if save:
        res.save(save)
        print(f"saved to {save}")
    return 1 if res.interrupted else 0


def add_parser(sub: Any) -> None:
    from .cli import _threads, plain_text

    p = sub.add_parser(
        "sweep",
        help="run a learning-rate/seed/... sweep described by a TOML file",
        description=plain_text(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("config", help="TOML file with [model], [task], [sweep], [grid] tables")
    p.add_argument("--threads", type=_threads, default=None, help="OpenMP threads (default: all cores)")
    p.add_argument("--out", default=None, help="checkpoint directory (overrides [sweep] out)")
    p.add_argument("--save", default=None, help="write the result here (.npz; overrides [sweep] save)")
    p.add_argument("--backend", choices=("local", "dask"), default=None)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
