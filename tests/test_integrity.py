"""Corruption anywhere is detected, never restored as a silently different session.

Bytes are flipped at offsets found with h5py's low-level API (array chunks,
contiguous datasets) or by searching the file for a known marker (object state
attributes, table strings, metadata). Each damaged file must fail to restore with
a RestoreError and be reported by ``validate`` and ``sessionh5 validate``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest
from craft import edit_hdf5, set_table_states, table_states
from helpers import Box, Holder, assert_same, new_session

import sessionh5
from sessionh5 import RestoreError, Session
from sessionh5._cli import main
from sessionh5._containers._hdf5 import layout

Locate = Callable[[bytes], int]


def sample_session() -> Session:
    """Chunked and contiguous arrays, a table of small objects, an object node, metadata."""
    session = new_session()
    session.metadata["creator"] = "Dr. MARKER-META"
    rows = [Box(label=f"MARKER-ROW-{i}", value=i * 1.5) for i in range(6)]
    big = Box(label="MARKER-NODE", data=np.arange(400_000, dtype=np.float64))
    session.h = Holder(rows=rows, big=big, tiny=np.arange(1000, dtype=np.int32),
                       note="MARKER-STATE")
    rows[0].peer = big
    return session


@pytest.fixture(scope="module")
def original() -> Session:
    return sample_session()


@pytest.fixture(scope="module")
def hdf5_bytes(original: Session) -> bytes:
    buf = io.BytesIO()
    original.save(buf, compress=None)  # uncompressed: chunk bytes are the values
    return buf.getvalue()


def flipped(data: bytes, offset: int, mask: int = 0x01) -> bytes:
    out = bytearray(data)
    out[offset] ^= mask
    return bytes(out)


def marker(text: str) -> Locate:
    def find(data: bytes) -> int:
        offset = data.find(text.encode())
        assert offset >= 0, f"{text} not found in the file"
        assert data.find(text.encode(), offset + 1) < 0, f"{text} occurs twice"
        return offset + len(text) - 1  # the last character: "MARKER-ROW-1" -> "...-0"
    return find


def dataset_offset(path: str, *, chunk: int | None = None, at: float = 0.5) -> Locate:
    """A byte inside a dataset's storage: chunk ``chunk`` or the contiguous data."""
    def find(data: bytes) -> int:
        with h5py.File(io.BytesIO(data), "r") as file:
            dsid = file[path].id
            if chunk is None:
                start, size = dsid.get_offset(), dsid.get_storage_size()
            else:
                info = dsid.get_chunk_info(chunk)
                start, size = info.byte_offset, info.size
        return int(start + size * at)
    return find


TARGETS = [
    pytest.param(dataset_offset("/h/Box 7/data", chunk=0), id="array-chunk-0"),
    pytest.param(dataset_offset("/h/Box 7/data", chunk=2, at=0.99), id="array-chunk-2-end"),
    pytest.param(dataset_offset("/h/tiny"), id="contiguous-array"),
    pytest.param(marker("MARKER-STATE"), id="object-state-attribute"),
    pytest.param(marker("MARKER-NODE"), id="array-object-state"),
    pytest.param(marker("MARKER-ROW-3"), id="table-state-string"),
    pytest.param(dataset_offset("/h/Box/ordinal", at=0.0), id="table-ordinal-column"),
    pytest.param(dataset_offset("/h/Box/ref_nodes", at=0.0), id="table-ref-ids"),
    pytest.param(dataset_offset("/h/Box/ref_start", at=0.5), id="table-ref-start"),
    pytest.param(marker("MARKER-META"), id="metadata-attribute"),
]


def test_the_sample_file_is_sound(hdf5_bytes: bytes, original: Session) -> None:
    """The undamaged file validates clean and restores equal (so the targets are real)."""
    assert sessionh5.validate(io.BytesIO(hdf5_bytes)) == []
    restored = new_session()
    restored.restore(io.BytesIO(hdf5_bytes))
    assert_same(original.h, restored.h)
    with h5py.File(io.BytesIO(hdf5_bytes), "r") as file:
        assert file["/h/Box 7/data"].id.get_num_chunks() >= 3
        assert file["/h/tiny"].chunks is None


@pytest.mark.parametrize("locate", TARGETS)
@pytest.mark.parametrize("mask", [0x01, 0x80])
def test_a_flipped_byte_is_detected(hdf5_bytes: bytes, locate: Locate, mask: int) -> None:
    """Restore raises a RestoreError and validate lists the damage."""
    damaged = flipped(hdf5_bytes, locate(hdf5_bytes), mask)
    target = new_session()
    with pytest.raises(RestoreError):
        target.restore(io.BytesIO(damaged))
    assert target.state_manager_tags == new_session().state_manager_tags
    assert sessionh5.validate(io.BytesIO(damaged)) != []


def test_metadata_only_restore_checks_the_root_digest(hdf5_bytes: bytes) -> None:
    """Even a metadata-only restore refuses damaged metadata."""
    damaged = flipped(hdf5_bytes, marker("MARKER-META")(hdf5_bytes))
    with pytest.raises(sessionh5.CorruptFileError, match="root attributes"):
        new_session().restore(io.BytesIO(damaged), metadata_only=True)


def test_every_byte_position_sampled(hdf5_bytes: bytes, original: Session) -> None:
    """Across the whole file: each flip restores equal or raises RestoreError, never differs."""
    outcomes = {"equal": 0, "refused": 0}
    for offset in range(0, len(hdf5_bytes), max(1, len(hdf5_bytes) // 400)):
        damaged = flipped(hdf5_bytes, offset, 0x10)
        restored = new_session()
        try:
            restored.restore(io.BytesIO(damaged))
        except RestoreError:
            outcomes["refused"] += 1
            continue
        assert_same(original.h, restored.h)
        assert restored.metadata == original.metadata
        outcomes["equal"] += 1
    print(outcomes)
    assert outcomes["refused"] > 0


# -- validate: one test per kind of damage ---------------------------------------------------


def _problems(data: bytes) -> list[str]:
    return sessionh5.validate(io.BytesIO(data))


def test_validate_reports_a_broken_chunk_checksum(hdf5_bytes: bytes) -> None:
    damaged = flipped(hdf5_bytes, dataset_offset("/h/Box 7/data", chunk=1)(hdf5_bytes))
    problems = _problems(damaged)
    assert len(problems) == 1
    assert "'/h/Box 7/data' is corrupt" in problems[0]


def test_validate_reports_a_damaged_digest(hdf5_bytes: bytes) -> None:
    """Table text rewritten with valid column checksums is still caught by the node digest."""
    buf = io.BytesIO(hdf5_bytes)
    with h5py.File(buf, "r+") as file:
        states = table_states(file["/h/Box"])
        states[2] = states[2].replace(b"MARKER-ROW-2", b"MARKER-ROW-X")
        set_table_states(file["/h/Box"], states)
    assert any("/h/Box is damaged" in p for p in _problems(buf.getvalue()))


def test_validate_reports_schema_violations(hdf5_bytes: bytes) -> None:
    """An attribute of the wrong type breaks the schema (re-signed, so only the schema sees it)."""
    def bad(file: h5py.File) -> None:
        file["/h"].attrs[layout.ORDINAL] = np.int64(0)

    problems = _problems(edit_hdf5(hdf5_bytes, bad))
    assert problems == [f"schema: nodes/{_node_id(hdf5_bytes, '/h')}/attrs/sessionh5-ordinal: "
                        "0 is less than the minimum of 1"]


def _node_id(data: bytes, path: str) -> int:
    with h5py.File(io.BytesIO(data), "r") as file:
        return int(file[path].attrs[layout.NODE_ID])


def test_validate_reports_an_object_reference_to_the_wrong_node(hdf5_bytes: bytes) -> None:
    """HDF5 object references must point at the node that ref_nodes names."""
    def swap(file: h5py.File) -> None:
        refs = file["/h"].attrs[layout.REFS]
        refs[:] = file["/h/Box 7"].ref
        file["/h"].attrs.create(layout.REFS, refs, dtype=h5py.ref_dtype)

    problems = _problems(edit_hdf5(hdf5_bytes, swap))
    assert any("/h: reference 0 points at /h/Box 7, but its id names node" in p
               for p in problems)


def test_validate_reports_a_reference_id_out_of_range(hdf5_bytes: bytes) -> None:
    def retarget(file: h5py.File) -> None:
        ids = file["/h/Box/ref_nodes"]
        ids[0] = 77

    problems = _problems(edit_hdf5(hdf5_bytes, retarget))
    assert any("reference to node 77" in p for p in problems)


def test_validate_reports_a_newer_layout(hdf5_bytes: bytes) -> None:
    def newer(file: h5py.File) -> None:
        file.attrs[layout.LAYOUT] = np.int64(99)

    problems = _problems(edit_hdf5(hdf5_bytes, newer))
    assert any("layout version 99" in p for p in problems)


@pytest.mark.parametrize("cut", [0.3, 0.9])
def test_validate_reports_truncation(hdf5_bytes: bytes, cut: float) -> None:
    assert _problems(hdf5_bytes[: int(len(hdf5_bytes) * cut)]) != []


def test_validate_reports_a_file_that_is_not_a_session() -> None:
    assert _problems(b"") == ["not a sessionh5 file (the file is empty)"]
    assert _problems(b"hello world, not a session") == [
        "not a sessionh5 file (neither an HDF5 file nor a session stream)"]


@pytest.mark.parametrize("compress", ["lz4", "gzip", None])
def test_validate_stream_files(original: Session, compress: str | None) -> None:
    """A stream validates clean; a cut one is reported."""
    buf = io.BytesIO()
    sessionh5.save(original, buf, format="stream", compress=compress)
    data = buf.getvalue()
    assert _problems(data) == []
    assert _problems(data[: len(data) // 2]) != []


def test_cli_validate_exit_codes(hdf5_bytes: bytes, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 0 and 'OK' when clean; exit 1 and one line per problem when not."""
    good, bad = tmp_path / "good.h5s", tmp_path / "bad.h5s"
    good.write_bytes(hdf5_bytes)
    bad.write_bytes(flipped(hdf5_bytes, dataset_offset("/h/Box 7/data", chunk=0)(hdf5_bytes)))
    assert main(["validate", str(good)]) == 0
    assert capsys.readouterr().out == f"{good}: OK\n"
    assert main(["validate", str(bad)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{bad}: 1 problem(s)"
    assert lines[1].startswith("  - array '/h/Box 7/data' is corrupt")
    assert main(["validate", str(tmp_path / "missing.h5s")]) == 1


def test_validate_reads_each_array_once_and_reports_progress(tmp_path) -> None:
    """Arrays an object's state reads are not read again by the dataset sweep."""
    session = new_session(minimal=True)
    session.h = Holder(data=np.arange(500_000, dtype=np.float64), other=np.ones(200_000))
    path = tmp_path / "v.h5s"
    sessionh5.save(session, path)
    calls: list[tuple[int, int]] = []
    assert sessionh5.validate(path, progress=lambda done, total: calls.append((done, total))) == []
    raw = 500_000 * 8 + 200_000 * 8
    assert calls[-1] == (raw, raw)
    assert all(done <= total == raw for done, total in calls)
    # a second read of either array would repeat (raw, raw) for each of its chunks
    assert sum(1 for done, _ in calls if done == raw) <= 2
