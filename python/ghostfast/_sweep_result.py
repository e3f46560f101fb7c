"""``SweepResult``: grid-shaped arrays of training histories and flags, with save/load and xarray export."""

from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np

from . import _display
from . import metrics as _metrics
from ._optional import require
from ._sweep_grid import plain, to_json
from ._validation import as_float_array, check_real

#: Defaults of the derived flags (see SweepResult); the definitions live in ghostfast.metrics.
DROP_FRACTION = _metrics.DROP_FRACTION
TRAP_LOSS_FRACTION = _metrics.TRAP_LOSS_FRACTION
TRAP_GRAD_TOL = _metrics.TRAP_GRAD_FRACTION

_HISTORIES = ("loss", "grad_norm", "accuracy", "weight_norm")
_SCALARS = ("final_loss", "drop_epoch", "trapped", "diverged", "diverged_epoch", "done")
_ARRAYS = (
    *_HISTORIES,
    "record_epochs",
    "final_loss",
    "drop_epoch",
    "trapped",
    "diverged",
    "diverged_epoch",
    "done",
    "seed_entropy",
)


def drop_epochs(loss: np.ndarray, record_epochs: np.ndarray, fraction: float = DROP_FRACTION) -> np.ndarray:
    """First recorded epoch where ``loss < fraction * loss[..., 0]``; -1 if never (or the run is unfinished).

    The abrupt-drop epoch of :class:`SweepResult` (``drop_epoch``), recomputed for another ``fraction``: this is
    :func:`ghostfast.metrics.drop_epoch`.

    Parameters
    ----------
    loss : ndarray, shape ``(..., n_records)``
        Loss histories.
    record_epochs : ndarray of int, shape ``(n_records,)``
        The epoch of each record.
    fraction : float
        The drop threshold, relative to the first recorded loss.

    Returns
    -------
    ndarray of int, shape ``loss.shape[:-1]``

    Examples
    --------
    >>> import numpy as np
    >>> drop_epochs(np.array([[1.0, 0.9, 0.2, 0.1], [1.0, 1.0, 1.0, 1.0]]), np.array([0, 10, 20, 30]))
    array([20, -1])
    """
    loss = _histories(loss, "loss")
    rec = as_float_array(record_epochs, "record_epochs", shape=(loss.shape[-1],))
    if not np.all(rec == np.round(rec)):
        raise ValueError("record_epochs must hold integers")
    fraction = check_real(fraction, "fraction", positive=True)
    return _metrics.drop_epoch(loss, rec.astype(np.int64), fraction=fraction)


def _histories(value: Any, name: str) -> np.ndarray:
    arr = as_float_array(value, name, finite=False)
    if arr.ndim < 1 or arr.shape[-1] < 1:
        raise ValueError(f"{name} must be an array [..., n_records] with n_records >= 1, got shape {arr.shape}")
    return arr


def trapped_mask(
    loss: np.ndarray,
    grad_norm: np.ndarray,
    *,
    loss_fraction: float = TRAP_LOSS_FRACTION,
    grad_tol: float = TRAP_GRAD_TOL,
) -> np.ndarray:
    """No-learning zone: last recorded loss > ``loss_fraction`` * initial loss AND last gradient norm <=
    ``grad_tol`` * the run's largest recorded gradient norm.

    The ``trapped`` flag of :class:`SweepResult`, recomputed for other thresholds: this is
    :func:`ghostfast.metrics.trapped`, which explains why the gradient test is relative. NaN (unfinished or
    diverged) runs are never trapped.

    Parameters
    ----------
    loss, grad_norm : ndarray, shape ``(..., n_records)``
        Histories of the loss and of the gradient norm.
    loss_fraction : float
        The loss must still exceed this fraction of its initial value.
    grad_tol : float
        The final gradient norm must be at most this fraction of the run's largest recorded one.

    Returns
    -------
    ndarray of bool, shape ``loss.shape[:-1]``

    Examples
    --------
    >>> import numpy as np
    >>> loss = np.array([[1.0, 1.0], [1.0, 0.01], [1.0, 1.0]])
    >>> grad = np.array([[1e-3, 1e-9], [1e-3, 1e-9], [1e-3, 1e-2]])
    >>> trapped_mask(loss, grad).tolist()             # stuck; learned; still moving
    [True, False, False]
    """
    loss = _histories(loss, "loss")
    grad = _histories(grad_norm, "grad_norm")
    if grad.shape[:-1] != loss.shape[:-1]:
        raise ValueError(f"grad_norm must have the grid shape of loss {loss.shape[:-1]}, got {grad.shape[:-1]}")
    loss_fraction = check_real(loss_fraction, "loss_fraction", positive=True)
    grad_tol = check_real(grad_tol, "grad_tol", nonnegative=True)
    return _metrics.trapped(loss, grad, loss_fraction=loss_fraction, grad_fraction=grad_tol)


@dataclass(frozen=True)
class SweepResult:
    """Results of :func:`ghostfast.sweep.sweep`: one entry per grid point, grid axes first, records last.

    Attributes
    ----------
    coords : dict
        Axis name -> tuple of values, in axis order: ``lr``, ``seed``, ``optimizer`` (only when a list of
        optimizers was given), then the ``**grid`` fields in the order given.
    loss, grad_norm, accuracy, weight_norm : ndarray, shape ``(*grid_shape, n_records)``
        Histories at ``record_epochs`` (every ``record_every``-th epoch). NaN for unfinished runs.
    record_epochs : ndarray of int, shape ``(n_records,)``
    final_loss : ndarray, shape ``grid_shape``
        The last recorded loss.
    drop_epoch : ndarray of int, shape ``grid_shape``
        Epoch of the abrupt drop: the first recorded epoch with ``loss < drop_fraction * loss[0]``; -1 if never.
    trapped : ndarray of bool, shape ``grid_shape``
        In the no-learning zone at the end (:func:`ghostfast.metrics.trapped`): last loss >
        ``trap_loss_fraction * loss[0]`` AND last gradient norm <= ``trap_grad_tol`` times the run's largest
        recorded gradient norm (thresholds in ``config["flags"]``; recompute with :func:`trapped_mask`).
    diverged : ndarray of bool; diverged_epoch : ndarray of int (-1 if not diverged)
    done : ndarray of bool
        Runs that finished (an interrupted sweep returns the finished ones; the others are NaN).
    params : ndarray of object or None
        With ``keep_params=True``: the final parameter dict of each run (None if unfinished).
    config : dict
        JSON-able description of what determines the results (model, task, epochs, axes, flags).
    seed_entropy : ndarray of int, shape ``(n_seeds,)``
        The SeedSequence entropy of each seed value.
    version : str
    interrupted : bool
    """

    coords: Dict[str, Tuple[Any, ...]]
    loss: np.ndarray
    grad_norm: np.ndarray
    accuracy: np.ndarray
    weight_norm: np.ndarray
    record_epochs: np.ndarray
    final_loss: np.ndarray
    drop_epoch: np.ndarray
    trapped: np.ndarray
    diverged: np.ndarray
    diverged_epoch: np.ndarray
    done: np.ndarray
    params: Optional[np.ndarray]
    config: Dict[str, Any]
    seed_entropy: np.ndarray
    version: str
    interrupted: bool = False

    @property
    def dims(self) -> Tuple[str, ...]:
        return tuple(self.coords)

    @property
    def shape(self) -> Tuple[int, ...]:
        return tuple(len(v) for v in self.coords.values())

    @property
    def n_runs(self) -> int:
        """Number of grid points (runs)."""
        return int(np.prod(self.shape, dtype=np.int64))

    def per_lr(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Learning rates, mean final loss and fraction trapped per lr, averaged over every other axis.

        The mean loss is over finished runs (NaN when none finished); the trapped fraction is over all runs
        of that lr (unfinished runs count as not trapped). ``ghostfast sweep`` prints this table.

        Returns
        -------
        lr : ndarray, shape ``(n_lr,)``
        mean_final_loss : ndarray, shape ``(n_lr,)``
        fraction_trapped : ndarray, shape ``(n_lr,)``

        Examples
        --------
        >>> from ghostfast import rnn, tasks, sweep
        >>> res = sweep.sweep(rnn.Model(N=20, x0=-0.3), tasks.delayed_activation(T=5), epochs=20,
        ...                   lr=[1e-2, 1.0], seed=range(2))
        >>> lr, loss, trapped = res.per_lr()
        >>> lr.tolist(), loss.shape, trapped.shape
        ([0.01, 1.0], (2,), (2,))
        """
        lr = np.asarray(self.coords["lr"], dtype=np.float64)
        other = tuple(range(1, len(self.shape)))
        finished = np.where(self.done, self.final_loss, np.nan).reshape(lr.size, -1)
        counts = np.isfinite(finished).sum(axis=1)
        sums = np.nansum(finished, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        trapped = self.trapped.mean(axis=other) if other else self.trapped.astype(np.float64)
        return lr, mean, np.asarray(trapped, dtype=np.float64)

    def _summary_lines(self) -> List[str]:
        n_done = int(self.done.sum())
        lines = [
            f"SweepResult: {' x '.join(f'{k}[{len(v)}]' for k, v in self.coords.items())} = {self.n_runs} "
            f"runs, {self.record_epochs.size} records ({_display.fmt_epochs(self.record_epochs)})"
        ]
        for name, values in self.coords.items():
            lines.append(f"  {name}: {_display.fmt_values(values)}")
        lines.append(
            f"  finished {n_done} of {self.n_runs}"
            + (" (interrupted)" if self.interrupted else "")
            + f"; trapped {int(self.trapped.sum())} ({self.trapped.mean():.0%}); diverged "
            f"{int(self.diverged.sum())}; abrupt drop in {int((self.drop_epoch >= 0).sum())}"
        )
        lines.append(f"  final loss: {_display.fmt_stat(self.final_loss[self.done])}")
        lr, _, trapped = self.per_lr()
        lines.append(f"  fraction trapped per lr: {_display.fmt_values([round(float(t), 3) for t in trapped])}")
        return lines

    def __repr__(self) -> str:
        """A short summary (grid, sizes, flags); the arrays are attributes (``res.loss`` ...)."""
        return "\n".join(self._summary_lines())

    def _repr_html_(self) -> str:
        """HTML summary for Jupyter: the axes, the flags and the per-lr table (bounded size)."""
        n_done = int(self.done.sum())
        title = "<b>SweepResult</b>: " + html.escape(
            f"{self.n_runs} runs, {self.record_epochs.size} records ({_display.fmt_epochs(self.record_epochs)}), "
            f"finished {n_done} of {self.n_runs}"
            + (" (interrupted)" if self.interrupted else "")
            + f", ghostfast {self.version}"
        )
        axes = _display.html_table(
            ["axis", "size", "values"], [(k, len(v), _display.fmt_values(v)) for k, v in self.coords.items()]
        )
        flags = _display.html_table(
            ["trapped", "diverged", "abrupt drop", "final loss (finished runs)"],
            [
                (
                    f"{int(self.trapped.sum())} ({self.trapped.mean():.0%})",
                    int(self.diverged.sum()),
                    int((self.drop_epoch >= 0).sum()),
                    _display.fmt_stat(self.final_loss[self.done]),
                )
            ],
        )
        lr, mean, trapped = self.per_lr()
        rows, cut = _display.cut_rows([(f"{a:.4g}", f"{b:.4g}", f"{c:.2f}") for a, b, c in zip(lr, mean, trapped)])
        if cut:
            rows.insert(len(rows) // 2, (f"... {cut} more ...", "", ""))
        others = [k for k in self.coords if k != "lr"]
        caption = f"per lr, averaged over {', '.join(others)}" if others else "per lr"
        table = _display.html_table(["lr", "mean final loss", "fraction trapped"], rows, caption=caption)
        return f"<div>{title}{axes}{flags}{table}</div>"

    def to_dataframe(self, histories: bool = False) -> Any:
        """A ``pandas.DataFrame`` indexed by the grid axes (needs pandas, e.g. ``pip install ghostfast[io]``).

        Parameters
        ----------
        histories : bool
            False (default): one row per run with ``final_loss``, ``drop_epoch``, ``trapped``, ``diverged``,
            ``diverged_epoch`` and ``done``. True: one row per run and recorded epoch with ``loss``,
            ``grad_norm``, ``accuracy`` and ``weight_norm`` (an extra ``epoch`` index level).

        Returns
        -------
        pandas.DataFrame
            MultiIndex ``(*grid axes[, epoch])`` in the result's axis order; ``df.reset_index()`` gives plain
            columns, ``df.groupby("lr").trapped.mean()`` the trapped fraction per learning rate.

        Examples
        --------
        >>> from ghostfast import rnn, tasks, sweep
        >>> res = sweep.sweep(rnn.Model(N=20, x0=-0.3), tasks.delayed_activation(T=5), epochs=20,
        ...                   lr=[1e-2, 2e-2], seed=range(3), record_every=10)
        >>> df = res.to_dataframe()
        >>> df.shape, list(df.index.names)
        ((6, 6), ['lr', 'seed'])
        >>> res.to_dataframe(histories=True).shape
        (12, 4)
        """
        pd = require("pandas", "io", "SweepResult.to_dataframe")
        levels = [list(v) for v in self.coords.values()]
        names = list(self.coords)
        if histories:
            index = pd.MultiIndex.from_product([*levels, [int(e) for e in self.record_epochs]], names=[*names, "epoch"])
            data = {name: np.asarray(getattr(self, name)).reshape(-1) for name in _HISTORIES}
        else:
            index = pd.MultiIndex.from_product(levels, names=names)
            data = {name: np.asarray(getattr(self, name)).reshape(-1) for name in _SCALARS}
        return pd.DataFrame(data, index=index)

    def to_xarray(self) -> Any:
        """An ``xarray.Dataset`` with dims ``(*grid axes, "epoch")``; needs ``pip install ghostfast[io]``.

        Histories are indexed by ``epoch`` (the recorded epochs), so ``ds.sel(epoch=1000)`` works; every
        variable and coordinate has ``long_name`` and ``units`` attributes.

        Returns
        -------
        xarray.Dataset

        Examples
        --------
        >>> from ghostfast import rnn, tasks, sweep
        >>> res = sweep.sweep(rnn.Model(N=20, x0=-0.3), tasks.delayed_activation(T=5), epochs=20,
        ...                   lr=[1e-2, 2e-2], seed=range(3), record_every=10)
        >>> ds = res.to_xarray()
        >>> ds["loss"].dims, ds.sel(epoch=10)["loss"].shape
        (('lr', 'seed', 'epoch'), (2, 3))
        >>> ds["loss"].attrs["units"]
        '1'
        """
        xr = require("xarray", "io", "SweepResult.to_xarray")
        dims = self.dims
        coords: Dict[str, Any] = {}
        for name, values in self.coords.items():
            arr = np.asarray(values) if len({type(v) for v in values}) == 1 else np.asarray(values, dtype=object)
            coords[name] = (name, arr, _display.variable_attrs(name))
        coords["epoch"] = ("epoch", np.asarray(self.record_epochs), _display.variable_attrs("epoch"))
        data = {name: ((*dims, "epoch"), getattr(self, name), _display.variable_attrs(name)) for name in _HISTORIES}
        for name in _SCALARS:
            data[name] = (dims, getattr(self, name), _display.variable_attrs(name))
        data["seed_entropy"] = (("seed",), np.asarray(self.seed_entropy), _display.variable_attrs("seed_entropy"))
        attrs = {"config": to_json(self.config), "version": self.version, "interrupted": int(self.interrupted)}
        return xr.Dataset(data, coords=coords, attrs=attrs)

    def save(self, path: str | os.PathLike) -> None:
        """Write an ``.npz`` file (arrays, plus coords/config as JSON); read it back with :func:`load`."""
        arrays: Dict[str, np.ndarray] = {name: np.asarray(getattr(self, name)) for name in _ARRAYS}
        meta = {
            "coords": [[k, plain(list(v))] for k, v in self.coords.items()],
            "config": self.config,
            "version": self.version,
            "interrupted": bool(self.interrupted),
            "has_params": self.params is not None,
        }
        arrays["meta_json"] = np.array(to_json(meta))
        if self.params is not None:
            for flat, p in enumerate(self.params.reshape(-1)):
                if p is not None:
                    for name, value in p.items():
                        arrays[f"params__{flat}__{name}"] = np.asarray(value)
        path = os.fspath(path)
        with open(path, "wb") as fh:  # np.savez(path) would append ".npz" to other suffixes
            np.savez(fh, **arrays)  # type: ignore[arg-type]  # numpy's stub types the first ** as allow_pickle


def load(path: str | os.PathLike) -> SweepResult:
    """Read a :class:`SweepResult` written by :meth:`SweepResult.save`.

    Parameters
    ----------
    path : str or os.PathLike
        An ``.npz`` file written by ``SweepResult.save``.

    Returns
    -------
    SweepResult

    Examples
    --------
    >>> import os, tempfile
    >>> from ghostfast import rnn, tasks, sweep
    >>> res = sweep.sweep(rnn.Model(N=10), tasks.delayed_activation(T=3), epochs=5, lr=[1e-2], seed=[0, 1])
    >>> path = os.path.join(tempfile.mkdtemp(), "res.npz")
    >>> res.save(path)
    >>> bool((sweep.load(path).loss == res.loss).all())
    True
    """
    with np.load(os.fspath(path), allow_pickle=False) as data:
        meta = json.loads(str(data["meta_json"]))
        fields: Dict[str, Any] = {name: data[name] for name in _ARRAYS}
        coords = {k: tuple(v) for k, v in meta["coords"]}
        params = None
        if meta["has_params"]:
            shape = tuple(len(v) for v in coords.values())
            params = np.empty(shape, dtype=object)
            flat = params.reshape(-1)
            for key in data.files:
                if key.startswith("params__"):
                    _, i, name = key.split("__", 2)
                    if flat[int(i)] is None:
                        flat[int(i)] = {}
                    flat[int(i)][name] = data[key]
    return SweepResult(
        coords=coords,
        params=params,
        config=meta["config"],
        version=meta["version"],
        interrupted=meta["interrupted"],
        **fields,
    )


class Collector:
    """Grid-shaped result arrays filled chunk by chunk as runs finish (so finished chunks can be freed)."""

    def __init__(self, shape: Tuple[int, ...], n_records: int, keep_params: bool) -> None:
        self.shape = tuple(shape)
        self.n_runs = int(np.prod(self.shape, dtype=np.int64))
        self.n_records = int(n_records)
        self.hist = {name: np.full((self.n_runs, self.n_records), np.nan) for name in _HISTORIES}
        self.record_epochs: Optional[np.ndarray] = None
        self.diverged = np.zeros(self.n_runs, dtype=bool)
        self.diverged_epoch = np.full(self.n_runs, -1, dtype=np.int64)
        self.done = np.zeros(self.n_runs, dtype=bool)
        self.params = np.empty(self.n_runs, dtype=object) if keep_params else None

    def add(self, chunk: Mapping[str, Any]) -> None:
        runs = np.asarray(chunk["runs"], dtype=np.int64)
        if runs.size == 0:
            return
        epochs_here = np.asarray(chunk["record_epochs"], dtype=np.int64)
        if self.record_epochs is None:
            self.record_epochs = epochs_here
            if epochs_here.size != self.n_records:  # the engine's recording rule decides; nothing stored yet
                self.n_records = int(epochs_here.size)
                self.hist = {name: np.full((self.n_runs, self.n_records), np.nan) for name in _HISTORIES}
        elif not np.array_equal(self.record_epochs, epochs_here):
            raise RuntimeError("chunks of one sweep recorded different epochs")
        for name in _HISTORIES:
            self.hist[name][runs] = chunk[name]
        self.diverged[runs] = chunk["diverged"]
        self.diverged_epoch[runs] = chunk["diverged_epoch"]
        if self.params is not None:
            for r, p in zip(runs, chunk["params"]):
                self.params[r] = p
        self.done[runs] = True  # last: a Ctrl-C inside add() leaves these runs not done, never half stored

    def finish(
        self,
        coords: Mapping[str, Tuple[Any, ...]],
        *,
        config: Dict[str, Any],
        seed_entropy: np.ndarray,
        version: str,
        interrupted: bool,
        flags: Mapping[str, float],
    ) -> SweepResult:
        shape, n_records = self.shape, self.n_records
        record_epochs = self.record_epochs
        if record_epochs is None:
            record_epochs = np.full(n_records, -1, dtype=np.int64)  # nothing finished: epochs unknown
        grid = {name: a.reshape(*shape, n_records) for name, a in self.hist.items()}
        done = self.done.reshape(shape)
        if n_records:
            final_loss = grid["loss"][..., -1].copy()
            drop = drop_epochs(grid["loss"], record_epochs, flags["drop_fraction"])
            trapped = trapped_mask(
                grid["loss"],
                grid["grad_norm"],
                loss_fraction=flags["trap_loss_fraction"],
                grad_tol=flags["trap_grad_tol"],
            )
        else:  # epochs == 0: nothing recorded
            final_loss = np.full(shape, np.nan)
            drop = np.full(shape, -1, dtype=np.int64)
            trapped = np.zeros(shape, dtype=bool)
        return SweepResult(
            coords=dict(coords),
            loss=grid["loss"],
            grad_norm=grid["grad_norm"],
            accuracy=grid["accuracy"],
            weight_norm=grid["weight_norm"],
            record_epochs=record_epochs,
            final_loss=final_loss,
            drop_epoch=drop,
            trapped=trapped & done,
            diverged=self.diverged.reshape(shape),
            diverged_epoch=self.diverged_epoch.reshape(shape),
            done=done,
            params=None if self.params is None else self.params.reshape(shape),
            config=config,
            seed_entropy=np.asarray(seed_entropy, dtype=np.int64),
            version=version,
            interrupted=bool(interrupted),
        )
