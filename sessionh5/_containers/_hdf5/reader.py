"""HDF5 -> records, lazily: the root attributes first, object data only on demand.

``read_header`` touches root attributes only (what metadata_only and ``info``
need). :class:`HDF5Source` indexes nodes from the root ``sessionh5-nodes`` list,
reads reference tables per node when the rebuilder asks for them (the closure
runs on their integer columns, ``closure.py``), and reads an object's state (a
table row, or an object node's JSON and arrays) only when that object is restored;
a bulk restore decodes runs of one table's rows together (``load_many``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np

from ..._engine.decoding import decode_tree, decode_value
from ..._engine.records import SESSION_KEY, ObjectKey, SessionHeader, keys_of
from ...errors import CorruptFileError
from . import layout
from .arrays import read_array
from .closure import reachable
from .digest import check_digest
from .files import h5_errors
from .guard import child_dataset, datasets, node_group
from .header import manager_tags, read_header, saved_compression, strings, text
from .places import first_place, node_of, split, split_many
from .pools import read_pooled
from .tables import Tables, check_starts, column, no_arrays

__all__ = ["HDF5Source"]

@dataclass(slots=True)
class _NodeInfo:
    path: str
    kind: str
    class_name: str
    provider: str | None
    version: int | None
    keys: list[ObjectKey]
    ordinals: np.ndarray  # as read when indexing, to notice a column changing later


class HDF5Source:
    """A session file opened for restoring; implements the rebuilder's RecordSource."""

    def __init__(self, file: h5py.File, header: SessionHeader | None = None,
                 progress: Any = None, *, live: bool = False) -> None:
        """``progress`` gets the byte count of each array chunk read; its ``total``
        attribute, when it has one, is set to the array bytes a restore will read.
        ``live`` (a restore) hands out record-only values as the application gets
        them (``kinds.live_value``); conversion and the tools keep them as read."""
        self.file = file
        self.progress = progress
        self.live = live
        #: Paths of the datasets read so far (validate reads each array once).
        self.arrays_read: set[str] = set()
        self._groups: dict[int, h5py.Group] = {}
        self.header = header if header is not None else read_header(file)
        with h5_errors("the node index"):
            self.paths = strings(file.attrs, layout.NODES)
            self.nodes: list[_NodeInfo | None] = [None] * len(self.paths)
            #: key -> its place (places.py): node id and row in one int
            self.where: dict[ObjectKey, int] = {}
            for node_id in range(len(self.paths)):
                self.node(node_id)
            manager_nodes = np.asarray(file.attrs[layout.MANAGER_NODES]).tolist()
            #: Layout 1 tables hold JSON Lines rows, later ones msgpack rows.
            self.layout_version = int(file.attrs[layout.LAYOUT])
            self.packed_rows = self.layout_version >= 2
        tags = manager_tags(file)
        if len(manager_nodes) != len(tags):
            raise CorruptFileError("the manager list and the manager nodes differ in length")
        pairs = zip(tags, manager_nodes, strict=True)
        self.header.managers = {t: self.key_at(n, -1) for t, n in pairs}
        self._refs: dict[ObjectKey, list[ObjectKey]] = {}  # of object nodes
        self._keys_by_node: list[list[ObjectKey]] | None = None
        self._table_targets: dict[int, tuple[list[ObjectKey], list[int]]] = {}
        self._checked_refs: set[int] = set()  # tables whose reference columns were checked
        self._node_sizes: np.ndarray | None = None  # rows per node, for range checks
        self._single = np.zeros(0, bool)  # True for nodes that are one object
        self.tables = Tables(self)
        self._verified: set[int] = set()

    @property
    def compression(self) -> str | None:
        """The compression the arrays were saved with ("lz4", "gzip"; None for none)."""
        name = saved_compression(self.file)
        return None if name == "none" else name

    def group(self, node_id: int) -> h5py.Group:
        """The node's group, looked up once (h5py path lookups cost microseconds)."""
        group = self._groups.get(node_id)
        if group is None:
            with h5_errors(self.paths[node_id]):
                group = self._groups[node_id] = node_group(self.file, self.paths[node_id])
        return group

    def node(self, node_id: int) -> _NodeInfo:
        info = self.nodes[node_id]
        if info is not None:
            return info
        path = self.paths[node_id]
        with h5_errors(path):
            group = self.group(node_id)
            attrs = group.attrs
            kind = text(attrs[layout.NODE_KIND])
            class_name = text(attrs[layout.CLASS])
            provider = text(attrs[layout.PROVIDER]) if layout.PROVIDER in attrs else None
            version = int(attrs[layout.VERSION]) if layout.VERSION in attrs else None
            if kind == layout.TABLE_NODE:
                ordinals = np.asarray(column(group, layout.T_ORDINAL), dtype=np.int64)
            elif kind == layout.OBJECT_NODE:
                ordinals = np.array([int(attrs[layout.ORDINAL])], np.int64)
            else:
                raise CorruptFileError(f"{path}: unknown node kind {kind!r}")
        keys = keys_of(class_name, ordinals.tolist(), provider)
        info = self.nodes[node_id] = _NodeInfo(path, kind, class_name, provider, version, keys,
                                               ordinals)
        first, known = first_place(node_id, kind == layout.TABLE_NODE), len(self.where)
        self.where.update(zip(keys, range(first, first + len(keys)), strict=True))
        if len(self.where) != known + len(keys):
            raise self._stored_twice(node_id)
        return info

    def _stored_twice(self, node_id: int) -> CorruptFileError:
        """The error for a node holding a key that another row or node also holds."""
        here = self.node(node_id)
        rows: dict[ObjectKey, int] = {}
        for row, key in enumerate(here.keys):
            if key in rows:
                return CorruptFileError(f"{key} is stored twice ({here.path} rows {rows[key]} "
                                        f"and {row})")
            rows[key] = row
        for other in self.nodes:
            clash = next((k for k in other.keys if k in rows), None) \
                if other is not None and other is not here else None
            if clash is not None:
                return CorruptFileError(f"{clash} is stored twice ({here.path} and {other.path})")
        return CorruptFileError(f"{here.path} holds a key that is stored twice")

    def key_at(self, node_id: int, row: int) -> ObjectKey:
        if not 0 <= node_id < len(self.nodes):
            raise CorruptFileError(f"reference to node {node_id}, but the file has "
                                   f"{len(self.nodes)} nodes")
        keys = self.node(node_id).keys
        if row == -1 and len(keys) == 1 and self.nodes[node_id].kind == layout.OBJECT_NODE:
            return keys[0]
        if not 0 <= row < len(keys):
            raise CorruptFileError(f"reference to row {row} of {self.paths[node_id]}, which "
                                   f"has {len(keys)} rows")
        return keys[row]

    # RecordSource ---------------------------------------------------------------
    def keys(self) -> list[ObjectKey]:
        return list(self.where)

    def version(self, key: ObjectKey) -> int | None:
        return self.nodes[node_of(self.where[key])].version  # type: ignore[union-attr]

    def location(self, key: ObjectKey) -> str:
        node_id, row = split(self.where[key])
        return self.paths[node_id] + (f"[{row}]" if row >= 0 else "")

    def refs(self, key: ObjectKey) -> Sequence[ObjectKey]:
        node_id, row = split(self.where[key])
        if row < 0:
            cached = self._refs.get(key)
            if cached is None:
                self._refs[key] = cached = self._object_refs(node_id)
            return cached
        targets, bounds = self._table_refs(node_id)
        return targets[bounds[row]:bounds[row + 1]]

    def closure(self, roots: Iterable[ObjectKey]) -> list[ObjectKey]:
        """Every key reachable from ``roots`` (roots first), in numpy (see closure.py)."""
        nodes = self._indexed()
        order = reachable([split(self.where[key]) for key in roots],
                          [len(n.keys) for n in nodes], self._edges)
        total = sum(len(n.keys) for n in nodes)
        every_key = np.fromiter(itertools.chain.from_iterable(n.keys for n in nodes), object,
                                total)  # in closure-number order
        return every_key[order].tolist()

    def _edges(self, node_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A node's reference bounds per row, target nodes and target rows (checked)."""
        if self.nodes[node_id].kind == layout.TABLE_NODE:  # type: ignore[union-attr]
            return self._table_ref_columns(node_id)
        ids, rows = self._object_ref_columns(node_id)
        return np.array([0, len(ids)], np.int64), ids, rows

    def _object_refs(self, node_id: int) -> list[ObjectKey]:
        ids, rows = self._object_ref_columns(node_id)
        keys = self._node_keys()
        return [keys[i][r] for i, r in zip(ids.tolist(), rows.tolist(), strict=True)]

    def _object_ref_columns(self, node_id: int) -> tuple[np.ndarray, np.ndarray]:
        """An object node's reference attributes (node ids and rows), range-checked."""
        path = self.paths[node_id]
        attrs = self._verified_group(node_id).attrs
        with h5_errors(f"the references of {path}"):
            if layout.REF_NODES not in attrs:
                return np.zeros(0, np.int64), np.zeros(0, np.int64)
            ids = np.asarray(attrs[layout.REF_NODES], dtype=np.int64).reshape(-1)
            rows = np.asarray(attrs[layout.REF_ROWS], dtype=np.int64).reshape(-1)
        if len(ids) != len(rows):
            raise CorruptFileError(f"{path}: reference lists differ in length")
        self._check_targets(ids, rows, path)
        return ids, rows

    def _verified_group(self, node_id: int) -> h5py.Group:
        """An object node's group, its attributes checked against its digest once."""
        group = self.group(node_id)
        if node_id not in self._verified:
            with h5_errors(self.paths[node_id]):
                check_digest(group.attrs, self.paths[node_id])
            self._verified.add(node_id)
        return group

    def _table_refs(self, node_id: int) -> tuple[list[ObjectKey], list[int]]:
        """A table's references as keys: every row's targets in one list, and row bounds."""
        cached = self._table_targets.get(node_id)
        if cached is None:
            starts, ids, rows = self._table_ref_columns(node_id)
            keys = self._node_keys()
            targets = [keys[i][r] for i, r in zip(ids.tolist(), rows.tolist(), strict=True)]
            cached = self._table_targets[node_id] = (targets, starts.tolist())
        return cached

    def _table_ref_columns(self, node_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A table's reference bounds, target nodes and target rows, range-checked once."""
        table = self.tables.columns(node_id)
        starts = np.asarray(table[layout.T_REF_START], dtype=np.int64)
        ids = np.asarray(table[layout.T_REF_NODES], dtype=np.int64)
        rows = np.asarray(table[layout.T_REF_ROWS], dtype=np.int64)
        if node_id not in self._checked_refs:
            info = self.node(node_id)
            if len(rows) != len(ids):
                raise CorruptFileError(f"{info.path}: the reference table is inconsistent")
            check_starts(starts, len(info.keys), len(ids), f"{info.path}: the reference table")
            self._check_targets(ids, rows, info.path)
            self._checked_refs.add(node_id)
        return starts, ids, rows

    def _node_keys(self) -> list[list[ObjectKey]]:
        """Each node's keys, by node id: built once (per object node it made restoring
        20,000 object nodes quadratic)."""
        if self._keys_by_node is None:
            self._keys_by_node = [n.keys for n in self._indexed()]
        return self._keys_by_node

    def _indexed(self) -> list[_NodeInfo]:
        return [self.node(i) for i in range(len(self.nodes))]

    def _check_targets(self, ids: np.ndarray, rows: np.ndarray, path: str) -> None:
        """What key_at checks one by one, for a whole column: the node exists, and the
        row is -1 for an object node or lies inside the target's rows."""
        if ids.size and (ids.min() < 0 or ids.max() >= len(self.nodes)):
            bad = int(ids[(ids < 0) | (ids >= len(self.nodes))][0])
            raise CorruptFileError(f"{path}: reference to node {bad}, but the file has "
                                   f"{len(self.nodes)} nodes")
        if self._node_sizes is None:  # every node is indexed by __init__
            self._node_sizes = np.array([len(n.keys) for n in self._indexed()], np.int64)
            self._single = np.array([n.kind == layout.OBJECT_NODE and len(n.keys) == 1
                                     for n in self._indexed()], bool)
        sizes, single = self._node_sizes, self._single
        ok = ((rows == -1) & single[ids]) | ((rows >= 0) & (rows < sizes[ids]))
        if not ok.all():
            where = int(np.flatnonzero(~ok)[0])
            self.key_at(int(ids[where]), int(rows[where]))  # raises with the details
            raise CorruptFileError(f"{path}: reference {where} is out of range")

    def load_many(self, keys: Sequence[ObjectKey], resolve: Callable[[ObjectKey], Any]
                  ) -> Iterator[Any]:
        """``load`` for each key in turn, for keys whose targets all exist already.

        Consecutive keys of one packed table are decoded in a tight loop, with the
        table's targets resolved once (the rebuilder creates every object of a bulk
        build before loading any); a run with a damaged row is redone row by row,
        which names the problem.
        """
        if not keys:
            return
        places = np.fromiter(map(self.where.__getitem__, keys), np.int64, len(keys))
        nodes, all_rows = split_many(places)
        starts = np.flatnonzero(np.diff(nodes)) + 1  # where a run of one node begins
        node_objects: dict[int, np.ndarray] = {}  # node -> its objects, resolved once
        for begin, end in zip([0, *starts.tolist()], [*starts.tolist(), len(keys)],
                              strict=True):
            node_id, rows = int(nodes[begin]), all_rows[begin:end].tolist()
            batch = keys[begin:end]
            values = None
            if rows[0] >= 0 and self.packed_rows:
                values = self._table_rows(node_id, rows, resolve, node_objects)
            if values is None:
                values = [self.load(key, resolve) for key in batch]
            yield from values

    def _table_rows(self, node_id: int, rows: list[int], resolve: Callable[[ObjectKey], Any],
                    node_objects: dict[int, np.ndarray]) -> list[Any] | None:
        """Rows ``rows`` of a packed table, decoded; None if any of them is not sound."""
        ref_starts, ids, target_rows = self._table_ref_columns(node_id)
        gathered = np.empty(len(ids), dtype=object)
        for n in np.unique(ids).tolist():  # a hash per object, not per reference
            objects = node_objects.get(n)
            if objects is None:
                keys = self.nodes[n].keys  # type: ignore[union-attr]
                objects = node_objects[n] = np.fromiter(map(resolve, keys), object, len(keys))
            mask = ids == n
            gathered[mask] = objects[np.maximum(target_rows[mask], 0)]
        return self.tables.packed_rows(node_id, rows, gathered.tolist(), ref_starts.tolist(),
                                       resolve(SESSION_KEY))

    def load(self, key: ObjectKey, resolve: Callable[[ObjectKey], Any]) -> Any:
        node_id, row = split(self.where[key])
        refs = list(map(resolve, self.refs(key)))
        session = resolve(SESSION_KEY)
        if row >= 0 and self.packed_rows:
            try:
                return self.tables.packed_row(node_id, row, refs, session)
            except CorruptFileError as exc:
                raise CorruptFileError(f"{self.location(key)}: {exc}") from exc.__cause__
        if row >= 0:
            # The table was read (inside h5_errors) with its refs; decoding a row touches
            # no HDF5 object and raises only CorruptFileError, so no guard per row.
            return decode_tree(self.tables.json_row(node_id, row), refs, no_arrays, session,
                               live=self.live)
        with h5_errors(f"the state of {self.location(key)}"):
            group = self._verified_group(node_id)
            text = group.attrs[layout.STATE]
            return decode_value(text, refs, lambda n: self._array(group, n), session,
                                live=self.live)

    def _pooled(self, group: h5py.Group, columns: dict[str, np.ndarray], rows: int
                ) -> list[Any]:
        """A table's pooled arrays, read (the archive view makes them lazy instead)."""
        return read_pooled(group, columns, rows, self.progress)

    def _array(self, group: h5py.Group, name: str) -> np.ndarray:
        dataset = child_dataset(group, name)
        self.arrays_read.add(dataset.name)
        return read_array(dataset, progress=self.progress)

    def expect(self, keys: Iterable[ObjectKey]) -> None:
        """Set the progress total to the array bytes of ``keys`` (dataset headers only).

        A full restore reads every array: the root's raw-array-bytes attribute says
        how much. A partial one reads only the arrays of the nodes it restores from
        (an object node's datasets, a table's pools).
        """
        if not hasattr(self.progress, "total"):
            return
        keys = list(keys)
        places = np.fromiter(map(self.where.__getitem__, keys), np.int64, len(keys))
        nodes = np.unique(split_many(places)[0]).tolist()
        if len(nodes) == len(self.nodes):
            raw = self.file.attrs.get(layout.RAW_BYTES)
            if raw is not None:
                self.progress.total = int(raw)
                return
        self.progress.total = sum(
            _dataset_bytes(self.group(n), self.nodes[n].kind == layout.TABLE_NODE)
            for n in nodes)


def _dataset_bytes(group: h5py.Group, table: bool) -> int:
    """Raw bytes of a node's arrays (a table's: its pools), from dataset headers."""
    with h5_errors(f"the arrays of {group.name}"):
        return sum(math.prod(d.shape or ()) * d.dtype.itemsize for d in datasets(group)
                   if not table or d.name.rsplit("/", 1)[-1].startswith(layout.POOL_PREFIX))


