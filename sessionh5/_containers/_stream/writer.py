"""Write :class:`StreamContent` as a session stream (header line, records, nil).

Values are packed by :class:`encoding.ValueEncoder`; this module lays out the
top-level values, checks their order and hands the bytes to the compressor.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import msgpack  # type: ignore[import-untyped]

from ..._engine.records import ObjectKey, Record
from ...errors import SaveError, UsageError
from .container import (
    Compression,
    StreamContent,
    check_compression,
    compressed_writer,
    format_header_line,
)
from .digest import DIGEST_KEY, DIGEST_TAIL, new_digest
from .encoding import ValueEncoder
from .extcodes import ATTR_INFO_KEY, CLASS_VERSIONS_KEY

__all__ = ["write_stream"]


def write_stream(
    fileobj: BinaryIO,
    content: StreamContent,
    *,
    compress: Compression | None = "lz4",
    progress: Callable[[int], None] | None = None,
) -> None:
    """Write ``content`` as a version-3 stream; records go out in the given order.

    Each manager's (tag, reference) pair follows its object record, but never before
    the tags listed earlier in ``header.managers``, so that order survives a round trip.
    ``progress`` is called with the number of uncompressed bytes of each write.

    Raises:
        UsageError: a bad compression, app name or reserved metadata key.
        SaveError: duplicate records, a record before one it refers to, a manager
            without a record, conflicting class versions.
        UnsupportedValueError: a value with no stream encoding (names its type).
    """
    check_compression(compress)
    header_line = format_header_line(content.header.app_name)
    if content.header.session_version != 3:
        raise UsageError("only session version 3 streams can be written")
    tags_after = _tag_positions(content)
    encoder = ValueEncoder()
    metadata = _metadata(content)
    body = _body(content, encoder, tags_after, progress)
    with compressed_writer(fileobj, compress) as out:
        out.write(header_line)
        if compress is None:
            _write_digested(out, encoder, metadata, body)
        else:
            out.write(encoder.pack_top(metadata, "the metadata"))
            for part in body:
                out.write(part)


def _body(content: StreamContent, encoder: ValueEncoder, tags_after: dict[int, list[str]],
          progress: Callable[[int], None] | None) -> Iterator[bytes | memoryview]:
    """Everything after the metadata: provider table, records, end marker."""
    yield encoder.pack_top(_providers(content), "the provider table")
    for records in _chunked(_records(content, encoder, tags_after)):
        yield records
        if progress is not None:
            progress(len(records))
    yield encoder.pack_top(None, "the end marker")


def _write_digested(out: BinaryIO, encoder: ValueEncoder, metadata: dict[str, Any],
                    body: Iterator[bytes | memoryview]) -> None:
    """Metadata ending in a digest entry over everything else (see digest.py).

    The body goes to a scratch file first, since the digest it needs is written
    before it; only uncompressed streams pay that copy.
    """
    placeholder = encoder.pack_top({**metadata, DIGEST_KEY: "0" * 32}, "the metadata")
    head = placeholder[:-DIGEST_TAIL]
    digest = new_digest(head)
    with tempfile.TemporaryFile() as spool:
        for part in body:
            digest.update(part)
            spool.write(part)
        out.write(head + msgpack.packb(DIGEST_KEY) + msgpack.packb(digest.hexdigest()))
        spool.seek(0)
        shutil.copyfileobj(spool, out, 1 << 20)


def _metadata(content: StreamContent) -> dict[str, Any]:
    """Metadata plus attr_info and, when any record has one, the class versions."""
    header = content.header
    for reserved in (ATTR_INFO_KEY, CLASS_VERSIONS_KEY, DIGEST_KEY):
        if reserved in header.metadata:
            raise UsageError(f"metadata key {reserved!r} is reserved for the stream writer")
    metadata = dict(header.metadata)
    metadata[ATTR_INFO_KEY] = dict(header.attr_info)
    versions = _class_versions(content.records)
    if versions:
        metadata[CLASS_VERSIONS_KEY] = versions
    return metadata


def _class_versions(records: list[Record]) -> dict[str, int]:
    """One version per class name, since that is all the stream can hold."""
    versions: dict[str, int | None] = {}
    for record in records:
        known = versions.setdefault(record.key.class_name, record.version)
        if known != record.version:
            raise SaveError(
                f"records of class {record.key.class_name!r} have versions {known} and "
                f"{record.version}; a stream stores one version per class"
            )
    return {name: version for name, version in versions.items() if version is not None}


def _providers(content: StreamContent) -> dict[str, tuple[str, int]]:
    """The provider table with each entry as a tuple (ext 12), as the format has it."""
    table = {}
    for name, entry in content.header.providers.items():
        if not (isinstance(entry, (tuple, list)) and len(entry) == 2):
            raise UsageError(f"provider {name!r} entry {entry!r} is not (version str, int)")
        table[name] = (entry[0], entry[1])
    return table


def _tag_positions(content: StreamContent) -> dict[int, list[str]]:
    """Record index -> tags to emit after it (after the manager, in manager order)."""
    index = {}
    for position, record in enumerate(content.records):
        if type(record.key) is not ObjectKey:
            raise SaveError(f"record key {record.key!r} is not an ObjectKey")
        if record.key in index:
            raise SaveError(f"object {record.key} appears twice in the records")
        index[record.key] = position
    after: dict[int, list[str]] = {}
    earliest = 0
    for tag, key in content.header.managers.items():
        if type(tag) is not str or type(key) is not ObjectKey or key not in index:
            raise SaveError(f"manager {tag!r} refers to {key}, which is not among the records")
        earliest = max(earliest, index[key])
        after.setdefault(earliest, []).append(tag)
    return after


def _records(
    content: StreamContent, encoder: ValueEncoder, tags_after: dict[int, list[str]]
) -> Iterator[bytes | memoryview]:
    """Packed (name, data) pairs, checking that each record refers only backwards."""
    written: set[ObjectKey] = set()
    for position, record in enumerate(content.records):
        what = f"record {record.key}"
        yield encoder.pack_top(record.key, what)
        encoder.take_references()  # the record's own name
        yield from encoder.pack_parts(record.data, what)
        for ref in encoder.take_references():
            if ref.ordinal != 0 and ref not in written:
                raise SaveError(
                    f"{what} refers to {ref}, which is not written before it; "
                    "records must come in dependency order"
                )
        written.add(record.key)
        for tag in tags_after.get(position, ()):
            yield encoder.pack_top(tag, f"manager tag {tag!r}")
            yield encoder.pack_top(content.header.managers[tag], f"manager tag {tag!r}")


def _chunked(parts: Iterator[bytes | memoryview], size: int = 1 << 20
             ) -> Iterator[bytes | memoryview]:
    """Join small packed values so the compressor sees few large writes.

    A part of ``size`` or more goes out alone: joining it would copy it once more.
    """
    pending: list[bytes | memoryview] = []
    total = 0
    for part in parts:
        if len(part) >= size:
            if pending:
                yield b"".join(pending)
                pending, total = [], 0
            yield part
            continue
        pending.append(part)
        total += len(part)
        if total >= size:
            yield b"".join(pending)
            pending, total = [], 0
    if pending:
        yield b"".join(pending)
