"""sessionh5._tools.info.info: a session file summarised from metadata alone."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from helpers import CountingReader

import sessionh5
from sessionh5 import CorruptFileError, Model, Session, State
from sessionh5._tools.info import ManagerInfo, SessionInfo, format_bytes, info


class InfoVolume(Model):
    """A model owning a large array (gets its own HDF5 group)."""


class InfoDot(State):
    """A small object packed into a table row."""

    def __init__(self, owner: Any, n: int) -> None:
        self.owner = owner
        self.n = n


def _session(*, cyclic: bool = True) -> Session:
    """Dots refer back to their volume when ``cyclic`` (the stream writer needs acyclic)."""
    session = Session("infotest", silent=True)
    volume = InfoVolume("volume", session)
    volume.data = np.tile(np.arange(64, dtype=np.float32), (64, 64, 1))
    volume.dots = [InfoDot(volume if cyclic else None, n) for n in range(7)]
    session.models.add([volume])
    session.user_aliases["a"] = "b"
    session.metadata["title"] = "info"
    return session


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    path = sessionh5.save(_session(), tmp_path / "info.h5s")
    assert path is not None
    return path


def _manager(summary: SessionInfo, tag: str) -> ManagerInfo:
    return next(m for m in summary.managers if m.tag == tag)


def test_summary_names_container_versions_and_application(saved: Path) -> None:
    """The summary states container, layout and session version, app name and metadata."""
    summary = info(saved)
    assert summary.container == "hdf5"
    assert summary.layout_version == 3
    assert summary.session_version == 3
    assert summary.app_name == "infotest"
    assert summary.metadata["title"] == "info"
    assert summary.file_size == saved.stat().st_size


def test_managers_come_in_save_order_with_object_counts(saved: Path) -> None:
    """Managers appear in save order; objects are counted per manager and per class."""
    summary = info(saved)
    tags = [m.tag for m in summary.managers]
    assert tags.index("models") < tags.index("main_view") < tags.index("user_aliases")
    models = _manager(summary, "models")
    assert models.objects == 8
    assert dict(models.classes or ()) == {f"{__name__}.InfoVolume": 1, f"{__name__}.InfoDot": 7}
    assert _manager(summary, "user_aliases").objects == 0
    assert summary.object_count == 8


def test_compressible_arrays_give_a_ratio_above_one(saved: Path) -> None:
    """Raw bytes come from the root attribute; stored bytes from dataset storage sizes."""
    summary = info(saved)
    assert summary.raw_array_bytes == 64 * 64 * 64 * 4
    assert summary.stored_array_bytes is not None
    assert 0 < summary.stored_array_bytes < summary.raw_array_bytes
    assert summary.compression_ratio is not None and summary.compression_ratio > 1


def test_filters_needed_are_listed(saved: Path) -> None:
    """The filters the file needs (LZ4 by default) come from the root attribute."""
    assert any("lz4" in f.lower() for f in info(saved).filters_needed)


def test_uncompressed_file_needs_no_filter(tmp_path: Path) -> None:
    """compress=None writes a file that needs no filter plugin."""
    path = sessionh5.save(_session(), tmp_path / "plain.h5s", compress=None)
    assert info(path).filters_needed == ()


@pytest.mark.parametrize("kind", ["path", "str", "file"])
def test_accepts_path_str_and_binary_file(saved: Path, kind: str) -> None:
    """info takes a Path, a str or a readable binary file object, with equal results."""
    if kind == "file":
        with open(saved, "rb") as stream:
            summary = info(stream)
    else:
        summary = info(saved if kind == "path" else str(saved))
    assert summary == info(saved)


def test_repr_is_the_aligned_human_display(saved: Path) -> None:
    """repr and str give the table that `sessionh5 info` prints."""
    text = repr(info(saved))
    assert text == str(info(saved))
    lines = text.splitlines()
    assert lines[0] == f"file            {saved}"
    assert "container       hdf5 (layout 3, session version 3)" in lines
    assert any(line.startswith("  models ") and "8 objects" in line
               and "InfoDot 7" in line for line in lines)
    assert any(line.startswith("arrays ") and "ratio" in line for line in lines)


def test_to_json_is_plain_json(saved: Path) -> None:
    """to_json gives a JSON-serialisable dict with every field."""
    data = json.loads(json.dumps(info(saved).to_json()))
    assert set(data) == {"file", "container", "layout_version", "session_version",
                         "app_name", "metadata", "file_size", "raw_array_bytes",
                         "stored_array_bytes", "compression_ratio", "filters_needed",
                         "managers"}
    models = next(m for m in data["managers"] if m["tag"] == "models")
    assert models["objects"] == 8


def test_info_is_a_frozen_value(saved: Path) -> None:
    """SessionInfo cannot be changed after it is made."""
    summary = info(saved)
    with pytest.raises(dataclasses.FrozenInstanceError):
        summary.app_name = "other"  # type: ignore[misc]



def test_info_reads_no_dataset_data(tmp_path: Path) -> None:
    """A file with a 100 MB array is summarised reading well under 1 MB."""
    session = Session("big", silent=True)
    model = InfoVolume("big", session)
    model.data = np.ones(25_000_000, dtype=np.float32)
    session.models.add([model])
    path = sessionh5.save(session, tmp_path / "big.h5s", compress=None)
    assert path.stat().st_size > 100_000_000
    reader = CountingReader.of_path(path)
    with reader:
        summary = info(reader)
    assert summary.raw_array_bytes == 100_000_000
    assert 0 < reader.bytes_read < 1_000_000, reader.bytes_read


def test_stream_files_report_header_without_counts(tmp_path: Path) -> None:
    """A stream file is read metadata-only: managers listed, object counts unknown."""
    path = sessionh5.save(_session(cyclic=False), tmp_path / "s.cxs",
                          format="stream")
    summary = info(path)
    assert summary.container == "stream"
    assert summary.app_name == "infotest"
    assert "models" in [m.tag for m in summary.managers]
    assert summary.managers[0].objects is None
    assert "not counted" in repr(summary)


def test_non_session_files_are_corrupt_file_errors(tmp_path: Path) -> None:
    """Text files, empty files and plain HDF5 files raise CorruptFileError."""
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    empty = tmp_path / "empty.h5s"
    empty.write_bytes(b"")
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        f["x"] = 1
    for bad in (text, empty, plain):
        with pytest.raises(CorruptFileError):
            info(bad)


@pytest.mark.parametrize(("n", "shown"), [
    pytest.param(0, "0 B", id="zero"),
    pytest.param(1536, "1.5 KiB", id="kib"),
    pytest.param(64 * 2**20, "64.0 MiB", id="mib"),
    pytest.param(None, "unknown", id="none"),
])
def test_format_bytes(n: int | None, shown: str) -> None:
    """Sizes are shown with binary units."""
    assert format_bytes(n) == shown
