"""Chunk integrity: HDF5's Fletcher32 checksum, fast in numpy, and the chunk error.

HDF5's Fletcher32 filter (filter 3) appends, as a little-endian u32, the Fletcher
sum over big-endian 16-bit words of all bytes before it, and checks it on every
read: a plain HDF5 reader detects a damaged chunk. Writers that store chunks
directly must append the same sum.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CorruptChunkError", "fletcher32", "strip_fletcher32"]

_FLETCHER_ROW = 4096  # 16-bit words per row of the vectorised Fletcher sum


class CorruptChunkError(ValueError):
    """A stored chunk fails its checksum or cannot be decoded."""


def fletcher32(data: bytes | bytearray | memoryview) -> int:
    """HDF5's Fletcher32 checksum of ``data``, vectorised to keep up with LZ4.

    HDF5 sums big-endian 16-bit words with end-around carry, so each sum is its
    value modulo 65535 except that a nonzero multiple of 65535 shows as 65535.
    The position-weighted second sum is rebuilt from row and column sums of a
    (rows x _FLETCHER_ROW) view, which numpy computes without a Python loop.

    The sums run over little-endian words, in place: modulo 65535 a big-endian
    word is 256 times the little-endian word of the same bytes (256 * 256 = 65536
    = 1), and both sums are linear, so no byte-swapped copy is needed.
    """
    size = len(data)
    words = np.frombuffer(data, dtype="<u2", count=size // 2)
    rows = words.size // _FLETCHER_ROW
    main = words[: rows * _FLETCHER_ROW].reshape(rows, _FLETCHER_ROW)
    tail = words[rows * _FLETCHER_ROW :].astype(np.uint64)
    if size % 2:  # HDF5 reads a last odd byte b as the big-endian word b << 8: little-endian b
        tail = np.append(tail, np.uint64(data[-1]))
    row_sums = main.sum(axis=1, dtype=np.uint32)  # fits: 4096 * 65535 < 2**32
    col_sums = main.sum(axis=0, dtype=np.uint32 if rows <= 65537 else np.uint64)
    total = int(row_sums.sum(dtype=np.uint64)) + int(tail.sum())
    if total == 0:
        return 0
    index_sum = (
        _FLETCHER_ROW * _dot_index(row_sums)
        + _dot_index(col_sums)
        + rows * _FLETCHER_ROW * int(tail.sum())
        + _dot_index(tail)
    )
    first = 256 * total % 65535 or 65535
    second = 256 * ((words.size + size % 2) * total - index_sum) % 65535 or 65535
    return (second << 16) | first


def _dot_index(values: np.ndarray) -> int:
    """Sum of i * values[i], exact (values below 2**16, so no uint64 overflow)."""
    index = np.arange(values.size, dtype=np.uint64)
    return int(np.dot(values.astype(np.uint64) % 65535, index))


def _swap_halves(value: int) -> int:
    """The byte-swapped checksum HDF5 also accepts (written by HDF5 1.6.2 and before)."""
    return ((value & 0x00FF00FF) << 8) | ((value >> 8) & 0x00FF00FF)


def strip_fletcher32(body: memoryview) -> memoryview:
    """Verify and strip the Fletcher32 trailer as HDF5 does."""
    if len(body) < 4:
        raise CorruptChunkError("chunk shorter than its Fletcher32 checksum")
    stored = int.from_bytes(body[-4:], "little")
    actual = fletcher32(body[:-4])
    if stored not in (actual, _swap_halves(actual)):
        raise CorruptChunkError(f"Fletcher32 checksum mismatch ({stored:#010x} != {actual:#010x})")
    return body[:-4]
