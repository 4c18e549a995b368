"""A save that cannot be completed says so, names the user's path, and loses nothing.

A full disk is simulated with RLIMIT_FSIZE in a child process (tests/fault_saver.py,
SIGXFSZ ignored): the write fails midway or in the file's last KiB. Unwritable
targets (a missing folder, a folder in the way, a folder this process may not write
in) are refused before the session is walked or the source is read. Each time:
WriteError (a SaveError and an OSError) naming the path the caller gave, the cause
chained, the earlier file byte for byte as it was, and no temporary file anywhere.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fault_saver import generation
from helpers import Box, CountingReader, Holder, new_session

import sessionh5
from sessionh5 import SaveError, State, WriteError

TESTS = Path(__file__).resolve().parent


@pytest.mark.parametrize("fmt", ["hdf5", "stream"])
def test_a_full_disk_midway_or_in_the_last_kib_keeps_the_old_file(fmt: str,
                                                                  tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(TESTS.parent)])}
    result = subprocess.run([sys.executable, str(TESTS / "fault_saver.py"), str(tmp_path), fmt],
                            capture_output=True, text=True, timeout=300, env=env, check=True)
    first, *attempts = [json.loads(line) for line in result.stdout.splitlines()]
    target = tmp_path / ("session.h5s" if fmt == "hdf5" else "session.cxs")
    assert len(attempts) == 3
    assert attempts[0]["limit"] < attempts[0]["size"] // 2 + 1  # midway ...
    assert [a["size"] - a["limit"] for a in attempts[1:]] == [1000, 100]  # ... and the last KiB
    for attempt in attempts:
        assert attempt["error"] == "WriteError", attempt
        assert attempt["errno"] == errno.EFBIG and attempt["filename"] == str(target)
        assert attempt["message"] == (f"cannot save to {str(target)!r}: "
                                      f"{os.strerror(errno.EFBIG)}; the file there is unchanged")
        assert attempt["cause"] in ("OSError", "RuntimeError")  # h5py's, or the write's
        assert attempt["sha256"] == first["sha256"]
        assert attempt["files"] == [target.name]  # no temporary file left
    assert hashlib.sha256(target.read_bytes()).hexdigest() == first["sha256"]
    restored = new_session(minimal=True)
    restored.restore(target)
    assert restored.h.generation == 1
    np.testing.assert_array_equal(restored.h.volume, generation(1).h.volume)


class Watched(State):
    """Counts its snapshots, so a test sees whether a save walked the session."""

    SESSION_NAME = "test_save_faults.Watched"
    snapshots = 0

    def take_snapshot(self, session: Any, flags: int) -> dict[str, Any]:
        Watched.snapshots += 1
        return {}

    @classmethod
    def restore_snapshot(cls, session: Any, data: dict[str, Any]) -> Watched:
        return cls()


def watched_session() -> sessionh5.Session:
    Watched.snapshots = 0
    session = new_session(minimal=True)
    session.h = Holder(watched=Watched(), rows=[Box(v=1)])
    return session


def listing(*folders: Path) -> dict[str, list[str]]:
    return {str(f): sorted(os.listdir(f)) for f in folders}


def unwritable(tmp_path: Path, case: str) -> tuple[Path, int, str]:
    """A target of kind ``case``, the errno expected and what the message says."""
    if case == "missing-folder":
        return tmp_path / "no" / "such" / "x.h5s", errno.ENOENT, "does not exist"
    if case == "folder-is-a-file":
        (tmp_path / "plain").write_bytes(b"data")
        return tmp_path / "plain" / "x.h5s", errno.ENOTDIR, "is not a folder"
    if case == "target-is-a-folder":
        (tmp_path / "x.h5s").mkdir()
        return tmp_path / "x.h5s", errno.EISDIR, "it is a folder"
    raise ValueError(case)


CASES = ["missing-folder", "folder-is-a-file", "target-is-a-folder"]


@pytest.mark.parametrize("case", CASES)
def test_an_unwritable_target_is_refused_before_the_session_is_walked(case: str,
                                                                      tmp_path: Path) -> None:
    target, code, reason = unwritable(tmp_path, case)
    before = listing(tmp_path, tmp_path.parent)
    with pytest.raises(WriteError) as info:
        sessionh5.save(watched_session(), target)
    error = info.value
    assert isinstance(error, SaveError) and isinstance(error, OSError)
    assert (error.errno, error.filename) == (code, str(target))
    assert str(error).startswith(f"cannot save to {str(target)!r}: ") and reason in str(error)
    assert Watched.snapshots == 0  # refused before any work
    assert listing(tmp_path, tmp_path.parent) == before  # nothing written anywhere


@pytest.mark.parametrize("case", CASES)
def test_convert_refuses_an_unwritable_target_before_reading_the_source(
        case: str, tmp_path: Path) -> None:
    data = io.BytesIO()
    watched_session().save(data)
    source = CountingReader.of_bytes(data.getvalue())
    target, code, reason = unwritable(tmp_path, case)
    before = listing(tmp_path)
    with pytest.raises(WriteError, match=reason) as info:
        sessionh5.convert(source, target)
    assert (info.value.errno, info.value.filename) == (code, str(target))
    assert source.bytes_read == 0
    assert listing(tmp_path) == before


@pytest.mark.parametrize("case", CASES)
def test_the_command_line_names_the_unwritable_target(case: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from sessionh5._cli import main

    source = tmp_path / "source.h5s"
    sessionh5.save(watched_session(), source)
    target, _, reason = unwritable(tmp_path, case)
    assert main(["convert", str(source), str(target)]) == 1
    message = capsys.readouterr().err
    assert message.startswith(f"sessionh5: error: cannot save to {str(target)!r}: ")
    assert reason in message and message.count("\n") == 1


_READ_ONLY_CHILD = """
import json, os, sys
sys.path[:0] = sys.argv[3:5]
from test_save_faults import Watched, watched_session
import sessionh5
try:
    sessionh5.save(watched_session(), sys.argv[1])
    print(json.dumps({"error": None}))
except Exception as exc:
    print(json.dumps({"error": type(exc).__name__, "errno": exc.errno, "filename":
                      exc.filename, "message": str(exc), "snapshots": Watched.snapshots}))
"""


def _without_dac_override() -> None:
    """In the child, before exec: root too must obey folder permissions (no DAC override)."""
    if os.getuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
            if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="folder permissions as on Linux")
def test_a_read_only_folder_is_refused_with_nothing_written(tmp_path: Path) -> None:
    """Run in a child that cannot override permissions (root otherwise writes anywhere)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    (folder / "old.h5s").write_bytes(b"an earlier file")
    target = folder / "old.h5s"
    folder.chmod(0o555)
    try:
        result = subprocess.run(
            [sys.executable, "-c", _READ_ONLY_CHILD, str(target), "", str(TESTS),
             str(TESTS.parent)], capture_output=True, text=True, timeout=120,
            preexec_fn=_without_dac_override)
    finally:
        folder.chmod(0o755)
    if "prctl" in result.stderr:
        pytest.skip("cannot drop CAP_DAC_OVERRIDE here, so root writes anywhere")
    outcome = json.loads(result.stdout)
    assert outcome["error"] == "WriteError", (outcome, result.stderr)
    assert (outcome["errno"], outcome["filename"]) == (errno.EACCES, str(target))
    assert outcome["message"] == (f"cannot save to {str(target)!r}: no permission to create "
                                  f"files in {str(folder)!r}")
    assert outcome["snapshots"] == 0
    assert os.listdir(folder) == ["old.h5s"] and target.read_bytes() == b"an earlier file"


_URL_CHILD = """
import json, resource, signal, sys
sys.path[:0] = sys.argv[1:3]
import fsspec
import sessionh5
from fault_saver import generation
url, key = "memory://bucket/s.h5s", "/bucket/s.h5s"
sessionh5.save(generation(1), url)
before = fsspec.filesystem("memory").cat_file(key)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, resource.RLIM_INFINITY))
try:
    sessionh5.save(generation(2), url)
    outcome = {"error": None}
except Exception as exc:
    outcome = {"error": type(exc).__name__, "errno": exc.errno, "filename": exc.filename,
               "message": str(exc)}
resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
outcome["unchanged"] = fsspec.filesystem("memory").cat_file(key) == before
print(json.dumps(outcome))
"""


def test_a_full_scratch_disk_while_saving_to_a_url_names_the_url() -> None:
    """A URL is written to a local scratch file first: when that fails, the error names
    the URL, and the object there is left as it was."""
    pytest.importorskip("fsspec")
    result = subprocess.run([sys.executable, "-c", _URL_CHILD, str(TESTS), str(TESTS.parent)],
                            capture_output=True, text=True, timeout=120, check=True)
    outcome = json.loads(result.stdout)
    assert outcome["error"] == "WriteError", (outcome, result.stderr[-2000:])
    assert (outcome["errno"], outcome["filename"]) == (errno.EFBIG, "memory://bucket/s.h5s")
    assert outcome["message"] == ("cannot save to 'memory://bucket/s.h5s': File too large; "
                                  "nothing was uploaded; an earlier object there is unchanged")
    assert outcome["unchanged"]
