"""Crash-safe replacement of a file: write beside it, fsync, then rename over it.

A reader that has the old file open keeps reading the old inode; a crash at any
moment leaves either the complete old file or the complete new one, plus at most
one temporary file named ``.<name>.<random>.tmp`` in the same folder.

:func:`atomic_url` does the same for a URL: the file is written in a local scratch
folder, then uploaded so that it appears under its name only when whole. An object
store (S3 and compatibles, GCS, Azure) makes an object visible only when its upload
completes (s3fs aborts a failed multipart upload); other file systems get the file
under a temporary name first, then renamed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import SaveError, UsageError
from .remote import StorageOptions, filesystem, protocol

__all__ = ["TEMP_SUFFIX", "atomic_path", "atomic_url"]

TEMP_SUFFIX = ".tmp"


def _fsync_path(path: Path, directory: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write; on success it atomically becomes ``target``.

    The temporary file is in the target's folder (a rename across file systems is
    not atomic) and is removed if the body fails.
    """
    target = Path(target)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX,
                                dir=target.parent)
    os.close(fd)
    temp = Path(name)
    try:
        yield temp
        _fsync_path(temp)
        if target.exists():
            os.chmod(temp, target.stat().st_mode & 0o7777)
        else:
            os.chmod(temp, 0o666 & ~_umask())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_path(target.parent, directory=True)


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
        yield temp
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
