"""``validate``: check a whole session file and list every problem found, without restoring.

Restoring stops at the first problem; a person repairing or triaging a file wants
them all. For HDF5 files this checks the layout against the JSON schema, the root
and node digests, every array chunk's checksum (all data is read), every object's
state text and every reference: ids in range, and HDF5 object references pointing
at the node that ``ref_nodes`` names. A stream file is decoded completely (the
stream reader checks its structure and references as it goes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

from .._containers.backends import OTHER_BYTES, detect_container, not_a_session
from .._containers.backends import Progress as ByteCounter
from .._containers.remote import Source, StorageOptions, open_source
from ..errors import SessionError
from .info import first_bytes

__all__ = ["validate"]

Progress = Callable[[int, int], None]


def validate(source: Source, *, progress: Progress | None = None,
             storage_options: StorageOptions = None) -> list[str]:
    """Every problem found in a session file, one readable line each; empty when sound.

    ``progress(done_bytes, total_bytes)`` follows the array data read (HDF5 files).
    ``source`` may be a URL; ``storage_options`` then go to fsspec.

    Raises:
        SessionError: only for bad use (not a path or a binary file); damage is reported
            in the returned list, never raised.
        OSError: the file cannot be opened.
    """
    with open_source(source, storage_options) as stream:
        try:
            first = first_bytes(stream)
        except SessionError as exc:
            return [str(exc)]
        kind = detect_container(first)
        if kind is None:
            return [str(not_a_session(OTHER_BYTES))]
        if kind == "hdf5":
            from .._containers._hdf5.checks import hdf5_problems
            from .._containers._hdf5.files import open_hdf5
            from .._containers._hdf5.header import read_header

            start = stream.tell()
            try:  # a plain HDF5 file is one problem, not a list of missing attributes
                with open_hdf5(stream) as file:
                    read_header(file)
            except SessionError as exc:  # other damage: hdf5_problems lists it all
                if "not a sessionh5 file" in str(exc):
                    return [str(exc)]
            stream.seek(start)
            return hdf5_problems(stream, ByteCounter(0, progress))
        return _validate_stream(stream)


def _validate_stream(stream: IO[bytes]) -> list[str]:
    """Decode every record; the reader refuses any structural damage on the way."""
    from .._containers._stream import read_stream
    from .._containers._stream.source import StreamSource

    try:
        content = read_stream(stream)
        StreamSource(content)
    except SessionError as exc:
        return [str(exc)]
    if content.header.session_version != 3:
        return [f"session version {content.header.session_version}; only 3 is readable"]
    return []
