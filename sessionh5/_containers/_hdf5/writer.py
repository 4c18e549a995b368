"""Records -> HDF5: one group per manager tag, small objects packed in tables.

Placement rule: a manager is its tag group; an object that owns arrays above the
inline size gets a group of its own (``/models/Volume 3``) with the arrays as
datasets; every other object is one row of its class's table under the tag of
the manager that first reaches it (``/models/Atom``), because one HDF5 group per
small object costs tens of microseconds and bloats the file. References are HDF5
object references to the target node plus the target row (-1 for groups).
"""

from __future__ import annotations

import functools
import importlib.metadata
import itertools
import json
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import h5py
import hdf5plugin
import numpy as np

from ..._engine.encoding import EncodedValue
from ..._engine.graph import owners
from ..._engine.records import ObjectKey, Record, SessionHeader
from ...errors import UnsupportedValueError
from . import layout
from .arrays import write_array
from .compression import TINY_NBYTES, Compression
from .digest import attrs_digest, column_bytes
from .metadata import write_metadata
from .packed import PackedValue, as_packed, as_tagged_json, encode_record
from .places import first_place, node_of, split_many
from .pools import pool_columns, pool_name

__all__ = ["array_bytes", "encode_records", "write_session"]

_STR = h5py.string_dtype()
_Encoded = EncodedValue | PackedValue
_REF_CHUNK = 1 << 17  # object references per chunk of a table's refs column (1 MiB)


@dataclass(slots=True)
class _Node:
    path: str
    kind: str
    class_name: str
    provider: str | None
    version: int | None
    keys: list[ObjectKey] = field(default_factory=list)
    tag: str | None = None


class _Writer:
    def __init__(self, file: h5py.File, header: SessionHeader, compression: Compression,
                 progress: Callable[[int], None] | None) -> None:
        self.file = file
        self.header = header
        self.compression = compression
        self.progress = progress
        self.nodes: list[_Node] = []
        #: key -> its place (places.py): one int, so targets() maps keys at C speed
        self.where: dict[ObjectKey, int] = {}
        self.used: dict[str, set[str]] = {}
        self.raw_bytes = 0

    def unique(self, parent: str, name: str) -> str:
        used = self.used.setdefault(parent, set())
        candidate, n = name, 1
        while candidate in used:
            n += 1
            candidate = f"{name}~{n}"
        used.add(candidate)
        return candidate

    def add_node(self, node: _Node) -> int:
        self.nodes.append(node)
        return len(self.nodes) - 1

    def place(self, records: list[Record], encoded: dict[ObjectKey, _Encoded],
              owner: dict[ObjectKey, str] | None) -> None:
        """Choose every node's path: managers, then objects with arrays, then table rows.

        Names are reserved in that order so that a manager's own datasets and its
        child nodes can never claim the same link name. Table rows are sorted by
        ordinal, so a person reading a table finds row i at ordinal i + 1 (mostly).
        """
        manager_tags = {key: tag for tag, key in self.header.managers.items()}
        if owner is None:
            owner = owners(self.header.managers,
                           lambda k: encoded[k].refs if k in encoded else ())
        by_key = {r.key: r for r in records}
        for key, tag in manager_tags.items():
            path = "/" + layout.tag_to_name(tag)
            self.used.setdefault("/", set()).add(path[1:])
            self.used[path] = set(encoded[key].arrays)
            node = _Node(path, layout.OBJECT_NODE, key.class_name, key.provider,
                         by_key[key].version, [key], tag)
            self.where[key] = first_place(self.add_node(node), table=False)
        parents: dict[str | None, str] = {}
        tables: dict[tuple, list[ObjectKey]] = {}
        for record in records:
            key = record.key
            if key in manager_tags:
                continue
            tag = owner.get(key)
            parent = parents.get(tag) or parents.setdefault(tag, self.parent_of(tag))
            if encoded[key].arrays:
                self.object_node(parent, record, encoded[key])
            else:
                ident = (parent, key.class_name, key.provider, record.version)
                tables.setdefault(ident, []).append(key)
        for ident, keys in tables.items():
            keys.sort(key=_ordinal)
            self.table_node(*ident, keys)

    def object_node(self, parent: str, record: Record, enc: _Encoded) -> None:
        key = record.key
        name = self.unique(parent, f"{layout.short_class(key.class_name)} {key.ordinal}")
        path = f"{parent}/{name}"
        self.used[path] = set(enc.arrays)
        node = _Node(path, layout.OBJECT_NODE, key.class_name, key.provider,
                     record.version, [key])
        self.where[key] = first_place(self.add_node(node), table=False)

    def parent_of(self, tag: str | None) -> str:
        if tag is None:
            self.used.setdefault("/", set()).add(layout.UNOWNED)
            return "/" + layout.UNOWNED
        return "/" + layout.tag_to_name(tag)

    def table_node(self, parent: str, class_name: str, provider: str | None,
                   version: int | None, keys: list[ObjectKey]) -> None:
        name = self.unique(parent, layout.short_class(class_name))
        node_id = self.add_node(_Node(f"{parent}/{name}", layout.TABLE_NODE, class_name,
                                      provider, version, keys))
        first = first_place(node_id, table=True)
        self.where.update(zip(keys, range(first, first + len(keys)), strict=True))

    def create_groups(self) -> None:
        for node_id, node in enumerate(self.nodes):
            group = self.file.require_group(node.path)
            attrs = group.attrs
            attrs[layout.NODE_KIND] = node.kind
            attrs[layout.NODE_ID] = np.int64(node_id)
            attrs.create(layout.CLASS, node.class_name, dtype=_STR)
            if node.provider is not None:
                attrs.create(layout.PROVIDER, node.provider, dtype=_STR)
            if node.version is not None:
                attrs[layout.VERSION] = np.int64(node.version)
            if node.tag is not None:
                attrs.create(layout.TAG, node.tag, dtype=_STR)

    def targets(self, refs: list[ObjectKey]) -> tuple[np.ndarray, np.ndarray]:
        """Node id and row (-1 for object nodes) of each referenced key, at C speed."""
        places = np.fromiter(map(self.where.__getitem__, refs), dtype=np.int64, count=len(refs))
        return split_many(places)

    def h5refs(self, ids: np.ndarray) -> np.ndarray:
        """HDF5 object references to the nodes ``ids``: one lookup per distinct node."""
        unique, inverse = np.unique(ids, return_inverse=True)
        refs = [self.file[self.nodes[i].path].ref for i in unique.tolist()]
        return np.array(refs, dtype=h5py.ref_dtype)[inverse.reshape(-1)]

    def write_object(self, node: _Node, enc: _Encoded) -> None:
        enc = as_tagged_json(enc)
        group = self.file[node.path]
        attrs = group.attrs
        attrs[layout.ORDINAL] = np.int64(node.keys[0].ordinal)
        attrs.create(layout.STATE, enc.json.decode(), dtype=_STR)
        if enc.refs:
            ids, rows = self.targets(enc.refs)
            attrs.create(layout.REFS, self.h5refs(ids), dtype=h5py.ref_dtype)
            attrs[layout.REF_NODES] = ids
            attrs[layout.REF_ROWS] = rows
        for name, array in enc.arrays.items():
            write_array(group, name, array, self.compression, progress=self.progress)
        attrs.create(layout.DIGEST, attrs_digest(attrs), dtype=_STR)

    def write_table(self, node: _Node, encoded: dict[ObjectKey, _Encoded]) -> None:
        """Columns of one table, compressed like arrays; see docs/format.md."""
        group = self.file[node.path]
        encs = [e if type(e) is PackedValue else as_packed(e)
                for e in map(encoded.__getitem__, node.keys)]
        columns = _table_columns(node.keys, encs)
        all_refs = list(itertools.chain.from_iterable(map(_refs, encs)))
        ids, rows = self.targets(all_refs)
        columns[layout.T_REF_NODES] = ids
        columns[layout.T_REF_ROWS] = rows
        names = list(layout.TABLE_COLUMNS)
        if any(e.pooled for e in encs):
            index, pools = pool_columns([e.pooled for e in encs])
            columns.update(index)
            names += layout.ARRAY_COLUMNS
            for k, pool in enumerate(pools):
                write_array(group, pool_name(k), pool, self.compression, progress=self.progress)
        for name in names:
            write_array(group, name, columns[name], self.compression)
        group.create_dataset(layout.T_REFS, data=self.h5refs(ids), dtype=h5py.ref_dtype,
                             **_ref_column_options(self.compression, len(ids)))
        digest = attrs_digest(group.attrs, (column_bytes(columns[n]) for n in names))
        group.attrs.create(layout.DIGEST, digest, dtype=_STR)

    def write_root(self) -> None:
        attrs = self.file.attrs
        header = self.header
        write_metadata(attrs, header.metadata)
        attrs[layout.LAYOUT] = np.int64(layout.LAYOUT_VERSION)
        attrs.create(layout.LIBRARY_VERSION, _library_version(), dtype=_STR)
        attrs.create(layout.APP_NAME, header.app_name, dtype=_STR)
        attrs[layout.SESSION_VERSION] = np.int64(header.session_version)
        tags = list(header.managers)
        attrs.create(layout.MANAGERS, tags, dtype=_STR)
        table = {**header.attr_info, **{t: header.attr_info.get(t, False) for t in tags}}
        attrs.create(layout.ATTR_INFO, list(table), dtype=_STR)
        attrs.create(layout.ATTR_MANAGERS, [t for t, was in table.items() if was], dtype=_STR)
        attrs[layout.MANAGER_NODES] = np.array(
            [node_of(self.where[header.managers[t]]) for t in tags], dtype=np.int64)
        attrs.create(layout.PROVIDERS, json.dumps(header.providers), dtype=_STR)
        attrs.create(layout.NODES, [n.path for n in self.nodes], dtype=_STR)
        attrs.create(layout.FILTERS, self.compression.filters_needed(), dtype=_STR)
        attrs.create(layout.COMPRESSION, self.compression.name, dtype=_STR)
        attrs[layout.RAW_BYTES] = np.int64(self.raw_bytes)
        attrs.create(layout.DIGEST, attrs_digest(attrs), dtype=_STR)


#: A key's ordinal, at C speed (ObjectKey is a tuple: class name, ordinal, provider);
#: 100k calls of a Python function cost ~30 ms per use.
_ordinal = operator.itemgetter(1)
_packed = operator.attrgetter("packed")
_refs = operator.attrgetter("refs")


def _table_columns(keys: list[ObjectKey], encs: list[PackedValue]) -> dict[str, np.ndarray]:
    """Ordinal, state and offset columns of a table.

    The states are one byte column (every row's msgpack, back to back) instead of
    a variable-length string per row: HDF5 cannot compress variable-length data,
    and 100k of them cost ~16 bytes of heap overhead each. The column compresses
    like any array (LZ4 in threads).
    """
    rows = list(map(_packed, encs))
    return {
        layout.T_ORDINAL: np.fromiter(map(_ordinal, keys), np.int64, len(keys)),
        layout.T_STATE: np.frombuffer(b"".join(rows), dtype=np.uint8),
        layout.T_STATE_START: _starts(np.fromiter(map(len, rows), np.int64, len(rows))),
        layout.T_REF_START: _starts(np.fromiter(map(len, map(_refs, encs)), np.int64,
                                                len(encs))),
    }


def _starts(counts: np.ndarray) -> np.ndarray:
    """[0, c0, c0 + c1, ...]: row i spans ``start[i]:start[i + 1]``."""
    start = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=start[1:])
    return start


def _ref_column_options(compression: Compression, count: int) -> dict[str, Any]:
    """h5py options for the object-reference column: chunked and filtered when large."""
    if count * 8 <= TINY_NBYTES:
        return {}
    options: dict[str, Any] = {"chunks": (min(count, _REF_CHUNK),), "fletcher32": True}
    if compression.name == "lz4":  # the arrays' filter (compression.py), run by HDF5
        options.update(hdf5plugin.Blosc(cname="lz4", clevel=1, shuffle=hdf5plugin.Blosc.SHUFFLE))
    elif compression.name == "gzip":
        options.update(shuffle=True, compression="gzip", compression_opts=compression.level)
    return options


def encode_records(header: SessionHeader, records: list[Record]) -> dict[ObjectKey, _Encoded]:
    """Every record's encoded data: as walked, or encoded now from plain values."""
    managers = set(header.managers.values())
    return {r.key: r.data if isinstance(r.data, (EncodedValue, PackedValue))
            else encode_record(r.data, row=r.key not in managers) for r in records}


def array_bytes(encoded: dict[ObjectKey, _Encoded]) -> int:
    """The raw bytes of every array the records hold (datasets and table pools)."""
    return sum(a.nbytes for e in encoded.values()
               for a in (*e.arrays.values(), *getattr(e, "pooled", ())))


def write_session(file: h5py.File, header: SessionHeader, records: list[Record],
                  compression: Compression, progress: Any = None,
                  owners: dict[ObjectKey, str] | None = None,
                  encoded: dict[ObjectKey, _Encoded] | None = None) -> None:
    """Write a whole session into an open, empty HDF5 file.

    Record data is either already encoded (a walked session) or plain values with
    ObjectKey references (a converted stream); ``encoded`` is what
    :func:`encode_records` made of them, when the caller has it. ``owners`` maps each
    key to the tag of the first manager that reaches it, when the walk knows (else it
    is found here). ``progress`` is called with byte increments of array data; its
    ``total`` attribute is set first when it has one.

    The root attributes are written (and flushed) before anything else, so they sit
    right after the superblock: ``metadata_only``, ``info`` and every restore read
    them first, and a remote reader then finds them in its first block.
    """
    if encoded is None:
        encoded = encode_records(header, records)
    writer = _Writer(file, header, compression, progress)
    writer.raw_bytes = array_bytes(encoded)
    if hasattr(progress, "total"):
        progress.total = writer.raw_bytes
    writer.place(records, encoded, owners)
    _check_texts(header, writer.nodes)
    writer.write_root()
    file.flush()  # gives the root attributes' heap and index their places now
    writer.create_groups()
    for node in writer.nodes:
        if node.kind == layout.OBJECT_NODE:
            writer.write_object(node, encoded[node.keys[0]])
        else:
            writer.write_table(node, encoded)


def _check_texts(header: SessionHeader, nodes: list[_Node]) -> None:
    """Refuse names HDF5 would store cut at a NUL, before anything is written.

    Class names, providers and tags are HDF5 string attributes, which end at a NUL
    (h5py refuses to write one). A Session never makes such names, but a stream from
    elsewhere may hold them; every class name reaches an object node or a table node.
    """
    texts = [("application name", header.app_name)]
    texts += [("manager tag", tag) for tag in (*header.managers, *header.attr_info)]
    for node in nodes:
        texts += [("class name", node.class_name), ("provider", node.provider or "")]
    for what, text in texts:
        if "\0" in text:
            hint = "keep this session as a stream (.cxs), which stores such names"
            raise UnsupportedValueError(f"the {what} {text!r} holds a NUL character, which "
                                        f"HDF5 text cannot hold; {hint}", hint=hint)


@functools.cache
def _library_version() -> str:
    """The sessionh5 version that wrote the file (for people triaging a file); looked up
    once (importlib.metadata reads the distribution's files: ~3 ms a save)."""
    try:
        return importlib.metadata.version("sessionh5")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
