"""Opening FILE arguments: local paths, or URLs that fsspec understands (issue 6)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from ..errors import UsageError

__all__ = ["open_file"]

#: Remote reads fetch blocks of this size and keep them; fsspec's default read-ahead of
#: several MiB would make ``info`` on a remote file read far more than its metadata.
REMOTE_BLOCK_SIZE = 64 * 1024


def is_url(name: str) -> bool:
    """True for 'scheme://...' names (but not Windows drive letters like C:\\)."""
    scheme, sep, _ = name.partition("://")
    return bool(sep) and len(scheme) > 1 and scheme.replace("+", "").isalnum()


@contextmanager
def open_file(name: str) -> Iterator[IO[bytes]]:
    """A readable, seekable binary stream for a FILE argument."""
    if not is_url(name):
        if os.path.isdir(name):
            raise IsADirectoryError(21, "Is a directory", name)
        with open(name, "rb") as stream:
            yield stream
        return
    try:
        import fsspec
    except ImportError as exc:
        raise UsageError(f"reading {name} needs fsspec (pip install fsspec)") from exc
    with fsspec.open(name, "rb", block_size=REMOTE_BLOCK_SIZE, cache_type="blockcache") as f:
        yield f
