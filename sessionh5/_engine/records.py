"""The container-neutral model of a saved session: object keys, records, header.

Both backends (HDF5 and the flat stream) write and read this model, and the
converter moves it between them without knowing any application class. Inside
record data, references to other saved objects are :class:`ObjectKey` values.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = ["SESSION_KEY", "EnumMember", "FinalizedState", "ObjectKey", "PngImage", "Record",
           "SessionHeader", "TinyArray", "keys_of", "new_key"]


class ObjectKey(NamedTuple):
    """Identity of one saved object: registered class name and per-class ordinal.

    ``provider`` is the bundle that supplies the class in stream files written by
    other applications (the reference's "provider class" form); ``None`` for ours.
    Ordinals count from 1 per class in discovery order; 0 names the class itself.
    A NamedTuple because restores hash millions of keys: tuple hashing runs in C.
    Code tells keys from plain tuples by exact type (``type(v) is ObjectKey``).
    """

    class_name: str
    ordinal: int
    provider: str | None = None

    def __str__(self) -> str:
        prefix = f"{self.provider}:" if self.provider else ""
        return f"<{prefix}{self.class_name}, {self.ordinal}>"


def new_key(fields: tuple[str, int, str | None]) -> ObjectKey:
    """``ObjectKey(*fields)`` without running NamedTuple's Python-level ``__new__``:
    the same instance, made at C speed (restores and saves make 100k keys)."""
    return _make_tuple(ObjectKey, fields)


def keys_of(class_name: str, ordinals: Iterable[int], provider: str | None = None
            ) -> list[ObjectKey]:
    """The keys of one class for many ordinals, made at C speed (see new_key)."""
    fields = zip(itertools.repeat(class_name), ordinals, itertools.repeat(provider))
    return list(map(_make_tuple, itertools.repeat(ObjectKey), fields))


_make_tuple = tuple.__new__


@dataclass(frozen=True, slots=True)
class PngImage:
    """Raw PNG bytes of an image value (stream extension 9), kept undecoded."""

    data: bytes


@dataclass(frozen=True, slots=True, eq=False)
class FinalizedState:
    """A value the reference application wrapped in stream extension 11.

    Its writer marks data it need not scan for references this way; its reader
    hands the wrapped data to ``restore_snapshot``. Records keep the wrapper so a
    converted file writes it back; a restore gives the application ``data``.
    """

    data: Any


@dataclass(frozen=True, slots=True, eq=False)
class TinyArray:
    """A ``tinyarray`` value of a stream file (extension 14), held as its numpy array.

    Records keep it apart from numpy arrays (extension 1) so a converted file
    writes extension 14 back; a restore gives the application ``array``.
    """

    array: Any


@dataclass(frozen=True, slots=True)
class EnumMember:
    """A member of a registered Enum class, named without the class being imported.

    ``member`` is the member's name, or its int value for ``enum.Flag`` classes
    (whose combined members have no single name). Conversion and the tools keep
    it as it is; a restore looks the class up among the registered ones.
    """

    class_name: str
    member: str | int

    def __str__(self) -> str:
        return f"<{self.class_name}.{self.member}>"


#: Marks "the session being restored" inside snapshot data (``obj.session``).
SESSION_KEY = ObjectKey("Session", 0)


@dataclass(slots=True)
class Record:
    """One saved object: its key, class version and plain snapshot data.

    ``data`` holds only plain values (see docs/format.md), numpy arrays and
    ObjectKey references. ``version`` is the class's SESSION_VERSION, or None when
    unknown (records of foreign stream files).
    """

    key: ObjectKey
    data: Any
    version: int | None = None


@dataclass(slots=True)
class SessionHeader:
    """Everything about a session that is not object data."""

    app_name: str
    session_version: int = 3
    metadata: dict[str, Any] = field(default_factory=dict)
    #: provider name -> (provider version string, session write version)
    providers: dict[str, tuple[str, int]] = field(default_factory=dict)
    #: tag -> key of the manager object, in save order
    managers: dict[str, ObjectKey] = field(default_factory=dict)
    #: tag -> True when the manager was a session attribute
    attr_info: dict[str, bool] = field(default_factory=dict)
