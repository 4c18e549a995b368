"""Files written by each released layout version still restore to the same session.

The files in tests/data/layouts/ are never regenerated (see the README there); a
failure here means a change broke reading files that users already have.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import pytest
from golden_classes import APP, GoldenItem, GoldenManager, golden_session
from helpers import _Comparer

import sessionh5
from sessionh5 import Session
from sessionh5._hdf5.layout import LAYOUT_VERSION, READABLE_LAYOUTS

LAYOUTS = Path(__file__).resolve().parent / "data" / "layouts"
GOLDEN = sorted(p for p in LAYOUTS.glob("v*/*") if p.suffix in (".h5s", ".cxs"))
#: Metadata that depends on when and where the files were written.
TIMESTAMPS = {"created", "modified", "generator", "dateCopyrighted", "session_version"}


class _SessionAware(_Comparer):
    """The strict comparer, except that each side's own session counts as the same value."""

    def same(self, e: object, a: object, path: str) -> None:
        if not (isinstance(e, Session) and isinstance(a, Session)):
            super().same(e, a, path)


def test_golden_files_exist() -> None:
    """Four files (two containers, two compressions) for every layout version read."""
    assert LAYOUT_VERSION in READABLE_LAYOUTS
    names = ["session-gzip.cxs", "session-gzip.h5s", "session-lz4.cxs", "session-lz4.h5s"]
    assert [p.relative_to(LAYOUTS).as_posix() for p in GOLDEN] == [
        f"v{version}/{name}" for version in sorted(READABLE_LAYOUTS) for name in names]
    assert sum(p.stat().st_size for p in GOLDEN) < 200_000


@pytest.mark.parametrize("path", [p for p in GOLDEN if p.suffix == ".h5s"],
                         ids=lambda p: p.relative_to(LAYOUTS).as_posix())
def test_golden_hdf5_file_has_its_folders_layout_version(path: Path) -> None:
    """A file in ``v<N>/`` was written by layout N's writer (so each reader path runs)."""
    with h5py.File(path, "r") as f:
        assert int(f.attrs["sessionh5-layout-version"]) == int(path.parent.name[1:])


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.relative_to(LAYOUTS).as_posix())
def test_golden_file_restores_to_the_expected_session(path: Path) -> None:
    """Every manager, object, array (dtype, byte order, bits), model, alias and log line."""
    expected = golden_session(cycle=path.suffix == ".h5s")
    restored = Session(APP, silent=True)
    with open(path, "rb") as stream:
        report = restored.restore(stream)
    assert report.ok and report.skipped == []
    assert restored.state_manager_tags == expected.state_manager_tags
    for tag in expected.state_manager_tags:
        _SessionAware().same(expected.get_state_manager(tag), restored.get_state_manager(tag),
                             tag)
    assert type(restored.golden) is GoldenManager
    a, b = restored.golden.items[:2]
    assert type(a) is GoldenItem and b.peer is a
    assert (getattr(a, "peer", None) is b) == (path.suffix == ".h5s")
    plain = {k: v for k, v in restored.metadata.items() if k not in TIMESTAMPS}
    assert plain.pop("creator")[0] == "sessionh5 tests"  # then whoever saved it
    assert plain == {"title": "golden v1"}


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.relative_to(LAYOUTS).as_posix())
def test_golden_file_validates_clean(path: Path) -> None:
    assert sessionh5.validate(path) == []
