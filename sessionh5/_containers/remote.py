"""Session files named by URL (``s3://``, ``https://``, ``memory://``...), opened with fsspec.

Wherever sessionh5 takes a path it also takes a URL plus ``storage_options`` (a dict
handed to fsspec, as pandas, xarray and dask do). Everything that opens a source for
reading goes through :func:`open_source`, so the HDF5 reader behind it is the same
for a local file, a web server and an object store.

A remote file is read through :class:`fsspec` with a block cache sized for session
files: 64 KiB blocks, kept (256 of them at most), because the writer keeps the
metadata a reader needs first in a few such blocks (``_hdf5/files.py``), while a
large read (an array chunk) is fetched in one request and not kept. fsspec's default
read-ahead of several MiB would make ``info`` cost far more than the metadata it reads.
fsspec and its protocol packages (s3fs, aiohttp) are optional: importing them only
when a URL is used keeps ``import sessionh5`` light, and a missing one is a UsageError
that names the package to install.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import IO, Any

from ..errors import SessionError, UsageError

__all__ = ["BLOCK_SIZE", "MAX_BLOCKS", "Source", "StorageOptions", "filesystem", "is_url",
           "open_source", "open_url"]

Source = str | os.PathLike[str] | IO[bytes]
StorageOptions = Mapping[str, Any] | None

#: Remote reads fetch blocks of this size and keep up to MAX_BLOCKS of them per file.
BLOCK_SIZE = 64 * 1024
MAX_BLOCKS = 256
#: A read at least this long (an array chunk) is one request of its own, not cached.
LARGE_READ = 4 * BLOCK_SIZE
CACHE_NAME = "sessionh5-blocks"
#: The pip package behind each common protocol, for the message when it is missing.
PACKAGES = {"s3": "s3fs", "s3a": "s3fs", "http": "aiohttp", "https": "aiohttp",
            "gs": "gcsfs", "gcs": "gcsfs", "az": "adlfs", "abfs": "adlfs", "abfss": "adlfs"}
INSTALL = "pip install 'sessionh5[remote]'"


def is_url(name: object) -> bool:
    """True for 'scheme://...' strings (but not Windows drive letters like C:\\)."""
    if not isinstance(name, str):
        return False
    scheme, sep, _ = name.partition("://")
    return bool(sep) and len(scheme) > 1 and scheme.replace("+", "").isalnum()


def protocol(url: str) -> str:
    """The scheme of ``url`` ('s3', 'https', ...), lower case."""
    return url.partition("://")[0].lower()


def _fsspec(url: str) -> Any:
    try:
        import fsspec
    except ImportError as exc:
        raise UsageError(f"{url} is a URL, which needs fsspec: pip install fsspec "
                         f"(or {INSTALL})") from exc
    _register_cache(fsspec)
    return fsspec


def filesystem(url: str, storage_options: StorageOptions = None) -> tuple[Any, str]:
    """The fsspec file system for ``url`` (built with ``storage_options``) and the path in it.

    Raises:
        UsageError: fsspec, or the package for this protocol, is not installed, or the
            protocol is unknown to fsspec.
    """
    fsspec = _fsspec(url)
    try:
        return fsspec.core.url_to_fs(url, **dict(storage_options or {}))
    except ImportError as exc:
        package = PACKAGES.get(protocol(url), "the package fsspec names")
        raise UsageError(f"{url} needs {package}, which is not installed: pip install "
                         f"{package} (or {INSTALL}); fsspec says: {exc}") from exc
    except ValueError as exc:
        if "protocol" in str(exc).lower():
            raise UsageError(f"{url}: fsspec knows no file system for "
                             f"{protocol(url)!r}: {exc}") from exc
        raise


@contextmanager
def open_source(source: Source, storage_options: StorageOptions = None) -> Iterator[IO[bytes]]:
    """A readable, seekable binary stream for a path, a URL or an open binary file.

    A file object given open is yielded as it is and left open.

    Raises:
        UsageError: ``storage_options`` with something that is not a URL, or a source
            that is neither a path, a URL nor a readable binary file.
        FileNotFoundError: no file or object of that name (``filename`` is the name).
    """
    if isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        if is_url(name):
            with open_url(str(name), storage_options) as stream:
                yield stream
            return
        _no_options(storage_options, name)
        if os.path.isdir(name):
            raise IsADirectoryError(errno.EISDIR, "Is a directory", name)
        with open(name, "rb") as stream:
            yield stream
    elif hasattr(source, "read") and hasattr(source, "seek"):
        _no_options(storage_options, "a file object")
        yield source
    else:
        raise UsageError(f"expected a path, a URL or a readable binary file, "
                         f"not {type(source).__name__}")


@contextmanager
def open_url(url: str, storage_options: StorageOptions = None) -> Iterator[IO[bytes]]:
    """``url`` opened for reading through fsspec, with the session-file block cache."""
    fs, path = filesystem(url, storage_options)
    try:
        stream = fs.open(path, "rb", block_size=BLOCK_SIZE, cache_type=CACHE_NAME,
                         cache_options={"maxblocks": MAX_BLOCKS})
    except Exception as exc:
        raise remote_error(url, exc) from exc
    with stream:
        yield stream


def remote_error(url: str, exc: Exception) -> Exception:
    """An exception that names ``url``: not-found and permission errors keep their type."""
    if isinstance(exc, SessionError):
        return exc
    if isinstance(exc, FileNotFoundError):
        return FileNotFoundError(errno.ENOENT, "no such object (missing bucket or key)", url)
    if isinstance(exc, PermissionError):
        return PermissionError(errno.EACCES, f"access denied ({exc})", url)
    if isinstance(exc, IsADirectoryError):
        return IsADirectoryError(errno.EISDIR, "Is a directory", url)
    return OSError(f"cannot reach {url}: {type(exc).__name__}: {exc}")


def _no_options(storage_options: StorageOptions, name: object) -> None:
    if storage_options:
        raise UsageError(f"storage_options apply to URLs only, not to {name!r}")


def _register_cache(fsspec: Any) -> None:
    """Teach fsspec our cache (once per process): blocks for metadata, one request per chunk."""
    caches = fsspec.caching.caches
    if CACHE_NAME in caches:
        return

    class SessionBlockCache(fsspec.caching.BlockCache):  # type: ignore[misc, name-defined]
        """fsspec's LRU block cache, except that a large read is one request, not kept."""

        name = CACHE_NAME

        def _fetch(self, start: int | None, end: int | None) -> bytes:
            start = 0 if start is None else start
            end = self.size if end is None or end > self.size else end
            if end - start < LARGE_READ:
                return super()._fetch(start, end)  # type: ignore[no-any-return]
            self.miss_count += 1
            self.total_requested_bytes += end - start
            return self.fetcher(start, end)  # type: ignore[no-any-return]

    fsspec.caching.register_cache(SessionBlockCache, clobber=True)
