"""Comparing two snapshot values side by side: the changes found, arrays block by block.

``diff`` walks two records' data with :class:`Changes`. References (ObjectKeys) compare
as one value and read ``<Cell #2>``; arrays compare by dtype, shape and then bit for
bit, a bounded block of rows at a time (HDF5 arrays come as StoredArrays that read
themselves block by block), and report how many elements differ and the box that
holds them.
"""

from __future__ import annotations

import decimal
import pathlib
import struct
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .._engine.records import FinalizedState, ObjectKey, TinyArray

__all__ = ["MAX_CHANGES", "Changes", "ValueChange", "short"]

Kind = Literal["added", "removed", "changed"]
#: Changes listed per object (or for the metadata); the rest are counted, not listed.
MAX_CHANGES = 50
#: Bytes per block when comparing in-memory arrays (HDF5 arrays use their own blocks).
BLOCK_BYTES = 16 << 20
_MARKS = {"added": "+", "removed": "-", "changed": "~"}
@dataclass(frozen=True, slots=True)
class ValueChange:
    """One difference at ``path`` inside a snapshot (or the metadata): what and how."""

    path: str
    kind: Kind
    detail: str

    def line(self) -> str:
        """``~ ['data']: 3 of 64 elements differ`` style text."""
        where = f"{self.path}: " if self.path else ""
        return f"{_MARKS[self.kind]} {where}{self.detail}"


class Changes:
    """Collects ValueChanges while walking two values side by side."""

    def __init__(self) -> None:
        self.items: list[ValueChange] = []
        self.more = 0

    def add(self, path: str, kind: Kind, detail: str) -> None:
        if len(self.items) < MAX_CHANGES:
            self.items.append(ValueChange(path, kind, detail))
        else:
            self.more += 1

    def compare(self, a: Any, b: Any, path: str) -> None:
        """Record every difference between ``a`` and ``b`` below ``path``."""
        if type(a) is np.ma.MaskedArray and type(b) is np.ma.MaskedArray:
            self.arrays(np.ma.getdata(a), np.ma.getdata(b), f"{path}.data")
            self.arrays(np.ma.getmaskarray(a), np.ma.getmaskarray(b), f"{path}.mask")
            self.compare(a.fill_value, b.fill_value, f"{path}.fill_value")
        elif _is_array(a) and _is_array(b):
            self.arrays(a, b, path)
        elif type(a) is not type(b):
            self.add(path, "changed", f"{short(a)} -> {short(b)} "
                                      f"({_type_name(a)} -> {_type_name(b)})")
        elif type(a) is ObjectKey:  # a reference: one value, not a tuple of fields
            if a != b:
                self.add(path, "changed", f"{short(a)} -> {short(b)}")
        elif isinstance(a, dict):
            self.dicts(a, b, path)
        elif isinstance(a, (list, tuple, deque)):
            self.sequences(a, b, path)
        elif isinstance(a, (set, frozenset)):
            self.sets(a, b, path)
        elif isinstance(a, FinalizedState):  # a stream's ext 11: compare what it wraps
            self.compare(a.data, b.data, path)
        elif isinstance(a, TinyArray):
            self.arrays(a.array, b.array, path)
        elif not _same_scalar(a, b):
            self.add(path, "changed", f"{short(a)} -> {short(b)}")

    def dicts(self, a: dict[Any, Any], b: dict[Any, Any], path: str) -> None:
        for k, v in a.items():
            if k in b:
                self.compare(v, b[k], f"{path}[{short(k)}]")
            else:
                self.add(f"{path}[{short(k)}]", "removed", short(v))
        for k, v in b.items():
            if k not in a:
                self.add(f"{path}[{short(k)}]", "added", short(v))

    def sequences(self, a: Any, b: Any, path: str) -> None:
        if isinstance(a, deque) and a.maxlen != b.maxlen:
            self.add(path, "changed", f"deque maxlen {a.maxlen} -> {b.maxlen}")
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            self.compare(x, y, f"{path}[{i}]")
        if len(a) != len(b):
            self.add(path, "changed", f"length {len(a)} -> {len(b)}")

    def sets(self, a: Any, b: Any, path: str) -> None:
        for item in a - b:
            self.add(path, "removed", short(item))
        for item in b - a:
            self.add(path, "added", short(item))

    def arrays(self, a: Any, b: Any, path: str) -> None:
        if a.dtype != b.dtype:
            self.add(path, "changed", f"array dtype {a.dtype.str} -> {b.dtype.str}")
        if a.shape != b.shape:
            self.add(path, "changed", f"array shape {a.shape} -> {b.shape}")
        if a.dtype == b.dtype and a.shape == b.shape:
            count, box = _differing_elements(a, b)
            if count:
                total = int(np.prod(a.shape, dtype=np.int64))
                where = "" if box is None else \
                    ", within [" + ", ".join(f"{lo}:{hi}" for lo, hi in box) + "]"
                self.add(path, "changed",
                         f"array values: {count} of {total} elements differ{where}")


def _is_array(value: Any) -> bool:
    """A numpy array, or a StoredArray standing in for one (it has ``blocks``)."""
    return isinstance(value, np.ndarray) or hasattr(value, "blocks")


Box = list[tuple[int, int]]


def _differing_elements(a: Any, b: Any) -> tuple[int, Box | None]:
    """Elements of two arrays of one shape and dtype that differ bit for bit, and the
    bounding box (start, stop per axis) holding them; read block by block."""
    if len(a.shape) == 0:
        return int(_differs(np.asarray(a).reshape(1), np.asarray(b).reshape(1)).sum()), None
    rows = _block_rows(a, b)
    count, box = 0, None
    for start, (x, y) in zip(range(0, a.shape[0], rows),
                             zip(_blocks(a, rows), _blocks(b, rows), strict=True), strict=False):
        mask = _differs(x, y)
        found = int(np.count_nonzero(mask))
        if found:
            count += found
            box = _widen(box, _bounds(mask), start)
    return count, box


def _bounds(mask: np.ndarray) -> Box:
    """Per axis, the first and one past the last index where ``mask`` is set."""
    bounds = []
    for axis in range(mask.ndim):
        hit = np.flatnonzero(mask.any(axis=tuple(i for i in range(mask.ndim) if i != axis)))
        bounds.append((int(hit[0]), int(hit[-1]) + 1))
    return bounds


def _widen(box: Box | None, block: Box, start: int) -> Box:
    block = [(block[0][0] + start, block[0][1] + start), *block[1:]]
    if box is None:
        return block
    return [(min(lo, b_lo), max(hi, b_hi)) for (lo, hi), (b_lo, b_hi) in zip(box, block,
                                                                             strict=True)]


def _block_rows(a: Any, b: Any) -> int:
    for side in (a, b):
        if hasattr(side, "block_rows"):
            return int(side.block_rows())
    row_bytes = max(1, int(a.nbytes) // max(1, int(a.shape[0])))
    return max(1, BLOCK_BYTES // row_bytes)


def _blocks(array: Any, rows: int) -> Iterator[np.ndarray]:
    if isinstance(array, np.ndarray):
        return (array[i:i + rows] for i in range(0, array.shape[0], rows))
    return array.blocks(rows)  # type: ignore[no-any-return]


def _differs(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Where elements differ, comparing bits (nan equals the same nan; -0.0 is not 0.0)."""
    itemsize = x.dtype.itemsize
    if x.size == 0 or itemsize == 0:
        return np.zeros(x.shape, bool)
    xb = np.ascontiguousarray(x).reshape(-1).view(np.uint8)
    yb = np.ascontiguousarray(y).reshape(-1).view(np.uint8)
    word = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}.get(itemsize)
    if word is not None:
        return (xb.view(word) != yb.view(word)).reshape(x.shape)
    rows = (xb.reshape(x.size, itemsize) != yb.reshape(y.size, itemsize)).any(axis=1)
    return rows.reshape(x.shape)


def _same_scalar(a: Any, b: Any) -> bool:
    """Equality of two leaves of one type; floats and numpy scalars compare bit for bit."""
    if isinstance(a, float):
        return struct.pack("<d", a) == struct.pack("<d", b)
    if isinstance(a, complex):
        return _same_scalar(a.real, b.real) and _same_scalar(a.imag, b.imag)
    if isinstance(a, np.generic):
        return bool(a.dtype == b.dtype and a.tobytes() == b.tobytes())
    if isinstance(a, decimal.Decimal | pathlib.PurePath):  # NaN, 1.0 vs 1.00; path case
        return str(a) == str(b)
    return bool(a == b)


def _type_name(value: Any) -> str:
    return type(value).__name__


def short(value: Any, width: int = 60) -> str:
    """A one-line repr, cut to ``width`` characters; references and big values summarised."""
    text = repr(_readable(value))
    return text if len(text) <= width else text[:width - 3] + "..."


class _Shown:
    """Prints as the text given, inside the repr of a container."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _readable(value: Any) -> Any:
    """``value`` with references as ``<Cell #2>`` and arrays and long bytes summarised."""
    kind = type(value)
    if kind is ObjectKey:
        return _Shown(f"<{value.class_name.rsplit('.', 1)[-1]} #{value.ordinal}>")
    if _is_array(value):
        return _Shown(f"array(shape={tuple(value.shape)}, dtype={value.dtype.str})")
    if isinstance(value, (bytes, bytearray)) and len(value) > 32:
        return _Shown(f"<{len(value)} bytes>")
    if kind in (list, tuple):
        return kind(map(_readable, value))
    if kind in (set, frozenset):
        return _Shown(f"{kind.__name__}()" if not value else
                      "{" + ", ".join(repr(_readable(v)) for v in value) + "}")
    if isinstance(value, dict):
        return {_readable(k) if type(k) is ObjectKey else k: _readable(v)
                for k, v in value.items()}
    return value
