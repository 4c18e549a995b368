"""Optional libraries: imported when a feature needs them, named by their extra when missing.

``pip install sessionh5`` brings only what saving and restoring need; dask, fsspec and
pandas come with the extras users install for a purpose (``pyproject.toml``). A
feature whose library is missing raises a UsageError that says which extra to
install, rather than an ImportError from deep inside.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import UsageError

__all__ = ["EXTRAS", "available", "require"]

#: importable module -> (the pip package, the sessionh5 extra that installs it)
EXTRAS: dict[str, tuple[str, str]] = {
    "dask.array": ("dask", "dask"),
    "fsspec": ("fsspec", "remote"),
    "pandas": ("pandas", "notebooks"),
    "tqdm": ("tqdm", "all"),
}


def require(module: str, purpose: str) -> ModuleType:
    """Import ``module`` (a key of EXTRAS) or raise a UsageError naming its extra."""
    package, extra = EXTRAS[module]
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise UsageError(f"{purpose} needs {package}, which is not installed; install it "
                         f'with: pip install "sessionh5[{extra}]"') from exc


def available(module: str) -> ModuleType | None:
    """``module`` if it can be imported, else None (for features that degrade gracefully)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None
