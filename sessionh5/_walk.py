"""Saving, first half: take every snapshot and turn it into container-neutral records.

Starting from the state managers, the walker calls ``take_snapshot`` on each
object it reaches, copies the returned data into plain values, replaces saved
objects by :class:`ObjectKey` references, and refuses anything no encoding can
store, naming where it sits. It never touches a file.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._graph import dependency_components
from ._records import SESSION_KEY, ObjectKey, PngImage, Record, SessionHeader
from ._snapshot_methods import ClassInfo, SnapshotMethodsTable
from .errors import SaveError, UnsupportedValueError

__all__ = ["SavedSession", "walk_session"]

_ATOMS = frozenset(
    {type(None), bool, int, float, complex, str, bytes, range, dt.datetime, dt.timedelta,
     dt.timezone, PngImage, ObjectKey}
)


@dataclass(slots=True)
class SavedSession:
    """A whole session as records in dependency order, ready for any backend."""

    header: SessionHeader
    records: list[Record]
    refs: dict[ObjectKey, list[ObjectKey]] = field(default_factory=dict)
    objects: dict[ObjectKey, Any] = field(default_factory=dict)


class _Walker:
    def __init__(self, session: Any, flags: int, table: SnapshotMethodsTable) -> None:
        self.session = session
        self.flags = flags
        self.table = table
        self.keys: dict[int, ObjectKey] = {}
        self.objects: dict[ObjectKey, Any] = {}  # also keeps objects alive so ids stay unique
        self.infos: dict[ObjectKey, ClassInfo] = {}
        self.counts: dict[str, int] = {}
        self.pending: list[ObjectKey] = []
        self.out_refs: list[ObjectKey] = []

    def key_for(self, obj: Any) -> ObjectKey | None:
        """The reference for a saveable object (assigning one on first sight), else None."""
        key = self.keys.get(id(obj))
        if key is not None:
            return key
        if obj is self.session:
            return SESSION_KEY
        info = self.table.for_object(obj)
        if info is None:
            return None
        ordinal = self.counts.get(info.name, 0) + 1
        self.counts[info.name] = ordinal
        key = ObjectKey(info.name, ordinal)
        self.keys[id(obj)] = key
        self.objects[key] = obj
        self.infos[key] = info
        self.pending.append(key)
        return key

    def plain(self, value: Any) -> Any:
        """Copy ``value`` into plain data, references in place of saved objects."""
        kind = type(value)
        if kind in _ATOMS:
            return value
        if kind is list:
            return [self.plain(v) for v in value]
        if kind is dict:
            return {self.plain(k): self.plain(v) for k, v in value.items()}
        if kind is tuple:
            return tuple(self.plain(v) for v in value)
        if kind is np.ndarray:
            if value.dtype.hasobject:
                raise UnsupportedValueError("object-dtype arrays cannot be saved", value)
            return value
        return self._plain_other(kind, value)

    def _plain_other(self, kind: type, value: Any) -> Any:
        if kind is set:
            return {self.plain(v) for v in value}
        if kind is frozenset:
            return frozenset(self.plain(v) for v in value)
        if kind is OrderedDict:
            return OrderedDict((self.plain(k), self.plain(v)) for k, v in value.items())
        if kind is deque:
            return deque((self.plain(v) for v in value), value.maxlen)
        if kind is bytearray:
            return bytearray(value)
        if kind is dt.datetime or kind is dt.timezone:
            return value
        if isinstance(value, np.generic) and not value.dtype.hasobject:
            return value
        key = self.key_for(value)
        if key is None:
            raise UnsupportedValueError(f"cannot save a value of type {_type_name(kind)}", value)
        self.out_refs.append(key)
        return key

    def snapshot(self, key: ObjectKey) -> Record | None:
        obj = self.objects[key]
        info = self.infos[key]
        data = info.take(obj, self.session, self.flags)
        if data is None:
            return None
        self.out_refs = []
        try:
            plain = self.plain(data)
        except UnsupportedValueError as exc:
            bad = exc.args[1] if len(exc.args) > 1 else None
            where = _find_path(data, bad)
            raise UnsupportedValueError(
                f"{exc.args[0]} at {_describe(key)}{where}; snapshots may hold only plain "
                "data, numpy arrays and State objects (or classes with registered snapshot "
                "methods)"
            ) from None
        return Record(key, plain, info.version)


def walk_session(
    session: Any, managers: dict[str, Any], attr_tags: set[str], flags: int,
    table: SnapshotMethodsTable, header: SessionHeader,
) -> SavedSession:
    """Snapshot every manager and everything reachable from it."""
    walker = _Walker(session, flags, table)
    records: dict[ObjectKey, Record] = {}
    refs: dict[ObjectKey, list[ObjectKey]] = {}
    for tag, manager in managers.items():
        key = walker.key_for(manager)
        if key is None or key in header.managers.values():
            raise SaveError(f"state manager {tag!r} cannot be saved (or is registered twice)")
        header.managers[tag] = key
        header.attr_info[tag] = tag in attr_tags
    skipped: set[ObjectKey] = set()
    while walker.pending:
        key = walker.pending.pop()
        record = walker.snapshot(key)
        if record is None:
            skipped.add(key)
            continue
        records[key] = record
        refs[key] = [k for k in dict.fromkeys(walker.out_refs) if k != SESSION_KEY]
    for tag, key in list(header.managers.items()):
        if key in skipped:
            del header.managers[tag], header.attr_info[tag]
    if skipped:
        _drop_skipped(records, refs, skipped)
    ordered = _order(records, refs, walker.infos)
    return SavedSession(header, ordered, refs, walker.objects)


def _order(
    records: dict[ObjectKey, Record],
    refs: dict[ObjectKey, list[ObjectKey]],
    infos: dict[ObjectKey, ClassInfo],
) -> list[Record]:
    """Records with every referenced one first; unrestorable cycles are refused here."""
    ordered: list[Record] = []
    for component in dependency_components(records, lambda k: refs[k]):
        if len(component) > 1 or component[0] in refs[component[0]]:
            _check_cycle(component, infos)
        ordered.extend(records[k] for k in reversed(component))
    return ordered


def _check_cycle(component: list[ObjectKey], infos: dict[ObjectKey, ClassInfo]) -> None:
    """A cycle can be rebuilt only when every member restores with the default."""
    for key in component:
        if not infos[key].two_phase:
            members = ", ".join(str(k) for k in sorted(component)[:6])
            raise SaveError(
                f"objects {members} refer to each other in a cycle, and {key} restores with its "
                "own restore_snapshot, so the cycle could not be rebuilt; break the cycle in "
                "take_snapshot or use State's default snapshot for these classes"
            )


def _drop_skipped(
    records: dict[ObjectKey, Record],
    refs: dict[ObjectKey, list[ObjectKey]],
    skipped: set[ObjectKey],
) -> None:
    """References to objects whose take_snapshot returned None become None."""

    def clean(value: Any) -> Any:
        if type(value) is ObjectKey:
            return None if value in skipped else value
        if type(value) in (list, tuple, set, frozenset):
            return type(value)(clean(v) for v in value)
        if isinstance(value, dict):
            return type(value)((clean(k), clean(v)) for k, v in value.items())
        if type(value) is deque:
            return deque((clean(v) for v in value), value.maxlen)
        return value

    for key, targets in refs.items():
        if any(t in skipped for t in targets):
            records[key].data = clean(records[key].data)
            refs[key] = [t for t in targets if t not in skipped]


def _describe(key: ObjectKey) -> str:
    return f"{key.class_name} #{key.ordinal}"


def _type_name(kind: type) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


def _find_path(data: Any, bad: Any) -> str:
    """Where ``bad`` sits inside ``data``, as a readable key path (slow; errors only)."""
    for path, value in _items(data, ()):
        if value is bad:
            return "".join(f"[{p!r}]" for p in path)
    return ""


def _items(value: Any, path: tuple) -> Iterator[tuple[tuple, Any]]:
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _items(k, (*path, "<key>"))
            yield from _items(v, (*path, k))
    elif isinstance(value, (list, tuple, deque)):
        for i, v in enumerate(value):
            yield from _items(v, (*path, i))
    elif isinstance(value, (set, frozenset)):
        for v in value:
            yield from _items(v, (*path, "<member>"))
