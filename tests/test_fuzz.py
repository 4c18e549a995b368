"""Fuzzing: mutated and truncated session files restore equal or raise SessionError.

Valid HDF5 and stream files are mutated at random (seeded: bit flips, random runs,
truncation, deletion, insertion, duplicated regions, boundary integers) and each
copy is restored in a child process (tests/fuzz_worker.py), which reports one
outcome per seed. The parent restarts the child after an interpreter crash and
kills it when a case makes no progress for CASE_SECONDS (a hang). Any outcome but
"equal" or a SessionError fails the test and lists the seeds to replay.

Every container detects damage: HDF5 by Fletcher32, digests and header checksums,
lz4 by the frame's content checksum, gzip by its CRC32, and uncompressed streams
(whose format has no checksum) by the digest sessionh5 appends to their metadata.

Default: FUZZ_CASES per container; ``pytest --fuzz-cases N`` runs N per container.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fuzz_worker import fuzz_session

import sessionh5

TESTS = Path(__file__).resolve().parent
FUZZ_CASES = 100
CASE_SECONDS = 20.0
#: Container name -> (format, compression, whether a silently different session is allowed)
CONTAINERS = {
    "hdf5-lz4": ("hdf5", "lz4", False),
    "hdf5-none": ("hdf5", None, False),
    "stream-lz4": ("stream", "lz4", False),
    "stream-gzip": ("stream", "gzip", False),
    "stream-none": ("stream", None, False),
}


@dataclass
class Run:
    """Outcome per seed for one container; failures are the seeds that break the rules."""

    outcomes: dict[int, str] = field(default_factory=dict)

    def counts(self) -> Counter[str]:
        return Counter(o.split(":")[0] if o.startswith("bad") else o
                       for o in self.outcomes.values())


def run_worker(original: Path, first: int, last: int, run: Run) -> None:
    """Run seeds [first, last) in children, restarting after crashes and hangs."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(TESTS.parent)])}
    seed = first
    while seed < last:
        child = subprocess.Popen(
            [sys.executable, str(TESTS / "fuzz_worker.py"), str(original), str(seed), str(last)],
            stdout=subprocess.PIPE, text=True, env=env)
        seed = _follow(child, seed, run)


def _follow(child: subprocess.Popen[str], seed: int, run: Run) -> int:
    """Read the child's outcomes until it ends; returns the next seed to run."""
    current: int | None = None
    timer = threading.Timer(CASE_SECONDS, child.kill)
    timer.start()
    try:
        for line in child.stdout:  # type: ignore[union-attr]
            timer.cancel()
            if line.startswith("start"):
                current = int(line.split()[1])
            else:
                result = json.loads(line)
                run.outcomes[result["seed"]] = result["outcome"]
                seed = result["seed"] + 1
            timer = threading.Timer(CASE_SECONDS, child.kill)
            timer.start()
    finally:
        timer.cancel()
        code = child.wait()
    if current is not None and current not in run.outcomes:
        run.outcomes[current] = "bad:hang" if code == -9 else f"bad:crash (exit {code})"
        return current + 1
    if code != 0:
        run.outcomes[seed] = f"bad:worker failed to start (exit {code})"
        return seed + 1
    return seed


@pytest.fixture(scope="module")
def cases(request: pytest.FixtureRequest) -> int:
    option = request.config.getoption("--fuzz-cases")
    return FUZZ_CASES if option is None else int(option)


@pytest.mark.parametrize("container", list(CONTAINERS))
def test_mutated_files_restore_equal_or_raise_session_error(
        container: str, cases: int, tmp_path: Path) -> None:
    fmt, compress, different_allowed = CONTAINERS[container]
    original = sessionh5.save(fuzz_session(), tmp_path / "original", format=fmt,
                              compress=compress)
    assert original is not None
    first = 1_000_000 * (list(CONTAINERS).index(container) + 1)
    run = Run()
    half = first + cases // 2
    workers = [threading.Thread(target=run_worker, args=(original, a, b, run))
               for a, b in ((first, half), (half, first + cases))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    allowed = {"equal", "different"} if different_allowed else {"equal"}
    bad = {s: o for s, o in sorted(run.outcomes.items())
           if not (o in allowed or o.startswith("error:"))}
    print(f"{container}: {cases} cases, {original.stat().st_size} bytes: "
          f"{dict(sorted(run.counts().items()))}")
    assert len(run.outcomes) == cases
    assert not bad, f"replay: python tests/fuzz_worker.py {original} SEED SEED+1; {bad}"
