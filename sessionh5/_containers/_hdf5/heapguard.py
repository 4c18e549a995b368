"""Refuse damaged HDF5 global heaps before the HDF5 library parses them.

Variable-length strings (object state, metadata, class names) live in global heap
collections, which HDF5 does not checksum. HDF5 (checked with 2.0.0) walks a
collection object by object and advances by each object's declared size; a
free-space object (index 0) of size 0, which a zeroed disk block produces,
never advances, so the library loops forever inside one read call (issue 5: the
fuzz test found it). Python cannot interrupt that, so every byte HDF5 reads
passes through :class:`HeapGuard` first, and a collection that would loop is
refused as an I/O error, which the reader reports as a corrupt file.
"""

from __future__ import annotations

import struct
from typing import IO, Any

__all__ = ["HeapGuard", "looping_heap"]

_SIGNATURE = b"GCOL\x01"
_HEADER = 16  # signature, version, 3 reserved bytes, 8-byte collection size
_OBJECT_HEADER = 16  # index, reference count, 4 reserved bytes, 8-byte object size


def looping_heap(block: memoryview | bytes) -> bool:
    """True when ``block`` is a whole global heap collection on which HDF5 would loop.

    Mirrors HDF5's walk: objects with an index advance by header plus aligned
    size, free space (index 0) by its size alone; a step of 0 never ends.
    """
    if bytes(block[:5]) != _SIGNATURE or len(block) < _HEADER:
        return False
    size = struct.unpack_from("<Q", block, 8)[0]
    if size > len(block):
        return False  # a first, partial read: HDF5 reads the whole collection next
    at = _HEADER
    while at + _OBJECT_HEADER <= size:
        index, _, _, length = struct.unpack_from("<HHIQ", block, at)
        step = _OBJECT_HEADER + (length + 7) // 8 * 8 if index else length
        if step == 0:
            return True
        at += step
    return False


class HeapGuard:
    """A read-only file object for h5py that checks each global heap HDF5 reads."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def readinto(self, buffer: Any) -> int:
        count = self._stream.readinto(buffer)  # type: ignore[attr-defined]
        if count and looping_heap(memoryview(buffer).cast("B")[:count]):
            raise OSError("a global heap collection (variable-length strings) is damaged")
        return int(count or 0)

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        if looping_heap(data):
            raise OSError("a global heap collection (variable-length strings) is damaged")
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()
