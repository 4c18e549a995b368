"""The flat stream codec: real files, round trips, and every kind of bad input."""

from __future__ import annotations

import enum
import io
import random
from collections import OrderedDict, deque
from datetime import datetime, timedelta, timezone
from typing import Any

import msgpack
import numpy as np
import pytest
from helpers import matrix
from stream_variants import (
    FIXTURE_NAMES,
    MISSING_FIXTURES,
    assert_same,
    assert_same_content,
    build_stream,
    compress,
    core_ref,
    ext,
    fixture_path,
    flip_bit,
    have_fixtures,
    raw_stream,
    read_bytes,
    record_offsets,
    replace_at,
    top_level_values,
    with_header,
)

from sessionh5._containers._stream import (
    StreamContent,
    detect_container,
    encoding,
    read_stream,
    write_stream,
)
from sessionh5._containers._stream.digest import DIGEST_KEY, DIGEST_TAIL
from sessionh5._containers._stream.extcodes import pack_reference, unpack_reference
from sessionh5._engine.records import (
    SESSION_KEY,
    FinalizedState,
    ObjectKey,
    PngImage,
    Record,
    SessionHeader,
    TinyArray,
)
from sessionh5.errors import (
    CorruptFileError,
    RestoreError,
    SaveError,
    UnsupportedValueError,
    UsageError,
    VersionError,
)

pytestmark = pytest.mark.skipif(not have_fixtures(), reason=MISSING_FIXTURES)
COMPRESSIONS = ["lz4", "gzip", None]
UTC = timezone(timedelta(0))  # the timezone.utc singleton


def read_fixture(name: str) -> StreamContent:
    with fixture_path(name).open("rb") as file:
        return read_stream(file)


def roundtrip(content: StreamContent, compress: Any = "lz4") -> StreamContent:
    buffer = io.BytesIO()
    write_stream(buffer, content, compress=compress)
    return read_bytes(buffer.getvalue())


def encode(content: StreamContent, compress: Any = None) -> bytes:
    buffer = io.BytesIO()
    write_stream(buffer, content, compress=compress)
    return buffer.getvalue()


# --- real files -----------------------------------------------------------------------


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_header_and_tables(name: str) -> None:
    """Both real files decode: standard metadata, provider table, manager tags."""
    content = read_fixture(name)
    header = content.header
    assert header.app_name == "ChimeraX" and header.session_version == 3
    assert {"generator", "created", "creator"} <= set(header.metadata)
    assert header.metadata["generator"].startswith("UCSF-ChimeraX/")
    assert "attr_info" not in header.metadata and header.attr_info["models"] is True
    assert header.providers["ChimeraX-Core"] == ("0.9", 1)
    assert {"models", "main_view"} <= set(header.managers)
    assert header.managers["models"] == ObjectKey("Models", 1)


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_records(name: str) -> None:
    """Records hold arrays, tuples and references, keyed by core or provider class."""
    content = read_fixture(name)
    by_key = {record.key: record for record in content.records}
    structure = by_key[ObjectKey("AtomicStructure", 1, "ChimeraX-Atomic")].data
    positions = structure["structure state"]["model state"]["positions"]
    assert positions.dtype == np.dtype("<f8") and positions.shape == (1, 3, 4)
    assert structure["structure state"]["model state"]["id"] == (1,)
    models = by_key[ObjectKey("Models", 1)].data["models"]
    assert models[(1,)] == ObjectKey("AtomicStructure", 1, "ChimeraX-Atomic")
    assert all(record.version is None for record in content.records)
    assert by_key[ObjectKey("View", 1)].data["camera"] == ObjectKey("MonoCamera", 1)


def test_rainbow_keeps_reader_added_keys() -> None:
    """A re-saved file carries session_version and modified in its metadata."""
    metadata = read_fixture("rainbow").header.metadata
    assert metadata["session_version"] == 3 and metadata["modified"].endswith("Z")


@pytest.mark.parametrize("how", COMPRESSIONS)
@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_reencodes_equal(name: str, how: str | None) -> None:
    """Writing a real file again and reading it back gives the same values and types."""
    original = read_fixture(name)
    assert_same_content(original, roundtrip(original, how))


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_reencodes_byte_for_byte(name: str) -> None:
    """Uncompressed, the output equals the original but for the digest entry our writer
    appends to the metadata map: the ext-11 wrapper of the structure state is kept."""
    raw = raw_stream(name)
    ours = without_digest_entry(encode(read_fixture(name)))
    wrapper = raw.index(b"\xafstructure state\xc8") + 16  # ext 16 header: c8, length, 0b
    assert raw[wrapper] == 0xC8 and raw[wrapper + 3] == 11
    assert ours == raw


def without_digest_entry(stream: bytes) -> bytes:
    """Drop the trailing metadata entry ``sessionh5-digest`` (and count it out of the map)."""
    start = stream.index(msgpack.packb(DIGEST_KEY))
    body = stream[:start] + stream[start + DIGEST_TAIL :]
    header_end = body.index(b"\n") + 1
    assert 0x81 <= body[header_end] <= 0x8F  # a fixmap: the count is in the low bits
    return body[:header_end] + bytes([body[header_end] - 1]) + body[header_end + 1 :]


def test_uncompressed_stream_detects_a_flipped_byte_by_its_digest() -> None:
    """Without a frame checksum, the metadata digest catches damage anywhere after the header."""
    data = encode(read_fixture("esp"))
    damaged = bytearray(data)
    damaged[len(data) // 2] ^= 0x01
    with pytest.raises(CorruptFileError, match=r"(digest|cannot be decoded)"):
        read_stream(io.BytesIO(bytes(damaged)))


@pytest.mark.parametrize("how", ["lz4", None])
def test_fixture_recompressed(how: str | None) -> None:
    """The same stream reads the same under every compression."""
    raw = raw_stream("esp")
    assert_same_content(read_fixture("esp"), read_bytes(compress(raw, how)))


def test_concatenated_lz4_frames_are_one_stream() -> None:
    """The lz4 format allows several frames in a row; junk after the last one is refused."""
    raw = raw_stream("esp")
    middle = len(raw) // 2
    frames = compress(raw[:middle], "lz4") + compress(raw[middle:], "lz4")
    assert_same_content(read_fixture("esp"), read_bytes(frames))
    with pytest.raises(CorruptFileError, match=r"data after the last lz4 frame"):
        read_bytes(frames + b"junk")


def test_metadata_only_reads_one_record() -> None:
    """metadata_only stops after the metadata: damage further on is not even seen."""
    raw = raw_stream("esp")
    cut = raw[: record_offsets(raw)[1] + 5]
    content = read_bytes(cut, metadata_only=True)
    assert content.header.metadata["creator"] == "goddard"
    assert content.records == [] and content.header.managers == {}
    with pytest.raises(CorruptFileError, match="truncated inside record 2"):
        read_bytes(cut)


# --- detection and layouts ------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "kind"),
    [
        pytest.param(b"\x89HDF\r\n\x1a\n", "hdf5", id="hdf5"),
        pytest.param(b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "gzip", id="gzip"),
        pytest.param(b"\x04\x22\x4d\x18\x64\x40\xa7\x00", "lz4", id="lz4"),
        pytest.param(b"# ChimeraX", "stream", id="stream"),
        pytest.param(b"PK\x03\x04", None, id="zip"),
        pytest.param(b"", None, id="empty"),
    ],
)
def test_detect_container(first: bytes, kind: str | None) -> None:
    """The container is named from the first bytes alone."""
    assert detect_container(first) == kind


@pytest.mark.parametrize(
    ("key", "layout"),
    [
        pytest.param(ObjectKey("Models", 1), b"\x00\x06\x01Models\x01", id="core"),
        pytest.param(
            ObjectKey("RegAttrManager", 1, "ChimeraX-Atomic"),
            b"\x01\x0f\x0e\x01ChimeraX-AtomicRegAttrManager\x01",
            id="provider",
        ),
        pytest.param(SESSION_KEY, b"\x00\x07\x01Session\x00", id="ordinal-0"),
        pytest.param(ObjectKey("A", 256), b"\x00\x01\x02A\x00\x01", id="two-byte-ordinal"),
    ],
)
def test_reference_layout(key: ObjectKey, layout: bytes) -> None:
    """References use the format's exact bytes and read back to the same key."""
    assert pack_reference(key) == layout
    assert unpack_reference(layout) == key


# --- value round trips ----------------------------------------------------------------

TARGET = ObjectKey("Target", 1)
FOREIGN = ObjectKey("Thing", 2, "Some-Provider")

VALUES = [
    pytest.param(None, id="none"),
    pytest.param([True, False], id="bool"),
    pytest.param([0, -1, 2**63 - 1, -(2**63), 2**64 - 1], id="int64"),
    pytest.param([2**64, -(2**63) - 1, 10**100, -(10**300)], id="big-int"),
    pytest.param([1.5, float("nan"), float("inf"), -float("inf"), -0.0], id="float"),
    pytest.param(complex(1.5, -2), id="complex"),
    pytest.param(["héllo ☃", ""], id="str"),
    pytest.param([b"\x00\xff", b""], id="bytes"),
    pytest.param([bytearray(b"ab"), bytearray()], id="bytearray"),
    pytest.param([1, [2, ["x"]], []], id="list"),
    pytest.param((1, (2,), (), [(3, 4)]), id="tuple"),
    pytest.param({(1, 2): "tuple", 3: "int", TARGET: "ref", frozenset({1}): "fs"}, id="keys"),
    pytest.param([{1, "a", (2, 3)}, set()], id="set"),
    pytest.param(frozenset({1.5, "b"}), id="frozenset"),
    pytest.param(OrderedDict([("b", 1), ("a", (2,))]), id="ordereddict"),
    pytest.param(deque([1, "x", (2,)]), id="deque"),
    pytest.param([range(1, 10, 3), range(0), range(5, -5, -2)], id="range"),
    pytest.param(datetime(2020, 1, 2, 3, 4, 5, 678), id="naive-datetime"),
    pytest.param(datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC), id="utc-datetime"),
    pytest.param(
        datetime(1999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
        id="offset-datetime",
    ),
    pytest.param(timedelta(days=-1, seconds=5, microseconds=7), id="timedelta"),
    pytest.param([UTC, timezone(timedelta(hours=2), "CEST")], id="timezone"),
    pytest.param(np.arange(12, dtype="<f8").reshape(3, 4), id="array-f8"),
    pytest.param(np.arange(6, dtype=">f4").reshape(2, 3), id="array-big-endian"),
    pytest.param(np.array([1, -2], dtype=">i8"), id="array-big-endian-int"),
    pytest.param([np.arange(5, dtype=t) for t in ("i1", "u2", "<u8", "c16")], id="ints"),
    pytest.param(np.array([[True], [False]]), id="array-bool"),
    pytest.param(np.array(["ab", "cde"]), id="array-unicode"),
    pytest.param(np.array([b"x", b"yz"]), id="array-bytes"),
    pytest.param(np.array(["2020-01-01", "NaT"], dtype="M8[ns]"), id="array-datetime64"),
    pytest.param(np.array([1, 2], dtype="m8[s]"), id="array-timedelta64"),
    pytest.param(np.array(3.5), id="array-0d"),
    pytest.param(np.zeros((0, 3), dtype="<i4"), id="array-empty"),
    pytest.param(np.zeros(2, dtype="V3"), id="array-void"),
    pytest.param(
        np.zeros(3, dtype=[("a", ">i4"), ("b", "<f8", (2, 2)), ("c", [("x", "u1"), ("y", "S3")])]),
        id="array-structured",
    ),
    pytest.param(np.zeros(2, dtype=np.dtype([("a", "u1"), ("b", "<i4")], align=True)), id="padded"),
    pytest.param(
        [np.float32(1.5), np.int64(-3), np.bool_(True), np.uint8(255), np.complex64(1j)],
        id="numpy-scalars",
    ),
    pytest.param([np.float64(2.5), np.str_("ab"), np.bytes_(b"x")], id="numpy-subclass-scalars"),
    pytest.param([np.datetime64("2020-01-01", "D"), np.void(b"\x01\x02")], id="numpy-scalars-2"),
    pytest.param(PngImage(b"\x89PNG\r\n\x1a\n\x00"), id="png"),
    pytest.param([SESSION_KEY, TARGET, FOREIGN, ObjectKey("Target", 0)], id="references"),
    pytest.param({"a": [({"b": (1, bytearray(b"z"))},)]}, id="nested"),
]


def content_with(data: Any, **header: Any) -> StreamContent:
    """A session whose last record holds ``data`` and may refer to TARGET and FOREIGN."""
    records = [Record(TARGET, {}), Record(FOREIGN, [1]), Record(ObjectKey("Value", 1), data)]
    return StreamContent(SessionHeader("Test", **header), records)


@pytest.mark.parametrize("value", VALUES)
def test_value_roundtrip(value: Any) -> None:
    """Every value type comes back with the same type, dtype and contents."""
    decoded = roundtrip(content_with(value)).records[-1].data
    assert_same(value, decoded)


def test_value_matrix_in_one_record() -> None:
    """All values together, through every compression."""
    matrix = {f"v{index}": param.values[0] for index, param in enumerate(VALUES)}
    for how in COMPRESSIONS:
        content = content_with(matrix)
        assert_same_content(content, roundtrip(content, how))


def test_fortran_and_strided_arrays_come_back_c_ordered() -> None:
    """Layout in memory is not kept, values are."""
    base = np.arange(24, dtype="<i2").reshape(4, 6)
    for array in (np.asfortranarray(base), base[::2, 1::2]):
        decoded = roundtrip(content_with(array)).records[-1].data
        assert decoded.flags.c_contiguous
        assert_same(np.ascontiguousarray(array), decoded)


def test_large_arrays_are_written_byte_for_byte_as_packing_them_would(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Arrays spliced in as views (encoding.LENT_ARRAY_NBYTES) give the very same stream."""
    rng = np.random.default_rng(5)
    big = rng.random((1024, 300))  # 2.4 MB, contiguous
    data = {
        "volume": big,
        "strided": big[:, ::2],  # not contiguous: lent as a copy
        "nested": (big[:600],),  # inside a tuple ext: packed there, not lent
        "list": [np.arange(300_000, dtype="<i4"), "after", np.zeros(3)],
        "records": np.zeros(70_000, dtype=[("x", "<f4"), ("n", "<i2"), ("s", "S10")]),
        "tail": "the end",
    }
    parts = encoding.ValueEncoder().pack_parts(data, "test")
    assert len(parts) == 1 + 3 * 4  # each lent array: packed head, ext head, its bytes
    content = content_with(data)
    lent = encode(content)
    with monkeypatch.context() as patch:
        patch.setattr(encoding, "LENT_ARRAY_NBYTES", 2**62)
        assert len(encoding.ValueEncoder().pack_parts(data, "test")) == 1  # nothing lent
        assert encode(content) == lent
    for how in COMPRESSIONS:  # the compressors see other write sizes, so compare values
        assert_same(data, roundtrip(content, how).records[-1].data)


def test_deque_maxlen_uses_ext_66() -> None:
    """A deque with maxlen goes to sessionh5's ext 66; without one it stays the spec's ext 6."""
    bounded = deque([1, (2,)], maxlen=5)
    decoded = roundtrip(content_with([bounded, deque([3])])).records[-1].data
    assert_same([bounded, deque([3])], decoded)
    values = top_level_values(encode(content_with([bounded, deque([3])])))
    assert [item.code for item in values[-2]] == [66, 6]


def test_named_timezone_datetime_uses_ext_67() -> None:
    """isoformat has no slot for a timezone's own name; ext 67 carries it, ext 7 the rest."""
    cest = timezone(timedelta(hours=2), "CEST")
    value = [datetime(2024, 7, 1, 8, tzinfo=cest), datetime(2024, 7, 1, tzinfo=UTC)]
    decoded = roundtrip(content_with(value)).records[-1].data
    assert_same(value, decoded)
    assert decoded[0].tzname() == "CEST"
    assert [item.code for item in top_level_values(encode(content_with(value)))[-2]] == [67, 7]


def test_structured_numpy_scalar_uses_ext_68() -> None:
    """A numpy.void with fields travels as a 0-d structured array and comes back a scalar."""
    scalar = np.array([(1, 2.5, b"ab")], dtype=[("a", "<i2"), ("b", ">f8"), ("c", "S2")])[0]
    decoded = roundtrip(content_with(scalar)).records[-1].data
    assert type(decoded) is np.void
    assert decoded.dtype == scalar.dtype and decoded.tobytes() == scalar.tobytes()
    assert top_level_values(encode(content_with(scalar)))[-2].code == 68


def test_header_managers_and_versions_roundtrip() -> None:
    """Managers keep their order, attr_info and class versions come back."""
    header = SessionHeader(
        "MyApp",
        metadata={"creator": "me", "created": "2024-01-01T00:00:00+00:00"},
        providers={"My-Bundle": ("1.2", 1)},
        managers={"late": ObjectKey("B", 1), "early": ObjectKey("A", 1)},
        attr_info={"late": True, "early": False},
    )
    records = [
        Record(ObjectKey("A", 1), {"x": 1}, version=3),
        Record(ObjectKey("B", 1), {"a": ObjectKey("A", 1)}, version=1),
        Record(ObjectKey("C", 1), None),
    ]
    content = StreamContent(header, records)
    assert_same_content(content, roundtrip(content))
    values = top_level_values(encode(content))
    assert values[0]["sessionh5-class-versions"] == {"A": 3, "B": 1}
    assert values[6:10] == ["late", values[4], "early", values[2]]


# --- writer refusals ------------------------------------------------------------------


class Unknown:
    pass


class Flags(enum.IntFlag):
    A = 1


@pytest.mark.parametrize(
    ("value", "match"),
    [
        pytest.param(len, "builtin_function_or_method", id="function"),
        pytest.param(Unknown(), "test_stream_codec.Unknown", id="unknown-class"),
        pytest.param(np.array([1, None], dtype=object), "object dtype", id="object-array"),
        pytest.param(np.zeros(1, dtype=[("o", "O")]), "object dtype", id="object-field"),
        pytest.param(matrix([[1]]), r"numpy\.matrix.*np\.asarray\(value\)",
                     id="array-subclass"),
        pytest.param(memoryview(b"x"), "memoryview", id="memoryview"),
        pytest.param(Flags.A, "Flags", id="int-flag"),
        pytest.param("bad \udc80", "surrogates", id="lone-surrogate"),
        pytest.param(ObjectKey("", 1), "non-empty", id="empty-class-name"),
        pytest.param(10**5000, "too large", id="int-too-large"),
    ],
)
def test_unsupported_values_are_refused(value: Any, match: str) -> None:
    """A value without a stream encoding raises UnsupportedValueError naming it."""
    with pytest.raises(UnsupportedValueError, match=match):
        encode(content_with(value))


def test_zoneinfo_datetime_is_refused() -> None:
    """Only fixed offsets survive isoformat(), so other tzinfo kinds are refused."""
    zoneinfo = pytest.importorskip("zoneinfo")
    try:
        value = datetime(2020, 1, 1, tzinfo=zoneinfo.ZoneInfo("Europe/Paris"))
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip("no time zone database")
    with pytest.raises(UnsupportedValueError, match="ZoneInfo"):
        encode(content_with(value))


def test_self_containing_list_is_refused() -> None:
    """A cycle of plain containers cannot be packed and says so."""
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(UnsupportedValueError, match="nested deeper"):
        encode(content_with(loop))


@pytest.mark.parametrize(
    ("records", "managers", "error", "match"),
    [
        pytest.param(
            [Record(ObjectKey("A", 1), ObjectKey("B", 1)), Record(ObjectKey("B", 1), 0)],
            {},
            SaveError,
            "dependency order",
            id="forward-reference",
        ),
        pytest.param(
            [Record(ObjectKey("A", 1), 0), Record(ObjectKey("A", 1), 1)],
            {},
            SaveError,
            "twice",
            id="duplicate",
        ),
        pytest.param([], {"models": ObjectKey("M", 1)}, SaveError, "not among", id="no-manager"),
        pytest.param(
            [Record(ObjectKey("A", 1), 0, 1), Record(ObjectKey("A", 2), 0, 2)],
            {},
            SaveError,
            "one version per class",
            id="version-conflict",
        ),
    ],
)
def test_inconsistent_content_is_refused(
    records: list[Record], managers: dict[str, ObjectKey], error: type, match: str
) -> None:
    """The writer never produces a stream its reader would refuse."""
    content = StreamContent(SessionHeader("Test", managers=managers), records)
    with pytest.raises(error, match=match):
        encode(content)


@pytest.mark.parametrize(
    ("header", "compress", "match"),
    [
        pytest.param(SessionHeader("Two words"), None, "one ASCII word", id="app-name"),
        pytest.param(SessionHeader("A" * 300), None, "longer than 256", id="long-app-name"),
        pytest.param(
            SessionHeader("Test", metadata={"attr_info": {}}), None, "reserved", id="reserved"
        ),
        pytest.param(SessionHeader("Test", session_version=2), None, "version 3", id="version"),
        pytest.param(SessionHeader("Test"), "zip", "compress must be", id="compression"),
    ],
)
def test_bad_arguments_are_usage_errors(header: SessionHeader, compress: Any, match: str) -> None:
    """Bad names, reserved keys and unknown compressions fail before writing."""
    with pytest.raises(UsageError, match=match):
        encode(StreamContent(header), compress)


# --- bad input ------------------------------------------------------------------------


def esp_variant(how: str | None, change: Any) -> bytes:
    return compress(change(raw_stream("esp")), how)


@pytest.mark.parametrize(
    ("data", "error", "match"),
    [
        pytest.param(b"", CorruptFileError, "file is empty", id="empty"),
        pytest.param(b"\x89HDF\r\n\x1a\n" + bytes(100), CorruptFileError, "HDF5", id="hdf5"),
        pytest.param(b"hello world\n", CorruptFileError, "does not start", id="not-session"),
        pytest.param(compress(b"", "gzip"), CorruptFileError, "stream is empty", id="empty-gzip"),
        pytest.param(b"# X Session version 3", CorruptFileError, "inside the header", id="no-eol"),
        pytest.param(b"#" + b" " * 300 + b"\n", CorruptFileError, "longer than 256", id="long"),
        pytest.param(b"# X Sessions version 3\n\xc0", CorruptFileError, "is not '#", id="odd"),
        pytest.param(b"# A B Session version 3\n", CorruptFileError, "one word, found 2", id="app"),
        pytest.param(b"# X Session version three\n", CorruptFileError, "not a number", id="nan"),
        pytest.param(b"# \xff Session version 3\n", CorruptFileError, "not ASCII", id="ascii"),
    ],
)
def test_not_a_session_stream(data: bytes, error: type, match: str) -> None:
    """Files that are not session streams are refused from their first bytes."""
    with pytest.raises(error, match=match):
        read_bytes(data)


@pytest.mark.parametrize("how", COMPRESSIONS)
@pytest.mark.parametrize(
    ("version", "match"),
    [
        pytest.param(1, "version 1 is obsolete.*pickle", id="v1"),
        pytest.param(2, "version 2 is obsolete.*early msgpack", id="v2"),
        pytest.param(4, "version 4 is not readable", id="v4"),
        pytest.param(0, "version 0 is not readable", id="v0"),
    ],
)
def test_other_versions_are_refused(how: str | None, version: int, match: str) -> None:
    """Only version 3 is read; 1 and 2 are refused as obsolete (never unpickled)."""
    line = f"# ChimeraX Session version {version}".encode()
    with pytest.raises(VersionError, match=match):
        read_bytes(esp_variant(how, lambda raw: with_header(raw, line)))


def test_long_header_in_real_file() -> None:
    """A header line past 256 bytes is refused even when the rest is a valid stream."""
    line = b"# ChimeraX" + b" " * 250 + b"Session version 3"
    with pytest.raises(CorruptFileError, match="longer than 256"):
        read_bytes(with_header(raw_stream("esp"), line))


@pytest.mark.parametrize("how", COMPRESSIONS)
def test_truncated_between_records(how: str | None) -> None:
    """A stream cut exactly between records lacks its end marker and is refused."""
    raw = raw_stream("esp")
    offsets = record_offsets(raw)
    for number, cut in [(1, offsets[1]), (2, offsets[2]), (40, offsets[40]), (78, offsets[-2])]:
        message = f"truncated after record {number} \\(no end marker\\)"
        with pytest.raises(CorruptFileError, match=message):
            read_bytes(compress(raw[:cut], how))


@pytest.mark.parametrize("how", COMPRESSIONS)
def test_truncated_inside_records(how: str | None) -> None:
    """A stream cut inside a record names that record."""
    raw = raw_stream("esp")
    offsets = record_offsets(raw)
    for number in (1, 7, 9, len(offsets) - 2):
        cut = (offsets[number - 1] + offsets[number]) // 2
        with pytest.raises(CorruptFileError, match=f"truncated inside record {number} "):
            read_bytes(compress(raw[:cut], how))


@pytest.mark.parametrize("how", ["lz4", "gzip"])
@pytest.mark.parametrize("keep", [0.3, 0.9, 0.999])
def test_truncated_compressed_file(how: str, keep: float) -> None:
    """A compressed file cut short is reported as damaged compression."""
    data = compress(raw_stream("esp"), how)
    with pytest.raises(CorruptFileError, match=f"damaged {how} compression"):
        read_bytes(data[: int(len(data) * keep)])


@pytest.mark.parametrize("how", COMPRESSIONS)
@pytest.mark.parametrize("garbage", [b"\x00", b"\xc0", b"garbage", b"\x92\x01"])
def test_trailing_bytes_after_end_marker(how: str | None, garbage: bytes) -> None:
    """Anything after the nil end marker is corruption."""
    data = esp_variant(how, lambda raw: raw + garbage)
    with pytest.raises(CorruptFileError, match=rf"{len(garbage)} byte\(s\) after the end"):
        read_bytes(data)


@pytest.mark.parametrize("how", ["lz4", "gzip"])
def test_garbage_after_compressed_frame(how: str) -> None:
    """Bytes after the compressed frame are not a second frame and are refused."""
    with pytest.raises(CorruptFileError, match=f"damaged {how} compression"):
        read_bytes(compress(raw_stream("esp"), how) + b"garbage!")


def test_bit_flip_in_gzip_body() -> None:
    """gzip's CRC catches any flipped bit in the deflate data."""
    data = compress(raw_stream("esp"), "gzip")
    for offset in (20, len(data) // 2, len(data) - 12):
        with pytest.raises(CorruptFileError, match="damaged gzip compression"):
            read_bytes(flip_bit(data, offset, 3))


def test_bit_flip_in_lz4_frame_header() -> None:
    """The lz4 frame descriptor has a checksum, so damage there is caught."""
    data = compress(raw_stream("esp"), "lz4")
    with pytest.raises(CorruptFileError, match="damaged lz4 compression"):
        read_bytes(flip_bit(data, 5, 2))


def test_bit_flip_in_header_version() -> None:
    """'3' with its low bit flipped is '2': an obsolete version, not a crash."""
    raw = raw_stream("esp")
    with pytest.raises(VersionError, match="version 2"):
        read_bytes(flip_bit(raw, raw.index(b"\n") - 1, 0))


@pytest.mark.parametrize("how", COMPRESSIONS)
def test_random_bit_flips_never_escape(how: str | None) -> None:
    """Random damage either still decodes or raises a RestoreError, never a raw error."""
    raw = raw_stream("rainbow")
    data = compress(raw, how)
    rng = random.Random(20240531)
    failures = 0
    for _ in range(150):
        damaged = flip_bit(data, rng.randrange(len(data)), rng.randrange(8))
        try:
            read_bytes(damaged)
        except RestoreError:
            failures += 1
    assert failures > 0


def tag_offset(raw: bytes, tag: str) -> int:
    """Offset of the manager tag record ``tag`` in an uncompressed stream."""
    values = top_level_values(raw)
    return record_offsets(raw)[values.index(tag, 2)]


@pytest.mark.parametrize("how", ["lz4", None])
def test_string_length_defect_shorter(how: str | None) -> None:
    """A tag written one byte short leaves its last letter as the data: wrong shape."""
    data = esp_variant(how, lambda raw: replace_at(raw, tag_offset(raw, "models"), b"\xa5"))
    with pytest.raises(CorruptFileError, match=r"record 12 .*tag 'model' is followed by int"):
        read_bytes(data)


def test_string_length_defect_longer() -> None:
    """A tag written two bytes long swallows the next record's header: undecodable."""
    raw = raw_stream("esp")
    data = replace_at(raw, tag_offset(raw, "models"), b"\xa8")
    with pytest.raises(CorruptFileError, match=r"record 11 .*cannot be decoded.*utf-8"):
        read_bytes(data)


def test_shifted_stream_gives_wrong_shape() -> None:
    """A record boundary one byte off makes a name that is neither tag nor reference."""
    raw = raw_stream("esp")
    start = record_offsets(raw)[2]  # the first record name (a reference)
    shifted = raw[:start] + raw[start + 1 :]
    with pytest.raises(CorruptFileError, match=r"record 3 .*expected an object reference"):
        read_bytes(shifted)


# --- hand-made malformed streams --------------------------------------------------------

META = {"attr_info": {}}
ARRAY = {b"kind": b"", b"dtype": "<f8", b"shape": [2], b"data": bytes(16)}


def array_ext(**changes: Any) -> Any:
    fields = dict(ARRAY)
    fields.update({key.encode(): value for key, value in changes.items()})
    return ext(1, fields)


@pytest.mark.parametrize(
    ("values", "match"),
    [
        pytest.param([[1, 2]], r"record 1 .*metadata must be a map", id="metadata-list"),
        pytest.param([{1: 2}], r"record 1 .*str keys", id="metadata-int-key"),
        pytest.param([{"attr_info": [1]}], r"record 1 .*tag -> bool", id="attr-info"),
        pytest.param([META, []], r"record 2 .*provider table must be a map", id="providers"),
        pytest.param([META, {"P": ["1.0"]}], r"record 2 .*provider 'P'", id="provider-entry"),
        pytest.param([META, {}, 3.5], r"record 3 .*got float", id="name-float"),
        pytest.param([META, {}, "tag", 5], r"record 4 .*followed by int", id="tag-data"),
        pytest.param([META, {}, "tag", core_ref("A")], r"record 4 .*not written", id="tag-early"),
        pytest.param(
            [META, {}, core_ref("A"), [core_ref("B")], None],
            r"record 4 .*refers to <B, 1>",
            id="forward-ref",
        ),
        pytest.param(
            [META, {}, core_ref("A"), 1, core_ref("A"), 2, None],
            r"record 5 .*written twice",
            id="duplicate",
        ),
        pytest.param(
            [META, {}, core_ref("A"), 1, "t", core_ref("A"), "t", core_ref("A"), None],
            r"record 7 .*appears twice",
            id="duplicate-tag",
        ),
        pytest.param([META, {}, None, None], r"1 byte\(s\) after .* \(record 3\)", id="after"),
        pytest.param([META, {}, ext(99, 1)], r"record 3 .*unknown extension code 99", id="ext99"),
        pytest.param([META, {}, ext(0, b"\x02\x01\x01AA", packed=False)], "form byte 2", id="ref"),
        pytest.param(
            [META, {}, ext(0, b"\x00\x05\x01A\x01", packed=False)], "lengths", id="ref-len"
        ),
        pytest.param(
            [META, {}, core_ref("A"), ext(12, b"\xc1", packed=False)],
            r"record 4 .*extension 12 payload is not msgpack",
            id="bad-nested",
        ),
        pytest.param([META, {}, core_ref("A"), ext(2, ["x", 1])], "non-number", id="complex"),
        pytest.param([META, {}, core_ref("A"), ext(3, [[1]])], "unhashable", id="set-of-list"),
        pytest.param([META, {}, core_ref("A"), ext(8, [1, 2])], "timedelta", id="timedelta"),
        pytest.param([META, {}, core_ref("A"), ext(15, [1, 2, 0])], "out of range", id="range"),
        pytest.param([META, {}, core_ref("A"), ext(7, "yesterday")], "ISO 8601", id="datetime"),
        pytest.param(
            [META, {}, core_ref("A"), ext(65, b"12a", packed=False)], "decimal", id="bigint"
        ),
        pytest.param(
            [META, {}, core_ref("A"), ext(66, [1, [1, 2]])], "maxlen 1", id="deque-maxlen"
        ),
        pytest.param(
            [META, {}, core_ref("A"), ext(67, ["2024-01-01T00:00:00", "X"])],
            r"not \(aware, name\)",
            id="named-tz-naive",
        ),
        pytest.param(
            [META, {}, core_ref("A"), ext(68, ARRAY)], "expected a 0-d structured", id="struct-1d"
        ),
        pytest.param(
            [META, {}, core_ref("A"), {ext(12, [[1]]): 1}],
            r"record 4 .*unhashable type: 'list'",
            id="list-in-key",
        ),
    ],
)
def test_malformed_structure(values: list[Any], match: str) -> None:
    """Wrongly shaped streams name the problem and the record number."""
    with pytest.raises(CorruptFileError, match=match):
        read_bytes(build_stream(values))


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        pytest.param(array_ext(shape=[10**12]), "needs 8000000000000 bytes", id="huge-shape"),
        pytest.param(array_ext(shape=[3]), "needs 24 bytes, the payload has 16", id="short-data"),
        pytest.param(array_ext(shape=[-2]), "not an int >= 0", id="negative-shape"),
        pytest.param(array_ext(shape=[True, 2]), "not an int >= 0", id="bool-shape"),
        pytest.param(array_ext(dtype="O"), "Python objects", id="object-dtype"),
        pytest.param(array_ext(dtype="|O8"), "Python objects", id="object-dtype-8"),
        pytest.param(array_ext(dtype="i4,O"), "Python objects", id="object-field-str"),
        pytest.param(
            array_ext(kind=b"V", dtype=[["a", "<i8"], ["o", "|O"]]),
            "Python objects",
            id="object-descr",
        ),
        pytest.param(array_ext(dtype="not-a-dtype"), "not valid", id="bad-dtype"),
        pytest.param(array_ext(dtype="(2,)f8", shape=[1]), "sub-array", id="subarray"),
        pytest.param(array_ext(dtype="S0", shape=[2], data=b""), "no size", id="zero-size"),
        pytest.param(array_ext(kind=b"X"), "kind", id="kind"),
        pytest.param(array_ext(kind=b"V", dtype="<f8"), "descr", id="descr-not-list"),
        pytest.param(ext(1, {b"kind": b"", b"dtype": "<f8"}), "keys", id="missing-keys"),
        pytest.param(ext(10, {b"dtype": "<f8", b"data": b"\x00"}), "needs 8 bytes", id="scalar"),
        pytest.param(
            ext(10, {b"dtype": "O", b"data": bytes(8)}), "Python objects", id="scalar-obj"
        ),
        pytest.param(ext(14, [[2], 9, bytes(8)]), "format 9", id="tinyarray-format"),
        pytest.param(ext(14, [[3], 4, bytes(8)]), "needs 24 bytes", id="tinyarray-short"),
    ],
)
def test_dangerous_arrays_are_refused(payload: Any, match: str) -> None:
    """Array payloads are checked before numpy allocates anything; objects are refused."""
    values = [META, {}, core_ref("A"), payload, None]
    with pytest.raises(CorruptFileError, match=r"record 4 .*" + match):
        read_bytes(build_stream(values))


@pytest.mark.parametrize("live", [False, True])
def test_foreign_extension_forms_decode(live: bool) -> None:
    """Ext 11 and 14 are kept as records (a restore unwraps them into the data and a numpy
    array), the reference's '+00:00Z' dates parse, unstructured void reads as void."""
    values = [
        META,
        {},
        core_ref("A"),
        [
            ext(11, {"inner": ext(12, [1])}),
            ext(14, [ext(12, [2]), 4, np.array([1.0, 2.0]).tobytes()]),
            ext(7, "2019-05-07T23:52:48.650385+00:00Z"),
            ext(7, b"2019-05-07T23:52:48", packed=False),
            ext(5, [ext(12, ["k", 1])]),
            ext(13, [ext(8, [0, 3600, 0]), "X"]),
            ext(1, {b"kind": b"V", b"dtype": [["", "|V4"]], b"shape": [1], b"data": bytes(4)}),
        ],
        None,
    ]
    data = read_stream(io.BytesIO(build_stream(values)), live=live).records[0].data
    utc = datetime(2019, 5, 7, 23, 52, 48, 650385, tzinfo=UTC)
    finalized, tiny = {"inner": (1,)}, np.array([1.0, 2.0])
    expected = [
        finalized if live else FinalizedState(finalized),
        tiny if live else TinyArray(tiny),
        utc,
        datetime(2019, 5, 7, 23, 52, 48),
        OrderedDict(k=1),
        timezone(timedelta(hours=1), "X"),
        np.zeros(1, "V4"),
    ]
    assert_same(expected, data)


def test_deep_extension_nesting_is_refused() -> None:
    """Nested extensions cannot exhaust the stack of the reader."""
    value: Any = 1
    for _ in range(80):
        value = ext(12, [value])
    with pytest.raises(CorruptFileError, match="nested deeper than 64"):
        read_bytes(build_stream([META, {}, core_ref("A"), value, None]))


class ReadOnlyPipe:
    """A file with nothing but read(): no seek, no tell, short reads."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self, size: int = -1) -> bytes:
        size = len(self._data) if size < 0 else min(size, 3)
        chunk, self._data = self._data[:size], self._data[size:]
        return chunk


class WriteOnlyPipe:
    """A file with nothing but write() and flush() (no seek, no tell)."""

    def __init__(self) -> None:
        self.data = b""

    def write(self, chunk: bytes) -> int:
        self.data += bytes(chunk)
        return len(chunk)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize("how", COMPRESSIONS)
def test_unseekable_files(how: str | None) -> None:
    """Writing needs only write() and flush(), reading only read(), even with short reads."""
    content = read_fixture("rainbow")
    pipe = WriteOnlyPipe()
    write_stream(pipe, content, compress=how)  # type: ignore[arg-type]
    assert_same_content(content, read_stream(ReadOnlyPipe(pipe.data)))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "array",
    [
        pytest.param(np.arange(40_000, dtype="<f8"), id="f8"),
        pytest.param(np.arange(60_000, dtype=">i4").reshape(300, 200), id="big-endian-2d"),
        pytest.param(np.ones((50, 50, 50), dtype=np.complex64), id="complex"),
        pytest.param(np.zeros(20_000, dtype=[("x", "<f4"), ("n", "u1")]), id="structured"),
        pytest.param(np.array(["abcd"] * 20_000, dtype="S4"), id="bytes"),
    ],
)
def test_large_arrays_decode_exactly_and_writable(array: np.ndarray) -> None:
    """Arrays over LARGE_ARRAY_PAYLOAD take the one-copy path; values, dtype, writability."""
    got = roundtrip(content_with(array), None).records[-1].data
    assert_same(got, array)
    assert got.flags.writeable and got.flags.c_contiguous


def test_large_array_with_a_wrong_data_length_is_corrupt() -> None:
    """The one-copy path refuses what it cannot check; the full decode names the problem."""
    array = np.arange(40_000, dtype="<f8")
    data = bytearray(encode(content_with(array)))
    marker = data.index(b"\xc6" + (array.nbytes).to_bytes(4, "big"))
    data[marker + 1:marker + 5] = (array.nbytes - 8).to_bytes(4, "big")
    with pytest.raises(CorruptFileError):
        read_stream(io.BytesIO(bytes(data)))
