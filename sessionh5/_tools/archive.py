"""A read-only view of a session file: metadata, managers, objects and lazy arrays.

Opening a big archive to look at it must cost almost nothing (issue 4): the view
reads the root attributes (digest-checked) when opened, the node index when
objects are listed, and array data only when a slice is taken; an h5py dataset
reads just the chunks a slice touches (and checks their Fletcher32 sums).
h5py is imported on first use, as in _backends, so ``import sessionh5`` stays light.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

from .._containers._hdf5.layout import tag_to_name
from ..errors import UsageError

__all__ = ["Archive", "ArchiveObject", "open_archive"]

Source = str | os.PathLike[str] | IO[bytes]


@dataclass(frozen=True, slots=True)
class ArchiveObject:
    """One saved object: its class, ordinal, where it is stored and its manager's tag."""

    class_name: str
    ordinal: int
    location: str
    tag: str | None


class Archive:
    """An open session file, read-only; get one from :func:`open_archive`."""

    def __init__(self, file: Any) -> None:
        from .._containers._hdf5.header import read_header

        self._file = file
        self._header = read_header(file)
        self._source: Any = None

    @property
    def metadata(self) -> dict[str, Any]:
        """The session metadata (a copy), as ``Session.metadata`` would be after restore."""
        return dict(self._header.metadata)

    def managers(self) -> list[str]:
        """State-manager tags, in save order."""
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
        """Array datasets by location (``"/maps/Volume 1/data"``), not read until sliced.

        With ``dask=True`` each is a dask array with the dataset's chunks. Strings
        (``U``) are stored as uint32 code points on an extra last axis and datetimes
        as int64; the dataset attribute ``sessionh5-numpy-dtype`` names the dtype.
        """
        from .._containers._hdf5.inspect import object_datasets

        found = object_datasets(self._file)
        return _as_dask(found) if dask else found

    def _index(self) -> Any:
        """The node index (read once): node paths, classes and table ordinals."""
        if self._source is None:
            from .._containers._hdf5.reader import HDF5Source

            self._source = HDF5Source(self._file, self._header)
        return self._source


def _as_dask(datasets: Mapping[str, Any]) -> dict[str, Any]:
    try:
        import dask.array
    except ImportError as exc:
        raise UsageError("arrays(dask=True) needs dask; install it (pip install dask)") from exc
    return {loc: dask.array.from_array(ds, chunks=ds.chunks or ds.shape, name=False)
            for loc, ds in datasets.items()}


@contextmanager
def open_archive(source: Source) -> Iterator[Archive]:
    """Open a session file (a path or a readable, seekable binary file) read-only.

    Raises:
        CorruptFileError: not an HDF5 session file (streams have no random access).
    """
    from .._containers._hdf5.files import open_hdf5

    with open_hdf5(source) as file:
        yield Archive(file)
