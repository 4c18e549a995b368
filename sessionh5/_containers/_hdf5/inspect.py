"""What a session file holds, from HDF5 metadata alone: node attributes and dataset headers.

``sessionh5 info`` and ``sessionh5 ls`` must be fast on files of many GB and over
slow remote reads, so nothing here reads dataset values: a table's row count is the
``ordinal`` dataset's shape and an array's stored size is
``dataset.id.get_storage_size()``, both answered from object headers.
"""

from __future__ import annotations

from dataclasses import dataclass

import h5py
import numpy as np

from ..._engine.decoding import decode_value
from ..._engine.records import ObjectKey
from .files import h5_errors
from .guard import child_dataset, datasets, node_group
from .header import strings as _strings
from .header import text as _text
from .layout import (
    CLASS,
    FILTERS,
    LAYOUT,
    MANAGERS,
    NODE_KIND,
    NODES,
    OBJECT_NODE,
    ORDINAL,
    POOL_PREFIX,
    RAW_BYTES,
    REF_NODES,
    STATE,
    T_ORDINAL,
    TABLE_NODE,
    UNOWNED,
    tag_to_name,
)

__all__ = ["ArrayEntry", "NodeEntry", "RootFacts", "manager_state", "object_datasets",
           "read_root_facts", "scan_nodes"]


@dataclass(frozen=True, slots=True)
class ArrayEntry:
    """One array dataset: where it is, its shape and dtype, its stored and raw bytes."""

    name: str
    path: str
    shape: tuple[int, ...]
    dtype: str
    stored: int
    raw: int


@dataclass(frozen=True, slots=True)
class NodeEntry:
    """One object node (ordinal set) or table node (``rows`` objects), with its arrays."""

    path: str
    kind: str
    class_name: str
    tag: str | None
    ordinal: int | None
    rows: int
    arrays: tuple[ArrayEntry, ...]
    is_manager: bool


@dataclass(frozen=True, slots=True)
class RootFacts:
    """Root attributes that are about the file rather than the session."""

    layout_version: int
    filters_needed: tuple[str, ...]
    raw_array_bytes: int | None


def read_root_facts(file: h5py.File) -> RootFacts:
    """Layout version, filters needed and raw array bytes, from root attributes only."""
    with h5_errors("the root attributes"):
        attrs = file.attrs
        raw = int(attrs[RAW_BYTES]) if RAW_BYTES in attrs else None
        return RootFacts(int(attrs[LAYOUT]), tuple(_strings(attrs, FILTERS)), raw)


def scan_nodes(file: h5py.File) -> list[NodeEntry]:
    """Every node of the root node list, in node-id order, with its own array datasets."""
    with h5_errors("the node index"):
        paths = _strings(file.attrs, NODES)
        tags = {tag_to_name(t): t for t in _strings(file.attrs, MANAGERS)}
    return [_node(file, path, tags) for path in paths]


def _node(file: h5py.File, path: str, tags: dict[str, str]) -> NodeEntry:
    with h5_errors(path):
        group = node_group(file, path)
        attrs = group.attrs
        kind = _text(attrs[NODE_KIND])
        top = path.strip("/").split("/", 1)[0]
        tag = tags.get(top) if top != UNOWNED else None
        found = datasets(group)  # checked even where only their headers are shown
        if kind == TABLE_NODE:
            rows = int(child_dataset(group, T_ORDINAL).shape[0])
            return NodeEntry(path, kind, _text(attrs[CLASS]), tag, None, rows,
                             _pools(found), False)
        arrays = tuple(_array(d.name.rsplit("/", 1)[-1], d) for d in found)
        ordinal = int(attrs[ORDINAL]) if ORDINAL in attrs else None
        return NodeEntry(path, kind, _text(attrs[CLASS]), tag, ordinal, 1, arrays,
                         path.count("/") == 1 and top in tags)


def _pools(found: list[h5py.Dataset]) -> tuple[ArrayEntry, ...]:
    """A table's array pools (layout 3), which hold the arrays of its rows, in pool order."""
    pools = {d.name.rsplit("/", 1)[-1]: d for d in found}
    entries = []
    while (name := f"{POOL_PREFIX}{len(entries)}") in pools:
        entries.append(_array(name, pools[name]))
    return tuple(entries)


def _array(name: str, dataset: h5py.Dataset) -> ArrayEntry:
    """Sizes from the dataset header: storage size is allocated bytes, raw is shape x itemsize."""
    shape = tuple(int(n) for n in dataset.shape)
    raw = int(np.prod(shape, dtype=np.int64)) * dataset.dtype.itemsize
    return ArrayEntry(name, dataset.name, shape, str(dataset.dtype),
                      int(dataset.id.get_storage_size()), raw)


def object_datasets(file: h5py.File) -> dict[str, h5py.Dataset]:
    """Every array dataset of the object nodes, by location; no dataset value is read."""
    found: dict[str, h5py.Dataset] = {}
    for path in _strings(file.attrs, NODES):  # node kinds only: no table column is read
        with h5_errors(path):
            group = node_group(file, path)
            if _text(group.attrs.get(NODE_KIND, "")) != OBJECT_NODE:
                continue
            for item in datasets(group):
                found[item.name] = item
    return found


#: Stands for each reference in a manager's state read by manager_state.
REFERENCE = ObjectKey("(reference)", 0)


def manager_state(file: h5py.File, path: str) -> object:
    """A manager node's own state, from its attributes only: arrays stand as their
    ArrayEntry (no value read) and references as REFERENCE."""
    with h5_errors(f"the state of {path}"):
        group = node_group(file, path)
        attrs = group.attrs
        count = len(np.atleast_1d(attrs[REF_NODES])) if REF_NODES in attrs else 0

        def header(name: str) -> ArrayEntry:
            return _array(name, child_dataset(group, name))

        return decode_value(attrs[STATE], [REFERENCE] * count, header)  # type: ignore[arg-type]
