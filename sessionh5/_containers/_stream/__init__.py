"""The flat msgpack session stream (format version 3): the only package importing msgpack.

It reads and writes the container-neutral model (:mod:`sessionh5._records`) and
knows nothing of Session or application classes.
"""

from __future__ import annotations

from .container import StreamContent, detect_container
from .reader import read_stream
from .writer import write_stream

__all__ = ["StreamContent", "detect_container", "read_stream", "write_stream"]
