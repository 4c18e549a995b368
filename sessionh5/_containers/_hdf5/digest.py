"""Content digests of root and node attributes and of table columns.

Array chunks carry Fletcher32 checksums (see arrays.py), but attributes and
variable-length strings have no HDF5 checksum that covers them everywhere. So
the writer stores a BLAKE2b digest of every node's attributes (plus its table
columns) and of the root attributes, and the reader recomputes it before it
trusts a node: a flipped byte in metadata or in an object's state is reported
as a corrupt file, never returned as a different session.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import h5py
import numpy as np

from ...errors import CorruptFileError
from . import layout

__all__ = ["attrs_digest", "check_digest", "column_bytes"]

#: Attributes a digest does not cover: the digest itself, and the HDF5 object
#: references, which are file addresses kept for people (sessionh5 reads the ids).
_SKIPPED = frozenset({layout.DIGEST, layout.REFS})


def _value_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return b"b" + value
    if isinstance(value, str):
        return b"s" + value.encode("utf-8", "surrogatepass")
    array = np.asarray(value)
    if array.dtype == object:
        parts = [_value_bytes(v) for v in array.ravel()]
        lengths = np.array([len(p) for p in parts], dtype="<i8").tobytes()
        return b"o" + lengths + b"".join(parts)
    return array.dtype.str.encode() + repr(array.shape).encode() + array.tobytes()


def column_bytes(column: np.ndarray) -> bytes:
    """The bytes a table column contributes to its node's digest."""
    return _value_bytes(column)


def attrs_digest(attrs: h5py.AttributeManager, columns: Iterable[bytes] = ()) -> str:
    """Digest of all attributes but the digest itself, in name order, plus extra columns."""
    h = hashlib.blake2b(digest_size=16)
    for name in sorted(attrs.keys()):
        if name in _SKIPPED:
            continue
        encoded = name.encode("utf-8")
        h.update(len(encoded).to_bytes(4, "little") + encoded)
        data = _value_bytes(attrs[name])
        h.update(len(data).to_bytes(8, "little") + data)
    for data in columns:
        h.update(len(data).to_bytes(8, "little") + data)
    return h.hexdigest()


def check_digest(attrs: h5py.AttributeManager, where: str, columns: Iterable[bytes] = ()) -> None:
    """Raise CorruptFileError unless the stored digest matches the content."""
    stored = attrs.get(layout.DIGEST)
    if stored is None:
        raise CorruptFileError(f"{where} has no {layout.DIGEST!r} attribute")
    stored = stored.decode() if isinstance(stored, bytes) else str(stored)
    if stored != attrs_digest(attrs, columns):
        raise CorruptFileError(
            f"{where} is damaged: its content does not match the digest stored when it "
            "was saved")
