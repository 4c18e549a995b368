"""Classes and the sessions that the golden files in tests/data/layouts/ were written from.

Never change what :func:`golden_session` and :func:`golden_rows_session` build or the
classes' names and versions: the golden files are what an old sessionh5 wrote, and the
tests compare them with this module. A new layout version gets new files and, if needed,
new classes here.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import fractions
import pathlib
import struct
import uuid
from collections import OrderedDict, deque
from typing import Any

import numpy as np

from sessionh5 import Model, Session, State, StateManager, register_enum
from sessionh5._engine.records import PngImage

APP = "sessionh5-golden"


class GoldenItem(State):
    """A small object (a table row), default snapshot: may take part in cycles."""

    SESSION_NAME = "golden.Item"
    SESSION_VERSION = 2

    def __init__(self, name: str, **attrs: Any) -> None:
        self.name = name
        self.__dict__.update(attrs)


class GoldenVolume(State):
    """An object with arrays (its own node) and its own restore_snapshot."""

    SESSION_NAME = "golden.Volume"

    def __init__(self, data: np.ndarray, levels: list[np.ndarray]) -> None:
        self.data = data
        self.levels = levels

    def take_snapshot(self, session: Session, flags: int) -> Any:
        return {"data": self.data, "levels": list(self.levels)}

    @classmethod
    def restore_snapshot(cls, session: Session, data: Any) -> GoldenVolume:
        return cls(data["data"], data["levels"])


class GoldenManager(StateManager):
    """The application's own manager."""

    SESSION_NAME = "golden.Manager"

    def __init__(self, **attrs: Any) -> None:
        self.__dict__.update(attrs)

    def reset_state(self, session: Session) -> None:
        self.__dict__.clear()


def golden_session(*, cycle: bool = True) -> Session:
    """The session every golden file holds (metadata timestamps aside).

    Streams cannot hold reference cycles, so stream files are written with ``cycle=False``.
    """
    session = Session(APP, silent=True)
    session.metadata.update(title="golden v1", creator="sessionh5 tests")
    a, b = GoldenItem("a"), GoldenItem("b")
    b.peer = a
    if cycle:
        a.peer = b  # a cycle through default restores
    volume = GoldenVolume(np.tile(np.arange(600, dtype="<i4"), 40).reshape(40, 600),
                          [np.arange(300, dtype=">i2"), np.ones((3, 3), dtype=np.complex128)])
    session.golden = GoldenManager(
        items=[a, b, GoldenItem("c", value=3)], volume=volume,
        values={"int": 2**70, "float": float("nan"), "tuple": (1, "x"), "set": {1, 2},
                "bytes": b"\x00\xff", "odict": OrderedDict(z=1, a=2), "deque": deque([1], 4),
                "when": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
                "scalar": np.float32(1.5), "text": np.array(["ab", "c"])})
    session.models.add([Model("first", session)])
    session.models.add([Model("child", session)], parent=session.models.list()[0])
    session.user_aliases["hi"] = "echo hi"
    session.logger.info("golden log line")
    session.main_view.field_of_view = 42.0
    return session


def _float(bits: int) -> float:
    """The float64 whose IEEE 754 bits are ``bits`` (nan payloads, signed zeros)."""
    return struct.unpack("<d", bits.to_bytes(8, "little"))[0]


def golden_rows_session() -> Session:
    """The session of ``layouts/v2/rows-lz4.h5s``: every kind of value inside table rows.

    Layout 2 packs small objects as msgpack rows with extension types (docs/format.md,
    "Packed rows"). golden_session()'s rows only use the REF, SESSION and TUPLE codes;
    here the GoldenItem and Model rows hold every other code, maps with non-str keys,
    bytes, nan and -0.0 floats and unsigned 64-bit ints, top level and nested. No array
    is over 1 KiB, so every GoldenItem is a row of ``/rows/Item``. References: a cycle
    between rows, references in a tuple, in a set member tuple, in an OrderedDict and
    in a deque, to a Model row (another table), to the manager (an object node) and
    to the session itself.
    """
    session = Session(APP, silent=True)
    session.metadata.update(title="golden rows v2", creator="sessionh5 tests")
    session.models.add([Model("model", session)])
    model = session.models.list()[0]
    model.session_in_tuple = (session, "session")  # SESSION nested in a row of /models/Model
    model.when = dt.timedelta(seconds=90)

    a, b = GoldenItem("a"), GoldenItem("b")
    a.peer, b.peer = b, a  # a cycle between two rows
    refs = GoldenItem(
        "refs",
        pair=(b, "pair"),  # a reference inside a tuple
        members={(1, a), "m", 2.5},  # a reference inside a set member tuple
        owner=session,
        model=model,  # a row of another table
        by_key=OrderedDict([(1, a), ("b", b)]),
        queue=deque([a, session], 5),
    )
    a.back = refs  # a cycle through the set member tuple

    numbers = GoldenItem(
        "numbers",
        ints=[0, -1, 127, -32, 2**63 - 1, -(2**63)],
        uint64=[2**63, 2**64 - 1],
        big_ints=[2**64, -(2**63) - 1, 10**40, -(7**60)],
        floats=[0.1, -0.0, 0.0, float("inf"), float("-inf"), 5e-324, -1.5e308],
        nans=[float("nan"), _float(0x7FF0_0000_0000_0001), _float(0xFFF8_0000_0000_0000),
              _float(0x7FFF_FFFF_FFFF_FFFF)],
        complexes=[complex(-0.0, float("nan")), complex(float("inf"), 1e-300), 1j,
                   complex(_float(0x7FF8_0000_0000_0042), -0.0)],
        scalars=[np.float32(1.5), np.float64(-0.0), np.int8(-128), np.uint64(2**64 - 1),
                 np.int32(-7), np.float16(0.5),
                 np.complex64(complex(1, -2)), np.bool_(True), np.str_("héllo"),
                 np.bytes_(b"ab\x00c"), np.datetime64("2026-01-02T03:04", "m"),
                 np.timedelta64(-5, "s"),
                 np.zeros(1, dtype=[("x", "<f4"), ("y", ">i2")])[0]],
        scalar=np.float64(_float(0x7FF8_0000_0000_0007)),  # a SCALAR at the top of a value
        count=np.uint16(65535),
    )

    containers = GoldenItem(
        "containers",
        tuple=(1, (2, (3, ())), [4, (5,)], "t"),
        set={1, "s", b"b", (2, 3), frozenset({4, 5}), None, -0.0},
        frozenset=frozenset({1.5, "f", (1, frozenset({2}))}),
        empty_sets=[set(), frozenset()],
        odict=OrderedDict([(3, "three"), ("z", 1), ((1, 2), [1, 2]), (None, {}), ("a", 0)]),
        deques=[deque([1, "two", (3,)], 3), deque(), deque(maxlen=0), deque([[1], {2: 3}])],
        bytearrays=[bytearray(b"\x00\xffab"), bytearray()],
        bytes=[b"\xff\x00", b"", bytes(range(256))],
        ranges=[range(10), range(10, -5, -3), range(0), range(-(2**70), 2**70, 2**65)],
        keys={1: "int", -5: "negative", 2.5: "float", -0.0: "negative zero", None: "none",
              b"k": "bytes", (1, "t"): "tuple", frozenset({1, 2}): "frozenset",
              2**70: "big int", "$tuple": "dollar", "$": "dollar alone", "": "empty"},
        bool_keys={True: "true", False: "false", 7: "seven"},  # True == 1, False == 0 == -0.0
        str_keys={"plain": 1, "ünïcode": 2, "$odict": 3},
        nested=({frozenset({(1, (2, frozenset({3})))})}, [{4}], OrderedDict(x=deque([{5}]))),
        empty=[[], {}, (), ""],
    )

    times = GoldenItem(
        "times",
        naive=dt.datetime(1999, 12, 31, 23, 59, 59, 999999),
        utc=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        offset=dt.datetime(2026, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=-5, minutes=-30))),
        named=dt.datetime(2026, 7, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2), "CEST")),
        named_zero=dt.datetime(2026, 7, 1, tzinfo=dt.timezone(dt.timedelta(0), "GMT")),
        seconds_offset=dt.datetime(1900, 1, 1, tzinfo=dt.timezone(dt.timedelta(seconds=-1234))),
        timedeltas=[dt.timedelta(0), dt.timedelta(days=-1, seconds=5, microseconds=7),
                    dt.timedelta(days=999999999, seconds=86399, microseconds=999999)],
        timezones=[dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=45)),
                   dt.timezone(dt.timedelta(hours=-3), "BRT"),
                   dt.timezone(dt.timedelta(0), "UTC"),
                   dt.timezone(dt.timedelta(hours=1, microseconds=5), "Odd")],
    )

    point = np.dtype([("x", "<f4"), ("y", ">i2"), ("tag", "S3")])
    nested = np.dtype([("pos", [("x", "<f8"), ("y", "<f8")]), ("flags", "u1", (3,)),
                       ("n", "<i4")])
    aligned = np.dtype([("a", "u1"), ("b", "<f8")], align=True)
    media = GoldenItem(
        "media",
        png=PngImage(b"\x89PNG\r\n\x1a\n" + bytes(range(24))),
        floats=np.array([1.5, -0.0, float("inf"), _float(0x7FF8_0000_0000_0003)], dtype="<f8"),
        big_endian=np.arange(6, dtype=">i2").reshape(2, 3),
        zero_d=np.array(3.25, dtype="<f4"),
        empty=np.zeros((0, 3), dtype="<u2"),
        text=np.array(["ab", "ç", ""]),
        raw=np.array([b"a\x00", b"xyz"], dtype="S3"),
        flags=np.array([True, False, True]),
        complex=np.array([1j, complex(-0.0, 2)], dtype=">c8"),
        days=np.array(["2026-01-01", "NaT"], dtype="M8[D]"),
        points=np.array([(1.5, -2, b"ab"), (-0.0, 7, b"")], dtype=point),
        nested=np.array([((1.0, 2.0), (1, 2, 3), -4)], dtype=nested),
        aligned=np.array([(1, 2.5), (255, -0.0)], dtype=aligned),
        fortran=np.asfortranarray(np.arange(6, dtype="<i8").reshape(2, 3)),
        limit=np.arange(128, dtype="<f8"),  # exactly 1 KiB: the largest array a row holds
        in_tuple=(np.array([1, 2], dtype="<u8"), np.int32(3)),
    )

    session.rows = GoldenManager(items=[a, b, refs, numbers, containers, times, media],
                                 note="the manager is an object node; rows refer to it")
    refs.manager = session.rows  # a reference from a row to an object node
    return session


def golden_arrays() -> dict[str, np.ndarray]:
    """The arrays of ``layouts/v3/arrays-lz4.h5s``: one per way layout 3 stores chunks.

    Each is over the 64 KiB tiny-array limit, so it is chunked and Blosc-compressed:
    byte-shuffled numbers (both byte orders, several chunks with a short last one),
    bit-shuffled 1-byte numbers and bools, unshuffled bytes, text (uint32 code points
    plus a dtype marker) and records. Values are seeded and compress well, so the file
    stays small.
    """
    rng = np.random.default_rng(15)
    record = np.dtype([("x", "<f4"), ("n", ">i2"), ("tag", "S3")])
    records = np.zeros(12_000, record)
    records["x"] = np.arange(12_000) / 8
    records["n"] = np.arange(12_000) % 300
    records["tag"] = b"ab"
    return {
        "steps": (np.arange(1001 * 400, dtype="<i8") // 7).reshape(1001, 400),  # 4 chunks,
        # the last one short
        "smooth": np.linspace(0, 1, 3 * 100 * 110, dtype=">f4").reshape(3, 100, 110),
        "labels": np.repeat(rng.integers(0, 5, 3000).astype(np.uint8), 100),
        "mask": np.repeat(rng.integers(0, 2, 3000).astype(bool), 100),
        "bytes": np.array([b"sessionh5", b"\x00\xff"] * 10_000, dtype="S9"),
        "text": np.array(["golden", "été", ""] * 6_000),
        "records": records,
    }


def golden_arrays_session() -> Session:
    """The session of ``layouts/v3/arrays-lz4.h5s``: golden_arrays() on one volume."""
    session = Session(APP, silent=True)
    session.metadata.update(title="golden arrays v3", creator="sessionh5 tests")
    arrays = golden_arrays()
    session.arrays = GoldenManager(volume=GoldenVolume(arrays.pop("steps"), list(arrays.values())))
    return session


# --- layout 3: the value types added by issue 13 ------------------------------------------


@register_enum
class GoldenColor(enum.Enum):
    RED = "red"
    BLUE = "blue"


@register_enum
class GoldenLevel(enum.IntEnum):
    LOW = 1
    HIGH = 2


class GoldenPerm(enum.Flag):
    R = 4
    W = 2
    X = 1


register_enum(GoldenPerm, name="golden.Perm")


def golden_values_session() -> Session:
    """The session of ``layouts/v3/values-lz4.*``: every value type layout 3 added.

    Each value sits both in a table row (GoldenItem, msgpack codes 18-27) and in the
    manager (tagged JSON); one masked array is large enough for datasets of its own.
    """
    session = Session(APP, silent=True)
    session.metadata.update(title="golden values v3", creator="sessionh5 tests",
                            color=[0.5, 0.25, 0.125], sizes=[1, 2, 3], shown=[True, False])
    values = {
        "dates": [dt.date(2026, 12, 1), dt.date.min, dt.date.max],
        "times": [dt.time(), dt.time(23, 59, 59, 999999), dt.time(8, tzinfo=dt.UTC),
                  dt.time(8, 30, tzinfo=dt.timezone(dt.timedelta(hours=2), "CEST"), fold=1)],
        "paths": [pathlib.PurePosixPath("data/ünï 1.h5"), pathlib.PureWindowsPath(r"C:\Data\x"),
                  pathlib.PurePosixPath()],
        "uuids": {uuid.UUID("12345678-1234-5678-1234-567812345678"), uuid.UUID(int=0)},
        "decimals": (decimal.Decimal("1.10"), decimal.Decimal("-0.000"), decimal.Decimal("NaN"),
                     decimal.Decimal("-sNaN7"), decimal.Decimal("1E+999999")),
        "fractions": [fractions.Fraction(1, 3), fractions.Fraction(-(2**70), 3**40)],
        "enums": {GoldenColor.RED: [GoldenLevel.HIGH, GoldenPerm.R | GoldenPerm.X,
                                    GoldenPerm(0)], "blue": GoldenColor.BLUE},
        "masked": [np.ma.array([1, 2, 3], mask=[0, 1, 0], fill_value=-1),
                   np.ma.array([1.5, np.nan]),
                   np.ma.array(np.zeros(2, [("a", "<i4"), ("b", "S2")]), mask=[(0, 1), (1, 0)],
                               hard_mask=True)],
    }
    big = np.ma.array(np.arange(4000.0), mask=np.arange(4000) % 7 == 0, fill_value=-9.0)
    session.golden = GoldenManager(values=values, big=big,
                                   items=[GoldenItem("values", **values)])
    return session
