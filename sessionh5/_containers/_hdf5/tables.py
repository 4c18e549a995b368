"""Table nodes: many small objects of one class, one row each.

A table's columns (ordinals, offsets, the rows' state bytes, reference columns)
are read whole, once, and checked against the node's digest. Rows are then
decoded on demand: layout 1 stores each row as a line of tagged JSON (JSON
Lines), later layouts as a msgpack row (``packed/``), decoded in runs for a bulk
restore (``rows.py``). The node index and references stay in ``reader.py``.
"""

from __future__ import annotations

from typing import Any

import h5py
import numpy as np
import orjson

from ...errors import CorruptFileError
from . import layout
from .arrays import check_allocation, read_array
from .digest import check_digest, column_bytes
from .files import h5_errors
from .guard import child_dataset
from .packed import PackedDecoder
from .rows import decode_rows, timestamp_suspects

__all__ = ["Tables", "check_starts", "column", "no_arrays"]


class Tables:
    """The table nodes of one open session file; ``source`` is its HDF5Source."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.decoder = PackedDecoder(live=source.live)
        self._columns: dict[int, dict[str, np.ndarray]] = {}
        self._states: dict[int, list[Any]] = {}  # parsed JSON rows, each handed out once
        self._row_starts: dict[int, list[int]] = {}  # a packed table's state offsets
        self._suspects: dict[int, list[int]] = {}  # rows that may hide a msgpack timestamp
        self._pooled: dict[int, tuple[list[np.ndarray], list[int]]] = {}  # arrays, row bounds

    def columns(self, node_id: int) -> dict[str, np.ndarray]:
        """All columns of a table, read once and checked against the node's digest."""
        table = self._columns.get(node_id)
        if table is None:
            source = self.source
            path = source.paths[node_id]
            group = source.group(node_id)
            with h5_errors(f"the table {path}"):
                names = list(layout.TABLE_COLUMNS)
                if self.has_pools(node_id):
                    names += layout.ARRAY_COLUMNS
                table = {name: column(group, name) for name in names}
                check_digest(group.attrs, path, (column_bytes(table[name]) for name in names))
            if not np.array_equal(table[layout.T_ORDINAL], source.node(node_id).ordinals):
                raise CorruptFileError(f"{path}: the ordinal column changed while reading")
            check_starts(table[layout.T_STATE_START], len(source.node(node_id).keys),
                         table[layout.T_STATE].size, f"{path}: the state offsets")
            self._columns[node_id] = table
        return table

    def has_pools(self, node_id: int) -> bool:
        """Whether a table's rows hold pooled arrays (layout 3): a link looked up, no data."""
        source = self.source
        with h5_errors(f"the table {source.paths[node_id]}"):
            return source.layout_version >= 3 and layout.T_ARRAY_START in source.group(node_id)

    # Layout 1: JSON Lines -----------------------------------------------------
    def json_row(self, node_id: int, row: int) -> Any:
        """Row ``row``'s parsed JSON; the whole table is parsed on first use."""
        trees = self._states.get(node_id)
        if trees is None:
            trees = self._states[node_id] = self._parse_rows(node_id)
        tree = trees[row]
        if tree is None:  # already handed out (and consumed): parse this row again
            table = self.columns(node_id)
            start, end = table[layout.T_STATE_START][row:row + 2].tolist()
            return _parse(table[layout.T_STATE][start:end].tobytes(),
                          self.source.paths[node_id], row)
        trees[row] = None
        return tree

    def _parse_rows(self, node_id: int) -> list[Any]:
        """All rows with one orjson call: the JSON Lines text as one JSON array.

        Rows end in a newline that JSON text cannot otherwise contain (orjson
        escapes it inside strings), so turning every newline into a comma gives
        an array with one element per row; a count or parse failure falls back to
        row-by-row parsing, which names the bad row.
        """
        table = self.columns(node_id)
        state, starts = table[layout.T_STATE], table[layout.T_STATE_START]
        text = state.tobytes()
        count = len(self.source.node(node_id).keys)
        if (count and text.count(b"\n") == count and np.all(np.diff(starts) > 0)
                and np.all(state[starts[1:] - 1] == 10)):
            try:
                trees = orjson.loads(b"[" + text[:-1].replace(b"\n", b",") + b"]")
            except orjson.JSONDecodeError:
                trees = None
            if type(trees) is list and len(trees) == count:
                return trees
        bounds = starts.tolist()
        path = self.source.paths[node_id]
        return [_parse(text[bounds[i]:bounds[i + 1]], path, i) for i in range(count)]

    # Layout 2 and later: msgpack rows -----------------------------------------
    def packed_row(self, node_id: int, row: int, refs: list[Any], session: Any) -> Any:
        """One packed row decoded, its references already resolved to ``refs``."""
        starts = self._state_starts(node_id)
        packed = self._columns[node_id][layout.T_STATE][starts[row]:starts[row + 1]].tobytes()
        arrays, bounds = self.pooled(node_id)
        own = [a.copy() if isinstance(a, np.ndarray) else a  # lazy arrays stay lazy
               for a in arrays[bounds[row]:bounds[row + 1]]] if arrays else None
        self.decoder.session = session
        return self.decoder.decode(packed, refs, own)

    def pooled(self, node_id: int) -> tuple[list[np.ndarray], list[int]]:
        """A table's pooled arrays (layout 3) and each row's bounds into them, read once."""
        found = self._pooled.get(node_id)
        if found is None:
            table = self.columns(node_id)
            if layout.T_ARRAY_START not in table:
                found = ([], [])
            else:
                source = self.source
                group = source.group(node_id)
                with h5_errors(f"the arrays of {source.paths[node_id]}"):
                    arrays = source._pooled(group, table, len(source.node(node_id).keys))
                found = (arrays, table[layout.T_ARRAY_START].tolist())
            self._pooled[node_id] = found
        return found

    def packed_rows(self, node_id: int, rows: list[int], targets: list[Any],
                    ref_starts: list[int], session: Any) -> list[Any] | None:
        """Rows ``rows`` decoded in one run; None if any of them is not sound."""
        starts = self._state_starts(node_id)  # reads and checks the table
        table = self._columns[node_id]
        suspects = self._suspects.get(node_id)
        if suspects is None:
            suspects = self._suspects[node_id] = timestamp_suspects(
                table[layout.T_STATE], table[layout.T_STATE_START])
        arrays, bounds = self.pooled(node_id)
        self.decoder.session = session
        return decode_rows(self.decoder, table[layout.T_STATE], starts, rows, targets,
                           ref_starts, suspects, arrays, bounds)

    def _state_starts(self, node_id: int) -> list[int]:
        """A packed table's row offsets as a list (read and checked with the table)."""
        starts = self._row_starts.get(node_id)
        if starts is None:
            table = self.columns(node_id)
            starts = self._row_starts[node_id] = table[layout.T_STATE_START].tolist()
        return starts


def column(group: h5py.Group, name: str) -> np.ndarray:
    """A whole table column, its declared size checked before it is allocated (issue 5).

    Columns are written like arrays (compressed chunks with Fletcher32, or
    contiguous with a CRC32), so read_array decodes them in threads and checks them.
    """
    dataset = child_dataset(group, name)
    check_allocation(dataset)
    if dataset.ndim != 1:
        raise CorruptFileError(f"{group.name}/{name} should be one-dimensional")
    return read_array(dataset)


def check_starts(starts: np.ndarray, rows: int, total: int, what: str) -> None:
    """Offsets column: rows + 1 non-decreasing entries from 0 to ``total``."""
    if (starts.shape != (rows + 1,) or starts[0] != 0 or starts[-1] != total
            or np.any(np.diff(starts) < 0)):
        raise CorruptFileError(f"{what} are inconsistent")


def _parse(text: bytes, path: str, row: int) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise CorruptFileError(f"{path}[{row}]: object state is not valid JSON: {exc}") from exc


def no_arrays(name: str) -> np.ndarray:
    raise CorruptFileError(f"a table row refers to dataset {name!r}; rows hold no arrays")
