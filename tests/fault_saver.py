"""Child process of test_save_faults: saves that hit a file-size limit, as a full disk would.

Usage: ``python fault_saver.py FOLDER FORMAT``. It saves generation 1 of a session
to FOLDER/session.<suffix> with no limit, measures how large generation 2 is (saved
once to FOLDER/probe, then removed), and then saves generation 2 over generation 1
with RLIMIT_FSIZE set to half that size, to 1000 and to 100 bytes short
of it (SIGXFSZ is ignored, so the write fails with EFBIG instead of killing the
process). It prints the sha256 of generation 1 first, then one JSON line per
attempt: the exception's type, errno, filename, text, the type of its chained cause,
the target's sha256 afterwards and the folder's files.
"""

from __future__ import annotations

import hashlib
import json
import resource
import signal
import sys
from pathlib import Path

import numpy as np
from helpers import Box, Holder, new_session

import sessionh5


def generation(number: int) -> sessionh5.Session:
    """A session of about 3 MB whose every value depends on ``number``."""
    session = new_session(minimal=True)
    rng = np.random.default_rng(number)
    session.h = Holder(generation=number, volume=rng.random((40, 100, 100)),
                       rows=[Box(v=number * 1000 + i) for i in range(200)])
    session.metadata["generation"] = number
    return session


def main() -> None:
    folder, fmt = Path(sys.argv[1]), sys.argv[2]
    suffix = ".h5s" if fmt == "hdf5" else ".cxs"
    target = folder / f"session{suffix}"
    sessionh5.save(generation(1), target)
    print(json.dumps({"sha256": hashlib.sha256(target.read_bytes()).hexdigest()}), flush=True)
    probe = sessionh5.save(generation(2), folder / f"probe{suffix}")
    size = probe.stat().st_size
    probe.unlink()
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    unlimited = resource.getrlimit(resource.RLIMIT_FSIZE)
    for limit in (size // 2, size - 1000, size - 100):  # sizes vary by a few bytes (dates)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, unlimited[1]))
        outcome = {"limit": limit, "size": size, "error": None}
        try:
            sessionh5.save(generation(2), target)
        except Exception as exc:  # the parent checks the type
            outcome.update(error=type(exc).__name__, errno=getattr(exc, "errno", None),
                           filename=getattr(exc, "filename", None), message=str(exc),
                           cause=type(exc.__cause__).__name__ if exc.__cause__ else None)
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, unlimited)
        outcome["sha256"] = hashlib.sha256(target.read_bytes()).hexdigest()
        outcome["files"] = sorted(p.name for p in folder.iterdir())
        print(json.dumps(outcome), flush=True)


if __name__ == "__main__":
    main()
