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
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .._containers._hdf5.layout import tag_to_name
from .._containers.backends import OTHER_BYTES, detect_container, not_a_session
from .._containers.remote import Source, StorageOptions, open_source
from .._engine.display import Summary, Table
from .._engine.optional import require
from ..errors import UsageError
from .info import _count_managers, _holdings, _json_value, first_bytes, format_bytes

if TYPE_CHECKING:
    from .._containers._hdf5.view import ArchiveArray, OpenFile

__all__ = ["Archive", "ArchiveObject", "close_reopened_files", "open_archive"]


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
        from .._containers._hdf5.header import manager_tags, read_header

        self._handle = handle
        self._header = read_header(handle.file())
        self._tags = manager_tags(handle.file())
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
        return list(self._tags)

    def objects(self, tag: str | None = None) -> list[ArchiveObject]:
        """Every saved object (or those stored under manager ``tag``), without loading any."""
        return [found for _, found in self._entries(tag)]

    def _entries(self, tag: str | None) -> Iterator[tuple[Any, ArchiveObject]]:
        source = self._index()
        owners = {"/" + tag_to_name(t): t for t in self.managers()}
        for key in source.keys():  # noqa: SIM118 - a RecordSource, not a dict
            location = source.location(key)
            owner = owners.get("/" + location.lstrip("/").split("/", 1)[0].split("[", 1)[0])
            if tag is None or owner == tag:
                yield key, ArchiveObject(key.class_name, key.ordinal, location, owner)

    def arrays(self, *, dask: bool = False) -> dict[str, Any]:
        """Every saved array by location, none read yet: ``"/maps/Volume 1/data"`` for an
        array stored as a dataset of its own, ``"/cells/Cell[2]/profile"`` for one of the
        small arrays (up to 256 KiB) that objects stored as table rows keep in their
        table's pools (row 2 of the table ``/cells/Cell``, its field ``profile``; listing
        those decodes the rows, but reads no pool).

        Each is an array-like with ``shape``, ``dtype`` and ``chunks``; slicing it (or
        ``np.asarray``) reads only the chunks needed. With ``dask=True`` each is a
        dask array with the stored chunks. Either reads through this archive, so use
        them before closing it. An archive opened by path or URL hands out arrays that
        pickle: in another process (a dask.distributed worker) they reopen the file, once
        per process, and read it there; :func:`close_reopened_files` closes those files.
        """
        found: dict[str, Any] = dict(self._handle.arrays())
        source = self._index()
        keys = source.pooled_keys()
        for key, row in zip(keys, source.load_many(keys, _as_pair), strict=True):
            found.update(_lazy_arrays_in(row, source.location(key)))
        return _as_dask(found) if dask else found

    def table(self, tag: str, class_name: str) -> Any:
        """The objects of one class under manager ``tag``, one row per object.

        A ``pandas.DataFrame`` when pandas is installed (a dict of columns otherwise):
        the index is the objects' ordinal, plain fields are columns, references are
        ``(class_name, ordinal)`` tuples and arrays are lazy arrays, as :meth:`arrays`
        hands out. ``class_name`` may be the full name or the last part ("Cell").
        No application class is needed.
        """
        from .._engine.optional import available

        keys = self._keys_of(tag, class_name)
        rows = list(self._index().load_many(keys, _as_pair))
        columns: dict[Any, list[Any]] = {}
        for number, row in enumerate(rows):
            fields = row if isinstance(row, dict) else {"value": row}
            for name, value in fields.items():
                columns.setdefault(name, [None] * len(rows))[number] = value
        ordinals = [key.ordinal for key in keys]
        pandas = available("pandas")
        if pandas is None:
            return {"ordinal": ordinals, **columns}
        return pandas.DataFrame(columns, index=pandas.Index(ordinals, name="ordinal"))

    def _keys_of(self, tag: str, class_name: str) -> list[Any]:
        """The keys of ``class_name``'s objects under ``tag``, in file order; a UsageError
        listing what there is when there are none."""
        if tag not in self.managers():
            raise UsageError(f"the archive has no manager {tag!r}; it has {self.managers()}")
        by_class: dict[str, list[Any]] = {}
        for key, found in self._entries(tag):
            by_class.setdefault(found.class_name, []).append(key)
        names = [n for n in by_class if class_name in (n, n.rsplit(".", 1)[-1])]
        if len(names) != 1:
            there = ", ".join(f"{n} ({len(k)})" for n, k in by_class.items()) or "nothing"
            why = "several classes have that name" if names else "no objects of that class"
            raise UsageError(f"{why} under {tag!r} ({class_name!r}); there are: {there}")
        return sorted(by_class[names[0]], key=lambda key: key.ordinal)

    def _index(self) -> Any:
        """The node index (read once): node paths, classes and table ordinals."""
        self._handle.file()
        if self._source is None:
            from .._containers._hdf5.view import ArchiveSource

            self._source = ArchiveSource(self._handle, self._header)
        return self._source

    def summary(self) -> Summary:
        """What the repr and the notebook display show (headers and attributes only)."""
        from .._containers._hdf5.inspect import manager_state, scan_nodes

        file = self._handle.file()
        nodes = scan_nodes(file)
        holds = {n.tag: _holdings(manager_state(file, n.path)) for n in nodes if n.is_manager}
        managers = _count_managers(self.managers(), nodes, holds)
        header = self._header
        facts = [("application", f"{header.app_name} (session version "
                                 f"{header.session_version})"),
                 ("metadata", ", ".join(f"{k}={_json_value(v)!r}"
                                        for k, v in header.metadata.items()))]
        tables = [Table("managers", ("tag", "objects", "classes", "holds"),
                        [(m.tag, str(m.objects),
                          ", ".join(f"{c.rsplit('.', 1)[-1]} {n}" for c, n in m.classes or ()),
                          m.holds or "") for m in managers]),
                  Table("arrays", ("location", "dtype", "shape", "raw", "stored"),
                        [(a.path, a.dtype, "x".join(map(str, a.shape)) or "scalar",
                          format_bytes(a.raw), format_bytes(a.stored))
                         for n in nodes for a in n.arrays])]
        return Summary(f"<sessionh5.Archive {self.name} (open)>", facts, tables)

    def __repr__(self) -> str:
        if self.closed:
            return f"<sessionh5.Archive {self.name} (closed)>"
        return self.summary().text()

    def _repr_html_(self) -> str:
        if self.closed:
            return Summary(f"<sessionh5.Archive {self.name} (closed)>").html()
        return self.summary().html()


def _lazy_arrays_in(value: Any, where: str) -> dict[str, Any]:
    """The pooled lazy arrays inside a decoded row, by their path below ``where``."""
    from .._containers._hdf5.view import PooledArray

    found: dict[str, Any] = {}
    pending = [(where, value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, PooledArray):
            found[path] = item
        elif isinstance(item, dict):
            pending.extend((f"{path}/{k}", v) for k, v in reversed(item.items()))
        elif isinstance(item, (list, tuple)):
            pending.extend((f"{path}/{i}", v) for i, v in reversed(list(enumerate(item))))
    return found


def _as_pair(key: Any) -> tuple[str, int]:
    """A reference in a table: the target's class name and ordinal."""
    return (key.class_name, key.ordinal)


def close_reopened_files() -> int:
    """Close the files this process reopened for unpickled archive arrays (e.g. on a dask
    worker: ``client.run(sessionh5.close_reopened_files)``); returns how many it closed.

    They are closed when the process ends anyway; an array used again reopens its file.
    """
    from .._containers._hdf5.shared import close_files

    return close_files()


def _as_dask(arrays: Mapping[str, ArchiveArray]) -> dict[str, Any]:
    da = require("dask.array", "archive.arrays(dask=True)")
    return {loc: da.from_array(array, chunks=array.chunks or array.shape, name=False)
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
    from .._containers._hdf5.shared import Origin
    from .._containers._hdf5.view import OpenFile

    name = _name_of(source)
    stack = ExitStack()
    try:
        # A path or URL is opened here and kept open until the archive closes.
        stream = stack.enter_context(open_source(source, storage_options))
        kind = detect_container(first_bytes(stream))
        if kind is None:
            raise not_a_session(OTHER_BYTES)
        if kind == "stream":
            raise UsageError(
                f"{name} is a session stream, which has no index to read parts of it from; "
                "Session.restore reads it whole, and sessionh5.convert (or `sessionh5 "
                "convert`) writes it as an HDF5 session file that open_archive can open")
        file = stack.enter_context(open_hdf5(stream))
        return Archive(OpenFile(file, name, stack.close, Origin.of(source, storage_options)))
    except BaseException:
        stack.close()
        raise


def _name_of(source: Source) -> str:
    """How messages and reprs name the file: its path, or the file object's name."""
    name = source if isinstance(source, (str, os.PathLike)) else getattr(source, "name", None)
    if isinstance(name, (str, bytes, os.PathLike)):
        return repr(os.fsdecode(name))
    return f"<{type(source).__name__}>"
