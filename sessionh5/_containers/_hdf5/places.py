"""Where an object sits in a file, as one int: node id above, row + 1 below.

The writer and the reader keep one place per object key (100k of them in a big
session): an int instead of a (node, row) tuple is half the memory, and columns
of places split into nodes and rows in numpy. An object node holds one object,
row -1, stored as 0.
"""

from __future__ import annotations

import numpy as np

__all__ = ["first_place", "node_of", "split", "split_many"]

ROW_BITS = 32
_ROW_MASK = (1 << ROW_BITS) - 1


def first_place(node_id: int, table: bool) -> int:
    """The place of row 0 of a table node (rows follow at +1), or of an object node."""
    return (node_id << ROW_BITS) + (1 if table else 0)


def node_of(place: int) -> int:
    """The node id of a place."""
    return place >> ROW_BITS


def split(place: int) -> tuple[int, int]:
    """(node id, row), row -1 for an object node."""
    return place >> ROW_BITS, (place & _ROW_MASK) - 1


def split_many(places: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """split() for an int64 array of places."""
    return places >> ROW_BITS, (places & _ROW_MASK) - 1
