"""A readable text dump of a session file, for debugging and for people."""

from __future__ import annotations

import itertools
import os
import pprint
import sys
from collections import deque
from collections.abc import Iterator, Mapping
from typing import IO, Any, TextIO

import numpy as np

from .._containers.backends import open_backend
from .._engine.records import ObjectKey
from ..errors import UsageError

__all__ = ["dump_lines", "sdump"]


class _Shown:
    """Prints as given text inside pprint output (references, array summaries)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _readable(value: Any, limit: int | None = None) -> Any:
    """``value`` for pprint: references as <class, ordinal>, big arrays summarised (with
    their fields), containers cut to ``limit`` items."""
    kind = type(value)
    if kind is ObjectKey:
        return _Shown(str(value))
    if isinstance(value, np.ndarray) and (value.size > 16 or value.dtype.names):
        return _Shown(_array_text(value))
    if kind in (list, tuple, set, frozenset, deque):
        items = [_readable(v, limit) for v in _first(value, limit)]
        if limit is not None and len(value) > limit:
            items.append(_Shown(f"... {len(value) - limit} more"))
        if kind in (list, tuple):
            return kind(items)
        if kind is deque:
            return deque(items, value.maxlen)
        inner = ", ".join(map(repr, items))
        if kind is set:
            return _Shown("{" + inner + "}" if items else "set()")
        return _Shown(f"frozenset({{{inner}}})" if items else "frozenset()")
    if isinstance(value, dict):
        shown = kind((_readable(k), _readable(v, limit)) for k, v in _first(value.items(), limit))
        if limit is not None and len(value) > limit:
            shown[_Shown("...")] = _Shown(f"{len(value) - limit} more")
        return shown
    return value


def _first(items: Any, limit: int | None) -> Any:
    return items if limit is None else itertools.islice(items, limit)


def _array_text(array: np.ndarray) -> str:
    """``array(shape=(3,), dtype=<f4)``; a structured array lists its fields."""
    if array.dtype.names:
        fields = ", ".join(f"{name}: {array.dtype.fields[name][0].str}"  # type: ignore[index]
                           for name in array.dtype.names)
        text = f"array(shape={array.shape}, fields {{{fields}}})"
        if array.size <= 4:
            text += f" = {array.tolist()!r}"
        return text
    return f"array(shape={array.shape}, dtype={array.dtype.str})"


def dump_lines(source: Any, *, width: int = 100, path: str | None = None,
               class_name: str | None = None, max_items: int | None = None) -> Iterator[str]:
    """Session version, metadata, providers, managers, then every record.

    ``path`` keeps the records stored at or under an HDF5 path ("/models"),
    ``class_name`` those of one class (full or short name), and ``max_items``
    shows at most that many items of each list, set or dict.
    """
    if path is not None and not hasattr(source, "paths"):
        raise UsageError("--path selects HDF5 locations; a session stream has none "
                         "(use --class, or convert the stream to HDF5 first)")
    header = source.header
    yield f"session version: {header.session_version}"
    yield f"application: {header.app_name}"
    yield "metadata:"
    for key, value in header.metadata.items():
        shown = f"<{len(value)} bytes>" if isinstance(value, bytes) else repr(value)
        yield f"  {key}: {shown}"
    yield "providers:"
    for name, (version, write_version) in header.providers.items():
        yield f"  {name}: {version} (session write version {write_version})"
    yield "managers:"
    for tag, key in header.managers.items():
        yield f"  {tag}: {key}"
    yield "records:"
    keys = source.keys()
    for key in keys:
        if not _selected(key, source, path, class_name):
            continue
        version = source.version(key)
        suffix = "" if version is None else f" version {version}"
        yield f"{key}{suffix} at {source.location(key)}"
        data = source.load(key, lambda k: k)
        for line in pprint.pformat(_readable(data, max_items), width=width).splitlines():
            yield "    " + line


def _selected(key: ObjectKey, source: Any, path: str | None, class_name: str | None) -> bool:
    if class_name is not None and class_name not in (key.class_name,
                                                     key.class_name.rsplit(".", 1)[-1]):
        return False
    if path is None:
        return True
    wanted = "/" + path.strip("/")
    location = source.location(key)
    return wanted == "/" or location == wanted or location.startswith((wanted + "/",
                                                                      wanted + "["))


def sdump(session: Any, session_file: str | os.PathLike[str] | IO[bytes],
          output: str | os.PathLike[str] | TextIO | None = None, *,
          storage_options: Mapping[str, Any] | None = None, path: str | None = None,
          class_name: str | None = None, max_items: int | None = None) -> None:
    """Write a readable dump of a session file's metadata, managers and objects.

    ``session_file`` may be a URL; ``storage_options`` then go to fsspec. ``path``,
    ``class_name`` and ``max_items`` select and shorten as in dump_lines.
    """
    with open_backend(session_file, storage_options=storage_options) as source:
        lines = dump_lines(source, path=path, class_name=class_name, max_items=max_items)
        if output is None:
            _write_lines(lines, sys.stdout)
        elif isinstance(output, (str, os.PathLike)):
            with open(output, "w", encoding="utf-8") as out:
                _write_lines(lines, out)
        else:
            _write_lines(lines, output)


def _write_lines(lines: Any, out: TextIO) -> None:
    for line in lines:
        out.write(line + "\n")
