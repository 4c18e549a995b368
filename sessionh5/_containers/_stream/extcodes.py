"""Extension codes of the session stream and the payload layouts the format fixes.

Everything here works on plain Python values: the writer packs what the ``*_payload``
functions return and the reader hands unpacked payloads to the ``*_from_payload``
functions. Keeping msgpack out of this module lets the layouts be tested alone and
keeps every format decision (byte layout of references, array maps, dtype safety)
in one place.
"""

from __future__ import annotations

import io
import math
from typing import Any, cast

import msgpack  # type: ignore[import-untyped]
import numpy as np
from numpy.lib.format import descr_to_dtype

from ..._engine.kinds import TINYARRAY_DTYPES
from ..._engine.records import ObjectKey, TinyArray
from ...errors import UnsupportedValueError
from .codes import (  # re-exported: the payload layouts and their codes go together
    ATTR_INFO_KEY,
    CLASS_VERSIONS_KEY,
    MAX_EXT_NESTING,
    ExtCode,
    MalformedPayload,
)

__all__ = [
    "ATTR_INFO_KEY",
    "CLASS_VERSIONS_KEY",
    "MAX_EXT_NESTING",
    "ExtCode",
    "MalformedPayload",
    "array_from_payload",
    "array_payload",
    "pack_reference",
    "scalar_from_payload",
    "scalar_payload",
    "structured_scalar_from_payload",
    "structured_scalar_payload",
    "tinyarray_from_payload",
    "tinyarray_payload",
    "unpack_reference",
]

#: numpy's own limit on array dimensions (NPY_MAXDIMS in numpy 2).
_MAX_NDIM = 64
_MAX_DESCR_DEPTH = 16


# --- references (ext 0) -------------------------------------------------------------

_CORE_FORM = 0
_PROVIDER_FORM = 1


def pack_reference(key: ObjectKey) -> bytes:
    """Lay out a reference: core form when ``key.provider`` is None, provider form otherwise."""
    cls = _name_bytes(key.class_name, "class name")
    ordinal = _ordinal_bytes(key.ordinal)
    if key.provider is None:
        return bytes((_CORE_FORM, len(cls), len(ordinal))) + cls + ordinal
    provider = _name_bytes(key.provider, "provider name")
    head = bytes((_PROVIDER_FORM, len(provider), len(cls), len(ordinal)))
    return head + provider + cls + ordinal


def _name_bytes(name: object, what: str) -> bytes:
    """Encode a name for a one-byte length field; empty names would be unreadable."""
    if type(name) is not str or not name:
        raise UnsupportedValueError(f"an ObjectKey {what} must be a non-empty str, got {name!r}")
    data = name.encode("utf-8")
    if len(data) > 255:
        raise UnsupportedValueError(f"an ObjectKey {what} is limited to 255 UTF-8 bytes: {name!r}")
    return data


def _ordinal_bytes(ordinal: object) -> bytes:
    """Little-endian ordinal without trailing zero bytes; ordinal 0 is one zero byte."""
    if type(ordinal) is not int or ordinal < 0:
        raise UnsupportedValueError(f"an ObjectKey ordinal must be an int >= 0, got {ordinal!r}")
    size = max(1, (ordinal.bit_length() + 7) // 8)
    if size > 255:
        raise UnsupportedValueError(f"ObjectKey ordinal {ordinal} does not fit in 255 bytes")
    return ordinal.to_bytes(size, "little")


def unpack_reference(payload: bytes) -> ObjectKey:
    """Read either reference form; lengths must account for every payload byte."""
    form = payload[0] if payload else None
    if form == _CORE_FORM:
        lengths, names_at = payload[1:3], 3
    elif form == _PROVIDER_FORM:
        lengths, names_at = payload[1:4], 4
    else:
        raise MalformedPayload(f"object reference has form byte {form!r}, expected 0 or 1")
    if len(lengths) != names_at - 1 or names_at + sum(lengths) != len(payload):
        raise MalformedPayload(f"object reference of {len(payload)} bytes has wrong lengths")
    parts, at = [], names_at
    for size in lengths:
        parts.append(payload[at : at + size])
        at += size
    *names, ordinal = parts
    if not ordinal or not all(names):
        raise MalformedPayload("object reference has an empty name or ordinal")
    try:
        text = [name.decode("utf-8") for name in names]
    except UnicodeDecodeError as exc:
        raise MalformedPayload("object reference name is not UTF-8") from exc
    provider = text[0] if form == _PROVIDER_FORM else None
    return ObjectKey(text[-1], int.from_bytes(ordinal, "little"), provider)


# --- numpy arrays (ext 1), scalars (ext 10), tinyarrays (ext 14) --------------------------


def array_payload(array: np.ndarray) -> dict[bytes, Any]:
    """The ext-1 map; structured dtypes travel as their descr list so fields survive.

    ``b'data'`` may be a memoryview of the array: pack it before the array changes.
    """
    dtype = _storable_dtype(array.dtype, array)
    spec: str | list[Any] = dtype.str
    kind = b""
    if dtype.kind == "V":  # as the reference writes void: its descr, also without fields
        kind, spec = b"V", dtype.descr
    return {b"kind": kind, b"dtype": spec, b"shape": list(array.shape), b"data": _raw(array)}


def _raw(array: np.ndarray) -> bytes | memoryview:
    """The array's C-order bytes; a contiguous array lends them without a copy.

    The uint8 view keeps padding bytes as they are (a copy would not, see
    docs/stream-notes.md) and works for dtypes the buffer protocol refuses (datetime64).
    """
    if array.flags.c_contiguous:
        return array.reshape(-1).view(np.uint8).data
    return array.tobytes()


def scalar_payload(scalar: np.generic) -> dict[bytes, Any]:
    """The ext-10 map; its dtype slot is a string, so structured scalars go to ext 68."""
    if scalar.dtype.str in _EMPTY_TEXT:  # numpy's empty str_/bytes_: no bytes at all
        return {b"dtype": scalar.dtype.str, b"data": b""}
    dtype = _storable_dtype(scalar.dtype, scalar)
    if dtype.names is not None:
        raise UnsupportedValueError("a structured numpy scalar belongs in ext 68, not ext 10")
    return {b"dtype": dtype.str, b"data": scalar.tobytes()}


def structured_scalar_payload(scalar: np.generic) -> dict[bytes, Any]:
    """The ext-68 map: the ext-1 map of the scalar as a 0-d array, so fields survive."""
    return array_payload(np.asarray(scalar))


def structured_scalar_from_payload(value: Any) -> np.void:
    """A numpy.void with fields, from the ext-1 map of a 0-d structured array."""
    array = array_from_payload(value)
    if array.shape != () or array.dtype.names is None:
        raise MalformedPayload(
            f"structured scalar payload is a {array.dtype} array of shape {array.shape}, "
            "expected a 0-d structured array"
        )
    return cast(np.void, array[()])


#: The dtypes of numpy's empty str_ and bytes_ scalars: of no size, the only such allowed.
_EMPTY_TEXT = frozenset({"|S0", "<U0", ">U0"})


def _storable_dtype(dtype: np.dtype, value: object) -> np.dtype:
    """Refuse dtypes whose bytes are not the value (objects) or that numpy cannot rebuild."""
    if dtype.hasobject:
        raise UnsupportedValueError(f"numpy values of object dtype cannot be stored: {value!r}")
    if dtype.itemsize == 0:
        raise UnsupportedValueError(f"numpy dtype {dtype} has no size and cannot be stored")
    return dtype


def array_from_payload(value: Any) -> np.ndarray:
    """Rebuild a writable array, checking the declared size against the data first."""
    dtype, shape = _array_header(value)
    return _array_from_bytes(value[b"data"], dtype, shape)


#: Arrays whose packed payload is at least this big are decoded by array_from_packed.
LARGE_ARRAY_PAYLOAD = 1 << 16
_BIN_LENGTH_BYTES = {0xC4: 1, 0xC5: 2, 0xC6: 4}


def array_from_packed(payload: bytes) -> np.ndarray | None:
    """Decode a large ext-1 payload copying the array bytes once, not twice.

    Unpacking the payload map first copies the data into a bytes object, which
    then has to be copied again into a writable array. Writers put ``data`` last,
    so the other three entries are unpacked and the data is copied straight out of
    the payload. Returns None for any other layout (the caller unpacks it fully).
    """
    unpacker = msgpack.Unpacker(io.BytesIO(payload), raw=False, use_list=True, read_size=4096)
    try:
        if unpacker.read_map_header() != 4:
            return None
        fields = {}
        for _ in range(3):
            key = unpacker.unpack()
            fields[key] = unpacker.unpack()
        if unpacker.unpack() != b"data":
            return None
        start = unpacker.tell()
    except (ValueError, TypeError, msgpack.OutOfData):
        return None  # the full unpack reports what is wrong
    size_bytes = _BIN_LENGTH_BYTES.get(payload[start]) if start < len(payload) else None
    if size_bytes is None:
        return None
    offset = start + 1 + size_bytes
    length = int.from_bytes(payload[start + 1:offset], "big")
    if offset + length != len(payload) or fields.get(b"kind") != b"":
        return None  # structured dtypes (descr with nested extensions) take the full path
    dtype, shape = _array_header({**fields, b"data": None})
    if math.prod(shape) * dtype.itemsize != length or dtype.fields is not None:
        return None
    return np.frombuffer(payload, dtype=dtype, count=math.prod(shape),
                         offset=offset).reshape(shape).copy()


def _array_header(value: Any) -> tuple[np.dtype, tuple[int, ...]]:
    """The dtype and shape of an ext-1 map, checked."""
    fields = _bytes_map(value, (b"kind", b"dtype", b"shape", b"data"), "numpy array")
    kind = fields[b"kind"]
    if kind == b"":
        dtype = _dtype_from_str(fields[b"dtype"])
    elif kind == b"V":
        dtype = _dtype_from_descr(fields[b"dtype"])
    else:
        raise MalformedPayload(f"numpy array kind {kind!r} is not b'' or b'V'")
    return dtype, _shape(fields[b"shape"], "numpy array")


def scalar_from_payload(value: Any) -> np.generic:
    """Rebuild a numpy scalar of exactly the saved dtype."""
    fields = _bytes_map(value, (b"dtype", b"data"), "numpy scalar")
    spec = fields[b"dtype"]
    if type(spec) is str and spec in _EMPTY_TEXT and fields[b"data"] == b"":
        return cast(np.generic, np.dtype(spec).type())
    array = _array_from_bytes(fields[b"data"], _dtype_from_str(spec), ())
    return cast(np.generic, array[()])


def tinyarray_from_payload(value: Any) -> TinyArray:
    """A tinyarray is (shape, format number, data); a numpy array stands in for its data."""
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise MalformedPayload("tinyarray payload is not (shape, format, data)")
    shape, number, data = value
    if type(number) is not int or not 0 <= number < len(TINYARRAY_DTYPES):
        raise MalformedPayload(f"tinyarray format {number!r} is unknown")
    dtype = np.dtype(TINYARRAY_DTYPES[number])
    return TinyArray(_array_from_bytes(data, dtype, _shape(shape, "tinyarray")))


def tinyarray_payload(value: TinyArray) -> list[Any]:
    """Ext 14 as tinyarray writes it: (shape tuple, format number, C-order bytes)."""
    array = value.array
    if type(array) is not np.ndarray or array.dtype.str not in TINYARRAY_DTYPES:
        raise UnsupportedValueError(f"a tinyarray holds one of {TINYARRAY_DTYPES}, not {array!r}")
    return [tuple(array.shape), TINYARRAY_DTYPES.index(array.dtype.str), array.tobytes()]


def _array_from_bytes(data: object, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    """Never allocate from a declared size: the data length must match before numpy sees it."""
    if type(data) is not bytes:
        raise MalformedPayload(f"numpy data is {type(data).__name__}, expected bytes")
    needed = math.prod(shape) * dtype.itemsize
    if needed != len(data):
        raise MalformedPayload(
            f"numpy value of shape {shape} and dtype {dtype.str} needs {needed} bytes, "
            f"the payload has {len(data)}"
        )
    if dtype.fields is None:  # numpy's copy is ~4x faster than bytearray's on big arrays
        return np.frombuffer(data, dtype=dtype).reshape(shape).copy()
    # A bytearray copy keeps padding bytes as saved; ndarray.copy() of a padded
    # structured array leaves them uninitialised.
    return np.frombuffer(bytearray(data), dtype=dtype).reshape(shape)


def _bytes_map(value: Any, keys: tuple[bytes, ...], what: str) -> dict[bytes, Any]:
    """A payload map must have exactly the given bytes keys."""
    if type(value) is not dict or set(value) != set(keys):
        got = sorted(map(repr, value)) if type(value) is dict else type(value).__name__
        raise MalformedPayload(f"{what} payload must be a map with keys {list(keys)}, got {got}")
    return value


def _shape(value: Any, what: str) -> tuple[int, ...]:
    """A shape is a short sequence of non-negative ints (bools are not sizes)."""
    if not isinstance(value, (list, tuple)) or len(value) > _MAX_NDIM:
        raise MalformedPayload(f"{what} shape {value!r} is not a list of at most 64 sizes")
    if not all(type(size) is int and size >= 0 for size in value):
        raise MalformedPayload(f"{what} shape {value!r} has a size that is not an int >= 0")
    return tuple(value)


def _dtype_from_str(spec: Any) -> np.dtype:
    """Parse a dtype string such as '>f4'; numpy parses these without evaluating code."""
    if type(spec) is not str:
        raise MalformedPayload(f"numpy dtype {spec!r} is not a string")
    return _checked_dtype(spec, spec)


def _dtype_from_descr(spec: Any) -> np.dtype:
    """Rebuild a structured dtype from its descr list (padding entries included)."""
    descr = _descr(spec, 0)
    dtype = _checked_dtype(descr, spec)
    if dtype.names == ():
        # The reference writes unstructured void arrays as kind b'V' too.
        return np.dtype(f"V{dtype.itemsize}")
    return dtype


def _checked_dtype(spec: Any, shown: Any) -> np.dtype:
    """Build a dtype and refuse objects, zero sizes and sub-array dtypes."""
    try:
        dtype = descr_to_dtype(spec) if isinstance(spec, list) else np.dtype(spec)
    except (TypeError, ValueError, KeyError, IndexError) as exc:
        raise MalformedPayload(f"numpy dtype {shown!r} is not valid: {exc}") from exc
    if dtype.hasobject:
        raise MalformedPayload(f"numpy dtype {shown!r} holds Python objects; refused")
    if dtype.itemsize == 0 or dtype.subdtype is not None:
        raise MalformedPayload(f"numpy dtype {shown!r} has no size or is a sub-array dtype")
    return dtype


def _descr(value: Any, depth: int) -> list[tuple[Any, ...]]:
    """Normalise a descr list (lists from msgpack, tuples from ext 12) and check its shape."""
    if not isinstance(value, (list, tuple)) or not value or depth > _MAX_DESCR_DEPTH:
        raise MalformedPayload(f"structured dtype descr {value!r} is not a list of fields")
    return [_descr_field(field, depth) for field in value]


def _descr_field(field: Any, depth: int) -> tuple[Any, ...]:
    """One (name, format[, shape]) entry; a name may be (title, name), a format a descr."""
    if not isinstance(field, (list, tuple)) or len(field) not in (2, 3):
        raise MalformedPayload(f"structured dtype field {field!r} is not (name, format[, shape])")
    name, fmt = field[0], field[1]
    if isinstance(name, (list, tuple)) and len(name) == 2 and all(type(n) is str for n in name):
        name = tuple(name)
    elif type(name) is not str:
        raise MalformedPayload(f"structured dtype field name {name!r} is not a string")
    layout = fmt if type(fmt) is str else _descr(fmt, depth + 1)
    if len(field) == 2:
        return (name, layout)
    shape = (field[2],) if type(field[2]) is int else _shape(field[2], "dtype field")
    return (name, layout, shape)
