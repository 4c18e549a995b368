"""Saving to a path is crash-safe: a killed save leaves the old file or the new one.

A child process (tests/crash_saver.py) saves generation after generation of a
session with 24 MiB of arrays over one file; the parent kills it with SIGKILL at
moments spread over a whole save (from just after it starts to just after it
ends). After every kill the file must restore without error to exactly the last
generation reported done or the one being saved, and at most one temporary file
(the killed write's) may be left beside it.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from crash_saver import arrays_for, session_for
from helpers import Holder, new_session

import sessionh5

TESTS = Path(__file__).resolve().parent
KILLS = 24


def start_saver(target: Path, first: int, count: int | None = None) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(TESTS.parent)])}
    args = [sys.executable, str(TESTS / "crash_saver.py"), str(target), str(first)]
    if count is not None:
        args.append(str(count))
    return subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env)


def read_event(child: subprocess.Popen[str]) -> tuple[str, int, float]:
    line = child.stdout.readline()  # type: ignore[union-attr]
    assert line, f"the saver died (exit {child.wait()})"
    kind, generation, number = line.split()
    return kind, int(generation), float(number)


def assert_generation(target: Path, allowed: set[int]) -> int:
    """The file restores to one complete generation among ``allowed``."""
    restored = new_session(minimal=True)
    restored.restore(io.BytesIO(target.read_bytes()))
    generation = restored.h.generation
    assert generation in allowed
    assert restored.metadata["generation"] == generation
    for got, expected in zip(restored.h.arrays, arrays_for(generation), strict=True):
        np.testing.assert_array_equal(got, expected)
    return generation


def temp_files(target: Path) -> list[Path]:
    return sorted(target.parent.glob(f".{target.name}.*.tmp"))


@pytest.fixture(scope="module")
def save_seconds(tmp_path_factory: pytest.TempPathFactory) -> float:
    """How long one save takes here, measured in the child (the first save is the slowest)."""
    target = tmp_path_factory.mktemp("timing") / "session.h5s"
    child = start_saver(target, 0, 3)
    times = [read_event(child)[2] for _ in range(6)][1::2]
    assert child.wait() == 0
    return float(np.median(times))


def test_sigkill_during_save_leaves_old_or_new_file(tmp_path: Path, save_seconds: float) -> None:
    """24 kills spread from 0% to 150% of a save: each time one complete generation.

    On a loaded machine a save can take longer than the timing fixture measured; then
    a few more kills at 2.5x, 3.5x... a save look for a moment after a completed replace.
    """
    target = tmp_path / "session.h5s"
    sessionh5.save(session_for(0), target, compress="gzip")
    seen: dict[int, int] = {}
    killed_mid_write = 0
    delays = [save_seconds * 1.5 * round_ / (KILLS - 1) for round_ in range(KILLS)]
    extra = iter(save_seconds * (1.5 + n) for n in range(1, _EXTRA_KILLS + 1))
    round_ = 0
    while round_ < len(delays):
        seen[round_], stray = _kill_one_save(target, round_, delays[round_], seen)
        killed_mid_write += stray
        round_ += 1
        if round_ == len(delays) and len(set(seen.values())) == 1:
            delays += [later for later in [next(extra, None)] if later is not None]
    print(f"{len(seen)} kills survived ({killed_mid_write} during the write); one save takes "
          f"{save_seconds:.2f} s; generation found after each kill: {seen}")
    assert killed_mid_write >= KILLS // 2  # the kills really landed inside saves
    assert len(set(seen.values())) > 1  # and some after a completed replace


_EXTRA_KILLS = 6


def _kill_one_save(target: Path, round_: int, delay: float, seen: dict[int, int]
                   ) -> tuple[int, int]:
    """Start a saver, SIGKILL it after ``delay`` s; the generation found and stray temp files."""
    first = 1000 * (round_ + 1)
    child = start_saver(target, first)
    kind, generation, _ = read_event(child)
    assert (kind, generation) == ("begin", first)
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    child.wait()
    done = [int(line.split()[1]) for line in child.stdout if line.startswith("done")]
    child.stdout.close()  # type: ignore[union-attr]
    last_done = done[-1] if done else previous_generation(seen, round_)
    got = assert_generation(target, {last_done, last_done + 1 if done else first})
    strays = temp_files(target)
    assert len(strays) <= 1
    for stray in strays:
        stray.unlink()
    return got, len(strays)


def previous_generation(seen: dict[int, int], round_: int) -> int:
    return seen[round_ - 1] if round_ else 0


def test_saving_over_a_file_open_for_reading(tmp_path: Path) -> None:
    """A reader keeps reading the old content; the writer does not fail."""
    target = tmp_path / "session.h5s"
    old, new = session_for(1), session_for(2)
    sessionh5.save(old, target)
    with open(target, "rb") as raw, h5py.File(target, "r") as h5:
        sessionh5.save(new, target)
        np.testing.assert_array_equal(h5["/h/arrays.0"][()], arrays_for(1)[0])
        restored = new_session(minimal=True)
        restored.restore(raw)
        assert restored.h.generation == 1
        np.testing.assert_array_equal(restored.h.arrays[1], arrays_for(1)[1])
    assert_generation(target, {2})
    assert temp_files(target) == []


class Exploding(Holder):
    """A manager whose snapshot fails, after the file has been started."""

    def take_snapshot(self, session: object, flags: int) -> object:
        raise ValueError("boom")


@pytest.mark.parametrize("fmt", ["hdf5", "stream"])
def test_a_failed_save_leaves_the_old_file_and_no_temporary(tmp_path: Path, fmt: str) -> None:
    """An error while saving removes the temporary file; the old file is byte-identical."""
    target = tmp_path / ("session.cxs" if fmt == "stream" else "session.h5s")
    sessionh5.save(session_for(1), target, format=fmt)
    before = target.read_bytes()
    broken = new_session(minimal=True)
    broken.a = Holder(data=np.ones(10_000))
    broken.b = Exploding()
    with pytest.raises(ValueError, match="boom"):
        sessionh5.save(broken, target, format=fmt)
    unsupported = new_session(minimal=True)
    unsupported.a = Holder(data=np.ones(10_000), bad=object())
    with pytest.raises(sessionh5.UnsupportedValueError):
        sessionh5.save(unsupported, target, format=fmt)
    assert target.read_bytes() == before
    assert temp_files(target) == []


def test_saving_where_fsync_needs_a_writable_handle_and_folders_cannot_be_opened(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    """Windows' rules, simulated: fsync of a file opened read-only fails (EBADF) and
    opening a folder is refused (EACCES). A save still replaces the file, whole."""
    import fcntl

    from sessionh5._containers import atomic

    real_open, real_fsync = os.open, os.fsync

    def open_no_folders(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if os.path.isdir(path):  # type: ignore[arg-type]
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    def fsync_writable_only(fd: int) -> None:
        if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY:
            raise OSError(9, "Bad file descriptor")
        real_fsync(fd)

    monkeypatch.setattr(atomic.os, "open", open_no_folders)
    monkeypatch.setattr(atomic.os, "fsync", fsync_writable_only)
    target = tmp_path / ("s.cxs" if fmt == "stream" else "s.h5s")
    for generation in (1, 2):
        session = new_session(minimal=True)
        session.h = Holder(generation=generation, data=np.arange(100_000) * generation)
        sessionh5.save(session, target)
    monkeypatch.undo()
    restored = new_session(minimal=True)
    restored.restore(target)
    assert restored.h.generation == 2
    assert np.array_equal(restored.h.data, np.arange(100_000) * 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]
