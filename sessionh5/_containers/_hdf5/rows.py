"""Many rows of one packed table (layout 2) decoded in one pass, for a bulk restore.

Each run of consecutive rows is fed to one msgpack ``Unpacker``, which then yields
the rows one after another: no bytes object and no unpacker set-up per row. The
unpacker's position must reach each row's end offset exactly, so a row that is
short or long is noticed, never read into its neighbour. Any row that is not
sound makes the whole call answer None; the reader then loads the rows one by
one, which names the damaged row.
"""

from __future__ import annotations

import bisect
from typing import Any

import numpy as np

from .packed import PackedDecoder

__all__ = ["decode_rows", "timestamp_suspects"]


def timestamp_suspects(state: np.ndarray, starts: np.ndarray) -> list[int]:
    """Rows (ascending) holding a 0xff byte, the only ones that may hide msgpack's
    timestamp extension (code -1), which session files never hold."""
    positions = np.flatnonzero(state == 0xFF)
    return np.unique(np.searchsorted(starts, positions, side="right") - 1).tolist()


def decode_rows(decoder: PackedDecoder, state: np.ndarray, starts: list[int],
                rows: list[int], targets: list[Any], bounds: list[int],
                suspects: list[int], arrays: list[np.ndarray] | None = None,
                array_bounds: list[int] | None = None) -> list[Any] | None:
    """Rows ``rows`` of a table, decoded; None if any of them is not sound.

    ``state`` is the table's state column, row ``r`` its bytes
    ``starts[r]:starts[r + 1]`` with targets ``targets[bounds[r]:bounds[r + 1]]`` and
    pooled arrays ``arrays[array_bounds[r]:array_bounds[r + 1]]`` (layout 3);
    ``suspects`` comes from :func:`timestamp_suspects`.
    """
    values: list[Any] = []
    column = memoryview(state)
    try:
        for first, last in _runs(rows):
            begin, end = starts[first], starts[last + 1]
            unpacker = decoder.unpacker(end - begin)
            unpacker.feed(column[begin:end])
            unpack, tell = unpacker.unpack, unpacker.tell
            for row in range(first, last + 1):
                decoder.refs = targets[bounds[row]:bounds[row + 1]]
                if array_bounds:
                    decoder.arrays = arrays[array_bounds[row]:array_bounds[row + 1]]
                values.append(unpack())
                if tell() != starts[row + 1] - begin:
                    return None  # the row is longer or shorter than its offsets say
            low = bisect.bisect_left(suspects, first)
            for row in suspects[low:bisect.bisect_right(suspects, last)]:
                index = len(values) - 1 - (last - row)
                decoder.check_foreign(state[starts[row]:starts[row + 1]].tobytes(), values[index])
    except Exception:  # any failure, CorruptFileError included: the row-by-row path names it
        return None
    return values


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    """(first, last) of each stretch of consecutive row numbers, in order."""
    numbers = np.asarray(rows, dtype=np.int64)
    breaks = np.flatnonzero(np.diff(numbers) != 1) + 1
    firsts = numbers[np.concatenate(([0], breaks))].tolist()
    lasts = numbers[np.concatenate((breaks - 1, [len(numbers) - 1]))].tolist()
    return list(zip(firsts, lasts, strict=True))
