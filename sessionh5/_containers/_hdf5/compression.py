"""Compression choice, chunk-shape policy and the byte format of each stored chunk.

Large arrays are written with ``write_direct_chunk``: chunks are filtered here, in
a thread pool, instead of by HDF5's single-threaded pipeline (docs/performance.md
has the numbers). The bytes must be exactly what HDF5's own filters produce, so
any HDF5 reader (h5py with hdf5plugin, h5dump with HDF5_PLUGIN_PATH) reads them.
Layout 3 writes, per compression choice:

* ``"lz4"``: Blosc (filter 32001, blosc.py) with its LZ4 codec and its own SIMD
  byte shuffle (bit shuffle for 1-byte numbers), then Fletcher32;
* ``"gzip"``: shuffle (filter 2: byte *k* of every element, for k = 0 ..
  itemsize-1), deflate (filter 1: one zlib stream), then Fletcher32;
* ``"none"``: Fletcher32 alone (fletcher.py).

Layouts 1 and 2 wrote shuffle + LZ4 (filter 32004, lz4chunks.py) for "lz4"; those
chunks are still decoded here.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Literal

import h5py
import hdf5plugin
import numpy as np

from ...errors import UsageError
from . import blosc
from .fletcher import CorruptChunkError, fletcher32, strip_fletcher32
from .inflate import InflateError, inflate
from .lz4chunks import LZ4_FILTER, unframe_into
from .shuffle import scratch_bytes, shuffle, unshuffle

__all__ = [
    "CHUNK_NBYTES",
    "SAMPLE_NBYTES",
    "TINY_NBYTES",
    "ChunkCodec",
    "Compression",
    "CorruptChunkError",
    "chunk_shape",
    "filter_plugin_path",
    "fletcher32",
]

CompressionName = Literal["lz4", "gzip", "none"]
_NAMES: tuple[CompressionName, ...] = ("lz4", "gzip", "none")
#: How a chunk's bytes are filtered: "blosc" (layout 3's "lz4"), "lz4" (filter 32004,
#: read only), "gzip", "none".
Method = Literal["blosc", "lz4", "gzip", "none"]

#: Arrays up to this size are stored contiguous and uncompressed (chunk index and
#: filter setup cost more than they save).
TINY_NBYTES = 64 * 1024
#: Target raw size of one chunk; measured in docs/arrays-notes.md.
CHUNK_NBYTES = 1024 * 1024
_GZIP_DEFAULT_LEVEL = 1
#: Bytes of a 1-byte integer array tried with and without bit shuffle (_bitshuffle_pays).
SAMPLE_NBYTES = 1 << 16


@dataclass(frozen=True, slots=True)
class Compression:
    """How arrays above TINY_NBYTES are compressed; frozen so threads can share it."""

    name: CompressionName
    level: int | None = None

    def __post_init__(self) -> None:
        if self.name not in _NAMES:
            raise UsageError(_unknown_name_message(self.name))
        if self.name == "gzip":
            level = _GZIP_DEFAULT_LEVEL if self.level is None else self.level
            if not (isinstance(level, int) and 1 <= level <= 9):
                raise UsageError(f"gzip level must be an int from 1 to 9, got {level!r}")
            object.__setattr__(self, "level", level)
        elif self.level is not None:
            raise UsageError(f"compression {self.name!r} takes no level, got {self.level!r}")

    @classmethod
    def from_name(cls, name: str | None) -> Compression:
        """Parse a user's choice: "lz4", "gzip", or None/"none" for no compression."""
        if name is None or name == "none":
            return cls("none")
        if name == "lz4" or name == "gzip":
            return cls(name)
        raise UsageError(_unknown_name_message(name))

    def filters_needed(self) -> list[str]:
        """Human names of the non-built-in HDF5 filters a reader of the file needs."""
        if self.name == "lz4":
            return [f"Blosc with LZ4 (HDF5 filter {blosc.BLOSC_FILTER}, from hdf5plugin)"]
        return []


def _unknown_name_message(name: object) -> str:
    allowed = ", ".join(repr(n) for n in _NAMES)
    return f"unknown compression {name!r}; expected one of {allowed} or None"


def chunk_shape(shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    """Chunks of whole trailing rows, about CHUNK_NBYTES each.

    A chunk is ``(1, ..., 1, n, *shape[k+1:])``: one contiguous run of a C-ordered
    array (so a contiguous input needs no gather copy), and a plane of a volume
    lies in as few chunks as possible. ``n`` is balanced so that the last chunk
    along axis k is nearly full (little padding to compress and store).
    """
    row = itemsize
    for axis in range(len(shape) - 1, -1, -1):
        if row * shape[axis] > CHUNK_NBYTES or axis == 0:
            per_chunk = max(1, CHUNK_NBYTES // row)
            count = math.ceil(shape[axis] / per_chunk)
            rows = math.ceil(shape[axis] / count)
            return (1,) * axis + (rows,) + tuple(shape[axis + 1 :])
        row *= shape[axis]
    raise ValueError("chunk_shape needs at least one dimension")


@dataclass(frozen=True, slots=True)
class ChunkCodec:
    """One dataset's filter pipeline, applied to chunk bytes in Python threads.

    ``shuffle`` is the shuffle element size (0: none): HDF5's shuffle filter before
    deflate or filter 32004, Blosc's own byte shuffle inside a Blosc chunk, whose
    ``bitshuffle`` shuffles bits instead. Fletcher32, when present, comes last.
    """

    method: Method
    level: int = 0
    shuffle: int = 0
    fletcher32: bool = True
    bitshuffle: bool = False

    @classmethod
    def for_writing(cls, compression: Compression, dtype: np.dtype,
                    sample: np.ndarray | None = None) -> ChunkCodec:
        """The pipeline for a new dataset: shuffle only where it helps the compressor.

        ``sample``: some of the data's bytes (contiguous uint8), to choose between bit
        shuffle and none for 1-byte integers.
        """
        if compression.name == "none":
            return cls("none")
        if compression.name == "gzip":
            return cls("gzip", compression.level or 0, dtype.itemsize if _shuffles(dtype) else 0)
        if dtype.kind == "b" or (dtype.itemsize == 1 and dtype.kind in "iu"
                                 and _bitshuffle_pays(sample)):
            return cls("blosc", bitshuffle=True)
        size = dtype.itemsize if _shuffles(dtype) and dtype.itemsize <= blosc.MAX_TYPESIZE else 0
        return cls("blosc", shuffle=size)

    @classmethod
    def from_dataset(cls, dataset: h5py.Dataset) -> ChunkCodec | None:
        """The codec of an existing chunked dataset, or None if we cannot decode it."""
        plist = dataset.id.get_create_plist()
        found = [plist.get_filter(i)[:3] for i in range(plist.get_nfilters())]
        shuffle, level, method, fletcher = 0, 0, "none", False
        if found and found[0][0] == h5py.h5z.FILTER_SHUFFLE:
            shuffle = found.pop(0)[2][0] if found[0][2] else dataset.dtype.itemsize
        if found and found[0][0] in (LZ4_FILTER, h5py.h5z.FILTER_DEFLATE, blosc.BLOSC_FILTER):
            code, _, values = found.pop(0)
            method = {LZ4_FILTER: "lz4", blosc.BLOSC_FILTER: "blosc"}.get(code, "gzip")
            level = values[0] if values and method == "gzip" else 0
        if found and found[0][0] == h5py.h5z.FILTER_FLETCHER32:
            fletcher = found.pop(0)[0] == h5py.h5z.FILTER_FLETCHER32
        if found or shuffle not in (0, 1, dataset.dtype.itemsize):
            return None
        if method == "blosc" and shuffle > 1:
            return None  # not a pipeline sessionh5 writes
        return cls(method, level, shuffle if shuffle > 1 else 0, fletcher)

    def dcpl(self, chunks: tuple[int, ...]) -> h5py.h5p.PropDCID:
        """A dataset creation property list declaring this pipeline to readers."""
        plist = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        plist.set_chunk(chunks)
        plist.set_fill_time(h5py.h5d.FILL_TIME_NEVER)
        if self.method == "blosc":
            # hdf5plugin.Blosc()'s options; the filter fills in the first four itself.
            mode = blosc.BITSHUFFLE if self.bitshuffle else (
                blosc.SHUFFLE if self.shuffle else blosc.NOSHUFFLE)
            plist.set_filter(blosc.BLOSC_FILTER, h5py.h5z.FLAG_OPTIONAL,
                             (0, 0, 0, 0, blosc.LEVEL, mode, blosc.LZ4_CODE))
        elif self.method == "gzip":
            if self.shuffle:
                plist.set_shuffle()
            plist.set_deflate(self.level)
        elif self.method != "none":
            raise ValueError(f"layout 3 does not write {self.method!r} chunks")
        if self.fletcher32:
            plist.set_fletcher32()
        return plist

    def encode(self, data: np.ndarray, buffer: np.ndarray) -> np.ndarray | bytearray:
        """Filter one chunk (contiguous uint8, full chunk size) into its stored bytes.

        Blosc and uncompressed chunks are built in ``buffer`` (uint8,
        ``stored_capacity(data.size)`` bytes) and a view of it is returned: no
        allocation per chunk. Deflate returns a new bytearray.
        """
        if self.method == "gzip":
            raw = shuffle(data, self.shuffle) if self.shuffle else data
            stored = bytearray(zlib.compress(raw, self.level))
            if self.fletcher32:
                stored += fletcher32(stored).to_bytes(4, "little")
            return stored
        if self.method == "blosc":
            mode = blosc.BITSHUFFLE if self.bitshuffle else (
                blosc.SHUFFLE if self.shuffle else blosc.NOSHUFFLE)
            size = blosc.compress_into(data, self.shuffle or 1, mode,
                                       buffer[: data.size + blosc.OVERHEAD])
        elif self.method == "none":
            size = data.size
            buffer[:size] = data
        else:
            raise ValueError(f"layout 3 does not write {self.method!r} chunks")
        if self.fletcher32:
            checksum = fletcher32(memoryview(buffer[:size])).to_bytes(4, "little")
            buffer[size : size + 4] = np.frombuffer(checksum, np.uint8)
            size += 4
        return buffer[:size]

    @staticmethod
    def stored_capacity(chunk_nbytes: int) -> int:
        """Bytes a chunk ``encode`` builds in a buffer can take (Fletcher32 included)."""
        return chunk_nbytes + blosc.OVERHEAD + 4

    def decode_into(self, stored: bytes | memoryview, dest: np.ndarray, chunk_nbytes: int,
                    *, checked: bool = False) -> None:
        """Check and unfilter one stored chunk; write its first ``dest.size`` bytes to dest.

        ``dest`` is a contiguous uint8 view (a prefix of the chunk, in element order).
        Blosc and LZ4 decode straight into ``dest`` when nothing else is left to do,
        otherwise into this thread's scratch buffer. ``checked``: the caller already
        verified the stored bytes (xxh3), so Fletcher32 is stripped, not summed.
        Raises CorruptChunkError on a bad checksum or undecodable data.
        """
        body = memoryview(stored)
        if self.fletcher32:
            if len(body) < 4:
                raise CorruptChunkError("chunk shorter than its Fletcher32 checksum")
            body = body[:-4] if checked else strip_fletcher32(body)
        if self.method == "blosc":  # Blosc unshuffles inside its own call
            if dest.size == chunk_nbytes:
                blosc.decompress_into(body, dest)
            else:
                raw = scratch_bytes(chunk_nbytes, "raw")
                blosc.decompress_into(body, raw)
                dest[...] = raw[: dest.size]
            return
        if self.method == "lz4":
            direct = not self.shuffle and dest.size == chunk_nbytes
            raw = dest if direct else scratch_bytes(chunk_nbytes, "raw")
            unframe_into(body, raw)
            if direct:
                return
        else:
            data = _inflate(body, chunk_nbytes) if self.method == "gzip" else body
            if len(data) != chunk_nbytes:
                raise CorruptChunkError(f"chunk holds {len(data)} bytes, expected {chunk_nbytes}")
            raw = np.frombuffer(data, dtype=np.uint8)
        if self.shuffle:
            unshuffle(raw, dest, self.shuffle)
        else:
            dest[...] = raw[: dest.size]


def _bitshuffle_pays(sample: np.ndarray | None) -> bool:
    """Whether bit shuffle makes 1-byte integers smaller than no shuffle, tried on a sample.

    It packs small integers (labels, element codes, masks: W1's element column 2.3x
    instead of 1.8x, and 3x faster) but breaks up byte streams (a table's msgpack rows:
    1.03x instead of 2.2x), and the dtype cannot tell them apart.
    """
    if sample is None:
        return False
    sample = sample[:SAMPLE_NBYTES]
    out = scratch_bytes(sample.size + blosc.OVERHEAD, "sample")
    bits = blosc.compress_into(sample, 1, blosc.BITSHUFFLE, out)
    return bits < blosc.compress_into(sample, 1, blosc.NOSHUFFLE, out)


def _shuffles(dtype: np.dtype) -> bool:
    """Byte shuffle pays for numbers and records of numbers, not for text or opaque bytes."""
    return dtype.itemsize > 1 and (dtype.kind in "biufcmM" or dtype.fields is not None)


def _inflate(body: memoryview, chunk_nbytes: int) -> bytes | np.ndarray:
    """Decompress a deflate chunk, never past the chunk's size (inflate.py)."""
    try:
        return inflate(body, chunk_nbytes)
    except InflateError as err:
        raise CorruptChunkError(str(err)) from err


def filter_plugin_path() -> str:
    """The folder holding hdf5plugin's filter plugins (for ``HDF5_PLUGIN_PATH``)."""
    return str(hdf5plugin.PLUGIN_PATH)
