"""The process-wide thread pool that filters array chunks and compresses stream frames.

LZ4, zlib and numpy release the GIL, so the pool's threads compress in parallel
while the caller keeps producing work. :func:`pipelined` keeps at most WINDOW
jobs in flight and hands results back in order, so memory stays at a few jobs.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TypeVar

__all__ = ["WINDOW", "WORKERS", "executor", "pipelined"]

_T = TypeVar("_T")

WORKERS = max(1, min(8, os.cpu_count() or 1))
WINDOW = 2 * WORKERS + 2  # jobs in flight: keeps workers busy, bounds memory
_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def pipelined(jobs: Iterable[Callable[[], _T]], consume: Callable[[_T], None]) -> None:
    """Run jobs in the shared pool, at most WINDOW at once; consume results in order here.

    ``jobs`` is advanced only while fewer than WINDOW jobs are pending, so job i may
    reuse a buffer of job i - WINDOW. On an error no job is left running on return.
    """
    pending: deque[Future[_T]] = deque()
    try:
        for job in jobs:
            pending.append(executor().submit(job))
            if len(pending) >= WINDOW:
                consume(pending.popleft().result())
        while pending:
            consume(pending.popleft().result())
    finally:
        for future in pending:
            future.cancel()
        wait(pending)


def executor() -> ThreadPoolExecutor:
    """The shared pool, created on first use (shared by all sessions)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="sessionh5-pool")
        return _pool


def _forget_pool() -> None:
    """A forked child has none of the parent's threads: start a new pool there."""
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)
