"""Trial generators of the paper's tasks: delayed activation (Figs. 2-3, 6, 8B), DCDT and DMTS (Figs. 4, 5, 7, 8C).

A :class:`Task` holds the full batch: ``inputs`` [B, S, n_in] (n_in may be 0), ``targets`` [B, S, n_out],
``mask`` [B, S, n_out] (loss and accuracy weights; ones by default), the ``loss_scale`` of the loss
``loss_scale * sum(mask * (y - target)**2)`` and the accuracy rule (``"binary"``: ``(y > 0.5) == target``;
``"ternary"``: y mapped to {-1, 0, 1} with thresholds ±0.33, compared with the target). Accuracy is the mean
over the entries with ``mask != 0`` (all trials x steps x outputs with the default mask).

Examples
--------
>>> from ghostfast import tasks
>>> task = tasks.dmts(*tasks.dmts_config("A"))
>>> task.inputs.shape, task.loss_scale == 1 / (4 * 38)
((4, 38, 1), True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._validation import DEFAULT_MAX_MEMORY, as_float_array, check_choice, check_int, check_memory, check_real

_INT32_MAX = 2**31 - 1  # the engine indexes trials and steps with int


def _check_size(B: int, S: int, channels: int, name: str) -> None:
    """Refuse, before allocating, a task the engine cannot index or whose arrays exceed DEFAULT_MAX_MEMORY."""
    if B > _INT32_MAX or S > _INT32_MAX:
        raise ValueError(f"{name}: {B} trials x {S} steps is more than the engine's 2**31 - 1 per axis")
    check_memory(
        8 * B * S * channels,
        DEFAULT_MAX_MEMORY,
        f"{name}'s arrays ({B} trials x {S} steps)",
        "use fewer steps or trials",
    )


__all__ = ["Task", "delayed_activation", "dcdt", "dmts", "dcdt_config", "dmts_config"]


@dataclass(frozen=True, eq=False)
class Task:
    """A full batch of trials (see the module docstring for the conventions).

    Parameters
    ----------
    inputs : array [B, S, n_in]
    targets : array [B, S, n_out]
    mask : array [B, S, n_out] or None (ones)
    loss_scale : float > 0
    accuracy : "binary" or "ternary"
    name : str
    """

    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray | None = None
    loss_scale: float = 1.0
    accuracy: str = "binary"
    name: str = "task"
    _core_task: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        targets = as_float_array(self.targets, "targets", ndim=3)
        B, S, n_out = targets.shape
        if B < 1 or S < 1 or n_out < 1:
            raise ValueError(f"targets must have B >= 1 trials, S >= 1 steps and >= 1 outputs, got {targets.shape}")
        if B > _INT32_MAX or S > _INT32_MAX:
            raise ValueError(f"targets: {B} trials x {S} steps is more than the engine's 2**31 - 1 per axis")
        inputs = as_float_array(self.inputs, "inputs", ndim=3, shape=(B, S, None))
        mask = np.ones_like(targets) if self.mask is None else as_float_array(self.mask, "mask", shape=(B, S, n_out))
        if np.any(mask < 0):
            raise ValueError("mask must be >= 0")
        check_real(self.loss_scale, "loss_scale", positive=True)
        check_choice(self.accuracy, "accuracy", ("binary", "ternary"))
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a str, got {type(self.name).__name__}")
        for name, arr in (("inputs", inputs), ("targets", targets), ("mask", mask)):
            arr = arr.copy()
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "loss_scale", float(self.loss_scale))

    @property
    def n_trials(self) -> int:
        """Number of trials B (the batch of one epoch)."""
        return int(self.targets.shape[0])

    @property
    def n_steps(self) -> int:
        """Number of time steps S of each trial."""
        return int(self.targets.shape[1])

    @property
    def n_in(self) -> int:
        """Number of input channels I."""
        return int(self.inputs.shape[2])

    @property
    def n_out(self) -> int:
        """Number of output channels O."""
        return int(self.targets.shape[2])

    def core_task(self) -> Any:
        """The engine's view of this task (``_core.RnnTaskData``, time-major arrays), built once and shared by
        every run of the task."""
        t = self._core_task
        if t is None:
            from . import _core

            t = _core.RnnTaskData(self.inputs, self.targets, self.mask, self.loss_scale, self.accuracy == "ternary")
            object.__setattr__(self, "_core_task", t)
        return t

    def __getstate__(self) -> dict[str, Any]:
        """Pickles (e.g. to dask workers) without the engine's copy, which each process rebuilds."""
        state = dict(self.__dict__)
        state["_core_task"] = None
        return state


def delayed_activation(T: int) -> Task:
    """Delayed activation: one trial, no input, 2T steps, target 0 for T steps then 1.

    The task of the paper's Figs. 2, 3, 6 and 8B. ``loss_scale = 1/T`` (the sum over 2T steps divided by T,
    as in the paper's code); binary accuracy.

    Parameters
    ----------
    T : int
        Delay in steps (>= 1); the trial has 2T steps.

    Returns
    -------
    Task
        ``inputs`` (1, 2T, 0), ``targets`` (1, 2T, 1).

    Examples
    --------
    >>> float(delayed_activation(20).targets[0, :, 0].sum())
    20.0
    """
    T = check_int(T, "T", minimum=1)
    _check_size(1, 2 * T, 2, "T")
    targets = np.zeros((1, 2 * T, 1))
    targets[0, T:, 0] = 1.0
    return Task(np.zeros((1, 2 * T, 0)), targets, None, 1.0 / T, "binary", f"delayed_activation(T={T})")


def _check_timing(n_in: int, n_delay: int, n_react: int, samples_per_class: int) -> tuple[int, int, int, int]:
    return (
        check_int(n_in, "n_in", minimum=1),
        check_int(n_delay, "n_delay", minimum=0),
        check_int(n_react, "n_react", minimum=1),
        check_int(samples_per_class, "samples_per_class", minimum=1),
    )


def dcdt(n_in: int, n_delay: int, n_react: int, samples_per_class: int = 1) -> Task:
    """Delayed cue discrimination (DCDT, paper Figs. 4A-D, 5A-C, 7, 8C).

    Trial types cue +1 and cue -1, tiled ``samples_per_class`` times. Input: the cue for ``n_in`` steps, then 0
    for ``n_delay + n_react`` steps. Target: 0 during cue and delay, sign(cue) during the response window.
    ``loss_scale = 1/(B S)`` (MSE mean), ternary accuracy (thresholds +-0.33).

    Parameters
    ----------
    n_in, n_delay, n_react : int
        Steps of the cue, the delay and the response window (see :func:`dcdt_config`).
    samples_per_class : int
        Copies of each trial type (they differ only in noise and random initial states).

    Returns
    -------
    Task
        B = 2 ``samples_per_class`` trials of S = ``n_in + n_delay + n_react`` steps, one input, one output.

    Examples
    --------
    >>> t = dcdt(2, 10, 10)
    >>> t.inputs.shape, float(t.targets[1, -1, 0])
    ((2, 22, 1), -1.0)
    """
    n_in, n_delay, n_react, spc = _check_timing(n_in, n_delay, n_react, samples_per_class)
    S = n_in + n_delay + n_react
    _check_size(2 * spc, S, 6, "n_in + n_delay + n_react, samples_per_class")
    cues = np.tile(np.array([1.0, -1.0]), spc)
    B = cues.size
    inputs = np.zeros((B, S, 1))
    targets = np.zeros((B, S, 1))
    inputs[:, :n_in, 0] = cues[:, None]
    targets[:, n_in + n_delay :, 0] = cues[:, None]
    return Task(inputs, targets, None, 1.0 / (B * S), "ternary", f"dcdt({n_in}, {n_delay}, {n_react}, {spc})")


def dmts(n_in: int, n_delay: int, n_react: int, samples_per_class: int = 1) -> Task:
    """Delayed match-to-sample (DMTS, paper Figs. 4E-H, 5D-F, 7).

    Trial types (s1, s2) = (+,+), (-,-), (-,+), (+,-), tiled ``samples_per_class`` times. Input: s1 for
    ``n_in`` steps, 0 for ``n_delay``, s2 for ``n_in``, 0 for ``n_react``. Target: 1 during the response window
    (last ``n_react`` steps) for matches, 0 otherwise. ``loss_scale = 1/(B S)``, binary accuracy.

    Parameters
    ----------
    n_in, n_delay, n_react : int
        Steps of each sample, of the delay and of the response window (see :func:`dmts_config`).
    samples_per_class : int
        Copies of each trial type.

    Returns
    -------
    Task
        B = 4 ``samples_per_class`` trials of S = ``2 n_in + n_delay + n_react`` steps.

    Examples
    --------
    >>> t = dmts(6, 16, 10)
    >>> t.targets[:, -1, 0].tolist()
    [1.0, 1.0, 0.0, 0.0]
    """
    n_in, n_delay, n_react, spc = _check_timing(n_in, n_delay, n_react, samples_per_class)
    S = 2 * n_in + n_delay + n_react
    _check_size(4 * spc, S, 6, "2 n_in + n_delay + n_react, samples_per_class")
    types = np.tile(np.array([[1.0, 1.0], [-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0]]), (spc, 1))
    B = types.shape[0]
    inputs = np.zeros((B, S, 1))
    targets = np.zeros((B, S, 1))
    inputs[:, :n_in, 0] = types[:, :1]
    inputs[:, n_in + n_delay : 2 * n_in + n_delay, 0] = types[:, 1:]
    targets[:, S - n_react :, 0] = (types[:, 0] == types[:, 1]).astype(float)[:, None]
    return Task(inputs, targets, None, 1.0 / (B * S), "binary", f"dmts({n_in}, {n_delay}, {n_react}, {spc})")


_DCDT = {"A": (2, 10, 10), "B": (6, 16, 10)}
_DMTS = {"A": (6, 16, 10), "B": (2, 30, 10)}


def dcdt_config(name: str) -> tuple[int, int, int]:
    """Step counts of the paper's DCDT configurations.

    Parameters
    ----------
    name : {"A", "B"}
        "A": 22 steps (Figs. 4, 5, 8C); "B": 32 steps (Fig. 7).

    Returns
    -------
    tuple of int
        ``(n_in, n_delay, n_react)``, the arguments of :func:`dcdt`.

    Examples
    --------
    >>> dcdt_config("A"), dcdt_config("B")
    ((2, 10, 10), (6, 16, 10))
    >>> dcdt(*dcdt_config("B")).n_steps
    32
    """
    return _DCDT[check_choice(name, "name", tuple(_DCDT))]


def dmts_config(name: str) -> tuple[int, int, int]:
    """Step counts of the paper's DMTS configurations.

    Parameters
    ----------
    name : {"A", "B"}
        "A": 38 steps (Figs. 4, 7); "B": 44 steps (Fig. 5).

    Returns
    -------
    tuple of int
        ``(n_in, n_delay, n_react)``, the arguments of :func:`dmts`.

    Examples
    --------
    >>> dmts_config("A"), dmts_config("B")
    ((6, 16, 10), (2, 30, 10))
    >>> dmts(*dmts_config("A")).n_steps
    38
    """
    return _DMTS[check_choice(name, "name", tuple(_DMTS))]
