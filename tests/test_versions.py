"""Versions: class versions recorded and upgraded in order, newer data and layouts refused.

(Renames through SESSION_ALIASES and the basic upgrade are in test_session_api.py.)
"""

from __future__ import annotations

import io
from typing import Any

import h5py
import numpy as np
import pytest
from craft import edit_hdf5
from helpers import Holder, new_session, save_bytes

from sessionh5 import State, VersionError
from sessionh5._containers._hdf5 import layout
from sessionh5._containers._hdf5.layout import POOL_ARRAY_BYTES
from sessionh5._containers.backends import open_backend

NAME = "test_versions.Thing"
calls: list[str] = []


def define(version: int, upgrades: dict | None = None) -> type:
    """(Re)define the class registered as NAME; the registry keeps the latest one."""
    return type("Thing", (State,), {"SESSION_NAME": NAME, "SESSION_VERSION": version,
                                    "SESSION_UPGRADES": upgrades or {}})


class Counted(State):
    """Counts restore_snapshot calls: a refused file must make none."""

    SESSION_NAME = "test_versions.Counted"
    SESSION_VERSION = 4
    restores = 0

    @classmethod
    def restore_snapshot(cls, session: Any, data: Any) -> Any:
        cls.restores += 1
        return super().restore_snapshot(session, data)


@pytest.fixture(autouse=True)
def version_one() -> Any:
    yield
    define(1)
    calls.clear()


def test_every_saved_object_records_its_class_version(fmt: str) -> None:
    """Each node (HDF5) and record (stream) carries SESSION_VERSION of its class."""
    thing = define(7)
    session = new_session(minimal=True)
    session.h = Holder(things=[thing(), thing()], counted=Counted(), big=Counted())
    session.h.big.data = np.zeros(POOL_ARRAY_BYTES // 8 + 1)  # an object node
    data = save_bytes(session, fmt)
    with open_backend(io.BytesIO(data)) as source:
        versions = {k.class_name: source.version(k) for k in source.keys()}  # noqa: SIM118
    assert versions == {NAME: 7, Counted.SESSION_NAME: 4, "helpers.Holder": 1, "Logger": 1}
    if fmt == "hdf5":
        with h5py.File(io.BytesIO(data), "r") as file:
            paths = [p.decode() if isinstance(p, bytes) else p for p in file.attrs[layout.NODES]]
            assert all(layout.VERSION in file[p].attrs for p in paths)
            assert sorted(int(file[p].attrs[layout.VERSION]) for p in paths) == [1, 1, 4, 4, 7]


def test_upgrade_steps_apply_in_order(fmt: str) -> None:
    """Version 1 data goes through step 1 then step 2 before a version 3 class sees it."""
    old = define(1)
    session = new_session(minimal=True)
    session.h = Holder(thing=old())
    session.h.thing.size = 3
    data = save_bytes(session, fmt)

    def step1(d: dict) -> dict:
        calls.append("1->2")
        return {"sizes": [d["size"]]}

    def step2(d: dict) -> dict:
        calls.append("2->3")
        return {"sizes": d["sizes"], "unit": "mm"}

    new = define(3, {2: step2, 1: step1})
    restored = new_session(minimal=True)
    restored.restore(io.BytesIO(data))
    assert calls == ["1->2", "2->3"]
    assert type(restored.h.thing) is new
    assert vars(restored.h.thing) == {"sizes": [3], "unit": "mm"}


def test_newer_class_version_is_refused_before_the_session_is_touched(fmt: str) -> None:
    """VersionError names class and both versions; no restore_snapshot ran; end trigger fired."""
    newer = define(9)
    session = new_session(minimal=True)
    session.h = Holder(first=Counted(), thing=newer())
    data = save_bytes(session, fmt)
    define(2)
    target = new_session(minimal=True)
    target.h = Holder(mine=True)
    mine = target.h
    ended: list[str] = []
    target.triggers.add_handler("end restore session", lambda name, _: ended.append(name))
    before = Counted.restores
    with pytest.raises(VersionError, match=rf"saved by {NAME} version 9, but this process has "
                                           r"version 2"):
        target.restore(io.BytesIO(data))
    assert Counted.restores == before
    assert ended == ["end restore session"]
    assert target.h is mine and vars(mine) == {"mine": True}


@pytest.mark.parametrize("version", [4, 99])
def test_newer_hdf5_layout_is_refused_with_both_versions(version: int) -> None:
    session = new_session(minimal=True)
    session.h = Holder(x=1)

    def newer(file: h5py.File) -> None:
        file.attrs[layout.LAYOUT] = np.int64(version)

    data = edit_hdf5(save_bytes(session, "hdf5"), newer)
    for metadata_only in (False, True):
        with pytest.raises(VersionError, match=rf"layout version {version}, but this sessionh5 "
                                               r"reads versions \[1, 2, 3\]"):
            new_session().restore(io.BytesIO(data), metadata_only=metadata_only)


def test_newer_stream_version_is_refused_with_the_version() -> None:
    session = new_session(minimal=True)
    session.h = Holder(x=1)
    data = save_bytes(session, "stream", compress=None)
    line, rest = data.split(b"\n", 1)
    newer = line.rsplit(b" ", 1)[0] + b" 4\n" + rest
    assert line.endswith(b" 3")
    with pytest.raises(VersionError, match="4"):
        new_session().restore(io.BytesIO(newer))
