"""Optional dependencies are imported on first use, with an error that names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Import ``module`` or raise ImportError: "<feature> needs <module>: pip install 'ghostfast[<extra>]'"."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(f"{feature} needs {module}: pip install 'ghostfast[{extra}]'") from err
