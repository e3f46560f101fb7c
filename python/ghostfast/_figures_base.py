"""Shared pieces of ``ghostfast.figures``: the result type, scale handling and figure creation."""

from __future__ import annotations

import functools
import os
import re
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, TypeVar, Union

import numpy as np

from ._validation import check_choice, check_threads

if TYPE_CHECKING:
    from .rnn import TrainResult, TrainState

#: The three sizes every figure function accepts.
SCALES = ("quick", "default", "paper")

#: The warnings with which ``sweep.sweep``, ``rnn.train`` and ``rnn.train_many`` answer Ctrl-C, returning the
#: work done so far instead of raising (a regular expression matched at the start of the message).
INTERRUPTED_WARNING = r"(sweep|rnn\.train|rnn\.train_many) interrupted"

_F = TypeVar("_F", bound=Callable[..., Any])


def stops_on_interrupt(func: _F) -> _F:
    """Make a figure function stop on Ctrl-C: the warning of a training call stopped by Ctrl-C becomes
    ``KeyboardInterrupt``. Those calls return their partial work so that a script can keep it, but a figure
    drawn (and a check judged) from a partial run would be wrong."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=INTERRUPTED_WARNING, category=RuntimeWarning)
            try:
                return func(*args, **kwargs)
            except RuntimeWarning as err:
                if re.match(INTERRUPTED_WARNING, str(err)) is None:
                    raise
                raise KeyboardInterrupt(str(err)) from err

    return wrapper  # type: ignore[return-value]


@dataclass(frozen=True, eq=False)
class FigureResult:
    """A drawn figure with the arrays it shows.

    Attributes
    ----------
    name : str
        The figure's name (``"fig2d"``, ...), used for file names.
    figure : matplotlib.figure.Figure
        The figure (not attached to pyplot; ``figure.savefig`` works, nothing is shown).
    data : dict of str -> ndarray
        Every plotted array (coordinates included), enough to re-plot the figure.
    params : dict
        What was run: the scale and every parameter of the computation (plain Python values).
    """

    name: str
    figure: Any
    data: Dict[str, np.ndarray]
    params: Dict[str, Any] = field(default_factory=dict)

    def save(self, out_dir: str | os.PathLike = ".", dpi: int = 120) -> Tuple[str, str]:
        """Write ``<out_dir>/<name>.png`` and ``<out_dir>/<name>.npz`` (the data plus ``params`` as a JSON
        string under the key ``params_json``). Returns the two paths."""
        import json

        os.makedirs(out_dir, exist_ok=True)
        png = os.path.join(os.fspath(out_dir), f"{self.name}.png")
        npz = os.path.join(os.fspath(out_dir), f"{self.name}.npz")
        self.figure.savefig(png, dpi=dpi)
        arrays: Dict[str, Any] = {k: np.asarray(v) for k, v in self.data.items()}
        arrays["params_json"] = np.array(json.dumps(_plain(self.params), sort_keys=True))
        with open(npz, "wb") as fh:
            np.savez(fh, **arrays)
        return png, npz


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def check_scale(scale: Any) -> str:
    return check_choice(scale, "scale", SCALES)


def pick(scale: str, quick: Any, default: Any, paper: Any) -> Any:
    """The value for ``scale``."""
    return {"quick": quick, "default": default, "paper": paper}[scale]


def threads(n_threads: Optional[int]) -> Optional[int]:
    """Validated thread count (None = the package default)."""
    return None if n_threads is None else (check_threads(n_threads) or None)


def sweep_store(checkpoint: Union[str, os.PathLike, None], part: str) -> Dict[str, Any]:
    """The ``sweep.sweep`` arguments that keep one of a figure's sweeps in ``checkpoint/part`` (none without a
    checkpoint directory). The directory belongs to the figure: runs stored there by another configuration
    (another scale, another version) are discarded rather than refused."""
    if checkpoint is None:
        return {}
    return {"out": os.path.join(os.fspath(checkpoint), part), "overwrite": True}


@dataclass(frozen=True, eq=False)
class KeptRun:
    """What a figure keeps of one ``rnn.train_many`` job: its histories and, where the figure continues the
    run, the state to continue it from (None otherwise)."""

    epochs: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray
    state: Optional[TrainState]


def train_many_kept(
    jobs: Sequence[Any],
    *,
    n_threads: Optional[int],
    checkpoint: Union[str, os.PathLike, None],
    part: str,
    config: Mapping[str, Any],
    keep_state: bool,
) -> List[KeptRun]:
    """``rnn.train_many(jobs)``, trained in chunks of about 1/16 of the jobs, each written to ``checkpoint/part``
    as it finishes (nothing is written without a checkpoint directory). Called again after Ctrl-C, it reads
    the finished chunks and trains only the others: each job's result depends only on the job, so the runs
    are bit-identical to one uninterrupted call. ``config`` names everything the jobs depend on; chunks
    stored under another config (another scale, another version) are discarded. The file names follow the
    sweep store's (``chunk-<first>-<count>-<config hash>.npz``), so ``stored_run_count`` counts them."""
    from . import __version__, rnn
    from ._sweep_grid import config_hash
    from ._sweep_store import CHUNK_PREFIX, _atomic_savez

    def kept(results: Sequence[Any]) -> List[KeptRun]:
        return [KeptRun(r.epochs, r.loss, r.accuracy, r.state if keep_state else None) for r in results]

    if checkpoint is None:
        return kept(finished(rnn.train_many(list(jobs), n_threads=n_threads)))
    folder = os.path.join(os.fspath(checkpoint), part)
    os.makedirs(folder, exist_ok=True)
    tag = config_hash({**config, "version": __version__, "keep_state": keep_state})[:8]
    # an even chunk size independent of the thread count: a rerun on other threads finds the same files
    size = 2 * max(1, -(-len(jobs) // 32))
    chunks = {
        f"{CHUNK_PREFIX}{first:09d}-{len(jobs[first : first + size])}-{tag}.npz": list(jobs[first : first + size])
        for first in range(0, len(jobs), size)
    }
    for name in os.listdir(folder):
        if name.startswith(CHUNK_PREFIX) and name not in chunks:
            os.unlink(os.path.join(folder, name))  # another configuration's runs
    runs: List[KeptRun] = []
    for name, chunk in chunks.items():
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            runs += _read_kept_runs(path)
            continue
        done = kept(finished(rnn.train_many(chunk, n_threads=n_threads)))
        _atomic_savez(path, _kept_run_arrays(done))
        runs += done
    return runs


def _kept_run_arrays(runs: Sequence[KeptRun]) -> Dict[str, np.ndarray]:
    """One chunk of :class:`KeptRun` as stacked arrays (a state's groups as ``params/<name>``, ``adam_m/<name>``,
    ``adam_v/<name>``)."""
    arrays = {key: np.stack([getattr(r, key) for r in runs]) for key in ("epochs", "loss", "accuracy")}
    state = runs[0].state
    if state is None:
        return arrays
    arrays["optimizer"] = np.array(state.optimizer)
    for key in ("adam_step", "epoch", "rng"):
        arrays[key] = np.stack([np.asarray(getattr(r.state, key)) for r in runs])
    for group in ("params", "adam_m", "adam_v"):
        for name in getattr(state, group) or {}:
            arrays[f"{group}/{name}"] = np.stack([getattr(r.state, group)[name] for r in runs])
    return arrays


def _read_kept_runs(path: str) -> List[KeptRun]:
    """The runs :func:`_kept_run_arrays` wrote to ``path``, bit for bit."""
    from .rnn import TrainState

    with np.load(path) as f:
        a = {k: f[k] for k in f.files}
    n = a["loss"].shape[0]

    def group(prefix: str, i: int) -> Optional[Dict[str, np.ndarray]]:
        names = [k.split("/", 1)[1] for k in a if k.startswith(prefix + "/")]
        return {name: a[f"{prefix}/{name}"][i] for name in names} if names else None

    def state(i: int) -> Optional[TrainState]:
        if "optimizer" not in a:
            return None
        params = group("params", i)
        assert params is not None
        return TrainState(
            params=params,
            adam_m=group("adam_m", i),
            adam_v=group("adam_v", i),
            adam_step=int(a["adam_step"][i]),
            rng=a["rng"][i],
            epoch=int(a["epoch"][i]),
            optimizer=str(a["optimizer"]),
        )

    return [KeptRun(a["epochs"][i], a["loss"][i], a["accuracy"][i], state(i)) for i in range(n)]


def new_figure(
    nrows: int = 1, ncols: int = 1, figsize: Tuple[float, float] = (6.4, 4.8), **subplot_kw: Any
) -> Tuple[Any, np.ndarray]:
    """A Figure NOT registered with pyplot (no global state, no window) and its Axes as an array."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **subplot_kw)
    return fig, axes


def fit_y(ax: Any, x: np.ndarray, y: np.ndarray, xlim: Tuple[float, float]) -> None:
    """Set ``ax``'s x limits to ``xlim`` and its y axis to the values of ``y`` (curves over ``x`` on its last
    axis) inside them: log when those span
    more than a factor of 2, else linear with plain tick labels (a log axis over a few percent labels every
    tick as 1.0175 x 10^1). Values outside the x limits (epoch 0 on a log-epoch axis) do not stretch it."""
    from matplotlib.ticker import ScalarFormatter

    ax.set_xlim(*xlim)
    shown = (x >= xlim[0]) & (x <= xlim[1])
    values = np.asarray(y, dtype=np.float64)[..., shown]
    values = values[np.isfinite(values)]
    positive = values[values > 0]
    if positive.size and positive.max() > 2.0 * positive.min():
        ax.set_yscale("log")
        lo, hi = np.log10(positive.min()), np.log10(positive.max())
        pad = 0.05 * (hi - lo)
        ax.set_ylim(10 ** (lo - pad), 10 ** (hi + pad))
        return
    ax.set_yscale("linear")
    ax.yaxis.set_major_formatter(ScalarFormatter(useOffset=False))
    if values.size:
        lo, hi = float(values.min()), float(values.max())
        pad = 0.05 * (hi - lo) if hi > lo else 0.05 * max(abs(hi), 1e-12)
        ax.set_ylim(lo - pad, hi + pad)


def legend_panel(slow_point_sets: Sequence[Any]) -> int:
    """The panel for a row's one legend of slow points: the first that shows the most kinds of point (fixed
    point, ghost, slow point), so every marker drawn in the row is in it."""
    return int(np.argmax([len(set(sp.kind.tolist())) if len(sp) else 0 for sp in slow_point_sets]))


def finished(results: Sequence[Optional[TrainResult]]) -> List[TrainResult]:
    """The results of ``rnn.train_many``, all of which must have run (None: a job cancelled before it ran)."""
    if any(r is None for r in results):
        raise RuntimeError("rnn.train_many was interrupted before every job ran; the figure needs them all")
    return [r for r in results if r is not None]


def mean_sem(values: np.ndarray, axis: int) -> Tuple[np.ndarray, np.ndarray]:
    """Mean and standard error of the mean (ddof = 1; 0 when there is a single sample)."""
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[axis]
    mean = values.mean(axis=axis)
    sem = values.std(axis=axis, ddof=1) / np.sqrt(n) if n > 1 else np.zeros_like(mean)
    return mean, sem


def band(ax: Any, x: np.ndarray, mean: np.ndarray, sem: np.ndarray, floor: float = 0.0, **kw: Any) -> Any:
    """A line with a mean +- SEM band (the band clipped below at ``floor`` for log axes)."""
    (line,) = ax.plot(x, mean, **kw)
    lo = mean - sem
    if floor > 0:
        lo = np.maximum(lo, floor)
    ax.fill_between(x, lo, mean + sem, color=line.get_color(), alpha=0.25, lw=0)
    return line
