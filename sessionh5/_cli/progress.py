"""Progress bars for long commands: on a terminal only, and only when tqdm is installed.

Library functions report progress as ``progress(done_bytes, total_bytes)`` callbacks;
this module turns such a callback into a tqdm bar on stderr. When stderr is not a
terminal (scripts, pipes, CI logs) or tqdm is missing, no callback is made at all.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Progress", "progress_bar"]

Progress = Callable[[int, int], None]


def _tqdm() -> Any:
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


@contextmanager
def progress_bar(description: str) -> Iterator[Progress | None]:
    """Yield a ``progress(done, total)`` callback drawing a bar, or None when quiet."""
    tqdm = _tqdm() if sys.stderr.isatty() else None
    if tqdm is None:
        yield None
        return
    bar = tqdm(total=0, desc=description, unit="B", unit_scale=True, unit_divisor=1024,
               leave=False, file=sys.stderr)

    def update(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    try:
        yield update
    finally:
        bar.close()
