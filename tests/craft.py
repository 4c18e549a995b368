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
import zlib
from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any

import h5py
import numpy as np

from sessionh5._containers._hdf5 import layout
from sessionh5._containers._hdf5.arrays import CRC_ATTR
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
            if any(group[name].size > 2**24 for name in layout.TABLE_COLUMNS):
                continue  # an absurd column: the reader must refuse it before any digest
            for name in layout.TABLE_COLUMNS:
                _recrc(group[name])
            columns = [column_bytes(group[name][()]) for name in layout.TABLE_COLUMNS]
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
