"""Compress a stream in independent pieces on the shared pool: LZ4 frames or gzip members.

Both formats define a concatenation of frames (members) as one stream, and the
readers in use (python-lz4's LZ4FrameFile, Python's gzip module, the lz4 and gzip
tools, our own reader) read it so. Cutting the stream into pieces of PIECE_SIZE
bytes lets the pool's threads compress them in parallel while the caller packs
the next records. The cut points depend only on the bytes, never on how they were
written, so the same content always gives the same file.
"""

from __future__ import annotations

import gzip
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import BinaryIO

import lz4.frame  # type: ignore[import-untyped]

from ..._engine.threads import WINDOW, executor

__all__ = ["PIECE_SIZE", "PiecewiseWriter", "gzip_member", "lz4_frame"]

#: Uncompressed bytes per frame: large enough that the per-frame header, checksum and
#: fresh dictionary cost nothing measurable, small enough to keep both cores busy.
PIECE_SIZE = 4 << 20

Buffer = bytes | bytearray | memoryview


def lz4_frame(piece: Buffer) -> bytes:
    """One LZ4 frame with the frame defaults plus a content checksum (checked on read)."""
    return lz4.frame.compress(piece, content_checksum=True)


def gzip_member(piece: Buffer, level: int) -> bytes:
    """One gzip member; mtime 0 and no file name keep the output reproducible."""
    return gzip.compress(piece, level, mtime=0)


class PiecewiseWriter:
    """A write-only file that compresses whole pieces in the pool, writing them in order.

    Call :meth:`finish` once everything is written; :meth:`cancel` drops what is
    still pending (after an error the output is incomplete anyway).
    """

    def __init__(self, out: BinaryIO, compress: Callable[[Buffer], bytes]) -> None:
        self._out = out
        self._compress = compress
        self._pending = bytearray()
        self._running: deque[Future[bytes]] = deque()
        self._pieces = 0

    def write(self, data: Buffer) -> int:
        view = memoryview(data).cast("B")
        size = len(view)
        if self._pending:
            room = PIECE_SIZE - len(self._pending)
            self._pending += view[:room]
            view = view[room:]
            if len(self._pending) < PIECE_SIZE:
                return size
            self._submit(self._pending)
            self._pending = bytearray()
        while len(view) >= PIECE_SIZE:  # large arrays: their own memory, no copy
            self._submit(view[:PIECE_SIZE])
            view = view[PIECE_SIZE:]
        self._pending += view
        return size

    def finish(self) -> None:
        """Compress what is left (an empty stream still gets one frame) and write it all."""
        if self._pending or not self._pieces:
            self._submit(self._pending)
            self._pending = bytearray()
        while self._running:
            self._out.write(self._running.popleft().result())

    def cancel(self) -> None:
        for future in self._running:
            future.cancel()
        self._running.clear()

    def _submit(self, piece: Buffer) -> None:
        self._pieces += 1
        self._running.append(executor().submit(self._compress, piece))
        while len(self._running) >= WINDOW:
            self._out.write(self._running.popleft().result())
