"""sessionh5.convert and `sessionh5 convert`/`dump`: stream <-> HDF5 without the classes.

The real files (and their lz4 / uncompressed variants) go to HDF5 and back, and the
stream that comes back must decode to the same header and records, value by value and
in the same order. The HDF5 in the middle is checked with plain h5py: one group per
manager tag, arrays as datasets, references as HDF5 object references.
"""

from __future__ import annotations

import io
from collections import OrderedDict, deque
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from helpers import Box, Holder, assert_same, new_session, save_bytes
from stream_variants import (
    FIXTURE_NAMES,
    assert_same_content,
    compress,
    fixture_path,
    raw_stream,
    read_bytes,
)

import sessionh5
from sessionh5 import SaveError, State, UsageError
from sessionh5._cli import main
from sessionh5._containers._hdf5 import layout
from sessionh5._containers._hdf5.layout import POOL_ARRAY_BYTES
from sessionh5._containers._stream import StreamContent, read_stream, write_stream
from sessionh5._engine.records import FinalizedState, ObjectKey, Record, SessionHeader

VARIANTS = [(name, how) for name in FIXTURE_NAMES for how in ("gzip", "lz4", None)]


def variant_file(tmp_path: Path, name: str, how: str | None) -> Path:
    """A fixture re-compressed with ``how`` (gzip is the original file as is)."""
    path = tmp_path / f"{name}-{how or 'none'}.cxs"
    data = fixture_path(name).read_bytes() if how == "gzip" else compress(raw_stream(name), how)
    path.write_bytes(data)
    return path


def decoded(path: Path) -> StreamContent:
    with open(path, "rb") as stream:
        return read_stream(stream)


# --- real files: stream -> HDF5 -> stream ------------------------------------------------


@pytest.mark.parametrize(("name", "how"), VARIANTS)
def test_fixture_survives_hdf5_and_back(tmp_path: Path, name: str, how: str | None) -> None:
    """Same metadata, providers, managers, attr_info, records, versions, data and order."""
    source = variant_file(tmp_path, name, how)
    middle = sessionh5.convert(source, tmp_path / "middle.h5s")
    back = sessionh5.convert(middle, tmp_path / "back.cxs")
    assert middle == tmp_path / "middle.h5s" and back == tmp_path / "back.cxs"
    original, returned = decoded(source), decoded(back)
    assert_same_content(original, returned)
    assert [r.key for r in returned.records] == [r.key for r in original.records]
    assert list(returned.header.managers) == list(original.header.managers)
    magic = {"gzip": b"\x1f\x8b", "lz4": b"\x04\x22\x4d\x18", None: b"# ChimeraX"}[how]
    assert back.read_bytes().startswith(magic)  # the original's compression, kept both ways
    with h5py.File(middle, "r") as f:
        assert f.attrs["sessionh5-compression"] == (how or "none")


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_hdf5_of_a_fixture_has_a_group_per_tag(tmp_path: Path, name: str) -> None:
    """Each manager tag of the original is a group at /<tag> holding that manager."""
    original = decoded(fixture_path(name))
    path = sessionh5.convert(fixture_path(name), tmp_path / f"{name}.h5s")
    with h5py.File(path, "r") as file:
        for tag, key in original.header.managers.items():
            group = file["/" + layout.tag_to_name(tag)]
            assert isinstance(group, h5py.Group)
            assert group.attrs[layout.TAG] == tag
            assert group.attrs[layout.CLASS] == key.class_name
            assert group.attrs.get(layout.PROVIDER) == key.provider
        assert set(file) >= {"models", "main_view"}


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_hdf5_of_a_fixture_stores_big_arrays_as_datasets(tmp_path: Path, name: str) -> None:
    """Arrays above the pool limit are datasets of their own, smaller ones above 1 KiB sit in
    their table's pools: both with the original dtype, shape and bytes."""
    original = decoded(fixture_path(name))
    arrays = {a.tobytes(): a for r in original.records for a in _arrays(r.data)
              if a.nbytes > 1024}
    assert arrays, "the fixture has arrays above 1 KiB"
    path = sessionh5.convert(fixture_path(name), tmp_path / f"{name}.h5s")
    with h5py.File(path, "r") as file:
        stored = [d[()] for d in _datasets(file)
                  if d.parent.attrs[layout.NODE_KIND] == layout.OBJECT_NODE]
        pooled = [a for d in _datasets(file) if d.name.endswith("/" + layout.T_ARRAY_START)
                  for a in _pooled(d.parent)]
    assert sorted(a.nbytes for a in stored) == sorted(
        a.nbytes for a in arrays.values() if a.nbytes > POOL_ARRAY_BYTES)
    found = stored + [a for a in pooled if a.nbytes > 1024]
    assert len(found) == len(arrays)
    for array in found:
        expected = arrays[array.tobytes()]
        assert (array.dtype, array.shape) == (expected.dtype, expected.shape)


def _pooled(table: h5py.Group) -> list[np.ndarray]:
    """A table's pooled arrays, read with plain h5py as docs/format.md says."""
    pool_of, offsets = table["array_pool"][()], table["array_offset"][()]
    shape_start, dims = table["array_shape_start"][()], table["array_shape"][()]
    found = []
    for j in range(len(pool_of)):
        shape = tuple(dims[shape_start[j]:shape_start[j + 1]])
        size = int(np.prod(shape, dtype=np.int64))
        found.append(table[f"pool.{pool_of[j]}"][offsets[j]:offsets[j] + size].reshape(shape))
    return found


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_hdf5_references_are_object_references(tmp_path: Path, name: str) -> None:
    """Dereferencing `sessionh5-refs` (object nodes) and `refs` (tables) lands on the target."""
    path = sessionh5.convert(fixture_path(name), tmp_path / f"{name}.h5s")
    edges = sum(len(set(_keys(r.data))) for r in decoded(fixture_path(name)).records)
    checked = 0
    with h5py.File(path, "r") as file:
        paths = [p.decode() if isinstance(p, bytes) else p for p in file.attrs[layout.NODES]]
        for node_path in paths:
            node = file[node_path]
            if layout.REFS in node.attrs:
                refs, ids = node.attrs[layout.REFS], node.attrs[layout.REF_NODES]
            elif layout.T_REFS in node:
                refs, ids = node[layout.T_REFS][()], node[layout.T_REF_NODES][()]
            else:
                continue
            for ref, node_id in zip(refs, ids, strict=True):
                assert file[ref].name == paths[node_id]
                checked += 1
    assert checked == edges > 5


def test_foreign_stream_with_large_array_converts(tmp_path: Path) -> None:
    """A synthetic foreign file: provider-form keys, a 1 MiB array, references, versions."""
    volume = ObjectKey("VolumeData", 1, "Other-Bundle")
    manager = ObjectKey("Models", 1)
    grid = np.arange(2**18, dtype=">f4").reshape(64, 64, 64)
    header = SessionHeader(
        "OtherApp", metadata={"creator": ["a", "b"], "created": "2020-01-01T00:00:00Z"},
        providers={"Other-Bundle": ("2.1", 1)}, managers={"models": manager},
        attr_info={"models": True})
    records = [Record(volume, {"grid": grid, "origin": (0.0, 1.5, -2.0)}, 4),
               Record(manager, {"models": {(1,): volume}, "next": [volume, None]}, 2)]
    source = tmp_path / "foreign.cxs"
    with open(source, "wb") as out:
        write_stream(out, StreamContent(header, records), compress="gzip")
    middle = sessionh5.convert(source, tmp_path / "foreign.h5s", compress="gzip")
    with h5py.File(middle, "r") as file:
        dataset = file["models/VolumeData 1/grid"]
        assert (dataset.dtype.str, dataset.shape) == (">f4", (64, 64, 64))
        assert np.array_equal(dataset[()], grid)
        assert file["models/VolumeData 1"].attrs[layout.VERSION] == 4
        ref = file["models"].attrs[layout.REFS][0]
        assert file[ref].name == "/models/VolumeData 1"
    back = sessionh5.convert(middle, tmp_path / "back.cxs", compress=None)
    assert back.read_bytes().startswith(b"# OtherApp Session version 3\n")
    assert_same_content(StreamContent(header, records), decoded(back))


# --- our own sessions ----------------------------------------------------------------------


class Versioned(State):
    """A class with a version, so the class-version table is exercised."""

    SESSION_NAME = "tests.convert.Versioned"
    SESSION_VERSION = 3

    def __init__(self, value: Any = None) -> None:
        self.value = value


def native_session() -> Any:
    session = new_session()
    shared = Box(data=np.linspace(0, 1, 10_000), label="shared")
    session.holder = Holder(a=shared, b=[shared, Versioned({"k": (1, 2)})], c=range(3))
    session.metadata["creator"] = "tester"
    return session


@pytest.mark.parametrize(("first", "second"), [("h5s", "cxs"), ("cxs", "h5s")])
def test_native_session_converts_and_restores(tmp_path: Path, first: str, second: str) -> None:
    """Save in one container, convert to the other, restore: same values, sharing kept."""
    original = native_session()
    source = sessionh5.save(original, tmp_path / f"native.{first}")
    target = sessionh5.convert(source, tmp_path / f"converted.{second}")
    restored = new_session()
    with open(target, "rb") as stream:
        restored.restore(stream)
    holder = restored.holder
    assert holder.a is holder.b[0]
    assert_same(original.holder.a.data, holder.a.data)
    assert type(holder.b[1]) is Versioned and holder.b[1].value == {"k": (1, 2)}
    assert_same(range(3), holder.c)
    assert restored.metadata["creator"] == original.metadata["creator"] == ["tester", "root"]


def test_class_versions_survive_both_ways(tmp_path: Path) -> None:
    """SESSION_VERSION of each record goes HDF5 -> stream -> HDF5 unchanged."""
    source = sessionh5.save(native_session(), tmp_path / "v.h5s")
    stream = sessionh5.convert(source, tmp_path / "v.cxs")
    versions = {r.key.class_name: r.version for r in decoded(stream).records}
    assert versions["tests.convert.Versioned"] == 3
    again = sessionh5.convert(stream, tmp_path / "v2.h5s")
    with h5py.File(again, "r") as file:
        found = []
        file.visititems(lambda name, obj: found.append(obj.attrs.get(layout.VERSION))
                        if obj.attrs.get(layout.CLASS) == "tests.convert.Versioned" else None)
        assert found == [3]


def test_cyclic_hdf5_cannot_become_a_stream(tmp_path: Path) -> None:
    """HDF5 holds cycles, a stream cannot: SaveError, and no destination file appears."""
    session = new_session()
    a, b = Box(name="a"), Box(name="b")
    a.next, b.next = b, a
    session.holder = Holder(a=a)
    source = sessionh5.save(session, tmp_path / "cyclic.h5s")
    with pytest.raises(SaveError, match=r"cycle.*save as HDF5"):
        sessionh5.convert(source, tmp_path / "cyclic.cxs")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cyclic.h5s"]


@pytest.mark.parametrize("where", ["class name", "manager tag"])
def test_names_holding_a_nul_stay_streams(tmp_path: Path, where: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """HDF5 text ends at a NUL: a stream whose class name or tag holds one is refused by
    name (one line from the CLI, exit 1), not cut short, and nothing is written."""
    from craft import raw_stream as crafted_stream

    holder = ObjectKey("helpers.Holder", 1)
    odd = ObjectKey("odd\0Class", 1)
    if where == "class name":
        stream = crafted_stream([Record(odd, {"x": 1}, 1), Record(holder, {"p": odd}, 1)],
                                {"h": holder})
    else:
        stream = crafted_stream([Record(holder, {"p": 1}, 1)], {"h\0x": holder})
    source = tmp_path / "odd.cxs"
    source.write_bytes(stream)
    with pytest.raises(sessionh5.UnsupportedValueError,
                       match=rf"the {where} '(odd\\x00Class|h\\x00x)' holds a NUL character.*"
                             r"keep this session as a stream"):
        sessionh5.convert(source, tmp_path / "odd.h5s")
    assert main(["convert", str(source), str(tmp_path / "odd.h5s")]) == 1
    assert capsys.readouterr().err.startswith(f"sessionh5: error: the {where} ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["odd.cxs"]


def test_format_and_compression_options(tmp_path: Path) -> None:
    """format= overrides the suffix; compress picks gzip, lz4 or none; a suffix is added."""
    source = sessionh5.save(native_session(), tmp_path / "s.h5s")
    as_stream = sessionh5.convert(source, tmp_path / "x.bin", format="stream", compress="gzip")
    assert as_stream.read_bytes()[:2] == b"\x1f\x8b"
    plain = sessionh5.convert(as_stream, tmp_path / "plain", format="stream", compress=None)
    assert plain == tmp_path / "plain.cxs" and plain.read_bytes()[:1] == b"#"
    as_hdf5 = sessionh5.convert(plain, tmp_path / "back", compress=None)
    assert as_hdf5 == tmp_path / "back.h5s" and as_hdf5.read_bytes()[:4] == b"\x89HDF"
    with pytest.raises(UsageError, match="compress must be"):
        sessionh5.convert(source, tmp_path / "y.cxs", compress="zstd")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="format must be"):
        sessionh5.convert(source, tmp_path / "y.cxs", format="zip")  # type: ignore[arg-type]


LAYOUTS = Path(__file__).resolve().parent / "data" / "layouts"
MAGIC = {"gzip": b"\x1f\x8b", "lz4": b"\x04\x22\x4d\x18", None: b"#"}


@pytest.mark.parametrize(("golden", "expected"), [
    pytest.param("v1/session-gzip.h5s", "gzip", id="v1-gzip-hdf5"),
    pytest.param("v2/session-lz4.h5s", "lz4", id="v2-lz4-hdf5"),
    pytest.param("v2/session-gzip.cxs", "gzip", id="gzip-stream"),
    pytest.param("v2/session-lz4.cxs", "lz4", id="lz4-stream"),
])
def test_convert_keeps_the_compression_of_the_source(tmp_path: Path, golden: str,
                                                     expected: str) -> None:
    """Without compress=, both containers keep the source's compression (older layouts
    too, where it is read from the filters and datasets), HDF5 to HDF5 as well."""
    source = LAYOUTS / golden
    hdf5 = sessionh5.convert(source, tmp_path / "out.h5s")
    with h5py.File(hdf5, "r") as f:
        assert f.attrs["sessionh5-compression"] == expected
    if source.suffix == ".cxs":  # the golden HDF5 files hold a cycle: no stream from them
        assert sessionh5.convert(source, tmp_path / "out.cxs").read_bytes().startswith(
            MAGIC[expected])
        assert sessionh5.convert(hdf5, tmp_path / "back.cxs").read_bytes().startswith(
            MAGIC[expected])
    plain = sessionh5.convert(hdf5, tmp_path / "plain.h5s", compress=None)
    with h5py.File(sessionh5.convert(plain, tmp_path / "kept.h5s"), "r") as f:
        assert f.attrs["sessionh5-compression"] == "none"


def test_cli_convert_keeps_the_compression_unless_told(tmp_path: Path) -> None:
    """`sessionh5 convert` keeps SRC's compression; --compress chooses another."""
    source = LAYOUTS / "v2/session-gzip.cxs"
    assert main(["convert", str(source), str(tmp_path / "kept.cxs")]) == 0
    assert (tmp_path / "kept.cxs").read_bytes().startswith(MAGIC["gzip"])
    assert main(["convert", str(source), str(tmp_path / "lz4.cxs"), "--compress", "lz4"]) == 0
    assert (tmp_path / "lz4.cxs").read_bytes().startswith(MAGIC["lz4"])


def test_convert_in_place_and_from_a_stream_object(tmp_path: Path) -> None:
    """src may be an open binary file, and dst may be the file being read."""
    data = save_bytes(native_session(), "stream")
    path = sessionh5.convert(io.BytesIO(data), tmp_path / "s.cxs", compress=None)
    again = sessionh5.convert(path, path, compress="lz4")
    assert again == path and path.read_bytes()[:4] == b"\x04\x22\x4d\x18"
    assert_same_content(read_bytes(data), decoded(path))


@pytest.mark.parametrize("suffix", ["h5s", "cxs"])
def test_convert_reports_progress(tmp_path: Path, suffix: str) -> None:
    """progress(done, total) is called like save's: done never exceeds total, ends at total."""
    session = new_session()
    session.holder = Holder(data=np.arange(2**20, dtype="<f8"))
    source = sessionh5.save(session, tmp_path / "p.h5s" if suffix == "cxs" else tmp_path / "p.cxs")
    calls: list[tuple[int, int]] = []
    sessionh5.convert(source, tmp_path / f"out.{suffix}",
                      progress=lambda done, total: calls.append((done, total)))
    assert calls and all(0 <= done <= total for done, total in calls)
    assert calls[-1][0] == calls[-1][1] >= 8 * 2**20


# --- command line --------------------------------------------------------------------------


def test_cli_convert_both_ways(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 0, one line naming what was written; --compress none writes a plain stream."""
    middle, back = tmp_path / "esp.h5s", tmp_path / "esp.cxs"
    assert main(["convert", str(fixture_path("esp")), str(middle), "--compress", "gzip"]) == 0
    assert main(["convert", str(middle), str(back), "--compress", "none"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"wrote {middle} (HDF5 session file, ")
    assert out[1].startswith(f"wrote {back} (session stream, ")
    assert back.read_bytes().startswith(b"# ChimeraX Session version 3\n")
    assert_same_content(decoded(fixture_path("esp")), decoded(back))


def test_cli_convert_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A damaged source is exit 1 with one line; nothing is written."""
    bad = tmp_path / "bad.cxs"
    bad.write_bytes(raw_stream("esp")[:-1])
    assert main(["convert", str(bad), str(tmp_path / "out.h5s")]) == 1
    assert "no end marker" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.cxs"]


def test_cli_dump_of_a_fixture(capsys: pytest.CaptureFixture[str]) -> None:
    """Session version, metadata, providers, managers, every record; references as <class, n>."""
    assert main(["dump", str(fixture_path("esp"))]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[:2] == ["session version: 3", "application: ChimeraX"]
    assert "  creator: 'goddard'" in lines
    assert "  ChimeraX-Atomic: 1.0 (session write version 1)" in lines
    assert "  models: <Models, 1>" in lines
    assert "<ChimeraX-Atomic:AtomicStructure, 1> at stream record 3" in lines
    assert "    {'models': {(1,): <ChimeraX-Atomic:AtomicStructure, 1>}, 'version': 1}" in lines
    records = [line for line in lines if line.startswith("<")]
    assert len(records) == len(decoded(fixture_path("esp")).records)


def test_cli_dump_of_an_hdf5_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The same text shape for HDF5, with node paths as locations."""
    path = sessionh5.save(native_session(), tmp_path / "d.h5s")
    assert main(["dump", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["session version: 3", "application: sessionh5-tests"]
    assert "  creator: ['tester', 'root']" in lines
    assert "  holder: <helpers.Holder, 1>" in lines
    assert "<helpers.Holder, 1> version 1 at /holder" in lines
    holder_state = lines[lines.index("<helpers.Holder, 1> version 1 at /holder") + 1]
    assert "'a': <helpers.Box, 1>" in holder_state
    assert any(line.startswith("<tests.convert.Versioned, 1> version 3 at /holder/")
               for line in lines)


def test_sdump_of_a_converted_fixture_matches_the_original(tmp_path: Path) -> None:
    """sdump shows the same header and records (HDF5 lists them in node order)."""
    middle = sessionh5.convert(fixture_path("rainbow"), tmp_path / "r.h5s")
    texts = []
    for path in (fixture_path("rainbow"), middle):
        out = io.StringIO()
        sessionh5.sdump(None, path, out)
        head, _, records = out.getvalue().partition("\nrecords:\n")
        blocks = ("\n" + records.rstrip("\n")).split("\n<")[1:]
        texts.append((head, sorted(block.split(" at ", 1)[0] + block.split("\n", 1)[1]
                                   for block in blocks)))
    assert texts[0] == texts[1]
    assert len(texts[0][1]) == 23


def _arrays(value: Any) -> list[np.ndarray]:
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, FinalizedState):
        return _arrays(value.data)
    if isinstance(value, dict):
        return [a for v in value.values() for a in _arrays(v)]
    if isinstance(value, (list, tuple)):
        return [a for v in value for a in _arrays(v)]
    return []


def _keys(value: Any) -> list[ObjectKey]:
    if type(value) is ObjectKey:
        return [value]
    if isinstance(value, dict):
        return [k for pair in value.items() for v in pair for k in _keys(v)]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [k for v in value for k in _keys(v)]
    return []


def _datasets(file: h5py.File) -> list[h5py.Dataset]:
    found: list[h5py.Dataset] = []
    file.visititems(lambda name, obj: found.append(obj) if isinstance(obj, h5py.Dataset) else None)
    return found


def test_dump_shows_references_inside_every_container(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A reference prints as <class, ordinal> in a deque and an OrderedDict as elsewhere."""
    box = Box(n=1)
    session = new_session(minimal=True)
    session.holder = Holder(q=deque([box], 3), o=OrderedDict(k=box), s=frozenset({(box,)}))
    path = sessionh5.save(session, tmp_path / "refs.h5s")
    assert main(["dump", str(path)]) == 0
    out = capsys.readouterr().out
    assert "ObjectKey" not in out
    assert "deque([<helpers.Box, 1>], maxlen=3)" in out
    assert "('k', <helpers.Box, 1>)" in out or "'k': <helpers.Box, 1>" in out
