"""Tagged JSON -> values, references resolved to the objects they name.

The inverse of ``_encoding.py``: a tree parsed by orjson is rebuilt in place,
each ``$`` tag (docs/format.md) turned back into its value. Only the tags listed
in ``_TAGS`` are known; anything else is a corrupt file, never a lookup by name.
This module imports no container library.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import operator
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson

from ..errors import CorruptFileError
from .dtypes import dtype_from_json
from .kinds import KINDS, build_masked, live_value, tiny_array
from .records import SESSION_KEY, FinalizedState, PngImage

__all__ = ["array_from_bytes", "decode_tree", "decode_value", "scalar_from_bytes"]


class _Decoder:
    def __init__(self, refs: list[Any], load_array: Callable[[str], np.ndarray],
                 session: Any, live: bool) -> None:
        self.refs = refs
        self.load_array = load_array
        self.session = session
        #: Record-only values (FinalizedState, TinyArray, EnumMember) stay as they are for
        #: conversion and the tools; a restore hands the application their live value.
        self.finish: Callable[[Any], Any] = live_value if live else _same

    def dec(self, v: Any) -> Any:
        """The value of a parsed JSON tree, built in place.

        The tree is fresh from orjson and used once, so plain lists and dicts are
        kept and only their container items are replaced: scalars (most of the
        data) cost one type test each, and no copy is made. A reference, the most
        common tag, skips the tag table.
        """
        t = type(v)
        if t is list:
            refs, count = self.refs, len(self.refs)
            indices = _ref_indices(v, count) if len(v) >= _MANY_REFS else None
            if indices is not None:  # a manager's list of objects, say
                return list(map(refs.__getitem__, indices))
            for i, x in enumerate(v):
                tx = type(x)
                if tx is dict and len(x) == 1 and "$ref" in x:
                    index = x["$ref"]  # self.ref inlined: lists of references are common
                    v[i] = refs[index] if type(index) is int and 0 <= index < count \
                        else self.ref(index)
                elif tx is dict or tx is list:
                    v[i] = self.dec(x)
            return v
        if t is dict:
            if v:
                first = next(iter(v))
                if first[:1] == "$":
                    if first == "$ref" and len(v) == 1:
                        return self.ref(v[first])
                    return self.tagged(first, v)
            for k, x in v.items():  # replacing values while iterating keeps the size
                tx = type(x)
                if tx is dict and len(x) == 1 and "$ref" in x:
                    v[k] = self.ref(x["$ref"])
                elif tx is dict or tx is list:
                    v[k] = self.dec(x)
            return v
        return v

    def tagged(self, tag: str, v: dict) -> Any:
        handler = _TAGS.get(tag)
        if handler is None:
            raise CorruptFileError(f"unknown value tag {tag!r}")
        try:
            return handler(self, v[tag], v)
        except (TypeError, ValueError, KeyError, IndexError, OverflowError) as exc:
            raise CorruptFileError(f"malformed {tag} value {_short(v)}: {exc}") from exc

    def pairs(self, items: list) -> list[tuple[Any, Any]]:
        return [(self.dec(k), self.dec(x)) for k, x in items]

    def ref(self, index: int) -> Any:
        if type(index) is not int or not 0 <= index < len(self.refs):
            raise CorruptFileError(f"reference index {index!r} is out of range")
        return self.refs[index]


#: Lists this long are first tried as lists of references only, at C speed.
_MANY_REFS = 64
_REF_INDEX = operator.itemgetter("$ref")


def _ref_indices(items: list, count: int) -> list[int] | None:
    """The indexes of a list made only of ``{"$ref": i}`` with valid ``i``, else None.

    A few passes of built-ins instead of a Python step per item: 4x faster on
    long lists of references. Parsed JSON holds only dicts, lists, str and
    scalars, so the item lookup fails (TypeError/KeyError) on anything but a
    dict with that key.
    """
    try:
        indices = list(map(_REF_INDEX, items))
    except (KeyError, TypeError):
        return None
    if max(map(len, items)) != 1 or set(map(type, indices)) != {int}:
        return None
    return indices if min(indices) >= 0 and max(indices) < count else None


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) < 80 else text[:77] + "..."


def _array(d: _Decoder, spec: Any, node: dict) -> np.ndarray:
    dtype = dtype_from_json(spec)
    shape = tuple(int(n) for n in node["shape"])
    if "value" in node:
        out = np.array(node["value"], dtype=dtype)
        if out.size == 0 and math.prod(shape) == 0:
            out = out.reshape(shape)
        if out.shape != shape:
            raise ValueError(f"shape {out.shape} does not match declared {shape}")
        return out
    return array_from_bytes(base64.b64decode(node["b64"], validate=True), dtype, shape)


def array_from_bytes(raw: bytes, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    """A writable array of ``shape`` from its C-order bytes, the byte count checked."""
    if len(raw) != math.prod(shape) * dtype.itemsize:
        raise ValueError(f"{len(raw)} bytes cannot hold {shape} of {dtype}")
    if dtype.itemsize == 0:  # frombuffer cannot count items of no size
        return np.zeros(shape, dtype)
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def scalar_from_bytes(raw: bytes, dtype: np.dtype) -> np.generic:
    """A numpy scalar of ``dtype`` from its bytes, the byte count checked (see
    encoding.scalar_bytes for the empty str_ and bytes_, of no size)."""
    if len(raw) != dtype.itemsize:
        raise ValueError(f"{len(raw)} bytes for a {dtype} scalar")
    if dtype.itemsize == 0:
        if dtype.kind not in "SU":
            raise ValueError(f"a {dtype} scalar has no size")
        return dtype.type()
    return np.frombuffer(raw, dtype=dtype)[0]


def _scalar(d: _Decoder, spec: Any, node: dict) -> np.generic:
    return scalar_from_bytes(base64.b64decode(node["b64"], validate=True), dtype_from_json(spec))


def _timezone(d: _Decoder, spec: list, node: dict) -> dt.timezone:
    offset = dt.timedelta(seconds=float(spec[0]))
    return dt.timezone(offset) if spec[1] is None else dt.timezone(offset, str(spec[1]))


def _deque(d: _Decoder, items: list, node: dict) -> deque:
    maxlen = node.get("maxlen")
    return deque(d.dec(items), None if maxlen is None else int(maxlen))


def _float(d: _Decoder, text: str, node: dict) -> float:
    if text not in ("nan", "inf", "-inf"):
        raise ValueError("expected nan, inf or -inf")
    return float(text)


def _datetime(d: _Decoder, text: str, node: dict) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    name = node.get("tzname")
    if name is not None and value.tzinfo is not None:
        value = value.replace(tzinfo=dt.timezone(value.utcoffset(), str(name)))
    return value.replace(fold=1) if node.get("fold") == 1 else value


def _same(value: Any) -> Any:
    return value


def _masked(d: _Decoder, data: Any, node: dict) -> np.ma.MaskedArray:
    mask = node["mask"]
    return build_masked(d.dec(data), None if mask is None else d.dec(mask),
                        d.dec(node["fill_value"]), node["hard"])


def _kind_tag(kind: Any) -> Callable[[_Decoder, Any, dict], Any]:
    return lambda d, parts, n: d.finish(kind.value(d.dec(parts)))


_TAGS: dict[str, Callable[[_Decoder, Any, dict], Any]] = {
    "$int": lambda d, s, n: int(s),
    "$float": _float,
    "$dict": lambda d, items, n: dict(d.pairs(items)),
    "$odict": lambda d, items, n: OrderedDict(d.pairs(items)),
    "$tuple": lambda d, items, n: tuple(d.dec(x) for x in items),
    "$set": lambda d, items, n: {d.dec(x) for x in items},
    "$frozenset": lambda d, items, n: frozenset(d.dec(x) for x in items),
    "$deque": _deque,
    "$bytes": lambda d, s, n: base64.b64decode(s, validate=True),
    "$bytearray": lambda d, s, n: bytearray(base64.b64decode(s, validate=True)),
    "$complex": lambda d, p, n: complex(d.dec(p[0]), d.dec(p[1])),
    "$range": lambda d, p, n: range(int(d.dec(p[0])), int(d.dec(p[1])), int(d.dec(p[2]))),
    "$datetime": _datetime,
    "$timedelta": lambda d, p, n: dt.timedelta(int(p[0]), int(p[1]), int(p[2])),
    "$timezone": _timezone,
    "$png": lambda d, s, n: PngImage(base64.b64decode(s, validate=True)),
    "$scalar": _scalar,
    "$array": _array,
    "$dataset": lambda d, name, n: d.load_array(str(name)),
    "$ref": lambda d, i, n: d.ref(i),
    "$session": lambda d, _, n: d.session,
    "$finalized": lambda d, p, n: d.finish(FinalizedState(d.dec(p))),
    "$tinyarray": lambda d, p, n: d.finish(tiny_array(d.dec(p))),
    "$masked": _masked,
    **{"$" + kind.tag: _kind_tag(kind) for kind in KINDS},
}


def decode_value(
    text: bytes | str, refs: list[Any], load_array: Callable[[str], np.ndarray],
    session: Any = SESSION_KEY, *, live: bool = False,
) -> Any:
    """Decode one object's JSON; refs[i] stands for ``{"$ref": i}``.

    ``live`` (a restore) turns record-only values into what the application gets
    (``kinds.live_value``); without it they stay as read (conversion, tools).
    """
    try:
        tree = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise CorruptFileError(f"object state is not valid JSON: {exc}") from exc
    return decode_tree(tree, refs, load_array, session, live=live)


def decode_tree(
    tree: Any, refs: list[Any], load_array: Callable[[str], np.ndarray],
    session: Any = SESSION_KEY, *, live: bool = False,
) -> Any:
    """Decode a tree parsed from one object's JSON; the tree is consumed (reused in place)."""
    return _Decoder(refs, load_array, session, live).dec(tree)
