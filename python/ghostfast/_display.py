"""Notebook-friendly summaries shared by ``SweepResult`` and ``rnn.TrainResult``.

One place for the long names and units of every result variable (xarray ``attrs``), and for the short text
and HTML summaries (``__repr__`` and ``_repr_html_``). Both summaries have a bounded size whatever the grid:
long axes show their first and last values only, and tables are cut to ``MAX_ROWS`` rows.
"""

from __future__ import annotations

import html
from typing import Any, Dict, Iterable, List, Sequence, Tuple

import numpy as np

#: Rows of a per-lr table shown before it is cut (first and last halves kept).
MAX_ROWS = 12
#: Values of one axis shown in a summary before it is cut.
MAX_VALUES = 6

#: Long names and units of the result variables (CF style: "1" means dimensionless).
VARIABLES: Dict[str, Dict[str, str]] = {
    "loss": {"long_name": "training loss (the task's loss at the epoch's forward pass)", "units": "1"},
    "grad_norm": {"long_name": "L2 norm of the gradient over all trainable parameters", "units": "1"},
    "accuracy": {"long_name": "accuracy (fraction of correct outputs, the task's rule)", "units": "1"},
    "weight_norm": {"long_name": "Frobenius norm of the recurrent weights ||W||_F (or ||m n||_F)", "units": "1"},
    "final_loss": {"long_name": "last recorded loss", "units": "1"},
    "drop_epoch": {
        "long_name": "epoch of the abrupt drop (first loss < drop_fraction * initial; -1: none)",
        "units": "epoch",
    },
    "trapped": {
        "long_name": "ended in the no-learning zone (loss stayed high, gradient below trap_grad_tol)",
        "units": "1",
    },
    "diverged": {"long_name": "a NaN or infinite loss or gradient stopped the run", "units": "1"},
    "diverged_epoch": {"long_name": "epoch at which the run diverged (-1: never)", "units": "epoch"},
    "done": {"long_name": "the run finished (False: interrupted before it ran)", "units": "1"},
    "seed_entropy": {"long_name": "numpy SeedSequence entropy of each seed value", "units": "1"},
    "fixed_point_count": {"long_name": "number of fixed points of the latent flow f(kappa) on the grid", "units": "1"},
    "epoch": {"long_name": "training epoch (index of the full-batch update)", "units": "epoch"},
    "lr": {"long_name": "learning rate", "units": "1"},
    "seed": {"long_name": "seed of the initial parameters", "units": "1"},
    "optimizer": {"long_name": "optimizer", "units": ""},
}


def variable_attrs(name: str) -> Dict[str, str]:
    """The xarray attrs (long_name, units) of a result variable; gradient-norm groups get a derived name."""
    if name in VARIABLES:
        return dict(VARIABLES[name])
    if name.startswith("grad_norm_"):
        return {"long_name": f"L2 norm of the gradient of parameter group {name[len('grad_norm_') :]!r}", "units": "1"}
    return {"long_name": name.replace("_", " "), "units": ""}


def fmt_value(v: Any) -> str:
    """A coordinate value, short (floats with 4 significant digits)."""
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.4g}"
    return str(v)


def fmt_values(values: Sequence[Any], limit: int = MAX_VALUES) -> str:
    """``a, b, c, ..., y, z`` for long sequences (at most ``limit`` values shown)."""
    vals = [fmt_value(v) for v in values]
    if len(vals) > limit:
        head = limit // 2
        vals = [*vals[:head], "...", *vals[-(limit - head) :]]
    return ", ".join(vals)


def fmt_epochs(epochs: np.ndarray) -> str:
    """Recorded epochs as ``0..19900 every 100`` when evenly spaced, else their first and last."""
    e = np.asarray(epochs)
    if e.size == 0:
        return "no records"
    if e.size == 1:
        return f"epoch {int(e[0])}"
    step = np.diff(e)
    if np.all(step == step[0]):
        return f"epochs {int(e[0])}..{int(e[-1])} every {int(step[0])}"
    return f"epochs {int(e[0])}..{int(e[-1])} (irregular)"


def fmt_stat(x: np.ndarray) -> str:
    """Median and range of the finite values, or "no finite values"."""
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return "no finite values"
    return f"median {np.median(x):.4g} (min {x.min():.4g}, max {x.max():.4g})"


def cut_rows(rows: List[Any], limit: int = MAX_ROWS) -> Tuple[List[Any], int]:
    """The first and last ``limit // 2`` rows of a long table, and how many were left out."""
    if len(rows) <= limit:
        return rows, 0
    half = limit // 2
    return [*rows[:half], *rows[-half:]], len(rows) - 2 * half


def html_table(header: Sequence[str], rows: Iterable[Sequence[Any]], caption: str = "") -> str:
    """A small HTML table (escaped), with an optional caption."""
    cap = f"<caption style='text-align:left'>{html.escape(caption)}</caption>" if caption else ""
    head = "".join(f"<th style='text-align:left'>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td style='text-align:left'>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
