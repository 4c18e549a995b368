"""Session metadata <-> root attributes that plain h5py and h5dump show as they are.

Strings stay strings, lists of strings become string arrays, numbers stay numbers,
lists of numbers (all floats, all 64-bit ints or all bools) become numeric arrays,
bytes (a PNG thumbnail) become a uint8 array; anything else is tagged JSON text,
listed in the ``sessionh5-json-metadata`` attribute so it is decoded on read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import h5py
import numpy as np

from ..._engine.decoding import decode_value
from ..._engine.encoding import encode_value
from ...errors import CorruptFileError, UsageError
from . import layout

__all__ = ["read_metadata", "write_metadata"]

_STR = h5py.string_dtype()


def write_metadata(attrs: h5py.AttributeManager, metadata: Mapping[str, Any]) -> None:
    """Store each metadata key as a root attribute of the same name."""
    json_keys = []
    for key, value in metadata.items():
        if not isinstance(key, str) or key.startswith(layout.PREFIX) or not key or \
                "\x00" in key:
            raise UsageError(
                f"metadata key {key!r} is not allowed: keys are non-empty strings without NUL "
                f"that do not start with {layout.PREFIX!r}")
        if not _write_native(attrs, key, value):
            attrs.create(key, encode_value(value, inline_limit=1 << 62).json.decode(), dtype=_STR)
            json_keys.append(key)
    attrs.create(layout.METADATA_KEYS, list(metadata), dtype=_STR)
    attrs.create(layout.JSON_METADATA, json_keys, dtype=_STR)


def _write_native(attrs: h5py.AttributeManager, key: str, value: Any) -> bool:
    kind = type(value)
    if kind is str or (kind is list and value and all(type(v) is str for v in value)):
        if "\x00" in (value if kind is str else "".join(value)):
            return False  # HDF5 strings end at NUL: such text goes as JSON, which escapes it
        attrs.create(key, value, dtype=_STR)
    elif kind is bool:
        attrs.create(key, np.bool_(value))
    elif kind is int and -(2**63) <= value < 2**63:
        attrs.create(key, np.int64(value))
    elif kind is float:
        attrs.create(key, np.float64(value))
    elif kind is bytes and value:
        attrs.create(key, np.frombuffer(value, dtype=np.uint8))
    elif kind is list and value and (numbers := _numeric_array(value)) is not None:
        attrs.create(key, numbers)
    else:
        return False
    return True


#: Element type of a metadata list -> the array dtype it is stored as (layout 3). uint8
#: is not among them: a uint8 array is bytes.
_LIST_DTYPES = {float: np.float64, int: np.int64, bool: np.bool_}


def _numeric_array(items: list[Any]) -> np.ndarray | None:
    """A list whose items are all floats, all ints in 64 bits or all bools, as an array
    that h5py and HDFView show as numbers; None for any other list."""
    kinds = set(map(type, items))
    if len(kinds) != 1:
        return None
    dtype = _LIST_DTYPES.get(kinds.pop())
    if dtype is None:
        return None
    try:
        return np.array(items, dtype=dtype)
    except OverflowError:  # ints beyond 64 bits
        return None


def read_metadata(attrs: h5py.AttributeManager, *, live: bool = False) -> dict[str, Any]:
    """Metadata from root attributes, with the Python types it was saved with."""
    keys = _strings(attrs, layout.METADATA_KEYS)
    json_keys = set(_strings(attrs, layout.JSON_METADATA))
    metadata: dict[str, Any] = {}
    for key in keys:
        if key not in attrs:
            raise CorruptFileError(f"metadata key {key!r} is listed but missing from the file")
        value = attrs[key]
        if key in json_keys:
            metadata[key] = decode_value(_text(value), [], _no_arrays, live=live)
        else:
            metadata[key] = _native(value)
    return metadata


def _no_arrays(name: str) -> Any:
    raise CorruptFileError("metadata cannot refer to datasets")


def _strings(attrs: h5py.AttributeManager, name: str) -> list[str]:
    if name not in attrs:
        return []
    value = attrs[name]
    return [_text(v) for v in np.atleast_1d(value)]


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _native(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype == np.uint8:
            return value.tobytes()
        if value.dtype.kind in "fib" and value.ndim == 1:
            return value.tolist()  # a list of numbers (layout 3)
        return [_text(v) for v in value]
    if isinstance(value, (bytes, str)):
        return _text(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    raise CorruptFileError(f"unexpected metadata value of type {type(value).__name__}")
