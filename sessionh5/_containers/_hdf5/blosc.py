"""Blosc chunks (HDF5 filter 32001) made and read by the c-blosc that hdf5plugin ships.

hdf5plugin's Blosc filter library exports c-blosc's API. Its reentrant calls
``blosc_compress_ctx`` and ``blosc_decompress_ctx`` take their thread count as an
argument and keep no global state, so each of our pool threads compresses or
decompresses whole chunks on its own, with the GIL released (ctypes releases it),
into buffers we keep. Using the library HDF5 itself decodes with means the chunks
are exactly what plain h5py + ``import hdf5plugin`` reads. python-blosc would
work too, but sets its thread count and GIL policy process-wide.

A stored Blosc buffer starts with a 16-byte header: format version, codec
version, flags, typesize, then little-endian u32 uncompressed size, block size
and compressed size. Decompression is bounded twice before c-blosc runs: the
header must declare exactly the chunk's size (a chunk claiming more is corrupt,
and nothing is allocated from what it claims) and exactly the bytes stored.

Where c-blosc's functions cannot be loaded (a build that does not export them, or
``SESSIONH5_NO_CTYPES=1``, native.py), blosc1.py makes and reads the same format
with numpy and python-lz4, after the same header check.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable

import hdf5plugin
import numpy as np

from . import blosc1, native
from .fletcher import CorruptChunkError

__all__ = ["BITSHUFFLE", "BLOSC_FILTER", "LZ4_CODE", "NOSHUFFLE", "OVERHEAD", "SHUFFLE",
           "check_header", "compress_into", "decompress_into", "native"]

BLOSC_FILTER = 32001
NOSHUFFLE, SHUFFLE, BITSHUFFLE = 0, 1, 2
LZ4_CODE = 1  # the filter's code for Blosc's LZ4 codec (its cd_values[6])
#: Bytes Blosc may add to incompressible data (its BLOSC_MAX_OVERHEAD).
OVERHEAD = 16
#: Level 1 is LZ4 acceleration 9; with blocks of 128 KiB (what level 5 would choose; level
#: 1 alone picks 16 KiB) it compresses W1's volume 11 % and its coordinates 8 % faster
#: than level 5 (acceleration 5) for 0.8 % and 0.0 % more bytes (docs/performance.md).
LEVEL = 1
BLOCKSIZE = 1 << 17
MAX_TYPESIZE = 255
_HEADER = blosc1.HEADER
_FORMAT_VERSION = 2  # the header format c-blosc 1.x writes


def _load() -> tuple[Callable[..., int], Callable[..., int]] | None:
    """c-blosc's reentrant compress and decompress from hdf5plugin's filter, or None."""
    path = hdf5plugin.get_config().registered_filters.get("blosc")
    if not path:
        return None
    try:
        library = ctypes.CDLL(path)
        compress, decompress = library.blosc_compress_ctx, library.blosc_decompress_ctx
    except (OSError, AttributeError):  # a build that hides c-blosc's symbols
        return None
    size, pointer = ctypes.c_size_t, ctypes.c_void_p
    compress.argtypes = [ctypes.c_int, ctypes.c_int, size, size, pointer, pointer, size,
                         ctypes.c_char_p, size, ctypes.c_int]
    compress.restype = ctypes.c_int
    decompress.argtypes = [pointer, pointer, size, ctypes.c_int]
    decompress.restype = ctypes.c_int
    return compress, decompress


_FUNCTIONS = native.load(_load)


def native() -> bool:
    """Whether c-blosc itself is called here; if not, blosc1.py does the same work."""
    return _FUNCTIONS is not None


def compress_into(data: np.ndarray, typesize: int, shuffle: int, out: np.ndarray) -> int:
    """Compress ``data`` (contiguous uint8) with LZ4 into ``out``; the bytes used.

    ``out`` needs ``data.size + OVERHEAD`` bytes: Blosc stores a block it cannot
    shrink as it is, so the result always fits.
    """
    if out.size < data.size + OVERHEAD:
        raise ValueError(f"Blosc buffer of {out.size} bytes is too small for {data.size}")
    if _FUNCTIONS is None:
        return blosc1.compress_into(data, typesize, shuffle, out, LEVEL, BLOCKSIZE)
    size = _FUNCTIONS[0](LEVEL, shuffle, typesize if 0 < typesize <= MAX_TYPESIZE else 1,
                         data.size, data.ctypes.data, out.ctypes.data, out.size, b"lz4",
                         BLOCKSIZE, 1)
    if size <= 0:
        raise RuntimeError(f"blosc_compress_ctx failed ({size})")
    return size


def decompress_into(data: bytes | memoryview | np.ndarray, out: np.ndarray) -> None:
    """Decompress one Blosc buffer that must fill ``out`` (contiguous uint8) exactly."""
    stored = np.frombuffer(data, np.uint8)
    check_header(stored, out.size)
    if _FUNCTIONS is None:
        blosc1.decompress_into(stored, out)
        return
    got = _FUNCTIONS[1](stored.ctypes.data, out.ctypes.data, out.size, 1)
    if got != out.size:
        raise CorruptChunkError(f"Blosc data does not decode ({got})")


def check_header(data: bytes | memoryview | np.ndarray, nbytes: int) -> None:
    """Refuse a Blosc buffer whose header does not declare ``nbytes`` and its own size."""
    stored = np.frombuffer(data, np.uint8)
    if stored.size < _HEADER.size:
        raise CorruptChunkError(f"Blosc chunk of {stored.size} bytes is shorter than its header")
    version, _, _, _, declared, _, cbytes = _HEADER.unpack_from(stored)
    if version != _FORMAT_VERSION:
        raise CorruptChunkError(f"Blosc header format {version} is not {_FORMAT_VERSION}")
    if declared != nbytes:
        raise CorruptChunkError(f"Blosc chunk declares {declared} bytes, the chunk has {nbytes}")
    if cbytes != stored.size:
        raise CorruptChunkError(f"Blosc chunk declares {cbytes} stored bytes, not {stored.size}")
