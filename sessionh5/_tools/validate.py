"""``validate``: check a whole session file and list every problem found, without restoring.

Restoring stops at the first problem; a person repairing or triaging a file wants
them all. For HDF5 files this checks the layout against the JSON schema, the root
and node digests, every array chunk's checksum (all data is read), every object's
state text and every reference: ids in range, and HDF5 object references pointing
at the node that ``ref_nodes`` names. A stream file is decoded completely (the
stream reader checks its structure and references as it goes).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import IO, Any

from .._containers.backends import HDF5_SIGNATURE, StreamSource, _Progress
from ..errors import SessionError
from .info import first_bytes, open_input

__all__ = ["validate"]

Source = str | os.PathLike[str] | IO[bytes]
Progress = Callable[[int, int], None]


def validate(source: Source, *, progress: Progress | None = None) -> list[str]:
    """Every problem found in a session file, one readable line each; empty when sound.

    ``progress(done_bytes, total_bytes)`` follows the array data read (HDF5 files).

    Raises:
        SessionError: only for bad use (not a path or a binary file); damage is reported
            in the returned list, never raised.
        OSError: the file cannot be opened.
    """
    with open_input(source) as stream:
        try:
            first = first_bytes(stream)
        except SessionError as exc:
            return [str(exc)]
        if first.startswith(HDF5_SIGNATURE):
            return _validate_hdf5(stream, _Progress(0, progress))
        return _validate_stream(stream)


def _validate_stream(stream: IO[bytes]) -> list[str]:
    """Decode every record; the reader refuses any structural damage on the way."""
    from .._containers._stream import read_stream

    try:
        content = read_stream(stream)
        StreamSource(content)
    except SessionError as exc:
        return [str(exc)]
    if content.header.session_version != 3:
        return [f"session version {content.header.session_version}; only 3 is readable"]
    return []


def _validate_hdf5(stream: IO[bytes], progress: _Progress) -> list[str]:
    import h5py

    from .._containers._hdf5 import layout
    from .._containers._hdf5.heapguard import HeapGuard
    from .._containers._hdf5.reader import H5_ERRORS, HDF5Source, read_header
    from .schema import schema_problems

    try:
        file = h5py.File(HeapGuard(stream), "r")
    except H5_ERRORS as exc:
        return [f"cannot open the HDF5 file: {exc}"]
    with file:
        problems = [f"schema: {p}" for p in _guarded(lambda: schema_problems(file), H5_ERRORS)]
        try:
            source = HDF5Source(file, read_header(file), progress)
        except (SessionError, *H5_ERRORS) as exc:
            return [*problems, str(exc)]
        progress.total = int(file.attrs.get(layout.RAW_BYTES, 0))
        problems += _node_problems(source)
    progress.finish()
    return problems


def _guarded(check: Callable[[], list[str]], errors: tuple[type[Exception], ...]) -> list[str]:
    """Run one check; an exception it raises is itself a problem (the file is too damaged)."""
    try:
        return check()
    except (SessionError, *errors) as exc:
        return [str(exc)]


def _node_problems(source: Any) -> list[str]:
    """Per object: digest and ids, state and arrays; then HDF5 references and all datasets."""
    from .._containers._hdf5.reader import H5_ERRORS

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
    from .._containers._hdf5 import layout

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
    import h5py

    from .._containers._hdf5 import layout
    from .._containers._hdf5.arrays import read_array

    for node_id, path in enumerate(source.paths):
        group = source.group(node_id)
        if group.attrs.get(layout.NODE_KIND) != layout.OBJECT_NODE:
            continue
        for name, item in group.items():
            if isinstance(item, h5py.Dataset):
                if item.name in source.arrays_read:
                    continue
                try:
                    read_array(item)
                except SessionError as exc:
                    yield str(exc)
            elif path + "/" + name not in source.paths:
                yield f"{path}/{name} is a group that no node list entry names"

