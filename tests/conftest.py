"""Fixtures shared by the whole suite: sessions, a seeded rng and the container format."""

from __future__ import annotations

import os
from collections.abc import Callable
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
    """``--fuzz-cases N``: mutated files per container in tests/test_fuzz.py (default 100)."""
    parser.addoption("--fuzz-cases", type=int, default=None, metavar="N",
                     help="mutated files restored per container by the fuzz test")
