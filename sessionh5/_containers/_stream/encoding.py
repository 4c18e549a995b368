"""Python values -> msgpack with the stream's extension codes: the writer's packer.

Values are packed with strict types, so every non-native value reaches
:meth:`ValueEncoder.default`, which turns it into its extension code; anything it
does not know is refused with UnsupportedValueError instead of being written as
something else. The payload layouts themselves are in ``extcodes``.
"""

from __future__ import annotations

import os
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import msgpack  # type: ignore[import-untyped]
import numpy as np

from ..._engine.kinds import (
    KIND_BY_TYPE,
    ValueKind,
    enum_member,
    how_to_store,
    masked_parts,
    plain_array,
)
from ..._engine.records import EnumMember, FinalizedState, ObjectKey, PngImage, TinyArray
from ...errors import SessionError, UnsupportedValueError
from .extcodes import (
    MAX_EXT_NESTING,
    ExtCode,
    array_payload,
    pack_reference,
    scalar_payload,
    structured_scalar_payload,
    tinyarray_payload,
)

__all__ = ["LENT_ARRAY_NBYTES", "ValueEncoder"]

#: Plain containers nested deeper than this are refused (also catches a list that
#: contains itself); msgpack's own limit is 511.
_MAX_PLAIN_NESTING = 256
#: Arrays at least this large reach the compressor as views of their own bytes (see
#: ValueEncoder.pack_parts) instead of being copied through msgpack's buffers.
LENT_ARRAY_NBYTES = 1 << 20
_MAX_EXT32_PAYLOAD = 2**32 - 1


class ValueEncoder:
    """Packs values with strict types; the default hook maps each type to its extension."""

    def __init__(self) -> None:
        self._references: list[ObjectKey] = []
        self._depth = 0
        # One packer per extension depth: a packer is not re-entrant, and building one
        # per value cost a third of the writer's time on sessions of small objects.
        self._packers: list[msgpack.Packer] = []
        self._reference_exts: dict[ObjectKey, msgpack.ExtType] = {}
        # Large arrays met while packing a record (pack_parts): placeholder -> real bytes.
        self._lending = False
        self._lent: list[tuple[bytes, bytes, bytes | memoryview]] = []
        self._placeholder_base = os.urandom(12)

    def take_references(self) -> list[ObjectKey]:
        """References packed since the last call."""
        references, self._references = self._references, []
        return references

    def pack_top(self, value: Any, what: str) -> bytes:
        """Pack one top-level value, naming it in the note of any error."""
        try:
            return self.pack(value)
        except SessionError as exc:
            exc.add_note(f"while writing {what}")
            raise

    def pack_parts(self, value: Any, what: str) -> list[bytes | memoryview]:
        """Pack one top-level value whose large arrays stay views of their own bytes.

        The packer writes a 16-byte random placeholder for each such array; the
        placeholders are then cut out and replaced by the ext-32 header, the payload
        map's head and the array's memory, byte for byte what packing it would give.
        This saves three copies of the largest data in a session.
        """
        self._lending, self._lent = True, []
        try:
            packed = self.pack_top(value, what)
        finally:
            self._lending = False
        lent, self._lent = self._lent, []
        if not lent:
            return [packed]
        view, parts, position = memoryview(packed), [], 0
        for placeholder, head, data in lent:
            found = packed.index(placeholder, position)
            parts += [view[position:found], head, data]
            position = found + len(placeholder)
        parts.append(view[position:])
        return parts

    def lend(self, head_payload: dict[bytes, Any], data: bytes | memoryview) -> bytes | None:
        """Placeholder payload for an array packed by pack_parts, or None to pack it here.

        Only arrays in the record's own lists and dicts qualify: inside another
        extension the outer payload length would change when the bytes are spliced in.
        """
        nbytes = len(data)  # a 1-d uint8 view when it is a memoryview
        if not self._lending or self._depth != 1 or nbytes < LENT_ARRAY_NBYTES:
            return None
        head = self.pack_payload({**head_payload, b"data": b""})
        head = head[:-2] + b"\xc6" + nbytes.to_bytes(4, "big")  # bin 8 (empty) -> bin 32
        size = len(head) + nbytes
        if size > _MAX_EXT32_PAYLOAD:
            return None  # packing it here raises the usual "too large" error
        token = self._placeholder_base + len(self._lent).to_bytes(4, "big")
        ext_head = b"\xc9" + size.to_bytes(4, "big") + bytes((ExtCode.NDARRAY,))
        self._lent.append((b"\xd8" + bytes((ExtCode.NDARRAY,)) + token, ext_head + head, data))
        return token

    def pack(self, value: Any) -> bytes:
        """Pack with the format's settings; nested payloads come back here too."""
        return self.pack_payload(_swap_bytes_like(value, 0))

    def pack_payload(self, value: Any) -> bytes:
        """Pack a value that needs no bytearray walk (payloads built by the encoders).

        Array payloads hold a memoryview of the array's bytes, which msgpack copies
        straight into its buffer; the walk would refuse it as user data.
        """
        while len(self._packers) <= self._depth:
            self._packers.append(
                msgpack.Packer(default=self.default, use_bin_type=True, strict_types=True)
            )
        try:
            packed: bytes = self._packers[self._depth].pack(value)
        except SessionError:
            raise
        except (ValueError, OverflowError) as exc:
            # msgpack: strings with lone surrogates, values over 4 GiB.
            raise UnsupportedValueError(f"cannot pack a value: {exc}") from exc
        return packed

    def default(self, value: Any) -> msgpack.ExtType:
        """Turn a non-native value into an extension, or refuse it naming its type."""
        if type(value) is ObjectKey:  # the most common extension: no nesting, cached
            self._references.append(value)
            ext = self._reference_exts.get(value)
            if ext is None:
                ext = self._reference_exts[value] = msgpack.ExtType(
                    ExtCode.REFERENCE, pack_reference(value)
                )
            return ext
        encode = _ENCODERS.get(type(value))
        if encode is None:
            encode, value = _other_encoder(value)
        if self._depth >= MAX_EXT_NESTING:
            raise UnsupportedValueError(f"values nested deeper than {MAX_EXT_NESTING} levels")
        self._depth += 1
        try:
            code, payload = encode(self, value)
        finally:
            self._depth -= 1
        return msgpack.ExtType(code, payload)



def _other_encoder(value: Any) -> tuple[_Encoder, Any]:
    """The encoder of a value whose exact type is not in the table, or a refusal."""
    if isinstance(value, np.generic):
        return _numpy_scalar, value
    if isinstance(value, np.ndarray) and (plain := plain_array(value)) is not None:
        return _array, plain  # a memmap or recarray: the array it views
    member = enum_member(value)
    if member is not None:
        return _ENCODERS[EnumMember], member
    raise UnsupportedValueError(f"a value of type {_type_name(value)} cannot be stored in a "
                                f"session stream; {how_to_store(value)}")


def _type_name(value: Any) -> str:
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


def _swap_bytes_like(value: Any, depth: int) -> Any:
    """Replace bytearrays by ext 64 inside plain lists and dicts.

    msgpack packs bytearray (and memoryview) as bin without asking the default hook,
    so they would come back as bytes; this walk is the only place to catch them.
    Containers are copied only when something in them changes.
    """
    kind = type(value)
    if kind is list or kind is dict:
        if depth >= _MAX_PLAIN_NESTING:
            raise UnsupportedValueError(
                f"lists/dicts nested deeper than {_MAX_PLAIN_NESTING} levels (or a cycle)"
            )
        return _swap_inside(value, depth)
    if kind is bytearray:
        return msgpack.ExtType(ExtCode.BYTEARRAY, bytes(value))
    if kind is memoryview:
        raise UnsupportedValueError("memoryview cannot be stored; convert it to bytes")
    return value


_LEAVES = frozenset({type(None), bool, int, float, str, bytes})


def _swap_inside(container: list[Any] | dict[Any, Any], depth: int) -> Any:
    """A list or dict with its items swapped, copied only when one of them changes."""
    places = enumerate(container) if type(container) is list else container.items()
    copy: Any = None
    for place, item in places:
        if type(item) in _LEAVES:
            continue
        swapped = _swap_bytes_like(item, depth + 1)
        if swapped is not item:
            copy = copy if copy is not None else type(container)(container)
            copy[place] = swapped
    return container if copy is None else copy


# Each encoder returns (extension code, payload bytes).
_Encoder = Callable[[ValueEncoder, Any], tuple[int, bytes]]


def _datetime(enc: ValueEncoder, value: datetime) -> tuple[int, bytes]:
    """isoformat() keeps naive vs aware; only fixed offsets come back as the same tzinfo.

    A timezone with a name of its own (``timezone(offset, "CEST")``) or ``fold=1``
    goes to ext 67, because isoformat has no slot for either.
    """
    tzinfo = value.tzinfo
    if tzinfo is not None and type(tzinfo) is not timezone:
        raise UnsupportedValueError(
            f"a datetime with tzinfo {_type_name(tzinfo)} would come back with a fixed "
            "offset; convert it to datetime.timezone first"
        )
    named = isinstance(tzinfo, timezone) and _has_own_name(tzinfo)
    if named or value.fold:
        fields = [value.isoformat(), tzinfo.tzname(None) if named else None]
        return ExtCode.NAMED_TZ_DATETIME, enc.pack([*fields, 1] if value.fold else fields)
    return ExtCode.DATETIME, enc.pack(value.isoformat())


def _has_own_name(zone: timezone) -> bool:
    """True when the zone was built with a name other than the one its offset implies."""
    return timezone(zone.utcoffset(None)).tzname(None) != zone.tzname(None)


def _timezone(enc: ValueEncoder, value: timezone) -> tuple[int, bytes]:
    """Constructor arguments: the offset, plus the name only when it was given."""
    offset = value.utcoffset(None)
    args: list[Any] = [offset, value.tzname(None)] if _has_own_name(value) else [offset]
    return ExtCode.TIMEZONE, enc.pack(args)


def _big_int(enc: ValueEncoder, value: int) -> tuple[int, bytes]:
    """Only ints outside msgpack's 64-bit range reach the default hook."""
    try:
        return ExtCode.BIG_INT, str(value).encode("ascii")
    except ValueError as exc:  # more digits than Python converts to text
        raise UnsupportedValueError(f"an int of {value.bit_length()} bits is too large") from exc


def _png(enc: ValueEncoder, value: PngImage) -> tuple[int, bytes]:
    if type(value.data) is not bytes:
        raise UnsupportedValueError(f"PngImage.data is {_type_name(value.data)}, expected bytes")
    return ExtCode.IMAGE, value.data


def _array(enc: ValueEncoder, value: np.ndarray) -> tuple[int, bytes]:
    payload = array_payload(value)
    placeholder = enc.lend(payload, payload[b"data"])
    if placeholder is not None:
        return ExtCode.NDARRAY, placeholder
    return ExtCode.NDARRAY, enc.pack_payload(payload)


def _numpy_scalar(enc: ValueEncoder, value: np.generic) -> tuple[int, bytes]:
    if value.dtype.names is not None:
        return ExtCode.STRUCTURED_SCALAR, enc.pack_payload(structured_scalar_payload(value))
    return ExtCode.NUMPY_SCALAR, enc.pack_payload(scalar_payload(value))


def _deque(enc: ValueEncoder, value: deque[Any]) -> tuple[int, bytes]:
    """Ext 6 is the spec's plain item list; a maxlen needs sessionh5's ext 66."""
    if value.maxlen is None:
        return ExtCode.DEQUE, enc.pack(list(value))
    return ExtCode.BOUNDED_DEQUE, enc.pack([value.maxlen, list(value)])


def _masked(enc: ValueEncoder, value: np.ma.MaskedArray) -> tuple[int, bytes]:
    return ExtCode.MASKED_ARRAY, enc.pack_payload(list(masked_parts(value)))


def _kind(kind: ValueKind) -> _Encoder:
    """Encoder of a value kind: its parts, packed (the code comes from the kinds table)."""
    return lambda enc, value: (kind.stream_code, enc.pack(kind.parts(value)))


def _as_list(code: ExtCode) -> _Encoder:
    """Encoder for containers whose payload is the list of their items."""
    return lambda enc, value: (code, enc.pack(list(value)))


_ENCODERS: dict[type, _Encoder] = {
    np.ndarray: _array,
    complex: lambda enc, value: (ExtCode.COMPLEX, enc.pack([value.real, value.imag])),
    set: _as_list(ExtCode.SET),
    frozenset: _as_list(ExtCode.FROZENSET),
    OrderedDict: lambda enc, value: (ExtCode.ORDERED_DICT, enc.pack(list(value.items()))),
    deque: _deque,
    datetime: _datetime,
    timedelta: lambda enc, value: (
        ExtCode.TIMEDELTA,
        enc.pack([value.days, value.seconds, value.microseconds]),
    ),
    PngImage: _png,
    tuple: _as_list(ExtCode.TUPLE),
    timezone: _timezone,
    range: lambda enc, value: (ExtCode.RANGE, enc.pack([value.start, value.stop, value.step])),
    int: _big_int,
    FinalizedState: lambda enc, value: (ExtCode.FINALIZED, enc.pack(value.data)),
    TinyArray: lambda enc, value: (ExtCode.TINYARRAY, enc.pack_payload(tinyarray_payload(value))),
    np.ma.MaskedArray: _masked,
    **{t: _kind(kind) for t, kind in KIND_BY_TYPE.items()},
}
