"""The process-wide registry of State classes that a session file may name.

This is the one piece of module-level mutable state in sessionh5, by design:
a State subclass registers itself when Python defines it, so a file can only
ever name classes that this process already imported. Restoring resolves names
here (and in the session's own snapshot-method table) and nowhere else: no
module is imported and nothing named by a file is called.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .state import State

_lock = threading.Lock()
_by_name: dict[str, type[State]] = {}


def class_name_of(cls: type) -> str:
    """Stable name stored in files: ``SESSION_NAME`` if the class sets one, else module.qualname."""
    name = cls.__dict__.get("SESSION_NAME")
    return name if isinstance(name, str) and name else f"{cls.__module__}.{cls.__qualname__}"


def register_class(cls: type[State]) -> None:
    """Register ``cls`` under its stable name and every old name in ``SESSION_ALIASES``.

    A later definition under the same name replaces the earlier one, which is what
    re-running a notebook cell or reloading a module needs.
    """
    names = [class_name_of(cls), *cls.__dict__.get("SESSION_ALIASES", ())]
    with _lock:
        for name in names:
            _by_name[name] = cls


def lookup_class(name: str) -> type[State] | None:
    """The registered State class saved under ``name``, or None."""
    return _by_name.get(name)


def registered_names() -> list[str]:
    """All names a file may use for State classes (for error messages and tools)."""
    with _lock:
        return sorted(_by_name)
