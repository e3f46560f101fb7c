"""The package's outcome metrics of a training history: ONE definition each.

Every part of ghostfast that says a run "dropped", made its transition or its accuracy jump, is "trapped" or
has "learned" calls these functions: ``sweep.sweep`` (``SweepResult.drop_epoch`` and ``.trapped``,
:func:`ghostfast.sweep.critical_lr`), :func:`ghostfast.analysis.learning_metrics` and the figures
(``ghostfast.figures``: Figs 3, 4, 5, 6A, 6B, ...). All work on histories ``loss[..., records]`` (and
``grad_norm`` of the same shape; :func:`accuracy_jump_epoch` on ``accuracy[..., records]``), vectorised over
the leading axes, with the initial loss at record 0.

* :func:`drop_epoch`: the abrupt drop is the first (recorded) epoch whose loss is below ``fraction`` (0.5)
  times the plateau's loss; -1 if it never is. The plateau's loss is the initial loss unless the caller
  gives it (``reference``). The plateau-then-drop of the paper's Figs 2-6 makes the choice of fraction
  immaterial: the loss crosses every level between ~0.9 and ~0.1 of the plateau within a few epochs.
  A network whose output starts on its plateau (the rank-one networks, the canonical model, tanh-output task
  RNNs whose output starts near 0) needs no ``reference``. A task RNN whose initial output is not the
  trivial one first falls quickly onto the plateau and only then drops abruptly: the sigmoid output of the
  DMTS network of paper Fig 4 starts at 0.5 where the target is 0 on 28 of 38 steps, so its loss halves in
  the first ~200 epochs (to the zero output's loss) and the half-L0 rule would call that fall "the drop".
  Its plateau is the loss of the zero output, ``task.loss_scale * sum(mask * target**2)``, and halving
  it needs the memory the task asks for (in DMTS half of it is exactly the loss of the best memoryless
  output, 0.5 in the response window; in DCDT the zero output is itself the best memoryless output).
* :func:`transition_epoch`: the abrupt transition as a reader sees it on log-log axes, the record across which
  the loss falls by the largest factor, comparing the records in the 1/20 of a decade of epochs before it
  with those in the 1/20 of a decade after it (windows of 12 % of the epoch). Where learning is one plateau
  and one drop it is :func:`drop_epoch` to within the drop's few epochs (paper Fig 3A: 33 900 against
  33 700). It differs where the loss has more than one stage: the paper's own Fig 4A-D network (rank 2,
  DCDT, SGD lr 1e-3, 1000 trials) falls gradually from its plateau (half the zero output's loss at epoch
  525) and makes its abrupt transition near epoch 7500 (accuracy 0.7 -> 0.9), between the paper's
  checkpoints at 4000 and 8000. "A ghost precedes the abrupt transition" (Fig 4) is a claim about the
  latter, so the figures that look for what comes before the transition use this function; sweeps and the
  critical learning rate, which ask whether and when a run left its plateau, use :func:`drop_epoch`. The
  fall is taken in log loss over windows that scale with the epoch, so neither a fast early fall onto the
  plateau (the DMTS network's first 200 epochs) nor the slow decay after the transition competes with it.
* :func:`accuracy_jump_epoch`: the jump of the accuracy, where a figure's claim is about the accuracy (paper
  Fig 5: "a slow point near the trajectories before the accuracy jump"). It is the first record at which the
  accuracy, averaged over the 1 % of the records centred on it, reaches halfway from its level at the start of training
  to its level at the end (means over the first and last 1/30 of the records). A noisy loss can fall in stages
  that the accuracy does not show: the full-rank DMTS network of Fig 5D-F (quick scale, seed 3) sits at accuracy
  0.89 until epoch ~35 000, its accuracy jumps to 0.96 by 39 000 (:func:`accuracy_jump_epoch`: ~38 000), and
  its loss falls from 0.057 at 38 000 to 0.009 at 43 000, most steeply near 41 700 (:func:`transition_epoch`).
* :func:`trapped`: in the no-learning zone *at the end of the history* (paper Sec. 2, Figs 2D, 6A): the last
  loss is above ``loss_fraction`` (0.5) times the initial loss AND the last gradient norm is at most
  ``grad_fraction`` (1e-3) times the largest gradient norm of the same run. The gradient threshold is relative
  to the run's own scale on purpose. In the sharp limit the zone's gradient is exactly zero, but at a finite
  output confidence it is only exponentially small, and how small depends on the model and the depth of the
  fall: rank-one networks at lr 0.06 (10 seeds, 60 000 epochs) end with gradients from 1e-40 to 1e-8. An absolute cut (e.g. 1e-6)
  therefore flips with the epoch at which it is read: seed 4 of that sweep (numpy initialisation, records
  every 10 epochs) falls into the zone at epoch ~1200 with a gradient of 5e-7, which then creeps up through
  1e-6 (epoch ~18 600, where a 1e-6 cut would call it free while its loss is still 1.0000) to 1e-5; it
  escapes at epoch ~33 000 and falls back at ~35 000, ending at 1e-17. Relative to its own largest gradient
  (0.57 before the escape) the creeping gradient stays below 1e-3 until epoch 32 560, when the escape starts,
  so the run is judged trapped all the time it sits in the zone and not trapped while it climbs out.
  A run still on its initial plateau (gradient ~1e-3 and growing, the largest it has had) is never trapped,
  however small its gradient is in absolute terms.
  Without ``grad_norm`` the criterion is the loss alone. The canonical 1-D model has its own, exact criterion
  (r below r*/4: ``canonical.train(...).trapped``).
* :func:`learned`: last loss / initial loss < ``ratio`` (1e-2), the paper's Fig 6B criterion.

Unfinished or diverged runs (a NaN or infinite last record) are neither trapped nor learned.

Examples
--------
>>> import numpy as np
>>> L = np.array([[1.0, 0.9, 0.3, 0.005], [1.0, 1.0, 1.0, 1.0]])
>>> G = np.array([[1e-3, 1e-2, 1.0, 0.1], [1e-3, 2.0, 1e-7, 1e-9]])
>>> drop_epoch(L, [0, 10, 20, 30]).tolist(), trapped(L, G).tolist(), learned(L).tolist()
([20, -1], [False, True], [True, False])

A loss that falls gradually from its plateau (0.455) and then abruptly: the drop is the gradual crossing of
half the plateau, the transition is the step.

>>> e = np.arange(0, 10001, 10)
>>> two_stage = np.where(e < 7000, 0.47 - 0.36 * e / 7000, 0.06)
>>> int(drop_epoch(two_stage, e, reference=0.455)), int(transition_epoch(two_stage, e))
(4720, 7000)
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ._validation import check_int, check_real

__all__ = [
    "drop_epoch",
    "transition_epoch",
    "accuracy_jump_epoch",
    "trapped",
    "learned",
    "DROP_FRACTION",
    "TRANSITION_BINS_PER_DECADE",
    "ACCURACY_JUMP_FRACTION",
    "TRAP_LOSS_FRACTION",
    "TRAP_GRAD_FRACTION",
    "LEARNED_RATIO",
]

#: Default of :func:`drop_epoch`'s ``fraction``.
DROP_FRACTION = 0.5
#: Default of :func:`transition_epoch`'s ``bins_per_decade``: its windows span 12 % of the epoch on each side,
#: short against a plateau, long enough late in training to average many records of a noisy loss.
TRANSITION_BINS_PER_DECADE = 20
#: Default of :func:`accuracy_jump_epoch`'s ``fraction``: halfway from the start's accuracy to the end's.
ACCURACY_JUMP_FRACTION = 0.5
#: Defaults of :func:`trapped`: last loss above this fraction of the initial loss ...
TRAP_LOSS_FRACTION = 0.5
#: ... and last gradient norm at most this fraction of the run's largest gradient norm.
TRAP_GRAD_FRACTION = 1e-3
#: Default of :func:`learned`: final / initial loss below this (paper Fig 6B).
LEARNED_RATIO = 1e-2


def _histories(loss: Any, name: str = "loss") -> np.ndarray:
    try:
        L = np.asarray(loss, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array of numbers, got {type(loss).__name__}") from err
    if L.ndim < 1 or L.shape[-1] < 1:
        raise ValueError(f"{name} must have a records axis (last) with at least one record, got shape {L.shape}")
    return L


def _record_epochs(L: np.ndarray, epochs: Any) -> np.ndarray:
    """The epoch of each record of the histories ``L`` (default 0, 1, ..., R - 1)."""
    ep = np.arange(L.shape[-1]) if epochs is None else np.asarray(epochs)
    if ep.shape != (L.shape[-1],):
        raise ValueError(f"epochs must have shape ({L.shape[-1]},) (one per record), got {ep.shape}")
    return ep


def drop_epoch(
    loss: Any, epochs: Any = None, *, fraction: float = DROP_FRACTION, reference: Optional[Any] = None
) -> np.ndarray:
    """Epoch of the abrupt drop: the first record with ``loss < fraction * reference``, the plateau's loss
    (default: the initial loss ``loss[..., 0]``); -1 if none. See the module docstring for when the plateau
    is not the initial loss.

    Parameters
    ----------
    loss : array [..., R]
        Loss histories, records last (NaN records never count as below).
    epochs : array (R,) of int, optional
        The epoch of each record (default: 0, 1, ..., R - 1).
    fraction : float in (0, 1]
    reference : float or array [...], optional
        The plateau's loss of each history (positive); default its initial loss.

    Returns
    -------
    int64 array [...]
    """
    L = _histories(loss)
    fraction = check_real(fraction, "fraction", positive=True)
    ep = _record_epochs(L, epochs)
    if reference is None:
        level = L[..., :1]
    else:
        ref = np.asarray(reference, dtype=np.float64)
        if not (np.all(np.isfinite(ref)) and np.all(ref > 0)):
            raise ValueError("reference (the plateau's loss) must be positive and finite")
        try:
            level = np.broadcast_to(ref, L.shape[:-1])[..., None]
        except ValueError as err:
            raise ValueError(
                f"reference must be a number or have the leading shape {L.shape[:-1]} of loss, got {ref.shape}"
            ) from err
    with np.errstate(invalid="ignore"):
        below = L < fraction * level
    first = np.argmax(below, axis=-1)
    return np.where(below.any(axis=-1), ep[first], -1).astype(np.int64)


def transition_epoch(loss: Any, epochs: Any = None, *, bins_per_decade: int = TRANSITION_BINS_PER_DECADE) -> np.ndarray:
    """Epoch of the abrupt transition: the record across which the loss falls the most on log-log axes; -1 if
    it never falls. See the module docstring for how it relates to :func:`drop_epoch`.

    The fall across a record at epoch ``e`` is the mean log loss of the records in ``[e / w, e)`` minus that of
    the records in ``[e, e * w)``, with ``w = 10**(1 / bins_per_decade)`` (1.122 by default); each window holds
    at least the neighbouring record. Records whose window after them reaches past the last record are not
    candidates (a fall there cannot be told from noise at the end), so a transition in the last 1/w of
    training is not seen. For one plateau and one step the largest fall is across the step's first record.

    Parameters
    ----------
    loss : array [..., R]
        Loss histories, records last. NaN records are left out; losses below 1e-12 times the run's largest
        count as that (a loss of exactly zero has no place on a log axis).
    epochs : array (R,) of int, optional
        The epoch of each record, increasing (default: 0, 1, ..., R - 1). Records at epoch 0 are left out:
        they have no place on a log axis.
    bins_per_decade : int
        Windows per decade of epochs (default 20: 12 % of the epoch).

    Returns
    -------
    int64 array [...]
        -1 where no record has a full window after it, or the loss rises across every candidate.
    """
    L = _histories(loss)
    ep = _record_epochs(L, epochs)
    if not np.issubdtype(ep.dtype, np.number) or np.any(np.diff(ep) <= 0):
        raise ValueError("epochs must be increasing numbers")
    width = 10.0 ** (1.0 / check_int(bins_per_decade, "bins_per_decade", minimum=1))
    flat = L.reshape(-1, L.shape[-1])
    out = np.full(flat.shape[0], -1, dtype=np.int64)
    for h in range(flat.shape[0]):
        ok = (ep >= 1) & np.isfinite(flat[h])
        t, y = ep[ok].astype(np.float64), flat[h, ok]
        i = np.flatnonzero((np.arange(t.size) >= 1) & (t * width <= t[-1])) if t.size else np.zeros(0, int)
        if i.size == 0:
            continue
        y = np.log(np.maximum(y, 1e-12 * np.max(y)) if np.max(y) > 0 else np.ones_like(y))
        c = np.r_[0.0, np.cumsum(y)]
        lo = np.minimum(np.searchsorted(t, t[i] / width, side="left"), i - 1)
        hi = np.maximum(np.searchsorted(t, t[i] * width, side="left"), i + 1)
        fall = (c[i] - c[lo]) / (i - lo) - (c[hi] - c[i]) / (hi - i)
        k = int(np.argmax(fall))
        if fall[k] > 0:
            out[h] = int(t[i[k]])
    return out.reshape(L.shape[:-1])


def accuracy_jump_epoch(accuracy: Any, epochs: Any = None, *, fraction: float = ACCURACY_JUMP_FRACTION) -> np.ndarray:
    """Epoch of the accuracy jump: the first record at which the accuracy, averaged over the 1 % of the records
    centred on it, reaches ``start + fraction * (end - start)``; -1 if the accuracy does not rise. The centred
    average places a step at its first record: a window ahead would place it up to 1 % of training early. ``start`` and
    ``end`` are the mean accuracies of the first and last 1/30 of the records (at least one record each). See
    the module docstring for how it relates to :func:`transition_epoch`.

    Parameters
    ----------
    accuracy : array [..., R]
        Accuracy histories, records last. A history with a NaN record has no jump (-1).
    epochs : array (R,) of int, optional
        The epoch of each record (default: 0, 1, ..., R - 1).
    fraction : float in (0, 1]
        How far from the start's accuracy to the end's the jump is placed.

    Returns
    -------
    int64 array [...]

    Examples
    --------
    >>> import numpy as np
    >>> e = np.arange(0, 3001, 10)
    >>> acc = np.where(e < 2000, 0.5, 1.0)
    >>> int(accuracy_jump_epoch(acc, e))  # 3 records (1 %) centred on 2000 average 0.83 >= 0.75
    2000
    """
    A = _histories(accuracy, "accuracy")
    ep = _record_epochs(A, epochs)
    fraction = check_real(fraction, "fraction", positive=True)
    if fraction > 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    R = A.shape[-1]
    n_end, w = max(1, R // 30), max(1, R // 100)
    start, end = A[..., :n_end].mean(axis=-1), A[..., -n_end:].mean(axis=-1)
    c = np.concatenate([np.zeros(A.shape[:-1] + (1,)), np.cumsum(A, axis=-1)], axis=-1)
    # the mean of records j - w // 2 .. j - w // 2 + w - 1, for j = w // 2 .. R - w + w // 2
    centred = (c[..., w:] - c[..., :-w]) / w
    level = (start + fraction * (end - start))[..., None]
    with np.errstate(invalid="ignore"):
        reached = centred >= level
        rises = end > start
    first = np.argmax(reached, axis=-1) + w // 2
    return np.where(rises & reached.any(axis=-1), ep[first], -1).astype(np.int64)


def trapped(
    loss: Any,
    grad_norm: Optional[Any] = None,
    *,
    loss_fraction: float = TRAP_LOSS_FRACTION,
    grad_fraction: float = TRAP_GRAD_FRACTION,
) -> np.ndarray:
    """In the no-learning zone at the last record: ``loss[-1] > loss_fraction * loss[0]`` and (when
    ``grad_norm`` is given) ``grad_norm[-1] <= grad_fraction * max(grad_norm)`` over the run's finite records.
    See the module docstring for why the gradient cut is relative to the run. Returns bool [...]."""
    L = _histories(loss)
    loss_fraction = check_real(loss_fraction, "loss_fraction", positive=True)
    grad_fraction = check_real(grad_fraction, "grad_fraction", nonnegative=True)
    last = L[..., -1]
    with np.errstate(invalid="ignore"):
        high = np.isfinite(last) & (last > loss_fraction * L[..., 0])
    if grad_norm is None:
        return high
    G = _histories(grad_norm, "grad_norm")
    if G.shape != L.shape:
        raise ValueError(f"grad_norm must have the shape of loss {L.shape}, got {G.shape}")
    gmax = np.max(np.where(np.isfinite(G), G, 0.0), axis=-1)
    glast = G[..., -1]
    with np.errstate(invalid="ignore"):
        small = np.isfinite(glast) & (glast <= grad_fraction * gmax)
    return high & small


def learned(loss: Any, *, ratio: float = LEARNED_RATIO) -> np.ndarray:
    """``loss[-1] / loss[0] < ratio`` (paper Fig 6B: 1e-2); False for NaN/inf. Returns bool [...]."""
    L = _histories(loss)
    ratio = check_real(ratio, "ratio", positive=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = L[..., -1] / L[..., 0]
        return np.isfinite(rel) & (rel < ratio)
