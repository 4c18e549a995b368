"""The collector pause around save and restore: state kept, survivors promoted, cycles found."""

from __future__ import annotations

import gc
import io
import weakref

import pytest
from helpers import Box, Holder, new_session, save_bytes

from sessionh5._engine.gc import gc_paused


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_comes_back_as_it_was(enabled: bool) -> None:
    before = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        session = new_session(minimal=True)
        session.h = Holder(boxes=[Box(n=i) for i in range(10)])
        data = save_bytes(session, "hdf5")
        assert gc.isenabled() is enabled
        new_session().restore(io.BytesIO(data))
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if before else gc.disable)()


def test_what_was_made_meanwhile_goes_to_the_oldest_generation() -> None:
    with gc_paused():
        kept = [[i] for i in range(100)]
    assert gc.isenabled()
    oldest = {id(o) for o in gc.get_objects(generation=2)}
    assert all(id(item) in oldest for item in kept)


def test_a_cycle_made_meanwhile_is_still_collected() -> None:
    class Node:
        pass

    with gc_paused():
        a, b = Node(), Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
    assert gone() is not None  # only a cycle: reference counting cannot free it
    gc.collect()
    assert gone() is None
