"""Plain snapshot values -> tagged JSON: the encoded form managers and objects with
datasets take (``_decoding.py`` reads it back).

The walker encodes each snapshot here in one pass; the HDF5 backend stores the
JSON text as it is.
JSON natives stay as they are; every other type becomes an object whose first key
starts with ``$`` (``{"$tuple": [1, 2]}``, ``{"$ref": 0}``), so ``h5dump`` output
reads like the state itself. Arrays above a small size are lifted out (into HDF5
datasets) and appear as ``{"$dataset": "name"}``. See docs/format.md for the list.
This module imports no container library.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import sys
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import orjson

from ..errors import UnsupportedValueError
from .dtypes import dtype_to_json
from .kinds import (
    KIND_BY_TYPE,
    NOT_UNICODE_HINT,
    ValueKind,
    check_tzinfo,
    enum_member,
    how_to_store,
    masked_parts,
    plain_array,
)
from .records import SESSION_KEY, EnumMember, FinalizedState, ObjectKey, PngImage, TinyArray

__all__ = [
    "INLINE_ARRAY_BYTES",
    "EncodedValue",
    "ValueEncoder",
    "encode_value",
    "int_text",
    "nested_values",
    "refuse",
    "scalar_bytes",
]

#: Arrays up to this many bytes are written inline in the JSON text.
INLINE_ARRAY_BYTES = 1024
_INT64 = (-(2**63), 2**63 - 1)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


_STR_ONLY = {str}


def _plain_keys(mapping: dict) -> bool:
    """True when every key is exactly a str not starting with '$' (mostly at C speed)."""
    if not mapping:
        return True
    if set(map(type, mapping)) != _STR_ONLY:
        return False
    joined = "\0".join(mapping)
    if joined[:1] != "$" and "\0$" not in joined:
        return True
    return all(k[:1] != "$" for k in mapping)  # a key may contain "\0$" itself


class EncodedValue:
    """One object's data as JSON bytes, plus the arrays and references it points to."""

    __slots__ = ("arrays", "json", "refs")

    def __init__(self) -> None:
        self.json = b""
        self.arrays: dict[str, np.ndarray] = {}
        self.refs: list[ObjectKey] = []


ObjectHook = Callable[[Any], ObjectKey]


def refuse(value: Any) -> ObjectKey:
    """The default object hook: no value outside the encodings is stored."""
    kind = type(value)
    name = f"{kind.__module__}.{kind.__qualname__}"
    raise UnsupportedValueError(f"cannot store a value of type {name}; {how_to_store(value)}",
                                value)


class ValueEncoder:
    """Snapshots -> JSON-ready trees, refs and lifted-out arrays; one per save.

    Saving 100k small objects spends most of its time here, so:

    * the loops over dict values and list items test the JSON scalars inline
      instead of calling ``enc`` for each (a Python call costs more than the
      tests); only containers and other types recurse, and only they build the
      path tuple that names lifted-out arrays;
    * types that turned out to be saved objects are remembered, so the next
      object of that type becomes a reference without the type dispatch of
      ``other``. The answer depends on the type alone, so it holds for the save.

    Together with the walker's reuse of one encoder per save, these cut the
    encode time of workload W2 by about 2x. (Handing whole snapshots to orjson
    after a C-speed type census was tried: the census costs as much as it saves.)
    """

    def __init__(self, on_object: ObjectHook = refuse,
                 inline_limit: int = INLINE_ARRAY_BYTES) -> None:
        self.limit = inline_limit
        self.on_object = on_object
        self.object_types: set[type] = set()
        self.out = EncodedValue()
        self.ref_index: dict[ObjectKey, int] = {}

    def encode(self, data: Any) -> EncodedValue:
        """Encode one object's data in one pass."""
        out = self.out = EncodedValue()
        self.ref_index = {}
        tree = self.enc(data, ())
        try:
            out.json = orjson.dumps(tree)
        except orjson.JSONEncodeError as exc:  # a str that is not valid Unicode (lone surrogate)
            raise UnsupportedValueError(f"cannot store {exc}", bad_string(tree),
                                        hint=NOT_UNICODE_HINT) from None
        return out

    def enc(self, v: Any, path: Any) -> Any:
        t = type(v)
        if t is dict:
            return self.enc_dict(v, path)
        if t is list:
            return self.enc_list(v, path)
        if t is str or t is bool or v is None:
            return v
        if t is int:
            return v if _INT64[0] <= v <= _INT64[1] else self.big_int(v)
        if t is float:
            return v if math.isfinite(v) else self.odd_float(v)
        if t is ObjectKey:
            return self.ref(v)
        if t in self.object_types:
            return self.ref(self.on_object(v))
        return self.other(t, v, path)

    def enc_dict(self, v: dict[Any, Any], path: Any) -> dict[str, Any]:
        if not _plain_keys(v):
            return self.keyed_dict(v, path)
        out = {}
        for k, x in v.items():
            t = type(x)
            # Inline fast cases (see the class docstring); x - x == 0 is false exactly
            # for nan and +-inf, which need a tag.
            if (t is str or t is bool or x is None or (t is float and x - x == 0)
                    or (t is int and _INT64[0] <= x <= _INT64[1])):
                out[k] = x
            elif t in self.object_types:
                out[k] = self.ref(self.on_object(x))
            else:
                out[k] = self.enc(x, (path, k))
        return out

    def enc_list(self, v: Any, path: Any) -> list[Any]:
        out: list[Any] = []
        append = out.append
        for i, x in enumerate(v):
            t = type(x)
            if (t is str or t is bool or x is None or (t is float and x - x == 0)
                    or (t is int and _INT64[0] <= x <= _INT64[1])):
                append(x)
            elif t in self.object_types:
                append(self.ref(self.on_object(x)))
            else:
                append(self.enc(x, (path, i)))
        return out

    def big_int(self, v: int) -> Any:
        return {"$int": int_text(v)}

    def odd_float(self, v: float) -> Any:
        return {"$float": repr(v)}

    def keyed_dict(self, v: dict[Any, Any], path: Any) -> Any:
        """A dict whose keys are not all plain str (JSON objects allow only those)."""
        return {"$dict": self.pairs(v, path)}

    def pairs(self, mapping: Any, path: Any) -> list:
        return [[self.enc(k, (path, "key")), self.enc(x, (path, str(k)))]
                for k, x in mapping.items()]

    def ref(self, key: ObjectKey) -> dict:
        if key.ordinal == 0 and key == SESSION_KEY:  # ordinal first: a cheap attribute test
            return {"$session": 0}
        index = self.ref_index.get(key)
        if index is None:
            index = self.ref_index[key] = len(self.out.refs)
            self.out.refs.append(key)
        return {"$ref": index}

    def other(self, t: type, v: Any, path: Any) -> Any:
        if t is tuple:
            return {"$tuple": self.enc_list(v, path)}
        if isinstance(v, np.ndarray):
            return self.array(v, path)
        if t is set or t is frozenset:
            members = sorted((self.enc(x, path) for x in v), key=orjson.dumps)
            return {"$set" if t is set else "$frozenset": members}
        if t is OrderedDict:
            return {"$odict": self.pairs(v, path)}
        if t is deque:
            return {"$deque": self.enc_list(v, path), "maxlen": v.maxlen}
        if t is bytes:
            return {"$bytes": _b64(v)}
        if t is bytearray:
            return {"$bytearray": _b64(bytes(v))}
        if t is complex:
            return {"$complex": [self.enc(v.real, path), self.enc(v.imag, path)]}
        if t is range:
            return {"$range": [self.enc(v.start, path), self.enc(v.stop, path),
                               self.enc(v.step, path)]}
        if t is dt.datetime:
            return self.datetime(v)
        if t is dt.timedelta:
            return {"$timedelta": [v.days, v.seconds, v.microseconds]}
        if t is dt.timezone:
            offset = v.utcoffset(None)
            name = v.tzname(None)
            default = dt.timezone(offset).tzname(None)
            return {"$timezone": [offset.total_seconds(), None if name == default else name]}
        if t is PngImage:
            return {"$png": _b64(v.data)}
        if isinstance(v, np.generic) and not v.dtype.hasobject:
            return {"$scalar": dtype_to_json(v.dtype), "b64": _b64(scalar_bytes(v))}
        kind = KIND_BY_TYPE.get(t)
        if kind is None and (member := enum_member(v)) is not None:
            kind, v = KIND_BY_TYPE[EnumMember], member
        if kind is not None:
            return self.kind_value(kind, v, path)
        if t is FinalizedState or t is TinyArray:
            return self.wrapper(v, path)
        key = self.on_object(v)
        self.object_types.add(t)
        return self.ref(key)

    def kind_value(self, kind: ValueKind, v: Any, path: Any) -> Any:
        """A value of the kinds table (date, path, Decimal, enum member...)."""
        return {"$" + kind.tag: self.enc(kind.parts(v), path)}

    def wrapper(self, v: FinalizedState | TinyArray, path: Any) -> Any:
        """The stream's extension 11 and 14 values, kept through HDF5 for conversion."""
        if type(v) is FinalizedState:
            return {"$finalized": self.enc(v.data, path)}
        return {"$tinyarray": self.enc(v.array, path)}

    def datetime(self, v: dt.datetime) -> dict:
        check_tzinfo(v)
        node: dict[str, Any] = {"$datetime": v.isoformat()}
        if v.fold:  # isoformat drops it
            node["fold"] = 1
        if type(v.tzinfo) is dt.timezone:  # isoformat keeps the offset, not the name
            name = v.tzinfo.tzname(None)
            if name != dt.timezone(v.tzinfo.utcoffset(None)).tzname(None):
                node["tzname"] = name
        return node

    def array(self, a: np.ndarray, path: Any) -> Any:
        """Memmaps and recarrays are saved as the arrays they view, masked arrays as
        themselves; other subclasses are saved objects (or refused). Object dtypes could
        hold anything."""
        plain = plain_array(a)
        if plain is None:
            if type(a) is np.ma.MaskedArray:
                return self.masked(a, path)
            return self.ref(self.on_object(a))
        if plain.dtype.hasobject:
            raise UnsupportedValueError("object-dtype arrays cannot be saved", a)
        return self.array_value(plain, path)

    def masked(self, a: np.ma.MaskedArray, path: Any) -> Any:
        data, mask, fill_value, hard = masked_parts(a)
        return {"$masked": self.array(data, (path, "data")),
                "mask": None if mask is None else self.array(mask, (path, "mask")),
                "fill_value": self.enc(fill_value, path), "hard": hard}

    def array_value(self, a: np.ndarray, path: Any) -> dict:
        if a.nbytes > self.limit:
            name = self.array_name(path)
            self.out.arrays[name] = a
            return {"$dataset": name}
        node: dict[str, Any] = {"$array": dtype_to_json(a.dtype), "shape": list(a.shape)}
        if a.dtype.kind in "biu" or (a.dtype.kind == "f" and a.dtype.itemsize <= 8
                                     and bool(np.isfinite(a).all())):
            node["value"] = a.tolist()
        else:
            node["b64"] = _b64(np.ascontiguousarray(a).tobytes())
        return node

    def array_name(self, path: Any) -> str:
        parts: list[str] = []
        while path:
            path, part = path
            # HDF5 link names cannot hold "/" and end at a NUL; "." separates the parts
            parts.append(str(part).replace("/", "_").replace(".", "_").replace("\x00", "_")
                         or "_")
        base = ".".join(reversed(parts)) or "value"
        name, n = base, 1
        while name in self.out.arrays:
            n += 1
            name = f"{base}~{n}"
        return name


def scalar_bytes(v: np.generic) -> bytes:
    """A numpy scalar's bytes. An empty ``numpy.str_`` or ``bytes_`` has a dtype of no size
    (``<U0``, ``|S0``) yet ``tobytes`` pads it to one item: it has none."""
    if v.dtype.itemsize:
        return v.tobytes()
    if v.dtype.kind not in "SU":
        raise UnsupportedValueError(f"a numpy scalar of dtype {v.dtype} has no size", v)
    return b""


def int_text(v: int) -> str:
    """Decimal text of an int, refused beyond what Python converts back (4300 digits)."""
    try:
        return str(v)
    except ValueError:
        raise UnsupportedValueError(  # without the value: its repr would fail the same way
            f"cannot store an integer of more than {sys.get_int_max_str_digits()} digits"
        ) from None


def encode_value(data: Any, *, inline_limit: int = INLINE_ARRAY_BYTES,
                 on_object: ObjectHook = refuse) -> EncodedValue:
    """Encode one object's data in one pass (a one-off ValueEncoder).

    ``on_object`` turns any value that is not plain data into a reference (the
    walker assigns keys to saved objects there) or raises UnsupportedValueError.
    """
    return ValueEncoder(on_object, inline_limit).encode(data)


def nested_values(value: Any) -> Iterator[Any]:
    """``value`` and everything inside its dicts (keys too), lists, tuples, sets, deques."""
    stack = [value]
    while stack:
        item = stack.pop()
        yield item
        kind = type(item)
        if kind is dict or kind is OrderedDict:
            stack.extend(item)
            stack.extend(item.values())
        elif kind in (list, tuple, set, frozenset, deque):
            stack.extend(item)


def bad_string(value: Any) -> str | None:
    """The first str in ``value`` (plain or encoded) that UTF-8 cannot hold."""
    for item in nested_values(value):
        if type(item) is str:
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return item
    return None
