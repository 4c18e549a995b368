"""The State protocol: how an object takes and restores its snapshot."""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from .classes import register_class

if TYPE_CHECKING:
    from .._core.session import Session

__all__ = ["State", "StateManager", "copy_plain"]


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

        The default is a copy of the instance dictionary (containers deep-copied,
        saved objects inside kept, to become references).
        """
        skip = self.SESSION_SKIP
        return {k: copy_plain(v) for k, v in vars(self).items() if k not in skip}

    @classmethod
    def restore_snapshot(cls, session: Session, data: Any) -> Any:
        """Create an object from ``data``; the default sets the dict without calling __init__."""
        obj = cls.__new__(cls)
        obj.__dict__.update(data)
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
