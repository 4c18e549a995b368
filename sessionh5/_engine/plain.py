"""Snapshots for the stream: the same values, with saved objects swapped for their keys.

The stream's msgpack extensions hold tuples, sets, arrays, datetimes... as they are,
so a session saved as a stream needs no tagged JSON: :class:`PlainEncoder` reuses
the walker's encoder loops (type tests inline, saved-object types remembered) but
leaves every supported value as it is and only replaces objects by
:class:`ObjectKey`. Encoding to JSON and decoding it back cost a third of a stream
save of many small objects.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson

from ..errors import UnsupportedValueError
from .encoding import ValueEncoder, bad_string
from .kinds import NOT_UNICODE_HINT, ValueKind, check_tzinfo, masked_parts
from .records import SESSION_KEY, FinalizedState, ObjectKey, PngImage, TinyArray

__all__ = ["PlainEncoder", "PlainValue", "resolve_in_place", "substitute_keys"]

#: Types the stream stores as they are (their contents are plain by construction).
_AS_IS = frozenset({bytes, bytearray, complex, range, dt.timedelta, dt.timezone, PngImage})
_LEAVES = frozenset({str, int, float, bool, type(None), bytes})


class PlainValue:
    """One object's data as plain values, plus the references and large arrays in it."""

    __slots__ = ("arrays", "refs", "value")

    def __init__(self) -> None:
        self.value: Any = None
        self.refs: list[ObjectKey] = []
        self.arrays: dict[str, np.ndarray] = {}  # for progress totals only


class PlainEncoder(ValueEncoder):
    """ValueEncoder whose output is the snapshot itself with objects replaced by keys."""

    def encode(self, data: Any) -> PlainValue:  # type: ignore[override]
        out = self.out = PlainValue()  # type: ignore[assignment]
        self.ref_index = {}
        out.value = self.enc(data, ())
        _check_strings(out.value)
        return out

    def ref(self, key: ObjectKey) -> Any:
        if (key.ordinal != 0 or key != SESSION_KEY) and key not in self.ref_index:
            self.ref_index[key] = len(self.out.refs)
            self.out.refs.append(key)
        return key

    def big_int(self, v: int) -> Any:
        return v

    def odd_float(self, v: float) -> Any:
        return v

    def keyed_dict(self, v: dict[Any, Any], path: Any) -> Any:
        return {self.enc(k, (path, "key")): self.enc(x, (path, str(k))) for k, x in v.items()}

    def other(self, t: type, v: Any, path: Any) -> Any:
        if t is tuple:
            return tuple(self.enc_list(v, path))
        if isinstance(v, np.ndarray):
            return self.array(v, path)
        if t is set or t is frozenset:
            return t(self.enc_list(v, path))
        if t is OrderedDict:
            return OrderedDict(
                (self.enc(k, (path, "key")), self.enc(x, (path, str(k)))) for k, x in v.items())
        if t is deque:
            return deque(self.enc_list(v, path), v.maxlen)
        if t in _AS_IS:
            return v
        if t is dt.datetime:
            check_tzinfo(v)
            return v
        if isinstance(v, np.generic) and not v.dtype.hasobject:
            return v
        return super().other(t, v, path)  # kinds, wrappers and saved objects

    def kind_value(self, kind: ValueKind, v: Any, path: Any) -> Any:
        kind.parts(v)  # refuses what no container stores (a time with a zoneinfo tzinfo)
        return v

    def wrapper(self, v: FinalizedState | TinyArray, path: Any) -> Any:
        return FinalizedState(self.enc(v.data, path)) if type(v) is FinalizedState else v

    def masked(self, a: np.ma.MaskedArray, path: Any) -> Any:
        self.array(masked_parts(a)[0], path)  # refuses object dtypes, counts a large array
        return a

    def array_value(self, a: np.ndarray, path: Any) -> Any:
        if a.nbytes > self.limit:
            self.out.arrays[str(len(self.out.arrays))] = a
        return a


def _check_strings(value: Any) -> None:
    """Refuse a str UTF-8 cannot hold (a lone surrogate) now, where its path is known.

    orjson checks every str at C speed; what it cannot serialize is skipped by the
    default hook, except ints beyond 64 bits, which only a slow search tells apart.
    """
    try:
        orjson.dumps(value, default=_members, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:
        bad = bad_string(value)
        if bad is not None:
            raise UnsupportedValueError(f"cannot store {bad!r}: surrogates not allowed",
                                        bad, hint=NOT_UNICODE_HINT) from None


def _members(value: Any) -> Any:
    return list(value) if type(value) in (set, frozenset, deque) else None


def substitute_keys(value: Any, resolve: Callable[[ObjectKey], Any]) -> Any:
    """A copy of ``value`` with every ObjectKey replaced by ``resolve(key)``.

    Scalars are tested inline in the list and dict loops: a call per value would
    cost more than the test.
    """
    kind = type(value)
    if kind is ObjectKey:
        return resolve(value)
    if kind is list:
        return [v if type(v) in _LEAVES else substitute_keys(v, resolve) for v in value]
    if kind is dict:
        return {k if type(k) in _LEAVES else substitute_keys(k, resolve):
                v if type(v) in _LEAVES else substitute_keys(v, resolve)
                for k, v in value.items()}
    if kind in _LEAVES:
        return value
    if kind in (tuple, set, frozenset):
        return kind([v if type(v) in _LEAVES else substitute_keys(v, resolve) for v in value])
    if isinstance(value, dict):
        return kind((substitute_keys(k, resolve), substitute_keys(v, resolve))
                    for k, v in value.items())
    if kind is deque:
        return deque((substitute_keys(v, resolve) for v in value), value.maxlen)
    return value


def resolve_in_place(value: Any, resolve: Callable[[ObjectKey], Any]) -> Any:
    """Like :func:`substitute_keys`, but lists and dicts of ``value`` are reused.

    For values decoded just now and used once (a stream record at restore): making
    new containers and freeing the old ones costs more than the walk itself.
    """
    kind = type(value)
    if kind is list:
        for index, item in enumerate(value):
            if type(item) not in _LEAVES:
                value[index] = resolve_in_place(item, resolve)
        return value
    if kind is dict and _LEAVES.issuperset(map(type, value)):
        for key, item in value.items():  # replacing values keeps the size: allowed
            if type(item) not in _LEAVES:
                value[key] = resolve_in_place(item, resolve)
        return value
    return substitute_keys(value, resolve)
