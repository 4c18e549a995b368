"""Inflate a deflate chunk (HDF5 filter 1) into at most the chunk's size.

A deflate stream can inflate 1032:1, so a chunk of a few MB declaring nothing can
become gigabytes; HDF5's own filter grows its buffer for as long as the stream goes
on. Here the output never exceeds the chunk: zlib's ``uncompress2`` (the zlib that
Python's module uses, called through ctypes, which releases the GIL) writes into a
buffer of exactly the chunk's size and says when the stream holds more. Without it
(a zlib older than 1.2.9, or none to load), a stream too short to make more than
twice the chunk is inflated in one call and a longer one in bounded steps.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import zlib
from collections.abc import Callable

import numpy as np

from . import native
from .shuffle import scratch_bytes

__all__ = ["DEFLATE_MAX_RATIO", "InflateError", "inflate"]

#: Deflate's most output per input byte: a 258-byte match coded in two bits.
DEFLATE_MAX_RATIO = 1032
_Z_OK, _Z_BUF_ERROR = 0, -5


class InflateError(ValueError):
    """The stream does not decode to exactly the chunk's size."""


def _uncompress2() -> Callable[..., int] | None:
    """zlib's ``uncompress2(dest, destLen*, source, sourceLen*)``, or None."""
    try:
        library = ctypes.CDLL(ctypes.util.find_library("z") or "libz.so.1")
        function = library.uncompress2
    except (OSError, AttributeError, TypeError):
        return None
    size = ctypes.POINTER(ctypes.c_ulong)
    function.argtypes = [ctypes.c_void_p, size, ctypes.c_void_p, size]
    function.restype = ctypes.c_int
    return function  # type: ignore[no-any-return]


_UNCOMPRESS2 = native.load(_uncompress2)


def inflate(body: bytes | memoryview, chunk_nbytes: int) -> bytes | np.ndarray:
    """The ``chunk_nbytes`` bytes ``body`` inflates to (a buffer of this thread's,
    valid until its next chunk); InflateError if that is not exactly what it holds."""
    if _UNCOMPRESS2 is None:
        return _inflate_in_steps(body, chunk_nbytes)
    out = scratch_bytes(chunk_nbytes, "inflated")
    source = np.frombuffer(body, np.uint8)
    written, read = ctypes.c_ulong(chunk_nbytes), ctypes.c_ulong(source.size)
    code = _UNCOMPRESS2(out.ctypes.data, ctypes.byref(written), source.ctypes.data,
                        ctypes.byref(read))
    if code == _Z_BUF_ERROR:
        raise InflateError(f"deflate stream holds more than the chunk's {chunk_nbytes} bytes")
    if code != _Z_OK:
        raise InflateError(f"deflate stream does not decode (zlib error {code})")
    if written.value != chunk_nbytes:
        raise InflateError(f"chunk holds {written.value} bytes, expected {chunk_nbytes}")
    return out


def _inflate_in_steps(body: bytes | memoryview, chunk_nbytes: int) -> bytes:
    try:
        if len(body) * DEFLATE_MAX_RATIO <= 2 * chunk_nbytes:
            data = zlib.decompress(body, bufsize=chunk_nbytes)
        else:
            inflater = zlib.decompressobj()
            data = inflater.decompress(body, chunk_nbytes + 1)
            if len(data) > chunk_nbytes or inflater.unconsumed_tail:
                raise InflateError(f"deflate stream holds more than the chunk's "
                                   f"{chunk_nbytes} bytes")
            if not inflater.eof:
                raise InflateError("deflate stream does not decode: it is truncated")
    except zlib.error as err:
        raise InflateError(f"deflate stream does not decode: {err}") from err
    if len(data) != chunk_nbytes:
        raise InflateError(f"chunk holds {len(data)} bytes, expected {chunk_nbytes}")
    return data
