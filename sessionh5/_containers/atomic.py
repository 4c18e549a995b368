"""Crash-safe replacement of a file: write beside it, fsync, then rename over it.

A reader that has the old file open keeps reading the old inode; a crash at any
moment leaves either the complete old file or the complete new one, plus at most
one temporary file named ``.<name>.<random>.tmp`` in the same folder.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["TEMP_SUFFIX", "atomic_path"]

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
