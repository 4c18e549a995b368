"""Read a session stream into :class:`StreamContent`, refusing anything malformed.

Three steps: ``container`` undoes compression and the header line; :class:`_TopLevel`
feeds the decompressed chunks to msgpack and numbers each top-level value; and
:class:`_ContentBuilder` checks that the values have the shape the format gives
(metadata, providers, name/data pairs, nil) while it builds the records.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, BinaryIO

import msgpack  # type: ignore[import-untyped]

from .._records import ObjectKey, PngImage, Record, SessionHeader
from ..errors import CorruptFileError
from .container import StreamContent, decompressed_chunks, read_header_line
from .digest import DIGEST_KEY, DIGEST_TAIL, BodyDigest
from .extcodes import (
    ATTR_INFO_KEY,
    CLASS_VERSIONS_KEY,
    LARGE_ARRAY_PAYLOAD,
    MAX_EXT_NESTING,
    ExtCode,
    MalformedPayload,
    array_from_packed,
    array_from_payload,
    scalar_from_payload,
    structured_scalar_from_payload,
    tinyarray_from_payload,
    unpack_reference,
)

__all__ = ["read_stream"]

#: The reference raised msgpack's 1 MiB default after it broke real files.
_MAX_BUFFER = 2**32 - 1
#: Enough for any int Python converts from text by default (4300 digits).
_MAX_BIG_INT_DIGITS = 4300


def read_stream(fileobj: BinaryIO, *, metadata_only: bool = False) -> StreamContent:
    """Decode a whole stream, or only its header line and metadata when ``metadata_only``.

    Raises:
        CorruptFileError: damaged, truncated or not a session stream.
        VersionError: a stream version other than 3.
    """
    chunks = decompressed_chunks(fileobj)
    try:
        line, rest = read_header_line(chunks)
        values = _TopLevel(chunks, rest, line.size)
        return _read_records(values, SessionHeader(line.app_name, line.version), metadata_only)
    finally:
        chunks.close()  # closes the decompressor even when we stop early


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

    def __init__(self, chunks: Iterator[bytes], first: bytes, offset_base: int) -> None:
        self._chunks = itertools.chain([first], chunks)
        self._decoder = _ValueDecoder()
        self._unpacker = msgpack.Unpacker(
            ext_hook=self._decoder.ext_hook,
            raw=False,
            strict_map_key=False,
            use_list=True,
            max_buffer_size=_MAX_BUFFER,
        )
        self._fed = 0
        self._offset_base = offset_base
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
        return self._fed - int(self._unpacker.tell()) + sum(len(chunk) for chunk in self._chunks)

    def _feed(self, chunk: bytes) -> None:
        try:
            self._unpacker.feed(chunk)
        except msgpack.BufferFull as exc:
            raise CorruptFileError(
                f"corrupt session file: record {self.count + 1} is larger than 4 GiB"
            ) from exc
        self._fed += len(chunk)
        self.digest.feed(chunk)

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
            self.count += 1
            references = self._decoder.take_references()
            yield _Item(self.count, offset, value, references, int(self._unpacker.tell()))

    def _offset(self) -> int:
        return self._offset_base + int(self._unpacker.tell())


# --- extension values -----------------------------------------------------------------


class _ValueDecoder:
    """msgpack ext_hook: turns each extension into its Python value and notes references."""

    def __init__(self) -> None:
        self._references: list[ObjectKey] = []
        self._depth = 0
        # Sessions refer to a few objects many times; parse each layout once.
        self._keys: dict[bytes, ObjectKey] = {}

    def take_references(self) -> list[ObjectKey]:
        """References seen since the last call (so, in the value just completed)."""
        references, self._references = self._references, []
        return references

    def ext_hook(self, code: int, payload: bytes) -> Any:
        """Decode one extension; every failure is a MalformedPayload naming the code."""
        if code == ExtCode.REFERENCE:
            key = self._keys.get(payload)
            if key is None:
                key = self._keys[payload] = unpack_reference(payload)
            self._references.append(key)
            return key
        if code in _RAW_DECODERS:
            return _RAW_DECODERS[code](payload)
        if code == ExtCode.DATETIME:
            return _datetime_from_payload(self._text_payload(payload))
        if code not in _PACKED_DECODERS:
            raise MalformedPayload(f"unknown extension code {code}")
        if code == ExtCode.NDARRAY and len(payload) >= LARGE_ARRAY_PAYLOAD:
            array = array_from_packed(payload)
            if array is not None:
                return array
        return _PACKED_DECODERS[code](self._unpack(code, payload))

    def _unpack(self, code: int, payload: bytes) -> Any:
        """Unpack a nested payload with the same settings, bounding the nesting depth."""
        if self._depth >= MAX_EXT_NESTING:
            raise MalformedPayload(f"extension values nested deeper than {MAX_EXT_NESTING}")
        self._depth += 1
        try:
            return msgpack.unpackb(
                payload, ext_hook=self.ext_hook, raw=False, strict_map_key=False, use_list=True
            )
        except MalformedPayload:
            raise
        except ValueError as exc:
            raise MalformedPayload(f"extension {code} payload is not msgpack: {exc}") from exc
        except TypeError as exc:  # a list or set used as a map key
            raise MalformedPayload(f"extension {code} payload has a bad map key: {exc}") from exc
        finally:
            self._depth -= 1

    def _text_payload(self, payload: bytes) -> Any:
        """Ext 7 is a packed string; a raw ASCII one is accepted too (the spec is terse)."""
        if payload[:1].isdigit():
            return payload.decode("ascii", errors="replace")
        return self._unpack(ExtCode.DATETIME, payload)


def _sequence(value: Any, size: int, what: str) -> list[Any] | tuple[Any, ...]:
    """A list (or tuple) of exactly ``size`` items."""
    if not isinstance(value, (list, tuple)) or len(value) != size:
        raise MalformedPayload(f"{what} payload {value!r} is not a list of {size} items")
    return value


def _ints(value: Any, size: int, what: str) -> list[int]:
    """A list of exactly ``size`` ints (bools are refused: they are not counts)."""
    items = _sequence(value, size, what)
    if not all(type(item) is int for item in items):
        raise MalformedPayload(f"{what} payload {value!r} holds a non-int")
    return list(items)


def _list(value: Any, what: str) -> list[Any]:
    if type(value) is not list:
        raise MalformedPayload(f"{what} payload is {type(value).__name__}, expected a list")
    return value


def _complex(value: Any) -> complex:
    real, imag = _sequence(value, 2, "complex")
    if not all(type(part) in (int, float) for part in (real, imag)):
        raise MalformedPayload(f"complex payload {value!r} holds a non-number")
    return complex(real, imag)


def _hashable_items(build: Callable[[list[Any]], Any], what: str) -> Callable[[Any], Any]:
    def decode(value: Any) -> Any:
        try:
            return build(_list(value, what))
        except TypeError as exc:
            raise MalformedPayload(f"{what} payload holds an unhashable item") from exc

    return decode


def _ordered_dict(value: Any) -> OrderedDict[Any, Any]:
    pairs = [_sequence(pair, 2, "OrderedDict item") for pair in _list(value, "OrderedDict")]
    return _hashable_items(OrderedDict, "OrderedDict")(pairs)  # type: ignore[no-any-return]


def _datetime_from_payload(value: Any) -> datetime:
    """fromisoformat, also for the reference's malformed ``+00:00Z`` suffix and plain ``Z``."""
    if type(value) is not str:
        raise MalformedPayload(f"datetime payload {value!r} is not a string")
    text = value[:-1] if value.endswith("+00:00Z") else value
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise MalformedPayload(f"datetime payload {value!r} is not ISO 8601") from exc


def _bounded_deque(value: Any) -> deque[Any]:
    maxlen, items = _sequence(value, 2, "bounded deque")
    if type(maxlen) is not int or maxlen < 0 or len(_list(items, "bounded deque")) > maxlen:
        raise MalformedPayload(f"bounded deque payload has a bad maxlen {maxlen!r}")
    return deque(items, maxlen)


def _named_tz_datetime(value: Any) -> datetime:
    """Ext 67: an aware isoformat plus the name of its timezone."""
    text, name = _sequence(value, 2, "named-timezone datetime")
    moment = _datetime_from_payload(text)
    offset = moment.utcoffset()
    if offset is None or type(name) is not str:
        raise MalformedPayload(f"named-timezone datetime payload {value!r} is not (aware, name)")
    try:
        zone = timezone(offset, name)
    except ValueError as exc:  # an offset of a day or more
        raise MalformedPayload(f"named-timezone datetime payload {value!r}: {exc}") from exc
    return moment.replace(tzinfo=zone)


def _guarded(build: Callable[..., Any], what: str) -> Callable[[list[int]], Any]:
    """Call a constructor whose range checks raise ValueError/OverflowError."""

    def decode(args: list[Any]) -> Any:
        try:
            return build(*args)
        except (ValueError, OverflowError, TypeError) as exc:
            raise MalformedPayload(f"{what} payload {args!r} is out of range: {exc}") from exc

    return decode


def _timezone(value: Any) -> timezone:
    args = _list(value, "timezone")
    if len(args) not in (1, 2) or type(args[0]) is not timedelta:
        raise MalformedPayload(f"timezone payload {args!r} is not (offset[, name])")
    if len(args) == 2 and type(args[1]) is not str:
        raise MalformedPayload(f"timezone name {args[1]!r} is not a string")
    return _guarded(timezone, "timezone")(args)  # type: ignore[no-any-return]


def _big_int(payload: bytes) -> int:
    """Decimal ASCII with an optional sign; bounded so int() stays fast."""
    digits = payload[1:] if payload[:1] == b"-" else payload
    if not digits.isdigit() or len(digits) > _MAX_BIG_INT_DIGITS:
        raise MalformedPayload(f"big int payload {payload[:40]!r} is not a decimal number")
    return int(payload)


def _png(payload: bytes) -> PngImage:
    return PngImage(bytes(payload))


_RAW_DECODERS: dict[int, Callable[[bytes], Any]] = {
    ExtCode.IMAGE: _png,
    ExtCode.BYTEARRAY: bytearray,
    ExtCode.BIG_INT: _big_int,
}

_PACKED_DECODERS: dict[int, Callable[[Any], Any]] = {
    ExtCode.NDARRAY: array_from_payload,
    ExtCode.COMPLEX: _complex,
    ExtCode.SET: _hashable_items(set, "set"),
    ExtCode.FROZENSET: _hashable_items(frozenset, "frozenset"),
    ExtCode.ORDERED_DICT: _ordered_dict,
    ExtCode.DEQUE: lambda value: deque(_list(value, "deque")),
    ExtCode.TIMEDELTA: lambda value: _guarded(timedelta, "timedelta")(_ints(value, 3, "timedelta")),
    ExtCode.NUMPY_SCALAR: scalar_from_payload,
    ExtCode.FINALIZED: lambda value: value,
    ExtCode.TUPLE: lambda value: tuple(_list(value, "tuple")),
    ExtCode.TIMEZONE: _timezone,
    ExtCode.TINYARRAY: tinyarray_from_payload,
    ExtCode.RANGE: lambda value: _guarded(range, "range")(_ints(value, 3, "range")),
    ExtCode.BOUNDED_DEQUE: _bounded_deque,
    ExtCode.NAMED_TZ_DATETIME: _named_tz_datetime,
    ExtCode.STRUCTURED_SCALAR: structured_scalar_from_payload,
}


# --- record structure -----------------------------------------------------------------


class _ContentBuilder:
    """Checks the order of top-level values and collects header and records.

    Expected: metadata map, provider table, then pairs (reference, data) or (tag,
    reference to an object already written), then nil.
    """

    def __init__(self, header: SessionHeader) -> None:
        self.header = header
        self.records: list[Record] = []
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
        return StreamContent(self.header, self.records)

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
