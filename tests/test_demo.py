"""The demo: a realistic session is built, saved, restored and verified equal."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from sessionh5._tools.demo import (
    AtomsModel,
    MarkerSet,
    VolumeModel,
    build_session,
    compare_sessions,
    run_demo,
)


def test_demo_session_has_the_promised_contents() -> None:
    """Volume, atoms with per-atom attributes, a child marker set, view, aliases and log."""
    session = build_session(scale=0.01)
    volume, atoms, markers = session.models.list()
    assert isinstance(volume, VolumeModel) and volume.data.dtype == np.float32
    assert volume.data.ndim == 3
    assert isinstance(atoms, AtomsModel) and atoms.coords.shape == (10_000, 3)
    assert {a.dtype.str for a in (atoms.element, atoms.residue, atoms.bfactor, atoms.names)} \
        == {"|u1", "<i4", "<f4", "|S4"}
    assert isinstance(markers, MarkerSet) and markers.parent is atoms
    assert all(m.atoms is atoms for m in markers.markers)
    assert session.main_view.window_size == (1280, 800)
    assert len(session.user_aliases) == 2 and len(session.logger.messages) == 4


def test_full_scale_sizes_are_as_promised() -> None:
    """At scale 1 the volume is 256**3 float32 (64 MiB) and there are 1M atoms (arithmetic)."""
    from sessionh5._tools.demo import ATOM_COUNT, VOLUME_SIDE

    assert VOLUME_SIDE**3 * 4 >= 64 * 2**20
    assert ATOM_COUNT == 1_000_000


def test_run_demo_verifies_and_reports_numbers(tmp_path: Path) -> None:
    """run_demo saves, restores and verifies; the result carries sizes and times."""
    out = io.StringIO()
    result = run_demo(tmp_path / "demo.h5s", scale=0.02, out=out)
    assert result.verified, result.problems
    assert result.path == tmp_path / "demo.h5s" and result.path.exists()
    assert result.file_size == result.path.stat().st_size
    assert result.raw_bytes is not None and result.raw_bytes > 1_000_000
    assert result.compression_ratio is not None and result.compression_ratio > 1
    assert result.save_seconds > 0 and result.restore_seconds > 0
    text = out.getvalue()
    assert "models" in text and "VolumeModel 1" in text and "ratio" in text
    assert text.rstrip().endswith("verified: restored session equals the original")


def test_run_demo_without_path_removes_its_temporary_file() -> None:
    """Without a path the file goes to a temporary folder that is removed afterwards."""
    result = run_demo(scale=0.005, out=io.StringIO())
    assert result.verified and result.path is None


def test_verification_notices_a_changed_array() -> None:
    """compare_sessions is not vacuous: a changed voxel or alias is reported."""
    original = build_session(scale=0.005)
    other = build_session(scale=0.005)
    assert list(compare_sessions(original, other)) == []
    other.models.list()[0].data[0, 0, 0] += 1
    other.user_aliases["extra"] = "x"
    problems = list(compare_sessions(original, other))
    assert any("array values differ" in p for p in problems)
    assert any("aliases" in p for p in problems)


def test_verification_notices_a_dtype_change() -> None:
    """An array that comes back with another dtype is a difference."""
    original = build_session(scale=0.005)
    other = build_session(scale=0.005)
    atoms = other.models.list()[1]
    atoms.residue = atoms.residue.astype(np.int64)
    assert any("residue" in p for p in compare_sessions(original, other))


def test_python_m_sessionh5_demo_runs(tmp_path: Path) -> None:
    """`python -m sessionh5 demo --scale 0.02` exits 0 and says it verified."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    done = subprocess.run([sys.executable, "-m", "sessionh5", "demo", "--scale", "0.02"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert "verified: restored session equals the original" in done.stdout
    assert done.stderr == ""
