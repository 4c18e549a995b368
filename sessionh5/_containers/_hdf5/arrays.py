"""Write and read one numpy array as one HDF5 dataset, fast and checked.

Tiny, 0-d and empty arrays are stored contiguous and uncompressed, with a CRC32
of their bytes in CRC_ATTR (Fletcher32 needs chunked storage). Larger arrays are
chunked: each chunk is filtered (compression.ChunkCodec) in a shared thread pool
and stored with ``write_direct_chunk``; reading fetches raw chunks with ``read_direct_chunk``
into reused buffers and decodes them in the pool straight into the output. At
most WINDOW chunks (see sessionh5._threads) are in flight, so extra memory stays at a few chunks.

Every chunk ends with HDF5's Fletcher32, which plain HDF5 readers verify. Layout 3
also stores the xxh3-64 of each stored chunk (Fletcher32 included) in XXH3_ATTR,
one uint64 per chunk in file order: our reader checks that instead, about ten
times cheaper than summing Fletcher32 again (docs/performance.md).

h5py stores numbers, bool, complex, 'S', 'V' and records of them natively, in
their own byte order. It cannot store 'U' or datetime64/timedelta64, so 'U<n>' is
stored as uint32 code points with an extra trailing axis of length n, datetimes
as int64, and such fields of records as uint32 subarrays / int64; the dataset
then carries DTYPE_ATTR, the numpy descr as JSON, which restores the exact dtype.
"""

from __future__ import annotations

import functools
import json
import math
import zlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial
from typing import Any

import h5py
import numpy as np
import xxhash
from numpy.lib.format import drop_metadata

from ..._engine.threads import WINDOW, WORKERS, pipelined
from ...errors import CorruptFileError, UnsupportedValueError, UsageError
from ..memory import check_fits, memory_errors
from .compression import (
    SAMPLE_NBYTES,
    TINY_NBYTES,
    ChunkCodec,
    Compression,
    CorruptChunkError,
    chunk_shape,
)
from .shuffle import scratch_bytes

__all__ = [
    "CRC_ATTR",
    "DTYPE_ATTR",
    "XXH3_ATTR",
    "check_allocation",
    "chunk_capacity",
    "index_region",
    "poolable",
    "read_addresses",
    "read_array",
    "read_region",
    "write_array",
]

DTYPE_ATTR = "sessionh5-numpy-dtype"
CRC_ATTR = "sessionh5-crc32"
XXH3_ATTR = "sessionh5-chunk-xxh3"

Progress = Callable[[int], None]
Selection = tuple[slice, ...]
#: offset, raw size, stored bytes, their xxh3-64
Encoded = tuple[tuple[int, ...], int, bytearray | np.ndarray, int]


def write_array(parent: h5py.Group, name: str, array: np.ndarray, compression: Compression,
                *, progress: Progress | None = None) -> h5py.Dataset:
    """Store ``array`` as dataset ``name`` of ``parent``, with its own shape and dtype.

    Raises:
        UnsupportedValueError: object dtype, or a dtype HDF5 cannot hold exactly.
    """
    array = np.asarray(array)
    stored, marker = _to_storage(array)
    if stored.nbytes <= TINY_NBYTES or stored.ndim == 0 or stored.size == 0:
        dataset = _write_tiny(parent, name, stored, progress)
    else:
        dataset = _write_chunked(parent, name, stored, compression, progress)
    if marker is not None:
        dataset.attrs[DTYPE_ATTR] = marker
    return dataset


def read_array(dataset: h5py.Dataset, *, progress: Progress | None = None) -> np.ndarray:
    """Read a dataset written by write_array into a new writable C-contiguous array.

    The caller has the dataset from guard.py (its storage checked); here its declared
    size is checked against the memory this process may use before anything is
    allocated, and every chunk is decoded by compression.ChunkCodec, whose decoders
    never produce more than the chunk's declared size.

    Raises:
        CorruptFileError: a checksum fails or the data cannot be decoded; the
            message names the dataset.
        MemoryLimitError: the array does not fit in the memory this process may use.
    """
    check_allocation(dataset)
    try:
        with memory_errors(f"array {dataset.name!r}"):
            marker = dataset.attrs.get(DTYPE_ATTR)
            stored = _read_stored(dataset, progress or _ignore)
            return _from_storage(stored, marker)
    except (OSError, CorruptChunkError) as err:
        raise CorruptFileError(f"array {dataset.name!r} is corrupt or unreadable: {err}") from err


def read_region(dataset: h5py.Dataset, region: Selection, *, where: str = "",
                axes: int | None = None) -> np.ndarray:
    """The stored values in ``region`` (one ``slice(start, stop)`` per axis), read chunk by
    chunk through the same decoders as read_array: what lazy views hand out.

    ``where`` (" in 'big.h5s'") and ``axes`` (the array's own axes, for strings stored
    with an extra one) only shape the message naming a damaged chunk.

    Raises:
        CorruptFileError: a chunk the region touches is corrupt; the message names the
            array, the chunk and the elements it holds.
        MemoryLimitError: the region does not fit in the memory this process may use.
    """
    shape = tuple(s.stop - s.start for s in region)
    itemsize = dataset.dtype.itemsize
    chunk = math.prod(dataset.chunks) * itemsize if dataset.chunks else 0
    check_fits(math.prod(shape) * itemsize + (WINDOW + 2 * WORKERS) * chunk_capacity(chunk),
               f"a block of array {dataset.name!r} ({shape} of {dataset.dtype})")
    try:
        with memory_errors(f"array {dataset.name!r}"):
            out = np.empty(shape, dataset.dtype)
            if out.size:
                _read_region_into(dataset, region, out)
            return out
    except _ChunkDamage as err:
        chunks = dataset.chunks[:axes]
        index = tuple(o // c for o, c in zip(err.offset, chunks, strict=False))
        elements = ", ".join(f"{o}:{min(o + c, n)}" for o, c, n in
                             zip(err.offset, chunks, dataset.shape, strict=False))
        raise CorruptFileError(f"array {dataset.name!r}{where}: chunk {index} (elements "
                               f"[{elements}]) fails its checksum or cannot be decoded "
                               f"({err})") from err
    except (OSError, CorruptChunkError) as err:
        raise CorruptFileError(f"array {dataset.name!r}{where} is corrupt or unreadable: "
                               f"{err}") from err


class _ChunkDamage(CorruptChunkError):
    """A chunk that fails to decode, and where it starts."""

    def __init__(self, offset: tuple[int, ...], err: Exception) -> None:
        super().__init__(str(err))
        self.offset = offset


def _read_region_into(dataset: h5py.Dataset, region: Selection, out: np.ndarray) -> None:
    codec = ChunkCodec.from_dataset(dataset) if dataset.chunks else None
    if codec is None or not _decodable(dataset):
        if dataset.id.get_create_plist().get_nfilters():
            raise CorruptChunkError("its HDF5 filters or data type are not ones sessionh5 "
                                    "writes, and HDF5 would decode them without a size limit")
        dataset.read_direct(out, region, _origin(out.shape))  # plain bytes: no decoder
        return
    chunks = dataset.chunks
    chunk_nbytes = math.prod(chunks) * out.itemsize
    capacity = chunk_capacity(chunk_nbytes)
    corner = tuple(s.start for s in region)

    def decode(chunk_codec: ChunkCodec, data: bytes | memoryview, offset: tuple[int, ...],
               sel: Selection) -> int:
        full = scratch_bytes(chunk_nbytes, "region")
        try:
            chunk_codec.decode_into(data, full, chunk_nbytes)
        except CorruptChunkError as err:
            raise _ChunkDamage(offset, err) from err
        values = full.view(out.dtype).reshape(chunks)
        dest = out[_shifted(sel, corner)]
        dest[...] = values[_shifted(sel, offset)]
        return dest.nbytes

    def jobs() -> Iterator[Callable[[], int]]:
        for number, (offset, sel) in enumerate(_grid(dataset.shape, chunks, region)):
            buffer = scratch_bytes(capacity, f"stored-{number % WINDOW}")
            mask, data = _read_raw_chunk(dataset.id, offset, buffer)
            chunk_codec = _unmasked(codec, dataset, mask) if mask else codec
            yield partial(decode, chunk_codec, data, offset, sel)

    pipelined(jobs(), _ignore)


def _shifted(sel: Selection, origin: tuple[int, ...]) -> Selection:
    return tuple(slice(s.start - o, s.stop - o) for s, o in zip(sel, origin, strict=True))


def index_region(key: Any, shape: tuple[int, ...]) -> tuple[Selection, tuple[Any, ...]]:
    """For basic indexing (integers, slices, ``...``) of an array of ``shape``: the block
    to read (one step-1 slice per axis) and the index that picks the result from it."""
    key = key if isinstance(key, tuple) else (key,)
    if sum(k is Ellipsis for k in key) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if Ellipsis in key:
        at = key.index(Ellipsis)
        key = key[:at] + (slice(None),) * (len(shape) - len(key) + 1) + key[at + 1:]
    if len(key) > len(shape):
        raise IndexError(f"too many indices: the array has {len(shape)} dimensions")
    key = key + (slice(None),) * (len(shape) - len(key))
    region, picks = [], []
    for k, n in zip(key, shape, strict=True):
        if isinstance(k, (int, np.integer)) and not isinstance(k, bool):
            i = int(k) + n if k < 0 else int(k)
            if not 0 <= i < n:
                raise IndexError(f"index {int(k)} is out of bounds for an axis of size {n}")
            region.append(slice(i, i + 1))
            picks.append(0)
        elif isinstance(k, slice):
            wanted = range(*k.indices(n))
            if not wanted:
                region.append(slice(0, 0))
                picks.append(slice(0, 0))
                continue
            low, high = min(wanted[0], wanted[-1]), max(wanted[0], wanted[-1]) + 1
            region.append(slice(low, high))
            stop = wanted[-1] - low + (1 if wanted.step > 0 else -1)
            picks.append(slice(wanted[0] - low, stop if stop >= 0 else None, wanted.step))
        else:
            raise UsageError(f"a stored array takes integers, slices and '...' as indices, not "
                             f"{type(k).__name__}; read it whole first (np.asarray) for more")
    return tuple(region), tuple(picks)


def read_addresses(dataset: h5py.Dataset) -> np.ndarray:
    """The file addresses an object-reference dataset holds (0: a null reference).

    A reference column is decoded like any array, by our own decoders, into uint64:
    nothing is dereferenced and HDF5's filters never run (validate compares the
    addresses with those of the nodes).
    """
    kind = dataset.id.get_type()
    if kind.get_class() != h5py.h5t.REFERENCE or kind.get_size() != 8:
        raise CorruptFileError(f"{dataset.name} should hold object references")
    check_allocation(dataset)
    try:
        with memory_errors(f"the references {dataset.name!r}"):
            if dataset.chunks is None:
                out = np.zeros(dataset.shape, np.uint64)
                if out.size:
                    dataset.id.read(h5py.h5s.ALL, h5py.h5s.ALL, out,
                                    mtype=h5py.h5t.STD_REF_OBJ)
                return out
            codec = ChunkCodec.from_dataset(dataset)
            if codec is None:
                raise CorruptChunkError("its HDF5 filters are not ones sessionh5 writes")
            return _read_chunked(dataset, codec, _ignore, np.dtype("<u8"))
    except (OSError, CorruptChunkError) as err:
        raise CorruptFileError(f"references {dataset.name!r} are corrupt or unreadable: "
                               f"{err}") from err


def check_allocation(dataset: h5py.Dataset) -> None:
    """Refuse a dataset whose declared size exceeds the memory budget, before allocating.

    A hostile file can declare a chunked dataset of petabytes that occupies a few
    bytes on disk (issue 5); reading it would end in MemoryError or the OOM killer.
    The cost counted is the array plus the chunk buffers reading it takes.
    """
    itemsize = dataset.dtype.itemsize
    nbytes = math.prod(dataset.shape or ()) * itemsize
    chunk = math.prod(dataset.chunks) * itemsize if dataset.chunks else 0
    buffers = (WINDOW + 2 * WORKERS) * chunk_capacity(chunk) if chunk else 0
    check_fits(nbytes + buffers, f"array {dataset.name!r} (shape {dataset.shape} of "
                                 f"{dataset.dtype}, chunks {dataset.chunks})")


def chunk_capacity(chunk_nbytes: int) -> int:
    """The most stored bytes any writer of our filters makes of a chunk this size."""
    return chunk_nbytes + chunk_nbytes // 64 + 4096


# ---- dtypes ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def poolable(dtype: np.dtype) -> bool:
    """Whether write_array stores arrays of ``dtype`` exactly (a table's pools need it)."""
    try:
        stored, _ = _to_storage(np.empty(0, dtype))
        return bool(h5py.h5t.py_create(stored.dtype, logical=True).dtype == stored.dtype)
    except (UnsupportedValueError, TypeError, ValueError):
        return False


def _to_storage(array: np.ndarray) -> tuple[np.ndarray, str | None]:
    """A zero-copy view of ``array`` in a dtype h5py stores, and the marker if it differs."""
    storage = _storage_dtype(array.dtype)
    if storage == array.dtype:
        return array, None
    marker = json.dumps(np.lib.format.dtype_to_descr(array.dtype))
    if _dtype_from_text(marker) != array.dtype:
        raise UnsupportedValueError(f"cannot record numpy dtype {array.dtype!r} in HDF5")
    if storage.subdtype is not None:  # 'U<n>': code points on an extra last axis
        return array[..., np.newaxis].view(storage.subdtype[0]), marker
    return array.view(storage), marker


def _storage_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype with 'U' as uint32 code points and datetimes as int64 (same byte order)."""
    if dtype.hasobject:
        raise UnsupportedValueError(f"arrays of dtype {dtype!r} hold Python objects; "
                                    "store them as separate values instead")
    if dtype.itemsize == 0:
        raise UnsupportedValueError(f"dtype {dtype!r} has zero-size items")
    if dtype.fields is not None:
        names = list(dtype.names or ())
        return np.dtype({"names": names,
                         "formats": [_storage_dtype(dtype.fields[n][0]) for n in names],
                         "offsets": [dtype.fields[n][1] for n in names],
                         "itemsize": dtype.itemsize})
    if dtype.subdtype is not None:
        base, shape = dtype.subdtype
        return np.dtype((_storage_dtype(base), shape))
    if dtype.kind == "U":
        return np.dtype((np.dtype("u4").newbyteorder(dtype.byteorder), (dtype.itemsize // 4,)))
    if dtype.kind in "mM":
        return np.dtype("i8").newbyteorder(dtype.byteorder)
    if dtype.kind == "c" and not dtype.isnative and dtype.itemsize > 16:
        return np.dtype(f"V{dtype.itemsize}")  # h5py turns a swapped complex256 native
    return dtype


def _dtype_from_text(text: str) -> np.dtype:
    """Parse DTYPE_ATTR: a numpy descr in JSON (tuples became lists)."""
    return np.lib.format.descr_to_dtype(_descr_from_json(json.loads(text)))


def _descr_from_json(descr: Any) -> Any:
    """Turn JSON lists back into the tuples of a numpy descr."""
    if isinstance(descr, str):
        return descr
    fields = []
    for name, fmt, *shape in descr:
        name = tuple(name) if isinstance(name, list) else name
        fields.append((name, _descr_from_json(fmt), *(tuple(s) for s in shape)))
    return fields


def _from_storage(stored: np.ndarray, marker: Any) -> np.ndarray:
    """Undo _to_storage, checking that the stored layout fits the recorded dtype."""
    if marker is None:
        plain = drop_metadata(stored.dtype)  # h5py's 'S' encodings (issue 13)
        return stored if plain.descr == stored.dtype.descr else stored.view(plain)
    try:
        dtype = _dtype_from_text(marker.decode() if isinstance(marker, bytes) else str(marker))
    except (ValueError, TypeError) as err:
        raise CorruptChunkError(f"unreadable {DTYPE_ATTR} attribute {marker!r}") from err
    if dtype.kind == "U" and stored.ndim >= 1 and stored.shape[-1] * 4 == dtype.itemsize:
        return stored.view(dtype).reshape(stored.shape[:-1])
    if dtype.itemsize != stored.dtype.itemsize or dtype.kind == "U":
        raise CorruptChunkError(f"recorded dtype {dtype!r} does not fit stored {stored.dtype!r}")
    return stored.view(dtype)


def _raw_bytes(array: np.ndarray) -> np.ndarray:
    """The bytes of ``array`` as flat uint8 (a view when it is C-contiguous)."""
    return np.ascontiguousarray(array).reshape(-1).view(np.uint8)


# ---- tiny arrays ----------------------------------------------------------------------


def _write_tiny(parent: h5py.Group, name: str, stored: np.ndarray,
                progress: Progress | None) -> h5py.Dataset:
    """Contiguous, uncompressed, guarded by a CRC32 attribute."""
    dataset = parent.create_dataset(name, data=stored)
    _check_file_dtype(parent, name, stored.dtype)
    if stored.size:
        dataset.attrs[CRC_ATTR] = np.uint32(zlib.crc32(_raw_bytes(stored)))
    if progress is not None:
        progress(stored.nbytes)
    return dataset


def _read_tiny(dataset: h5py.Dataset, progress: Progress) -> np.ndarray:
    """Read a contiguous dataset and check its CRC32 when it has one."""
    out = np.empty(dataset.shape, dataset.dtype)
    if out.size:
        dataset.read_direct(out)
    expected = dataset.attrs.get(CRC_ATTR)
    if expected is not None and zlib.crc32(_raw_bytes(out)) != int(expected):
        raise CorruptChunkError("CRC32 of the array data does not match")
    progress(out.nbytes)
    return out


# ---- chunked arrays -------------------------------------------------------------------


def _write_chunked(parent: h5py.Group, name: str, stored: np.ndarray,
                   compression: Compression, progress: Progress | None) -> h5py.Dataset:
    """Filter chunks in the pool and write them in order with write_direct_chunk."""
    chunks = chunk_shape(stored.shape, stored.dtype.itemsize)
    small_ints = stored.itemsize == 1 and stored.dtype.kind in "iu"
    sample = np.ascontiguousarray(stored.flat[:SAMPLE_NBYTES]).view(np.uint8) if small_ints \
        else None
    codec = ChunkCodec.for_writing(compression, stored.dtype, sample)
    dataset = parent.create_dataset(name, shape=stored.shape, dtype=stored.dtype,
                                    dcpl=codec.dcpl(chunks))
    _check_file_dtype(parent, name, stored.dtype)
    hashes: list[int] = []

    def store(result: Encoded) -> None:
        offset, nbytes, data, digest = result
        dataset.id.write_direct_chunk(offset, data)
        hashes.append(digest)
        if progress is not None:
            progress(nbytes)

    # Chunk i is built in the buffer of chunk i - WINDOW, stored by then (see _read_chunked).
    capacity = codec.stored_capacity(math.prod(chunks) * stored.itemsize)
    jobs = (partial(_encode_chunk, codec, stored, offset, sel, chunks,
                    scratch_bytes(capacity, f"encoded-{number % WINDOW}"))
            for number, (offset, sel) in enumerate(_grid(stored.shape, chunks)))
    pipelined(jobs, store)
    dataset.attrs[XXH3_ATTR] = np.array(hashes, dtype=np.uint64)
    return dataset


def _check_file_dtype(parent: h5py.Group, name: str, dtype: np.dtype) -> None:
    """Refuse (and remove) a dataset whose file type would not read back as ``dtype``."""
    stored_as = parent[name].dtype  # just written
    if stored_as != dtype:
        del parent[name]  # just written
        raise UnsupportedValueError(f"HDF5 stores numpy dtype {dtype!r} as {stored_as!r}")


def _encode_chunk(codec: ChunkCodec, stored: np.ndarray, offset: tuple[int, ...],
                  sel: Selection, chunks: tuple[int, ...], buffer: np.ndarray) -> Encoded:
    """Gather one chunk (zero-padded at the edges, as HDF5 does) and filter it into ``buffer``."""
    block = stored[sel]
    nbytes = block.nbytes
    if block.shape != chunks:
        full = np.zeros(chunks, stored.dtype)
        full[_origin(block.shape)] = block
        block = full
    data = codec.encode(_raw_bytes(block), buffer)
    return offset, nbytes, data, xxhash.xxh3_64_intdigest(data)


def _read_stored(dataset: h5py.Dataset, progress: Progress) -> np.ndarray:
    """Pick the reader: contiguous, or our own chunk decoder; HDF5 decodes nothing.

    HDF5's own filters would trust the sizes a chunk declares (its deflate filter
    inflates without end, the LZ4 filter allocates what the header claims), so a
    chunked dataset we cannot decode ourselves is read through HDF5 only when it has
    no filter at all.
    """
    if dataset.chunks is None:
        return _read_tiny(dataset, progress)
    codec = ChunkCodec.from_dataset(dataset)
    if codec is not None and _decodable(dataset):
        return _read_chunked(dataset, codec, progress)
    if dataset.id.get_create_plist().get_nfilters() == 0:
        return _read_through_hdf5(dataset, progress)
    raise CorruptChunkError("its HDF5 filters or data type are not ones sessionh5 writes, "
                            "and HDF5 would decode them without a size limit")


def _decodable(dataset: h5py.Dataset) -> bool:
    """Raw chunk bytes equal numpy's bytes (guard.py has checked every chunk exists)."""
    dtype = dataset.dtype
    return not dtype.hasobject and dataset.id.get_type().get_size() == dtype.itemsize


def _read_chunked(dataset: h5py.Dataset, codec: ChunkCodec, progress: Progress,
                  dtype: np.dtype | None = None) -> np.ndarray:
    """Read raw chunks in this thread; check and decode them in the pool into ``out``
    (of the dataset's dtype, or of ``dtype``: the same bytes seen as another type).

    Raw chunks go into WINDOW buffers this thread keeps (chunk i reuses the buffer of
    chunk i - WINDOW, finished by then), so no chunk allocates memory: fresh 1 MiB
    buffers can page-fault on every chunk, which costs more than decoding it. The
    reads stay in this thread: callers may hold h5py's lock (iterating a group does).
    """
    out = np.empty(dataset.shape, dataset.dtype if dtype is None else dtype)
    chunks = dataset.chunks
    chunk_nbytes = math.prod(chunks) * out.itemsize
    capacity = chunk_capacity(chunk_nbytes)
    hashes = _chunk_hashes(dataset)

    def jobs() -> Iterator[Callable[[], int]]:
        for number, (offset, sel) in enumerate(_grid(out.shape, chunks)):
            buffer = scratch_bytes(capacity, f"stored-{number % WINDOW}")
            mask, data = _read_raw_chunk(dataset.id, offset, buffer)
            chunk_codec = _unmasked(codec, dataset, mask) if mask else codec
            expected = None if hashes is None else hashes[number]
            yield partial(_decode_chunk, chunk_codec, data, out, offset, sel, chunks, expected)

    pipelined(jobs(), progress)
    return out


def _chunk_hashes(dataset: h5py.Dataset) -> list[int] | None:
    """The xxh3 of every stored chunk, when the writer recorded them (layout 3)."""
    hashes = dataset.attrs.get(XXH3_ATTR)
    if hashes is None:
        return None
    hashes = np.asarray(hashes)
    if hashes.dtype != np.uint64 or hashes.shape != (dataset.id.get_num_chunks(),):
        raise CorruptChunkError(f"{XXH3_ATTR} does not hold one uint64 per chunk")
    return hashes.tolist()


def _read_raw_chunk(dsid: h5py.h5d.DatasetID, offset: tuple[int, ...], buffer: np.ndarray
                    ) -> tuple[int, bytes | memoryview]:
    """``read_direct_chunk`` into ``buffer``, which holds the most any writer stores."""
    try:
        return dsid.read_direct_chunk(offset, out=buffer)
    except ValueError as err:  # h5py checks the size before reading anything
        raise CorruptChunkError(f"chunk at {offset} claims more stored bytes than a chunk "
                                f"of this size can take ({buffer.size})") from err


def _unmasked(codec: ChunkCodec, dataset: h5py.Dataset, mask: int) -> ChunkCodec:
    """The codec for a chunk that HDF5 stored with some optional filters skipped.

    Bit i of the chunk's filter mask set means filter i of the pipeline was not
    applied; such a chunk is decoded by the same codec without those filters.
    """
    plist = dataset.id.get_create_plist()
    skipped = {plist.get_filter(i)[0] for i in range(plist.get_nfilters()) if mask >> i & 1}
    if mask >> plist.get_nfilters():
        raise CorruptChunkError(f"a chunk's filter mask {mask:#x} names filters the "
                                "dataset does not have")
    return replace(codec,
                   shuffle=0 if h5py.h5z.FILTER_SHUFFLE in skipped else codec.shuffle,
                   fletcher32=codec.fletcher32 and h5py.h5z.FILTER_FLETCHER32 not in skipped,
                   method="none" if skipped - {h5py.h5z.FILTER_SHUFFLE,
                                               h5py.h5z.FILTER_FLETCHER32} else codec.method)


def _decode_chunk(codec: ChunkCodec, data: bytes, out: np.ndarray, offset: tuple[int, ...],
                  sel: Selection, chunks: tuple[int, ...], expected: int | None) -> int:
    """Check one chunk and decode it into its place in ``out`` (straight in when it can).

    With ``expected`` (its recorded xxh3) the stored bytes are checked by that hash;
    otherwise the codec sums Fletcher32.
    """
    dest = out[sel]
    chunk_nbytes = math.prod(chunks) * out.itemsize
    try:
        if expected is not None and xxhash.xxh3_64_intdigest(data) != expected:
            raise CorruptChunkError("xxh3 of the stored chunk does not match")
        checked = expected is not None
        if dest.flags.c_contiguous and _is_prefix(dest.shape, chunks):
            codec.decode_into(data, _raw_bytes(dest), chunk_nbytes, checked=checked)
        else:
            full = np.empty(chunk_nbytes, np.uint8)
            codec.decode_into(data, full, chunk_nbytes, checked=checked)
            dest[...] = full.view(out.dtype).reshape(chunks)[_origin(dest.shape)]
    except CorruptChunkError as err:
        raise CorruptChunkError(f"chunk at {offset}: {err}") from err
    return dest.nbytes


def _read_through_hdf5(dataset: h5py.Dataset, progress: Progress) -> np.ndarray:
    """Fallback for pipelines we do not decode: HDF5 reads (and checks) chunk by chunk."""
    out = np.empty(dataset.shape, dataset.dtype)
    for _, sel in _grid(out.shape, dataset.chunks):
        dataset.read_direct(out, sel, sel)
        progress(out[sel].nbytes)
    return out


# ---- helpers --------------------------------------------------------------------------


def _counts(shape: tuple[int, ...], chunks: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(math.ceil(n / c) for n, c in zip(shape, chunks, strict=True))


def _grid(shape: tuple[int, ...], chunks: tuple[int, ...], region: Selection | None = None
          ) -> Iterator[tuple[tuple[int, ...], Selection]]:
    """Every chunk's offset and its selection in the array, in C order (file order); with
    ``region``, only the chunks it touches, each selection cut to the region."""
    if region is None:
        region = _origin(shape)
    first = [s.start // c for s, c in zip(region, chunks, strict=True)]
    last = [-(-s.stop // c) for s, c in zip(region, chunks, strict=True)]
    for index in np.ndindex(*(b - a for a, b in zip(first, last, strict=True))):
        offset = tuple((i + a) * c for i, a, c in zip(index, first, chunks, strict=True))
        yield offset, tuple(slice(max(o, s.start), min(o + c, s.stop))
                            for o, c, s in zip(offset, chunks, region, strict=True))


def _origin(shape: tuple[int, ...]) -> Selection:
    return tuple(slice(0, n) for n in shape)


def _is_prefix(valid: tuple[int, ...], chunks: tuple[int, ...]) -> bool:
    """Whether the region ``valid`` of a chunk is its first elements in C order."""
    partial_axes = [i for i, (v, c) in enumerate(zip(valid, chunks, strict=True)) if v != c]
    if not partial_axes:
        return True
    first = partial_axes[0]
    return len(partial_axes) == 1 and all(c == 1 for c in chunks[:first])


def _ignore(nbytes: int) -> None:
    """Progress callback used when the caller passes none."""
