"""The process-wide registry of the classes that a session file may name.

This is the one piece of module-level mutable state in sessionh5, by design:
a State subclass registers itself when Python defines it, and an Enum class
when the application passes it to :func:`register_enum`, so a file can only
ever name classes that this process already imported. Restoring resolves names
here (and in the session's own snapshot-method table) and nowhere else: no
module is imported and nothing named by a file is called.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from .state import State

_lock = threading.Lock()
_by_name: dict[str, type[State]] = {}
_enums_by_name: dict[str, type[enum.Enum]] = {}
_enum_names: dict[type[enum.Enum], str] = {}
E = TypeVar("E", bound=type[enum.Enum])


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


def register_enum(cls: E, *, name: str | None = None, aliases: Iterable[str] = ()) -> E:
    """Let snapshots hold members of the Enum class ``cls``; returns ``cls`` (a decorator).

    A member is saved as its class's stable name (``name``, else module.qualname)
    and its own name (its int value for ``enum.Flag`` classes), and restored as
    that very member; ``aliases`` are old names still accepted in files. Like a
    State class, the class must be registered (imported) before a restore.
    """
    if not (isinstance(cls, type) and issubclass(cls, enum.Enum)):
        raise TypeError(f"register_enum expects an enum.Enum subclass, got {cls!r}")
    stable = name or f"{cls.__module__}.{cls.__qualname__}"
    names = [stable, *aliases]
    if not all(isinstance(n, str) and n for n in names):
        raise TypeError(f"enum names must be non-empty strings, got {names!r}")
    with _lock:
        _enum_names[cls] = stable
        for each in names:
            _enums_by_name[each] = cls
    return cls


def enum_name_of(cls: type) -> str | None:
    """The stable name of a registered Enum class, or None when it is not registered."""
    return _enum_names.get(cls)


def lookup_enum(name: str) -> type[enum.Enum] | None:
    """The registered Enum class saved under ``name``, or None."""
    return _enums_by_name.get(name)
