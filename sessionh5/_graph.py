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

    Tarjan's algorithm, iterative. A component of one node without a self-edge is
    acyclic; anything else is a cycle that must be built in two phases.
    """
    index: dict[K, int] = {}
    low: dict[K, int] = {}
    on_stack: set[K] = set()
    stack: list[K] = []
    result: list[list[K]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[K, Iterable[K]]] = [(root, iter(edges(root)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges(child))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
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
        fresh = [n for n in closure([root], lambda k: (c for c in edges(k) if c not in owner))]
        for node in fresh:
            owner.setdefault(node, tag)
    return owner
