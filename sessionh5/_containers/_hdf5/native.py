"""The one switch for the compiled functions sessionh5 calls through ctypes.

Three libraries that the wheels we depend on already contain are called through
ctypes, where their symbols can be loaded: c-blosc inside hdf5plugin's Blosc filter
(blosc.py), zlib's ``uncompress2`` (inflate.py) and liblz4 inside python-lz4's
extension (lz4chunks.py). Where one cannot be loaded (a Windows DLL exports only
what it declares; a system without a zlib to find), its module does the same work
with numpy and the packages' Python APIs, within the same bounds.

``SESSIONH5_NO_CTYPES=1`` in the environment, read once at import, turns all three
off, so those fallbacks run on any machine (the tests use it, and it is a way out
should a library's symbols ever misbehave); :func:`ctypes_calls` switches them for
a running process.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

__all__ = ["ENV", "calls", "ctypes_calls", "load"]

_T = TypeVar("_T")

ENV = "SESSIONH5_NO_CTYPES"
_WANTED = os.environ.get(ENV, "").strip() in ("", "0")


def load(loader: Callable[[], _T | None]) -> _T | None:
    """``loader()`` (a module's ctypes function, or None), unless the switch is off."""
    return loader() if _WANTED else None


def calls() -> dict[str, bool]:
    """Which libraries this process calls through ctypes now."""
    from . import blosc, inflate, lz4chunks

    return {"c-blosc": blosc._FUNCTIONS is not None,
            "zlib uncompress2": inflate._UNCOMPRESS2 is not None,
            "liblz4": lz4chunks._LZ4_DECOMPRESS is not None}


@contextmanager
def ctypes_calls(enabled: bool) -> Iterator[None]:
    """Within the block, call the libraries through ctypes (where they load) or not.

    For tests: not thread-safe against arrays being read or written meanwhile.
    """
    from . import blosc, inflate, lz4chunks

    saved = blosc._FUNCTIONS, inflate._UNCOMPRESS2, lz4chunks._LZ4_DECOMPRESS
    blosc._FUNCTIONS = blosc._load() if enabled else None
    inflate._UNCOMPRESS2 = inflate._uncompress2() if enabled else None
    lz4chunks._LZ4_DECOMPRESS = lz4chunks._lz4_c_function("LZ4_decompress_safe") \
        if enabled else None
    try:
        yield
    finally:
        blosc._FUNCTIONS, inflate._UNCOMPRESS2, lz4chunks._LZ4_DECOMPRESS = saved
