"""``diff``: what differs between two session files, object by object, without their classes.

Both files are read as records (plain data with ObjectKey references, see
:mod:`sessionh5._records`), so sessions of any application compare, in either
container: an HDF5 file and the stream of the same session are equal. Objects are
matched by key (class and ordinal); a reference compares equal when it names the
same key. Arrays compare by shape, dtype and then bit for bit, a bounded block of
rows at a time (HDF5 arrays are read from the file block by block), so comparing
files of many GB needs little memory.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from .._containers._stream.source import StreamSource
from .._containers.backends import OTHER_BYTES, detect_container, not_a_session
from .._containers.remote import Source, StorageOptions, is_url, open_source
from .._engine.display import Summary, Table
from .._engine.records import ObjectKey, SessionHeader
from ..errors import SessionError, _name_file
from .changes import Changes, ValueChange
from .info import first_bytes

__all__ = ["ObjectChange", "SessionDiff", "ValueChange", "diff"]

#: Metadata every save rewrites: left out of a comparison unless asked for.
VOLATILE = ("modified", "session_version")


@dataclass(frozen=True, slots=True)
class ObjectChange:
    """An object present in both files whose saved data differs."""

    key: str
    changes: tuple[ValueChange, ...]
    more: int = 0  # further changes not listed (past MAX_CHANGES)


@dataclass(frozen=True, slots=True)
class SessionDiff:
    """The differences between sessions ``a`` and ``b``; its repr is ``sessionh5 diff``'s output.

    ``equal`` is True when nothing differs (the command then exits 0, else 1).
    """

    a: str | None
    b: str | None
    header: tuple[ValueChange, ...] = ()
    managers_added: tuple[str, ...] = ()
    managers_removed: tuple[str, ...] = ()
    objects_added: tuple[str, ...] = ()
    objects_removed: tuple[str, ...] = ()
    objects_changed: tuple[ObjectChange, ...] = ()

    @property
    def equal(self) -> bool:
        return not (self.header or self.managers_added or self.managers_removed
                    or self.objects_added or self.objects_removed or self.objects_changed)

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {"equal": self.equal, **_lists(asdict(self))}

    def __repr__(self) -> str:
        return "\n".join(_display_lines(self))

    __str__ = __repr__

    def summary(self) -> str:
        """Counts only: what was added, removed and changed, changed objects per class."""
        lines = [f"--- {self.a or '(first)'}", f"+++ {self.b or '(second)'}"]
        per_class: dict[str, int] = {}
        for change in self.objects_changed:
            name = change.key.strip("<>").rsplit(",", 1)[0].rsplit(".", 1)[-1]
            per_class[name] = per_class.get(name, 0) + 1
        if per_class:
            lines.append("changed objects by class: "
                         + ", ".join(f"{name} {n}" for name, n in per_class.items()))
        return "\n".join([*lines, _summary(self)])

    def _repr_html_(self) -> str:
        rows = [tuple(line.strip().split(" ", 1)) if line.strip()[:1] in "+-~" else
                ("", line.strip()) for line in _display_lines(self)[2:-1]]
        table = Table("differences", ("", "what"), [r if len(r) == 2 else (r[0], "")
                                                      for r in rows])
        facts = [("first", self.a or "(first)"), ("second", self.b or "(second)")]
        return Summary(f"SessionDiff: {_summary(self)}", facts,
                       [table] if rows else []).html()


def diff(a: Source, b: Source, *, ignore_metadata: Iterable[str] = (),
         compare_volatile: bool = False, storage_options: StorageOptions = None
         ) -> SessionDiff:
    """Compare two session files (paths, URLs or readable binary files) object by object.

    ``ignore_metadata`` names metadata keys left out of the comparison, e.g.
    ``("created",)`` to compare two sessions saved apart. The keys every save
    changes (VOLATILE: ``modified``, ``session_version``) are left out unless
    ``compare_volatile``, so a session saved, restored and saved again is equal.
    ``storage_options`` go to fsspec for whichever of ``a`` and ``b`` is a URL.

    Raises:
        CorruptFileError: a file is not a session file or is damaged.
    """
    ignored = set(ignore_metadata) | (set() if compare_volatile else set(VOLATILE))
    with _open_records(a, storage_options) as left, \
            _open_records(b, storage_options) as right:
        header = _header_changes(left.header, right.header, ignored)
        tags_a, tags_b = left.header.managers, right.header.managers
        keys_a, keys_b = list(left.keys()), list(right.keys())
        in_b, in_a = set(keys_b), set(keys_a)
        changed = [c for key in keys_a if key in in_b
                   if (c := _object_change(left, right, key)) is not None]
        return SessionDiff(
            _name(a), _name(b), header,
            managers_added=tuple(t for t in tags_b if t not in tags_a),
            managers_removed=tuple(t for t in tags_a if t not in tags_b),
            objects_added=tuple(str(k) for k in keys_b if k not in in_a),
            objects_removed=tuple(str(k) for k in keys_a if k not in in_b),
            objects_changed=tuple(changed))


def _options_for(source: Source, storage_options: StorageOptions) -> Any:
    """Open ``source``: the storage options go to it only when it is a URL."""
    return open_source(source, storage_options if is_url(source) else None)


def _name(source: Source) -> str | None:
    name = source if isinstance(source, (str, os.PathLike)) else getattr(source, "name", None)
    return os.fsdecode(name) if isinstance(name, (str, bytes, os.PathLike)) else None


@contextmanager
def _open_records(source: Source, storage_options: StorageOptions) -> Iterator[Any]:
    """A RecordSource whose HDF5 arrays stay in the file until compared."""
    with ExitStack() as stack:
        with _naming(source):  # errors while opening name the file
            stream = stack.enter_context(_options_for(source, storage_options))
            kind = detect_container(first_bytes(stream))
            if kind == "hdf5":
                from .._containers._hdf5.lazy import open_lazy

                records = stack.enter_context(open_lazy(stream))
            elif kind == "stream":
                from .._containers._stream import read_stream

                records = StreamSource(read_stream(stream))  # type: ignore[arg-type]
            else:
                raise not_a_session(OTHER_BYTES)
        yield records


@contextmanager
def _naming(source: Source) -> Iterator[None]:
    try:
        yield
    except SessionError as exc:
        _name_file(exc, _name(source))
        raise


def _header_changes(a: SessionHeader, b: SessionHeader, ignored: set[str]
                    ) -> tuple[ValueChange, ...]:
    out = Changes()
    out.compare(a.app_name, b.app_name, "application")
    out.compare(a.session_version, b.session_version, "session version")
    meta_a = {k: v for k, v in a.metadata.items() if k not in ignored}
    meta_b = {k: v for k, v in b.metadata.items() if k not in ignored}
    out.compare(meta_a, meta_b, "metadata")
    for tag in a.managers.keys() & b.managers.keys():
        out.compare(a.managers[tag], b.managers[tag], f"manager {tag!r}")
    return tuple(out.items)


def _object_change(left: Any, right: Any, key: ObjectKey) -> ObjectChange | None:
    out = Changes()
    version_a, version_b = left.version(key), right.version(key)
    if None not in (version_a, version_b) and version_a != version_b:
        out.add("class version", "changed", f"{version_a} -> {version_b}")
    out.compare(left.load(key, _itself), right.load(key, _itself), "")
    if not out.items:
        return None
    return ObjectChange(str(key), tuple(out.items), out.more)


def _itself(key: ObjectKey) -> ObjectKey:
    """References stay ObjectKeys: two references are equal when they name the same key."""
    return key


def _lists(value: Any) -> Any:
    """asdict keeps tuples; JSON data has lists."""
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    return value


def _display_lines(d: SessionDiff) -> list[str]:
    lines = [f"--- {d.a or '(first)'}", f"+++ {d.b or '(second)'}"]
    lines += [c.line() for c in d.header]
    lines += [f"+ manager {t!r}" for t in d.managers_added]
    lines += [f"- manager {t!r}" for t in d.managers_removed]
    lines += [f"+ object {k}" for k in d.objects_added]
    lines += [f"- object {k}" for k in d.objects_removed]
    for change in d.objects_changed:
        lines.append(f"~ object {change.key}")
        lines += [f"    {c.line()}" for c in change.changes]
        if change.more:
            lines.append(f"    ... and {change.more} more changes")
    lines.append(_summary(d))
    return lines


def _summary(d: SessionDiff) -> str:
    if d.equal:
        return "the sessions are equal"
    parts = [(len(d.header), "header/metadata"),
             (len(d.managers_added) + len(d.managers_removed), "managers added/removed"),
             (len(d.objects_added), "objects added"), (len(d.objects_removed), "objects removed"),
             (len(d.objects_changed), "objects changed")]
    return "the sessions differ: " + ", ".join(f"{n} {what}" for n, what in parts if n)
