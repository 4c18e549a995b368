"""Rows restored in bulk (State's default restore): a damaged row is named, not guessed.

The HDF5 reader decodes a run of rows of one table in a tight loop; when any row
of the run is not sound it redoes the run row by row, so the error names the row.
"""

from __future__ import annotations

import io
from typing import Any

import h5py
import msgpack
import numpy as np
import pytest
from craft import edit_hdf5, set_table_states, table_states
from helpers import Box, Holder, new_session, save_bytes

from sessionh5 import CorruptFileError, State
from sessionh5._containers._hdf5.packed import PackedDecoder
from sessionh5._containers._hdf5.rows import decode_rows, timestamp_suspects

TIMESTAMP = b"\xd6\xff" + (1).to_bytes(4, "big")  # msgpack's own extension -1


def _saved() -> bytes:
    session = new_session(minimal=True)
    boxes = [Box(n=i, color=[255, 255, i % 256]) for i in range(40)]
    for box, other in zip(boxes, boxes[1:] + boxes[:1], strict=True):
        box.next = other
    session.h = Holder(boxes=boxes)
    return save_bytes(session, "hdf5")


def _with_row(data: bytes, index: int, row: bytes) -> bytes:
    def edit(file: h5py.File) -> None:
        states = table_states(file["/h/Box"])
        states[index] = row
        set_table_states(file["/h/Box"], states)
    return edit_hdf5(data, edit)


def test_bulk_rows_restore_with_their_references() -> None:
    restored = new_session()
    restored.restore(io.BytesIO(_saved()))
    boxes = restored.h.boxes
    assert [b.n for b in boxes] == list(range(40))
    assert all(b.next is boxes[(i + 1) % 40] for i, b in enumerate(boxes))
    assert boxes[3].color == [255, 255, 3]


@pytest.mark.parametrize(("row", "message"), [
    pytest.param(b"\x81\xa1n", "not a valid packed row", id="truncated"),
    pytest.param(msgpack.packb({"n": msgpack.ExtType(1, b"\x05")}), "reference index 5",
                 id="reference-out-of-range"),
    pytest.param(b"\x81\xa1t" + TIMESTAMP, "timestamp", id="msgpack-timestamp"),
    pytest.param(b"", "not a valid packed row", id="empty"),
    pytest.param(msgpack.packb({"n": 1}) + b"\xc0", "not a valid packed row",
                 id="a-second-value-after-the-row"),
])
def test_a_damaged_row_in_a_bulk_run_is_named(row: bytes, message: str) -> None:
    data = _with_row(_saved(), 17, row)
    with pytest.raises(CorruptFileError, match=message) as caught:
        new_session().restore(io.BytesIO(data))
    assert "/h/Box[17]" in str(caught.value)


def test_a_row_with_thousands_of_references_keeps_each_one() -> None:
    """Reference indexes past the 4,096 prebuilt extensions, repeats included."""
    targets = [Box(n=i) for i in range(5000)]
    session = new_session(minimal=True)
    session.h = Holder(hub=Box(items=[*targets, targets[4500], targets[7]]))
    restored = new_session()
    restored.restore(io.BytesIO(save_bytes(session, "hdf5")))
    items = restored.h.hub.items
    assert [b.n for b in items[:5000]] == list(range(5000))
    assert items[5000] is items[4500] and items[5001] is items[7]


def _packed_table(values: list[object]) -> tuple[np.ndarray, list[int]]:
    rows = [msgpack.packb(v) for v in values]
    starts = np.cumsum([0] + [len(r) for r in rows]).tolist()
    return np.frombuffer(b"".join(rows), dtype=np.uint8), starts


def test_scattered_rows_decode_like_each_row_alone() -> None:
    """Runs of consecutive rows share an unpacker; gaps start a new one."""
    values = [{"n": i, "f": -1.0 / (i + 1), "s": "x" * (i % 5)} for i in range(12)]
    state, starts = _packed_table(values)
    wanted = [0, 1, 2, 5, 7, 8, 11]
    suspects = timestamp_suspects(state, np.asarray(starts))
    decoded = decode_rows(PackedDecoder(), state, starts, wanted, [], [0] * 13, suspects)
    assert decoded == [values[i] for i in wanted]


def test_rows_with_references_get_their_own_targets() -> None:
    refs = [msgpack.ExtType(1, b"\x00"), msgpack.ExtType(1, b"\x01")]
    values = [[refs[0]], [refs[0], refs[1], refs[0]], [], [refs[0]]]
    state, starts = _packed_table(values)
    targets = ["a", "b", "c", "d", "e"]
    bounds = [0, 1, 3, 3, 5]  # row 3 has two targets and uses the first
    decoded = decode_rows(PackedDecoder(), state, starts, [0, 1, 2, 3], targets, bounds,
                          timestamp_suspects(state, np.asarray(starts)))
    assert decoded == [["a"], ["b", "c", "b"], [], ["d"]]


def test_a_timestamp_in_a_later_run_is_refused() -> None:
    """Suspect rows are found by their 0xff byte and mapped back to their run."""
    values = [{"n": i} for i in range(6)]
    state, starts = _packed_table(values)
    rows = [msgpack.packb(v) for v in values]
    rows[4] = b"\x81\xa1t" + TIMESTAMP
    state = np.frombuffer(b"".join(rows), dtype=np.uint8)
    starts = np.cumsum([0] + [len(r) for r in rows]).tolist()
    suspects = timestamp_suspects(state, np.asarray(starts))
    assert suspects == [4]
    decoder = PackedDecoder()
    assert decode_rows(decoder, state, starts, [0, 1, 3, 4], [], [0] * 7, suspects) is None
    assert decode_rows(decoder, state, starts, [0, 1, 3, 5], [], [0] * 7, suspects) == [
        {"n": 0}, {"n": 1}, {"n": 3}, {"n": 5}]


class Stamped(State):
    """Its __new__ sets an attribute the snapshot skips: restore must keep it."""

    SESSION_NAME = "test_bulk_rows.Stamped"
    SESSION_SKIP = frozenset({"made_by_new"})

    def __new__(cls, *args: Any, **kwargs: Any) -> Stamped:
        obj = super().__new__(cls)
        obj.__dict__["made_by_new"] = True
        return obj


class Guarded(State):
    """Counts __setattr__ calls: restoring a default snapshot makes none."""

    SESSION_NAME = "test_bulk_rows.Guarded"
    calls = 0

    def __setattr__(self, name: str, value: Any) -> None:
        type(self).calls += 1
        super().__setattr__(name, value)


def test_bulk_restore_keeps_what_new_made_and_bypasses_setattr() -> None:
    stamped = Stamped()
    stamped.__dict__["n"] = 1
    guarded = Guarded()
    guarded.__dict__["n"] = 2
    session = new_session(minimal=True)
    session.h = Holder(items=[stamped, guarded, Box(n=3)])
    Guarded.calls = 0
    restored = new_session()
    restored.restore(io.BytesIO(save_bytes(session, "hdf5")))
    items = restored.h.items
    assert vars(items[0]) == {"made_by_new": True, "n": 1}
    assert vars(items[1]) == {"n": 2} and Guarded.calls == 0
    assert vars(items[2]) == {"n": 3}


def test_objects_never_share_a_dict_an_upgrade_returned() -> None:
    """An upgrade step may hand out one dict for many objects; each gets its own copy."""
    name = "test_bulk_rows.Shared"
    old = type("Shared", (State,), {"SESSION_NAME": name, "SESSION_VERSION": 1})
    session = new_session(minimal=True)
    session.h = Holder(items=[old(), old()])
    data = save_bytes(session, "hdf5")
    shared = {"size": 1}
    type("Shared", (State,), {"SESSION_NAME": name, "SESSION_VERSION": 2,
                              "SESSION_UPGRADES": {1: lambda d: shared}})
    restored = new_session()
    restored.restore(io.BytesIO(data))
    first, second = restored.h.items
    first.size = 5
    assert second.size == 1 and shared == {"size": 1}
