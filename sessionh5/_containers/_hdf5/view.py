"""The HDF5 side of the archive view: a file that knows when it is closed, and lazy arrays.

An archive lives until ``close()`` and its arrays may be kept longer, so every
read goes through :class:`OpenFile`, which raises a UsageError once the archive is
closed (h5py would say "identifier is not of specified type"). A slice is read
chunk by chunk by read_region, through the same bounded decoders as a restore
(never HDF5's own filters), each chunk's checksum checked; a damaged chunk is named
with the elements it holds.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from typing import Any

import h5py
import numpy as np

from ..._engine.records import ObjectKey
from ...errors import CorruptFileError, UsageError
from .arrays import DTYPE_ATTR, _from_storage, index_region, read_array, read_region
from .compression import CorruptChunkError
from .files import h5_errors
from .guard import child_dataset, node_group
from .inspect import object_datasets
from .layout import TABLE_NODE
from .pools import pool_count, pool_name, pooled_places
from .reader import HDF5Source

__all__ = ["ArchiveArray", "ArchiveSource", "OpenFile", "PooledArray"]


class OpenFile:
    """An HDF5 file open for the archive view, and what to close with it."""

    def __init__(self, file: h5py.File, name: str, close: Callable[[], None],
                 origin: Any = None) -> None:
        self.name = name
        #: Where another process can reopen the file (shared.Origin), None for a file object.
        self.origin = origin
        self._file: h5py.File | None = file
        # Closes the file (and a stream opened for a path) if the archive is dropped open.
        self._finalizer = weakref.finalize(self, close)

    @property
    def closed(self) -> bool:
        return self._file is None

    def file(self) -> h5py.File:
        """The h5py file; a UsageError once the archive is closed."""
        if self._file is None:
            raise UsageError(
                f"the archive {self.name} is closed; read from it (and from its arrays) "
                "before archive.close(), or inside `with sessionh5.open_archive(...)`")
        return self._file

    def close(self) -> None:
        """Close the file; closing again does nothing."""
        self._file = None
        self._finalizer()

    def arrays(self) -> dict[str, ArchiveArray]:
        """Every array dataset of the object nodes, by location, none of them read."""
        return {path: ArchiveArray(self, dataset)
                for path, dataset in object_datasets(self.file()).items()}

    def array_at(self, group: h5py.Group, name: str) -> ArchiveArray:
        """The array ``name`` of an object node's group, as a lazy array."""
        return ArchiveArray(self, child_dataset(group, name))


class ArchiveSource(HDF5Source):
    """The archive's record source: arrays load as lazy arrays, an object node's as
    ArchiveArrays and a table's pooled ones as PooledArrays."""

    def __init__(self, owner: OpenFile, header: Any) -> None:
        super().__init__(owner.file(), header)
        self.owner = owner

    def _array(self, group: h5py.Group, name: str) -> Any:
        return self.owner.array_at(group, name)

    def _pooled(self, group: h5py.Group, columns: dict[str, np.ndarray], rows: int
                ) -> list[Any]:
        pools = [self.owner.array_at(group, pool_name(k))
                 for k in range(pool_count(group, columns))]
        if any(pool.ndim != 1 for pool in pools):
            raise CorruptFileError(f"{group.name}: a pool is not a one-dimensional array")
        places = pooled_places(group.name, columns, rows, [len(pool) for pool in pools])
        return [PooledArray(pools[k], first, tuple(shape)) for k, first, _, shape in places]

    def pooled_keys(self) -> list[ObjectKey]:
        """The keys of the rows that hold pooled arrays: the tables that have pools are read
        (their columns, not their pools); the others are not touched."""
        found: list[ObjectKey] = []
        for node_id in range(len(self.paths)):
            info = self.node(node_id)
            if info.kind == TABLE_NODE and self.tables.has_pools(node_id):
                _, bounds = self.tables.pooled(node_id)
                rows = np.flatnonzero(np.diff(bounds)).tolist() if bounds else []
                found += [info.keys[row] for row in rows]
        return found


class _Shaped:
    """What numpy-like code asks of a lazy array besides its values."""

    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]


class ArchiveArray(_Shaped):
    """One saved array, read only when sliced; ``shape`` and ``dtype`` are as saved.

    ``array[...]``, ``np.asarray(array)`` and dask read it; slices read only the
    chunks they touch. Strings and datetimes, stored as code points and integers,
    come back in their saved dtype.
    """

    def __init__(self, owner: OpenFile, dataset: h5py.Dataset) -> None:
        self._owner = owner
        self.name: str = dataset.name
        with h5_errors(f"the header of array {self.name!r}"):
            self._marker = dataset.attrs.get(DTYPE_ATTR)
            stored_shape = tuple(int(n) for n in dataset.shape)
            chunks = dataset.chunks
            empty = np.empty((0, *stored_shape[1:]), dataset.dtype) if stored_shape else \
                np.empty((), dataset.dtype)
        try:
            view = _from_storage(empty, self._marker)
        except CorruptChunkError as exc:
            raise CorruptFileError(f"array {self.name!r}: {exc}") from exc
        self.dtype: np.dtype = view.dtype
        self.shape: tuple[int, ...] = (stored_shape[:1] + view.shape[1:]) if stored_shape \
            else ()
        #: Axes stored after the array's own (the code points of a string).
        self._extra = len(stored_shape) - len(self.shape)
        self.chunks: tuple[int, ...] | None = chunks[:self.ndim] if chunks else None

    def __getitem__(self, key: Any) -> np.ndarray:
        dataset = self._dataset()
        if dataset.chunks is None:  # small: read whole, with its CRC checked
            return read_array(dataset)[key]  # type: ignore[no-any-return]
        region, picks = index_region(key, self.shape)
        region += tuple(slice(0, n) for n in dataset.shape[self.ndim:])
        stored = read_region(dataset, region, where=f" in {self._owner.name}", axes=self.ndim)
        try:
            return _from_storage(stored, self._marker)[picks]  # type: ignore[no-any-return]
        except CorruptChunkError as exc:
            raise CorruptFileError(f"array {self.name!r}: {exc}") from exc

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as where the data is: another process reopens the file (shared.py)."""
        self._owner.file()  # an array of a closed archive refuses here too
        origin = self._owner.origin
        if origin is None:
            raise UsageError(
                f"array {self.name!r} cannot leave this process: its archive "
                f"{self._owner.name} was opened from a file object, which another process "
                "cannot reopen; open the archive by path or URL (open_archive('data.h5s') or "
                "open_archive('s3://...', storage_options=...)) to compute on a cluster")
        from .shared import reopened_array

        return reopened_array, (origin, self.name)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        whole = np.asarray(self[()])  # a 0-d array's [()] is a numpy scalar
        return whole if dtype is None else whole.astype(dtype, copy=False)

    def __repr__(self) -> str:
        state = " (closed archive)" if self._owner.closed else ""
        return (f"<sessionh5 array {self.name!r} shape={self.shape} "
                f"dtype={self.dtype.str}{state}>")

    def _dataset(self) -> h5py.Dataset:
        file = self._owner.file()
        parent, _, leaf = self.name.rpartition("/")
        with h5_errors(f"array {self.name!r}"):
            return child_dataset(node_group(file, parent) if parent else file, leaf)


class PooledArray(_Shaped):
    """One array of a table row, kept in its table's pool: read (whole, at most 256 KiB)
    only when sliced; ``shape`` and ``dtype`` are as saved.

    ``name`` says where plain h5py finds it: ``pool[first:first + size]`` reshaped.
    """

    chunks = None  # read whole: dask makes it one block

    def __init__(self, pool: ArchiveArray, first: int, shape: tuple[int, ...]) -> None:
        self._pool = pool
        self._first = first
        self.shape = shape
        self.dtype: np.dtype = pool.dtype
        self.name = f"{pool.name}[{first}:{first + self.size}]"

    def __getitem__(self, key: Any) -> np.ndarray:
        return self._whole()[key]  # type: ignore[no-any-return]

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as its pool's place and this array's part of it (the pool reopens)."""
        return PooledArray, (self._pool, self._first, self.shape)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        whole = self._whole()
        return whole if dtype is None else whole.astype(dtype, copy=False)

    def _whole(self) -> np.ndarray:
        return self._pool[self._first:self._first + self.size].reshape(self.shape)

    def __repr__(self) -> str:
        state = " (closed archive)" if self._pool._owner.closed else ""
        return (f"<sessionh5 array {self.name!r} shape={self.shape} "
                f"dtype={self.dtype.str}{state}>")
