"""Saved objects referenced from snapshots: sharing, cycles, and what is refused at save.

An object reached from several places is saved once and comes back as one object;
cycles of objects using State's default snapshot come back as the same cycle; a cycle
through a class with its own restore_snapshot, and any value that no encoding can
store, is refused at save time with an error that says where it is.
"""

from __future__ import annotations

import collections
import enum
import io
import sys
from typing import Any

import numpy as np
import pytest
from helpers import Box, Holder, assert_same, matrix, new_session, roundtrip

from sessionh5 import SaveError, State, UnsupportedValueError


class Custom(State):
    """Restores through its own restore_snapshot, so it cannot be built in two phases."""

    SESSION_NAME = "tests.references.Custom"

    def __init__(self, label: str) -> None:
        self.label = label
        self.other: Any = None

    def take_snapshot(self, session: Any, flags: int) -> Any:
        return {"label": self.label, "other": self.other}

    @classmethod
    def restore_snapshot(cls, session: Any, data: Any) -> Custom:
        obj = cls(data["label"])
        obj.other = data["other"]
        return obj


class Unregistered:
    """Neither a State nor registered with snapshot methods."""


#: A stream cannot hold cycles; test_stream_session.py checks the SaveError it raises.
hdf5_only = pytest.mark.parametrize("fmt", ["hdf5"])


def test_shared_object_comes_back_as_one_object(fmt: str) -> None:
    """An object referenced from three places is restored once and shared again."""
    shared = Box(n=1)
    original = new_session()
    original.holder = Holder(a=shared, b=[shared, {"k": (shared,)}])
    h = roundtrip(original, fmt).holder
    assert h.a is h.b[0] is h.b[1]["k"][0]
    assert type(h.a) is Box and h.a.n == 1


def test_object_shared_between_managers_is_one_object(fmt: str) -> None:
    """Two managers referencing one object get the same restored object."""
    shared = Box(payload=np.arange(10_000))
    original = new_session()
    original.first = Holder(x=shared)
    original.second = Holder(y=shared)
    restored = roundtrip(original, fmt)
    assert restored.first.x is restored.second.y
    assert_same(shared.payload, restored.first.x.payload)


def test_shared_custom_object_comes_back_as_one_object(fmt: str) -> None:
    """Sharing also holds for objects with their own restore_snapshot (no cycle)."""
    shared = Custom("c")
    original = new_session()
    original.holder = Holder(a=shared, b={"again": shared})
    h = roundtrip(original, fmt).holder
    assert type(h.a) is Custom and h.a is h.b["again"] and h.a.label == "c"


@hdf5_only
def test_two_object_cycle_comes_back_as_the_same_cycle(fmt: str) -> None:
    """a -> b -> a between default-snapshot objects is rebuilt as a -> b -> a."""
    a, b = Box(name="a"), Box(name="b")
    a.next, b.next = b, a
    original = new_session()
    original.holder = Holder(start=a)
    h = roundtrip(original, fmt).holder
    assert h.start.name == "a" and h.start.next.name == "b"
    assert h.start.next.next is h.start


@hdf5_only
def test_self_reference_comes_back(fmt: str) -> None:
    """An object whose attribute (inside containers too) is itself is rebuilt as such."""
    a = Box()
    a.me = a
    a.nested = {"list": [a], "tuple": (a,)}
    original = new_session()
    original.holder = Holder(a=a)
    h = roundtrip(original, fmt).holder
    assert h.a.me is h.a
    assert h.a.nested["list"][0] is h.a and h.a.nested["tuple"][0] is h.a


@hdf5_only
def test_cycle_through_the_manager_itself(fmt: str) -> None:
    """A child pointing back to its default-snapshot manager is rebuilt to the new manager."""
    original = new_session()
    holder = Holder()
    holder.children = [Box(owner=holder, i=i) for i in range(3)]
    original.holder = holder
    restored = roundtrip(original, fmt)
    assert [c.owner for c in restored.holder.children] == [restored.holder] * 3
    assert [c.i for c in restored.holder.children] == [0, 1, 2]


@hdf5_only
def test_long_ring_and_objects_outside_it(fmt: str) -> None:
    """A ring of 200 objects plus objects pointing into it keeps its exact shape."""
    ring = [Box(i=i) for i in range(200)]
    for i, box in enumerate(ring):
        box.next = ring[(i + 1) % len(ring)]
    outside = [Box(into=ring[i * 50]) for i in range(4)]
    original = new_session()
    original.holder = Holder(outside=outside)
    h = roundtrip(original, fmt).holder
    start = h.outside[0].into
    node, seen = start, []
    for _ in range(200):
        seen.append(node.i)
        node = node.next
    assert node is start and seen == list(range(200))
    assert [o.into.i for o in h.outside] == [0, 50, 100, 150]
    assert h.outside[1].into is _walk(start, 50)


def _walk(node: Box, steps: int) -> Box:
    for _ in range(steps):
        node = node.next
    return node


@hdf5_only
def test_cycle_with_arrays_and_sets_of_members(fmt: str) -> None:
    """Cycle members with large arrays (own groups) and sets/dict keys of members."""
    a, b = Box(data=np.arange(50_000, dtype="f4")), Box(data=np.ones((100, 100)))
    a.peers = {b}
    b.peers = {a: "back"}
    original = new_session()
    original.holder = Holder(a=a)
    h = roundtrip(original, fmt).holder
    (rb,) = h.a.peers
    assert list(rb.peers) == [h.a] and rb.peers[h.a] == "back"
    assert_same(a.data, h.a.data)
    assert_same(b.data, rb.data)


def test_cycle_through_custom_restore_is_refused_at_save(fmt: str) -> None:
    """A cycle that includes a class with its own restore_snapshot is a SaveError naming it."""
    c = Custom("c")
    b = Box(custom=c)
    c.other = b
    original = new_session()
    original.holder = Holder(b=b)
    with pytest.raises(SaveError, match=r"cycle") as info:
        original.save(io.BytesIO(), format=fmt)
    message = str(info.value)
    assert "tests.references.Custom" in message and "Box" in message
    assert "restore_snapshot" in message


def test_custom_self_reference_is_refused_at_save(fmt: str) -> None:
    """Even a one-object cycle (self-reference) of a custom-restore class is refused."""
    c = Custom("self")
    c.other = c
    original = new_session()
    original.holder = Holder(c=c)
    with pytest.raises(SaveError, match=r"tests\.references\.Custom"):
        original.save(io.BytesIO(), format=fmt)


def test_refused_save_fires_end_trigger_and_leaves_no_partial_state(fmt: str) -> None:
    """After a refused save the session still saves once the cycle is broken."""
    c = Custom("c")
    c.other = c
    original = new_session()
    original.holder = Holder(c=c)
    with pytest.raises(SaveError):
        original.save(io.BytesIO(), format=fmt)
    c.other = None
    restored = roundtrip(original, fmt)
    assert restored.holder.c.label == "c" and restored.holder.c.other is None


def _open_file(tmp_path: Any) -> Any:
    return open(tmp_path / "open.txt", "w")


UNSUPPORTED = [
    pytest.param(lambda tmp: np.array([1, "a"], dtype=object), "object-dtype",
                 id="object-array"),
    pytest.param(lambda tmp: np.zeros(3, dtype=[("a", "i4"), ("b", "O")]), "object",
                 id="structured-with-object-field"),
    pytest.param(lambda tmp: len, "builtin", id="builtin-function"),
    pytest.param(lambda tmp: _open_file, "function", id="function"),
    pytest.param(lambda tmp: (lambda x: x), "function", id="lambda"),
    pytest.param(_open_file, "TextIOWrapper", id="open-file"),
    pytest.param(lambda tmp: Unregistered(), "session.register_snapshot_methods({Unregistered:",
                 id="unregistered-instance"),
    pytest.param(lambda tmp: Box, "type", id="state-class-itself"),
    pytest.param(lambda tmp: sys.modules[__name__], "module", id="module"),
    pytest.param(lambda tmp: matrix([[1, 2]]), "np.asarray(value)", id="matrix"),
    pytest.param(lambda tmp: iter([1]), "iterator", id="iterator"),
    pytest.param(lambda tmp: "lone \udc80 surrogate", "text.encode('utf-8', 'surrogateescape')",
                 id="lone-surrogate-str"),
    pytest.param(lambda tmp: collections.defaultdict(list), "defaultdict", id="defaultdict"),
    pytest.param(lambda tmp: enum.Enum("Color", "RED").RED, "sessionh5.register_enum(Color)",
                 id="enum-member"),
    pytest.param(lambda tmp: Unregistered, "classes themselves cannot be saved",
                 id="plain-class-itself"),
    pytest.param(lambda tmp: memoryview(b"x"), "memoryview", id="memoryview"),
]


@pytest.mark.parametrize(("make", "type_text"), UNSUPPORTED)
def test_unsupported_value_is_refused_with_its_path(make: Any, type_text: str, fmt: str,
                                                    tmp_path: Any) -> None:
    """The error names the value's type and its path inside the snapshot."""
    bad = make(tmp_path)
    try:
        original = new_session()
        original.holder = Holder(ok=1, items=[0, {"deep": [1, bad]}])
        with pytest.raises(UnsupportedValueError) as info:
            original.save(io.BytesIO(), format=fmt)
    finally:
        if hasattr(bad, "close"):
            bad.close()
    message = str(info.value)
    assert "['items'][1]['deep'][1]" in message, message
    assert type_text in message, message
    assert "Holder" in message, message


def test_unsupported_value_in_referenced_object_names_that_object(fmt: str) -> None:
    """The path starts at the object whose snapshot holds the value, not the manager."""
    original = new_session()
    original.holder = Holder(box=Box(fn=print))
    with pytest.raises(UnsupportedValueError, match=r"Box #1\['fn'\]"):
        original.save(io.BytesIO(), format=fmt)


def test_unsupported_dict_key_is_refused(fmt: str) -> None:
    """A bad value used as a dict key is refused too, and the error says it is a key."""
    original = new_session()
    original.holder = Holder(table={Unregistered(): 1})
    with pytest.raises(UnsupportedValueError, match=r"<key>"):
        original.save(io.BytesIO(), format=fmt)


def test_snapshot_returning_none_skips_object_and_references_become_none(fmt: str) -> None:
    """take_snapshot returning None means "not saved"; references to it restore as None."""

    class Transient(State):
        SESSION_NAME = "tests.references.Transient"

        def take_snapshot(self, session: Any, flags: int) -> Any:
            return None

    original = new_session()
    original.holder = Holder(t=Transient(), keep=[Transient(), 1])
    h = roundtrip(original, fmt).holder
    assert h.t is None and h.keep == [None, 1]


class Transient(State):
    """An object that declines to be saved: take_snapshot returns None."""

    SESSION_NAME = "tests.references.Transient"

    def take_snapshot(self, session: Any, flags: int) -> Any:
        return None


def test_references_to_an_object_that_declines_to_be_saved_become_none(fmt: str) -> None:
    """Wherever a reference to it sits (list, tuple, dict key side, set), it comes back None."""
    gone = Transient()
    kept = Box(name="kept")
    original = new_session()
    original.holder = Holder(items=[gone, kept], pair=(gone, 2), by_name={"gone": gone},
                             nested={"deep": [(kept, gone)]}, odd={-1: [gone]})
    restored = roundtrip(original, fmt).holder
    assert restored.items[0] is None and restored.items[1].name == "kept"
    assert restored.pair == (None, 2)
    assert restored.by_name == {"gone": None}
    assert restored.nested["deep"][0][0] is restored.items[1]
    assert restored.nested["deep"][0][1] is None
    assert restored.odd == {-1: [None]}
