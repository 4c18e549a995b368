"""A decoded stream as the rebuilder's RecordSource: every record is in memory already."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..._engine.plain import resolve_in_place
from ..._engine.records import SESSION_KEY, ObjectKey, SessionHeader
from ...errors import CorruptFileError

__all__ = ["StreamSource", "keys_in"]


class StreamSource:
    """A decoded stream as a RecordSource (everything is already in memory)."""

    def __init__(self, content: Any, compression: str | None = None) -> None:
        """``compression`` is the file's: "lz4", "gzip" or None (convert keeps it)."""
        self.header: SessionHeader = content.header
        self.compression = compression
        self.records = {}
        for record in content.records:
            if record.key in self.records:
                raise CorruptFileError(f"{record.key} appears twice in the stream")
            self.records[record.key] = record
        self._met = content.references
        self._refs: dict[ObjectKey, list[ObjectKey]] = {}

    def keys(self) -> list[ObjectKey]:
        return list(self.records)

    def version(self, key: ObjectKey) -> int | None:
        return self.records[key].version

    def location(self, key: ObjectKey) -> str:
        return f"stream record {list(self.records).index(key) + 1}"

    def refs(self, key: ObjectKey) -> Sequence[ObjectKey]:
        found = self._refs.get(key)
        if found is None:
            met = self._met.get(key)
            if met is None:
                met = list(keys_in(self.records[key].data))
            found = self._refs[key] = [k for k in dict.fromkeys(met) if k != SESSION_KEY]
        return found

    def load(self, key: ObjectKey, resolve: Callable[[ObjectKey], Any]) -> Any:
        data = self.records[key].data
        met = self._met.get(key)
        if met is not None and not met:
            return data  # nothing to resolve: skip the walk
        return resolve_in_place(data, resolve)  # the records are read for this restore only


def keys_in(value: Any) -> Iterator[ObjectKey]:
    stack = [value]
    while stack:
        v = stack.pop()
        kind = type(v)
        if kind is ObjectKey:
            yield v
        elif kind in (list, tuple, set, frozenset) or kind.__name__ == "deque":
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
