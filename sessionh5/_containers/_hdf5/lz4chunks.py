"""Reading chunks of hdf5plugin's LZ4 filter (32004): the codec of layouts 1 and 2.

Layout 3 writes Blosc chunks (blosc.py); files of the older layouts, and plain
h5py files with ``hdf5plugin.LZ4()``, keep decoding here. A chunk is a
big-endian u64 original size and u32 block size, then per block a big-endian u32
stored size and the LZ4 block (the raw block when LZ4 did not shrink it).
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable

import lz4.block
import numpy as np
from lz4.block import _block as _lz4_extension

from . import native
from .fletcher import CorruptChunkError

__all__ = ["LZ4_FILTER", "lz4_block_into", "unframe_into"]

LZ4_FILTER = 32004
_HEADER = struct.Struct(">QI")
_U32_BE = struct.Struct(">I")


def _lz4_c_function(name: str) -> Callable[..., int] | None:
    """A function of liblz4, which python-lz4's extension exports, or None.

    python-lz4 only returns fresh bytes; liblz4's function decodes into the output
    we keep and, called through ctypes, releases the GIL. It never writes past the
    capacity it is given.
    """
    try:
        function = getattr(ctypes.CDLL(_lz4_extension.__file__), name)
    except (OSError, AttributeError):  # e.g. a build that does not export liblz4's symbols
        return None
    function.restype = ctypes.c_int
    function.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    return function


#: LZ4_decompress_safe(src, dst, srcSize, dstCapacity) -> bytes written, < 0 on bad data.
_LZ4_DECOMPRESS = native.load(lambda: _lz4_c_function("LZ4_decompress_safe"))


def unframe_into(body: memoryview, out: np.ndarray) -> None:
    """Decode one chunk into ``out`` (uint8, the chunk's size), checking every size."""
    if len(body) < _HEADER.size:
        raise CorruptChunkError("LZ4 chunk shorter than its header")
    nbytes, block = _HEADER.unpack_from(body)
    if nbytes != out.size or block == 0:
        raise CorruptChunkError(f"LZ4 header says {nbytes} bytes in blocks of {block}")
    source = np.frombuffer(body, np.uint8)
    pos = _HEADER.size
    for start in range(0, nbytes, block):
        want = min(block, nbytes - start)
        if pos + 4 > len(body):
            raise CorruptChunkError("LZ4 chunk truncated")
        (size,) = _U32_BE.unpack_from(body, pos)
        if pos + 4 + size > len(body):
            raise CorruptChunkError("LZ4 chunk truncated")
        piece, target = source[pos + 4 : pos + 4 + size], out[start : start + want]
        if size == want:
            target[...] = piece
        else:
            lz4_block_into(piece, target)
        pos += 4 + size
    if pos != len(body):
        raise CorruptChunkError(f"LZ4 chunk has {len(body) - pos} stray bytes")


def lz4_block_into(piece: np.ndarray, target: np.ndarray) -> None:
    """Decompress one LZ4 block that must fill ``target`` exactly (also Blosc's streams)."""
    if _LZ4_DECOMPRESS is None:
        try:
            data = lz4.block.decompress(piece, uncompressed_size=target.size)
        except lz4.block.LZ4BlockError as err:
            raise CorruptChunkError(f"LZ4 block does not decode: {err}") from err
        got = len(data)
        if got == target.size:
            target[...] = np.frombuffer(data, np.uint8)
    else:
        got = _LZ4_DECOMPRESS(piece.ctypes.data, target.ctypes.data, piece.size, target.size)
    if got != target.size:
        raise CorruptChunkError(f"LZ4 block does not decode to {target.size} bytes ({got})")
