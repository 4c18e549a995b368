"""Restoring, second half: build live objects from records, in dependency order.

Everything that can be checked without running application code — that every
class is registered, every version readable, every reference present, every
cycle buildable — is checked before the first ``restore_snapshot`` call, so a
bad file fails before it can touch the session.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import CorruptFileError, RestoreError, SessionError, UnknownClassError, VersionError
from .display import MAX_ROWS, Summary, Table
from .graph import closure, dependency_components, owners
from .records import SESSION_KEY, ObjectKey, SessionHeader
from .snapshot_methods import ClassInfo, SnapshotMethodsTable
from .state import fill_state, slots_of

__all__ = ["RecordSource", "RestoreReport", "rebuild"]

_CLASS_NAME = operator.attrgetter("class_name")


class RecordSource(Protocol):
    """What a backend offers the rebuilder: an index first, object data on demand.

    A source may also offer ``load_many(keys, resolve)``, yielding ``load``'s
    result for each key in order, and ``closure(roots)``, every key reachable
    from ``roots`` (all checked to exist), when it can do these faster in bulk.
    What ``load`` returns belongs to this restore: a dict snapshot may become the
    object's ``__dict__`` as it is, so a source must not hand out one dict twice.
    """

    header: SessionHeader

    def keys(self) -> Iterable[ObjectKey]: ...
    def version(self, key: ObjectKey) -> int | None: ...
    def refs(self, key: ObjectKey) -> Sequence[ObjectKey]: ...
    def load(self, key: ObjectKey, resolve: Callable[[ObjectKey], Any]) -> Any: ...
    def location(self, key: ObjectKey) -> str: ...


@dataclass(slots=True)
class RestoreReport:
    """What a restore did: managers installed, objects restored, objects skipped and why."""

    managers: list[str] = field(default_factory=list)
    restored: list[ObjectKey] = field(default_factory=list)
    skipped: list[tuple[ObjectKey, str]] = field(default_factory=list)
    metadata_only: bool = False

    @property
    def ok(self) -> bool:
        return not self.skipped

    def __str__(self) -> str:
        if self.metadata_only:
            return "restored metadata only"
        text = f"restored {len(self.restored)} objects in {len(self.managers)} managers"
        if self.skipped:
            shown = self.skipped[:MAX_ROWS]
            lines = "".join(f"\n  skipped {k}: {why}" for k, why in shown)
            more = len(self.skipped) - len(shown)
            tail = f"\n  ... and {more} more (report.skipped lists them all)" if more else ""
            text += f", skipped {len(self.skipped)}:{lines}{tail}"
        return text

    def summary(self) -> Summary:
        """What the repr and the notebook display show: counts, and skips by class."""
        title = "RestoreReport: " + str(self).split("\n", 1)[0].rstrip(":")
        facts = [] if self.metadata_only else [("managers", ", ".join(self.managers) or "none")]
        tables = []
        if self.skipped:
            by_class: dict[str, list[str]] = {}
            for key, why in self.skipped:
                by_class.setdefault(key.class_name, []).append(why)
            tables.append(Table("skipped, by class", ("class", "objects", "first reason"),
                                [(name, str(len(whys)), _line(whys[0]))
                                 for name, whys in by_class.items()]))
        return Summary(title, facts, tables)

    def __repr__(self) -> str:
        return self.summary().text()

    def _repr_html_(self) -> str:
        return self.summary().html()


def _line(text: str, width: int = 120) -> str:
    first = text.splitlines()[0] if text else ""
    return first if len(first) <= width else first[:width - 3] + "..."


class _Rebuild:
    def __init__(self, session: Any, source: RecordSource, table: SnapshotMethodsTable,
                 strict: bool) -> None:
        self.session = session
        self.source = source
        self.table = table
        self.strict = strict
        self.objects: dict[ObjectKey, Any] = {SESSION_KEY: session}
        self.skipped: dict[ObjectKey, str] = {}
        self.upgrades: dict[ObjectKey, int] = {}  # key -> saved version, when older
        self.by_name: dict[str, ClassInfo | None] = {}
        self.known: set[ObjectKey] | None = None  # every key, for the generic closure

    def edges(self, key: ObjectKey) -> Sequence[ObjectKey]:
        targets = self.source.refs(key)
        if self.known is None:
            self.known = set(self.source.keys())
        if self.known.issuperset(targets):  # the common case, tested at C speed
            return targets
        for target in targets:
            if target not in self.known:
                raise CorruptFileError(
                    f"{self.where(key)} refers to {target}, which is not in the file"
                )
        return targets

    def where(self, key: ObjectKey) -> str:
        return f"{key} at {self.source.location(key)}"

    def skip(self, key: ObjectKey, error: RestoreError) -> None:
        if self.strict:
            raise error
        self.skipped[key] = str(error)

    def class_info(self, name: str) -> ClassInfo | None:
        """The class registered under ``name``, looked up once per class, not per object."""
        try:
            return self.by_name[name]
        except KeyError:
            info = self.by_name[name] = self.table.for_name(name)
            return info

    def info(self, key: ObjectKey) -> ClassInfo:
        """The class of a key that passed check()."""
        return self.by_name[key.class_name]  # type: ignore[return-value]

    def check(self, keys: list[ObjectKey]) -> None:
        """Class, version and cycle checks for every needed object, before any restore."""
        version_of, by_name = self.source.version, self.by_name
        unknown: dict[str, list[ObjectKey]] = {}
        for key in keys:
            info = by_name.get(key.class_name) or self.class_info(key.class_name)
            if info is None:
                unknown.setdefault(key.class_name, []).append(key)
                continue
            version = version_of(key)
            if version is not None and version != info.version:
                if version > info.version:
                    self.skip(key, VersionError(
                        f"{self.where(key)}: saved by {key.class_name} version {version}, but "
                        f"this process has version {info.version}; upgrade the application"))
                    continue
                self.upgrades[key] = version
        if unknown:
            error = UnknownClassError(self.unknown_classes(unknown))
            for found in unknown.values():
                for key in found:
                    self.skip(key, error)

    def unknown_classes(self, unknown: dict[str, list[ObjectKey]]) -> str:
        """One message naming every unregistered class: its objects, tags and first place."""
        tags = owners(self.source.header.managers, self.source.refs)
        parts = []
        for name, found in unknown.items():
            under = ", ".join(repr(t) for t in dict.fromkeys(tags.get(k, "?") for k in found))
            noun = "object" if len(found) == 1 else "objects"
            parts.append(f"class {name!r}" + (" is not registered in this process"
                                               if len(unknown) == 1 else "")
                         + f" ({len(found)} {noun} under {under}; the first is "
                           f"{self.where(found[0])})")
        text = "; ".join(parts) + "; import the module that defines it"
        if len(parts) > 1:
            text = (f"{len(parts)} classes of the file are not registered in this process: "
                    + "; ".join(parts) + "; import the modules that define them")
        text += " (or register snapshot methods) before restoring"
        script = next((n for n in unknown if n.startswith("__main__.")), None)
        if script is not None:
            short = script.rsplit(".", 1)[-1]
            text += (f". Classes defined in a script are saved as '__main__.<name>'; to "
                     f"restore them where the class is defined elsewhere, give it its saved "
                     f"name as an alias: class {short}(State): SESSION_ALIASES = "
                     f"({script!r},)")
        return text

    def split(self, needed: list[ObjectKey]) -> tuple[list[ObjectKey], list[ObjectKey]]:
        """Objects that must be built in dependency order, and those that need no order.

        An object with its own restore_snapshot runs application code that may
        look at what it refers to, so it and everything it reaches are built in
        dependency order. Every other object restores with State's default (the
        dict set, no code run), so those are created and filled in bulk
        afterwards: no topological sort and no per-object call for 100k objects.
        A non-strict restore keeps the ordered build for everything, so that an
        object skipped on failure is None, never half-built, in those after it.
        """
        if not self.strict:
            return needed, []
        custom_names = {n for n, info in self.by_name.items()
                        if info is not None and not info.two_phase}
        if not custom_names:
            return [], needed
        custom = [k for k in needed if k.class_name in custom_names]
        ordered = closure(custom, self.source.refs) if custom else []
        if not ordered:
            return [], needed
        first = set(ordered)
        return ordered, [k for k in needed if k not in first]

    def build_bulk(self, keys: list[ObjectKey]) -> None:
        """Create every object empty, then set each one's dict (State's default restore)."""
        by_name, upgrades = self.by_name, self.upgrades
        created: list[Any] = []
        blank: set[type] = set()  # classes whose new instances have nothing in their dict
        for name, run in itertools.groupby(keys, key=_CLASS_NAME):  # runs of one class
            cls = by_name[name].cls  # type: ignore[union-attr]  # checked: registered
            created.extend(map(cls.__new__, itertools.repeat(cls, sum(1 for _ in run))))
            if (cls.__new__ is object.__new__ and cls.__setattr__ is object.__setattr__
                    and not slots_of(cls)):
                blank.add(cls)
        self.objects.update(zip(keys, created, strict=True))
        load_many = getattr(self.source, "load_many", None)
        loaded = (load_many(keys, self.objects.get) if load_many is not None
                  else (self.source.load(k, self.objects.get) for k in keys))
        done = 0
        try:
            for obj, data in zip(created, loaded, strict=True):
                if upgrades and keys[done] in upgrades:
                    data = self.upgrade(keys[done], data)  # may be shared: copied below
                elif type(data) is dict and type(obj) in blank:
                    # A fresh dict nobody else holds, for an empty instance: adopt it
                    # rather than copy it (a second dict per object at 100k objects).
                    obj.__dict__ = data
                    done += 1
                    continue
                if not isinstance(data, dict):
                    raise CorruptFileError(f"{self.where(keys[done])}: expected a dict "
                                           f"snapshot, got {type(data).__name__}")
                fill_state(obj, data)
                done += 1
        except SessionError as exc:
            exc.add_note(f"while restoring {self.path(keys[done])}")
            raise
        except Exception as exc:  # an upgrade function failed; report where
            raise RestoreError(f"restoring {self.path(keys[done])} failed: "
                               f"{type(exc).__name__}: {exc}") from exc

    def data(self, key: ObjectKey) -> Any:
        # objects.get resolves references: a built-in method, so sources that map it
        # over 300k references run no Python frame per reference.
        data = self.source.load(key, self.objects.get)
        return self.upgrade(key, data) if key in self.upgrades else data

    def upgrade(self, key: ObjectKey, data: Any) -> Any:
        """Run the class's upgrade steps from the saved version to the current one."""
        version = self.upgrades[key]
        info = self.info(key)
        while version < info.version:
            step = info.upgrades.get(version)
            if step is not None:
                data = step(data)
            version += 1
        return data

    def build(self, component: list[ObjectKey]) -> None:
        if any(k in self.skipped for k in component):
            for key in component:
                self.skipped.setdefault(key, "part of a cycle with a skipped object")
            return
        cyclic = len(component) > 1 or component[0] in self.source.refs(component[0])
        try:
            if cyclic:
                self.build_cycle(component)
            else:
                key = component[0]
                self.objects[key] = self.info(key).restore(self.session, self.data(key))
        except SessionError as exc:
            exc.add_note(f"while restoring {self.path(component[0])}")
            self.fail(component, exc)
        except Exception as exc:  # application code failed; report where, keep the cause
            error = RestoreError(f"restoring {self.path(component[0])} failed: "
                                 f"{type(exc).__name__}: {exc}")
            error.__cause__ = exc
            self.fail(component, error)

    def fail(self, component: list[ObjectKey], error: Exception) -> None:
        if self.strict or not isinstance(error, RestoreError):
            raise error
        for key in component:
            self.objects.pop(key, None)
            self.skipped[key] = str(error)

    def build_cycle(self, component: list[ObjectKey]) -> None:
        """Two phases: create every member empty, then fill each one's dictionary."""
        for key in component:
            info = self.info(key)
            if not info.two_phase:
                raise RestoreError(
                    f"{self.where(key)} is in a reference cycle, but {key.class_name} restores "
                    "with its own restore_snapshot, so the cycle cannot be built")
            self.objects[key] = info.cls.__new__(info.cls)
        for key in component:
            data = self.data(key)
            if not isinstance(data, dict):
                raise CorruptFileError(f"{self.where(key)}: expected a dict snapshot, "
                                       f"got {type(data).__name__}")
            fill_state(self.objects[key], data)

    def path(self, key: ObjectKey) -> str:
        tags = owners(self.source.header.managers, self.source.refs)
        return f"{tags.get(key, '?')} -> {self.where(key)}"


def rebuild(
    session: Any, source: RecordSource, table: SnapshotMethodsTable, *,
    tags: Sequence[str] | None = None, strict: bool = True,
) -> tuple[dict[ObjectKey, Any], RestoreReport]:
    """Restore the managers ``tags`` (all by default) and every object they reach."""
    managers = source.header.managers
    tags = list(managers) if tags is None else list(tags)
    missing = [t for t in tags if t not in managers]
    if missing:
        raise RestoreError(f"the file has no state manager {missing[0]!r}; it has {list(managers)}")
    work = _Rebuild(session, source, table, strict)
    roots = [managers[t] for t in tags]
    fast_closure = getattr(source, "closure", None)  # optional, like load_many
    needed = fast_closure(roots) if fast_closure is not None else closure(roots, work.edges)
    expect = getattr(source, "expect", None)  # optional: sources that report progress
    if expect is not None:
        expect(needed)
    work.check(needed)
    ordered, bulk = work.split(needed)
    for component in dependency_components(ordered, source.refs):
        work.build(component)
    work.build_bulk(bulk)
    report = RestoreReport(
        managers=[t for t in tags if managers[t] not in work.skipped],
        restored=[k for k in needed if k in work.objects] if work.skipped else needed,
        skipped=list(work.skipped.items()),
    )
    return work.objects, report

