"""ghostfast: the ghost mechanism of abrupt learning in recurrent networks, fast and exact.

Implements and scales up Dinc et al., "A ghost mechanism: An analytical model of abrupt learning
(in recurrent networks)", arXiv 2501.02378, with a C++17/OpenMP core.

Submodules (imported on first use): ``canonical`` (the 1D model dx/dt = r + x^2), ``tasks``, ``rnn``
(leaky-tanh RNNs trained with hand-written BPTT), ``sweep`` (parallel grids), ``analysis`` (flow maps,
fixed points, ghosts), ``plotting``, ``figures`` (the paper's figures).
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version as _dist_version
from typing import Any

try:
    from . import _core
except ImportError as err:  # pragma: no cover - exercised only on broken installs
    raise ImportError(
        "ghostfast's compiled core (ghostfast._core) could not be imported. Install the package with "
        "`pip install .` from a checkout (it builds the C++ core), or for development build it in place "
        "with `cmake -S . -B build/dev && cmake --build build/dev` and run with PYTHONPATH=python. "
        f"Original error: {err}"
    ) from err

try:
    __version__: str = _dist_version("ghostfast")
except PackageNotFoundError:  # in-tree development build
    __version__ = "0+dev"

#: True when the C++ core was compiled with OpenMP (parallel runs); False means everything runs serially.
has_openmp: bool = bool(_core.has_openmp)

_SUBMODULES = ("canonical", "tasks", "rnn", "sweep", "analysis", "metrics", "plotting", "figures", "cli")

__all__ = ["__version__", "has_openmp", "default_threads", "vector_kernel", *_SUBMODULES]


def default_threads() -> int:
    """Threads used when ``n_threads=None``: ``OMP_NUM_THREADS`` if set, else the core count (1 without OpenMP).

    Returns
    -------
    int

    Examples
    --------
    >>> import ghostfast
    >>> ghostfast.default_threads() >= 1
    True
    """
    return int(_core.default_threads())


def vector_kernel() -> str:
    """The vector kernels the RNN products and tanh use on this CPU: "portable", "avx2" or "avx512".

    Chosen once at run time from the CPU's features (portable: plain ``std::fma``, also used on non-x86 CPUs
    and by compilers other than GCC/Clang). Every path computes the same IEEE operations, so results do not
    depend on it; only speed does.

    Returns
    -------
    str
        One of ``"portable"``, ``"avx2"``, ``"avx512"``.

    Examples
    --------
    >>> import ghostfast
    >>> ghostfast.vector_kernel() in ("portable", "avx2", "avx512")
    True
    """
    return str(_core.vector_kernel())


def __getattr__(name: str) -> Any:
    # Submodules load lazily so `import ghostfast` stays fast (matplotlib, xarray and dask are heavy).
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'ghostfast' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SUBMODULES))
