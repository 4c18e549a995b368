"""Reading sessions over HTTP with fsspec: only the bytes an operation needs cross the wire.

A real HTTP server on 127.0.0.1 (tests/range_server.py) serves byte ranges of a
session file holding a 200 MB array and counts the bytes it sends. fsspec opens the
file with a deliberately chosen cache — 64 KiB blocks, kept (``blockcache``) —
because its default read-ahead of several MiB would already exceed what metadata
needs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
import pytest

import sessionh5
from sessionh5 import Model, Session, StateManager
from sessionh5._cli import main

fsspec = pytest.importorskip("fsspec")
pytest.importorskip("aiohttp")

from range_server import RangeServer, serve  # noqa: E402

#: What metadata-only reads may cost: a few 64 KiB blocks, never a dataset.
SMALL = 2 << 20
BLOCK = 64 * 1024
ARRAY_SHAPE = (500, 100_000)  # float32: 200 MB raw


class RemoteVolume(Model):
    """A model holding the big array."""


class RemoteNotes(StateManager):
    """A small state manager, restored on its own."""

    def __init__(self, **attrs: Any) -> None:
        self.__dict__.update(attrs)

    def reset_state(self, session: Session) -> None:
        self.__dict__.clear()


def new_session() -> Session:
    return Session("remotetest", silent=True)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """big.h5s (a 200 MB array and a small manager) and the same session as big.cxs."""
    root = tmp_path_factory.mktemp("remote")
    session = new_session()
    volume = RemoteVolume("volume", session)
    rng = np.random.default_rng(7)
    volume.data = rng.random(ARRAY_SHAPE[0] * ARRAY_SHAPE[1], dtype=np.float32) \
        .reshape(ARRAY_SHAPE)
    session.models.add([volume])
    session.notes = RemoteNotes(text="hello", values=[1, 2, 3], small=np.arange(10))
    session.metadata["title"] = "far away"
    sessionh5.save(session, root / "big.h5s")
    sessionh5.convert(root / "big.h5s", root / "big.cxs")
    return root


@pytest.fixture(scope="module")
def server(folder: Path) -> Iterator[RangeServer]:
    with serve(folder, lifetime=600) as running:
        yield running


def open_remote(server: RangeServer, name: str, block_size: int = BLOCK) -> IO[bytes]:
    """The file through fsspec's HTTP file system with a small block cache."""
    fs = fsspec.filesystem("http")
    server.reset()
    return fs.open(f"{server.url}/{name}", "rb", block_size=block_size,  # type: ignore[no-any-return]
                   cache_type="blockcache")


def file_size(folder: Path) -> int:
    return (folder / "big.h5s").stat().st_size


@pytest.mark.parametrize("name", ["big.h5s", "big.cxs"])
def test_metadata_only_reads_a_few_blocks(server: RangeServer, folder: Path, name: str) -> None:
    session = new_session()
    with open_remote(server, name) as remote:
        session.restore(remote, metadata_only=True)
    print(f"metadata_only {name}: {server.sent} bytes in {server.requests} requests")
    assert session.metadata["title"] == "far away"
    assert 0 < server.sent < SMALL


def test_info_reads_a_few_blocks_and_matches_the_local_file(
        server: RangeServer, folder: Path) -> None:
    with open_remote(server, "big.h5s") as remote:
        summary = sessionh5.info(remote)
    print(f"info: {server.sent} bytes in {server.requests} requests")
    assert server.sent < SMALL
    local = sessionh5.info(folder / "big.h5s")
    assert dataclasses.replace(summary, name=None) == dataclasses.replace(local, name=None)
    assert summary.file_size == file_size(folder)
    assert summary.raw_array_bytes == 4 * ARRAY_SHAPE[0] * ARRAY_SHAPE[1]


def test_info_command_accepts_an_http_url(server: RangeServer, folder: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    server.reset()
    url = f"{server.url}/big.h5s"
    assert main(["info", url]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"file            {url}"
    assert "application     remotetest" in out and "title" in out
    print(f"sessionh5 info URL: {server.sent} bytes")
    assert server.sent < SMALL


def test_ls_command_accepts_an_http_url(server: RangeServer,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    server.reset()
    assert main(["ls", f"{server.url}/big.h5s"]) == 0
    assert "float32 500x100000" in capsys.readouterr().out
    assert server.sent < SMALL


def test_partial_restore_reads_only_the_manager_asked_for(
        server: RangeServer, folder: Path) -> None:
    session = new_session()
    with open_remote(server, "big.h5s") as remote:
        report = session.restore(remote, managers=["notes"])
    print(f"restore managers=['notes']: {server.sent} bytes of {file_size(folder)}")
    assert report.managers == ["notes"]
    assert session.notes.text == "hello" and session.notes.values == [1, 2, 3]
    assert np.array_equal(session.notes.small, np.arange(10))
    assert session.models.list() == []
    assert server.sent < SMALL < file_size(folder) // 50


def test_full_restore_reads_the_file_about_once(server: RangeServer, folder: Path) -> None:
    """Arrays are fetched once, not re-read: the bytes sent stay close to the file size."""
    session = new_session()
    with open_remote(server, "big.h5s", block_size=8 << 20) as remote:
        session.restore(remote)
    (volume,) = session.models.list()
    assert volume.data.shape == ARRAY_SHAPE and volume.data.dtype == np.float32
    rng = np.random.default_rng(7)
    assert np.array_equal(volume.data[:1], rng.random(ARRAY_SHAPE[1], dtype=np.float32)[None])
    print(f"full restore: {server.sent} bytes for a {file_size(folder)} byte file")
    assert file_size(folder) * 0.9 < server.sent < file_size(folder) * 1.2


def test_a_missing_url_is_a_clean_error(server: RangeServer,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", f"{server.url}/nothing.h5s"]) == 2
    url = f"{server.url}/nothing.h5s"
    assert capsys.readouterr().err == f"sessionh5: error: no such object: {url}\n"
