"""The HDF5 reader's integer closure: the same set as the generic one, on any graph shape.

``HDF5Source.closure`` walks reference columns level by level in numpy and finishes
long thin chains in Python; the generic ``_graph.closure`` over ``refs`` is the
reference it must agree with, roots first.
"""

from __future__ import annotations

import io
import random

import pytest
from helpers import Box, Holder, new_session, save_bytes

from sessionh5._containers._hdf5.files import open_hdf5
from sessionh5._containers._hdf5.reader import HDF5Source
from sessionh5._engine.graph import closure


def _chain(length: int) -> Box:
    head = Box(n=0)
    node = head
    for i in range(1, length):
        node.next = Box(n=i)
        node = node.next
    return head


def _random_graph(count: int, seed: int) -> list[Box]:
    rng = random.Random(seed)
    boxes = [Box(n=i) for i in range(count)]
    for box in boxes:
        box.links = rng.sample(boxes, rng.randint(0, 3))  # cycles and shared targets
    return boxes


def _file(**managers: object) -> bytes:
    session = new_session(minimal=True)
    for tag, items in managers.items():
        setattr(session, tag, Holder(items=items))
    return save_bytes(session, "hdf5")


SHAPES = {
    # 500 levels one key wide: past the numpy levels, into the Python finish
    "chain": lambda: _file(a=[_chain(500)]),
    "wide": lambda: _file(a=[Box(n=i) for i in range(3000)]),
    "random": lambda: _file(a=_random_graph(2000, 1)[:5], b=_random_graph(500, 2)[:1]),
    # a fan whose every branch is a chain: wide levels first, then 200 thin ones
    "fan of chains": lambda: _file(a=[_chain(200) for _ in range(40)]),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_closure_matches_the_generic_walk(shape: str) -> None:
    with open_hdf5(io.BytesIO(SHAPES[shape]())) as file:
        source = HDF5Source(file)
        for tags in ([*source.header.managers], [next(iter(source.header.managers))]):
            roots = [source.header.managers[t] for t in tags]
            fast = source.closure(roots)
            slow = closure(roots, source.refs)
            assert fast[:len(roots)] == roots
            assert len(fast) == len(set(fast))
            assert set(fast) == set(slow)


def test_chain_restores_whole_through_the_python_finish() -> None:
    data = _file(a=[_chain(500)])
    restored = new_session()
    restored.restore(io.BytesIO(data))
    node, count = restored.a.items[0], 1
    while hasattr(node, "next"):
        assert node.next.n == node.n + 1
        node, count = node.next, count + 1
    assert count == 500
