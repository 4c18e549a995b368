"""Nothing of a reference-application stream is lost through HDF5: every byte comes back.

``data/streams/reference-1.10.cxs`` is written as the reference application writes
(``reference_stream.py``): a finalized state (ext 11) around a structure's state,
attr_info tags without a record, every extension code 0-15 of the format. It is
converted to HDF5 and back, and the stream that comes back must be the same bytes.
The two real files of the reference application get the same test when they are here
(``stream_variants.fixture_path`` skips it with the reason otherwise).
"""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

import h5py
import lz4.frame
import msgpack
import numpy as np
import pytest
from helpers import new_session
from reference_stream import METADATA, PNG, reference_stream
from stream_variants import FIXTURE_NAMES, compress, fixture_path, raw_stream

import sessionh5
from sessionh5 import StateManager
from sessionh5._containers._stream import read_stream
from sessionh5._containers._stream.digest import DIGEST_KEY, DIGEST_TAIL
from sessionh5._engine.records import FinalizedState, ObjectKey, TinyArray
from sessionh5._tools.convert import read_records

REFERENCE = Path(__file__).resolve().parent / "data" / "streams" / "reference-1.10.cxs"
CODES = range(16)


class AlignmentsManager(StateManager):
    """Stands for the reference application's class of the same name (default restore)."""

    SESSION_NAME = "AlignmentsManager"

    def reset_state(self, session: Any) -> None:
        self.__dict__.clear()


def decompressed(data: bytes) -> bytes:
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    if data[:4] == b"\x04\x22\x4d\x18":
        return lz4.frame.decompress(data)
    return data


def without_digest_entry(stream: bytes) -> bytes:
    """Drop the metadata entry our writer adds to uncompressed streams (and its count)."""
    if msgpack.packb(DIGEST_KEY) not in stream:
        return stream
    start = stream.index(msgpack.packb(DIGEST_KEY))
    body = stream[:start] + stream[start + DIGEST_TAIL:]
    at = body.index(b"\n") + 1
    return body[:at] + bytes([body[at] - 1]) + body[at + 1:]


def through_hdf5(source: Path, tmp_path: Path) -> tuple[Path, bytes]:
    """src -> HDF5 -> stream with convert's defaults; the HDF5 file and the stream's bytes."""
    middle = sessionh5.convert(source, tmp_path / "middle.h5s")
    back = sessionh5.convert(middle, tmp_path / "back.cxs")
    return middle, without_digest_entry(decompressed(back.read_bytes()))


def extension_payloads(stream: bytes) -> dict[int, list[bytes]]:
    """Every extension payload of a stream, at any depth, by code."""
    found: dict[int, list[bytes]] = {}

    def hook(code: int, payload: bytes) -> Any:
        found.setdefault(code, []).append(bytes(payload))
        if code not in (0, 9):  # a reference and an image are raw bytes
            msgpack.unpackb(payload, ext_hook=hook, strict_map_key=False)
        return msgpack.ExtType(code, payload)

    body = stream[stream.index(b"\n") + 1:]
    for _ in msgpack.Unpacker(io.BytesIO(body), ext_hook=hook, strict_map_key=False):
        pass
    return found


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    return through_hdf5(REFERENCE, tmp_path_factory.mktemp("reference"))


def test_committed_file_is_what_the_helper_writes() -> None:
    """The golden file decompresses to the stream reference_stream.py builds, as one lz4
    frame without content checksum (the reference writer's defaults)."""
    data = REFERENCE.read_bytes()
    assert data[:4] == b"\x04\x22\x4d\x18"
    assert lz4.frame.decompress(data) == reference_stream()


def test_reference_stream_survives_hdf5_and_back_byte_for_byte(
        converted: tuple[Path, bytes]) -> None:
    """Metadata (malformed stamps, lists, build keys, the whole attr_info), providers, records
    in the same order with every value, tags: the stream that comes back is the same bytes."""
    _, back = converted
    assert back == reference_stream()


def test_the_converted_file_validates_with_the_reference_stamps(
        converted: tuple[Path, bytes]) -> None:
    """The reference application writes 'created' as '...+00:00Z'; the HDF5 file it becomes
    keeps that text, and validate accepts it (it reported a schema problem on a real
    ChimeraX 1.5 session before)."""
    hdf5, _ = converted
    with sessionh5.open_archive(hdf5) as archive:
        assert archive.metadata["created"] == "2024-11-04T05:06:07.123456+00:00Z"
    assert sessionh5.validate(hdf5) == []


@pytest.mark.parametrize("code", CODES)
def test_every_extension_code_comes_back_unchanged(code: int,
                                                   converted: tuple[Path, bytes]) -> None:
    """Each extension code of the format is in the file, and every payload of that code
    comes back, byte for byte, after HDF5."""
    before = extension_payloads(reference_stream())
    after = extension_payloads(converted[1])
    assert before.get(code), f"the reference stream lacks extension {code}"
    assert sorted(after.get(code, [])) == sorted(before[code])


@pytest.mark.parametrize("how", ["gzip", None])
def test_other_compressions_survive_and_are_kept(how: str | None, tmp_path: Path) -> None:
    """The same stream gzip-compressed or plain comes back byte for byte, compressed alike."""
    source = tmp_path / "source.cxs"
    source.write_bytes(compress(reference_stream(), how))
    middle, back = through_hdf5(source, tmp_path)
    assert back == reference_stream()
    with h5py.File(middle, "r") as f:
        assert f.attrs["sessionh5-compression"] == (how or "none")
    first = (tmp_path / "back.cxs").read_bytes()[:2]
    assert first == (b"\x1f\x8b" if how else b"# ")


def test_concatenated_lz4_frames_are_read_whole(tmp_path: Path) -> None:
    """lz4 allows a stream written as several frames: all of them are read and converted."""
    raw = reference_stream()
    cut = len(raw) // 3
    source = tmp_path / "frames.cxs"
    source.write_bytes(b"".join(lz4.frame.compress(raw[a:b])
                                for a, b in ((0, cut), (cut, 2 * cut), (2 * cut, len(raw)))))
    assert through_hdf5(source, tmp_path)[1] == raw


def test_attr_info_keeps_tags_without_a_record(converted: tuple[Path, bytes]) -> None:
    """The whole attr_info table, in order, is in the HDF5 file and comes back from it."""
    middle, _ = converted
    table = METADATA["attr_info"]
    with h5py.File(middle, "r") as f:
        assert [t.decode() if isinstance(t, bytes) else t
                for t in f.attrs["sessionh5-attr-info"]] == list(table)
        assert sorted(f.attrs["sessionh5-attribute-managers"]) == sorted(
            t for t, was in table.items() if was)
        assert list(f.attrs["sessionh5-managers"]) == ["models", "main_view", "alignments",
                                                       "undo"]
    assert read_stream(io.BytesIO(converted[1])).header.attr_info == table


def test_finalized_state_is_plain_data_in_the_hdf5_file(converted: tuple[Path, bytes]) -> None:
    """In a manager's node the wrapper is a tag of its readable JSON (h5dump shows it); in a
    table row, extension 18 around the plain data, read with msgpack alone (docs/format.md).
    Tools and conversion see a FinalizedState and a TinyArray."""
    middle, _ = converted
    with h5py.File(middle, "r") as f:
        state = json.loads(f["alignments"].attrs["sessionh5-state"])
        assert state["final"]["$finalized"]["kept"] == [1, 2.5, "three"]
        assert state["tiny"]["$tinyarray"]["$array"] == "<f8"
        table = f["models/AtomicStructure"]
        row = table["state"][()].tobytes()
        wrapped = []

        def hook(code: int, payload: bytes) -> Any:
            if code == 18:
                wrapped.append(msgpack.unpackb(payload, strict_map_key=False,
                                               ext_hook=lambda c, p: (c, p)))
            return (code, payload)

        msgpack.unpackb(row, strict_map_key=False, ext_hook=hook)
        (inner,) = wrapped
        assert inner["version"] == 15 and inner["names"] == ["N", "CA", "C", "O"]
    assert sessionh5.diff(REFERENCE, middle).equal  # wrappers compared by what they hold
    records = {r.key: r.data for r in read_records(middle)[1]}
    structure = records[ObjectKey("AtomicStructure", 1, "ChimeraX-Atomic")]
    assert type(structure["structure state"]) is FinalizedState
    assert type(records[ObjectKey("AlignmentsManager", 1, "ChimeraX-Alignments")]["tiny"]) \
        is TinyArray


@pytest.mark.parametrize("container", ["stream", "hdf5"])
def test_a_restore_gets_the_data_inside_the_wrapper(container: str,
                                                    converted: tuple[Path, bytes]) -> None:
    """As in the reference application, a restore hands the application the finalized
    state's data and a numpy array for a tinyarray, from either container."""
    source = REFERENCE if container == "stream" else converted[0]
    restored = new_session()
    with open(source, "rb") as stream:
        restored.restore(stream, managers=["alignments"])
    manager = restored.get_state_manager("alignments")
    assert type(manager) is AlignmentsManager
    assert type(manager.final) is dict and manager.final["kept"] == [1, 2.5, "three"]
    assert type(manager.tiny) is np.ndarray
    assert np.array_equal(manager.tiny, [[1.0, 2.0], [3.0, 4.0]])
    assert manager.png.data == PNG and manager.set == {1, 2, 3}


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_real_files_survive_hdf5_and_back_byte_for_byte(name: str, tmp_path: Path) -> None:
    """The two real files of the reference application: same bytes after HDF5 (their ext-11
    wrapper included), gzip kept."""
    _, back = through_hdf5(fixture_path(name), tmp_path)
    assert back == raw_stream(name)
    assert (tmp_path / "back.cxs").read_bytes()[:2] == b"\x1f\x8b"
