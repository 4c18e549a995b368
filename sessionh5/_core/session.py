"""Session: the application's state managers, their registration, save and restore."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Literal

from .._engine.gc import gc_paused
from .._engine.rebuild import RestoreReport, rebuild
from .._engine.snapshot_methods import SnapshotMethodsTable
from .._engine.state import State, StateManager
from .._engine.walk import walk_session
from ..errors import CorruptFileError, RestoreError, UsageError, VersionError, _name_file
from .aliases import UserAliases
from .metadata import standard_metadata
from .models import Models
from .session_log import SessionLogger
from .triggers import TriggerSet, bracket
from .view import View

__all__ = ["Session"]

SESSION_TRIGGERS = ("begin save session", "end save session",
                    "begin restore session", "end restore session")
Compress = Literal["lz4", "gzip"] | None
Progress = Callable[[int, int], None]


class Session:
    """All of one application's saved state; several may live in one process.

    Assigning a public attribute to a StateManager (or to an object whose class has
    snapshot methods registered with this session) registers it as a state manager
    under the attribute name; deleting the attribute unregisters it.
    """

    def __init__(self, app_name: str, *, debug: bool = False, silent: bool = False,
                 minimal: bool = False, offscreen_rendering: bool = False) -> None:
        init = object.__setattr__
        init(self, "_managers", {})
        init(self, "_attr_tags", set())
        init(self, "_snapshot_methods", SnapshotMethodsTable())
        self.app_name = app_name
        self.debug = debug
        self.silent = silent
        self.minimal = minimal
        self.offscreen_rendering = offscreen_rendering
        self.metadata: dict[str, Any] = {}
        self.restore_options: dict[str, Any] = {}
        self.triggers = TriggerSet()
        for name in SESSION_TRIGGERS:
            self.triggers.add_trigger(name)
        self.logger = SessionLogger(silent=silent)
        if not minimal:
            self.models = Models(self)
            self.main_view = View(self)
            self.user_aliases = UserAliases()

    def __repr__(self) -> str:
        return (f"<sessionh5.Session {self.app_name!r}: managers "
                f"{', '.join(self._managers) or '(none)'}>")

    # registration ---------------------------------------------------------------
    def _is_manager(self, value: Any) -> bool:
        return isinstance(value, StateManager) or (
            not isinstance(value, State) and self._snapshot_methods.for_object(value) is not None
            and not isinstance(value, type))

    def __setattr__(self, name: str, value: Any) -> None:
        if not name.startswith("_"):
            if self._is_manager(value):
                self._managers[name] = value
                self._attr_tags.add(name)
            elif name in self._attr_tags:
                self._attr_tags.discard(name)
                self._managers.pop(name, None)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        object.__delattr__(self, name)
        if name in self._attr_tags:
            self._attr_tags.discard(name)
            self._managers.pop(name, None)

    def add_state_manager(self, tag: str, obj: Any) -> None:
        """Register ``obj`` under ``tag`` without making it an attribute."""
        if not isinstance(tag, str) or not tag or "\x00" in tag:
            raise UsageError(
                f"a state manager tag must be a non-empty string without NUL, got {tag!r}")
        if not self._is_manager(obj):
            raise UsageError(
                f"{type(obj).__qualname__} is not a StateManager and has no snapshot methods "
                "registered with this session")
        self._managers[tag] = obj

    def get_state_manager(self, tag: str) -> Any:
        """The manager registered under ``tag``.

        Raises:
            KeyError: no manager is registered under ``tag`` (as in the reference
                implementation, so a misspelt tag does not pass silently).
        """
        try:
            return self._managers[tag]
        except KeyError:
            raise KeyError(f"no state manager is registered under {tag!r}; the tags are "
                           f"{list(self._managers)}") from None

    def remove_state_manager(self, tag: str) -> None:
        """Unregister ``tag`` (and drop the attribute when it was one)."""
        if tag not in self._managers:
            raise UsageError(f"no state manager is registered under {tag!r}")
        del self._managers[tag]
        if tag in self._attr_tags:
            self._attr_tags.discard(tag)
            object.__delattr__(self, tag)

    def state_managers(self, cls: type) -> list[Any]:
        """Registered managers that are instances of ``cls``, in registration order."""
        return [m for m in self._managers.values() if isinstance(m, cls)]

    @property
    def state_manager_tags(self) -> list[str]:
        """Tags in registration (= save) order."""
        return list(self._managers)

    def register_snapshot_methods(self, methods: Mapping[type, Any]) -> None:
        """Save instances of classes that cannot inherit State: ``{cls: Methods}``.

        ``Methods`` has three static methods: ``take_snapshot(obj, session, flags)``
        returns the object's state as data a snapshot may hold, ``restore_snapshot(session,
        data)`` builds the object from it, ``reset_state(obj, session)`` empties a state
        manager. Optional ``SESSION_NAME``, ``SESSION_VERSION``, ``SESSION_UPGRADES`` and
        ``SESSION_ALIASES`` work as on State. Subclasses of ``cls`` use the same methods.
        The registration is this session's only: register the same methods in the
        session that restores (README, "Saving classes you do not own").

        Raises:
            UsageError: a key is not a class, or ``Methods`` lacks one of the three.
        """
        self._snapshot_methods.register(methods)

    def snapshot_methods(self, obj: Any, instance: bool = True,
                         base_type: type = State) -> Any:
        """An object with take_snapshot/restore_snapshot/reset_state for ``obj``, or None."""
        cls = type(obj) if instance else obj
        if isinstance(cls, type) and issubclass(cls, base_type):
            return obj if instance else cls
        info = self._snapshot_methods.for_type(cls) if isinstance(cls, type) else None
        return None if info is None else info.methods

    # reset, save, restore ---------------------------------------------------------
    def reset(self) -> None:
        """Back to a data-less state: metadata cleared, every manager reset."""
        self.metadata.clear()
        for obj in list(self._managers.values()):
            methods = self.snapshot_methods(obj)
            if methods is obj:
                obj.reset_state(self)
            elif methods is not None:
                methods.reset_state(obj, self)

    def save(self, stream: IO[bytes] | str | os.PathLike[str], version: int = 3,
             include_maps: bool = False, *, compress: Compress = "lz4",
             format: Literal["hdf5", "stream"] | None = None,
             progress: Progress | None = None,
             storage_options: Mapping[str, Any] | None = None) -> Path | str | None:
        """Write the session to a writable binary stream, or to a path as sessionh5.save does.

        A path (or URL) gets the same rules as :func:`sessionh5.save`: crash-safe, ``.h5s``
        added when it has no suffix (``.cxs`` with ``format="stream"``), the container
        chosen by ``format`` or else by the suffix (``.cxs``: stream). Returns the path
        written, or None for a stream (HDF5 unless ``format="stream"``).
        """
        if isinstance(stream, (str, os.PathLike)):
            from .._containers.files import save

            return save(self, stream, version, compress, include_maps, format=format,
                        progress=progress, storage_options=storage_options)
        self._save(stream, version, include_maps, compress=compress, format=format or "hdf5",
                   progress=progress)
        return None

    def _save(self, target: Any, version: int, include_maps: bool, *, compress: Compress,
              format: str, progress: Progress | None) -> None:
        """Save to a stream or a path (module-level save passes a temporary path)."""
        from .._containers.backends import row_format, write_backend

        if version != 3:
            raise UsageError(f"session version {version} cannot be written; only 3 is")
        with bracket(self.triggers, "begin save session", "end save session"), gc_paused():
            flags = State.SESSION | (State.INCLUDE_MAPS if include_maps else 0)
            metadata = standard_metadata(self.metadata, app_name=self.app_name)
            saved = self._walk(flags, metadata, rows=row_format(format))
            write_backend(target, saved, format=format, compress=compress, progress=progress)
            self.metadata = metadata

    def _walk(self, flags: int, metadata: dict[str, Any], *, rows: Any = None) -> Any:
        from .._engine.records import SessionHeader

        managers = {t: m for t, m in self._managers.items() if _included(m)}
        header = SessionHeader(self.app_name, 3, metadata)
        return walk_session(self, managers, self._attr_tags, flags, self._snapshot_methods,
                            header, rows=rows)

    def restore(self, stream: IO[bytes] | str | os.PathLike[str], path: str | None = None,
                resize_window: bool | None = None, restore_camera: bool = True,
                clear_log: bool = True, metadata_only: bool = False, combine: bool = False,
                *, managers: list[str] | None = None, strict: bool = True,
                progress: Progress | None = None,
                storage_options: Mapping[str, Any] | None = None) -> RestoreReport:
        """Read a session written by :meth:`save` (HDF5 or stream, detected from the bytes).

        ``stream`` is a readable, seekable binary file, a path or a URL
        (``s3://bucket/key.h5s``, ``https://...``); ``storage_options`` go to fsspec for a
        URL. ``managers`` restores only those tags (and what they refer to), keeping the
        session's other managers; ``combine`` adds the file's managers to the session's.
        The session's metadata becomes the file's, for a partial restore too (it describes
        the file the managers came from), but not with ``combine``. On any failure the
        session is left exactly as it was.

        Raises:
            RestoreError: the file cannot be restored (a subclass says why: CorruptFileError,
                UnknownClassError, VersionError); the message starts with the file's name.
            FileNotFoundError: the path does not exist (an OSError, as ``open`` raises).
            UsageError: a bad argument (an unreadable stream object, a URL without fsspec).
        """
        from .._containers.remote import is_url

        if isinstance(stream, (str, os.PathLike)) and not is_url(stream) \
                and not os.path.exists(stream):
            raise _missing_file(stream)
        try:
            return self._restore(stream, path, resize_window, restore_camera, clear_log,
                                 metadata_only, combine, managers, strict, progress,
                                 storage_options)
        except RestoreError as exc:
            _name_file(exc, _file_name(stream))
            raise

    def _restore(self, stream: Any, path: str | None, resize_window: bool | None,
                 restore_camera: bool, clear_log: bool, metadata_only: bool, combine: bool,
                 managers: list[str] | None, strict: bool, progress: Progress | None,
                 storage_options: Mapping[str, Any] | None) -> RestoreReport:
        from .._containers.backends import open_backend

        with bracket(self.triggers, "begin restore session", "end restore session"), \
                gc_paused(), \
                open_backend(stream, metadata_only=metadata_only, progress=progress,
                             storage_options=storage_options, live=True) as source:
            header = source.header
            if header.session_version != 3:
                raise VersionError(f"session version {header.session_version} cannot be "
                                   "read; this library reads version 3")
            if metadata_only:
                self.metadata = {**header.metadata, "session_version": header.session_version}
                return RestoreReport(metadata_only=True)
            options = {"path": path, "resize_window": resize_window, "combine": combine,
                       "restore_camera": restore_camera, "clear_log": clear_log}
            with self._transaction(), self._options(options):
                objects, report = rebuild(self, source, self._snapshot_methods, tags=managers,
                                          strict=strict)
                self._install(source.header, objects, report,
                              replace_all=not combine and managers is None,
                              metadata=not combine)
            return report

    @contextmanager
    def _options(self, options: dict[str, Any]) -> Iterator[None]:
        self.restore_options = options
        try:
            yield
        finally:
            self.restore_options = {}

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """Put managers, attributes and metadata back if the body fails."""
        managers = dict(self._managers)
        attr_tags = set(self._attr_tags)
        metadata = self.metadata
        try:
            yield
        except BaseException:
            for tag in set(self._attr_tags) - attr_tags:
                object.__delattr__(self, tag)
            for tag in attr_tags:
                object.__setattr__(self, tag, managers[tag])
            object.__setattr__(self, "_managers", managers)
            object.__setattr__(self, "_attr_tags", attr_tags)
            self.metadata = metadata
            raise

    def _may_become_attribute(self, tag: str) -> bool:
        """Whether a restored manager may be set as ``session.<tag>``.

        A file names its tags, so it must never replace the session's own attributes
        or methods (``restore``, ``triggers``, ``_managers``; issue 5): such a tag is
        registered as a plain manager instead.
        """
        return (tag.isidentifier() and not tag.startswith("_")
                and (tag in self._attr_tags or not hasattr(self, tag)))

    def _install(self, header: Any, objects: dict, report: RestoreReport,
                 replace_all: bool, metadata: bool) -> None:
        """Register the restored managers; ``replace_all`` resets the others, ``metadata``
        (every restore but ``combine``, a partial one too) takes the file's metadata."""
        for tag in report.managers:
            obj = objects[header.managers[tag]]
            if not self._is_manager(obj):
                raise CorruptFileError(
                    f"the file's state manager {tag!r} restored as a {type(obj).__name__}, "
                    "which is not a StateManager (and has no snapshot methods registered)")
            if header.attr_info.get(tag) and self._may_become_attribute(tag):
                setattr(self, tag, obj)
            else:
                self.add_state_manager(tag, obj)
        if replace_all:
            for tag, obj in list(self._managers.items()):
                if tag not in report.managers:
                    methods = self.snapshot_methods(obj)
                    if methods is obj:
                        obj.reset_state(self)
                    elif methods is not None:
                        methods.reset_state(obj, self)
        if metadata:
            self.metadata = {**header.metadata, "session_version": header.session_version}


def _file_name(source: Any) -> str | None:
    """The path, or a file object's name, for messages."""
    name = source if isinstance(source, (str, os.PathLike)) else getattr(source, "name", None)
    return os.fsdecode(name) if isinstance(name, (str, bytes, os.PathLike)) else None


def _missing_file(path: str | os.PathLike[str]) -> FileNotFoundError:
    """open()'s error, with a hint when the path lacks the suffix that save added."""
    text = os.fsdecode(path)
    found = [text + s for s in (".h5s", ".cxs") if not Path(text).suffix
             and os.path.exists(text + s)]
    hint = f"; did you mean {found[0]!r} (save adds the suffix)?" if found else ""
    return FileNotFoundError(errno.ENOENT, f"No such file or directory{hint}", text)


def _included(manager: Any) -> bool:
    include = getattr(manager, "include_state", None)
    return bool(include()) if callable(include) else True
