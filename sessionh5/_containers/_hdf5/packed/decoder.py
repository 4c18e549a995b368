"""msgpack rows -> values, references resolved to the objects they name."""

from __future__ import annotations

import datetime as dt
import functools
import struct
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

import msgpack
import numpy as np
import orjson

from ...._engine.decoding import array_from_bytes, scalar_from_bytes
from ...._engine.dtypes import dtype_from_json
from ...._engine.encoding import nested_values
from ...._engine.kinds import KINDS, ValueKind, build_masked, live_value, tiny_array
from ...._engine.records import SESSION_KEY, FinalizedState, PngImage
from ....errors import CorruptFileError
from . import codes

__all__ = ["PackedDecoder"]


class PackedDecoder:
    """msgpack rows -> values, references resolved to the objects they name."""

    __slots__ = ("arrays", "depth", "finish", "refs", "session", "unpack")

    def __init__(self, session: Any = SESSION_KEY, *, live: bool = False) -> None:
        """``live`` (a restore) turns record-only values into what the application gets
        (``kinds.live_value``); without it they stay as read (conversion, tools)."""
        self.session = session
        self.refs: list[Any] = []
        self.arrays: list[np.ndarray] = []  # the row's pooled arrays (layout 3)
        self.depth = 0
        self.finish: Callable[[Any], Any] = live_value if live else _same
        #: Decode one msgpack value (a row, or an extension's payload) unchecked.
        self.unpack = functools.partial(msgpack.unpackb, ext_hook=self.ext,
                                        strict_map_key=False)

    def unpacker(self, nbytes: int) -> msgpack.Unpacker:
        """An unpacker for ``nbytes`` of rows back to back, decoding like ``unpack``
        (the caller sets ``refs`` before each row and checks where each one ends)."""
        return msgpack.Unpacker(ext_hook=self.ext, strict_map_key=False,
                                max_buffer_size=max(nbytes, 1))

    def decode(self, packed: bytes, refs: list[Any], arrays: list[np.ndarray] | None = None
               ) -> Any:
        """Decode one row; ``refs[i]`` stands for reference extension ``i`` and
        ``arrays[i]`` for pooled-array extension ``i``."""
        self.refs = refs
        self.arrays = arrays if arrays is not None else []
        self.depth = 0
        try:
            value = self.unpack(packed)
        except CorruptFileError:
            raise
        except (ValueError, TypeError, IndexError, KeyError, OverflowError, struct.error,
                RecursionError, msgpack.UnpackException) as exc:
            raise CorruptFileError(f"object state is not a valid packed row: "
                                   f"{type(exc).__name__}: {exc}") from exc
        self.check_foreign(packed, value)
        return value

    @staticmethod
    def may_hold_foreign(packed: bytes) -> bool:
        """Whether ``packed`` may hold msgpack's timestamp (a regex over the bytes)."""
        return b"\xff" in packed and codes.TIMESTAMP.search(packed) is not None  # memchr first

    def check_foreign(self, packed: bytes, value: Any) -> None:
        if self.may_hold_foreign(packed) and _holds_timestamp(value):
            raise CorruptFileError("object state holds msgpack's timestamp extension (-1), "
                                   "which session files never hold")

    def ext(self, code: int, data: bytes, _ref: int = codes.REF) -> Any:
        if code == _ref:  # a local name: called once per reference (300k in W2)
            try:
                # Rows rarely refer to more than 255 objects: one byte, no int.from_bytes.
                return self.refs[data[0] if len(data) == 1 else int.from_bytes(data, "little")]
            except IndexError:
                raise CorruptFileError(f"reference index {int.from_bytes(data, 'little')} is "
                                       f"out of range (the row has {len(self.refs)})") from None
        if code == codes.POOLED:
            index = data[0] if len(data) == 1 else int.from_bytes(data, "little")
            if len(data) not in (1, 2, 4) or index >= len(self.arrays):
                raise CorruptFileError(f"pooled array {index} is out of range (the row has "
                                       f"{len(self.arrays)})")
            return self.arrays[index]
        decode = _DECODERS.get(code)
        if decode is None:
            raise CorruptFileError(f"unknown extension type {code} in a packed row")
        if self.depth >= codes.MAX_EXT_NESTING:
            raise CorruptFileError(f"extension values nested more than {codes.MAX_EXT_NESTING} "
                                   "deep in a packed row")
        self.depth += 1
        try:
            return decode(self, data)
        finally:
            self.depth -= 1


def _holds_timestamp(value: Any) -> bool:
    return any(type(item) is msgpack.Timestamp for item in nested_values(value))


def _items(d: PackedDecoder, data: bytes) -> list:
    value = d.unpack(data)
    if type(value) is not list:
        raise ValueError("expected an array payload")
    return value


def _array(d: PackedDecoder, data: bytes) -> np.ndarray:
    spec, shape, raw = d.unpack(data)
    return array_from_bytes(raw, dtype_from_json(orjson.loads(spec)),
                            tuple(int(n) for n in shape))


def _scalar(d: PackedDecoder, data: bytes) -> np.generic:
    spec, raw = d.unpack(data)
    return scalar_from_bytes(raw, dtype_from_json(orjson.loads(spec)))


def _datetime_value(d: PackedDecoder, data: bytes) -> dt.datetime:
    text, name, *fold = d.unpack(data)
    if fold not in ([], [1]):
        raise ValueError(f"a datetime payload has {2 + len(fold)} fields")
    value = dt.datetime.fromisoformat(text)
    if name is not None and value.tzinfo is not None:
        value = value.replace(tzinfo=dt.timezone(value.utcoffset(), str(name)))
    return value.replace(fold=1) if fold else value


def _timezone_value(d: PackedDecoder, data: bytes) -> dt.timezone:
    seconds, name = d.unpack(data)
    offset = dt.timedelta(seconds=float(seconds))
    return dt.timezone(offset) if name is None else dt.timezone(offset, str(name))


def _deque_value(d: PackedDecoder, data: bytes) -> deque:
    items, maxlen = d.unpack(data)
    return deque(items, None if maxlen is None else int(maxlen))


def _big_int(d: PackedDecoder, data: bytes) -> int:
    text = data.decode("ascii")
    if not text.lstrip("-").isdigit():
        raise ValueError(f"{text[:40]!r} is not an integer")
    return int(text)


def _range_value(d: PackedDecoder, data: bytes) -> range:
    start, stop, step = d.unpack(data)
    return range(int(start), int(stop), int(step))


def _ordered(d: PackedDecoder, data: bytes) -> OrderedDict:
    value = d.unpack(data)
    if type(value) is not dict:
        raise ValueError("an ordered dict payload must be a map")
    return OrderedDict(value)


def _same(value: Any) -> Any:
    return value


def _masked(d: PackedDecoder, data: bytes) -> np.ma.MaskedArray:
    values, mask, fill_value, hard = d.unpack(data)
    return build_masked(values, mask, fill_value, hard)


def _kind(kind: ValueKind) -> Callable[[PackedDecoder, bytes], Any]:
    return lambda d, data: d.finish(kind.value(d.unpack(data)))


_DECODERS: dict[int, Callable[[PackedDecoder, bytes], Any]] = {
    codes.SESSION: lambda d, data: d.session,
    codes.TUPLE: lambda d, data: tuple(_items(d, data)),
    codes.SET: lambda d, data: set(_items(d, data)),
    codes.FROZENSET: lambda d, data: frozenset(_items(d, data)),
    codes.ODICT: _ordered,
    codes.DEQUE: _deque_value,
    codes.BYTEARRAY: lambda d, data: bytearray(data),
    codes.COMPLEX: lambda d, data: complex(*codes.COMPLEX_PAYLOAD.unpack(data)),
    codes.RANGE: _range_value,
    codes.DATETIME: _datetime_value,
    codes.TIMEDELTA: lambda d, data: dt.timedelta(*(int(x) for x in d.unpack(data))),
    codes.TIMEZONE: _timezone_value,
    codes.PNG: lambda d, data: PngImage(bytes(data)),
    codes.SCALAR: _scalar,
    codes.ARRAY: _array,
    codes.BIG_INT: _big_int,
    codes.FINALIZED: lambda d, data: d.finish(FinalizedState(d.unpack(data))),
    codes.TINYARRAY: lambda d, data: d.finish(tiny_array(d.unpack(data))),
    codes.MASKED: _masked,
    **{kind.packed_code: _kind(kind) for kind in KINDS},
}
