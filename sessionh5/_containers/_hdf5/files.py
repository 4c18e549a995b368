"""Opening HDF5 files: the one place a session file is created or opened for reading.

Every reader opens files through :func:`open_hdf5` (so every read passes the
global-heap guard) and every writer creates them through :func:`write_file`, so
options that concern the whole file live here and nowhere else.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import h5py

from ..._engine.walk import SavedSession
from ...errors import CorruptFileError, SessionError
from ..memory import memory_errors
from .compression import Compression
from .heapguard import HeapGuard
from .writer import array_bytes, encode_records, write_session

__all__ = ["H5_ERRORS", "HDF5_LIBVER", "create_options", "h5_errors", "open_hdf5", "write_file"]

HDF5_LIBVER = ("v110", "v110")  # readable by HDF5 1.10 tools; checksummed object headers
#: Bounds of the metadata block size, as powers of two: 2 KiB (HDF5's default) to 1 MiB.
MIN_META_BLOCK, MAX_META_BLOCK = 11, 20

#: Paths that reopen descriptor N where the system has them (Linux). macOS's /dev/fd/N
#: would duplicate the descriptor (its offset and write-only mode) instead of reopening.
DESCRIPTOR_PATHS = ("/proc/self/fd/{}",)

#: HDF5's words for a file shorter than its superblock says it is.
_TRUNCATED = re.compile(r"truncated file: eof = (\d+).*stored_eof = (\d+)")

#: What h5py raises on damaged structures; turned into CorruptFileError at this boundary.
H5_ERRORS = (OSError, KeyError, ValueError, TypeError, IndexError, RuntimeError)


@contextmanager
def h5_errors(where: str) -> Iterator[None]:
    """Report low-level read failures as a corrupt file, naming what was being read."""
    try:
        yield
    except SessionError:  # already says what is wrong (RestoreError is a RuntimeError too)
        raise
    except H5_ERRORS as exc:
        raise CorruptFileError(f"cannot read {where}: {exc}") from exc


@contextmanager
def open_hdf5(source: str | os.PathLike[str] | IO[bytes]) -> Iterator[h5py.File]:
    """Open a session file read-only, every read passing the global-heap guard.

    The one way sessionh5 opens files for reading, so no reader can be led into
    the HDF5 library's endless loop on a damaged heap (see heapguard.py), and a
    MemoryError while the file is open ends as a MemoryLimitError that says so.
    Groups and datasets are then reached through guard.py only.
    """
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as stream, open_hdf5(stream) as file:
            yield file
        return
    with memory_errors("the session file"):
        try:
            file = h5py.File(HeapGuard(source), "r")
        except H5_ERRORS as exc:
            raise CorruptFileError(_open_failure(exc)) from exc
        with file:
            yield file


def _open_failure(exc: Exception) -> str:
    """Why HDF5 could not open a file, in words a user can act on where we know them."""
    truncated = _TRUNCATED.search(str(exc))
    if truncated:
        have, need = map(int, truncated.groups())
        return (f"the file is cut short: it has {have:,} of the {need:,} bytes it was written "
                "with (an interrupted copy or download?)")
    return f"cannot open the HDF5 file: {exc}"


def create_options(array_bytes: int) -> dict[str, Any]:
    """The ``h5py.File`` options of every new session file, from the array bytes it will hold.

    HDF5 gathers metadata (object headers, chunk indexes, attribute heaps) into
    blocks of ``meta_block_size`` bytes, 2 KiB by default: each block is taken at
    the end of the file when the previous one is full, so metadata ends up scattered
    between array chunks and a remote ``info`` fetches one block per dataset. A
    block of about 1/256 of the array bytes (2 KiB to 1 MiB) keeps the metadata of a
    typical session in one or a few places; the unused end of the last block is the
    cost, under 0.4 % of the file (docs/performance.md has the measurements).
    """
    block = 1 << min(max((array_bytes // 256).bit_length() - 1, MIN_META_BLOCK),
                     MAX_META_BLOCK)
    return {"libver": HDF5_LIBVER, "meta_block_size": block}


def write_file(target: str | os.PathLike[str] | IO[bytes], saved: SavedSession, *,
               compress: Any, progress: Any) -> None:
    """Write ``saved`` as an HDF5 session file to a path or a binary stream.

    A regular file opened for writing at its start (``open(p, "wb")``) is written in
    place through a second descriptor of the same file, found by its path; other
    readable, seekable streams (BytesIO) are written through h5py's file-object driver.
    HDF5 reads back what it wrote, so a write-only stream that is no such file (a pipe,
    a socket), or one whose file the system will not open a second time (Windows may
    refuse), gets the file built in a scratch file, then copied.
    """
    compression = Compression.from_name(compress)
    encoded = encode_records(saved.header, saved.records)
    options = create_options(array_bytes(encoded))

    def write(file: h5py.File) -> None:
        with file:
            write_session(file, saved.header, saved.records, compression, progress,
                          saved.owners, encoded)

    if isinstance(target, (str, os.PathLike)):
        write(h5py.File(target, "w", **options))
        return
    same_file = _path_of(target)
    if same_file is not None:
        target.flush()
        try:
            reopened = h5py.File(same_file, "w", **options)
        except OSError:  # nothing written yet: take the scratch file's way below
            reopened = None
        if reopened is not None:
            write(reopened)
            target.seek(0, os.SEEK_END)  # where copying the file in would have left it
            return
    if _random_access(target):
        write(h5py.File(target, "w", **options))
        return
    with tempfile.TemporaryFile() as scratch:
        write(h5py.File(scratch, "w", **options))
        scratch.seek(0)
        shutil.copyfileobj(scratch, target, 1 << 20)


def _path_of(stream: IO[bytes]) -> str | None:
    """A path that opens the very file ``stream`` writes, if it is a regular file at 0.

    ``/proc/self/fd/N`` (Linux) or the stream's name (elsewhere, or when /proc is not
    mounted), accepted only when it leads to the same file (device and inode): a renamed
    or replaced file is never written instead, and a name relative to a folder since left
    leads nowhere.
    """
    try:
        if not stream.writable() or stream.tell() != 0:
            return None
        descriptor = stream.fileno()
        opened = os.fstat(descriptor)
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return None
    if not stat.S_ISREG(opened.st_mode):
        return None
    reopening = [template.format(descriptor) for template in DESCRIPTOR_PATHS]
    for candidate in (*reopening, getattr(stream, "name", None)):
        if not isinstance(candidate, str):
            continue
        try:
            found = os.stat(candidate)
        except OSError:
            continue
        if (found.st_dev, found.st_ino) == (opened.st_dev, opened.st_ino):
            return candidate
    return None


def _random_access(stream: IO[bytes]) -> bool:
    """True when h5py can use ``stream`` directly: readable, writable and seekable."""
    try:
        return bool(stream.readable() and stream.seekable())
    except (AttributeError, OSError, ValueError):
        return False
