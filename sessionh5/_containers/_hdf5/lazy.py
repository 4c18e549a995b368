"""Arrays that stay in the file until asked for: the archive view's and diff's.

``sessionh5.diff`` compares sessions of many GB, and ``open_archive(...).arrays()``
hands out arrays a caller slices. Loading a record through
:class:`~sessionh5._containers._hdf5.reader.HDF5Source` reads every array whole; here
:class:`StoredArray` stand-ins take their place, whose shape and dtype come from the
dataset header and whose values are read a slice (or a bounded block of rows) at a
time, by the same checked decoders as a restore (never by HDF5's own filters).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import h5py
import numpy as np

from ...errors import CorruptFileError
from .arrays import DTYPE_ATTR, _from_storage, index_region, read_array, read_region
from .compression import TINY_NBYTES, CorruptChunkError
from .files import open_hdf5
from .guard import child_dataset
from .header import read_header
from .reader import HDF5Source

__all__ = ["LazyHDF5Source", "StoredArray", "open_lazy"]

#: Bytes of one block handed out by StoredArray.blocks: bounds the memory of a comparison.
BLOCK_BYTES = 16 << 20


class StoredArray:
    """A dataset of a session file as a read-only array that reads only what is asked for.

    Basic indexing (integers, slices, ``...``: what numpy views and dask use) reads the
    chunks it touches, ``np.asarray`` the whole array, both through read_array's own
    decoders, so a crafted chunk can neither exceed its size nor skip its checksum. The
    shape and dtype are the saved array's: strings and datetimes come back as they were
    saved, not as the uint32 code points and int64 that store them.
    """

    def __init__(self, dataset: h5py.Dataset) -> None:
        self.dataset = dataset
        self.marker = dataset.attrs.get(DTYPE_ATTR)
        stored = tuple(int(n) for n in dataset.shape)
        view = self._convert(np.empty((0, *stored[1:]) if stored else (), dataset.dtype))
        self.shape: tuple[int, ...] = (stored[0], *view.shape[1:]) if stored else ()
        self.dtype: np.dtype = view.dtype

    @property
    def name(self) -> str:
        """Where the array is in the file: ``/maps/Volume 1/data``."""
        return str(self.dataset.name)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def chunks(self) -> tuple[int, ...] | None:
        """The stored chunk shape over the array's own axes (None: not chunked)."""
        chunks = self.dataset.chunks
        return None if chunks is None else tuple(chunks[:self.ndim])

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __getitem__(self, key: Any) -> Any:
        if self.dataset.chunks is None:  # small, contiguous: read whole, its CRC checked
            return self._convert(read_array(self.dataset))[key]
        region, picks = index_region(key, self.shape)
        extra = tuple(slice(0, n) for n in self.dataset.shape[self.ndim:])
        return self._convert(read_region(self.dataset, region + extra))[picks]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        whole = self[()] if self.ndim else np.asarray(self[()])
        return whole if dtype is None else whole.astype(dtype, copy=False)

    def block_rows(self) -> int:
        """Rows per block: within BLOCK_BYTES, a whole number of chunk rows when possible."""
        row_bytes = max(1, self.size // max(1, self.shape[0]) * self.dtype.itemsize)
        rows = max(1, BLOCK_BYTES // row_bytes)
        chunk_rows = (self.dataset.chunks or (1,))[0]
        return rows - rows % chunk_rows if rows >= chunk_rows else rows

    def blocks(self, rows: int) -> Iterator[np.ndarray]:
        """The array in consecutive blocks of ``rows`` rows along the first axis."""
        for start in range(0, self.shape[0], rows):
            yield self[start:start + rows]

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
        item = child_dataset(group, name)
        if item.ndim == 0 or item.chunks is None or item.nbytes <= TINY_NBYTES:
            return read_array(item)
        return StoredArray(item)


@contextmanager
def open_lazy(stream: IO[bytes]) -> Iterator[LazyHDF5Source]:
    """Open an HDF5 session file as a LazyHDF5Source (closed on exit)."""
    with open_hdf5(stream) as file:
        yield LazyHDF5Source(file, read_header(file))
