"""Graph algorithms over saved objects: dependency order, cycles, ownership.

Saving and restoring both need the same answers — which objects must exist
before which, which ones form cycles, and which manager "owns" an object — for
graphs of 100k objects, so everything here is iterative (no recursion limit).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

__all__ = ["closure", "dependency_components", "owners"]


def dependency_components(
    nodes: Iterable[K], edges: Callable[[K], Iterable[K]]
) -> list[list[K]]:
    """Strongly connected components, each after every component it points to.

    Tarjan's algorithm, iterative, on integer indices (hashing keys once, not at
    every step). A component of one node without a self-edge is acyclic; anything
    else is a cycle that must be built in two phases. Edges to nodes outside
    ``nodes`` are ignored.
    """
    names = list(dict.fromkeys(nodes))
    index_of = {n: i for i, n in enumerate(names)}
    adjacency = [[index_of[c] for c in edges(n) if c in index_of] for n in names]
    return [[names[i] for i in component] for component in _tarjan(adjacency)]


def _tarjan(adjacency: list[list[int]]) -> list[list[int]]:
    count = len(adjacency)
    index = [-1] * count
    low = [0] * count
    on_stack = [False] * count
    stack: list[int] = []
    result: list[list[int]] = []
    counter = 0
    for root in range(count):
        if index[root] >= 0:
            continue
        work = [(root, 0)]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        while work:
            node, position = work[-1]
            children = adjacency[node]
            if position < len(children):
                work[-1] = (node, position + 1)
                child = children[position]
                if index[child] < 0:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack[child] = True
                    work.append((child, 0))
                elif on_stack[child] and index[child] < low[node]:
                    low[node] = index[child]
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                if low[node] < low[parent]:
                    low[parent] = low[node]
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack[member] = False
                    component.append(member)
                    if member == node:
                        break
                result.append(component)
    return result


def closure(roots: Iterable[K], edges: Callable[[K], Iterable[K]]) -> list[K]:
    """Every node reachable from ``roots`` (roots included), in breadth-first order."""
    seen: dict[K, None] = {}
    queue = [r for r in roots]
    for r in queue:
        seen.setdefault(r)
    i = 0
    while i < len(queue):
        for child in edges(queue[i]):
            if child not in seen:
                seen[child] = None
                queue.append(child)
        i += 1
    return list(seen)


def owners(roots: Mapping[str, K], edges: Callable[[K], Iterable[K]]) -> dict[K, str]:
    """Map each reachable node to the first root tag (in order) that reaches it."""
    owner: dict[K, str] = {}
    for tag, root in roots.items():
        if root in owner:
            continue
        owner[root] = tag
        queue = [root]
        while queue:
            for child in edges(queue.pop()):
                if child not in owner:
                    owner[child] = tag
                    queue.append(child)
    return owner
