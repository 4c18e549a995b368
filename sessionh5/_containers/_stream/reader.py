"""Read a session stream into :class:`StreamContent`, refusing anything malformed.

Three steps: ``container`` undoes compression and the header line; :class:`_TopLevel`
feeds the decompressed chunks to msgpack (extensions decoded by ``decoding``) and
numbers each top-level value; and
:class:`_ContentBuilder` checks that the values have the shape the format gives
(metadata, providers, name/data pairs, nil) while it builds the records.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import msgpack  # type: ignore[import-untyped]

from ..._engine.gc import gc_paused
from ..._engine.records import ObjectKey, Record, SessionHeader
from ...errors import CorruptFileError, MemoryLimitError
from ..memory import memory_budget, memory_errors, size_text
from .container import StreamContent, decompressed_chunks, read_header_line
from .decoding import ValueDecoder
from .digest import DIGEST_KEY, DIGEST_TAIL, BodyDigest
from .extcodes import (
    ATTR_INFO_KEY,
    CLASS_VERSIONS_KEY,
)
from .lengths import SizeGuard, TooLarge

__all__ = ["read_stream"]

#: The reference raised msgpack's 1 MiB default after it broke real files.
_MAX_BUFFER = 2**32 - 1
#: A metadata-only read (``info``) reads at most this much of the file ...
METADATA_FILE_BYTES = 1 << 20
#: ... and decodes at most this much of what it decompresses to.
METADATA_BYTES = 16 << 20
#: msgpack's first buffer; it doubles for larger values, copying at each step. 16 MiB
#: saves a quarter of the page faults of reading array-heavy streams (pages of it
#: that are never written cost nothing).
_FIRST_BUFFER = 16 << 20


def read_stream(fileobj: BinaryIO, *, metadata_only: bool = False,
                live: bool = False) -> StreamContent:
    """Decode a whole stream, or only its header line and metadata when ``metadata_only``.

    Nothing the stream declares is allocated unchecked: the whole stream (all of it
    is kept) and each value in it must fit in the memory this process may use, and a
    metadata-only read stops after the first MiB of the file (METADATA_FILE_BYTES).
    ``live`` (a restore) gives record-only values (ext 11 and 14, enum members) as the
    application gets them; without it they stay as read (conversion, tools).

    Raises:
        CorruptFileError: damaged, truncated or not a session stream.
        MemoryLimitError: the stream needs more memory than this process may use.
        VersionError: a stream version other than 3.
    """
    if metadata_only:  # small steps: the metadata is in the first few KiB of a stream
        fileobj = _FirstBytes(fileobj, METADATA_FILE_BYTES)  # type: ignore[assignment]
        sizes = SizeGuard(METADATA_BYTES, METADATA_BYTES)
        chunks = decompressed_chunks(fileobj, 64 << 10)
    else:
        budget = memory_budget()
        sizes = SizeGuard(budget, budget)
        chunks = decompressed_chunks(fileobj)
    try:
        with memory_errors("the session stream"):
            line, rest = read_header_line(chunks)
            values = _TopLevel(chunks, rest, line.size, sizes, metadata_only, live)
            with gc_paused():  # tens of thousands of containers would trigger full collections
                return _read_records(values, SessionHeader(line.app_name, line.version),
                                     metadata_only)
    finally:
        chunks.close()  # closes the decompressor even when we stop early


class _FirstBytes:
    """A file that ends in an error after ``limit`` bytes: a metadata-only read needs the
    header line and the metadata, which a session writes first, and nothing more."""

    def __init__(self, fileobj: BinaryIO, limit: int) -> None:
        self._fileobj = fileobj
        self._left = limit

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0 and size != 0:
            raise CorruptFileError(_TOO_MUCH_METADATA)
        data = self._fileobj.read(self._left if size < 0 else min(size, self._left))
        self._left -= len(data)
        return data


_TOO_MUCH_METADATA = ("the stream's metadata does not end within its first MiB (a "
                      "metadata-only read, as info does, reads no further)")


def _read_records(values: _TopLevel, header: SessionHeader, metadata_only: bool) -> StreamContent:
    """Feed top-level values to the builder until the end marker (or the metadata)."""
    builder = _ContentBuilder(header)
    for item in values.items():
        builder.add(item)
        if metadata_only:
            return builder.content()
        if item.number == 1:
            _start_digest(values, builder, item)
        if builder.finished:
            _check_no_trailing(values, item)
            _check_digest(values, builder, item)
            return builder.content()
    raise CorruptFileError(
        f"corrupt session file: truncated after record {values.count} (no end marker)"
    )


def _start_digest(values: _TopLevel, builder: _ContentBuilder, metadata: _Item) -> None:
    """Uncompressed sessionh5 streams end their metadata with a digest entry (digest.py)."""
    if builder.body_digest is None:
        values.digest.stop()
    else:
        values.digest.skip(metadata.end - DIGEST_TAIL, metadata.end)


def _check_digest(values: _TopLevel, builder: _ContentBuilder, end: _Item) -> None:
    if builder.body_digest is not None and values.digest.hexdigest() != builder.body_digest:
        raise CorruptFileError(
            f"corrupt session file: the content does not match the digest stored in its "
            f"metadata (checked at the end marker, record {end.number})"
        )


def _check_no_trailing(values: _TopLevel, end: _Item) -> None:
    """Anything after the nil end marker means the file was damaged or concatenated."""
    extra = values.trailing_bytes()
    if extra:
        raise CorruptFileError(
            f"corrupt session file: {extra} byte(s) after the end marker (record {end.number})"
        )


# --- top-level values -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Item:
    """One top-level value, numbered from 1 (the metadata) with its decompressed offset."""

    number: int
    offset: int
    value: Any
    references: list[ObjectKey]
    end: int  # offset just after the value, counted from the first byte after the header


class _TopLevel:
    """Feeds decompressed chunks to msgpack and yields complete top-level values."""

    def __init__(self, chunks: Iterator[bytes], first: bytes, offset_base: int,
                 sizes: SizeGuard, metadata_only: bool, live: bool) -> None:
        self._chunks = itertools.chain([first], chunks)
        self._decoder = ValueDecoder(live=live)
        self._unpacker = msgpack.Unpacker(
            ext_hook=self._decoder.ext_hook,
            raw=False,
            strict_map_key=False,
            use_list=True,
            max_buffer_size=_MAX_BUFFER,
            read_size=min(_FIRST_BUFFER, sizes.value_limit),
            # checked when msgpack reads the header: a list takes 8 bytes per item at once
            max_array_len=sizes.value_limit // 8,
            max_map_len=sizes.value_limit // 2,
        )
        self._fed = 0
        self._value_start = 0  # where the value being assembled began (msgpack's tell()
        # moves past the headers of a value it has only begun)
        self._offset_base = offset_base
        self._sizes = sizes
        self._metadata_only = metadata_only
        self.count = 0
        self.digest = BodyDigest()

    def items(self) -> Iterator[_Item]:
        """Yield values as soon as they are complete; fail if the data ends inside one."""
        for chunk in self._chunks:
            self._feed(chunk)
            yield from self._complete_values()
        if int(self._unpacker.tell()) != self._fed:
            raise CorruptFileError(
                f"corrupt session file: truncated inside record {self.count + 1} "
                f"(at byte {self._offset()})"
            )

    def trailing_bytes(self) -> int:
        """Count what is left after the last value, reading the file to its end."""
        extra = self._fed - int(self._unpacker.tell())
        for chunk in self._chunks:
            extra += len(chunk)
            if extra > 1 << 20:  # enough to report; the rest need not be decompressed
                break
        return extra

    def _feed(self, chunk: bytes) -> None:
        try:
            self._sizes.check(chunk, self._fed, self._value_start)
            self._unpacker.feed(chunk)
        except TooLarge as exc:
            raise self._too_large(exc) from None
        except msgpack.BufferFull as exc:
            raise CorruptFileError(
                f"corrupt session file: record {self.count + 1} is larger than 4 GiB"
            ) from exc
        self._fed += len(chunk)
        self.digest.feed(chunk)

    def _too_large(self, exc: TooLarge) -> CorruptFileError | MemoryLimitError:
        if self._metadata_only:
            return CorruptFileError(_TOO_MUCH_METADATA)
        where = "the stream" if exc.what == "the whole stream" else \
            f"record {self.count + 1} (at byte {self._offset_base + self._value_start})"
        return MemoryLimitError(
            f"{where}: {exc.what} makes it at least {size_text(exc.needed)} long, more than "
            f"the {size_text(self._sizes.value_limit)} this process may still use (the "
            "machine's memory, or a ulimit or container limit)")

    def _complete_values(self) -> Iterator[_Item]:
        while True:
            offset = self._offset()
            try:
                value = self._unpacker.unpack()
            except msgpack.OutOfData:
                return
            except (ValueError, TypeError) as exc:
                # ValueError: msgpack format/stack errors, bad UTF-8, MalformedPayload;
                # TypeError: an unhashable map key (a list where a key should be).
                raise CorruptFileError(
                    f"corrupt session file: record {self.count + 1} (at byte {offset}) "
                    f"cannot be decoded: {exc}"
                ) from exc
            self._sizes.value_done()
            self._value_start = int(self._unpacker.tell())
            self.count += 1
            references = self._decoder.take_references()
            yield _Item(self.count, offset, value, references, int(self._unpacker.tell()))

    def _offset(self) -> int:
        return self._offset_base + int(self._unpacker.tell())


# --- record structure -----------------------------------------------------------------


class _ContentBuilder:
    """Checks the order of top-level values and collects header and records.

    Expected: metadata map, provider table, then pairs (reference, data) or (tag,
    reference to an object already written), then nil.
    """

    def __init__(self, header: SessionHeader) -> None:
        self.header = header
        self.records: list[Record] = []
        self.references: dict[ObjectKey, list[ObjectKey]] = {}
        self.finished = False
        self._written: set[ObjectKey] = set()
        self._versions: dict[str, int] = {}
        self._expect: Callable[[_Item], None] = self._metadata
        self.body_digest: str | None = None

    def add(self, item: _Item) -> None:
        """Accept the next top-level value or raise CorruptFileError saying what is wrong."""
        if self.finished:
            raise self._error(item, "data after the end marker")
        self._expect(item)

    def content(self) -> StreamContent:
        return StreamContent(self.header, self.records, self.references)

    def _error(self, item: _Item, problem: str) -> CorruptFileError:
        return CorruptFileError(
            f"corrupt session file: record {item.number} (at byte {item.offset}): {problem}"
        )

    def _metadata(self, item: _Item) -> None:
        metadata = item.value
        if type(metadata) is not dict or not all(type(key) is str for key in metadata):
            raise self._error(item, f"metadata must be a map with str keys, got {_kind(metadata)}")
        self.body_digest = self._digest_entry(item, metadata)
        self.header.attr_info = self._attr_info(item, metadata.pop(ATTR_INFO_KEY, {}))
        self._versions = self._class_versions(item, metadata.pop(CLASS_VERSIONS_KEY, {}))
        self.header.metadata = metadata
        self._expect = self._providers

    def _digest_entry(self, item: _Item, metadata: dict[str, Any]) -> str | None:
        if DIGEST_KEY not in metadata:
            return None
        if next(reversed(metadata)) != DIGEST_KEY:
            raise self._error(item, f"metadata {DIGEST_KEY!r} is not the last entry")
        value = metadata.pop(DIGEST_KEY)
        if type(value) is not str or len(value) != 32:
            raise self._error(item, f"metadata {DIGEST_KEY!r} is not a 32-character digest")
        return value

    def _attr_info(self, item: _Item, value: Any) -> dict[str, bool]:
        if type(value) is not dict or not all(
            type(k) is str and type(v) is bool for k, v in value.items()
        ):
            raise self._error(item, f"metadata {ATTR_INFO_KEY!r} is not a map of tag -> bool")
        return value

    def _class_versions(self, item: _Item, value: Any) -> dict[str, int]:
        if type(value) is not dict or not all(
            type(k) is str and type(v) is int for k, v in value.items()
        ):
            raise self._error(item, f"metadata {CLASS_VERSIONS_KEY!r} is not a map of str -> int")
        return value

    def _providers(self, item: _Item) -> None:
        table = item.value
        if type(table) is not dict:
            raise self._error(item, f"provider table must be a map, got {_kind(table)}")
        for name, entry in table.items():
            if type(name) is not str or not _is_provider_entry(entry):
                raise self._error(item, f"provider {name!r}: {entry!r} is not (version str, int)")
            table[name] = tuple(entry)
        self.header.providers = table
        self._expect = self._name

    def _name(self, item: _Item) -> None:
        name = item.value
        if name is None:
            self.finished = True
        elif type(name) is ObjectKey:
            if name in self._written:
                raise self._error(item, f"object {name} is written twice")
            self._expect = lambda data: self._object(name, data)
        elif type(name) is str:
            if name in self.header.managers:
                raise self._error(item, f"manager tag {name!r} appears twice")
            self._expect = lambda data: self._tag(name, data)
        else:
            raise self._error(
                item, f"expected an object reference, a manager tag or nil, got {_kind(name)}"
            )

    def _object(self, key: ObjectKey, item: _Item) -> None:
        for ref in item.references:
            if ref.ordinal != 0 and ref not in self._written:
                raise self._error(item, f"object {key} refers to {ref}, not written before it")
        self.records.append(Record(key, item.value, self._versions.get(key.class_name)))
        self.references[key] = item.references
        self._written.add(key)
        self._expect = self._name

    def _tag(self, tag: str, item: _Item) -> None:
        key = item.value
        if type(key) is not ObjectKey:
            raise self._error(
                item,
                f"manager tag {tag!r} is followed by {_kind(key)}, expected an object reference",
            )
        if key not in self._written:
            raise self._error(item, f"manager tag {tag!r} refers to {key}, not written before it")
        self.header.managers[tag] = key
        self._expect = self._name


def _is_provider_entry(entry: Any) -> bool:
    return (
        isinstance(entry, (list, tuple))
        and len(entry) == 2
        and type(entry[0]) is str
        and type(entry[1]) is int
    )


def _kind(value: Any) -> str:
    """Short description of an unexpected value for error messages."""
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}{'...' if len(text) > 40 else ''}"
