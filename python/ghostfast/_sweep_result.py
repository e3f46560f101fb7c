"""``SweepResult``: grid-shaped arrays of training histories and flags, with save/load and xarray export."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np

from ._optional import require
from ._sweep_grid import plain, to_json
from ._validation import as_float_array, check_real

#: Defaults of the derived flags (see SweepResult).
DROP_FRACTION = 0.5
TRAP_LOSS_FRACTION = 0.5
TRAP_GRAD_TOL = 1e-6

_HISTORIES = ("loss", "grad_norm", "accuracy", "weight_norm")
_ARRAYS = (*_HISTORIES, "record_epochs", "final_loss", "drop_epoch", "trapped", "diverged", "diverged_epoch",
           "done", "seed_entropy")


def drop_epochs(loss: np.ndarray, record_epochs: np.ndarray, fraction: float = DROP_FRACTION) -> np.ndarray:
    """First recorded epoch where ``loss < fraction * loss[..., 0]``; -1 if never (or the run is unfinished).

    ``loss`` [..., n_records] (NaN allowed: unfinished runs), ``record_epochs`` (n_records,) integers."""
    loss = _histories(loss, "loss")
    rec = as_float_array(record_epochs, "record_epochs", shape=(loss.shape[-1],))
    if not np.all(rec == np.round(rec)):
        raise ValueError("record_epochs must hold integers")
    fraction = check_real(fraction, "fraction", positive=True)
    below = loss < fraction * loss[..., :1]  # NaN compares False
    first = np.argmax(below, axis=-1)
    return np.where(below.any(axis=-1), rec.astype(np.int64)[first], -1).astype(np.int64)


def _histories(value: Any, name: str) -> np.ndarray:
    arr = as_float_array(value, name, finite=False)
    if arr.ndim < 1 or arr.shape[-1] < 1:
        raise ValueError(f"{name} must be an array [..., n_records] with n_records >= 1, got shape {arr.shape}")
    return arr


def trapped_mask(loss: np.ndarray, grad_norm: np.ndarray, *, loss_fraction: float = TRAP_LOSS_FRACTION,
                 grad_tol: float = TRAP_GRAD_TOL) -> np.ndarray:
    """No-learning zone: last recorded loss > ``loss_fraction`` * initial loss AND last gradient norm < ``grad_tol``.

    NaN (unfinished or diverged) runs are never trapped."""
    loss = _histories(loss, "loss")
    grad = _histories(grad_norm, "grad_norm")
    if grad.shape[:-1] != loss.shape[:-1]:
        raise ValueError(f"grad_norm must have the grid shape of loss {loss.shape[:-1]}, got {grad.shape[:-1]}")
    loss_fraction = check_real(loss_fraction, "loss_fraction", positive=True)
    grad_tol = check_real(grad_tol, "grad_tol", nonnegative=True, finite=False)
    return (loss[..., -1] > loss_fraction * loss[..., 0]) & (grad[..., -1] < grad_tol)


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
        In the no-learning zone at the end: last loss > ``trap_loss_fraction * loss[0]`` AND last gradient norm
        < ``trap_grad_tol`` (thresholds in ``config["flags"]``; recompute with :func:`trapped_mask`).
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

    def to_xarray(self) -> Any:
        """An ``xarray.Dataset`` with dims ``(*grid axes, "record")``; needs ``pip install ghostfast[io]``."""
        xr = require("xarray", "io", "SweepResult.to_xarray")
        dims = self.dims
        coords: Dict[str, Any] = {}
        for name, values in self.coords.items():
            arr = np.asarray(values) if len({type(v) for v in values}) == 1 else np.asarray(values, dtype=object)
            coords[name] = (name, arr)
        coords["epoch"] = ("record", np.asarray(self.record_epochs))
        data = {name: ((*dims, "record"), getattr(self, name)) for name in _HISTORIES}
        for name in ("final_loss", "drop_epoch", "trapped", "diverged", "diverged_epoch", "done"):
            data[name] = (dims, getattr(self, name))
        data["seed_entropy"] = (("seed",), np.asarray(self.seed_entropy))
        attrs = {"config": to_json(self.config), "version": self.version, "interrupted": int(self.interrupted)}
        return xr.Dataset(data, coords=coords, attrs=attrs)

    def save(self, path: str | os.PathLike) -> None:
        """Write an ``.npz`` file (arrays, plus coords/config as JSON); read it back with :func:`load`."""
        arrays: Dict[str, np.ndarray] = {name: np.asarray(getattr(self, name)) for name in _ARRAYS}
        meta = {"coords": [[k, plain(list(v))] for k, v in self.coords.items()], "config": self.config,
                "version": self.version, "interrupted": bool(self.interrupted),
                "has_params": self.params is not None}
        arrays["meta_json"] = np.array(to_json(meta))
        if self.params is not None:
            for flat, p in enumerate(self.params.reshape(-1)):
                if p is not None:
                    for name, value in p.items():
                        arrays[f"params__{flat}__{name}"] = np.asarray(value)
        path = os.fspath(path)
        with open(path, "wb") as fh:  # np.savez(path) would append ".npz" to other suffixes
            np.savez(fh, **arrays)


def load(path: str | os.PathLike) -> SweepResult:
    """Read a :class:`SweepResult` written by :meth:`SweepResult.save`."""
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
    return SweepResult(coords=coords, params=params, config=meta["config"], version=meta["version"],
                       interrupted=meta["interrupted"], **fields)


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

    def finish(self, coords: Mapping[str, Tuple[Any, ...]], *, config: Dict[str, Any], seed_entropy: np.ndarray,
               version: str, interrupted: bool, flags: Mapping[str, float]) -> SweepResult:
        shape, n_records = self.shape, self.n_records
        record_epochs = self.record_epochs
        if record_epochs is None:
            record_epochs = np.full(n_records, -1, dtype=np.int64)  # nothing finished: epochs unknown
        grid = {name: a.reshape(*shape, n_records) for name, a in self.hist.items()}
        done = self.done.reshape(shape)
        if n_records:
            final_loss = grid["loss"][..., -1].copy()
            drop = drop_epochs(grid["loss"], record_epochs, flags["drop_fraction"])
            trapped = trapped_mask(grid["loss"], grid["grad_norm"], loss_fraction=flags["trap_loss_fraction"],
                                   grad_tol=flags["trap_grad_tol"])
        else:  # epochs == 0: nothing recorded
            final_loss = np.full(shape, np.nan)
            drop = np.full(shape, -1, dtype=np.int64)
            trapped = np.zeros(shape, dtype=bool)
        return SweepResult(coords=dict(coords), loss=grid["loss"], grad_norm=grid["grad_norm"],
                           accuracy=grid["accuracy"], weight_norm=grid["weight_norm"], record_epochs=record_epochs,
                           final_loss=final_loss, drop_epoch=drop, trapped=trapped & done,
                           diverged=self.diverged.reshape(shape), diverged_epoch=self.diverged_epoch.reshape(shape),
                           done=done, params=None if self.params is None else self.params.reshape(shape),
                           config=config, seed_entropy=np.asarray(seed_entropy, dtype=np.int64),
                           version=version, interrupted=bool(interrupted))
