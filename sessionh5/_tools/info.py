"""``info``: what a session file holds, read without loading the session.

Only root attributes and node attributes are read (plus dataset headers for sizes),
never array data, so ``info`` stays fast on a file of many GB and on a remote file.
A stream file is read in the stream reader's metadata-only mode; its object counts
would need the whole stream, so they are left unknown (None).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import IO, Any, Literal

from .._containers.backends import OTHER_BYTES, detect_container, not_a_session
from .._containers.remote import Source, StorageOptions, open_source
from .._engine.display import Summary, Table
from .._engine.records import ObjectKey
from ..errors import UsageError

__all__ = ["ManagerInfo", "SessionInfo", "filter_plugin_path", "first_bytes", "format_bytes",
           "info"]


@dataclass(frozen=True, slots=True)
class ManagerInfo:
    """One saved state manager: its tag, and how many objects are stored under it.

    ``objects`` counts the objects stored under the tag (the manager itself not
    included); ``classes`` splits that count by class name, in file order.
    Both are None when the container cannot tell without reading everything.
    ``holds`` describes the manager's own state ("messages: 4 items"): a logger or an
    alias table holds its data itself, not in objects.
    """

    tag: str
    objects: int | None = None
    classes: tuple[tuple[str, int], ...] | None = None
    holds: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        classes = None if self.classes is None else dict(self.classes)
        return {"tag": self.tag, "objects": self.objects, "classes": classes,
                "holds": self.holds}


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A session file at a glance; its repr is the display of ``sessionh5 info``."""

    container: Literal["hdf5", "stream"]
    layout_version: int | None
    session_version: int
    app_name: str
    metadata: Mapping[str, Any] = field(compare=False, hash=False)
    file_size: int | None
    raw_array_bytes: int | None
    stored_array_bytes: int | None
    filters_needed: tuple[str, ...]
    managers: tuple[ManagerInfo, ...]
    name: str | None = None

    @property
    def compression_ratio(self) -> float | None:
        """Raw array bytes over stored array bytes; None when there are no arrays."""
        if not self.raw_array_bytes or not self.stored_array_bytes:
            return None
        return self.raw_array_bytes / self.stored_array_bytes

    @property
    def object_count(self) -> int | None:
        """Objects in all managers, or None when any count is unknown."""
        counts = [m.objects for m in self.managers]
        return None if None in counts else sum(c for c in counts if c is not None)

    def to_json(self) -> dict[str, Any]:
        """Plain, JSON-serialisable data (bytes metadata shown as a size)."""
        return {
            "file": self.name,
            "container": self.container,
            "layout_version": self.layout_version,
            "session_version": self.session_version,
            "app_name": self.app_name,
            "metadata": {k: _json_value(v) for k, v in self.metadata.items()},
            "file_size": self.file_size,
            "raw_array_bytes": self.raw_array_bytes,
            "stored_array_bytes": self.stored_array_bytes,
            "compression_ratio": self.compression_ratio,
            "filters_needed": list(self.filters_needed),
            "managers": [m.to_json() for m in self.managers],
        }

    def __repr__(self) -> str:
        return "\n".join(_display_lines(self))

    __str__ = __repr__

    def _repr_html_(self) -> str:
        facts = _facts(self)
        metadata = Table("metadata", ("key", "value"),
                         [(k, str(_json_value(v))) for k, v in self.metadata.items()])
        managers = Table("managers", ("tag", "objects", "classes", "holds"),
                         [(m.tag, "?" if m.objects is None else str(m.objects),
                           ", ".join(f"{c} {n}" for c, n in m.classes or ()), m.holds or "")
                          for m in self.managers])
        return Summary(f"SessionInfo: {self.name or '(stream)'}", facts[1:],
                       [metadata, managers]).html()


def info(source: Source, *, storage_options: StorageOptions = None) -> SessionInfo:
    """Summarise a session file (a path, a URL or a readable binary file) without loading it.

    ``storage_options`` go to fsspec when ``source`` is a URL.

    Raises:
        CorruptFileError: the file is not a session file or is damaged.
        FileNotFoundError: the path (or the URL's object) does not exist.
    """
    name = _name_of(source)
    with open_source(source, storage_options) as stream:
        size = _stream_size(stream)
        kind = detect_container(first_bytes(stream))
        if kind == "hdf5":
            return _hdf5_info(stream, size, name)
        if kind == "stream":
            return _stream_info(stream, size, name)
    raise not_a_session(OTHER_BYTES)


def _name_of(source: Source) -> str | None:
    """The path, or the file object's name (open() sets it), for messages and display."""
    name = source if isinstance(source, (str, os.PathLike)) else getattr(source, "name", None)
    if isinstance(name, (str, bytes, os.PathLike)):
        return os.fsdecode(name)
    return None  # an fd number or no name at all


def first_bytes(stream: IO[bytes]) -> bytes:
    """The first 8 bytes (enough to tell the container), leaving the position unchanged."""
    start = stream.tell()
    first = stream.read(8)
    stream.seek(start)
    if not isinstance(first, bytes):
        raise UsageError("info needs a binary stream (open the file with 'rb')")
    if not first:
        raise not_a_session("the file is empty")
    return first


def _stream_size(stream: IO[bytes]) -> int | None:
    """Size by seeking to the end (no data read); None if the stream cannot tell."""
    try:
        start = stream.tell()
        size = stream.seek(0, os.SEEK_END)
        stream.seek(start)
    except (OSError, ValueError):
        return None
    return int(size) - int(start)


def _hdf5_info(stream: IO[bytes], size: int | None, name: str | None) -> SessionInfo:
    from .._containers._hdf5.files import open_hdf5
    from .._containers._hdf5.header import manager_tags, read_header
    from .._containers._hdf5.inspect import manager_state, read_root_facts, scan_nodes

    with open_hdf5(stream) as file:
        header = read_header(file)
        tags = manager_tags(file)
        facts = read_root_facts(file)
        nodes = scan_nodes(file)
        holds = {n.tag: _holdings(manager_state(file, n.path)) for n in nodes if n.is_manager}
    stored = sum(a.stored for n in nodes for a in n.arrays)
    return SessionInfo(
        container="hdf5", layout_version=facts.layout_version,
        session_version=header.session_version, app_name=header.app_name,
        metadata=MappingProxyType(dict(header.metadata)), file_size=size,
        raw_array_bytes=facts.raw_array_bytes, stored_array_bytes=stored,
        filters_needed=facts.filters_needed,
        managers=_count_managers(tags, nodes, holds), name=name)


def _count_managers(tags: list[str], nodes: list[Any], holds: dict[str | None, str]
                    ) -> tuple[ManagerInfo, ...]:
    """Objects per tag and per class from the node list (tables count their rows)."""
    per_tag: dict[str | None, dict[str, int]] = {t: {} for t in tags}
    for node in nodes:
        if node.is_manager:
            continue
        classes = per_tag.setdefault(node.tag, {})
        classes[node.class_name] = classes.get(node.class_name, 0) + node.rows
    return tuple(ManagerInfo(tag if tag is not None else "(unowned)",
                             sum(classes.values()), tuple(classes.items()), holds.get(tag))
                 for tag, classes in per_tag.items())


def _holdings(state: Any) -> str:
    """What a manager's own state holds, in a few words: 'messages: 4 items'."""
    if isinstance(state, dict):
        parts = [f"{k}: {_amount(v)}" for k, v in list(state.items())[:3]]
        more = f", ... {len(state) - 3} more" if len(state) > 3 else ""
        return ", ".join(parts) + more if parts else "nothing"
    return _amount(state)


def _amount(value: Any) -> str:
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"{value.dtype} array {'x'.join(map(str, value.shape)) or 'scalar'}"
    if isinstance(value, (list, tuple, set, frozenset, dict, deque)):
        return f"{len(value)} item{'' if len(value) == 1 else 's'}"
    if type(value) is ObjectKey:
        return "a reference"
    text = repr(value)
    return text if len(text) <= 24 else text[:21] + "..."


def _stream_info(stream: IO[bytes], size: int | None, name: str | None) -> SessionInfo:
    from .._containers._stream import read_stream

    header = read_stream(stream, metadata_only=True).header  # type: ignore[arg-type]
    return SessionInfo(
        container="stream", layout_version=None, session_version=header.session_version,
        app_name=header.app_name, metadata=MappingProxyType(dict(header.metadata)),
        file_size=size, raw_array_bytes=None, stored_array_bytes=None, filters_needed=(),
        managers=tuple(ManagerInfo(tag) for tag in header.attr_info), name=name)


def _json_value(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


def format_bytes(n: int | None) -> str:
    """Human size with binary units: 1536 -> '1.5 KiB'."""
    if n is None:
        return "unknown"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _facts(si: SessionInfo) -> list[tuple[str, str]]:
    version = f"layout {si.layout_version}, " if si.layout_version is not None else ""
    rows = [("file", si.name or "(stream)"),
            ("container", f"{si.container} ({version}session version {si.session_version})"),
            ("application", si.app_name),
            ("file size", format_bytes(si.file_size))]
    if si.raw_array_bytes is not None:
        ratio = si.compression_ratio
        shown = f", ratio {ratio:.2f}" if ratio is not None else ""
        rows.append(("arrays", f"{format_bytes(si.raw_array_bytes)} raw, "
                               f"{format_bytes(si.stored_array_bytes)} stored{shown}"))
    rows.append(("filters needed", ", ".join(si.filters_needed) or "none"))
    return rows


def _display_lines(si: SessionInfo) -> list[str]:
    lines = [f"{k:<16}{v}" for k, v in _facts(si)]
    lines.append("metadata")
    key_width = max((len(k) for k in si.metadata), default=0) + 2
    lines += [f"  {k:<{key_width}}{_json_value(v)}" for k, v in si.metadata.items()]
    lines.append("managers")
    tag_width = max((len(m.tag) for m in si.managers), default=0) + 2
    lines += [_manager_line(m, tag_width) for m in si.managers]
    return lines


def _manager_line(m: ManagerInfo, width: int) -> str:
    if m.objects is None:
        return f"  {m.tag:<{width}}(objects are not counted in stream files)"
    classes = ", ".join(f"{c.rsplit('.', 1)[-1]} {n}" for c, n in m.classes or ())
    noun = "object " if m.objects == 1 else "objects"
    holds = f"  holds {m.holds}" if m.holds else ""
    return (f"  {m.tag:<{width}}{m.objects:>7} {noun}" + (f"  ({classes})" if classes else "")
            + holds)


def filter_plugin_path() -> str:
    """The folder of hdf5plugin's filters: HDF5 tools need it to read compressed arrays."""
    from .._containers._hdf5.compression import filter_plugin_path as folder

    return folder()
