"""The two outer layers of a session stream: whole-file compression and the header line.

Also home of :class:`StreamContent`, the value the reader returns and the writer takes,
because it is the container's view of a session (header plus records, no classes).
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import BinaryIO, Literal

import lz4.frame  # type: ignore[import-untyped]

from ..._engine.records import ObjectKey, Record, SessionHeader
from ...errors import CorruptFileError, UsageError, VersionError
from .frames import PiecewiseWriter, gzip_member, lz4_frame

__all__ = [
    "CHUNK_SIZE",
    "GZIP_LEVEL",
    "MAX_HEADER_BYTES",
    "STREAM_VERSION",
    "HeaderLine",
    "StreamContent",
    "check_compression",
    "compressed_writer",
    "decompressed_chunks",
    "detect_container",
    "format_header_line",
    "parse_header_line",
    "read_header_line",
]

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
GZIP_MAGIC = b"\x1f\x8b"
LZ4_FRAME_MAGIC = b"\x04\x22\x4d\x18"
#: The reference reader reads at most this many bytes, newline included, for the header.
MAX_HEADER_BYTES = 256
STREAM_VERSION = 3
#: gzip level for writing, measured (docs/stream-notes.md): level 4 costs what 3 does,
#: is 1% smaller, and within 1-5% of level 9's size at an eighth of its time.
GZIP_LEVEL = 4
#: Decompressed bytes handed to the msgpack decoder at a time.
CHUNK_SIZE = 1 << 20

ContainerKind = Literal["hdf5", "gzip", "lz4", "stream"]
Compression = Literal["lz4", "gzip"]

_OBSOLETE = {
    1: "version 1 sessions are Python pickles, which sessionh5 never loads (unsafe)",
    2: "version 2 sessions use an early msgpack layout that no current reader supports",
}


@dataclass
class StreamContent:
    """A whole stream: header (metadata, providers, managers) and object records in file order."""

    header: SessionHeader
    records: list[Record] = field(default_factory=list)
    #: The references in each record's data as the reader met them (a reader's
    #: by-product that spares restore a walk over every value; may be left empty).
    references: dict[ObjectKey, list[ObjectKey]] = field(default_factory=dict)


def detect_container(first_bytes: bytes) -> ContainerKind | None:
    """Name the container from a file's first 8 bytes, or None when it is none of ours."""
    if first_bytes.startswith(HDF5_SIGNATURE):
        return "hdf5"
    if first_bytes.startswith(GZIP_MAGIC):
        return "gzip"
    if first_bytes.startswith(LZ4_FRAME_MAGIC):
        return "lz4"
    if first_bytes.startswith(b"#"):
        return "stream"
    return None


# --- reading --------------------------------------------------------------------------


class _Replay:
    """A read-only file that first returns bytes already peeked from another file.

    Detection must look at the first bytes, and the caller's file may not be seekable.
    """

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        """Read from the replayed head first, then from the file."""
        if not self._head:
            return self._rest.read(size)
        if size < 0:
            data, self._head = self._head + self._rest.read(), b""
            return data
        data, self._head = self._head[:size], self._head[size:]
        return data


def decompressed_chunks(fileobj: BinaryIO, size: int = CHUNK_SIZE
                        ) -> Generator[bytes, None, None]:
    """Yield the file's decompressed bytes in chunks of at most ``size``, reading about as
    much of the file at a time, so the whole file is never in memory."""
    head = _read_up_to(fileobj, len(HDF5_SIGNATURE))
    if not head:
        raise CorruptFileError("not a sessionh5 file (the file is empty)")
    kind = detect_container(head)
    if kind == "hdf5":
        raise CorruptFileError("this is an HDF5 session file, not a session stream")
    source = _Replay(head, fileobj)
    if kind == "gzip":
        with gzip.GzipFile(fileobj=source, mode="rb") as reader:  # type: ignore[call-overload]
            yield from _chunks(reader, "gzip", (gzip.BadGzipFile, zlib.error, EOFError), size)
    elif kind == "lz4":
        yield from _lz4_chunks(source, size)
    else:
        yield from _chunks(source, "", (), size)


def _lz4_chunks(source: _Replay, size: int) -> Iterator[bytes]:
    """Decompress lz4 frames in 1 MiB steps (LZ4FrameFile works in 8 KiB steps: slow).

    Concatenated frames are one stream, as the lz4 format allows; anything else after
    a frame, a cut frame or a damaged block (or content checksum) is corruption.
    """
    pending = b""
    while True:
        decompressor = lz4.frame.LZ4FrameDecompressor()
        while not decompressor.eof:
            if decompressor.needs_input:
                pending = pending or source.read(size)
                if not pending:
                    raise CorruptFileError("corrupt session file: damaged lz4 compression "
                                           "(the file ends inside an lz4 frame)")
            try:
                chunk = decompressor.decompress(pending, max_length=size)
            except RuntimeError as exc:  # lz4 reports any damage as RuntimeError
                raise CorruptFileError(
                    f"corrupt session file: damaged lz4 compression ({exc})"
                ) from exc
            pending = b""
            if chunk:
                yield chunk
        pending = decompressor.unused_data or source.read(size)
        if not pending:
            return
        if not pending.startswith(LZ4_FRAME_MAGIC[: len(pending)]):
            raise CorruptFileError("corrupt session file: damaged lz4 compression "
                                   "(data after the last lz4 frame)")


def _read_up_to(fileobj: BinaryIO, size: int) -> bytes:
    """Read ``size`` bytes unless the file ends first (pipes may return short reads)."""
    data = b""
    while len(data) < size:
        more = fileobj.read(size - len(data))
        if not more:
            break
        data += more
    return data


def _chunks(
    reader: _Replay | gzip.GzipFile | lz4.frame.LZ4FrameFile,
    label: str,
    errors: tuple[type[BaseException], ...],
    size: int,
) -> Iterator[bytes]:
    """Read until the end, turning the decompressor's own errors into CorruptFileError."""
    while True:
        try:
            chunk = reader.read(size)
        except errors as exc:
            raise CorruptFileError(
                f"corrupt session file: damaged {label} compression ({exc})"
            ) from exc
        if not chunk:
            return
        yield chunk


@dataclass(frozen=True, slots=True)
class HeaderLine:
    """The parsed header line and its length in bytes (newline included)."""

    app_name: str
    version: int
    size: int


def read_header_line(chunks: Iterator[bytes]) -> tuple[HeaderLine, bytes]:
    """Take the header line off the front of the stream; also return the bytes after it."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        if b"\n" in buffer[:MAX_HEADER_BYTES] or len(buffer) >= MAX_HEADER_BYTES:
            break
    if not buffer:
        raise CorruptFileError("not a sessionh5 file (the decompressed stream is empty)")
    if not buffer.startswith(b"#"):
        raise CorruptFileError("not a sessionh5 file (it does not start with '# <App> Session')")
    end = buffer.find(b"\n", 0, MAX_HEADER_BYTES)
    if end < 0 and len(buffer) >= MAX_HEADER_BYTES:
        raise CorruptFileError(
            f"not a sessionh5 file (header line longer than {MAX_HEADER_BYTES} bytes)"
        )
    if end < 0:
        raise CorruptFileError("corrupt session file: truncated inside the header line")
    app_name, version = parse_header_line(buffer[:end])
    return HeaderLine(app_name, version, end + 1), buffer[end + 1 :]


def parse_header_line(line: bytes) -> tuple[str, int]:
    """Check ``# <AppName> Session version <N>`` and accept only version 3."""
    try:
        tokens = line.decode("ascii").split()
    except UnicodeDecodeError as exc:
        raise CorruptFileError("not a sessionh5 file (the header line is not ASCII)") from exc
    if tokens[:1] != ["#"] or tokens[-3:-1] != ["Session", "version"]:
        raise CorruptFileError(
            f"not a sessionh5 file (header {line!r} is not '# <App> Session version N')"
        )
    if len(tokens) != 5:
        raise CorruptFileError(
            f"not a sessionh5 file (header {line!r} must name the app in exactly one "
            f"word, found {len(tokens) - 4} words)"
        )
    return tokens[1], _check_version(tokens[4])


def _check_version(token: str) -> int:
    """Refuse obsolete and future versions with a message saying why."""
    if not token.isdigit():
        raise CorruptFileError(
            f"not a sessionh5 file (header version {token!r} is not a number)")
    version = int(token)
    if version in _OBSOLETE:
        raise VersionError(
            f"session version {version} is obsolete and refused: {_OBSOLETE[version]}"
        )
    if version != STREAM_VERSION:
        raise VersionError(
            f"session version {version} is not readable: sessionh5 reads version {STREAM_VERSION} "
            "streams only (a newer application wrote this file?)"
        )
    return version


# --- writing --------------------------------------------------------------------------


def format_header_line(app_name: str) -> bytes:
    """The header line for ``app_name``; one ASCII word so that readers can split it."""
    if not app_name or not app_name.isascii() or len(app_name.split()) != 1:
        raise UsageError(f"an app name in a stream header must be one ASCII word, got {app_name!r}")
    line = f"# {app_name} Session version {STREAM_VERSION}\n".encode("ascii")
    if len(line) > MAX_HEADER_BYTES:
        raise UsageError(
            f"app name {app_name!r} makes the header longer than {MAX_HEADER_BYTES} bytes"
        )
    return line


def check_compression(compress: object) -> None:
    """Refuse an unknown compression before anything is written."""
    if compress not in ("lz4", "gzip", None):
        raise UsageError(f"compress must be 'lz4', 'gzip' or None, got {compress!r}")


@contextmanager
def compressed_writer(fileobj: BinaryIO, compress: Compression | None) -> Iterator[BinaryIO]:
    """A file that compresses into ``fileobj`` and leaves it open when done.

    Compressed streams are written as independent frames (gzip members) of
    frames.PIECE_SIZE bytes, compressed in parallel. Each lz4 frame carries a content
    checksum, a standard flag every lz4 reader verifies: a flipped bit in a data
    block becomes an error instead of wrong values (issue 3).
    """
    check_compression(compress)
    if compress is None:
        yield fileobj
        return
    piece = lz4_frame if compress == "lz4" else partial(gzip_member, level=GZIP_LEVEL)
    writer = PiecewiseWriter(fileobj, piece)
    try:
        yield writer  # type: ignore[misc]  # write() is all the stream writer needs
        writer.finish()
    finally:
        writer.cancel()
