"""Fixtures shared by the whole suite: sessions, a seeded rng, the container format, and the
real servers remote tests talk to (an S3-compatible server, a dask cluster), each started
once per test session on 127.0.0.1 and stopped at its end."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from helpers import new_session

from sessionh5 import Session

#: Containers every round trip runs through: HDF5 and the flat msgpack stream.
FORMATS = ["hdf5", "stream"]


@pytest.fixture(params=FORMATS)
def fmt(request: pytest.FixtureRequest) -> str:
    """The container format to save with: ``session.save(buf, format=fmt)``."""
    return request.param


@pytest.fixture
def session() -> Callable[..., Session]:
    """Factory of silent sessions: ``session()`` or ``session(minimal=True)``."""

    def make(**kwargs: Any) -> Session:
        return new_session(**kwargs)

    return make


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator; the seed is printed so a failure can be replayed."""
    seed = int(os.environ.get("SESSIONH5_TEST_SEED", "20261126"))
    print(f"rng seed: {seed} (set SESSIONH5_TEST_SEED to change)")
    return np.random.default_rng(seed)


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--fuzz-cases N``: mutated files per container in tests/test_fuzz.py (default 100);
    ``--property-examples N``: generated values per container in the property test."""
    parser.addoption("--fuzz-cases", type=int, default=None, metavar="N",
                     help="mutated files restored per container by the fuzz test")
    parser.addoption("--property-examples", type=int, default=None, metavar="N",
                     help="values per container of tests/test_property_roundtrip.py (60)")


# -- remote: an S3-compatible server and a dask cluster ----------------------------------


@pytest.fixture(scope="session")
def s3_server() -> Iterator[Any]:
    """moto's S3 server on 127.0.0.1 (tests/s3_server.py), with dummy credentials set."""
    pytest.importorskip("moto.server", reason="the S3 tests need moto[server] (the test extra)")
    pytest.importorskip("s3fs", reason="the S3 tests need s3fs (the remote extra)")
    from s3_server import CREDENTIALS, serve_s3

    with pytest.MonkeyPatch.context() as patch:
        for name, value in CREDENTIALS.items():
            patch.setenv(name, value)
        with serve_s3() as server:
            yield server


_BUCKETS = itertools.count(1)


@pytest.fixture
def bucket(s3_server: Any) -> str:
    """A new, empty bucket on the S3 server; its name."""
    import s3fs

    name = f"test-bucket-{next(_BUCKETS)}"
    s3fs.S3FileSystem(**s3_server.storage_options).mkdir(name)
    s3_server.reset()
    return name


@pytest.fixture(scope="session")
def dask_client() -> Iterator[Any]:
    """A dask.distributed client of a LocalCluster: 2 worker processes of 1 thread each.

    Started once for the whole test run: a cluster costs seconds to start. It is not made
    dask's default scheduler, so other tests' ``compute()`` stays in their own process.
    """
    pytest.importorskip("dask.array", reason="the cluster tests need dask (the dask extra)")
    distributed = pytest.importorskip("distributed",
                                      reason="the cluster tests need distributed (the dask "
                                             "extra)")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        yield client
