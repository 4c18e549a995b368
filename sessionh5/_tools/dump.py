"""A readable text dump of a session file, for debugging and for people."""

from __future__ import annotations

import os
import pprint
import sys
from collections import deque
from collections.abc import Iterator, Mapping
from typing import IO, Any, TextIO

import numpy as np

from .._containers.backends import open_backend
from .._engine.records import ObjectKey

__all__ = ["dump_lines", "sdump"]


class _Shown:
    """Prints as given text inside pprint output (references, array summaries)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _readable(value: Any) -> Any:
    kind = type(value)
    if kind is ObjectKey:
        return _Shown(str(value))
    if isinstance(value, np.ndarray) and value.size > 16:
        return _Shown(f"array(shape={value.shape}, dtype={value.dtype.str})")
    if kind in (list, tuple, set, frozenset):
        items = [_readable(v) for v in value]
        return kind(items) if kind in (list, tuple) else _Shown(
            f"{kind.__name__}({{{', '.join(map(repr, items))}}})")
    if isinstance(value, dict):
        return kind((_readable(k), _readable(v)) for k, v in value.items())
    if kind is deque:
        return deque((_readable(v) for v in value), value.maxlen)
    return value


def dump_lines(source: Any, *, width: int = 100) -> Iterator[str]:
    """Session version, metadata, providers, managers, then every record."""
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
        version = source.version(key)
        suffix = "" if version is None else f" version {version}"
        yield f"{key}{suffix} at {source.location(key)}"
        data = source.load(key, lambda k: k)
        for line in pprint.pformat(_readable(data), width=width).splitlines():
            yield "    " + line


def sdump(session: Any, session_file: str | os.PathLike[str] | IO[bytes],
          output: str | os.PathLike[str] | TextIO | None = None, *,
          storage_options: Mapping[str, Any] | None = None) -> None:
    """Write a readable dump of a session file's metadata, managers and objects.

    ``session_file`` may be a URL; ``storage_options`` then go to fsspec.
    """
    with open_backend(session_file, storage_options=storage_options) as source:
        lines = dump_lines(source)
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
