"""Named triggers that let application code react to session events.

A session owns one :class:`TriggerSet` (no module-level state), so several sessions in
several threads never see each other's handlers. The session brackets a save or a restore
with :func:`bracket` so that code that suspended something on "begin" always gets "end".
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import UsageError

__all__ = ["HandlerFunc", "TriggerHandler", "TriggerSet", "bracket"]

#: A handler is called as ``func(trigger_name, data)``; its return value is ignored.
HandlerFunc = Callable[[str, Any], object]


class TriggerHandler:
    """Receipt for one registration; pass it to :meth:`TriggerSet.remove_handler`.

    Each call to ``add_handler`` returns a new receipt, so the same function can be
    registered twice and removed once without ambiguity.
    """

    __slots__ = ("_owner", "active", "func", "trigger_name")

    def __init__(self, owner: TriggerSet, trigger_name: str, func: HandlerFunc) -> None:
        self._owner = owner
        self.trigger_name = trigger_name
        self.func = func
        #: False once removed; an activation already in progress then skips it.
        self.active = True

    def __repr__(self) -> str:
        state = "active" if self.active else "removed"
        return f"<TriggerHandler {self.trigger_name!r} {self.func!r} ({state})>"


class TriggerSet:
    """Trigger names, each with the handlers to call, in registration order, when activated.

    Registration and removal take a lock; handlers run outside it, on a copy of the list,
    so a handler may add or remove handlers (itself included) or activate another trigger
    without deadlock, and another thread may do the same meanwhile.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._handlers: dict[str, list[TriggerHandler]] = {}

    def add_trigger(self, name: str) -> None:
        """Define trigger ``name``; defining it twice is a bug, so it raises UsageError."""
        if not isinstance(name, str) or not name:
            raise UsageError(f"a trigger name must be a non-empty str, got {name!r}")
        with self._lock:
            if name in self._handlers:
                raise UsageError(f"trigger {name!r} is already defined")
            self._handlers[name] = []

    def has_trigger(self, name: str) -> bool:
        """Whether ``name`` was defined with :meth:`add_trigger`."""
        with self._lock:
            return name in self._handlers

    def __repr__(self) -> str:
        return f"<sessionh5.TriggerSet: {', '.join(map(repr, self.trigger_names()))}>"

    def trigger_names(self) -> tuple[str, ...]:
        """Defined trigger names in the order they were added (a snapshot, not a view)."""
        with self._lock:
            return tuple(self._handlers)

    def add_handler(self, name: str, func: HandlerFunc) -> TriggerHandler:
        """Call ``func(name, data)`` on every later activation of trigger ``name``.

        Raises:
            UsageError: ``name`` is not a defined trigger, or ``func`` is not callable.
        """
        if not callable(func):
            raise UsageError(f"a trigger handler must be callable, got {func!r}")
        with self._lock:
            handlers = self._handlers_of(name)
            handler = TriggerHandler(self, name, func)
            handlers.append(handler)
            return handler

    def remove_handler(self, handler: TriggerHandler) -> None:
        """Stop calling ``handler``; removing it again is a no-op so cleanup can be simple.

        Raises:
            UsageError: ``handler`` was returned by another TriggerSet.
        """
        if not isinstance(handler, TriggerHandler) or handler._owner is not self:
            raise UsageError(f"{handler!r} was not added to this TriggerSet")
        with self._lock:
            handler.active = False
            handlers = self._handlers.get(handler.trigger_name, [])
            if handler in handlers:
                handlers.remove(handler)

    def activate_trigger(self, name: str, data: object = None) -> None:
        """Call every handler of ``name`` as ``func(name, data)``, in registration order.

        A failing handler must not leave the others uncalled: one broken extension should
        not stop the rest from, say, resuming drawing after a restore. So every handler
        runs, exceptions are collected, and the first is re-raised afterwards with the
        others attached as notes. The first, not an ExceptionGroup, because callers then
        catch it by its own type (``except ValueError``) and the usual single failure is
        not wrapped. Handlers added during the activation are not called until the next
        one; handlers removed during it are skipped.

        Raises:
            UsageError: ``name`` is not a defined trigger.
            Exception: the first exception a handler raised, with notes for the others.
        """
        with self._lock:
            handlers = list(self._handlers_of(name))
        failures: list[tuple[TriggerHandler, Exception]] = []
        for handler in handlers:
            if not handler.active:
                continue
            try:
                handler.func(name, data)
            except Exception as exc:
                failures.append((handler, exc))
        if failures:
            raise _first_with_notes(name, failures)

    def _handlers_of(self, name: str) -> list[TriggerHandler]:
        """The live handler list of ``name``; callers hold the lock."""
        try:
            return self._handlers[name]
        except KeyError:
            known = ", ".join(map(repr, self._handlers)) or "none"
            raise UsageError(
                f"no trigger named {name!r}; defined triggers: {known}; "
                "define it first with add_trigger()"
            ) from None


def _first_with_notes(name: str, failures: list[tuple[TriggerHandler, Exception]]) -> Exception:
    """The first handler exception, annotated with which handler raised it and the rest."""
    first_handler, first = failures[0]
    first.add_note(f"raised by handler {first_handler.func!r} of trigger {name!r}")
    for handler, exc in failures[1:]:
        first.add_note(
            f"handler {handler.func!r} of trigger {name!r} also raised {type(exc).__name__}: {exc}"
        )
    return first


@contextmanager
def bracket(triggers: TriggerSet, begin: str, end: str, data: object = None) -> Iterator[None]:
    """Activate ``begin``, run the body, and always activate ``end`` afterwards.

    Handlers of ``begin`` often suspend something (redrawing, undo) that only ``end``
    resumes, so ``end`` runs even when the body or a ``begin`` handler failed. When both
    the body and ``end`` fail, the body's exception wins (it is the cause of the trouble)
    and the ``end`` failure is added to it as a note. Both names are checked before
    anything runs, so an unknown ``end`` never strands a ``begin``.

    Raises:
        UsageError: ``begin`` or ``end`` is not a defined trigger.
    """
    for name in (begin, end):
        if not triggers.has_trigger(name):
            raise UsageError(f"no trigger named {name!r}; define it first with add_trigger()")
    try:
        triggers.activate_trigger(begin, data)
        yield
    except BaseException as exc:
        try:
            triggers.activate_trigger(end, data)
        except Exception as end_exc:
            exc.add_note(f"then trigger {end!r} also failed: {type(end_exc).__name__}: {end_exc}")
        raise
    triggers.activate_trigger(end, data)
