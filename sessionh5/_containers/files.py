"""Module-level save: paths, suffixes, format choice and crash-safe writes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any, Literal

from ..errors import UsageError
from .atomic import atomic_path

__all__ = ["SESSION_SUFFIX", "STREAM_SUFFIX", "format_for", "save", "session_path"]

SESSION_SUFFIX = ".h5s"
STREAM_SUFFIX = ".cxs"
Format = Literal["hdf5", "stream"]


def format_for(path: Path, format: Format | None) -> Format:
    """The container to write: ``format`` when given, else from the suffix (.cxs: stream)."""
    if format is not None:
        if format not in ("hdf5", "stream"):
            raise UsageError(f"format must be 'hdf5', 'stream' or None, not {format!r}")
        return format
    return "stream" if path.suffix.lower() == STREAM_SUFFIX else "hdf5"


def session_path(path: str | os.PathLike[str], format: Format | None = None) -> Path:
    """The path a save writes to: the suffix for the format is added when there is none."""
    path = Path(path)
    if not path.suffix:
        path = path.with_name(path.name + (STREAM_SUFFIX if format == "stream"
                                           else SESSION_SUFFIX))
    return path


def save(session: Any, path: str | os.PathLike[str] | IO[bytes], version: int = 3,
         compress: Literal["lz4", "gzip"] | None = "lz4", include_maps: bool = False, *,
         format: Format | None = None, progress: Any = None) -> Path | None:
    """Save ``session`` to a path (crash-safe) or a writable binary stream.

    ``format=None`` picks the container from the suffix: ``.cxs`` is a flat stream,
    anything else HDF5. Returns the path written, or None for a stream.
    """
    if compress not in ("lz4", "gzip", None):
        raise UsageError(f"compress must be 'lz4', 'gzip' or None, not {compress!r}")
    if not isinstance(path, (str, os.PathLike)):
        session.save(path, version, include_maps, compress=compress,
                     format=format or "hdf5", progress=progress)
        return None
    target = session_path(path, format)
    chosen = format_for(target, format)
    with atomic_path(target) as temp:
        session._save(temp, version, include_maps, compress=compress, format=chosen,
                      progress=progress)
    return target
