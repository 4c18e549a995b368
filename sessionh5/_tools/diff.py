"""``diff``: what differs between two session files, object by object, without their classes.

Both files are read as records (plain data with ObjectKey references, see
:mod:`sessionh5._records`), so sessions of any application compare, in either
container: an HDF5 file and the stream of the same session are equal. Objects are
matched by key (class and ordinal); a reference compares equal when it names the
same key. Arrays compare by shape, dtype and then bit for bit, a bounded block of
rows at a time (HDF5 arrays are read from the file block by block), so comparing
files of many GB needs little memory.
"""

from __future__ import annotations

import os
import struct
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from .._containers._stream.source import StreamSource
from .._containers.backends import OTHER_BYTES, detect_container, not_a_session
from .._containers.remote import Source, StorageOptions, is_url, open_source
from .._engine.display import Summary, Table
from .._engine.records import ObjectKey, SessionHeader
from ..errors import SessionError, _name_file
from .info import first_bytes

__all__ = ["ObjectChange", "SessionDiff", "ValueChange", "diff"]

Kind = Literal["added", "removed", "changed"]
#: Changes listed per object (or for the metadata); the rest are counted, not listed.
MAX_CHANGES = 50
#: Bytes per block when comparing in-memory arrays (HDF5 arrays use their own blocks).
BLOCK_BYTES = 16 << 20
_MARKS = {"added": "+", "removed": "-", "changed": "~"}
#: Metadata every save rewrites: left out of a comparison unless asked for.
VOLATILE = ("modified", "session_version")


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


@dataclass(frozen=True, slots=True)
class ObjectChange:
    """An object present in both files whose saved data differs."""

    key: str
    changes: tuple[ValueChange, ...]
    more: int = 0  # further changes not listed (past MAX_CHANGES)


@dataclass(frozen=True, slots=True)
class SessionDiff:
    """The differences between sessions ``a`` and ``b``; its repr is ``sessionh5 diff``'s output.

    ``equal`` is True when nothing differs (the command then exits 0, else 1).
    """

    a: str | None
    b: str | None
    header: tuple[ValueChange, ...] = ()
    managers_added: tuple[str, ...] = ()
    managers_removed: tuple[str, ...] = ()
    objects_added: tuple[str, ...] = ()
    objects_removed: tuple[str, ...] = ()
    objects_changed: tuple[ObjectChange, ...] = ()

    @property
    def equal(self) -> bool:
        return not (self.header or self.managers_added or self.managers_removed
                    or self.objects_added or self.objects_removed or self.objects_changed)

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {"equal": self.equal, **_lists(asdict(self))}

    def __repr__(self) -> str:
        return "\n".join(_display_lines(self))

    __str__ = __repr__

    def summary(self) -> str:
        """Counts only: what was added, removed and changed, changed objects per class."""
        lines = [f"--- {self.a or '(first)'}", f"+++ {self.b or '(second)'}"]
        per_class: dict[str, int] = {}
        for change in self.objects_changed:
            name = change.key.strip("<>").rsplit(",", 1)[0].rsplit(".", 1)[-1]
            per_class[name] = per_class.get(name, 0) + 1
        if per_class:
            lines.append("changed objects by class: "
                         + ", ".join(f"{name} {n}" for name, n in per_class.items()))
        return "\n".join([*lines, _summary(self)])

    def _repr_html_(self) -> str:
        rows = [tuple(line.strip().split(" ", 1)) if line.strip()[:1] in "+-~" else
                ("", line.strip()) for line in _display_lines(self)[2:-1]]
        table = Table("differences", ("", "what"), [r if len(r) == 2 else (r[0], "")
                                                      for r in rows])
        facts = [("first", self.a or "(first)"), ("second", self.b or "(second)")]
        return Summary(f"SessionDiff: {_summary(self)}", facts,
                       [table] if rows else []).html()


def diff(a: Source, b: Source, *, ignore_metadata: Iterable[str] = (),
         compare_volatile: bool = False, storage_options: StorageOptions = None
         ) -> SessionDiff:
    """Compare two session files (paths, URLs or readable binary files) object by object.

    ``ignore_metadata`` names metadata keys left out of the comparison, e.g.
    ``("created",)`` to compare two sessions saved apart. The keys every save
    changes (VOLATILE: ``modified``, ``session_version``) are left out unless
    ``compare_volatile``, so a session saved, restored and saved again is equal.
    ``storage_options`` go to fsspec for whichever of ``a`` and ``b`` is a URL.

    Raises:
        CorruptFileError: a file is not a session file or is damaged.
    """
    ignored = set(ignore_metadata) | (set() if compare_volatile else set(VOLATILE))
    with _open_records(a, storage_options) as left, \
            _open_records(b, storage_options) as right:
        header = _header_changes(left.header, right.header, ignored)
        tags_a, tags_b = left.header.managers, right.header.managers
        keys_a, keys_b = list(left.keys()), list(right.keys())
        in_b, in_a = set(keys_b), set(keys_a)
        changed = [c for key in keys_a if key in in_b
                   if (c := _object_change(left, right, key)) is not None]
        return SessionDiff(
            _name(a), _name(b), header,
            managers_added=tuple(t for t in tags_b if t not in tags_a),
            managers_removed=tuple(t for t in tags_a if t not in tags_b),
            objects_added=tuple(str(k) for k in keys_b if k not in in_a),
            objects_removed=tuple(str(k) for k in keys_a if k not in in_b),
            objects_changed=tuple(changed))


def _options_for(source: Source, storage_options: StorageOptions) -> Any:
    """Open ``source``: the storage options go to it only when it is a URL."""
    return open_source(source, storage_options if is_url(source) else None)


def _name(source: Source) -> str | None:
    name = source if isinstance(source, (str, os.PathLike)) else getattr(source, "name", None)
    return os.fsdecode(name) if isinstance(name, (str, bytes, os.PathLike)) else None


@contextmanager
def _open_records(source: Source, storage_options: StorageOptions) -> Iterator[Any]:
    """A RecordSource whose HDF5 arrays stay in the file until compared."""
    with ExitStack() as stack:
        with _naming(source):  # errors while opening name the file
            stream = stack.enter_context(_options_for(source, storage_options))
            kind = detect_container(first_bytes(stream))
            if kind == "hdf5":
                from .._containers._hdf5.lazy import open_lazy

                records = stack.enter_context(open_lazy(stream))
            elif kind == "stream":
                from .._containers._stream import read_stream

                records = StreamSource(read_stream(stream))  # type: ignore[arg-type]
            else:
                raise not_a_session(OTHER_BYTES)
        yield records


@contextmanager
def _naming(source: Source) -> Iterator[None]:
    try:
        yield
    except SessionError as exc:
        _name_file(exc, _name(source))
        raise


def _header_changes(a: SessionHeader, b: SessionHeader, ignored: set[str]
                    ) -> tuple[ValueChange, ...]:
    out = _Changes()
    out.compare(a.app_name, b.app_name, "application")
    out.compare(a.session_version, b.session_version, "session version")
    meta_a = {k: v for k, v in a.metadata.items() if k not in ignored}
    meta_b = {k: v for k, v in b.metadata.items() if k not in ignored}
    out.compare(meta_a, meta_b, "metadata")
    for tag in a.managers.keys() & b.managers.keys():
        out.compare(a.managers[tag], b.managers[tag], f"manager {tag!r}")
    return tuple(out.items)


def _object_change(left: Any, right: Any, key: ObjectKey) -> ObjectChange | None:
    out = _Changes()
    version_a, version_b = left.version(key), right.version(key)
    if None not in (version_a, version_b) and version_a != version_b:
        out.add("class version", "changed", f"{version_a} -> {version_b}")
    out.compare(left.load(key, _itself), right.load(key, _itself), "")
    if not out.items:
        return None
    return ObjectChange(str(key), tuple(out.items), out.more)


def _itself(key: ObjectKey) -> ObjectKey:
    """References stay ObjectKeys: two references are equal when they name the same key."""
    return key


class _Changes:
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
        if _is_array(a) and _is_array(b):
            self.arrays(a, b, path)
        elif type(a) is not type(b):
            self.add(path, "changed", f"{_short(a)} -> {_short(b)} "
                                      f"({_type_name(a)} -> {_type_name(b)})")
        elif type(a) is ObjectKey:  # a reference: one value, not a tuple of fields
            if a != b:
                self.add(path, "changed", f"{_short(a)} -> {_short(b)}")
        elif isinstance(a, dict):
            self.dicts(a, b, path)
        elif isinstance(a, (list, tuple, deque)):
            self.sequences(a, b, path)
        elif isinstance(a, (set, frozenset)):
            self.sets(a, b, path)
        elif not _same_scalar(a, b):
            self.add(path, "changed", f"{_short(a)} -> {_short(b)}")

    def dicts(self, a: dict[Any, Any], b: dict[Any, Any], path: str) -> None:
        for k, v in a.items():
            if k in b:
                self.compare(v, b[k], f"{path}[{_short(k)}]")
            else:
                self.add(f"{path}[{_short(k)}]", "removed", _short(v))
        for k, v in b.items():
            if k not in a:
                self.add(f"{path}[{_short(k)}]", "added", _short(v))

    def sequences(self, a: Any, b: Any, path: str) -> None:
        if isinstance(a, deque) and a.maxlen != b.maxlen:
            self.add(path, "changed", f"deque maxlen {a.maxlen} -> {b.maxlen}")
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            self.compare(x, y, f"{path}[{i}]")
        if len(a) != len(b):
            self.add(path, "changed", f"length {len(a)} -> {len(b)}")

    def sets(self, a: Any, b: Any, path: str) -> None:
        for item in a - b:
            self.add(path, "removed", _short(item))
        for item in b - a:
            self.add(path, "added", _short(item))

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


def _lists(value: Any) -> Any:
    """asdict keeps tuples; JSON data has lists."""
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    return value


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
    return bool(a == b)


def _type_name(value: Any) -> str:
    return type(value).__name__


def _short(value: Any, width: int = 60) -> str:
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


def _display_lines(d: SessionDiff) -> list[str]:
    lines = [f"--- {d.a or '(first)'}", f"+++ {d.b or '(second)'}"]
    lines += [c.line() for c in d.header]
    lines += [f"+ manager {t!r}" for t in d.managers_added]
    lines += [f"- manager {t!r}" for t in d.managers_removed]
    lines += [f"+ object {k}" for k in d.objects_added]
    lines += [f"- object {k}" for k in d.objects_removed]
    for change in d.objects_changed:
        lines.append(f"~ object {change.key}")
        lines += [f"    {c.line()}" for c in change.changes]
        if change.more:
            lines.append(f"    ... and {change.more} more changes")
    lines.append(_summary(d))
    return lines


def _summary(d: SessionDiff) -> str:
    if d.equal:
        return "the sessions are equal"
    parts = [(len(d.header), "header/metadata"),
             (len(d.managers_added) + len(d.managers_removed), "managers added/removed"),
             (len(d.objects_added), "objects added"), (len(d.objects_removed), "objects removed"),
             (len(d.objects_changed), "objects changed")]
    return "the sessions differ: " + ", ".join(f"{n} {what}" for n, what in parts if n)
