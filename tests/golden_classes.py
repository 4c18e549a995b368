"""Classes and the session that the golden files in tests/data/layouts/ were written from.

Never change what :func:`golden_session` builds or the classes' names and versions:
the golden files are what an old sessionh5 wrote, and the test compares them with
this module. A new layout version gets new files and, if needed, new classes here.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict, deque
from typing import Any

import numpy as np

from sessionh5 import Model, Session, State, StateManager

APP = "sessionh5-golden"


class GoldenItem(State):
    """A small object (a table row), default snapshot: may take part in cycles."""

    SESSION_NAME = "golden.Item"
    SESSION_VERSION = 2

    def __init__(self, name: str, **attrs: Any) -> None:
        self.name = name
        self.__dict__.update(attrs)


class GoldenVolume(State):
    """An object with arrays (its own node) and its own restore_snapshot."""

    SESSION_NAME = "golden.Volume"

    def __init__(self, data: np.ndarray, levels: list[np.ndarray]) -> None:
        self.data = data
        self.levels = levels

    def take_snapshot(self, session: Session, flags: int) -> Any:
        return {"data": self.data, "levels": list(self.levels)}

    @classmethod
    def restore_snapshot(cls, session: Session, data: Any) -> GoldenVolume:
        return cls(data["data"], data["levels"])


class GoldenManager(StateManager):
    """The application's own manager."""

    SESSION_NAME = "golden.Manager"

    def __init__(self, **attrs: Any) -> None:
        self.__dict__.update(attrs)

    def reset_state(self, session: Session) -> None:
        self.__dict__.clear()


def golden_session(*, cycle: bool = True) -> Session:
    """The session every golden file holds (metadata timestamps aside).

    Streams cannot hold reference cycles, so stream files are written with ``cycle=False``.
    """
    session = Session(APP, silent=True)
    session.metadata.update(title="golden v1", creator="sessionh5 tests")
    a, b = GoldenItem("a"), GoldenItem("b")
    b.peer = a
    if cycle:
        a.peer = b  # a cycle through default restores
    volume = GoldenVolume(np.tile(np.arange(600, dtype="<i4"), 40).reshape(40, 600),
                          [np.arange(300, dtype=">i2"), np.ones((3, 3), dtype=np.complex128)])
    session.golden = GoldenManager(
        items=[a, b, GoldenItem("c", value=3)], volume=volume,
        values={"int": 2**70, "float": float("nan"), "tuple": (1, "x"), "set": {1, 2},
                "bytes": b"\x00\xff", "odict": OrderedDict(z=1, a=2), "deque": deque([1], 4),
                "when": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
                "scalar": np.float32(1.5), "text": np.array(["ab", "c"])})
    session.models.add([Model("first", session)])
    session.models.add([Model("child", session)], parent=session.models.list()[0])
    session.user_aliases["hi"] = "echo hi"
    session.logger.info("golden log line")
    session.main_view.field_of_view = 42.0
    return session
