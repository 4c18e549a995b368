"""Files written by each released layout version still restore to the same session.

The files in tests/data/layouts/ are never regenerated (see the README there); a
failure here means a change broke reading files that users already have.
``session-*`` files hold :func:`golden_session`; ``v2/rows-lz4.h5s`` holds
:func:`golden_rows_session`, every kind of value inside layout 2's msgpack table rows;
``v3/arrays-lz4.h5s`` holds :func:`golden_arrays_session`, every kind of chunk layout 3's
array codec writes.
``v3/values-lz4.*`` hold :func:`golden_values_session`, the value types layout 3 added.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import Any

import h5py
import msgpack
import numpy as np
import pytest
from golden_classes import (
    APP,
    GoldenItem,
    GoldenManager,
    GoldenVolume,
    golden_arrays,
    golden_arrays_session,
    golden_rows_session,
    golden_session,
    golden_values_session,
)
from helpers import _Comparer

import sessionh5
from sessionh5 import Model, Session, State
from sessionh5._containers._hdf5.layout import LAYOUT_VERSION, READABLE_LAYOUTS

LAYOUTS = Path(__file__).resolve().parent / "data" / "layouts"
GOLDEN = sorted(p for p in LAYOUTS.glob("v*/session-*") if p.suffix in (".h5s", ".cxs"))
#: Every kind of value in layout 2's table rows (written once, like the files above).
ROWS = LAYOUTS / "v2" / "rows-lz4.h5s"
#: The same session in layout 3, whose rows keep their arrays in the tables' pools.
ROWS_FILES = [ROWS, LAYOUTS / "v3" / "rows-lz4.h5s"]
#: Every kind of chunk layout 3 writes for compress="lz4" (written once, like the others).
ARRAYS = LAYOUTS / "v3" / "arrays-lz4.h5s"
#: The value types of layout 3, in both containers (written once, like the files above).
VALUES = [LAYOUTS / "v3" / "values-lz4.h5s", LAYOUTS / "v3" / "values-lz4.cxs"]
#: Metadata that depends on when and where the files were written.
TIMESTAMPS = {"created", "modified", "generator", "dateCopyrighted", "session_version"}


class _SessionAware(_Comparer):
    """The strict comparer, except that each side's own session counts as the same value."""

    def same(self, e: object, a: object, path: str) -> None:
        if not (isinstance(e, Session) and isinstance(a, Session)):
            super().same(e, a, path)


def test_golden_files_exist() -> None:
    """Four files (two containers, two compressions) for every layout version read,
    and the rows file of layout 2."""
    assert LAYOUT_VERSION in READABLE_LAYOUTS
    names = ["session-gzip.cxs", "session-gzip.h5s", "session-lz4.cxs", "session-lz4.h5s"]
    assert [p.relative_to(LAYOUTS).as_posix() for p in GOLDEN] == [
        f"v{version}/{name}" for version in sorted(READABLE_LAYOUTS) for name in names]
    assert sorted(p.relative_to(LAYOUTS).as_posix() for p in LAYOUTS.glob("v*/*")
                  if p.suffix in (".h5s", ".cxs")) == sorted(
        [p.relative_to(LAYOUTS).as_posix() for p in [*GOLDEN, *ROWS_FILES, ARRAYS, *VALUES]])
    assert sum(p.stat().st_size for p in GOLDEN) < 200_000
    assert all(p.stat().st_size < 100_000 for p in [*ROWS_FILES, ARRAYS])


@pytest.mark.parametrize("path", [p for p in GOLDEN if p.suffix == ".h5s"]
                         + [*ROWS_FILES, ARRAYS, VALUES[0]],
                         ids=lambda p: p.relative_to(LAYOUTS).as_posix())
def test_golden_hdf5_file_has_its_folders_layout_version(path: Path) -> None:
    """A file in ``v<N>/`` was written by layout N's writer (so each reader path runs)."""
    with h5py.File(path, "r") as f:
        assert int(f.attrs["sessionh5-layout-version"]) == int(path.parent.name[1:])


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.relative_to(LAYOUTS).as_posix())
def test_golden_file_restores_to_the_expected_session(path: Path) -> None:
    """Every manager, object, array (dtype, byte order, bits), model, alias and log line."""
    expected = golden_session(cycle=path.suffix == ".h5s")
    restored = Session(APP, silent=True)
    with open(path, "rb") as stream:
        report = restored.restore(stream)
    assert report.ok and report.skipped == []
    assert restored.state_manager_tags == expected.state_manager_tags
    for tag in expected.state_manager_tags:
        _SessionAware().same(expected.get_state_manager(tag), restored.get_state_manager(tag),
                             tag)
    assert type(restored.golden) is GoldenManager
    a, b = restored.golden.items[:2]
    assert type(a) is GoldenItem and b.peer is a
    assert (getattr(a, "peer", None) is b) == (path.suffix == ".h5s")
    plain = {k: v for k, v in restored.metadata.items() if k not in TIMESTAMPS}
    assert plain.pop("creator")[0] == "sessionh5 tests"  # then whoever saved it
    assert plain == {"title": "golden v1"}


@pytest.mark.parametrize("path", [*GOLDEN, *ROWS_FILES, ARRAYS, *VALUES],
                         ids=lambda p: p.relative_to(LAYOUTS).as_posix())
def test_golden_file_validates_clean(path: Path) -> None:
    assert sessionh5.validate(path) == []


# --- v3/arrays-lz4.h5s: every kind of chunk of layout 3's array codec -----------------------


def test_arrays_file_restores_every_array_exactly() -> None:
    """Shape, dtype (byte order, records, text) and bytes of every array; metadata."""
    expected = golden_arrays()
    restored = Session(APP, silent=True)
    report = restored.restore(ARRAYS)
    assert report.ok and report.skipped == []
    volume = restored.arrays.volume
    assert type(volume) is GoldenVolume
    got = [volume.data, *volume.levels]
    assert len(got) == len(expected)
    for array, want in zip(got, expected.values(), strict=True):
        assert type(array) is np.ndarray and array.dtype == want.dtype
        assert array.shape == want.shape and array.tobytes() == want.tobytes()
    plain = {k: v for k, v in restored.metadata.items() if k not in TIMESTAMPS}
    assert plain.pop("creator")[0] == "sessionh5 tests"
    assert plain == {"title": "golden arrays v3"}
    assert golden_arrays_session().arrays.volume.data.tobytes() == volume.data.tobytes()


def test_arrays_file_is_read_exactly_by_plain_h5py() -> None:
    """h5py + hdf5plugin decodes every Blosc chunk (Fletcher32 checked) to the same bytes;
    text comes back as the uint32 code points it is stored as."""
    import hdf5plugin  # noqa: F401  (registers the Blosc filter with HDF5)

    expected = list(golden_arrays().values())
    with h5py.File(ARRAYS, "r") as f:
        group = f["arrays/Volume 1"]
        names = ["data"] + [f"levels.{i}" for i in range(len(expected) - 1)]
        for name, want in zip(names, expected, strict=True):
            dataset = group[name]
            assert dataset.chunks is not None and "32001" in dataset._filters
            stored = dataset[()]
            if want.dtype.kind == "U":
                want = want[..., np.newaxis].view("<u4")
            assert stored.dtype == want.dtype and stored.tobytes() == want.tobytes(), name


# --- v2/rows-lz4.h5s: every kind of value inside packed table rows -------------------------


def _image(v: Any) -> Any:
    """A hashable image of a set member: type and value, floats by their bits, saved
    objects by class and name (their identity is checked once members are paired)."""
    t = type(v)
    if t is float:
        return "float", struct.pack("<d", v)
    if t is complex:
        return "complex", struct.pack("<dd", v.real, v.imag)
    if t is tuple:
        return "tuple", tuple(map(_image, v))
    if t is frozenset:
        return "frozenset", frozenset(map(_image, v))
    if isinstance(v, np.generic):
        return t.__name__, v.dtype.str, v.tobytes()
    if isinstance(v, Session):
        return ("Session",)
    if isinstance(v, State):
        return "State", t.__qualname__, v.name
    return t.__name__, v


class _Exact(_SessionAware):
    """:class:`_SessionAware`, with floats compared bit for bit (nan payloads and signs
    too) and set members paired by value, so that a saved object in a set member tuple
    is followed like any other reference."""

    def float(self, e: float, a: float, path: str) -> None:
        assert struct.pack("<d", e) == struct.pack("<d", a), f"{path}: {a!r} != {e!r} (bits)"

    def same(self, e: object, a: object, path: str) -> None:
        if type(e) in (set, frozenset) and type(a) is type(e):
            assert isinstance(a, (set, frozenset)) and isinstance(e, (set, frozenset))
            members = {_image(x): x for x in a}
            assert len(members) == len(a) == len(e), f"{path}: {a!r} != {e!r}"
            for x in e:
                assert _image(x) in members, f"{path}: {x!r} is missing from {a!r}"
                self.same(x, members[_image(x)], f"{path}{{{x!r}}}")
            return
        super().same(e, a, path)

    def state(self, e: State, a: State, path: str) -> None:
        """Attributes by name, not in order: the Models manager sets a restored Model's
        ``parent`` and ``_child_models`` (left out of its snapshot) after the others."""
        known = self.seen.get(id(e))
        if known is not None:
            assert known == id(a), f"{path}: a shared/cyclic object came back as a different one"
            return
        self.seen[id(e)] = id(a)
        assert sorted(vars(e)) == sorted(vars(a)), f"{path}: attributes {sorted(vars(a))}"
        for name, value in vars(e).items():
            self.same(value, vars(a)[name], f"{path}.{name}")


@pytest.mark.parametrize("rows_file", ROWS_FILES,
                         ids=lambda p: p.relative_to(LAYOUTS).as_posix())
def test_rows_file_restores_every_value_exactly(rows_file: Path) -> None:
    """Type and value of every value in every row, float bits, shared objects and cycles."""
    expected = golden_rows_session()
    restored = Session(APP, silent=True)
    with open(rows_file, "rb") as stream:
        report = restored.restore(stream)
    assert report.ok and report.skipped == []
    assert restored.state_manager_tags == expected.state_manager_tags
    compare = _Exact()  # one comparer: objects shared across managers must stay shared
    for tag in expected.state_manager_tags:
        compare.same(expected.get_state_manager(tag), restored.get_state_manager(tag), tag)

    manager = restored.rows
    assert type(manager) is GoldenManager
    a, b, refs = manager.items[:3]
    assert all(type(item) is GoldenItem for item in manager.items)
    assert a.peer is b and b.peer is a and a.back is refs
    assert refs.pair[0] is b
    (member,) = (m for m in refs.members if type(m) is tuple)
    assert member[1] is a
    assert refs.owner is restored and refs.queue[1] is restored
    assert refs.by_key[1] is a and refs.by_key["b"] is b
    assert refs.manager is manager
    (model,) = restored.models.list()
    assert type(model) is Model and refs.model is model
    assert model.session is restored and model.session_in_tuple[0] is restored
    plain = {k: v for k, v in restored.metadata.items() if k not in TIMESTAMPS}
    assert plain.pop("creator")[0] == "sessionh5 tests"
    assert plain == {"title": "golden rows v2"}


#: Extension codes of packed rows, as docs/format.md numbers them (never renumbered).
ROW_EXTENSIONS = {1: "REF", 2: "SESSION", 3: "TUPLE", 4: "SET", 5: "FROZENSET", 6: "ODICT",
                  7: "DEQUE", 8: "BYTEARRAY", 9: "COMPLEX", 10: "RANGE", 11: "DATETIME",
                  12: "TIMEDELTA", 13: "TIMEZONE", 14: "PNG", 15: "SCALAR", 16: "ARRAY",
                  17: "BIG_INT", 18: "FINALIZED", 19: "TINYARRAY", 20: "MASKED", 21: "DATE",
                  22: "TIME", 23: "PATH", 24: "UUID", 25: "DECIMAL", 26: "FRACTION", 27: "ENUM",
                  32: "POOLED"}
#: The codes layout 2 has (the others came with layout 3).
LAYOUT_2_EXTENSIONS = set(range(1, 18))
#: Extensions whose payload is raw bytes rather than a packed value.
RAW_PAYLOADS = {1, 2, 8, 9, 14, 17, 32}
#: What msgpack stores natively that the rows must hold somewhere.
NATIVE_KINDS = {"map with non-str keys", "bin", "nan", "-0.0", "uint64"}


def _read_rows_plainly(path: Path) -> tuple[set[int], set[str], int]:
    """Every table row of ``path`` read with h5py and plain msgpack (as docs/format.md
    shows): the extension codes met at any depth, the native kinds met, the row count."""
    codes: set[int] = set()
    kinds: set[str] = set()
    refs_in_row = 0

    def walk(value: Any) -> None:
        stack = [value]
        while stack:
            v = stack.pop()
            t = type(v)
            if t is dict:
                if any(type(k) is not str for k in v):
                    kinds.add("map with non-str keys")
                stack.extend(v)
                stack.extend(v.values())
            elif t is list:
                stack.extend(v)
            elif t is bytes:
                kinds.add("bin")
            elif t is float and math.isnan(v):
                kinds.add("nan")
            elif t is float and v == 0 and math.copysign(1, v) < 0:
                kinds.add("-0.0")
            elif t is int and v >= 2**63:
                kinds.add("uint64")

    def hook(code: int, payload: bytes) -> Any:
        assert code in ROW_EXTENSIONS, f"extension code {code} is not in docs/format.md"
        codes.add(code)
        if code == 1:
            assert len(payload) in (1, 2, 4)
            assert int.from_bytes(payload, "little") < refs_in_row
        elif code == 2:
            assert payload == b""
        elif code not in RAW_PAYLOADS:
            walk(msgpack.unpackb(payload, strict_map_key=False, ext_hook=hook))
        return ("ext", code, bytes(payload))  # hashable: extensions may be map keys

    tables: list[str] = []
    rows = 0
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, node: tables.append(name)
                     if isinstance(node, h5py.Group) and "state_start" in node else None)
        for name in tables:
            table = f[name]
            data = table["state"][()].tobytes()
            starts = table["state_start"][()]
            ref_start = table["ref_start"][()]
            assert starts[0] == 0 and starts[-1] == len(data)
            for i in range(len(starts) - 1):
                refs_in_row = int(ref_start[i + 1] - ref_start[i])
                walk(msgpack.unpackb(data[starts[i]:starts[i + 1]], strict_map_key=False,
                                     ext_hook=hook))
                rows += 1
    return codes, kinds, rows


def test_rows_file_covers_every_extension_code_and_native_kind() -> None:
    """Read with msgpack alone, the rows hold every extension code of docs/format.md and
    every native kind that needs care, so the restore test above exercises them all."""
    codes, kinds, rows = _read_rows_plainly(ROWS)
    assert rows == 8  # seven GoldenItems and the Model: no object fell back to a node
    missing = {ROW_EXTENSIONS[c] for c in LAYOUT_2_EXTENSIONS - codes}
    assert not missing, f"no row holds extension {sorted(missing)}"
    assert kinds == NATIVE_KINDS


def test_layout_3_rows_file_keeps_its_arrays_in_pools() -> None:
    """The rows of v3/rows-lz4.h5s hold pooled-array extensions, not inline arrays."""
    with h5py.File(ROWS_FILES[1], "r") as f:
        table = f["/rows/Item"]
        assert len(table["array_pool"]) >= 10
        assert {n for n in table if n.startswith("pool.")} >= {"pool.0", "pool.1"}


# --- v3/values-lz4.*: the value types of layout 3 ------------------------------------------


@pytest.mark.parametrize("path", VALUES, ids=lambda p: p.relative_to(LAYOUTS).as_posix())
def test_values_files_restore_every_value_exactly(path: Path) -> None:
    """Dates, times, paths, UUIDs, decimals, fractions, enum members and masked arrays,
    in rows and in the manager, and metadata lists of numbers, come back exactly."""
    expected = golden_values_session()
    restored = Session(APP, silent=True)
    with open(path, "rb") as stream:
        report = restored.restore(stream)
    assert report.ok and restored.state_manager_tags == expected.state_manager_tags
    compare = _Exact()
    for tag in expected.state_manager_tags:
        compare.same(expected.get_state_manager(tag), restored.get_state_manager(tag), tag)
    plain = {k: v for k, v in restored.metadata.items() if k not in TIMESTAMPS}
    assert plain.pop("creator")[0] == "sessionh5 tests"
    compare.same({"title": "golden values v3", "color": [0.5, 0.25, 0.125], "sizes": [1, 2, 3],
                  "shown": [True, False]}, plain, "metadata")


def test_values_file_rows_hold_the_codes_of_layout_3() -> None:
    """Read with msgpack alone, the rows hold codes 20-27 (18 and 19 only come from
    converted stream files); the big masked array's data and mask are datasets."""
    codes, _, rows = _read_rows_plainly(VALUES[0])
    assert rows == 1
    assert set(range(20, 28)) <= codes
    with h5py.File(VALUES[0], "r") as f:
        assert f.attrs["sessionh5-compression"] == "lz4"
        assert list(f.attrs["sessionh5-attr-info"]) == list(f.attrs["sessionh5-managers"])
        assert f.attrs["color"].dtype == np.float64 and f.attrs["sizes"].dtype == np.int64
        group = f["golden"]
        assert group["big.data"].shape == (4000,) and group["big.mask"].dtype == np.bool_
