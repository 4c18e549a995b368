"""Build session files by hand, including files no honest writer would produce.

Hostile-input and integrity tests need files with unknown class names, dangling
references, impossible cycles and absurd arrays. These helpers go below the
writers' own checks: ``write_records`` writes records as given, ``raw_stream``
packs stream values in any order, and ``edit_hdf5`` changes an HDF5 file and then
re-signs every digest, so the reader's later checks (not the digest) are what a
test exercises.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any

import h5py
import numpy as np

from sessionh5._containers._hdf5 import layout
from sessionh5._containers._hdf5.arrays import CRC_ATTR
from sessionh5._containers._hdf5.compression import fletcher32
from sessionh5._containers._hdf5.digest import attrs_digest, column_bytes
from sessionh5._containers._stream.container import format_header_line
from sessionh5._containers._stream.encoding import ValueEncoder
from sessionh5._containers._stream.extcodes import ATTR_INFO_KEY
from sessionh5._containers.backends import write_backend
from sessionh5._engine.records import ObjectKey, Record, SessionHeader
from sessionh5._engine.walk import SavedSession

APP = "sessionh5-tests"


def header_for(managers: dict[str, ObjectKey]) -> SessionHeader:
    """A header with ``managers`` (none of them session attributes) and no metadata."""
    header = SessionHeader(APP, 3, {})
    header.managers = dict(managers)
    header.attr_info = dict.fromkeys(managers, False)
    return header


def write_records(records: Sequence[Record], managers: dict[str, ObjectKey], fmt: str) -> bytes:
    """A file holding exactly ``records`` (plain data with ObjectKey references)."""
    buf = io.BytesIO()
    saved = SavedSession(header_for(managers), list(records))
    write_backend(buf, saved, format=fmt, compress="lz4")
    return buf.getvalue()


def raw_stream(records: Sequence[Record], managers: dict[str, ObjectKey]) -> bytes:
    """An uncompressed stream of ``records`` in the given order, with no writer checks."""
    encoder = ValueEncoder()
    parts = [format_header_line(APP),
             encoder.pack_top({ATTR_INFO_KEY: dict.fromkeys(managers, False)}, "metadata"),
             encoder.pack_top({}, "providers")]
    for record in records:
        parts += [encoder.pack_top(record.key, "name"), encoder.pack_top(record.data, "data")]
    for tag, key in managers.items():
        parts += [encoder.pack_top(tag, "tag"), encoder.pack_top(key, "tag")]
    parts.append(encoder.pack_top(None, "end"))
    return b"".join(parts)


def edit_hdf5(data: bytes, edit: Callable[[h5py.File], Any]) -> bytes:
    """``data`` after ``edit(file)``, with every node's and the root's digest re-signed."""
    buf = io.BytesIO(data)
    with h5py.File(buf, "r+") as file:
        edit(file)
        resign(file)
    return buf.getvalue()


def resign(file: h5py.File) -> None:
    """Recompute the digest of every listed node and of the root after an edit."""
    for path in file.attrs[layout.NODES]:
        group = file.get(path.decode() if isinstance(path, bytes) else path)
        if not isinstance(group, h5py.Group) or layout.DIGEST not in group.attrs:
            continue
        columns: list[bytes] = []
        if group.attrs.get(layout.NODE_KIND) == layout.TABLE_NODE:
            names = list(layout.TABLE_COLUMNS)
            if layout.T_ARRAY_START in group:  # layout 3: its rows hold pooled arrays
                names += layout.ARRAY_COLUMNS
            if any(group[name].size > 2**24 for name in names):
                continue  # an absurd column: the reader must refuse it before any digest
            for name in names:
                _recrc(group[name])
            columns = [column_bytes(group[name][()]) for name in names]
        group.attrs[layout.DIGEST] = attrs_digest(group.attrs, columns)
    file.attrs[layout.DIGEST] = attrs_digest(file.attrs)


def _recrc(dataset: h5py.Dataset) -> None:
    """Refresh the CRC32 of a contiguous column (chunked ones get Fletcher32 from HDF5)."""
    if CRC_ATTR in dataset.attrs:
        data = np.ascontiguousarray(dataset[()])
        dataset.attrs[CRC_ATTR] = np.uint32(zlib.crc32(data.reshape(-1).view(np.uint8)))


def table_states(group: h5py.Group) -> list[bytes]:
    """The packed (msgpack) state of every row of a table node."""
    data = group[layout.T_STATE][()].tobytes()
    starts = group[layout.T_STATE_START][()].tolist()
    return [data[a:b] for a, b in pairwise(starts)]


def set_table_states(group: h5py.Group, states: Sequence[bytes]) -> None:
    """Replace a table's state column with ``states`` (one packed row each)."""
    blob = np.frombuffer(b"".join(states), dtype=np.uint8)
    starts = np.concatenate([[0], np.cumsum([len(s) for s in states])]).astype(np.int64)
    for name, column in ((layout.T_STATE, blob), (layout.T_STATE_START, starts)):
        del group[name]
        group.create_dataset(name, data=column)


# --- hostile files: HDF5 features a session file never uses, and decompression bombs ---
#
# Each builder takes the folder holding the "outside" files (a fake private key, another
# HDF5 file) and returns a file's bytes. tests/hostile_worker.py runs every command on
# them in a child process with a memory limit; test_hostile_files checks the outcome.

SECRET = b"-----BEGIN OPENSSH PRIVATE KEY----- " + bytes(range(32, 127)) * 200
#: The array a hostile edit replaces: 1.6 MB of float64 in two chunks (not tiny).
ARRAY_ITEMS = 200_000
GIB = 1 << 30


def outside_files(folder: Any) -> list[Any]:
    """Create the files a hostile session points at; every byte of them is secret."""
    key = folder / "id_rsa"
    key.write_bytes(SECRET)
    with h5py.File(folder / "other.h5", "w") as other:
        other["x"] = np.frombuffer(SECRET[:ARRAY_ITEMS // 100 * 8], np.float64)
    return [key, folder / "other.h5"]


def honest_hdf5(compress: str = "lz4") -> bytes:
    """A session with an array of ARRAY_ITEMS float64 at /h/a and a table of Box rows."""
    from helpers import Box, Holder, new_session

    session = new_session(minimal=True)
    session.h = Holder(a=np.arange(ARRAY_ITEMS, dtype=np.float64),
                       rows=[Box(v=i) for i in range(3)])
    buf = io.BytesIO()
    session.save(buf, compress=compress)
    return buf.getvalue()


def _replace(group: h5py.Group, name: str, **options: Any) -> h5py.Dataset:
    """Dataset ``name`` of ``group`` deleted and created again with ``options``."""
    old = group[name]
    shape, dtype = old.shape, old.dtype
    del group[name]
    return group.create_dataset(name, shape=shape, dtype=dtype, **options)


def _external_storage(folder: Any, file: h5py.File) -> None:
    _replace(file["/h"], "a", external=[(str(folder / "id_rsa"), 0, ARRAY_ITEMS * 8)])


def _external_table_column(folder: Any, file: h5py.File) -> None:
    size = file["/h/Box"][layout.T_STATE].size
    _replace(file["/h/Box"], layout.T_STATE, external=[(str(folder / "id_rsa"), 0, size)])


def _external_link(folder: Any, file: h5py.File) -> None:
    del file["/h/a"]
    file["/h/a"] = h5py.ExternalLink(str(folder / "other.h5"), "/x")


def _soft_link_out(folder: Any, file: h5py.File) -> None:
    file["/hidden"] = np.frombuffer(SECRET[:ARRAY_ITEMS // 100 * 8], np.float64)
    del file["/h/a"]
    file["/h/a"] = h5py.SoftLink("/hidden")


def _soft_link_node(folder: Any, file: h5py.File) -> None:
    file.move("/h", "/elsewhere")
    file["/h"] = h5py.SoftLink("/elsewhere")


def _virtual(source: str, path: str) -> Callable[[Any, h5py.File], None]:
    def edit(folder: Any, file: h5py.File) -> None:
        if source == ".":
            file[path] = np.frombuffer(SECRET[:ARRAY_ITEMS // 100 * 8], np.float64)
        where = source if source == "." else str(folder / source)
        vds = h5py.VirtualLayout(shape=(ARRAY_ITEMS // 100,), dtype=np.float64)
        vds[:] = h5py.VirtualSource(where, path, shape=(ARRAY_ITEMS // 100,))
        del file["/h/a"]
        file["/h"].create_virtual_dataset("a", vds)
    return edit


def _missing_chunk(folder: Any, file: h5py.File) -> None:
    """Chunk 1 of /h/a never written: HDF5 would leave the reader's buffer as it was."""
    old = file["/h/a"]
    plist, first = old.id.get_create_plist(), old.id.read_direct_chunk((0,))
    _replace(file["/h"], "a", dcpl=plist).id.write_direct_chunk((0,), first[1], first[0])


def _sparse_petabyte(folder: Any, file: h5py.File) -> None:
    """/h/a declaring 8 PiB in chunks none of which exists: a file of a few KiB."""
    del file["/h/a"]
    file["/h"].create_dataset("a", shape=(2**25, 2**25), dtype=np.float64, chunks=(256, 256))


def _unwritten_contiguous(folder: Any, file: h5py.File) -> None:
    """A contiguous column created but never written, with HDF5 told never to fill it."""
    plist = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    plist.set_fill_time(h5py.h5d.FILL_TIME_NEVER)
    _replace(file["/h/Box"], layout.T_REF_START, dcpl=plist)


#: name -> (edit of the honest file, the path the refusal must name, and what it says)
HOSTILE_HDF5: dict[str, tuple[Callable[[Any, h5py.File], None], str, str]] = {
    "external-storage": (_external_storage, "'/h/a'", "in an outside file"),
    "external-storage-table-column": (_external_table_column, "'/h/Box/state'",
                                      "in an outside file"),
    "external-link": (_external_link, "/h/a is an external link", "not followed"),
    "soft-link-leaving-the-node": (_soft_link_out, "/h/a is a soft link", "not followed"),
    "soft-link-to-a-node": (_soft_link_node, "/h is a soft link", "not followed"),
    "virtual-dataset-outside": (_virtual("other.h5", "/x"), "'/h/a'", "virtual dataset"),
    "virtual-dataset-inside": (_virtual(".", "/hidden"), "'/h/a'", "virtual dataset"),
    "missing-chunk": (_missing_chunk, "'/h/a'", "never written"),
    "sparse-petabyte": (_sparse_petabyte, "'/h/a'", "never written"),
    "unwritten-contiguous-column": (_unwritten_contiguous, "'/h/Box/ref_start'",
                                    "never written"),
}


def hostile_hdf5(name: str, folder: Any) -> bytes:
    """The honest file after the edit ``name`` of HOSTILE_HDF5, digests re-signed."""
    edit = HOSTILE_HDF5[name][0]
    return edit_hdf5(honest_hdf5(), lambda file: edit(folder, file))


def _zlib_bomb(nbytes: int) -> bytes:
    """A valid zlib stream of ``nbytes`` zero bytes, about nbytes / 1000 long, made fast:
    1 MiB compressed once after a full flush (no back references) and repeated."""
    mib = bytes(1 << 20)
    packer = zlib.compressobj(9)
    head = packer.compress(mib) + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(mib) + packer.flush(zlib.Z_FULL_FLUSH)
    end = packer.flush()[:-4]  # the empty final block; the Adler-32 of all zeros follows
    adler = (nbytes % 65521) << 16 | 1
    return head + block * (nbytes // len(mib) - 1) + end + adler.to_bytes(4, "big")


def _lz4_filter_bomb(nbytes: int) -> bytes:
    """A chunk in HDF5 filter 32004's format whose header declares ``nbytes``."""
    import lz4.block

    block = 64 << 20
    packed = lz4.block.compress(bytes(block), store_size=False)
    parts = [struct.pack(">QI", nbytes, block)]
    parts += [struct.pack(">I", len(packed)), packed] * (nbytes // block)
    return b"".join(parts)


def _bomb_chunk(filters: dict[str, Any], bomb: bytes) -> Callable[[h5py.File], None]:
    """/h/a as two chunks, each of them ``bomb``; chunks as large as the bomb needs to fit
    in the bytes such a chunk may take when stored, so the decoder itself is tested."""
    items = 1 << max(17, (len(bomb) // 8).bit_length())

    def edit(file: h5py.File) -> None:
        del file["/h/a"]
        dataset = file["/h"].create_dataset("a", shape=(2 * items,), dtype=np.float64,
                                            chunks=(items,), fletcher32=True, **filters)
        stored = bomb + fletcher32(bomb).to_bytes(4, "little")
        for offset in (0, items):
            dataset.id.write_direct_chunk((offset,), stored)
    return edit


def _blosc_bomb(nbytes: int) -> bytes:
    """A Blosc buffer of ``nbytes`` zero bytes (about nbytes / 5000 long), made by the
    c-blosc that hdf5plugin ships, as layout 3 writes its chunks."""
    from sessionh5._containers._hdf5 import blosc

    data = np.zeros(nbytes, np.uint8)  # never written to: no memory taken
    out = np.empty(nbytes + blosc.OVERHEAD, np.uint8)  # only its first pages are written
    return out[:blosc.compress_into(data, 8, blosc.SHUFFLE, out)].tobytes()


#: Blosc's largest buffer (c-blosc's BLOSC_MAX_BUFFERSIZE), rounded down to its blocks.
BLOSC_MOST = 2 * GIB - (128 << 10)


def hdf5_bomb(codec: str) -> bytes:
    """/h/a with chunks whose stored bytes inflate to 2 GiB each."""
    import hdf5plugin

    if codec == "gzip":
        edit = _bomb_chunk({"compression": "gzip"}, _zlib_bomb(2 * GIB))
    elif codec == "lz4":
        edit = _bomb_chunk(dict(hdf5plugin.LZ4()), _lz4_filter_bomb(2 * GIB))
    elif codec == "blosc":
        edit = _bomb_chunk(dict(hdf5plugin.Blosc(cname="lz4")), _blosc_bomb(BLOSC_MOST))
    else:
        raise ValueError(codec)
    return edit_hdf5(honest_hdf5(), edit)


def huge_hdf5(nbytes: int) -> bytes:
    """/h/a declared ``nbytes`` of float64 zeros with every chunk written (a small file)."""
    def edit(file: h5py.File) -> None:
        chunk = 1 << 17
        del file["/h/a"]
        dataset = file["/h"].create_dataset("a", shape=(nbytes // 8,), dtype=np.float64,
                                            chunks=(chunk,), compression="gzip",
                                            fletcher32=True)
        dataset[:chunk] = 0.0
        mask, stored = dataset.id.read_direct_chunk((0,))
        for offset in range(chunk, nbytes // 8, chunk):
            dataset.id.write_direct_chunk((offset,), stored, mask)
    return edit_hdf5(honest_hdf5(), edit)


def stream_bomb(compress: str, where: str) -> bytes:
    """A stream declaring a 2 GiB string (``where``: "metadata" or "record") or, for
    "count", a record declaring a list of 2**32 - 1 items; a few MB when compressed.

    The string's bytes are one compressed 4 MiB piece repeated (lz4 frames and gzip
    members may follow each other), so the file is small and still a valid stream.
    """
    import gzip

    import lz4.frame

    encoder = ValueEncoder()
    piece = 4 << 20
    text_header = b"\xdb" + (2 * GIB).to_bytes(4, "big")
    key = ObjectKey("helpers.Holder", 1)
    if where == "metadata":
        head = [format_header_line(APP), b"\x81\xa5title" + text_header]
        tail = [encoder.pack_top({}, "providers")]
    else:
        head = [format_header_line(APP),
                encoder.pack_top({ATTR_INFO_KEY: {"h": False}}, "metadata"),
                encoder.pack_top({}, "providers"), encoder.pack_top(key, "name")]
        head.append(b"\xdd\xff\xff\xff\xff" if where == "count" else b"\x81\xa1s" + text_header)
        tail = []
    tail += [encoder.pack_top("h", "tag"), encoder.pack_top(key, "tag"),
             encoder.pack_top(None, "end")]
    compressor = {"lz4": lambda data: lz4.frame.compress(data, content_checksum=True),
                  "gzip": lambda data: gzip.compress(data, 9, mtime=0)}[compress]
    middle = b"" if where == "count" else compressor(b"a" * piece) * (2 * GIB // piece)
    return compressor(b"".join(head)) + middle + compressor(b"".join(tail))
