"""Child process of test_crash_safety: save generation after generation over one file.

Usage: ``python crash_saver.py TARGET FIRST_GENERATION [COUNT]``. Before each save it
prints ``begin <gen> <monotonic time>``, after it ``done <gen> <seconds>``, flushed, so
the parent can kill it at a chosen moment inside a save and knows which generations
the file may hold afterwards.
"""

from __future__ import annotations

import io
import sys
import time

import numpy as np
from helpers import Holder, new_session

from sessionh5 import Session, save

#: Three arrays of 8 MiB of random doubles; gzip takes about 0.5-1 s to save them.
ARRAYS = 3
ELEMENTS = 2**20


def arrays_for(generation: int) -> list[np.ndarray]:
    """The arrays a generation holds: random, so compression cannot skip work."""
    rng = np.random.default_rng(generation)
    return [rng.random(ELEMENTS) for _ in range(ARRAYS)]


def session_for(generation: int) -> Session:
    session = new_session(minimal=True)
    session.metadata["generation"] = generation
    session.h = Holder(generation=generation, arrays=arrays_for(generation))
    return session


def main(target: str, first: int, count: int) -> None:
    # Warm up (imports, the codec thread pool) so the first timed save is not the slowest
    # and the parent's kill moments, measured on warm saves, really span a save.
    session_for(first).save(io.BytesIO(), compress="gzip")
    for generation in range(first, first + count):
        session = session_for(generation)
        start = time.monotonic()
        print("begin", generation, start, flush=True)
        save(session, target, compress="gzip")
        print("done", generation, time.monotonic() - start, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 10**6)
