"""Snapshots -> msgpack rows, msgpack's C packer doing the walk.

The packer calls back into Python (``PackedEncoder.default``) only for what msgpack
does not store natively: saved objects (references), tuples, sets, arrays,
datetimes and the other extension types of docs/format.md, whose payloads are
packed the same way. Two quirks of msgpack shape the code:

* it packs ``bytearray`` and ``memoryview`` as plain binary even with
  ``strict_types``, so a row holding binary data is rescanned in Python and its
  byte arrays boxed (rare: the scan runs only when a packed row holds binary);
* a packer cannot be re-entered from its own ``default`` callback, so nested
  payloads use one packer per nesting depth.

Arrays go to the table's pools (layout 3: the row holds an extension naming the
row's k-th pooled array, and the writer stores the arrays as datasets shared by the
whole table). An array above the pool limit needs a dataset of its own and raises
:class:`NeedsDatasets`; the walker then encodes that object as tagged JSON.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections import OrderedDict, deque
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import msgpack
import numpy as np
import orjson

from ...._engine.dtypes import dtype_to_json
from ...._engine.encoding import (
    INLINE_ARRAY_BYTES,
    ObjectHook,
    bad_string,
    int_text,
    refuse,
    scalar_bytes,
)
from ...._engine.kinds import (
    KIND_BY_TYPE,
    NOT_UNICODE_HINT,
    ValueKind,
    check_tzinfo,
    enum_member,
    masked_parts,
    plain_array,
)
from ...._engine.records import (
    SESSION_KEY,
    EnumMember,
    FinalizedState,
    ObjectKey,
    PngImage,
    TinyArray,
)
from ...._engine.walk import NeedsDatasets
from ....errors import UnsupportedValueError
from ..arrays import poolable
from . import codes

__all__ = ["NeedsDatasets", "PackedEncoder", "PackedValue"]

# NeedsDatasets is the walker's: the row format raises it for objects that need datasets.

_NO_ARRAYS: MappingProxyType[str, np.ndarray] = MappingProxyType({})


class PackedValue:
    """One object's data as a msgpack row, plus the references and the pooled arrays
    in it (each in the order the row names them)."""

    __slots__ = ("packed", "pooled", "refs")

    arrays = _NO_ARRAYS  # rows never own datasets

    def __init__(self, packed: bytes, refs: list[ObjectKey],
                 pooled: list[np.ndarray] | None = None) -> None:
        self.packed = packed
        self.refs = refs
        self.pooled: list[np.ndarray] = pooled if pooled is not None else []


class _ByteArray:
    """A bytearray in disguise, so that msgpack hands it to ``default``."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


def _packer(default: Callable[[Any], Any]) -> msgpack.Packer:
    return msgpack.Packer(default=default, strict_types=True, use_bin_type=True,
                          datetime=False)


def _array_header(count: int) -> bytes:
    if count < 16:
        return bytes((0x90 | count,))
    return (b"\xdc" + count.to_bytes(2, "big")) if count < 1 << 16 else \
        (b"\xdd" + count.to_bytes(4, "big"))


def _ref_ext(index: int, code: int = codes.REF) -> msgpack.ExtType:
    """The extension for reference ``index``: little-endian, in 1, 2 or 4 bytes."""
    size = 1 if index < 256 else 2 if index < 65536 else 4
    return msgpack.ExtType(code, index.to_bytes(size, "little"))


#: The first references' extensions, made once; never changed, so threads may share it.
_REF_EXTS = tuple(_ref_ext(index) for index in range(4096))
_CACHED_REFS = len(_REF_EXTS)
#: The same for the row's pooled arrays.
_POOLED_EXTS = tuple(_ref_ext(index, codes.POOLED) for index in range(256))


_SESSION_EXT = msgpack.ExtType(codes.SESSION, b"")


class PackedEncoder:
    """Snapshots -> msgpack rows and their references; one per save.

    ``on_object`` turns a value msgpack cannot store into a reference (the walker
    assigns keys to saved objects there) or raises UnsupportedValueError. Types
    that turned out to be saved objects are remembered, as in ValueEncoder.
    """

    def __init__(self, on_object: ObjectHook = refuse,
                 inline_limit: int = INLINE_ARRAY_BYTES,
                 known: dict[int, ObjectKey] | None = None,
                 pool_limit: int = 0) -> None:
        """``known`` maps id() of every saved object met so far to its key (the walker's
        own table, whose objects it keeps alive): a known object skips ``on_object``.

        Arrays up to ``pool_limit`` bytes go to the table's pools (the writer passes
        layout.POOL_ARRAY_BYTES); 0 keeps every array inline, as layout 2 rows did. An
        array HDF5 cannot store as a pool stays inline up to ``inline_limit`` bytes."""
        self.on_object = on_object
        self.limit = inline_limit
        self.pool_limit = pool_limit
        self.pooled: list[np.ndarray] = []
        self.known = known if known is not None else {}
        self.object_types: set[type] = set()
        self.refs: list[ObjectKey] = []
        self.ref_index: dict[Any, int] = {}  # id(object) or ObjectKey -> index in refs
        self.packers = [_packer(self.default)]
        self.depth = 0
        self.saw_binary = False
        self.dtypes: dict[np.dtype, bytes] = {}

    def encode(self, data: Any) -> PackedValue:
        """Pack one object's data; raises NeedsDatasets or UnsupportedValueError."""
        packed = self.pack_top(data)
        if self.saw_binary:
            boxed = _box_byte_arrays(data, self.on_object)
            if boxed is not data:
                packed = self.pack_top(boxed)
        return PackedValue(packed, self.refs, self.pooled)

    def pack_top(self, data: Any) -> bytes:
        self.refs = []
        self.ref_index = {}
        self.pooled = []
        self.depth = 0
        self.saw_binary = False
        try:
            packed = self.packers[0].pack(data)
        except UnicodeEncodeError:
            raise UnsupportedValueError("cannot store a str that is not valid Unicode "
                                        "(a lone surrogate)", bad_string(data),
                                        hint=NOT_UNICODE_HINT) from None
        except UnsupportedValueError:
            raise
        except ValueError as exc:  # msgpack's own depth limit
            if "recursion limit" in str(exc):
                raise UnsupportedValueError("cannot store lists and dicts nested this deeply "
                                            "(more than about 1000 levels)") from None
            raise
        except BufferError:  # a memoryview msgpack could not read: refuse it by name
            _box_byte_arrays(data, self.on_object)
            raise UnsupportedValueError("cannot store a value of type builtins.memoryview")\
                from None
        self.note_binary(packed)
        return packed

    def note_binary(self, packed: bytes) -> None:
        """Remember whether ``packed`` holds binary data (a bytearray may hide there).

        A bin header byte is searched first (at C speed); since such bytes
        also occur inside numbers, a hit is confirmed by unpacking with no binary
        allowed (extensions are left unread).
        """
        if self.saw_binary or not (b"\xc4" in packed or b"\xc5" in packed
                                   or b"\xc6" in packed):  # bin 8/16/32; memchr, not regex
            return
        if b"\xc4\x00" in packed:  # maybe an empty bin, which max_bin_len=0 allows
            self.saw_binary = True
            return
        try:
            msgpack.unpackb(packed, max_bin_len=0, strict_map_key=False, ext_hook=operator.is_)
        except ValueError:
            self.saw_binary = True

    def nested(self, value: Any) -> bytes:
        """Pack an extension's payload with the packer of the next depth."""
        if self.depth >= codes.MAX_EXT_NESTING:
            raise UnsupportedValueError(
                f"cannot store tuples, sets or other such values nested more than "
                f"{codes.MAX_EXT_NESTING} deep inside each other")
        self.depth += 1
        try:
            if self.depth == len(self.packers):
                self.packers.append(_packer(self.default))
            packed = self.packers[self.depth].pack(value)
        finally:
            self.depth -= 1
        self.note_binary(packed)
        return packed

    def ref(self, ident: Any, key: ObjectKey) -> msgpack.ExtType:
        """Each distinct target once in ``refs``, as tagged JSON does."""
        if key.ordinal == 0 and key == SESSION_KEY:
            return _SESSION_EXT
        index = self.ref_index.get(ident)
        if index is None:
            index = self.ref_index[ident] = len(self.refs)
            self.refs.append(key)
        return _REF_EXTS[index] if index < _CACHED_REFS else _ref_ext(index)

    def default(self, v: Any) -> Any:
        """msgpack's callback for every value it does not store natively.

        Saved objects come first and by id(): in W2 they are most of the calls.
        """
        ident = id(v)
        index = self.ref_index.get(ident)
        if index is not None:
            return _REF_EXTS[index] if index < _CACHED_REFS else _ref_ext(index)
        key = self.known.get(ident)
        if key is not None:  # ref() inlined: known objects are never the session
            refs = self.refs
            index = self.ref_index[ident] = len(refs)
            refs.append(key)
            return _REF_EXTS[index] if index < _CACHED_REFS else _ref_ext(index)
        t = type(v)
        if t in self.object_types:
            return self.ref(ident, self.on_object(v))
        if t is ObjectKey:
            return self.ref(v, v)
        handler = _ENCODERS.get(t)
        if handler is not None:
            return handler(self, v)
        if isinstance(v, np.ndarray):
            return self.array(v)
        if isinstance(v, np.generic) and not v.dtype.hasobject:
            return msgpack.ExtType(codes.SCALAR, self.nested([self.dtype_spec(v.dtype),
                                                              scalar_bytes(v)]))
        member = enum_member(v)
        if member is not None:
            return _ENCODERS[EnumMember](self, member)
        key = self.on_object(v)
        self.object_types.add(t)
        return self.ref(ident, key)

    def dtype_spec(self, dtype: np.dtype) -> bytes:
        spec = self.dtypes.get(dtype)
        if spec is None:
            spec = self.dtypes[dtype] = orjson.dumps(dtype_to_json(dtype))
        return spec

    def array(self, a: np.ndarray) -> Any:
        """Memmaps and recarrays go as the arrays they view (see kinds.plain_array)."""
        plain = plain_array(a)
        if plain is None:
            return self.ref(id(a), self.on_object(a))
        a = plain
        if a.dtype.hasobject:
            raise UnsupportedValueError("object-dtype arrays cannot be saved", a)
        if self.pool_limit and a.nbytes <= self.pool_limit and poolable(a.dtype):
            index = len(self.pooled)
            self.pooled.append(a)
            return _POOLED_EXTS[index] if index < 256 else _ref_ext(index, codes.POOLED)
        if a.nbytes > self.limit:
            raise NeedsDatasets
        payload = [self.dtype_spec(a.dtype), list(a.shape), np.ascontiguousarray(a).tobytes()]
        return msgpack.ExtType(codes.ARRAY, self.nested(payload))

    def members(self, v: set | frozenset) -> bytes:
        """Set members sorted by their packed bytes, so equal sets pack alike."""
        packed = sorted(self.nested(x) for x in v)
        return _array_header(len(packed)) + b"".join(packed)


def _datetime(e: PackedEncoder, v: dt.datetime) -> msgpack.ExtType:
    check_tzinfo(v)
    name = None
    if type(v.tzinfo) is dt.timezone:  # isoformat keeps the offset, not the name
        name = v.tzinfo.tzname(None)
        if name == dt.timezone(v.tzinfo.utcoffset(None)).tzname(None):
            name = None
    fields = [v.isoformat(), name, 1] if v.fold else [v.isoformat(), name]  # isoformat drops fold
    return msgpack.ExtType(codes.DATETIME, e.nested(fields))


def _timezone(e: PackedEncoder, v: dt.timezone) -> msgpack.ExtType:
    offset = v.utcoffset(None)
    name = v.tzname(None)
    default = dt.timezone(offset).tzname(None)
    return msgpack.ExtType(codes.TIMEZONE, e.nested([offset.total_seconds(),
                                               None if name == default else name]))


def _masked(e: PackedEncoder, v: np.ma.MaskedArray) -> msgpack.ExtType:
    return msgpack.ExtType(codes.MASKED, e.nested(list(masked_parts(v))))


def _kind(kind: ValueKind) -> Callable[[PackedEncoder, Any], Any]:
    return lambda e, v: msgpack.ExtType(kind.packed_code, e.nested(kind.parts(v)))


_ENCODERS: dict[type, Callable[[PackedEncoder, Any], Any]] = {
    tuple: lambda e, v: msgpack.ExtType(codes.TUPLE, e.nested(list(v))),
    set: lambda e, v: msgpack.ExtType(codes.SET, e.members(v)),
    frozenset: lambda e, v: msgpack.ExtType(codes.FROZENSET, e.members(v)),
    OrderedDict: lambda e, v: msgpack.ExtType(codes.ODICT, e.nested(dict(v))),
    deque: lambda e, v: msgpack.ExtType(codes.DEQUE, e.nested([list(v), v.maxlen])),
    _ByteArray: lambda e, v: msgpack.ExtType(codes.BYTEARRAY, v.data),
    complex: lambda e, v: msgpack.ExtType(codes.COMPLEX,
                                          codes.COMPLEX_PAYLOAD.pack(v.real, v.imag)),
    range: lambda e, v: msgpack.ExtType(codes.RANGE, e.nested([v.start, v.stop, v.step])),
    dt.datetime: _datetime,
    dt.timedelta: lambda e, v: msgpack.ExtType(codes.TIMEDELTA, e.nested(
        [v.days, v.seconds, v.microseconds])),
    dt.timezone: _timezone,
    PngImage: lambda e, v: msgpack.ExtType(codes.PNG, v.data),
    int: lambda e, v: msgpack.ExtType(codes.BIG_INT, int_text(v).encode("ascii")),  # beyond 64 bits
    FinalizedState: lambda e, v: msgpack.ExtType(codes.FINALIZED, e.nested(v.data)),
    TinyArray: lambda e, v: msgpack.ExtType(codes.TINYARRAY, e.nested(v.array)),
    np.ma.MaskedArray: _masked,
    **{t: _kind(kind) for t, kind in KIND_BY_TYPE.items()},
}


def _box_byte_arrays(value: Any, on_object: ObjectHook) -> Any:
    """``value`` with every bytearray boxed for ``default``; the same object if none.

    msgpack packs bytearray and memoryview as bytes without asking; a memoryview
    goes to ``on_object`` like any other type msgpack cannot store.
    """
    t = type(value)
    if t is bytearray:
        return _ByteArray(bytes(value))
    if t is memoryview:
        return on_object(value)
    if t is dict or t is OrderedDict:
        items = [(_box_byte_arrays(k, on_object), _box_byte_arrays(x, on_object))
                 for k, x in value.items()]
        if all(k is k0 and x is x0 for (k, x), (k0, x0) in zip(items, value.items(),
                                                                strict=True)):
            return value
        return t(items)
    if t in (list, tuple, set, frozenset):
        items = [_box_byte_arrays(x, on_object) for x in value]
        return value if all(x is x0 for x, x0 in zip(items, value, strict=True)) else t(items)
    if t is deque:
        items = [_box_byte_arrays(x, on_object) for x in value]
        if all(x is x0 for x, x0 in zip(items, value, strict=True)):
            return value
        return deque(items, value.maxlen)
    if t is FinalizedState:
        data = _box_byte_arrays(value.data, on_object)
        return value if data is value.data else FinalizedState(data)
    return value
