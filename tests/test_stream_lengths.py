"""DeclaredSizes follows a msgpack value header by header, however it is cut into chunks.

It must find the value's end exactly (so the reader knows where the next one starts)
and refuse a value as soon as a header declares more than the limit, before the
announced bytes exist.
"""

from __future__ import annotations

import datetime as dt

import msgpack  # type: ignore[import-untyped]
import pytest

from sessionh5._containers._stream.lengths import DeclaredSizes, SizeGuard, TooLarge

VALUES = [
    0, -1, 2**63, -(2**31), 1.5, None, True, False, "", "x" * 31, "y" * 32, "z" * 70_000,
    b"", b"b" * 300, b"c" * 70_000, [], {}, list(range(20)), list(range(70_000)),
    {"k": {"n": [None, [[], {}], {"deep": [1.0] * 17}]}}, {i: str(i) for i in range(40)},
    msgpack.ExtType(5, b""), msgpack.ExtType(5, b"1"), msgpack.ExtType(5, b"12"),
    msgpack.ExtType(5, b"1234"), msgpack.ExtType(5, b"12345678"), msgpack.ExtType(5, b"x" * 16),
    msgpack.ExtType(5, b"x" * 17), msgpack.ExtType(5, b"x" * 70_000),
    [msgpack.ExtType(1, b"r" * 9), {"a": b"q" * 255}],
    [1.5] * 50 + list(range(300)) + [2**40] * 20 + [None, True] * 9 + [[0.5] * 3] * 4,
    dt.datetime(2020, 1, 1, tzinfo=dt.UTC),  # the timestamp extension
]


def follow(data: bytes, step: int, limit: int = 1 << 40) -> DeclaredSizes:
    sizes = DeclaredSizes(limit)
    for at in range(0, len(data), step):
        sizes.feed(data[at:at + step])
    return sizes


@pytest.mark.parametrize("step", [1, 2, 3, 5, 8, 1000, 1 << 20])
def test_the_end_of_every_kind_of_value_is_found_in_any_chunks(step: int) -> None:
    for value in VALUES:
        packed = msgpack.packb(value, datetime=True)
        if step < 8 and len(packed) > 2000:
            continue
        sizes = follow(packed + b"\x01\x02\x03", step)  # the next value's bytes follow
        assert sizes.done and sizes.at == len(packed), value


@pytest.mark.parametrize(("header", "what"), [
    (b"\xdb\x80\x00\x00\x00", "a string, binary or extension value"),  # str32 of 2 GiB
    (b"\xc6\x80\x00\x00\x00", "a string, binary or extension value"),  # bin32
    (b"\xc9\x80\x00\x00\x00\x05", "a string, binary or extension value"),  # ext32
    (b"\xdd\xff\xff\xff\xff", "an array's item count"),
    (b"\xdf\x40\x00\x00\x00", "a map's item count"),
])
@pytest.mark.parametrize("step", [1, 2, 100])
def test_a_header_declaring_more_than_the_limit_is_refused_at_once(
        header: bytes, what: str, step: int) -> None:
    data = b"\x92\x81\xa1k" + header  # [{"k": <the value>}, ...: nested two levels down
    with pytest.raises(TooLarge) as info:
        follow(data, step, limit=1 << 30)
    assert info.value.what == what and info.value.needed > 1 << 30


def test_bytes_already_seen_count_toward_the_limit() -> None:
    packed = msgpack.packb([b"a" * 100, b"b" * 100])
    follow(packed, 7, limit=len(packed))
    with pytest.raises(TooLarge):
        follow(packed, 7, limit=len(packed) - 1)


def test_the_guard_follows_a_value_from_its_first_byte_once_it_outgrows_the_watch() -> None:
    """Small values cost nothing; a value that grows past WATCH is followed from its
    start (kept chunks), so a header that arrived before it grew is still seen."""
    guard = SizeGuard(value_limit=1 << 30, total_limit=1 << 40)
    guard.WATCH = 64
    small = msgpack.packb("s" * 40)
    guard.check(small, 0, 0)
    guard.value_done()
    value = b"\x92\xdb\x80\x00\x00\x00" + b"a" * 30  # [<a 2 GiB string>, ...]
    guard.check(value, len(small), len(small))  # 36 bytes pending: not followed yet
    assert guard._sizes is None
    with pytest.raises(TooLarge) as info:
        guard.check(b"a" * 40, len(small) + len(value), len(small))
    assert info.value.what == "a string, binary or extension value"


def test_the_whole_stream_is_held_to_its_limit() -> None:
    guard = SizeGuard(value_limit=1 << 30, total_limit=100)
    guard.check(b"\x01" * 60, 0, 0)
    with pytest.raises(TooLarge) as info:
        guard.check(b"\x01" * 60, 60, 60)
    assert info.value.what == "the whole stream"
