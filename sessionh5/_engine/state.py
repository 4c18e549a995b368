"""The State protocol: how an object takes and restores its snapshot."""

from __future__ import annotations

import contextlib
import functools
import types
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from .classes import register_class

if TYPE_CHECKING:
    from .._core.session import Session

__all__ = ["State", "StateManager", "copy_plain", "fill_state", "instance_state", "slots_of"]


def copy_plain(value: Any) -> Any:
    """Deep-copy lists, dicts, sets and deques; keep every other object as it is.

    This is the copy the seed asks of the default snapshot: containers are fresh,
    while saved objects inside stay the same objects so they become references.
    """
    kind = type(value)
    if kind is list:
        return [copy_plain(v) for v in value]
    if kind is dict:
        return {k: copy_plain(v) for k, v in value.items()}
    if kind is OrderedDict:
        return OrderedDict((k, copy_plain(v)) for k, v in value.items())
    if kind is set:
        return {copy_plain(v) for v in value}
    if kind is deque:
        return deque((copy_plain(v) for v in value), value.maxlen)
    if kind is tuple:
        return tuple(copy_plain(v) for v in value)
    return value


@functools.cache
def slots_of(cls: type) -> dict[str, Any]:
    """The ``__slots__`` attributes of ``cls`` and its bases: name -> slot descriptor.

    The default snapshot must see them: they live outside the instance dictionary,
    so a snapshot of ``vars(obj)`` alone would drop them silently. Found from the
    classes' own member descriptors (what ``__slots__`` creates; the declaration itself
    may be any iterable, even a spent iterator), private names already mangled.
    """
    found: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):  # a subclass's slot of the same name wins
        if klass.__module__ == "builtins":
            continue
        for attr in vars(klass).values():
            if type(attr) is types.MemberDescriptorType and attr.__objclass__ is klass:
                found[attr.__name__] = attr
    return found


def instance_state(obj: Any, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The attributes of ``obj``: its ``__dict__`` plus its slots that are set.

    Returns the instance dictionary itself when there is nothing to leave out or add
    (the walker encodes it at once, before any application code could change it).
    """
    state = vars(obj)
    slots = slots_of(type(obj))
    if not skip and not slots:
        return state
    state = {k: v for k, v in state.items() if k not in skip}
    for name, slot in slots.items():
        if name not in skip:
            with contextlib.suppress(AttributeError):  # an unset slot stays unset
                state[name] = slot.__get__(obj, type(obj))
    return state


def fill_state(obj: Any, data: dict[str, Any]) -> None:
    """Set ``obj``'s attributes from a default snapshot: slots through their descriptors
    (no ``__setattr__`` is called), everything else into the instance dictionary."""
    slots = slots_of(type(obj))
    if slots:
        data = dict(data)
        for name in slots.keys() & data.keys():
            slots[name].__set__(obj, data.pop(name))
    obj.__dict__.update(data)


class State:
    """Base of every object whose state is saved in a session.

    Subclasses register themselves under a stable name (``SESSION_NAME`` or
    ``module.qualname``) so a file can name them; ``SESSION_ALIASES`` lists old
    names after a rename. ``SESSION_VERSION`` is stored with every saved object;
    ``session_upgrades`` maps an old version to a function turning that version's
    data into the next version's.
    """

    SCENE: ClassVar[int] = 1
    SESSION: ClassVar[int] = 2
    INCLUDE_MAPS: ClassVar[int] = 4
    ALL: ClassVar[int] = SCENE | SESSION | INCLUDE_MAPS

    SESSION_VERSION: ClassVar[int] = 1
    #: Instance attributes that the default snapshot leaves out.
    SESSION_SKIP: ClassVar[frozenset[str]] = frozenset()
    #: Old version -> function turning that version's data into the next version's.
    SESSION_UPGRADES: ClassVar[Mapping[int, Callable[[Any], Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        register_class(cls)

    def take_snapshot(self, session: Session, flags: int) -> Any:
        """Return plain data describing this object; None means "do not save me".

        The default is a copy of the instance's attributes, ``__slots__`` of every
        class included (containers deep-copied, saved objects inside kept, to become
        references); names in ``SESSION_SKIP`` are left out.
        """
        return {k: copy_plain(v) for k, v in instance_state(self, self.SESSION_SKIP).items()}

    @classmethod
    def restore_snapshot(cls, session: Session, data: Any) -> Any:
        """Create an object from ``data``; the default sets the attributes (slots too)
        without calling __init__ or __setattr__."""
        obj = cls.__new__(cls)
        fill_state(obj, data)
        return obj

    def reset_state(self, session: Session) -> None:
        """Return to a data-less state (used by :meth:`Session.reset`)."""


class StateManager(State):
    """Base of the objects registered in a session under a tag (state managers)."""

    def include_state(self) -> bool:
        """Whether this manager is saved at all (True unless overridden)."""
        return True

    def reset_state(self, session: Session) -> None:
        """Managers must say how they become data-less."""
        raise NotImplementedError(f"{type(self).__name__} must implement reset_state")


def uses_default_restore(cls: type) -> bool:
    """True when ``cls`` restores with State's default, so it can be built in two phases."""
    method = getattr(cls, "restore_snapshot", None)
    return getattr(method, "__func__", None) is State.restore_snapshot.__func__
