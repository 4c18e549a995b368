"""Reading a big session remotely costs little, counted by real servers (issue 16).

The session of remote_session.py (a file over 200 MB: a 210 MiB volume, a 2 MiB
manager, 120 small models) is saved once, served over HTTP by range_server.py and
uploaded to the S3 server of s3_server.py. Every operation opens the URL through
sessionh5 (so through its block cache), and the server counts every request
(HEAD and listing included) and every response body byte:

* ``metadata_only`` restore: at most 256 KiB in at most 4 requests;
* ``info``: at most 512 KiB in at most 8 requests;
* restoring the small manager alone: at most 2x its stored bytes + 256 KiB;
* one plane of the volume through ``open_archive(url).arrays()``: at most 1.25x the
  chunks it touches + 256 KiB.

They hold because the writer keeps the root attributes right after the superblock and
the metadata in large blocks (``_hdf5/files.create_options``), and the reader keeps
64 KiB blocks but fetches an array chunk in one request (``_containers/remote.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import remote_session
from remote_session import PLANE, VOLUME_SHAPE

pytest.importorskip("fsspec")
pytest.importorskip("aiohttp")

KiB = 1024
BUDGETS = {"metadata_only": (256 * KiB, 4), "info": (512 * KiB, 8)}


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("costs")
    path = folder / "big.h5s"
    import sessionh5

    sessionh5.save(remote_session.build(), path)
    assert path.stat().st_size > 200_000_000
    return path


@pytest.fixture(scope="module")
def http_url(saved: Path) -> Iterator[tuple[Any, str]]:
    from range_server import serve

    with serve(saved.parent, lifetime=600) as server:
        yield server, f"{server.url}/{saved.name}"


@pytest.fixture(scope="module")
def s3_url(s3_server: Any, saved: Path) -> str:
    import s3fs

    fs = s3fs.S3FileSystem(**s3_server.storage_options)
    fs.mkdir("costs")
    fs.put_file(str(saved), "costs/big.h5s")
    return "s3://costs/big.h5s"


@pytest.fixture(params=["https", "s3"])
def remote(request: pytest.FixtureRequest, saved: Path) -> tuple[Any, str, Any]:
    """(server, URL, storage options) of the saved session on each kind of server."""
    if request.param == "https":
        server, url = request.getfixturevalue("http_url")
        return server, url, None
    server = request.getfixturevalue("s3_server")
    return server, request.getfixturevalue("s3_url"), server.storage_options


@pytest.fixture(scope="module")
def location(saved: Path) -> str:
    return remote_session.volume_location(saved)


@pytest.fixture(scope="module")
def parts(saved: Path) -> dict[str, int]:
    return remote_session.part_bytes(saved)


def measure(remote: tuple[Any, str, Any], location: str, name: str) -> tuple[Any, int, int]:
    server, url, options = remote
    server.reset()
    result = remote_session.operations(url, options, location)[name]()
    print(f"{name} over {url.split(':')[0]}: {server.requests} requests, {server.sent} bytes")
    return result, server.requests, server.sent


@pytest.mark.parametrize("name", sorted(BUDGETS))
def test_metadata_and_info_cost_a_few_blocks(remote: tuple[Any, str, Any], location: str,
                                             name: str) -> None:
    result, requests, sent = measure(remote, location, name)
    if name == "info":
        assert result.raw_array_bytes >= 210 * 2**20
        assert {m.tag: m.objects for m in result.managers}["models"] == 121
    else:
        assert result.metadata_only
    most_bytes, most_requests = BUDGETS[name]
    assert sent <= most_bytes and requests <= most_requests


def test_one_manager_costs_about_its_own_bytes(remote: tuple[Any, str, Any], location: str,
                                               parts: dict[str, int]) -> None:
    notes, _requests, sent = measure(remote, location, "one manager")
    assert notes.text == "hello" and notes.readings.shape == (262_144,)
    assert sent <= 2 * parts["notes"] + 256 * KiB


@pytest.fixture(scope="module")
def expected_plane() -> np.ndarray:
    return np.random.default_rng(16).random(VOLUME_SHAPE, dtype=np.float32)[PLANE].copy()


def test_one_plane_costs_about_its_chunks(remote: tuple[Any, str, Any], location: str,
                                          parts: dict[str, int], expected_plane: np.ndarray
                                          ) -> None:
    plane, _requests, sent = measure(remote, location, "one plane")
    assert plane.dtype == np.float32 and np.array_equal(plane, expected_plane)
    assert sent <= 1.25 * parts["plane"] + 256 * KiB
