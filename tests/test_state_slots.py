"""The default snapshot includes ``__slots__`` attributes of every class of the MRO.

They live outside the instance dictionary, so a snapshot of ``vars(obj)`` alone
dropped them silently: ``class Roi(State): __slots__ = ("box",)`` saved without
error and restored without ``box``. Each test runs through HDF5 (table rows, object
nodes) and the stream.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from helpers import Holder, new_session, roundtrip

from sessionh5 import State
from sessionh5._engine.state import slots_of


class Roi(State):
    __slots__ = ("__secret", "box", "unset")

    def __init__(self, box: Any = (1, 2)) -> None:
        self.box = box
        self.__secret = "hidden"
        self.label = "in the dict"

    def secret(self) -> str:
        return self.__secret


class Region(Roi):
    __slots__ = ["frame"]  # a list, and a class of its own in the MRO


class Skipping(State):
    __slots__ = ("cache", "kept")
    SESSION_SKIP = frozenset({"cache"})


class Guarded(State):
    """Restoring must not go through __setattr__ (slots are set by their descriptors)."""

    __slots__ = ("value",)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AssertionError(f"restore called __setattr__({name!r})")


def test_slots_of_covers_the_mro_and_mangles_private_names() -> None:
    assert set(slots_of(Region)) == {"box", "_Roi__secret", "unset", "frame"}
    assert slots_of(Holder) == {}


def test_slot_attributes_come_back(fmt: str) -> None:
    """Slots of the class and of its bases, private ones too; set and unset ones stay so."""
    region = Region(box=(3, 4))
    region.frame = 7
    original = new_session()
    original.holder = Holder(roi=Roi(), region=region)
    restored = roundtrip(original, fmt).holder
    assert type(restored.region) is Region
    assert restored.region.box == (3, 4) and restored.region.frame == 7
    assert restored.region.secret() == "hidden" and restored.roi.secret() == "hidden"
    assert restored.roi.box == (1, 2) and restored.roi.label == "in the dict"
    assert not hasattr(restored.roi, "unset") and not hasattr(restored.roi, "frame")
    assert "box" not in vars(restored.roi)  # in its slot, not shadowed in the dict


def test_slots_hold_references_shared_objects_and_cycles(fmt: str) -> None:
    """Saved objects in slots become references: shared ones stay shared (HDF5: cycles too)."""
    a, b = Roi(), Roi()
    a.box = b
    if fmt == "hdf5":
        b.box = a  # a cycle through slots, restored in two phases
    original = new_session()
    original.holder = Holder(rois=[a, b])
    first, second = roundtrip(original, fmt).holder.rois
    assert first.box is second
    if fmt == "hdf5":
        assert second.box is first


def test_session_skip_applies_to_slots(fmt: str) -> None:
    item = Skipping()
    item.kept, item.cache = [1], np.zeros(3)
    original = new_session()
    original.holder = Holder(item=item)
    restored = roundtrip(original, fmt).holder.item
    assert restored.kept == [1] and not hasattr(restored, "cache")
    assert item.take_snapshot(original, 0) == {"kept": [1]}


def test_restore_sets_slots_without_setattr(fmt: str) -> None:
    """Bulk and ordered restores set slots through their descriptors, never __setattr__."""
    items = []
    for n in range(3):
        item = Guarded.__new__(Guarded)
        object.__setattr__(item, "value", n)
        items.append(item)
    original = new_session()
    original.holder = Holder(items=items)
    restored = roundtrip(original, fmt).holder.items
    assert [item.value for item in restored] == [0, 1, 2]


def test_many_slotted_objects_in_table_rows(fmt: str) -> None:
    """A thousand small slotted objects (HDF5 table rows, restored in bulk)."""
    rois = [Roi(box=(i, i + 1)) for i in range(1000)]
    original = new_session()
    original.holder = Holder(rois=rois)
    buffer = io.BytesIO()
    original.save(buffer, format=fmt)
    target = new_session()
    target.restore(io.BytesIO(buffer.getvalue()))
    assert [r.box for r in target.holder.rois] == [(i, i + 1) for i in range(1000)]


def test_default_restore_snapshot_called_directly_fills_slots() -> None:
    """State.restore_snapshot (what subclasses call through super()) fills slots too."""
    roi = Roi.restore_snapshot(new_session(), {"box": 5, "label": "x"})
    assert roi.box == 5 and roi.label == "x" and vars(roi) == {"label": "x"}
