"""``ls``: the tree of managers, objects and arrays in a session file, as data.

For HDF5 files the tree comes from node attributes and dataset headers only (see
:mod:`sessionh5._hdf5.inspect`), so listing a huge file reads no array values. A
stream has no index, so listing one decodes it; its arrays have no stored size.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import IO, Any, Literal

import numpy as np

from .._containers._stream.source import StreamSource
from .._containers.backends import OTHER_BYTES, detect_container, not_a_session
from .._containers.remote import Source, StorageOptions, open_source
from .._engine.graph import owners
from .._engine.records import ObjectKey
from ..errors import UsageError
from .info import first_bytes, format_bytes

__all__ = ["TreeEntry", "render_tree", "session_tree"]

Kind = Literal["session", "manager", "object", "table", "array", "group"]


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """One line of ``ls``: a manager, object, table of small objects, or array."""

    name: str
    path: str
    kind: Kind
    class_name: str | None = None
    ordinal: int | None = None
    rows: int | None = None
    shape: tuple[int, ...] | None = None
    dtype: str | None = None
    stored: int | None = None
    raw: int | None = None
    children: tuple[TreeEntry, ...] = ()

    def find(self, path: str) -> TreeEntry | None:
        """The entry at ``path`` in this subtree ('/models/Volume 1'), or None."""
        if self.path == path:
            return self
        for child in self.children:
            if path == child.path or path.startswith(child.path.rstrip("/") + "/"):
                return child.find(path)
        return None

    def walk(self, depth: int = 0) -> Iterator[tuple[int, TreeEntry]]:
        """Entries depth-first with their depth, this one first."""
        yield depth, self
        for child in self.children:
            yield from child.walk(depth + 1)


def session_tree(source: Source, path: str | None = None, *,
                 storage_options: StorageOptions = None) -> TreeEntry:
    """The tree of a session file, or of the subtree at ``path`` (an HDF5-style path).

    Raises:
        UsageError: ``path`` names nothing in the file.
    """
    with open_source(source, storage_options) as stream:
        kind = detect_container(first_bytes(stream))
        if kind == "hdf5":
            root = _hdf5_tree(stream)
        elif kind == "stream":
            root = _stream_tree(stream)
        else:
            raise not_a_session(OTHER_BYTES)
    if path in (None, "", "/"):
        return root
    wanted = "/" + path.strip("/")
    found = root.find(wanted)
    if found is None:
        raise UsageError(f"no {wanted!r} in the file; `sessionh5 ls FILE` lists what there is")
    return found


def _hdf5_tree(stream: IO[bytes]) -> TreeEntry:
    from .._containers._hdf5.files import open_hdf5
    from .._containers._hdf5.header import read_header
    from .._containers._hdf5.inspect import scan_nodes

    with open_hdf5(stream) as file:
        read_header(file)  # refuses non-session files with a clear message
        nodes = scan_nodes(file)
    return _assemble([_node_entry(n) for n in nodes])


def _node_entry(node: Any) -> TreeEntry:
    arrays = tuple(TreeEntry(a.name, a.path, "array", shape=a.shape, dtype=a.dtype,
                             stored=a.stored, raw=a.raw) for a in node.arrays)
    kind: Kind = "manager" if node.is_manager else ("table" if node.kind == "table"
                                                   else "object")
    return TreeEntry(node.path.rsplit("/", 1)[-1], node.path, kind, node.class_name,
                     node.ordinal, node.rows if kind == "table" else None, children=arrays)


def _assemble(entries: list[TreeEntry]) -> TreeEntry:
    """Nest entries by path; a missing parent (like /unowned) becomes a plain group."""
    children: dict[str, list[TreeEntry]] = {"/": []}
    by_path = {e.path: e for e in entries}
    for entry in entries:
        children.setdefault(entry.path, [])
    for entry in entries:
        parent = entry.path.rsplit("/", 1)[0] or "/"
        if parent not in children:
            children[parent] = []
            by_path[parent] = TreeEntry(parent.rsplit("/", 1)[-1], parent, "group")
            children["/"].append(by_path[parent])
        children[parent].append(entry)

    def build(entry: TreeEntry) -> TreeEntry:
        kids = tuple(build(c) for c in children.get(entry.path, []))
        return replace(entry, children=entry.children + kids)

    return build(TreeEntry("/", "/", "session"))


def _stream_tree(stream: IO[bytes]) -> TreeEntry:
    from .._containers._stream import read_stream

    source = StreamSource(read_stream(stream))  # type: ignore[arg-type]
    owner = owners(source.header.managers, source.refs)
    managers = {key: tag for tag, key in source.header.managers.items()}
    by_tag: dict[str, list[TreeEntry]] = {tag: [] for tag in source.header.managers}
    for key in source.records:
        if key not in managers:
            tag = owner.get(key, "unowned")
            by_tag.setdefault(tag, []).append(_record_entry(source, key, f"/{tag}"))
    tops = []
    for tag, key in source.header.managers.items():
        own = _record_entry(source, key, "")
        tops.append(replace(own, name=tag, path=f"/{tag}", kind="manager",
                            children=own.children + tuple(by_tag.pop(tag))))
    tops += [TreeEntry(tag, f"/{tag}", "group", children=tuple(kids))
             for tag, kids in by_tag.items()]
    return TreeEntry("/", "/", "session", children=tuple(tops))


def _record_entry(source: StreamSource, key: ObjectKey, parent: str) -> TreeEntry:
    name = f"{key.class_name.rsplit('.', 1)[-1]} {key.ordinal}"
    path = f"{parent}/{name}"
    arrays = tuple(TreeEntry(n, f"{path}/{n}", "array", shape=a.shape, dtype=str(a.dtype),
                             raw=int(a.nbytes))
                   for n, a in _arrays_in(source.records[key].data, ""))
    return TreeEntry(name, path, "object", key.class_name, key.ordinal, children=arrays)


def _arrays_in(value: Any, where: str) -> Iterator[tuple[str, np.ndarray]]:
    """Arrays inside plain snapshot data, named by their path ('volume', 'atoms.xyz')."""
    if isinstance(value, np.ndarray) and value.ndim:
        yield where or "value", value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _arrays_in(v, f"{where}.{k}" if where else str(k))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _arrays_in(v, f"{where}.{i}" if where else str(i))


def render_tree(root: TreeEntry) -> list[str]:
    """Aligned text lines, two spaces of indent per level, details in a second column."""
    rows = [("  " * depth + _label(e), _detail(e)) for depth, e in root.walk()]
    width = min(max(len(label) for label, _ in rows) + 2, 60)
    return [f"{label:<{width}}{detail}".rstrip() for label, detail in rows]


def _label(entry: TreeEntry) -> str:
    if entry.kind == "session":
        return entry.path
    return entry.name + ("" if entry.kind == "array" else "/")


def _detail(entry: TreeEntry) -> str:
    if entry.kind == "array":
        stored = "" if entry.stored is None else f"  stored {format_bytes(entry.stored)}"
        shape = "x".join(map(str, entry.shape or ())) or "scalar"
        return f"{entry.dtype} {shape}  raw {format_bytes(entry.raw)}{stored}"
    if entry.kind == "table":
        short = (entry.class_name or "").rsplit(".", 1)[-1]
        noun = "object" if entry.rows == 1 else "objects"
        return f"table: {entry.rows} {short} {noun} ({entry.class_name})"
    if entry.kind in ("manager", "object"):
        ordinal = f" #{entry.ordinal}" if entry.ordinal is not None and \
            entry.kind == "object" else ""
        return f"{entry.class_name}{ordinal}"
    return ""
