"""Saving, first half: take every snapshot and encode it, discovering references.

Starting from the state managers, one manager's closure after the other, the
walker calls ``take_snapshot`` on each object it reaches and encodes the returned
data in the same pass (a table row in the container's :class:`RowFormat`, or tagged JSON,
``encoding.py``):
saved objects met on the way get an :class:`ObjectKey` and join the queue, and
anything no encoding can store is refused with the path where it sits. It never
touches a file.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import SaveError, UnsupportedValueError
from .decoding import decode_value
from .encoding import EncodedValue, ValueEncoder, encode_value
from .graph import closure, dependency_components
from .kinds import how_to_store
from .plain import PlainEncoder, PlainValue, substitute_keys
from .records import SESSION_KEY, ObjectKey, Record, SessionHeader, new_key
from .snapshot_methods import ClassInfo, SnapshotMethodsTable
from .state import State, instance_state, slots_of

__all__ = ["NeedsDatasets", "RowFormat", "SavedSession", "walk_session"]


class NeedsDatasets(Exception):
    """Raised by a row encoder: this object holds arrays that need datasets of their own,
    so it cannot be a table row; the walker encodes it as tagged JSON instead."""


class RowFormat(Protocol):
    """How a container packs small objects into table rows (HDF5: ``_hdf5/packed``).

    The walker stays free of any container library: the container hands it this.
    A row value has a ``refs`` list of the ObjectKeys it refers to.
    """

    def encoder(self, key_for: Callable[[Any], ObjectKey],
                known: dict[int, ObjectKey]) -> Any:
        """An object with ``encode(data)`` -> row value (raising NeedsDatasets)."""

    def without(self, row: Any, skipped: set[ObjectKey]) -> Any:
        """``row`` again, with every reference to a key in ``skipped`` made None."""


@dataclass(slots=True)
class SavedSession:
    """A whole session as encoded records in walk order, ready for any backend.

    A backend that needs every record after the ones it refers to (the stream)
    orders them itself; HDF5 does not need an order, and 100k records take a
    noticeable time to sort topologically.
    """

    header: SessionHeader
    # Record.data: a row value of the RowFormat (a table row) or an EncodedValue (managers
    # and objects with datasets); a PlainValue when walked for the stream (no RowFormat)
    records: list[Record]
    #: key -> tag of the first manager (in save order) that reaches it
    owners: dict[ObjectKey, str] | None = None


class _Walker:
    def __init__(self, session: Any, flags: int, table: SnapshotMethodsTable,
                 rows: RowFormat | None) -> None:
        self.session = session
        self.flags = flags
        self.table = table
        self.keys: dict[int, ObjectKey] = {}
        self.alive: list[Any] = []  # every saved object, kept alive so ids stay unique
        self.by_type: dict[type, ClassInfo | None] = {}
        #: per type: State's own take_snapshot? any __slots__?
        self.default_take: dict[type, tuple[bool, bool]] = {}
        self.counts: dict[str, int] = {}
        #: objects met but not yet snapshotted, with what snapshot() needs of them
        self.pending: list[tuple[ObjectKey, Any, ClassInfo]] = []
        self.encoder = (PlainEncoder if rows is None else ValueEncoder)(self.key_for)
        self.packer = None if rows is None else rows.encoder(self.key_for, self.keys)
        self.manager_ids: set[int] = set()  # id() of the managers, which stay tagged JSON
        self.tag: str | None = None  # the manager whose closure is being walked
        self.owners: dict[ObjectKey, str] = {}

    def info_for(self, obj: Any) -> ClassInfo | None:
        kind = type(obj)
        try:
            return self.by_type[kind]
        except KeyError:
            info = self.by_type[kind] = self.table.for_object(obj)
            return info

    def key_for(self, obj: Any) -> ObjectKey:
        """The reference for a saveable object, assigned on first sight."""
        key = self.keys.get(id(obj))
        if key is not None:
            return key
        if obj is self.session:
            return SESSION_KEY
        info = self.info_for(obj)
        if info is None or isinstance(obj, type):
            kind = type(obj)
            raise UnsupportedValueError(f"cannot save a value of type "
                                        f"{kind.__module__}.{kind.__qualname__}", obj,
                                        hint=how_to_store(obj))
        ordinal = self.counts.get(info.name, 0) + 1
        self.counts[info.name] = ordinal
        key = new_key((info.name, ordinal, None))
        self.keys[id(obj)] = key
        self.alive.append(obj)
        self.owners[key] = self.tag  # type: ignore[assignment]
        self.pending.append((key, obj, info))
        return key

    def take(self, obj: Any, info: ClassInfo) -> Any:
        kind = type(obj)
        default = self.default_take.get(kind)
        if default is None:
            default = self.default_take[kind] = (
                info.methods is None and kind.take_snapshot is State.take_snapshot,
                bool(slots_of(kind)))
        if default[0]:
            # The default snapshot, minus its defensive copy: encoding copies anyway,
            # and it runs now, before any application code could change the dict.
            skip = obj.SESSION_SKIP
            return instance_state(obj, skip) if skip or default[1] else vars(obj)
        return info.take(obj, self.session, self.flags)

    def snapshot(self, key: ObjectKey, obj: Any, info: ClassInfo) -> Record | None:
        data = self.take(obj, info)
        if data is None:
            return None
        try:
            encoded = self.encode(obj, data)
        except UnsupportedValueError as exc:
            bad = exc.args[1] if len(exc.args) > 1 else None
            where = _find_path(data, bad) if bad is not None else ""
            hint = exc.hint or (
                "snapshots may hold only plain data, numpy arrays and State objects (or "
                "objects whose class has snapshot methods registered with the session)")
            raise UnsupportedValueError(
                f"{exc.args[0]} at {key.class_name} #{key.ordinal}{where}; {hint}",
                hint=exc.hint) from None
        return Record(key, encoded, info.version)

    def encode(self, obj: Any, data: Any) -> Any:
        """A packed row where the object will be one; tagged JSON for managers and
        objects with arrays large enough for datasets (they get groups of their own)."""
        if self.packer is not None and id(obj) not in self.manager_ids:
            try:
                return self.packer.encode(data)
            except NeedsDatasets:
                pass
        return self.encoder.encode(data)


def walk_session(
    session: Any, managers: dict[str, Any], attr_tags: set[str], flags: int,
    table: SnapshotMethodsTable, header: SessionHeader, *, rows: RowFormat | None = None,
) -> SavedSession:
    """Snapshot and encode every manager and everything reachable from it.

    With ``rows`` (HDF5) each snapshot is a table row, or tagged JSON for managers and
    objects with datasets; without (the stream) each keeps its values as they are,
    objects replaced by keys.
    """
    walker = _Walker(session, flags, table, rows)
    walker.manager_ids = {id(m) for m in managers.values()}
    records: dict[ObjectKey, Record] = {}
    skipped: set[ObjectKey] = set()
    for tag, manager in managers.items():
        # One manager's whole closure before the next: what is new in it is this tag's
        # (a manager another one reaches, and what it reaches, is that one's).
        walker.tag = tag
        key = walker.key_for(manager)
        if key in header.managers.values():
            raise SaveError(f"state manager {tag!r} is the same object as another manager")
        header.managers[tag] = key
        header.attr_info[tag] = tag in attr_tags
        while walker.pending:
            key, obj, info = walker.pending.pop()
            record = walker.snapshot(key, obj, info)
            if record is None:
                skipped.add(key)
            else:
                records[key] = record
    for tag, key in list(header.managers.items()):
        if key in skipped:
            del header.managers[tag], header.attr_info[tag]
    if skipped:
        _drop_skipped(records, skipped, rows)
    _check_cycles(records, walker)
    return SavedSession(header, list(records.values()), walker.owners)


def _check_cycles(records: dict[ObjectKey, Record], walker: _Walker) -> None:
    """Refuse unrestorable cycles now.

    Only a cycle through an object with its own restore_snapshot is unrestorable,
    and such a cycle lies inside what those objects reach; searching that part
    only (often a handful of objects) spares a topological sort of 100k objects.
    """
    infos = {info.name: info for info in walker.by_type.values() if info is not None}
    custom_names = {name for name, info in infos.items() if not info.two_phase}
    if not custom_names:
        return
    custom = [k for k in records if k.class_name in custom_names]
    edges = lambda k: records[k].data.refs if k in records else ()  # noqa: E731
    for component in dependency_components(closure(custom, edges), edges):
        if len(component) > 1 or component[0] in edges(component[0]):
            _check_cycle(component, infos)


def _check_cycle(component: list[ObjectKey], infos: dict[str, ClassInfo]) -> None:
    """A cycle can be rebuilt only when every member restores with the default."""
    for key in component:
        if not infos[key.class_name].two_phase:
            members = ", ".join(str(k) for k in sorted(component)[:6])
            raise SaveError(
                f"objects {members} refer to each other in a cycle, and {key} restores with its "
                "own restore_snapshot, so the cycle could not be rebuilt; break the cycle in "
                "take_snapshot or use State's default snapshot for these classes"
            )


def _drop_skipped(records: dict[ObjectKey, Record], skipped: set[ObjectKey],
                  rows: RowFormat | None) -> None:
    """References to objects whose take_snapshot returned None become None (re-encoded)."""
    for record in records.values():
        enc = record.data
        if not any(k in skipped for k in enc.refs):
            continue
        if isinstance(enc, PlainValue):
            enc.value = substitute_keys(enc.value, lambda k: None if k in skipped else k)
            enc.refs = [k for k in enc.refs if k not in skipped]
        elif isinstance(enc, EncodedValue):
            refs = [None if k in skipped else k for k in enc.refs]
            value = decode_value(enc.json, refs, enc.arrays.__getitem__)
            record.data = encode_value(value)
        else:
            record.data = rows.without(enc, skipped)  # type: ignore[union-attr]


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
