"""Module-level save: paths and URLs, suffixes, format choice and crash-safe writes."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO, Any, Literal

from ..errors import UsageError, WriteError
from .atomic import atomic_path, atomic_url
from .remote import StorageOptions, is_url

__all__ = ["SESSION_SUFFIX", "STREAM_SUFFIX", "format_for", "replaced", "save", "session_path",
           "session_target"]

SESSION_SUFFIX = ".h5s"
STREAM_SUFFIX = ".cxs"
Format = Literal["hdf5", "stream"]


def format_for(path: PurePosixPath | Path, format: Format | None) -> Format:
    """The container to write: ``format`` when given, else from the suffix (.cxs: stream)."""
    if format is not None:
        if format not in ("hdf5", "stream"):
            raise UsageError(f"format must be 'hdf5', 'stream' or None, not {format!r}")
        return format
    return "stream" if path.suffix.lower() == STREAM_SUFFIX else "hdf5"


def session_path(path: str | os.PathLike[str], format: Format | None = None) -> Path:
    """The path a save writes to: the suffix for the format is added when there is none.

    A folder is refused rather than given a suffix: ``save("results")`` beside a
    folder ``results/`` would otherwise write ``results.h5s`` next to it.
    """
    path = Path(path)
    if path.is_dir():
        raise WriteError(errno.EISDIR, "it is a folder; name a file in it instead (for "
                                       f"example {str(path / 'session.h5s')!r})", str(path))
    if not path.suffix:
        path = path.with_name(path.name + (STREAM_SUFFIX if format == "stream"
                                           else SESSION_SUFFIX))
    return path


def session_target(name: str | os.PathLike[str], format: Format | None = None
                   ) -> tuple[Path | str, Format]:
    """Where a save writes (a Path, or a URL with the suffix added likewise) and the container."""
    if is_url(name):
        url = str(name)
        head, sep, query = url.partition("?")
        if not PurePosixPath(head.split("://", 1)[1]).suffix:
            head += STREAM_SUFFIX if format == "stream" else SESSION_SUFFIX
        return head + sep + query, format_for(PurePosixPath(head), format)
    path = session_path(name, format)
    return path, format_for(path, format)


@contextmanager
def replaced(target: Path | str, storage_options: StorageOptions = None) -> Iterator[Path]:
    """A local temporary path to write; on success it replaces ``target`` (a path or a URL)."""
    if isinstance(target, str) and is_url(target):
        with atomic_url(target, storage_options) as temp:
            yield temp
        return
    if storage_options:
        raise UsageError(f"storage_options apply to URLs only, not to {str(target)!r}")
    with atomic_path(target) as temp:
        yield temp


def save(session: Any, path: str | os.PathLike[str] | IO[bytes], version: int = 3,
         compress: Literal["lz4", "gzip"] | None = "lz4", include_maps: bool = False, *,
         format: Format | None = None, progress: Any = None,
         storage_options: StorageOptions = None) -> Path | str | None:
    """Save ``session`` to a path or a URL (crash-safe) or to a writable binary stream.

    ``format=None`` picks the container from the suffix: ``.cxs`` is a flat stream,
    anything else HDF5. A URL (``s3://bucket/key.h5s``) is written locally, then
    uploaded so that it appears whole or not at all; ``storage_options`` go to fsspec.
    Returns the path (a URL: the URL) written, or None for a stream.

    Raises:
        SaveError: the session cannot be written, or the upload failed (an earlier
            object under the URL is then left as it was).
        WriteError: the path cannot be written (a missing folder, no permission, a
            folder in the way: checked before the session is walked), or the write
            failed (a full disk); the file at the path is unchanged.
    """
    if compress not in ("lz4", "gzip", None):
        raise UsageError(f"compress must be 'lz4', 'gzip' or None, not {compress!r}")
    if not isinstance(path, (str, os.PathLike)):
        if storage_options:
            raise UsageError("storage_options apply to URLs only, not to a file object")
        session.save(path, version, include_maps, compress=compress,
                     format=format or "hdf5", progress=progress)
        return None
    target, chosen = session_target(path, format)
    with replaced(target, storage_options) as temp:
        session._save(temp, version, include_maps, compress=compress, format=chosen,
                      progress=progress)
    return target
