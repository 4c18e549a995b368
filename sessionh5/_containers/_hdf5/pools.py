"""The arrays of a table's rows, kept together in pools (layout 3).

An object whose arrays are small is a table row like any small object: each of
its arrays goes to the pool of its dtype, a dataset holding the elements of all
the table's arrays of that dtype back to back, and an index (pool, first element,
shape) per array tells them apart. So 20,000 objects with a 1,200-byte array each
are one table with one pool, not 20,000 HDF5 groups (each of which costs ~1 ms to
write and to read), and plain h5py reads every array with its shape and dtype:
``pool[offset:offset + size].reshape(shape)``. See docs/format.md, "Array pools".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import h5py
import numpy as np
from numpy.lib.format import drop_metadata

from ...errors import CorruptFileError
from . import layout
from .arrays import check_allocation, read_array
from .guard import child_dataset, link_kind

__all__ = ["MAX_DIMS", "pool_columns", "pool_count", "pool_name", "pooled_places",
           "read_pooled"]

#: Dimensions an array may have (numpy allows 64; a file must not choose more).
MAX_DIMS = 32


def pool_name(k: int) -> str:
    return f"{layout.POOL_PREFIX}{k}"


def pool_columns(per_row: list[list[np.ndarray]]
                 ) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    """The index columns and the pools of rows holding ``per_row[i]`` arrays each.

    Pools are numbered by the first appearance of their dtype, and every pool's
    arrays follow each other in row order, so offsets are running sums of sizes.
    """
    counts = np.fromiter(map(len, per_row), np.int64, len(per_row))
    arrays = [a for row in per_row for a in row]
    kinds: dict[np.dtype, int] = {}
    pool_of = np.fromiter((kinds.setdefault(a.dtype, len(kinds)) for a in arrays), np.int64,
                          len(arrays))
    sizes = np.fromiter((a.size for a in arrays), np.int64, len(arrays))
    ndims = np.fromiter((a.ndim for a in arrays), np.int64, len(arrays))
    shapes = np.fromiter((n for a in arrays for n in a.shape), np.int64, int(ndims.sum()))
    offsets = np.zeros(len(arrays), np.int64)
    pools = []
    for k, dtype in enumerate(kinds):
        members = np.flatnonzero(pool_of == k)
        offsets[members] = _starts(sizes[members])[:-1]
        pools.append(np.concatenate([arrays[j].reshape(-1) for j in members.tolist()])
                     .astype(dtype, copy=False))
    columns = {
        layout.T_ARRAY_START: _starts(counts),
        layout.T_ARRAY_POOL: pool_of,
        layout.T_ARRAY_OFFSET: offsets,
        layout.T_ARRAY_SHAPE_START: _starts(ndims),
        layout.T_ARRAY_SHAPE: shapes,
    }
    return columns, pools


def _starts(counts: np.ndarray) -> np.ndarray:
    """[0, c0, c0 + c1, ...]: entry i spans ``start[i]:start[i + 1]``."""
    start = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=start[1:])
    return start


def read_pooled(group: h5py.Group, columns: dict[str, np.ndarray], rows: int,
                progress: Callable[[int], None] | None = None) -> list[np.ndarray]:
    """Every pooled array of a table, in index order, each a new array of its own.

    The index is checked (:func:`pooled_places`) against the pools' declared lengths
    before any pool is read.
    """
    found = [child_dataset(group, pool_name(k)) for k in range(pool_count(group, columns))]
    places = pooled_places(group.name, columns, rows, [_length(d) for d in found])
    pools = [_pool(group, d, progress) for d in found]
    return [pools[k][first:first + size].reshape(shape).copy()
            for k, first, size, shape in places]


def _length(dataset: h5py.Dataset) -> int:
    """A pool's element count from its header ('U' pools have a trailing axis)."""
    if dataset.ndim not in (1, 2):
        raise CorruptFileError(f"pool {dataset.name!r} is not a one-dimensional array")
    return int(dataset.shape[0])


def pool_count(group: h5py.Group, columns: dict[str, np.ndarray]) -> int:
    """How many pools a table's index names, each checked to exist (none is read)."""
    pool_of = columns[layout.T_ARRAY_POOL]
    if not len(pool_of):
        return 0
    if pool_of.min() < 0 or not _has(group, pool_name(int(pool_of.max()))):
        raise CorruptFileError(f"{group.name}: an array names a pool that does not exist")
    return int(pool_of.max()) + 1


def pooled_places(path: str, columns: dict[str, np.ndarray], rows: int,
                  pool_lengths: list[int]) -> list[tuple[int, int, int, list[int]]]:
    """(pool, first element, size, shape) of every pooled array of a table, in index order.

    The index is checked against the pools' lengths, before any pool is read: every
    array lies inside its pool, the arrays of a pool follow each other without gaps
    or overlaps and fill it, and no shape claims more elements than its pool holds
    (issue 14: a file's declared sizes bound everything read).
    """
    start, pool_of = columns[layout.T_ARRAY_START], columns[layout.T_ARRAY_POOL]
    offsets = columns[layout.T_ARRAY_OFFSET]
    shape_start, dims = columns[layout.T_ARRAY_SHAPE_START], columns[layout.T_ARRAY_SHAPE]
    count = len(pool_of)
    _check_bounds(start, rows, count, f"{path}: the array index")
    _check_bounds(shape_start, count, len(dims), f"{path}: the array shapes")
    if len(offsets) != count:
        raise CorruptFileError(f"{path}: the array index columns differ in length")
    ndims = np.diff(shape_start)
    if count and (ndims.max() > MAX_DIMS or (dims.size and dims.min() < 0)):
        raise CorruptFileError(f"{path}: an array shape is invalid")
    if count and (pool_of.min() < 0 or pool_of.max() >= len(pool_lengths)):
        raise CorruptFileError(f"{path}: an array names a pool that does not exist")
    sizes = _sizes(dims, shape_start, pool_lengths, pool_of, path)
    for k, length in enumerate(pool_lengths):
        members = pool_of == k
        expected = _starts(sizes[members])
        if expected[-1] != length or not np.array_equal(offsets[members], expected[:-1]):
            raise CorruptFileError(f"{path}: the arrays of {pool_name(k)} do not fill it "
                                   "exactly, one after the other")
    bounds, all_dims = shape_start.tolist(), dims.tolist()
    return [(k, first, n, all_dims[bounds[j]:bounds[j + 1]])
            for j, (k, first, n) in enumerate(zip(pool_of.tolist(), offsets.tolist(),
                                                  sizes.tolist(), strict=True))]


def _has(group: h5py.Group, name: str) -> bool:
    try:
        link_kind(group, name)
    except KeyError:
        return False
    return True


def _check_bounds(starts: np.ndarray, entries: int, total: int, what: str) -> None:
    if (starts.shape != (entries + 1,) or starts[0] != 0 or starts[-1] != total
            or np.any(np.diff(starts) < 0)):
        raise CorruptFileError(f"{what} is inconsistent")


def _pool(group: h5py.Group, dataset: h5py.Dataset, progress: Any) -> np.ndarray:
    check_allocation(dataset)
    pool = read_array(dataset, progress=progress)
    if pool.ndim != 1:  # 'U' pools are stored with a trailing axis, read back 1-d
        raise CorruptFileError(f"{group.name}: pool {dataset.name!r} is not a "
                               "one-dimensional array")
    # h5py marks the 'S' fields of records with an encoding: the saved dtype had none.
    return pool.view(drop_metadata(pool.dtype)) if pool.dtype.fields else pool


def _sizes(dims: np.ndarray, shape_start: np.ndarray, pool_lengths: list[int],
           pool_of: np.ndarray, path: str) -> np.ndarray:
    """Elements per array, refusing any product larger than its pool (no overflow).

    Arrays with a zero dimension hold nothing whatever their other dimensions; for
    the rest every partial product only grows, so checking each step is exact.
    """
    count = len(pool_of)
    ndims = np.diff(shape_start)
    empty = np.zeros(count, bool)
    empty[np.searchsorted(shape_start, np.flatnonzero(dims == 0), side="right") - 1] = True
    sizes = np.where(empty, 0, 1).astype(np.int64)
    limits = np.array(pool_lengths, np.int64)[pool_of] if count else np.zeros(0, np.int64)
    for axis in range(int(ndims.max()) if count else 0):
        live = (ndims > axis) & ~empty
        n = np.ones(count, np.int64)
        n[live] = dims[shape_start[:-1][live] + axis]
        if np.any(sizes[live] > limits[live] // n[live]):
            raise CorruptFileError(f"{path}: an array shape claims more elements than its pool")
        sizes *= n
    return sizes
