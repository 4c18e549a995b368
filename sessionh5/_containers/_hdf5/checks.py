"""Every check ``validate`` makes on an HDF5 session file, each problem as one line.

A restore stops at the first problem; a person repairing or triaging a file wants
them all: the layout against its JSON schema, the root and node digests, every
array chunk's checksum (all data is read), every object's state and every
reference (ids in range, and HDF5 object references pointing at the node that
``ref_nodes`` names).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO, Any

import h5py
import numpy as np

from ...errors import CorruptFileError, SessionError
from . import layout
from .arrays import read_addresses, read_array
from .files import H5_ERRORS, open_hdf5
from .guard import child_dataset, members, not_followed
from .header import read_header
from .reader import HDF5Source
from .schema import schema_problems
from .tables import column

__all__ = ["hdf5_problems"]


def hdf5_problems(stream: IO[bytes], progress: Any) -> list[str]:
    """Every problem in an HDF5 session file; ``progress`` follows the array bytes read."""
    try:
        with open_hdf5(stream) as file:
            problems = _file_problems(file, progress)
    except CorruptFileError as exc:  # the file cannot even be opened
        return [str(exc)]
    progress.finish()
    return problems


def _file_problems(file: h5py.File, progress: Any) -> list[str]:
    problems = [f"schema: {p}" for p in _guarded(lambda: schema_problems(file), H5_ERRORS)]
    try:
        source = HDF5Source(file, read_header(file), progress)
    except (SessionError, *H5_ERRORS) as exc:
        return [*problems, str(exc)]
    progress.total = int(file.attrs.get(layout.RAW_BYTES, 0))
    return problems + _node_problems(source)


def _guarded(check: Callable[[], list[str]], errors: tuple[type[Exception], ...]) -> list[str]:
    """Run one check; an exception it raises is itself a problem (the file is too damaged)."""
    try:
        return check()
    except (SessionError, *errors) as exc:
        return [str(exc)]


def _node_problems(source: Any) -> list[str]:
    """Per object: digest and ids, state and arrays; then HDF5 references and all datasets."""
    problems: list[str] = []
    for node in source.nodes:
        problems += _table_problems(source, node.keys)
    nodes = np.array([h5py.h5o.get_info(source.group(n).id).addr
                      for n in range(len(source.paths))], np.uint64)
    for node_id in range(len(source.paths)):
        problems += _guarded(lambda n=node_id: list(_reference_problems(source, n, nodes)),
                             H5_ERRORS)
    problems += _guarded(lambda: list(_dataset_problems(source)), H5_ERRORS)
    # A bad table fails each of its rows alike: one line each.
    return list(dict.fromkeys(problems))


def _table_problems(source: Any, keys: list[Any]) -> list[str]:
    """One node's objects loaded together as a restore loads them (rows in bulk); a
    node that fails is loaded again object by object, so each problem is named."""
    try:
        for _ in source.load_many(keys, _unresolved):
            pass
    except (SessionError, *H5_ERRORS):
        return [p for key in keys for p in _key_problems(source, key, H5_ERRORS)]
    return []


def _key_problems(source: Any, key: Any, errors: tuple[type[Exception], ...]) -> list[str]:
    """Load one object as a restore would (digest, reference ids, state, arrays)."""
    try:
        source.refs(key)
        source.load(key, _unresolved)
    except (SessionError, *errors) as exc:
        return [str(exc)]
    return []


def _unresolved(_: Any) -> None:
    """References are checked by id; validation builds no objects."""


def _reference_problems(source: Any, node_id: int, nodes: np.ndarray) -> Iterator[str]:
    """HDF5 object references must point at the node their ``ref_nodes`` entry names.

    References are compared as the file addresses they hold with ``nodes``, the
    addresses of the node groups by node id: none is followed, and a reference column
    is decoded by our own bounded decoders (arrays.read_addresses), never by HDF5's
    filters.
    """
    group = source.group(node_id)
    path = source.paths[node_id]
    if group.attrs.get(layout.NODE_KIND) == layout.TABLE_NODE:
        addresses = read_addresses(child_dataset(group, layout.T_REFS))
        ids = column(group, layout.T_REF_NODES)
    elif layout.REFS in group.attrs:
        attr = group.attrs.get_id(layout.REFS)
        addresses = np.zeros(attr.shape or (), np.uint64)
        attr.read(addresses, mtype=h5py.h5t.STD_REF_OBJ)
        ids = np.asarray(group.attrs[layout.REF_NODES])
    else:
        return
    addresses, ids = addresses.reshape(-1), ids.reshape(-1)
    if len(addresses) != len(ids) or ids.dtype.kind not in "iu":
        yield f"{path}: {len(addresses)} object references but {len(ids)} reference ids"
        return
    known = (ids >= 0) & (ids < len(nodes))
    expected = np.where(known, nodes[np.where(known, ids, 0)], np.uint64(0))
    paths = {int(a): p for a, p in zip(nodes.tolist(), source.paths, strict=True)}
    for i in np.flatnonzero((addresses != expected) | ~known).tolist():
        address, node = int(addresses[i]), int(ids[i])
        target = paths.get(address, f"an object at address {address:#x}") if address else None
        named = source.paths[node] if known[i] else None
        yield (f"{path}: reference {i} points at {target}, but its id names node {node} "
               f"({named})")


def _dataset_problems(source: Any) -> Iterator[str]:
    """Read the datasets no object's state read, so unreferenced arrays are checked too."""
    for node_id, path in enumerate(source.paths):
        group = source.group(node_id)
        if group.attrs.get(layout.NODE_KIND) != layout.OBJECT_NODE:
            continue
        for name, kind in members(group):
            if kind == "dataset":
                if f"{path}/{name}" in source.arrays_read:
                    continue
                try:
                    read_array(child_dataset(group, name))
                except SessionError as exc:
                    yield str(exc)
            elif kind == "group" and path + "/" + name not in source.paths:
                yield f"{path}/{name} is a group that no node list entry names"
            elif kind not in ("group", "other"):
                yield str(not_followed(f"{path}/{name}", kind, "an array"))

