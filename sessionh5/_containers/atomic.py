"""Crash-safe replacement of a file: write beside it, fsync, then rename over it.

A reader that has the old file open keeps reading the old inode; a crash at any
moment leaves either the complete old file or the complete new one, plus at most
one temporary file named ``.<name>.<random>.tmp`` in the same folder.

A target that cannot be written (a missing folder, no permission, a folder in its
place) is refused before any work starts, and a write that fails (a full disk, a
file-size limit) removes the temporary file; either way WriteError names the path
the caller gave, with the operating system's error chained.

:func:`atomic_url` does the same for a URL: the file is written in a local scratch
folder, then uploaded so that it appears under its name only when whole. An object
store (S3 and compatibles, GCS, Azure) makes an object visible only when its upload
completes (s3fs aborts a failed multipart upload); other file systems get the file
under a temporary name first, then renamed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import SaveError, SessionError, UsageError, WriteError
from .remote import StorageOptions, filesystem, protocol

__all__ = ["TEMP_SUFFIX", "atomic_path", "atomic_url", "check_target"]

TEMP_SUFFIX = ".tmp"


def _fsync_file(path: Path) -> None:
    """Flush a file to disk; opened for writing, which Windows' fsync needs."""
    fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(path: Path) -> None:
    """Make a rename in ``path`` durable, where folders can be opened (not on Windows,
    whose file system journals the rename itself)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write; on success it atomically becomes ``target``.

    The temporary file is in the target's folder (a rename across file systems is
    not atomic) and is removed if the body fails.

    Raises:
        WriteError: ``target`` cannot be written (checked first), or writing failed.
    """
    target = Path(target)
    check_target(target)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX,
                                    dir=target.parent)
    except OSError as exc:
        raise WriteError(exc.errno or errno.EIO, exc.strerror or str(exc), str(target)) \
            from exc
    os.close(fd)
    temp = Path(name)
    try:
        yield temp
        _fsync_file(temp)
        if target.exists():
            os.chmod(temp, target.stat().st_mode & 0o7777)
        else:
            os.chmod(temp, 0o666 & ~_umask())
        os.replace(temp, target)
    except BaseException as exc:
        temp.unlink(missing_ok=True)
        error = _write_error(exc, target, temp)
        if error is None:
            raise
        raise error from exc
    _fsync_folder(target.parent)


def check_target(target: Path) -> None:
    """Refuse a target no save can write, before any work starts (nothing is created).

    Raises:
        WriteError: the folder is missing or not a folder, the target is a folder (or
            another non-file), or this process may not create files in the folder.
    """
    folder = target.parent
    if not folder.exists():
        raise WriteError(errno.ENOENT, f"the folder {str(folder)!r} does not exist", str(target))
    if not folder.is_dir():
        raise WriteError(errno.ENOTDIR, f"{str(folder)!r} is not a folder", str(target))
    if target.is_dir():
        raise WriteError(errno.EISDIR, "it is a folder; name a file in it instead", str(target))
    if target.exists() and not target.is_file():
        raise WriteError(errno.EINVAL, "it is not a regular file (a save replaces the file "
                                       "there; write to a stream instead)", str(target))
    if not os.access(folder, os.W_OK | os.X_OK):
        raise WriteError(errno.EACCES, f"no permission to create files in {str(folder)!r}",
                         str(target))


def _write_error(exc: BaseException, target: Path | str, temp: Path,
                 kept: str | None = None) -> WriteError | None:
    """The WriteError for a failed write, or None when ``exc`` is not about the file.

    HDF5 reports a failed write as a RuntimeError or OSError whose text (or whose
    context) holds the errno and names the temporary file; the stream writer's
    OSError names no file. An OSError naming another file (an application's own,
    during the walk) is not about this one.
    """
    if isinstance(exc, (SessionError, KeyboardInterrupt)):
        return None
    code = None
    seen: BaseException | None = exc
    while seen is not None and code is None:
        if isinstance(seen, OSError) and seen.filename not in (None, str(temp)):
            return None
        if isinstance(seen, OSError) and seen.errno in errno.errorcode:
            code = seen.errno
        elif isinstance(seen, (OSError, RuntimeError)):
            found = re.search(r"errno = (\d+)", str(seen))
            code = int(found.group(1)) if found else None
        seen = seen.__cause__ or seen.__context__
    if code is None:
        return None
    if kept is None:
        kept = "the file there is unchanged" if Path(target).exists() else "nothing was written"
    return WriteError(code, f"{os.strerror(code)}; {kept}", str(target))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: Protocols whose uploads appear whole or not at all.
WHOLE_OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss"})
READ_ONLY = frozenset({"http", "https"})


@contextmanager
def atomic_url(url: str, storage_options: StorageOptions = None) -> Iterator[Path]:
    """Yield a local temporary path to write; on success it becomes the object at ``url``.

    Raises:
        SaveError: the upload failed; whatever was at ``url`` before is left as it was.
        WriteError: writing the local copy failed (a full scratch disk); nothing was
            uploaded.
        UsageError: ``url`` is read-only (HTTP) or its file system package is missing.
    """
    if protocol(url) in READ_ONLY:
        raise UsageError(f"cannot save to {url}: HTTP URLs are read-only here; save to a "
                         "path or to an object store (s3://...)")
    fs, remote = filesystem(url, storage_options)
    if "file" in _protocols(fs):
        with atomic_path(remote) as temp:
            yield temp
        return
    with tempfile.TemporaryDirectory(prefix="sessionh5-upload-") as folder:
        temp = Path(folder) / (PurePosixPath(remote).name or "session")
        try:
            yield temp
        except BaseException as exc:  # e.g. the local scratch disk is full
            error = _write_error(exc, url, temp, "nothing was uploaded; an earlier object "
                                                  "there is unchanged")
            if error is None:
                raise
            raise error from exc
        try:
            _upload(fs, temp, remote)
        except Exception as exc:
            raise SaveError(f"uploading to {url} failed, so nothing was written there (an "
                            f"earlier object at that name is unchanged): "
                            f"{type(exc).__name__}: {exc}") from exc


def _protocols(fs: Any) -> set[str]:
    names = fs.protocol
    return {names} if isinstance(names, str) else set(names)


def _upload(fs: Any, local: Path, remote: str) -> None:
    """Make ``local`` appear at ``remote`` whole: directly on an object store, else renamed."""
    if _protocols(fs) & WHOLE_OBJECT_STORES:
        fs.put_file(str(local), remote)
        return
    temp = f"{remote}.{secrets.token_hex(6)}{TEMP_SUFFIX}"
    try:
        fs.put_file(str(local), temp)
        fs.mv(temp, remote)
    except BaseException:
        with contextlib.suppress(Exception):  # the temporary name may never have existed
            fs.rm_file(temp)
        raise
