"""Choosing the container: write a walked session, open a file for restoring.

The session core sees only :class:`SavedSession` going out and a RecordSource
coming in; this module hands them to the HDF5 or the stream container and
detects which container a file is from its first bytes. It imports neither
h5py nor msgpack itself: each container is loaded when first used, so
``import sessionh5`` stays light.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any, Literal

from .._engine.records import SessionHeader
from .._engine.walk import RowFormat, SavedSession
from ..errors import CorruptFileError, UsageError
from .memory import memory_errors
from .remote import StorageOptions, open_source

__all__ = ["HDF5_SIGNATURE", "Progress", "detect_container", "not_a_session", "open_backend",
           "row_format", "write_backend"]

Target = str | os.PathLike[str] | IO[bytes]
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def not_a_session(why: str) -> CorruptFileError:
    """The one wording every reader and command uses for a file that is not ours."""
    return CorruptFileError(f"not a sessionh5 file ({why})")


#: Why an HDF5 file is not a session file: the wording of not_a_session for it.
PLAIN_HDF5 = "an HDF5 file without sessionh5's root attributes"
#: Why a file of other bytes is not one.
OTHER_BYTES = "neither an HDF5 file nor a session stream"


def detect_container(first: bytes) -> Literal["hdf5", "stream"] | None:
    """'hdf5' or 'stream' (any compression) from a file's first bytes, else None."""
    if first.startswith(HDF5_SIGNATURE):
        return "hdf5"
    if first[:2] == b"\x1f\x8b" or first[:4] == b"\x04\x22\x4d\x18" or first[:1] == b"#":
        return "stream"
    return None


class Progress:
    """Turns per-chunk byte increments into ``progress(done, total)`` calls."""

    def __init__(self, total: int, callback: Callable[[int, int], None] | None) -> None:
        self.total = total
        self.done = 0
        self.callback = callback

    def __call__(self, increment: int) -> None:
        self.done += increment
        if self.callback is not None:
            self.callback(min(self.done, self.total), self.total)

    def finish(self) -> None:
        if self.callback is not None:
            self.callback(self.total, self.total)


def row_format(format: str) -> RowFormat | None:
    """How the walker should pack small objects for ``format`` (None: plain values)."""
    if format == "stream":
        return None
    from ._hdf5.packed import PACKED_ROWS

    return PACKED_ROWS


def write_backend(target: Target, saved: SavedSession, *, format: str, compress: Any,
                  progress: Callable[[int, int], None] | None = None) -> None:
    """Write ``saved`` to a path or a writable binary stream in the chosen container."""
    if format == "hdf5":
        from ._hdf5.files import write_file

        counter = Progress(0, progress)
        write_file(target, saved, compress=compress, progress=counter)
    elif format == "stream":
        from ._stream.save import save_stream

        if compress not in ("lz4", "gzip", None):
            raise UsageError(f"compress must be 'lz4', 'gzip' or None, not {compress!r}")
        counter = Progress(0, progress)
        save_stream(target, saved, compress=compress, progress=counter)
    else:
        raise UsageError(f"format must be 'hdf5' or 'stream', not {format!r}")
    counter.finish()


def _peek(stream: IO[bytes]) -> bytes:
    try:
        start = stream.tell()
        first = stream.read(8)
        stream.seek(start)
    except (OSError, ValueError) as exc:
        raise UsageError(f"restore needs a readable, seekable binary stream: {exc}") from exc
    if not isinstance(first, bytes):
        raise UsageError("restore needs a binary stream (open the file with 'rb')")
    return first


@contextmanager
def open_backend(source: Target, *, metadata_only: bool = False,
                 progress: Callable[[int, int], None] | None = None,
                 storage_options: StorageOptions = None,
                 live: bool = False) -> Iterator[Any]:
    """Open a session file or stream (a path, a URL or a file object); yields a RecordSource.

    ``live`` is for a restore: record-only values (a stream's finalized state and
    tinyarrays, enum members) come out as the application gets them
    (``_engine.kinds.live_value``). Without it they stay as read, so conversion and
    the tools need no application class.
    """
    if isinstance(source, (str, os.PathLike)):
        with open_source(source, storage_options) as stream, \
                open_backend(stream, metadata_only=metadata_only, progress=progress,
                             live=live) as src:
            yield src
        return
    if storage_options:
        raise UsageError("storage_options apply to URLs only, not to a file object")
    first = _peek(source)
    kind = detect_container(first)
    if kind == "hdf5":
        counter = Progress(0, progress)
        with _open_hdf5(source, metadata_only, counter, live) as src:
            yield src
        if not metadata_only:
            counter.finish()
    elif kind == "stream":
        from ._stream import read_stream
        from ._stream.source import StreamSource

        compression = {b"\x1f\x8b": "gzip", b"\x04\x22": "lz4"}.get(first[:2])
        with memory_errors("the session stream"):  # all of it is in memory while restoring
            yield StreamSource(read_stream(source, metadata_only=metadata_only, live=live),
                               compression)
    elif not first:
        raise not_a_session("the file is empty")
    else:
        raise not_a_session(OTHER_BYTES)


@contextmanager
def _open_hdf5(stream: IO[bytes], metadata_only: bool, progress: Progress,
               live: bool) -> Iterator[Any]:
    from ._hdf5.files import open_hdf5
    from ._hdf5.header import read_header
    from ._hdf5.reader import HDF5Source

    with open_hdf5(stream) as file:
        header = read_header(file, live=live)
        yield _HeaderOnly(header) if metadata_only else HDF5Source(file, header, progress,
                                                                   live=live)


class _HeaderOnly:
    def __init__(self, header: SessionHeader) -> None:
        self.header = header
