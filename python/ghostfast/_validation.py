"""Argument checks shared by the public API: every bad input raises ValueError/TypeError naming the
argument and what was expected, before any C++ work starts."""

from __future__ import annotations

import numbers
import warnings
from typing import Any, Sequence

import numpy as np

from . import _core

_warned_no_openmp = False

#: Default cap (bytes) on the result arrays one call may allocate (sweep, rnn.train, canonical.train).
DEFAULT_MAX_MEMORY = 8 * 2**30


def fmt_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def check_memory(need: float, max_memory: float, what: str, hint: str) -> None:
    """ValueError (naming ``max_memory``) when ``need`` bytes exceed ``max_memory``, before any allocation."""
    if need > max_memory:
        raise ValueError(f"max_memory: {what} need {fmt_bytes(need)}, above max_memory={fmt_bytes(max_memory)}; {hint}")


def _is_complex(value: Any) -> bool:
    try:
        return bool(np.iscomplexobj(value))
    except (TypeError, ValueError, OverflowError):  # ragged or odd input: as_float_array reports it
        return False


def as_float_array(
    value: Any, name: str, *, ndim: int | None = None, shape: Sequence[int | None] | None = None, finite: bool = True
) -> np.ndarray:
    """float64, C-contiguous copy-free view of `value`; checks ndim/shape (None = any length) and finiteness."""
    if isinstance(value, (str, bytes)) or _is_complex(value):
        raise TypeError(f"{name} must be a real number or an array of real numbers, got {type(value).__name__}")
    if isinstance(value, np.ndarray) and value.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be an array of real numbers, got an array of dtype {value.dtype}")
    try:
        arr = np.ascontiguousarray(value, dtype=np.float64)
    except OverflowError as err:
        raise ValueError(f"{name} holds a number too large for float64") from err
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


def check_real(
    value: Any, name: str, *, positive: bool = False, nonnegative: bool = False, finite: bool = True
) -> float:
    """A real scalar (not bool), optionally > 0 or >= 0."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    try:
        x = float(value)
    except OverflowError:
        bits = int(value).bit_length()  # type: ignore[call-overload]
        raise ValueError(f"{name} is too large for a float64, got an integer of {bits} bits") from None
    if np.isnan(x) or (finite and not np.isfinite(x)):
        raise ValueError(f"{name} must be finite, got {x}")
    if positive and not x > 0:
        raise ValueError(f"{name} must be > 0, got {x}")
    if nonnegative and not x >= 0:
        raise ValueError(f"{name} must be >= 0, got {x}")
    return x


def check_int(value: Any, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer (not bool), optionally >= minimum and <= maximum."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    i = int(value)
    if minimum is not None and i < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {i}")
    if maximum is not None and i > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {i}")
    return i


#: The largest count (epochs, iterations, grid points, ...) passed to the core: int64.
INT64_MAX = 2**63 - 1


def check_seed(seed: Any, name: str = "seed") -> None:
    """None, an int >= 0 or a numpy SeedSequence."""
    if seed is None or isinstance(seed, np.random.SeedSequence):
        return
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name} must be an int >= 0, a numpy SeedSequence or None, got {type(seed).__name__}")
    if int(seed) < 0:
        raise ValueError(f"{name} must be >= 0, got {int(seed)}")


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

    Counts above the machine's processors are clamped to ``_core.max_threads()``, the limit the core's
    ``resolve_threads`` applies (its one definition; results never depend on the thread count). Without
    OpenMP the core runs serially; asking for more than one thread then warns once."""
    global _warned_no_openmp
    if n_threads is None:
        return 0
    n = check_int(n_threads, "n_threads", minimum=1)
    if n > 1 and not _core.has_openmp and not _warned_no_openmp:
        _warned_no_openmp = True
        warnings.warn("ghostfast was built without OpenMP: running serially", RuntimeWarning, stacklevel=3)
    return min(n, int(_core.max_threads()))
