"""Opening HDF5 files: the one place a session file is created or opened for reading.

Every reader opens files through :func:`open_hdf5` (so every read passes the
global-heap guard) and every writer creates them through :func:`write_file`, so
options that concern the whole file live here and nowhere else.
"""

from __future__ import annotations

import os
import shutil
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
from .writer import write_session

__all__ = ["H5_ERRORS", "HDF5_LIBVER", "h5_errors", "open_hdf5", "write_file"]

HDF5_LIBVER = ("v110", "v110")  # readable by HDF5 1.10 tools; checksummed object headers

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
            raise CorruptFileError(f"cannot open the HDF5 file: {exc}") from exc
        with file:
            yield file


def write_file(target: str | os.PathLike[str] | IO[bytes], saved: SavedSession, *,
               compress: Any, progress: Any) -> None:
    """Write ``saved`` as an HDF5 session file to a path or a binary stream."""
    compression = Compression.from_name(compress)
    if isinstance(target, (str, os.PathLike)) or _random_access(target):
        with h5py.File(target, "w", libver=HDF5_LIBVER) as file:
            write_session(file, saved.header, saved.records, compression, progress,
                          saved.owners)
        return
    # HDF5 reads back what it wrote, so a write-only or unseekable stream (a file
    # opened "wb", a pipe) gets the file built in a scratch file, then copied.
    with tempfile.TemporaryFile() as scratch:
        with h5py.File(scratch, "w", libver=HDF5_LIBVER) as file:
            write_session(file, saved.header, saved.records, compression, progress,
                          saved.owners)
        scratch.seek(0)
        shutil.copyfileobj(scratch, target, 1 << 20)


def _random_access(stream: IO[bytes]) -> bool:
    """True when h5py can use ``stream`` directly: readable, writable and seekable."""
    try:
        return bool(stream.readable() and stream.seekable())
    except (AttributeError, OSError, ValueError):
        return False
