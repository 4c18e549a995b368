"""Snapshot methods: how a session saves objects whose class does not inherit State.

An application registers, per session, a helper class with static
``take_snapshot(obj, session, flags)``, ``restore_snapshot(session, data)`` and
``reset_state(obj, session)`` for each foreign class. This module keeps that
table and gives the walker and the rebuilder one uniform view of both kinds.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError
from .classes import class_name_of, lookup_class
from .state import State, uses_default_restore

__all__ = ["ClassInfo", "SnapshotMethodsTable"]

_REQUIRED = ("take_snapshot", "restore_snapshot", "reset_state")


@dataclass(frozen=True, slots=True)
class ClassInfo:
    """What the walker and rebuilder need to know about one saveable class."""

    name: str
    version: int
    cls: type
    methods: Any = None  # the helper class for foreign types, None for State classes

    def take(self, obj: Any, session: Any, flags: int) -> Any:
        if self.methods is None:
            return obj.take_snapshot(session, flags)
        return self.methods.take_snapshot(obj, session, flags)

    def restore(self, session: Any, data: Any) -> Any:
        if self.methods is None:
            return self.cls.restore_snapshot(session, data)
        return self.methods.restore_snapshot(session, data)

    @property
    def two_phase(self) -> bool:
        """True when objects can be created empty first and filled later (cycles)."""
        return self.methods is None and uses_default_restore(self.cls)

    @property
    def upgrades(self) -> Mapping[int, Any]:
        owner = self.cls if self.methods is None else self.methods
        return getattr(owner, "SESSION_UPGRADES", {})


def _state_info(cls: type) -> ClassInfo:
    return ClassInfo(class_name_of(cls), int(getattr(cls, "SESSION_VERSION", 1)), cls)


class SnapshotMethodsTable:
    """One session's foreign-class table, plus lookups that also cover State classes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_type: dict[type, ClassInfo] = {}
        self._by_name: dict[str, ClassInfo] = {}

    def register(self, methods: Mapping[type, Any]) -> None:
        """Add ``{cls: Methods}`` entries, checking each helper has the three methods."""
        infos = [self._info(cls, helper) for cls, helper in methods.items()]
        with self._lock:
            for info in infos:
                self._by_type[info.cls] = info
                self._by_name[info.name] = info
                for alias in getattr(info.methods, "SESSION_ALIASES", ()):
                    self._by_name[alias] = info

    @staticmethod
    def _info(cls: type, helper: Any) -> ClassInfo:
        if not isinstance(cls, type):
            raise UsageError(f"snapshot methods are registered for classes, got {cls!r}")
        missing = [m for m in _REQUIRED if not callable(getattr(helper, m, None))]
        if missing:
            raise UsageError(
                f"snapshot methods for {cls.__qualname__} lack {', '.join(missing)}; "
                "expected static take_snapshot(obj, session, flags), "
                "restore_snapshot(session, data) and reset_state(obj, session)"
            )
        name = getattr(helper, "SESSION_NAME", None) or class_name_of(cls)
        return ClassInfo(name, int(getattr(helper, "SESSION_VERSION", 1)), cls, helper)

    def for_object(self, obj: Any) -> ClassInfo | None:
        """How to save ``obj``, or None when it is plain data or not saveable."""
        if isinstance(obj, State):
            return _state_info(type(obj))
        return self.for_type(type(obj))

    def for_type(self, cls: type) -> ClassInfo | None:
        """Foreign-class info for ``cls`` or its nearest registered base class."""
        for base in cls.__mro__:
            info = self._by_type.get(base)
            if info is not None:
                return info
        return None

    def for_name(self, name: str) -> ClassInfo | None:
        """Resolve a class name read from a file: State registry first, then this table."""
        cls = lookup_class(name)
        if cls is not None:
            return _state_info(cls)
        return self._by_name.get(name)
