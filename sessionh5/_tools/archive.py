"""A read-only view of a session file: metadata, managers, objects and lazy arrays.

Opening a big archive to look at it must cost almost nothing (issue 4): the view
reads the root attributes (digest-checked) when opened, the node index when
objects are listed, and array data only when a slice is taken, and then only the
chunks the slice touches (their checksums checked). Like ``open()`` and
``h5py.File``, :func:`open_archive` returns the open archive, to be used directly
and closed, or in a ``with`` block; arrays handed out read through it, so they
refuse clearly once it is closed. h5py is imported on first use, so
``import sessionh5`` stays light.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .._containers._hdf5.layout import tag_to_name
from .._containers.backends import detect_container
from .._containers.remote import Source, StorageOptions, open_source
from ..errors import UsageError
from .info import first_bytes

if TYPE_CHECKING:
    from .._containers._hdf5.view import ArchiveArray, OpenFile

__all__ = ["Archive", "ArchiveObject", "open_archive"]


@dataclass(frozen=True, slots=True)
class ArchiveObject:
    """One saved object: its class, ordinal, where it is stored and its manager's tag."""

    class_name: str
    ordinal: int
    location: str
    tag: str | None


class Archive:
    """A session file open read-only; get one from :func:`open_archive`.

    Use it directly and call :meth:`close`, or as a context manager. Once closed,
    the archive and the arrays taken from it raise UsageError.
    """

    def __init__(self, handle: OpenFile) -> None:
        from .._containers._hdf5.header import read_header

        self._handle = handle
        self._header = read_header(handle.file())
        self._source: Any = None

    @property
    def name(self) -> str:
        """The path, or the file object's name, the archive was opened from."""
        return self._handle.name

    @property
    def closed(self) -> bool:
        return self._handle.closed

    def close(self) -> None:
        """Close the file (and the arrays read through it); closing twice is fine."""
        self._handle.close()
        self._source = None

    def __enter__(self) -> Archive:
        self._handle.file()  # a closed archive cannot be entered again
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    @property
    def metadata(self) -> dict[str, Any]:
        """The session metadata (a copy), as ``Session.metadata`` would be after restore."""
        self._handle.file()
        return dict(self._header.metadata)

    def managers(self) -> list[str]:
        """State-manager tags, in save order."""
        self._handle.file()
        return list(self._header.attr_info)

    def objects(self, tag: str | None = None) -> list[ArchiveObject]:
        """Every saved object (or those stored under manager ``tag``), without loading any."""
        source = self._index()
        owners = {"/" + tag_to_name(t): t for t in self.managers()}
        found = []
        for key in source.keys():  # noqa: SIM118 - a RecordSource, not a dict
            location = source.location(key)
            owner = owners.get("/" + location.lstrip("/").split("/", 1)[0].split("[", 1)[0])
            if tag is None or owner == tag:
                found.append(ArchiveObject(key.class_name, key.ordinal, location, owner))
        return found

    def arrays(self, *, dask: bool = False) -> dict[str, Any]:
        """Every saved array by location (``"/maps/Volume 1/data"``), none read yet.

        Each is an array-like with ``shape``, ``dtype`` and ``chunks``; slicing it (or
        ``np.asarray``) reads only the chunks needed. With ``dask=True`` each is a
        dask array with the stored chunks. Either reads through this archive, so use
        them before closing it.
        """
        found = self._handle.arrays()
        return _as_dask(found) if dask else found

    def _index(self) -> Any:
        """The node index (read once): node paths, classes and table ordinals."""
        file = self._handle.file()
        if self._source is None:
            from .._containers._hdf5.reader import HDF5Source

            self._source = HDF5Source(file, self._header)
        return self._source

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<sessionh5.Archive {self.name} ({state})>"


def _as_dask(arrays: Mapping[str, ArchiveArray]) -> dict[str, Any]:
    try:
        import dask.array
    except ImportError as exc:
        raise UsageError("arrays(dask=True) needs dask; install it (pip install dask)") from exc
    return {loc: dask.array.from_array(array, chunks=array.chunks or array.shape, name=False)
            for loc, array in arrays.items()}


def open_archive(source: Source, *, storage_options: StorageOptions = None) -> Archive:
    """Open an HDF5 session file (a path, a URL or a readable, seekable binary file) read-only.

    Use the archive directly and :meth:`Archive.close` it, or in a ``with`` block.
    ``storage_options`` go to fsspec when ``source`` is a URL (``s3://bucket/key.h5s``).

    Raises:
        UsageError: the file is a session stream (.cxs), which has no random access.
        CorruptFileError: not a sessionh5 file, or damaged.
        FileNotFoundError: the path does not exist.
    """
    from .._containers._hdf5.files import open_hdf5
    from .._containers._hdf5.view import OpenFile

    name = _name_of(source)
    stack = ExitStack()
    try:
        # A path or URL is opened here and kept open until the archive closes.
        stream = stack.enter_context(open_source(source, storage_options))
        if detect_container(first_bytes(stream)) == "stream":
            raise UsageError(
                f"{name} is a session stream, which has no index to read parts of it from; "
                "Session.restore reads it whole, and sessionh5.convert (or `sessionh5 "
                "convert`) writes it as an HDF5 session file that open_archive can open")
        file = stack.enter_context(open_hdf5(stream))
        return Archive(OpenFile(file, name, stack.close))
    except BaseException:
        stack.close()
        raise


def _name_of(source: Source) -> str:
    """How messages and reprs name the file: its path, or the file object's name."""
    name = source if isinstance(source, (str, os.PathLike)) else getattr(source, "name", None)
    if isinstance(name, (str, bytes, os.PathLike)):
        return repr(os.fsdecode(name))
    return f"<{type(source).__name__}>"
