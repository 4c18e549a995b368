"""Records whose large arrays stay in the file: read block by block when compared.

``sessionh5.diff`` compares sessions of many GB. Loading a record through
:class:`~sessionh5._containers._hdf5.reader.HDF5Source` reads every array whole; this source
hands out :class:`StoredArray` stand-ins instead, whose shape and dtype come from
the dataset header and whose values are read a bounded block of rows at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import h5py
import numpy as np

from ...errors import CorruptFileError
from .arrays import DTYPE_ATTR, _from_storage, read_array
from .compression import TINY_NBYTES, CorruptChunkError
from .files import H5_ERRORS, open_hdf5
from .header import read_header
from .reader import HDF5Source

__all__ = ["LazyHDF5Source", "StoredArray", "open_lazy"]

#: Bytes of one block handed out by StoredArray.blocks: bounds the memory of a comparison.
BLOCK_BYTES = 16 << 20


class StoredArray:
    """An array dataset standing in for its value; ``blocks`` reads it part by part."""

    def __init__(self, dataset: h5py.Dataset) -> None:
        self.dataset = dataset
        self.marker = dataset.attrs.get(DTYPE_ATTR)
        empty = np.empty((0, *dataset.shape[1:]), dataset.dtype)
        view = self._convert(empty)
        self.shape: tuple[int, ...] = (int(dataset.shape[0]), *view.shape[1:])
        self.dtype: np.dtype = view.dtype

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def block_rows(self) -> int:
        """Rows per block: within BLOCK_BYTES, a whole number of chunk rows when possible."""
        row_bytes = max(1, self.size // max(1, self.shape[0]) * self.dtype.itemsize)
        rows = max(1, BLOCK_BYTES // row_bytes)
        chunk_rows = (self.dataset.chunks or (1,))[0]
        return rows - rows % chunk_rows if rows >= chunk_rows else rows

    def blocks(self, rows: int) -> Iterator[np.ndarray]:
        """The array in consecutive blocks of ``rows`` rows along the first axis."""
        for start in range(0, self.shape[0], rows):
            try:
                stored = self.dataset[start:start + rows]
            except H5_ERRORS as exc:
                raise CorruptFileError(f"array {self.dataset.name!r} is unreadable: {exc}") \
                    from exc
            yield self._convert(stored)

    def _convert(self, stored: np.ndarray) -> np.ndarray:
        try:
            return _from_storage(stored, self.marker)
        except CorruptChunkError as exc:
            raise CorruptFileError(f"array {self.dataset.name!r}: {exc}") from exc

    def __repr__(self) -> str:
        return f"StoredArray({self.dataset.name!r}, shape={self.shape}, dtype={self.dtype.str})"


class LazyHDF5Source(HDF5Source):
    """An HDF5Source whose records hold StoredArray stand-ins for all but tiny arrays."""

    def _array(self, group: h5py.Group, name: str) -> Any:
        item = group.get(name)
        if not isinstance(item, h5py.Dataset):
            raise CorruptFileError(f"{group.name} has no dataset {name!r}")
        if item.ndim == 0 or item.chunks is None or item.nbytes <= TINY_NBYTES:
            return read_array(item)
        return StoredArray(item)


@contextmanager
def open_lazy(stream: IO[bytes]) -> Iterator[LazyHDF5Source]:
    """Open an HDF5 session file as a LazyHDF5Source (closed on exit)."""
    with open_hdf5(stream) as file:
        yield LazyHDF5Source(file, read_header(file))
