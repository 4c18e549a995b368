"""restore(strict=False): restore around unknown classes and failing restores, and report it."""

from __future__ import annotations

import io
from typing import Any

import pytest
from craft import write_records
from helpers import Box, Holder, new_session, save_bytes

from sessionh5 import (
    RestoreError,
    RestoreReport,
    Session,
    State,
    StateManager,
    UnknownClassError,
)
from sessionh5._engine.records import ObjectKey, Record


class Foreign:
    """A class saved through snapshot methods registered only in the saving session."""

    def __init__(self, value: int) -> None:
        self.value = value


class ForeignMethods:
    SESSION_NAME = "test_lenient_restore.Foreign"

    @staticmethod
    def take_snapshot(obj: Foreign, session: Any, flags: int) -> Any:
        return {"value": obj.value}

    @staticmethod
    def restore_snapshot(session: Any, data: Any) -> Foreign:
        return Foreign(data["value"])

    @staticmethod
    def reset_state(obj: Foreign, session: Any) -> None:
        """Nothing to reset."""


class Broken(State):
    """Its restore always fails."""

    SESSION_NAME = "test_lenient_restore.Broken"

    @classmethod
    def restore_snapshot(cls, session: Any, data: Any) -> Any:
        raise ValueError("cannot rebuild")


class BrokenManager(StateManager):
    """A state manager whose restore always fails."""

    SESSION_NAME = "test_lenient_restore.BrokenManager"

    @classmethod
    def restore_snapshot(cls, session: Any, data: Any) -> Any:
        raise ValueError("cannot rebuild")

    def reset_state(self, session: Any) -> None:
        """Nothing to reset."""


def saved(fmt: str) -> bytes:
    session = new_session()
    session.register_snapshot_methods({Foreign: ForeignMethods})
    session.good = Holder(box=Box(v=1), foreign=Foreign(5), broken=Broken(),
                          listed=[Foreign(6), Box(v=2)])
    session.bad = BrokenManager()
    return save_bytes(session, fmt)


def keys_named(report: Any, name: str) -> list[ObjectKey]:
    return [k for k, _ in report.skipped if k.class_name == name]


def test_strict_restore_refuses_and_lenient_restores_around(fmt: str) -> None:
    data = saved(fmt)
    with pytest.raises(UnknownClassError, match=r"test_lenient_restore\.Foreign"):
        new_session().restore(io.BytesIO(data))
    target = new_session()
    report = target.restore(io.BytesIO(data), strict=False)
    assert type(report) is RestoreReport and not report.ok
    assert target.good.foreign is None and target.good.broken is None
    assert target.good.listed[0] is None and vars(target.good.listed[1]) == {"v": 2}
    assert vars(target.good.box) == {"v": 1}
    assert "good" in report.managers and "bad" not in report.managers
    assert "bad" not in target.state_manager_tags


def test_report_lists_restored_and_skipped_with_reasons(fmt: str) -> None:
    report = new_session().restore(io.BytesIO(saved(fmt)), strict=False)
    reasons = dict(report.skipped)
    foreign = keys_named(report, ForeignMethods.SESSION_NAME)
    broken = [*keys_named(report, Broken.SESSION_NAME),
              *keys_named(report, BrokenManager.SESSION_NAME)]
    assert len(foreign) == 2 and len(broken) == 2
    assert all("is not registered in this process" in reasons[k] for k in foreign)
    assert all("ValueError: cannot rebuild" in reasons[k] for k in broken)
    restored_classes = sorted({k.class_name for k in report.restored})
    assert restored_classes == ["Logger", "Models", "UserAliases", "View", "helpers.Box",
                                "helpers.Holder"]
    assert not set(report.restored) & set(reasons)
    text = str(report)
    assert "skipped 4" in text and "cannot rebuild" in text


def test_skipped_member_of_a_cycle_skips_the_cycle() -> None:
    """Objects in a cycle with an unknown class are skipped with that reason (crafted file)."""
    box, ghost = ObjectKey("helpers.Box", 1), ObjectKey("nowhere.Ghost", 1)
    holder = ObjectKey("helpers.Holder", 1)
    records = [Record(box, {"peer": ghost}, 1), Record(ghost, {"peer": box}, 1),
               Record(holder, {"box": box, "kept": 1}, 1)]
    target = new_session()
    report = target.restore(io.BytesIO(write_records(records, {"h": holder}, "hdf5")),
                            strict=False)
    reasons = dict(report.skipped)
    assert set(reasons) == {box, ghost}
    assert reasons[box] == "part of a cycle with a skipped object"
    assert "'nowhere.Ghost' is not registered" in reasons[ghost]
    assert vars(target.get_state_manager("h")) == {"box": None, "kept": 1}


def test_strict_success_returns_the_same_kind_of_report(fmt: str) -> None:
    session = new_session()
    session.h = Holder(box=Box(v=1))
    report = new_session().restore(io.BytesIO(save_bytes(session, fmt)))
    assert type(report) is RestoreReport and report.ok and report.skipped == []
    assert "h" in report.managers
    assert sorted(k.class_name for k in report.restored).count("helpers.Box") == 1


def test_lenient_restore_still_refuses_a_corrupt_file(fmt: str) -> None:
    """strict=False forgives classes and restores, not damage."""
    data = bytearray(saved(fmt))
    del data[len(data) // 2:]
    target: Session = new_session()
    with pytest.raises(RestoreError):
        target.restore(io.BytesIO(bytes(data)), strict=False)
