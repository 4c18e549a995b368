"""The msgpack row codec of layout 2 tables (sessionh5/_packed/), tested directly.

Round trips keep type and value (checked through :func:`typed`, which also tells
-0.0 from 0.0, nan from nan-with-another-payload and a bytearray from bytes), rows
are plain msgpack that any msgpack reader opens, values the codec cannot store are
refused at save, and damaged rows are a CorruptFileError that says what is wrong.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import re
import struct
import subprocess
import sys
import textwrap
from collections import OrderedDict, deque
from typing import Any

import msgpack
import numpy as np
import pytest
from helpers import matrix
from numpy.lib.format import descr_to_dtype

from sessionh5._containers._hdf5.layout import POOL_ARRAY_BYTES
from sessionh5._containers._hdf5.packed import (
    ARRAY,
    BIG_INT,
    BYTEARRAY,
    COMPLEX,
    DATETIME,
    DEQUE,
    FROZENSET,
    ODICT,
    PNG,
    RANGE,
    REF,
    SCALAR,
    SESSION,
    SET,
    TIMEDELTA,
    TIMEZONE,
    TUPLE,
    NeedsDatasets,
    PackedDecoder,
    PackedEncoder,
    PackedValue,
    as_packed,
    as_tagged_json,
    encode_record,
)
from sessionh5._engine.encoding import EncodedValue, encode_value
from sessionh5._engine.records import SESSION_KEY, ObjectKey, PngImage
from sessionh5.errors import CorruptFileError, UnsupportedValueError

PNG_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(range(20))
POINT = np.dtype([("x", "<f4"), ("y", ">i2"), ("tag", "S3")])
NESTED = np.dtype([("pos", [("x", "<f8"), ("y", "<f8")]), ("flags", "u1", (3,)), ("n", "<i4")])
ALIGNED = np.dtype([("a", "u1"), ("b", "<f8")], align=True)


# --- helpers -----------------------------------------------------------------------------


def typed(v: Any) -> Any:
    """A hashable image of ``v`` that differs whenever type, value or float bits differ."""
    t = type(v)
    if t is float:
        return "float", struct.pack("<d", v)
    if t is complex:
        return "complex", struct.pack("<dd", v.real, v.imag)
    if t is list or t is tuple:
        return t.__name__, tuple(map(typed, v))
    if t is deque:
        return "deque", tuple(map(typed, v)), v.maxlen
    if t is set or t is frozenset:
        return t.__name__, frozenset(map(typed, v))
    if t is dict or t is OrderedDict:  # keys in order: insertion order survives too
        return t.__name__, tuple((typed(k), typed(x)) for k, x in v.items())
    if t is bytearray:
        return "bytearray", bytes(v)
    if t is np.ndarray or isinstance(v, np.generic):
        head = t.__name__, v.dtype.str, str(v.dtype.descr), v.shape
        if v.dtype.names is None:
            return *head, v.tobytes()
        # field by field: the padding bytes of aligned records are not data
        return *head, tuple(typed(v[name]) for name in v.dtype.names)
    if t is dt.datetime:
        return "datetime", v.isoformat(), type(v.tzinfo).__name__, v.tzname(), v.fold
    if t is dt.timezone:  # timezones compare by offset only; the name must survive too
        return "timezone", v.utcoffset(None), v.tzname(None)
    if t is range:
        return "range", v.start, v.stop, v.step
    return t.__name__, v


def encode(value: Any, **kwargs: Any) -> PackedValue:
    return PackedEncoder(**kwargs).encode(value)


def decode(packed: bytes, refs: list[Any] | None = None, session: Any = SESSION_KEY,
           arrays: list[np.ndarray] | None = None) -> Any:
    return PackedDecoder(session).decode(packed, [] if refs is None else refs, arrays)


def roundtrip(value: Any, **kwargs: Any) -> Any:
    enc = encode(value, **kwargs)
    return decode(enc.packed, list(enc.refs), arrays=list(enc.pooled))


def ext(code: int, payload: Any) -> msgpack.ExtType:
    """An extension whose payload is ``payload`` packed (bytes are taken as they are)."""
    data = payload if isinstance(payload, bytes) else msgpack.packb(payload, use_bin_type=True)
    return msgpack.ExtType(code, data)


def row(value: Any) -> bytes:
    """A row built by plain msgpack, without the codec."""
    return msgpack.packb(value, use_bin_type=True)


def plain_read(data: bytes, refs: list[Any], session: Any = None) -> Any:
    """A row read with nothing but msgpack, as docs/format.md describes it."""

    def unpack(payload: bytes) -> Any:
        return msgpack.unpackb(payload, strict_map_key=False, ext_hook=hook)

    def hook(code: int, payload: bytes) -> Any:
        if code == REF:
            return refs[int.from_bytes(payload, "little")]
        if code == SESSION:
            return session
        if code in (BYTEARRAY, PNG):
            return bytearray(payload) if code == BYTEARRAY else PngImage(payload)
        if code == COMPLEX:
            return complex(*struct.unpack("<dd", payload))
        if code == BIG_INT:
            return int(payload.decode("ascii"))
        value = unpack(payload)
        if code in (TUPLE, SET, FROZENSET):
            return {TUPLE: tuple, SET: set, FROZENSET: frozenset}[code](value)
        if code == ODICT:
            return OrderedDict(value)
        if code == DEQUE:
            return deque(value[0], value[1])
        if code == RANGE:
            return range(*value)
        if code == DATETIME:
            when = dt.datetime.fromisoformat(value[0])
            if value[1] is not None:
                when = when.replace(tzinfo=dt.timezone(when.utcoffset(), value[1]))
            return when
        if code == TIMEDELTA:
            return dt.timedelta(*value)
        if code == TIMEZONE:
            offset = dt.timedelta(seconds=value[0])
            return dt.timezone(offset) if value[1] is None else dt.timezone(offset, value[1])
        if code == SCALAR:
            return np.frombuffer(value[1], dtype=_dtype(value[0]))[0]
        if code == ARRAY:
            return np.frombuffer(value[2], dtype=_dtype(value[0])).reshape(value[1]).copy()
        raise AssertionError(f"extension code {code} is not in docs/format.md")

    return unpack(data)


def _dtype(spec: bytes) -> np.dtype:
    parsed = json.loads(spec)
    return np.dtype(parsed) if isinstance(parsed, str) else descr_to_dtype(_descr(parsed))


def _descr(spec: Any) -> Any:
    """JSON lists back to numpy's descr tuples: [name, type or nested descr, shape?]."""
    if not isinstance(spec, list):
        return spec
    return [(f[0], _descr(f[1]), *([tuple(f[2])] if len(f) > 2 else [])) for f in spec]


def exts(data: bytes) -> list[tuple[int, bytes]]:
    """Every (code, payload) of the top level of a row, in order."""
    found: list[tuple[int, bytes]] = []
    msgpack.unpackb(data, strict_map_key=False,
                    ext_hook=lambda code, payload: found.append((code, payload)))
    return found


# --- round trips -------------------------------------------------------------------------

VALUES = [
    pytest.param(None, id="none"),
    pytest.param(True, id="bool"),
    pytest.param([0, 1, -1, 127, -32, 255, 65535, -(2**31)], id="small-ints"),
    pytest.param(2**63 - 1, id="int64-max"),
    pytest.param(-(2**63), id="int64-min"),
    pytest.param(2**64 - 1, id="uint64-max"),
    pytest.param(2**64, id="2**64"),
    pytest.param(-(2**63) - 1, id="below-int64"),
    pytest.param(2**70, id="2**70"),
    pytest.param(-(2**200), id="-2**200"),
    pytest.param([1.5, -0.0, 0.0, math.inf, -math.inf], id="floats"),
    pytest.param(math.nan, id="nan"),
    pytest.param(struct.unpack("<d", b"\x01\x00\x00\x00\x00\x00\xf8\x7f")[0], id="nan-payload"),
    pytest.param("", id="empty-str"),
    pytest.param("grüße ✓ \U0001f600", id="unicode-str"),
    pytest.param(b"", id="empty-bytes"),
    pytest.param(b"\x00\xff\xc4\x00", id="bytes"),
    pytest.param(bytearray(), id="empty-bytearray"),
    pytest.param(bytearray(b"\x00\xff"), id="bytearray"),
    pytest.param([bytearray(), b"", bytearray(b"a"), b"a"], id="bytes-and-bytearrays"),
    pytest.param((bytearray(b"x"), b"y"), id="bytearray-in-tuple"),
    pytest.param({"t": (1, (bytearray(b"deep"),))}, id="bytearray-in-nested-tuple"),
    pytest.param(deque([bytearray(b"q")], 3), id="bytearray-in-deque"),
    pytest.param(OrderedDict(b=bytearray(b"o")), id="bytearray-in-odict"),
    pytest.param({"k": bytearray(b"v"), b"k": b"v"}, id="bytearray-dict-value"),
    pytest.param(1 + 2j, id="complex"),
    pytest.param(complex(-0.0, math.nan), id="complex-nan"),
    pytest.param((), id="empty-tuple"),
    pytest.param((1, "a", (2.5, (None,))), id="nested-tuples"),
    pytest.param([(1,), [2], ((3,),)], id="lists-and-tuples"),
    pytest.param(set(), id="empty-set"),
    pytest.param({1, "a", 2.5, None, b"b"}, id="set"),
    pytest.param({(1, 2), (1, (2, 3)), ((),)}, id="set-of-nested-tuples"),
    pytest.param(frozenset(), id="empty-frozenset"),
    pytest.param(frozenset({frozenset({1}), (2, frozenset())}), id="frozensets-nested"),
    pytest.param({"a": 1, "$ref": 2, "": 3}, id="dict-str-keys"),
    pytest.param({(1, 2): "t", 3: "i", 2.5: "f", None: "n", b"b": "b", True: "bool"},
                 id="dict-mixed-keys"),
    pytest.param({((1,), "x"): [1], frozenset({2}): {3: 4}}, id="dict-tuple-frozenset-keys"),
    pytest.param({"z": 1, "a": 2, "m": 3}, id="dict-order"),
    pytest.param(OrderedDict(), id="empty-odict"),
    pytest.param(OrderedDict([("z", 1), (2, "a"), ((1,), None)]), id="odict-order"),
    pytest.param(deque(), id="empty-deque"),
    pytest.param(deque([1, (2,)]), id="deque"),
    pytest.param(deque([1, 2, 3], 3), id="deque-maxlen"),
    pytest.param(deque(maxlen=0), id="deque-maxlen-0"),
    pytest.param(range(0), id="empty-range"),
    pytest.param(range(-5, 100, 7), id="range"),
    pytest.param(range(2**70, -(2**70), -(2**65)), id="range-big"),
    pytest.param(dt.datetime(2026, 1, 2, 3, 4, 5, 678901), id="datetime-naive"),
    pytest.param(dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC), id="datetime-utc"),
    pytest.param(dt.datetime(2026, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=-5, minutes=-30))),
                 id="datetime-offset"),
    pytest.param(dt.datetime(2026, 7, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2), "CEST")),
                 id="datetime-named-timezone"),
    pytest.param(dt.datetime(2026, 7, 1, tzinfo=dt.timezone(dt.timedelta(0), "GMT")),
                 id="datetime-named-zero-offset"),
    pytest.param(dt.timedelta(days=-3, seconds=5, microseconds=7), id="timedelta"),
    pytest.param(dt.timedelta(days=999_999_999), id="timedelta-max-days"),
    pytest.param(dt.UTC, id="timezone-utc"),
    pytest.param(dt.timezone(dt.timedelta(hours=5, minutes=45)), id="timezone-offset"),
    pytest.param(dt.timezone(dt.timedelta(hours=-8), "PST"), id="timezone-named"),
    pytest.param(dt.timezone(dt.timedelta(seconds=3661, microseconds=5), "odd"),
                 id="timezone-seconds"),
    pytest.param(dt.timezone(dt.timedelta(hours=1), "UTC+01:00"), id="timezone-default-name"),
    pytest.param(PngImage(PNG_BYTES), id="png"),
    pytest.param(np.float32(1.5), id="np-float32"),
    pytest.param(np.float64(-0.0), id="np-float64-negative-zero"),
    pytest.param(np.int8(-3), id="np-int8"),
    pytest.param(np.uint64(2**64 - 1), id="np-uint64"),
    pytest.param(np.bool_(True), id="np-bool"),
    pytest.param(np.str_("abc"), id="np-str"),
    pytest.param(np.bytes_(b"a\x00b"), id="np-bytes"),
    pytest.param(np.complex64(1 - 2j), id="np-complex64"),
    pytest.param(np.datetime64("2026-01-02T03:04", "s"), id="np-datetime64"),
    pytest.param(np.zeros(1, POINT)[0], id="np-void-structured"),
    pytest.param(np.array([(1.5, -2, b"ab")], POINT)[0], id="np-void-values"),
    pytest.param(np.zeros(1, NESTED)[0], id="np-void-nested"),
    pytest.param(np.array([1, 2, 3], dtype="<i8"), id="array-int64"),
    pytest.param(np.array([[1.5, -0.0], [math.nan, math.inf]], dtype=">f4"), id="array-big-endian"),
    pytest.param(np.arange(6, dtype="<u2").reshape(2, 3).T, id="array-transposed"),
    pytest.param(np.array(3.5), id="array-0d"),
    pytest.param(np.zeros(0), id="array-empty"),
    pytest.param(np.zeros((3, 0, 2), dtype="<i2"), id="array-zero-size"),
    pytest.param(np.zeros(0, POINT), id="array-zero-size-structured"),
    pytest.param(np.array(["ab", "c"]), id="array-unicode"),
    pytest.param(np.array([b"x", b"yz"]), id="array-bytes"),
    pytest.param(np.array([True, False]), id="array-bool"),
    pytest.param(np.array([1 + 1j], dtype="<c16"), id="array-complex"),
    pytest.param(np.array([(1.0, 2, b"a"), (3.0, -4, b"bcd")], POINT), id="array-structured"),
    pytest.param(np.zeros(2, NESTED), id="array-structured-nested"),
    pytest.param(np.array([(1, 2.5)], ALIGNED), id="array-structured-aligned"),
    pytest.param(np.array(["2026-01-02"], dtype="datetime64[D]"), id="array-datetime64"),
    pytest.param(np.zeros(128), id="array-1024-bytes"),
    pytest.param([ObjectKey("a.B", 1), {"k": ObjectKey("a.C", 2)}, (ObjectKey("a.B", 1),)],
                 id="references"),
    pytest.param({"session": SESSION_KEY, "in-tuple": (SESSION_KEY,)}, id="session"),
]


@pytest.mark.parametrize("value", VALUES)
def test_value_roundtrips_with_type_and_value(value: Any) -> None:
    """Every value, alone and inside a list and a dict value, comes back the same."""
    for wrapped in (value, [value], {"v": value, "after": 1}):
        assert typed(roundtrip(wrapped)) == typed(wrapped)


def test_every_value_together_in_one_row() -> None:
    everything = [p.values[0] for p in VALUES]
    assert typed(roundtrip(everything)) == typed(everything)
    assert typed(roundtrip(tuple(everything))) == typed(tuple(everything))


def test_decoded_arrays_are_writable_copies() -> None:
    source = np.arange(4, dtype="<i4")
    enc = encode({"a": source})
    first, second = decode(enc.packed)["a"], decode(enc.packed)["a"]
    assert first.flags.writeable and first.flags.c_contiguous and first.flags.owndata
    first[0] = 99
    assert second[0] == 0 and source[0] == 0


def test_ints_at_the_64_bit_edges_are_native_beyond_them_big_int() -> None:
    """msgpack stores int64 and uint64 natively; outside them BIG_INT holds the decimal."""
    for n in (2**63 - 1, 2**64 - 1, -(2**63)):
        assert exts(encode(n).packed) == []
        assert msgpack.unpackb(encode(n).packed) == n
    for n in (2**64, -(2**63) - 1, 2**70):
        assert exts(encode(n).packed) == [(BIG_INT, str(n).encode("ascii"))]


def test_bytes_and_bytearray_are_kept_apart() -> None:
    """bytes are msgpack bin; a bytearray is the BYTEARRAY extension, also an empty one."""
    enc = encode([b"ab", bytearray(b"ab"), bytearray(), b""])
    assert exts(enc.packed) == [(BYTEARRAY, b"ab"), (BYTEARRAY, b"")]
    assert typed(decode(enc.packed)) == typed([b"ab", bytearray(b"ab"), bytearray(), b""])


def test_bytearray_nested_in_a_tuple_payload_is_found() -> None:
    """msgpack packs a bytearray as bin without asking; nested payloads are checked too."""
    value = {"t": ((bytearray(b"in"), 1),), "s": frozenset({(b"bytes",)})}
    out = roundtrip(value)
    assert type(out["t"][0][0]) is bytearray
    assert type(next(iter(out["s"]))[0]) is bytes


def test_odict_keeps_order_and_deque_keeps_maxlen() -> None:
    od = OrderedDict([(3, "c"), ("a", 1), ((1, 2), None)])
    od.move_to_end(3)
    out = roundtrip({"od": od, "dq": deque(range(10), 4)})
    assert list(out["od"].items()) == list(od.items())
    assert type(out["dq"]) is deque and out["dq"].maxlen == 4 and list(out["dq"]) == [6, 7, 8, 9]


def test_timezone_names_survive() -> None:
    named = dt.timezone(dt.timedelta(hours=2), "CEST")
    out = roundtrip([named, dt.datetime(2026, 7, 1, tzinfo=named), dt.UTC])
    assert out[0].tzname(None) == "CEST" and out[1].tzname() == "CEST"
    assert out[1].utcoffset() == dt.timedelta(hours=2)
    assert out[2] is dt.UTC


def test_equal_sets_pack_to_equal_bytes() -> None:
    """Members are sorted by their packed bytes, so iteration order does not matter."""
    # 8 and 16 share a slot in a small hash table: the iteration order follows insertion
    a, b = {8, 16}, {16, 8}
    assert list(a) != list(b)
    assert encode(a).packed == encode(b).packed
    assert encode(frozenset(a)).packed == encode(frozenset(b)).packed
    words = [f"w{i}" for i in range(200)]
    forward, backward = set(words), set(reversed(words))
    forward.update({(1, "x"), (2, ("y",))})
    backward.update({(2, ("y",)), (1, "x")})
    assert encode({"s": forward}).packed == encode({"s": backward}).packed
    nested_a = {frozenset(a), (frozenset(b), 1)}
    nested_b = {(frozenset(a), 1), frozenset(b)}
    assert encode(nested_a).packed == encode(nested_b).packed


def test_a_row_is_plain_msgpack() -> None:
    """No separator, no header: one msgpack value; plain msgpack reads every extension."""
    value = {"name": "atom", "n": 3, "pos": [0.5, 1.5], "peer": ObjectKey("m.Atom", 2)}
    enc = encode(value)
    plain = msgpack.unpackb(enc.packed, strict_map_key=False)
    assert plain["name"] == "atom" and plain["pos"] == [0.5, 1.5]
    assert plain["peer"] == msgpack.ExtType(REF, b"\x00")
    assert enc.refs == [ObjectKey("m.Atom", 2)]
    # two rows back to back, as in the state column, split with a streaming unpacker
    unpacker = msgpack.Unpacker(strict_map_key=False)
    unpacker.feed(enc.packed + encode([1, 2]).packed)
    assert [type(x) for x in unpacker] == [dict, list]


def test_plain_msgpack_with_an_ext_hook_reads_what_the_codec_reads() -> None:
    """The reader of docs/format.md (msgpack plus an ext_hook) agrees with PackedDecoder."""
    value = [p.values[0] for p in VALUES]
    enc = encode(value)
    targets = [f"object {i}" for i in range(len(enc.refs))]
    session = object()
    assert typed(plain_read(enc.packed, targets, session)) == \
        typed(decode(enc.packed, targets, session))


# --- references --------------------------------------------------------------------------


class Thing:
    """A saved object for ``on_object``: the walker would give it a key."""

    def __init__(self, ordinal: int) -> None:
        self.ordinal = ordinal


def test_each_distinct_target_appears_once_in_the_reference_list() -> None:
    x, y = ObjectKey("m.X", 1), ObjectKey("m.Y", 1)
    enc = encode({"a": x, "b": [y, x], "c": (x, ObjectKey("m.X", 1)), "d": {y: x}})
    assert enc.refs == [x, y]
    out = decode(enc.packed, ["X", "Y"])
    assert out == {"a": "X", "b": ["Y", "X"], "c": ("X", "X"), "d": {"Y": "X"}}


def test_reference_list_starts_afresh_for_every_row() -> None:
    encoder = PackedEncoder()
    first = encoder.encode([ObjectKey("m.X", 1), ObjectKey("m.Y", 1)])
    second = encoder.encode([ObjectKey("m.Y", 1)])
    assert first.refs == [ObjectKey("m.X", 1), ObjectKey("m.Y", 1)]
    assert second.refs == [ObjectKey("m.Y", 1)]
    assert exts(second.packed) == [(REF, b"\x00")]


def test_on_object_turns_saved_objects_into_references() -> None:
    seen: list[Thing] = []

    def on_object(obj: Any) -> ObjectKey:
        if not isinstance(obj, Thing):
            raise UnsupportedValueError(f"not saved: {type(obj).__name__}")
        seen.append(obj)
        return ObjectKey("t.Thing", obj.ordinal)

    one, two = Thing(1), Thing(2)
    encoder = PackedEncoder(on_object)
    enc = encoder.encode({"one": one, "both": [one, two], "set": {(one,)}})
    assert enc.refs == [ObjectKey("t.Thing", 1), ObjectKey("t.Thing", 2)]
    assert {id(t) for t in seen} == {id(one), id(two)}
    out = decode(enc.packed, ["ONE", "TWO"])
    assert out == {"one": "ONE", "both": ["ONE", "TWO"], "set": {("ONE",)}}
    with pytest.raises(UnsupportedValueError, match="not saved: object"):
        encoder.encode([object()])


def test_reference_payloads_are_1_2_or_4_little_endian_bytes() -> None:
    keys = [ObjectKey("m.K", i) for i in range(1, 65_538)]
    enc = encode(keys)
    assert enc.refs == keys
    payloads = [payload for code, payload in exts(enc.packed) if code == REF]
    assert payloads[0] == b"\x00" and payloads[255] == b"\xff"
    assert payloads[256] == b"\x00\x01" and payloads[65_535] == b"\xff\xff"
    assert payloads[65_536] == b"\x00\x00\x01\x00"
    assert {len(p) for p in payloads[:256]} == {1}
    assert {len(p) for p in payloads[256:65_536]} == {2}
    targets = list(range(len(keys)))
    assert decode(enc.packed, targets) == targets


def test_the_session_is_an_empty_extension_decoded_to_the_decoders_session() -> None:
    enc = encode({"s": SESSION_KEY})
    assert enc.refs == []
    assert exts(enc.packed) == [(SESSION, b"")]
    session = object()
    assert decode(enc.packed, [], session)["s"] is session
    assert decode(enc.packed)["s"] == SESSION_KEY


def test_decoder_reads_a_memoryview_slice_of_the_state_column() -> None:
    rows = [encode({"i": i, "t": (i,)}).packed for i in range(3)]
    column = memoryview(b"".join(rows))
    starts = [0, len(rows[0]), len(rows[0]) + len(rows[1]), len(column)]
    decoder = PackedDecoder()
    assert [decoder.decode(column[a:b], []) for a, b in itertools.pairwise(starts)] \
        == [{"i": i, "t": (i,)} for i in range(3)]


# --- values the codec refuses ------------------------------------------------------------


@pytest.mark.parametrize(("value", "message"), [
    pytest.param(memoryview(b"abc"), "cannot store a value of type builtins.memoryview",
                 id="memoryview"),
    pytest.param({"m": [memoryview(bytearray(3))]}, "builtins.memoryview",
                 id="memoryview-nested"),
    pytest.param("a\ud800b", "not valid Unicode", id="lone-surrogate"),
    pytest.param({("k", "\udfff"): 1}, "not valid Unicode", id="lone-surrogate-in-key"),
    pytest.param({"t": ("ok", "\ud800")}, "not valid Unicode", id="lone-surrogate-in-tuple"),
    pytest.param(np.array([1, None], dtype=object), "object-dtype arrays cannot be saved",
                 id="object-array"),
    pytest.param({"a": (np.array(["x"], dtype=object),)}, "object-dtype",
                 id="object-array-in-tuple"),
    pytest.param(dt.datetime(2026, 1, 1, tzinfo=dt.UTC).astimezone(
        __import__("zoneinfo").ZoneInfo("Europe/Paris")), "cannot be saved",
        id="datetime-zoneinfo"),
    pytest.param(object(), "cannot store a value of type builtins.object", id="object"),
    pytest.param(slice(1, 2), "cannot store a value of type builtins.slice; make slice a "
                 "sessionh5.State subclass, or register snapshot methods", id="slice"),
    pytest.param(matrix([[1, 2]]), "numpy.matrix; convert the matrix with np.asarray(value)",
                 id="ndarray-subclass"),
    pytest.param(dt.time(1, tzinfo=__import__("zoneinfo").ZoneInfo("Europe/Paris")),
                 "a time with tzinfo", id="time-zoneinfo"),
])
def test_unsupported_values_are_refused(value: Any, message: str) -> None:
    with pytest.raises(UnsupportedValueError, match=re.escape(message)):
        encode(value)


def _nested_lists(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def _nested_tuples(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = (value,)
    return value


def test_lists_nested_too_deeply_are_refused() -> None:
    with pytest.raises(UnsupportedValueError, match="nested this deeply"):
        encode({"deep": _nested_lists(1100)})
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(UnsupportedValueError, match="nested"):
        encode(cycle)


def test_tuples_nested_too_deeply_are_refused() -> None:
    with pytest.raises(UnsupportedValueError, match="nested"):
        encode({"deep": _nested_tuples(1100)})


def test_an_int_too_long_for_str_is_refused_cleanly() -> None:
    with pytest.raises(UnsupportedValueError):
        encode(10**5000)


def test_a_non_contiguous_memoryview_is_refused() -> None:
    with pytest.raises(UnsupportedValueError, match="memoryview"):
        encode(memoryview(np.arange(6)[::2]))


def test_arrays_over_the_inline_limit_need_datasets() -> None:
    assert exts(encode(np.zeros(1024, np.uint8)).packed)[0][0] == ARRAY
    for value in (np.zeros(1025, np.uint8), {"a": [(np.zeros(129),)]}):
        with pytest.raises(NeedsDatasets):
            encode(value)
    with pytest.raises(NeedsDatasets):
        encode(np.zeros(5, np.uint8), inline_limit=4)
    assert exts(encode(np.zeros(4, np.uint8), inline_limit=4).packed)[0][0] == ARRAY


# --- damaged rows ------------------------------------------------------------------------

CORRUPT = [
    pytest.param(row({"a": [1, 2, 3]})[:-1], "incomplete input", id="truncated"),
    pytest.param(b"", "incomplete input", id="empty"),
    pytest.param(row({"a": 1}) + b"\x01", "extra data", id="extra-data"),
    pytest.param(row([1]) + row([2]), "extra data", id="two-rows"),
    pytest.param(row(ext(0, b"")), "unknown extension type 0", id="ext-0"),
    pytest.param(row(ext(28, b"")), "unknown extension type 28", id="ext-28"),
    pytest.param(row(ext(127, b"x")), "unknown extension type 127", id="ext-127"),
    pytest.param(b"\xd4\x80\x00", "unknown extension type -128", id="ext-minus-128"),
    pytest.param(row(ext(TUPLE, ext(99, b""))), "unknown extension type 99",
                 id="unknown-ext-in-payload"),
    pytest.param(row(ext(REF, b"\x01")), "reference index 1 is out of range",
                 id="ref-out-of-range"),
    pytest.param(row([ext(REF, b"\x00"), ext(REF, b"\x00\x01")]),
                 "reference index 256 is out of range",
                 id="ref-2-bytes-out-of-range"),
    pytest.param(row({(1,): 2}), "unhashable", id="list-key"),
    pytest.param(row({ext(SET, [1]): 2}), "unhashable", id="set-key"),
    pytest.param(row({ext(TUPLE, [[1]]): 2}), "unhashable", id="tuple-of-list-key"),
    pytest.param(row(ext(TUPLE, {"a": 1})), "expected an array payload", id="tuple-map"),
    pytest.param(row(ext(TUPLE, b"\x91")), "incomplete input", id="tuple-truncated"),
    pytest.param(row(ext(TUPLE, row([1]) + b"\x00")), "extra data", id="tuple-extra-data"),
    pytest.param(row(ext(SET, 5)), "expected an array payload", id="set-int"),
    pytest.param(row(ext(SET, [[1]])), "unhashable", id="set-of-list"),
    pytest.param(row(ext(FROZENSET, "ab")), "expected an array payload", id="frozenset-str"),
    pytest.param(row(ext(ODICT, [1, 2])), "ordered dict payload must be a map", id="odict-list"),
    pytest.param(row(ext(DEQUE, [[1]])), "not enough values", id="deque-one-item"),
    pytest.param(row(ext(DEQUE, [[1], -1])), "maxlen must be non-negative",
                 id="deque-negative-maxlen"),
    pytest.param(row(ext(DEQUE, [5, None])), "not iterable", id="deque-items-int"),
    pytest.param(row(ext(RANGE, [0, 1])), "not enough values", id="range-two"),
    pytest.param(row(ext(RANGE, [0, 10, 0])), "must not be zero", id="range-step-0"),
    pytest.param(row(ext(RANGE, ["a", 1, 1])), "invalid literal", id="range-str"),
    pytest.param(row(ext(DATETIME, ["2026-13-45T99:00", None])), "isoformat|month",
                 id="datetime-bad-isoformat"),
    pytest.param(row(ext(DATETIME, [20260101, None])), "argument must be str",
                 id="datetime-int"),
    pytest.param(row(ext(DATETIME, ["2026-01-01"])), "not enough values",
                 id="datetime-one-item"),
    pytest.param(row(ext(TIMEDELTA, ["x", 0, 0])), "invalid literal", id="timedelta-str"),
    pytest.param(row(ext(TIMEDELTA, [10**9, 0, 0])), "magnitude", id="timedelta-too-long"),
    pytest.param(row(ext(TIMEDELTA, [10**10, 0, 0])), "OverflowError", id="timedelta-overflow"),
    pytest.param(row(ext(TIMEZONE, [86_400.0, None])), "strictly between",
                 id="timezone-a-day"),
    pytest.param(row(ext(TIMEZONE, [math.nan, None])), "NaN", id="timezone-nan"),
    pytest.param(row(ext(SCALAR, [b'"|O"', b"\x00" * 8])), "object dtype",
                 id="scalar-object-dtype"),
    pytest.param(row(ext(SCALAR, [b'"<f8"', b"\x00" * 4])), "4 bytes for a float64 scalar",
                 id="scalar-byte-count"),
    pytest.param(row(ext(SCALAR, [b"<f8", b"\x00" * 8])), "JSONDecodeError",
                 id="scalar-dtype-not-json"),
    pytest.param(row(ext(SCALAR, [b'"<q9"', b"\x00" * 8])), "invalid array dtype",
                 id="scalar-dtype-unknown"),
    pytest.param(row(ext(ARRAY, [b'"<i4"', [2, 3], b"\x00" * 20])),
                 r"20 bytes cannot hold \(2, 3\) of int32", id="array-byte-count"),
    pytest.param(row(ext(ARRAY, [b'"|O"', [1], b"\x00" * 8])), "object dtype",
                 id="array-object-dtype"),
    pytest.param(row(ext(ARRAY, [b'[["a", "|O"]]', [1], b"\x00" * 8])), "object dtype",
                 id="array-structured-object-field"),
    pytest.param(row(ext(ARRAY, [b'"<i4"', [-1, 2], b"\x00" * 8])), "bytes cannot hold|negative",
                 id="array-negative-shape"),
    pytest.param(row(ext(ARRAY, [b'"<i4"', ["x"], b"\x00" * 8])), "invalid literal",
                 id="array-shape-str"),
    pytest.param(row(ext(ARRAY, [b'"<i4"', [2]])), "not enough values", id="array-two-items"),
    pytest.param(row(ext(BIG_INT, b"12a4")), "is not an integer", id="big-int-letters"),
    pytest.param(row(ext(BIG_INT, b"")), "is not an integer", id="big-int-empty"),
    pytest.param(row(ext(BIG_INT, b"1 2")), "is not an integer", id="big-int-space"),
    pytest.param(row(ext(BIG_INT, "١٢".encode())), "ascii", id="big-int-non-ascii"),
    pytest.param(b"\xa2\xff\xfe", "utf-8", id="str-not-utf8"),
]


@pytest.mark.parametrize(("data", "message"), CORRUPT)
def test_damaged_rows_are_corrupt_file_errors(data: bytes, message: str) -> None:
    with pytest.raises(CorruptFileError, match=message):
        decode(data, ["only target"])


def test_a_complex_payload_of_the_wrong_length_is_corrupt() -> None:
    with pytest.raises(CorruptFileError, match="16 bytes"):
        decode(row(ext(COMPLEX, b"\x00" * 15)), [])


def test_the_msgpack_timestamp_extension_is_an_unknown_extension() -> None:
    data = b"\x81\xa1t\xd6\xff" + (1).to_bytes(4, "big")  # {"t": fixext 4, type -1}
    with pytest.raises(CorruptFileError, match="extension"):
        decode(data, [])


def test_an_array_with_an_empty_dtype_roundtrips() -> None:
    value = np.zeros(3, dtype=[])
    assert typed(roundtrip(value)) == typed(value)


_DEEP_ROW = textwrap.dedent("""
    import sys, threading
    import msgpack
    from sessionh5._containers._hdf5.packed import TUPLE, PackedDecoder, PackedEncoder
    from sessionh5.errors import CorruptFileError, UnsupportedValueError

    depth = {depth}
    if {from_encoder}:
        value = 1
        for _ in range(depth):
            value = (value,)
        try:
            data = PackedEncoder().encode(value).packed
        except UnsupportedValueError:
            print("refused at save")
            sys.exit(0)
    else:
        data = b"\\x01"
        for _ in range(depth):
            data = msgpack.packb(msgpack.ExtType(TUPLE, b"\\x91" + data))

    def read():
        try:
            PackedDecoder().decode(data, [])
            print("read")
        except CorruptFileError as exc:
            print("corrupt:", exc)

    threading.stack_size(8 << 20)  # Linux's usual default, also for the main thread
    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
""")


def _run_deep(depth: int, *, from_encoder: bool) -> subprocess.CompletedProcess[str]:
    code = _DEEP_ROW.format(depth=depth, from_encoder=from_encoder)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)


def test_a_row_nested_too_deeply_is_corrupt_not_a_crash() -> None:
    done = _run_deep(300, from_encoder=False)
    assert done.returncode == 0, f"exit status {done.returncode}: {done.stderr[-500:]}"
    assert done.stdout.startswith("corrupt:")


def test_what_the_encoder_accepts_the_decoder_reads() -> None:
    done = _run_deep(300, from_encoder=True)
    assert done.returncode == 0, f"exit status {done.returncode}: {done.stderr[-500:]}"
    assert done.stdout.strip() in ("read", "refused at save")


def test_moderately_nested_extensions_roundtrip() -> None:
    value = _nested_tuples(60)
    assert roundtrip(value) == value
    assert roundtrip(_nested_lists(500)) == _nested_lists(500)


def test_corrupt_errors_chain_the_underlying_exception() -> None:
    with pytest.raises(CorruptFileError) as caught:
        decode(row(ext(TUPLE, {"a": 1})), [])
    assert isinstance(caught.value.__cause__, ValueError)
    assert str(caught.value).startswith("object state is not a valid packed row")


# --- the module's entry points -----------------------------------------------------------


def test_encode_record_packs_rows_and_falls_back_to_tagged_json() -> None:
    data = {"n": 1, "peer": ObjectKey("m.X", 3), "t": (1, 2)}
    packed = encode_record(data)
    assert type(packed) is PackedValue and packed.refs == [ObjectKey("m.X", 3)]
    assert len(packed.arrays) == 0
    assert decode(packed.packed, ["X"]) == {"n": 1, "peer": "X", "t": (1, 2)}
    manager = encode_record(data, row=False)
    assert type(manager) is EncodedValue and manager.refs == [ObjectKey("m.X", 3)]
    pooled = encode_record({"small": np.arange(1000, dtype=np.float64), "n": 1})
    assert type(pooled) is PackedValue and [a.shape for a in pooled.pooled] == [(1000,)]
    big = encode_record({"big": np.arange(POOL_ARRAY_BYTES // 8 + 1, dtype=np.float64), "n": 1})
    assert type(big) is EncodedValue
    assert [a.shape for a in big.arrays.values()] == [(POOL_ARRAY_BYTES // 8 + 1,)]


def test_as_tagged_json_and_as_packed_convert_both_ways() -> None:
    data = {"n": [1, 2.5, None], "t": (ObjectKey("m.X", 1),), "s": {3, 4},
            "b": bytearray(b"x"), "when": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            "a": np.arange(3, dtype=">i2"), "peer": ObjectKey("m.Y", 2), "me": SESSION_KEY}
    packed = encode_record(data)
    assert as_packed(packed) is packed
    tagged = as_tagged_json(packed)
    assert type(tagged) is EncodedValue and as_tagged_json(tagged) is tagged
    assert b'"$session"' in tagged.json and b'"$tuple"' in tagged.json
    assert tagged.refs == packed.refs
    again = as_packed(tagged)
    assert type(again) is PackedValue
    assert typed(decode(again.packed, list(again.refs), arrays=again.pooled)) == typed(data)
    from_json = as_packed(encode_value(data))
    assert typed(decode(from_json.packed, list(from_json.refs), arrays=from_json.pooled)) \
        == typed(data)


def test_as_packed_refuses_tagged_json_that_owns_datasets() -> None:
    tagged = encode_value({"big": np.zeros(POOL_ARRAY_BYTES // 8 + 1)})
    assert tagged.arrays
    with pytest.raises(NeedsDatasets):
        as_packed(tagged)
