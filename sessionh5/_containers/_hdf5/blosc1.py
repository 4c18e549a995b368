"""Blosc 1 buffers made and read with numpy and python-lz4: where c-blosc cannot be called.

Some builds of hdf5plugin do not export c-blosc's functions (a Windows DLL exports
only what it declares), yet their HDF5 Blosc filter reads and writes the same
chunks. Rather than hand our chunks to HDF5's pipeline (single-threaded, a second
read of each chunk, and an allocation of whatever a chunk declares), this module
makes and reads the format itself, block by block, in the same pool threads.

A buffer (blosc.py checks its 16-byte header first) is, unless its flags say the
bytes are stored as they are ("memcpyed"): one int32 offset per block, then per
block one stream, or one per byte of the type size ("split", when the header does
not forbid it and the block is a full one of at least 128 elements of at most 16
bytes). A stream is an int32 size and that many bytes of LZ4 (or zlib), or the
stream's bytes themselves when that size is the stream's full share. Byte shuffle
(byte k of every element together) or bit shuffle (bit b of byte k of every element
together, for whole groups of 8 elements) works per block, before the split.

Every offset and size is checked against the buffer before it is used, and every
stream must decode to exactly its share of the block, into a buffer of that size:
nothing is allocated from what a buffer claims. The writer follows c-blosc 1.x's
choices for the options layout 3 uses (block size, split), so either codec reads
what the other wrote.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

import lz4.block
import numpy as np

from .fletcher import CorruptChunkError
from .lz4chunks import lz4_block_into
from .shuffle import scratch_bytes, shuffle, unshuffle

__all__ = ["HEADER", "compress_into", "decompress_into"]

HEADER = struct.Struct("<BBBBIII")
_DOSHUFFLE, _MEMCPYED, _DOBITSHUFFLE, _RESERVED, _DONT_SPLIT = 0x1, 0x2, 0x4, 0x8, 0x10
_NOSHUFFLE, _SHUFFLE, _BITSHUFFLE = 0, 1, 2  # the shuffle argument, as c-blosc's
_LZ4_FORMAT, _ZLIB_FORMAT = 1, 3  # codec number in the flags' top three bits
_FORMAT_VERSIONS = {_LZ4_FORMAT: 1, _ZLIB_FORMAT: 1}  # each codec's format version byte
_CODEC_NAMES = {0: "BloscLZ", 1: "LZ4", 2: "Snappy", 3: "zlib", 4: "Zstd"}
_MIN_BUFFERSIZE = 128  # smaller buffers are stored as they are
_MAX_SPLITS = 16  # larger types are never split into byte streams
_MAX_TYPESIZE = 255
_MAX_BLOCKSIZE = (2**31 - 1 - _MAX_TYPESIZE * 4) // 3
_INT32 = struct.Struct("<i")

Decoder = Callable[[np.ndarray, np.ndarray], None]


# ---- writing ----------------------------------------------------------------------------


def compress_into(data: np.ndarray, typesize: int, shuffle_mode: int, out: np.ndarray,
                  level: int, blocksize: int) -> int:
    """Compress ``data`` (contiguous uint8) with LZ4 into ``out``; the bytes used.

    As ``blosc_compress_ctx(level, shuffle_mode, typesize, ..., "lz4", blocksize, 1)``:
    the same block size, split and shuffle choices. ``out`` holds at least
    ``data.size + 16`` bytes; data that does not shrink is stored as it is.
    """
    nbytes = data.size
    typesize = typesize if 0 < typesize <= _MAX_TYPESIZE else 1
    block = _block_size(typesize, nbytes, blocksize)
    flags = _LZ4_FORMAT << 5
    flags |= 0 if _splits(typesize, block) else _DONT_SPLIT
    flags |= {_SHUFFLE: _DOSHUFFLE, _BITSHUFFLE: _DOBITSHUFFLE}.get(shuffle_mode, 0)
    room = min(out.size, nbytes + HEADER.size)
    size = 0
    if nbytes >= _MIN_BUFFERSIZE:
        size = _compress_blocks(data, typesize, flags, block, out[:room], 10 - level)
    if size == 0:  # too small, or it does not shrink: the bytes as they are
        flags |= _MEMCPYED
        size = HEADER.size + nbytes
        out[HEADER.size : size] = data
    HEADER.pack_into(out, 0, 2, _FORMAT_VERSIONS[_LZ4_FORMAT], flags, typesize, nbytes,
                     block, size)
    return size


def _block_size(typesize: int, nbytes: int, forced: int) -> int:
    """c-blosc's block size for a forced block size and a level above 0."""
    if nbytes < typesize:
        return 1
    size = min(max(forced, _MIN_BUFFERSIZE), _MAX_BLOCKSIZE)
    if _splits(typesize, size):  # a split codec gets a block per byte stream
        size = min(max(min(size, 1 << 18) * typesize, 1 << 16), 1 << 20)
    size = min(size, nbytes)
    return size // typesize * typesize if size > typesize else size


def _splits(typesize: int, blocksize: int) -> bool:
    """Whether c-blosc splits a block of LZ4 into byte streams (its default split mode)."""
    return typesize <= _MAX_SPLITS and blocksize // typesize >= _MIN_BUFFERSIZE


def _compress_blocks(data: np.ndarray, typesize: int, flags: int, blocksize: int,
                     out: np.ndarray, acceleration: int) -> int:
    """The block offsets and streams after the header; 0 when they do not fit in ``out``."""
    nblocks = -(-data.size // blocksize)
    at = HEADER.size + 4 * nblocks
    starts = np.empty(nblocks, "<i4")
    for number in range(nblocks):
        starts[number] = at
        block = data[number * blocksize : (number + 1) * blocksize]
        leftover = block.size < blocksize
        plain = _shuffled(block, typesize, flags)
        count = typesize if not flags & _DONT_SPLIT and not leftover else 1
        share = block.size // count
        for k in range(count):
            piece = plain[k * share : (k + 1) * share]
            packed = lz4.block.compress(piece, mode="fast", acceleration=acceleration,
                                        store_size=False)
            stored = packed if 0 < len(packed) < share else piece
            if at + 4 + len(stored) > out.size:
                return 0
            _INT32.pack_into(out, at, len(stored))
            out[at + 4 : at + 4 + len(stored)] = np.frombuffer(stored, np.uint8)
            at += 4 + len(stored)
    out[HEADER.size : HEADER.size + 4 * nblocks] = starts.view(np.uint8)
    return at


def _shuffled(block: np.ndarray, typesize: int, flags: int) -> np.ndarray:
    """The block as Blosc compresses it: byte- or bit-shuffled per its flags."""
    if flags & _DOSHUFFLE and typesize > 1:
        whole = block.size // typesize * typesize
        out = scratch_bytes(block.size, "blosc-shuffled")
        out[:whole] = shuffle(block[:whole], typesize)
        out[whole:] = block[whole:]
        return out
    if flags & _DOBITSHUFFLE and block.size >= typesize:
        count = block.size // typesize
        if count % 8:
            return block
        out = scratch_bytes(block.size, "blosc-shuffled")
        whole = count * typesize
        bits = np.unpackbits(block[:whole].reshape(count, typesize), axis=1, bitorder="little")
        out[:whole] = np.packbits(bits.T, axis=1, bitorder="little").reshape(-1)
        out[whole:] = block[whole:]
        return out
    return block


# ---- reading ----------------------------------------------------------------------------


def decompress_into(stored: np.ndarray, out: np.ndarray) -> None:
    """Decode one Blosc buffer into ``out`` (contiguous uint8), which it must fill exactly.

    blosc.check_header has checked that the header declares ``out.size`` bytes and
    ``stored.size`` stored bytes. Raises CorruptChunkError on anything else wrong.
    """
    _, version, flags, typesize, nbytes, blocksize, _ = HEADER.unpack_from(stored)
    if nbytes == 0:
        return
    if blocksize <= 0 or blocksize > nbytes or typesize == 0 or flags & _RESERVED:
        raise CorruptChunkError(f"Blosc header is damaged (block size {blocksize}, type "
                                f"size {typesize}, flags {flags:#x})")
    if flags & _MEMCPYED:
        if stored.size != HEADER.size + nbytes:
            raise CorruptChunkError("Blosc chunk stored as is has the wrong size")
        out[...] = stored[HEADER.size :]
        return
    smallest = _MIN_BUFFERSIZE // typesize * typesize or _MIN_BUFFERSIZE
    if blocksize < min(smallest, nbytes) and nbytes >= typesize:
        raise CorruptChunkError(f"Blosc blocks of {blocksize} bytes are smaller than any "
                                "c-blosc makes")  # and would cost a Python loop per byte
    decode = _stream_decoder(flags >> 5, version)
    nblocks = -(-nbytes // blocksize)
    if nblocks > (stored.size - HEADER.size) // 4:
        raise CorruptChunkError(f"Blosc chunk is too short for its {nblocks} block offsets")
    starts = np.frombuffer(stored, "<i4", nblocks, HEADER.size).tolist()
    for number, start in enumerate(starts):
        target = out[number * blocksize : (number + 1) * blocksize]
        _decode_block(stored, start, target, target.size < blocksize, typesize, flags, decode)


def _stream_decoder(codec: int, version: int) -> Decoder:
    """The decoder of the buffer's codec: LZ4 (what layout 3 writes) or zlib."""
    if _FORMAT_VERSIONS.get(codec) != version:
        name = _CODEC_NAMES.get(codec, f"number {codec}")
        raise CorruptChunkError(f"Blosc chunk uses the {name} codec (format {version}), "
                                "which sessionh5 decodes only through c-blosc, and c-blosc's "
                                "functions cannot be called in this build of hdf5plugin")
    return lz4_block_into if codec == _LZ4_FORMAT else _inflate_into


def _inflate_into(piece: np.ndarray, target: np.ndarray) -> None:
    """One zlib stream that must fill ``target`` exactly (never inflated past it)."""
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(piece, target.size)
    except zlib.error as err:
        raise CorruptChunkError(f"Blosc zlib stream does not decode: {err}") from err
    if len(data) != target.size or not inflater.eof:
        raise CorruptChunkError(f"Blosc zlib stream does not decode to {target.size} bytes")
    target[...] = np.frombuffer(data, np.uint8)


def _decode_block(stored: np.ndarray, start: int, target: np.ndarray, leftover: bool,
                  typesize: int, flags: int, decode: Decoder) -> None:
    """Decode the streams of one block, then undo its shuffle, into ``target``."""
    size = target.size
    byte_shuffled = bool(flags & _DOSHUFFLE) and typesize > 1
    bit_shuffled = not byte_shuffled and bool(flags & _DOBITSHUFFLE) and size >= typesize
    split = not flags & _DONT_SPLIT and _splits(typesize, size) and not leftover
    count = typesize if split else 1
    share = size // count
    if share * count != size:
        raise CorruptChunkError(f"Blosc block of {size} bytes cannot split into {count}")
    plain = scratch_bytes(size, "blosc-block") if byte_shuffled or bit_shuffled else target
    at = start
    for k in range(count):
        if not 0 <= at <= stored.size - 4:
            raise CorruptChunkError(f"Blosc stream offset {at} lies outside the chunk")
        (length,) = _INT32.unpack_from(stored, at)
        at += 4
        if not 0 <= length <= stored.size - at:
            raise CorruptChunkError(f"Blosc stream of {length} bytes overruns the chunk")
        piece, part = stored[at : at + length], plain[k * share : (k + 1) * share]
        if length == share:
            part[...] = piece
        else:
            decode(piece, part)
        at += length
    if byte_shuffled:
        whole = size // typesize * typesize
        unshuffle(plain[:whole], target[:whole], typesize)
        target[whole:] = plain[whole:]
    elif bit_shuffled:
        _bit_unshuffle(plain, target, typesize)


def _bit_unshuffle(plain: np.ndarray, target: np.ndarray, typesize: int) -> None:
    """Undo bit shuffle: for whole groups of 8 elements only, the rest as it is."""
    count = target.size // typesize
    if count % 8:
        target[...] = plain
        return
    whole = count * typesize
    rows = plain[:whole].reshape(8 * typesize, count // 8)
    bits = np.unpackbits(rows, axis=1, bitorder="little")
    target[:whole] = np.packbits(bits.T, axis=1, bitorder="little").reshape(-1)
    target[whole:] = plain[whole:]
