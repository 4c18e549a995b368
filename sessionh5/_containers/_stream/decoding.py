"""Stream extension values -> Python values: the msgpack ext_hook of the reader.

Every payload is checked before it becomes a value (sizes before allocation,
dtypes before numpy sees them, nesting depth), and every failure is a
MalformedPayload naming the extension code, which the reader reports as a
corrupt file with the record number.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import msgpack  # type: ignore[import-untyped]

from ..._engine.kinds import KINDS, ValueKind, build_masked, live_value
from ..._engine.records import FinalizedState, ObjectKey, PngImage
from .extcodes import (
    LARGE_ARRAY_PAYLOAD,
    MAX_EXT_NESTING,
    ExtCode,
    MalformedPayload,
    array_from_packed,
    array_from_payload,
    scalar_from_payload,
    structured_scalar_from_payload,
    tinyarray_from_payload,
    unpack_reference,
)

__all__ = ["ValueDecoder"]

#: Enough for any int Python converts from text by default (4300 digits).
_MAX_BIG_INT_DIGITS = 4300


class ValueDecoder:
    """msgpack ext_hook: turns each extension into its Python value and notes references."""

    def __init__(self, *, live: bool = False) -> None:
        """``live`` (a restore) turns record-only values into what the application gets
        (``kinds.live_value``); without it they stay as read (conversion, tools)."""
        self._references: list[ObjectKey] = []
        self._finish: Callable[[Any], Any] = live_value if live else _same
        self._depth = 0
        # Sessions refer to a few objects many times; parse each layout once.
        self._keys: dict[bytes, ObjectKey] = {}

    def take_references(self) -> list[ObjectKey]:
        """References seen since the last call (so, in the value just completed)."""
        references, self._references = self._references, []
        return references

    def ext_hook(self, code: int, payload: bytes) -> Any:
        """Decode one extension; every failure is a MalformedPayload naming the code."""
        if code == ExtCode.REFERENCE:
            key = self._keys.get(payload)
            if key is None:
                key = self._keys[payload] = unpack_reference(payload)
            self._references.append(key)
            return key
        if code in _RAW_DECODERS:
            return _RAW_DECODERS[code](payload)
        if code == ExtCode.DATETIME:
            return _datetime_from_payload(self._text_payload(payload))
        if code not in _PACKED_DECODERS:
            raise MalformedPayload(f"unknown extension code {code}")
        if code == ExtCode.NDARRAY and len(payload) >= LARGE_ARRAY_PAYLOAD:
            array = array_from_packed(payload)
            if array is not None:
                return array
        value = _PACKED_DECODERS[code](self._unpack(code, payload))
        return self._finish(value) if code in _RECORD_ONLY else value

    def _unpack(self, code: int, payload: bytes) -> Any:
        """Unpack a nested payload with the same settings, bounding the nesting depth."""
        if self._depth >= MAX_EXT_NESTING:
            raise MalformedPayload(f"extension values nested deeper than {MAX_EXT_NESTING}")
        self._depth += 1
        try:
            return msgpack.unpackb(
                payload, ext_hook=self.ext_hook, raw=False, strict_map_key=False, use_list=True
            )
        except MalformedPayload:
            raise
        except ValueError as exc:
            raise MalformedPayload(f"extension {code} payload is not msgpack: {exc}") from exc
        except TypeError as exc:  # a list or set used as a map key
            raise MalformedPayload(f"extension {code} payload has a bad map key: {exc}") from exc
        finally:
            self._depth -= 1

    def _text_payload(self, payload: bytes) -> Any:
        """Ext 7 is a packed string; a raw ASCII one is accepted too (the spec is terse)."""
        if payload[:1].isdigit():
            return payload.decode("ascii", errors="replace")
        return self._unpack(ExtCode.DATETIME, payload)


def _sequence(value: Any, size: int, what: str) -> list[Any] | tuple[Any, ...]:
    """A list (or tuple) of exactly ``size`` items."""
    if not isinstance(value, (list, tuple)) or len(value) != size:
        raise MalformedPayload(f"{what} payload {value!r} is not a list of {size} items")
    return value


def _ints(value: Any, size: int, what: str) -> list[int]:
    """A list of exactly ``size`` ints (bools are refused: they are not counts)."""
    items = _sequence(value, size, what)
    if not all(type(item) is int for item in items):
        raise MalformedPayload(f"{what} payload {value!r} holds a non-int")
    return list(items)


def _list(value: Any, what: str) -> list[Any]:
    if type(value) is not list:
        raise MalformedPayload(f"{what} payload is {type(value).__name__}, expected a list")
    return value


def _complex(value: Any) -> complex:
    real, imag = _sequence(value, 2, "complex")
    if not all(type(part) in (int, float) for part in (real, imag)):
        raise MalformedPayload(f"complex payload {value!r} holds a non-number")
    return complex(real, imag)


def _hashable_items(build: Callable[[list[Any]], Any], what: str) -> Callable[[Any], Any]:
    def decode(value: Any) -> Any:
        try:
            return build(_list(value, what))
        except TypeError as exc:
            raise MalformedPayload(f"{what} payload holds an unhashable item") from exc

    return decode


def _ordered_dict(value: Any) -> OrderedDict[Any, Any]:
    pairs = [_sequence(pair, 2, "OrderedDict item") for pair in _list(value, "OrderedDict")]
    return _hashable_items(OrderedDict, "OrderedDict")(pairs)  # type: ignore[no-any-return]


def _datetime_from_payload(value: Any) -> datetime:
    """fromisoformat, also for the reference's malformed ``+00:00Z`` suffix and plain ``Z``."""
    if type(value) is not str:
        raise MalformedPayload(f"datetime payload {value!r} is not a string")
    text = value[:-1] if value.endswith("+00:00Z") else value
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise MalformedPayload(f"datetime payload {value!r} is not ISO 8601") from exc


def _bounded_deque(value: Any) -> deque[Any]:
    maxlen, items = _sequence(value, 2, "bounded deque")
    if type(maxlen) is not int or maxlen < 0 or len(_list(items, "bounded deque")) > maxlen:
        raise MalformedPayload(f"bounded deque payload has a bad maxlen {maxlen!r}")
    return deque(items, maxlen)


def _named_tz_datetime(value: Any) -> datetime:
    """Ext 67: isoformat, the name of its timezone (or None) and, when set, fold 1."""
    if isinstance(value, (list, tuple)) and len(value) == 3 and value[2] == 1:
        text, name, _ = value
    else:
        text, name = _sequence(value, 2, "named-timezone datetime")
    moment = _datetime_from_payload(text)
    if len(value) == 3:
        moment = moment.replace(fold=1)
    if name is None:
        return moment
    offset = moment.utcoffset()
    if offset is None or type(name) is not str:
        raise MalformedPayload(f"named-timezone datetime payload {value!r} is not (aware, name)")
    try:
        zone = timezone(offset, name)
    except ValueError as exc:  # an offset of a day or more
        raise MalformedPayload(f"named-timezone datetime payload {value!r}: {exc}") from exc
    return moment.replace(tzinfo=zone)


def _guarded(build: Callable[..., Any], what: str) -> Callable[[list[int]], Any]:
    """Call a constructor whose range checks raise ValueError/OverflowError."""

    def decode(args: list[Any]) -> Any:
        try:
            return build(*args)
        except (ValueError, OverflowError, TypeError) as exc:
            raise MalformedPayload(f"{what} payload {args!r} is out of range: {exc}") from exc

    return decode


def _timezone(value: Any) -> timezone:
    args = _list(value, "timezone")
    if len(args) not in (1, 2) or type(args[0]) is not timedelta:
        raise MalformedPayload(f"timezone payload {args!r} is not (offset[, name])")
    if len(args) == 2 and type(args[1]) is not str:
        raise MalformedPayload(f"timezone name {args[1]!r} is not a string")
    return _guarded(timezone, "timezone")(args)  # type: ignore[no-any-return]


def _big_int(payload: bytes) -> int:
    """Decimal ASCII with an optional sign; bounded so int() stays fast."""
    digits = payload[1:] if payload[:1] == b"-" else payload
    if not digits.isdigit() or len(digits) > _MAX_BIG_INT_DIGITS:
        raise MalformedPayload(f"big int payload {payload[:40]!r} is not a decimal number")
    return int(payload)


def _png(payload: bytes) -> PngImage:
    return PngImage(bytes(payload))


def _same(value: Any) -> Any:
    return value


def _masked(value: Any) -> Any:
    parts = _sequence(value, 4, "masked array")
    try:
        return build_masked(*parts)
    except ValueError as exc:
        raise MalformedPayload(str(exc)) from None


def _kind(kind: ValueKind) -> Callable[[Any], Any]:
    def decode(parts: Any) -> Any:
        try:
            return kind.value(parts)
        except ValueError as exc:
            raise MalformedPayload(str(exc)) from None

    return decode


#: Codes whose values a restore turns into something else (see kinds.live_value).
_RECORD_ONLY = frozenset({ExtCode.FINALIZED, ExtCode.TINYARRAY, ExtCode.ENUM})

_RAW_DECODERS: dict[int, Callable[[bytes], Any]] = {
    ExtCode.IMAGE: _png,
    ExtCode.BYTEARRAY: bytearray,
    ExtCode.BIG_INT: _big_int,
}

_PACKED_DECODERS: dict[int, Callable[[Any], Any]] = {
    ExtCode.NDARRAY: array_from_payload,
    ExtCode.COMPLEX: _complex,
    ExtCode.SET: _hashable_items(set, "set"),
    ExtCode.FROZENSET: _hashable_items(frozenset, "frozenset"),
    ExtCode.ORDERED_DICT: _ordered_dict,
    ExtCode.DEQUE: lambda value: deque(_list(value, "deque")),
    ExtCode.TIMEDELTA: lambda value: _guarded(timedelta, "timedelta")(_ints(value, 3, "timedelta")),
    ExtCode.NUMPY_SCALAR: scalar_from_payload,
    ExtCode.FINALIZED: FinalizedState,
    ExtCode.TUPLE: lambda value: tuple(_list(value, "tuple")),
    ExtCode.TIMEZONE: _timezone,
    ExtCode.TINYARRAY: tinyarray_from_payload,
    ExtCode.RANGE: lambda value: _guarded(range, "range")(_ints(value, 3, "range")),
    ExtCode.BOUNDED_DEQUE: _bounded_deque,
    ExtCode.NAMED_TZ_DATETIME: _named_tz_datetime,
    ExtCode.STRUCTURED_SCALAR: structured_scalar_from_payload,
    ExtCode.MASKED_ARRAY: _masked,
    **{kind.stream_code: _kind(kind) for kind in KINDS},
}
