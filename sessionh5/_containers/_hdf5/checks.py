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

from ...errors import CorruptFileError, SessionError
from . import layout
from .arrays import read_array
from .files import H5_ERRORS, open_hdf5
from .guard import child_dataset, members, not_followed
from .header import read_header
from .reader import HDF5Source
from .schema import schema_problems

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
    for key in source.keys():  # noqa: SIM118 - a RecordSource, not a dict
        problems += _key_problems(source, key, H5_ERRORS)
    for node_id in range(len(source.paths)):
        problems += _guarded(lambda n=node_id: list(_reference_problems(source, n)), H5_ERRORS)
    problems += _guarded(lambda: list(_dataset_problems(source)), H5_ERRORS)
    # A bad table fails each of its rows alike: one line each.
    return list(dict.fromkeys(problems))


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


def _reference_problems(source: Any, node_id: int) -> Iterator[str]:
    """HDF5 object references must point at the node their ``ref_nodes`` entry names."""
    group = source.group(node_id)
    path = source.paths[node_id]
    if group.attrs.get(layout.NODE_KIND) == layout.TABLE_NODE:
        refs, ids = group[layout.T_REFS][()], group[layout.T_REF_NODES][()]
    elif layout.REFS in group.attrs:
        refs, ids = group.attrs[layout.REFS], group.attrs[layout.REF_NODES]
    else:
        return
    if len(refs) != len(ids):
        yield f"{path}: {len(refs)} object references but {len(ids)} reference ids"
        return
    for i, (ref, node) in enumerate(zip(refs, ids, strict=True)):
        target = source.file[ref].name if ref else None
        expected = source.paths[int(node)] if 0 <= int(node) < len(source.paths) else None
        if target != expected:
            yield (f"{path}: reference {i} points at {target}, but its id names node "
                   f"{int(node)} ({expected})")


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

