"""Reference closure over a file's reference columns, on integer numbers in numpy.

Objects are numbered ``offset[node] + row`` (an object node has one object, row
0), and the targets of a whole level of the search are gathered per node from the
reference columns, so 100k objects cost a few numpy calls per level instead of a
Python step per object. Deep chains (many thin levels) finish in a Python loop
over the same numbers. The reader supplies each node's references; nothing here
touches HDF5.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable

import numpy as np

__all__ = ["Edges", "reachable"]

#: A node's references: per-row bounds (rows + 1) into its target nodes and rows.
Edges = Callable[[int], tuple[np.ndarray, np.ndarray, np.ndarray]]

#: Levels done in numpy before thin ones (< _THIN_LEVEL objects) go to Python.
_NUMPY_LEVELS = 32
_THIN_LEVEL = 64


def reachable(roots: list[tuple[int, int]], sizes: list[int], edges: Edges) -> np.ndarray:
    """The number of everything reachable from ``roots`` (roots first, then by level).

    ``roots`` are (node, row) pairs with row -1 for object nodes, ``sizes`` the
    number of objects per node; ``edges(node)`` is called at most once per node.
    Object ``row`` of node ``n`` has number ``sum(sizes[:n]) + row``.
    """
    offsets = np.zeros(len(sizes) + 1, np.int64)
    np.cumsum(sizes, out=offsets[1:])
    numbered = _Numbered(offsets, edges)
    seen = np.zeros(int(offsets[-1]), bool)
    frontier = np.array(list(dict.fromkeys(int(offsets[n]) + max(r, 0) for n, r in roots)),
                        np.int64)
    seen[frontier] = True
    levels = [frontier]
    while frontier.size:
        if len(levels) > _NUMPY_LEVELS and frontier.size < _THIN_LEVEL:
            levels.append(numbered.finish(frontier, seen))
            break
        children = numbered.children(frontier)
        frontier = np.unique(children[~seen[children]])  # sort only what is new
        seen[frontier] = True
        levels.append(frontier)
    return np.concatenate(levels)


class _Numbered:
    """Each node's references as object numbers, fetched once per node."""

    def __init__(self, offsets: np.ndarray, edges: Edges) -> None:
        self.offsets = offsets
        self.edges = edges
        self.cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def of(self, node_id: int) -> tuple[np.ndarray, np.ndarray]:
        found = self.cache.get(node_id)
        if found is None:
            starts, nodes, rows = self.edges(node_id)
            found = self.cache[node_id] = (starts, self.offsets[nodes] + np.maximum(rows, 0))
        return found

    def children(self, frontier: np.ndarray) -> np.ndarray:
        """The targets of every object in ``frontier`` (with repeats)."""
        nodes = np.searchsorted(self.offsets, frontier, side="right") - 1
        found = []
        for node_id in np.unique(nodes).tolist():
            starts, targets = self.of(node_id)
            rows = frontier[nodes == node_id] - self.offsets[node_id]
            low, counts = starts[rows], starts[rows + 1] - starts[rows]
            total = int(counts.sum())
            if total:  # the ranges low[i]:low[i] + counts[i], concatenated
                first = np.cumsum(counts) - counts
                found.append(targets[np.repeat(low - first, counts) + np.arange(total)])
        return np.concatenate(found) if found else np.zeros(0, np.int64)

    def finish(self, frontier: np.ndarray, seen: np.ndarray) -> np.ndarray:
        """The rest of a closure in plain Python, for chains one object wide."""
        bounds = self.offsets.tolist()
        lists: dict[int, tuple[list[int], list[int]]] = {}
        marked = bytearray(seen.tobytes())
        queue = frontier.tolist()
        found: list[int] = []
        for number in queue:
            node_id = bisect.bisect_right(bounds, number) - 1
            cached = lists.get(node_id)
            if cached is None:
                starts, targets = self.of(node_id)
                cached = lists[node_id] = (starts.tolist(), targets.tolist())
            row = number - bounds[node_id]
            for child in cached[1][cached[0][row]:cached[0][row + 1]]:
                if not marked[child]:
                    marked[child] = 1
                    queue.append(child)
                    found.append(child)
        return np.array(found, np.int64)
