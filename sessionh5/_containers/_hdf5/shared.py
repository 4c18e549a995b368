"""Lazy arrays that travel: their file reopened once per process, by path or URL.

A dask array made from an archive's arrays is computed wherever the scheduler
sends its chunks: on a ``dask.distributed`` cluster, in other processes. An h5py
dataset cannot be pickled, so an :class:`~.view.ArchiveArray` pickles as *where*
its data is (the path or URL it was opened from, the storage options, the
dataset's name), and the process that unpickles it reopens the file through the
same opening functions as ``open_archive`` (heap guard, header and digest check).
Each process keeps one open file per (source, storage options), so a worker that
computes a thousand chunks opens the file once; :func:`close_files` closes them,
and so does the end of the process. An archive opened from a file object has no
such address, so its arrays refuse to be pickled and say why.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from ..remote import StorageOptions, open_source
from .files import h5_errors, open_hdf5
from .guard import child_dataset, node_group
from .header import read_header
from .view import ArchiveArray, OpenFile

__all__ = ["Origin", "close_files", "open_count", "reopened_array", "shared_file"]


@dataclass(frozen=True)
class Origin:
    """Where an archive was opened from: a path or URL and the storage options for it."""

    source: str
    storage_options: dict[str, Any] | None = field(default=None, compare=False)

    @classmethod
    def of(cls, source: Any, storage_options: StorageOptions) -> Origin | None:
        """The origin of a path or URL; None for a file object (it cannot be reopened)."""
        if not isinstance(source, (str, os.PathLike)):
            return None
        name = os.fspath(source)
        if isinstance(name, bytes):
            name = os.fsdecode(name)
        if "://" not in name:
            name = os.path.abspath(name)  # the same file from any working directory
        return cls(name, dict(storage_options) if storage_options else None)

    @property
    def key(self) -> tuple[str, str]:
        """What identifies one open file: the source and the options, as text."""
        options = json.dumps(self.storage_options or {}, sort_keys=True, default=repr)
        return self.source, options


_lock = threading.Lock()
_files: dict[tuple[str, str], OpenFile] = {}
_opened: Counter[str] = Counter()


def shared_file(origin: Origin) -> OpenFile:
    """This process's open file for ``origin``, opened on first use."""
    with _lock:
        found = _files.get(origin.key)
        if found is None or found.closed:
            found = _files[origin.key] = _open(origin)
            _opened[origin.source] += 1
        return found


def _open(origin: Origin) -> OpenFile:
    stack = ExitStack()
    try:
        stream = stack.enter_context(open_source(origin.source, origin.storage_options))
        file = stack.enter_context(open_hdf5(stream))
        read_header(file)  # a sessionh5 file whose root digest holds, as open_archive checks
        return OpenFile(file, repr(origin.source), stack.close, origin)
    except BaseException:
        stack.close()
        raise


class _Reopened:
    """What unpickled arrays read through: this process's file for their origin, reopened
    when :func:`close_files` closed it (so a kept array stays usable)."""

    closed = False

    def __init__(self, origin: Origin) -> None:
        self.origin = origin
        self.name = repr(origin.source)

    def file(self) -> Any:
        return shared_file(self.origin).file()


def reopened_array(origin: Origin, name: str) -> ArchiveArray:
    """The array ``name`` of the file at ``origin``, read through this process's open file."""
    owner = _Reopened(origin)
    file = owner.file()
    parent, _, leaf = name.rpartition("/")
    with h5_errors(f"array {name!r}"):
        dataset = child_dataset(node_group(file, parent) if parent else file, leaf)
    return ArchiveArray(owner, dataset)  # type: ignore[arg-type]


def open_count(source: str) -> int:
    """How many times this process opened ``source`` for unpickled arrays (tests count it)."""
    with _lock:
        return _opened[source]


def close_files() -> int:
    """Close every file this process reopened for arrays; returns how many were open."""
    with _lock:
        files = list(_files.values())
        _files.clear()
    for file in files:
        file.close()
    return len(files)


atexit.register(close_files)
