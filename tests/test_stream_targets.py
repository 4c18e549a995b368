"""Saving into streams: a real file opened "wb" is written in place, without a scratch copy;
pipes and other write-only streams still get one; the caller's stream ends up after the file."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from helpers import Box, Holder, new_session

import sessionh5
from sessionh5 import Session, UsageError
from sessionh5._containers._hdf5 import files as files_module


def _session() -> Session:
    session = new_session()
    session.h = Holder(big=Box(data=np.arange(400_000, dtype="<f8")), note="in place")
    return session


def _restored(source: object) -> Session:
    restored = Session("sessionh5-tests", silent=True)
    restored.restore(source)
    return restored


def _check(restored: Session) -> None:
    assert restored.h.note == "in place"
    assert np.array_equal(restored.h.big.data, np.arange(400_000, dtype="<f8"))


@pytest.fixture
def no_scratch(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make any scratch file an error, so a test proves the file is written in place."""
    made: list[str] = []

    def refuse(*args: object, **kwargs: object) -> object:
        made.append("TemporaryFile")
        raise AssertionError("a scratch file was made")

    monkeypatch.setattr(files_module.tempfile, "TemporaryFile", refuse)
    return made


def test_file_opened_wb_is_written_in_place(tmp_path: Path, no_scratch: list[str]) -> None:
    path = tmp_path / "s.h5s"
    with open(path, "wb") as f:
        _session().save(f)
        assert f.tell() == path.stat().st_size > 0  # left after the file, as a copy would
    assert no_scratch == []
    _check(_restored(path))


def test_unbuffered_and_module_level_saves_into_wb(tmp_path: Path, no_scratch: list[str]
                                                   ) -> None:
    path = tmp_path / "s.h5s"
    with open(path, "wb", buffering=0) as f:
        assert sessionh5.save(_session(), f) is None
    _check(_restored(path))


def test_file_replaced_while_open_is_not_written_by_name(tmp_path: Path) -> None:
    """The stream's name now leads to another file; /proc or a scratch file is used, and
    the other file is untouched."""
    path = tmp_path / "s.h5s"
    with open(path, "wb") as f:
        path.rename(tmp_path / "moved.h5s")
        path.write_bytes(b"someone else's file")
        _session().save(f)
    assert path.read_bytes() == b"someone else's file"
    _check(_restored(tmp_path / "moved.h5s"))


def test_stream_not_at_its_start_is_not_written_in_place(tmp_path: Path) -> None:
    """Bytes before the file stay; the HDF5 file follows them (built in scratch and copied)."""
    path = tmp_path / "s.h5s"
    with open(path, "wb") as f:
        f.write(b"header!!")
        _session().save(f)
    data = path.read_bytes()
    assert data.startswith(b"header!!\x89HDF")
    _check(_restored(io.BytesIO(data[8:])))


def test_pipe_gets_the_file_through_a_scratch_copy(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    received = bytearray()

    def drain() -> None:
        with open(read_end, "rb") as pipe:
            received.extend(pipe.read())

    reader = threading.Thread(target=drain)
    reader.start()
    with open(write_end, "wb") as pipe:
        _session().save(pipe)
    reader.join()
    _check(_restored(io.BytesIO(bytes(received))))


def test_read_only_stream_is_refused_and_the_file_kept(tmp_path: Path) -> None:
    path = tmp_path / "s.h5s"
    path.write_bytes(b"keep me")
    with open(path, "rb") as f, pytest.raises((UsageError, OSError, ValueError)):
        _session().save(f)
    assert path.read_bytes() == b"keep me"


def test_bytesio_and_w_plus_b_still_work(tmp_path: Path, no_scratch: list[str]) -> None:
    buffer = io.BytesIO()
    _session().save(buffer)
    _check(_restored(io.BytesIO(buffer.getvalue())))
    with open(tmp_path / "w.h5s", "w+b") as f:
        _session().save(f)
        f.seek(0)
        _check(_restored(f))


# --- where /proc is missing or the system will not open the file twice (macOS, Windows) ---


@pytest.fixture
def no_proc(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on macOS and Windows: no /proc/self/fd to reopen a descriptor by."""
    monkeypatch.setattr(files_module, "DESCRIPTOR_PATHS", ("/no/such/proc/{}",))


def test_without_proc_the_streams_name_reopens_it(tmp_path: Path, no_proc: None,
                                                   no_scratch: list[str]) -> None:
    path = tmp_path / "s.h5s"
    with open(path, "wb") as f:
        _session().save(f)
        assert f.tell() == path.stat().st_size > 0
    _check(_restored(path))


def test_without_proc_a_name_leading_elsewhere_gets_a_scratch_copy(
        tmp_path: Path, no_proc: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A relative name after a change of folder, and a name now taken by another file:
    neither is written; the stream gets the file through a scratch copy."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "s.h5s").write_bytes(b"another file")
    monkeypatch.chdir(tmp_path / "a")
    with open("s.h5s", "wb") as f:
        monkeypatch.chdir(tmp_path / "b")
        _session().save(f)
    assert (tmp_path / "b" / "s.h5s").read_bytes() == b"another file"
    _check(_restored(tmp_path / "a" / "s.h5s"))


def test_a_file_the_system_will_not_open_twice_gets_a_scratch_copy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows refuses a second open of some files (a NamedTemporaryFile, one opened
    without sharing): HDF5's open fails before writing, and the scratch file is used."""
    real_file = files_module.h5py.File
    refused: list[str] = []

    def refuse_the_path(name: object, *args: object, **kwargs: object) -> object:
        if isinstance(name, str):
            refused.append(name)
            raise PermissionError(13, "Permission denied (as Windows says)", name)
        return real_file(name, *args, **kwargs)

    monkeypatch.setattr(files_module.h5py, "File", refuse_the_path)
    path = tmp_path / "s.h5s"
    with open(path, "wb") as f:
        _session().save(f)
        assert f.tell() == path.stat().st_size > 0
    assert len(refused) == 1
    monkeypatch.undo()
    _check(_restored(path))
