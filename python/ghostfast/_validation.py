"""Argument checks shared by the public API: every bad input raises ValueError/TypeError naming the
argument and what was expected, before any C++ work starts."""
from __future__ import annotations

import numbers
import warnings
from typing import Any, Sequence

import numpy as np

from . import _core

_warned_no_openmp = False


def as_float_array(value: Any, name: str, *, ndim: int | None = None, shape: Sequence[int | None] | None = None,
                   finite: bool = True) -> np.ndarray:
    """float64, C-contiguous copy-free view of `value`; checks ndim/shape (None = any length) and finiteness."""
    try:
        arr = np.ascontiguousarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a number or an array of numbers, got {type(value).__name__}") from err
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {arr.shape}")
    if shape is not None:
        if arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape)):
            want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
            raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    if finite and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (it contains NaN or inf)")
    return arr


def check_real(value: Any, name: str, *, positive: bool = False, nonnegative: bool = False,
               finite: bool = True) -> float:
    """A real scalar (not bool), optionally > 0 or >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    x = float(value)
    if np.isnan(x) or (finite and not np.isfinite(x)):
        raise ValueError(f"{name} must be finite, got {x}")
    if positive and not x > 0:
        raise ValueError(f"{name} must be > 0, got {x}")
    if nonnegative and not x >= 0:
        raise ValueError(f"{name} must be >= 0, got {x}")
    return x


def check_int(value: Any, name: str, *, minimum: int | None = None) -> int:
    """An integer (not bool), optionally >= minimum."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    i = int(value)
    if minimum is not None and i < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {i}")
    return i


def check_bool(value: Any, name: str) -> bool:
    """True or False (numpy bools included); anything else is a TypeError naming the argument."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__}")
    return bool(value)


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {list(choices)}, got {type(value).__name__}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def check_threads(n_threads: Any) -> int:
    """n_threads: None (OpenMP default, honours OMP_NUM_THREADS) or an int >= 1. Returns 0 for the default.

    Without OpenMP the core runs serially; asking for more than one thread then warns once."""
    global _warned_no_openmp
    if n_threads is None:
        return 0
    n = check_int(n_threads, "n_threads", minimum=1)
    if n > 1 and not _core.has_openmp and not _warned_no_openmp:
        _warned_no_openmp = True
        warnings.warn("ghostfast was built without OpenMP: running serially", RuntimeWarning, stacklevel=3)
    return n
