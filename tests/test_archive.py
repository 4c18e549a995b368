"""Big files, small questions: the read-only archive view, partial restore, restore progress.

Bytes are counted with a file object that sums what h5py reads through it, so
"reads only what it needs" is checked by the bytes actually read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import Box, CountingReader, Holder, new_session

import sessionh5
from sessionh5 import ArchiveObject, CorruptFileError, Session

PLANE = (64, 256)  # float64 planes of 128 KiB: one chunk holds 8 of them



def two_part_session() -> Session:
    """Managers 'maps' (a big volume) and 'atoms' (small objects, one shared with 'maps')."""
    rng = np.random.default_rng(7)
    session = new_session(minimal=True)
    session.metadata["creator"] = "Dr. Archive"
    shared = Box(label="shared")
    volume = Box(label="volume", data=rng.random((64, *PLANE)), peer=shared)
    atoms = [Box(label=f"atom {i}", xyz=[i, i + 0.5, -i], peer=shared) for i in range(50)]
    session.maps = Holder(volume=volume)
    session.atoms = Holder(atoms=atoms, coords=rng.random((20_000, 3)).astype(np.float32))
    return session


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("archive") / "two.h5s"
    sessionh5.save(two_part_session(), path)
    return path


def volume_path(archive: sessionh5.Archive) -> str:
    """Where the volume's array sits: its group is named after the Box's ordinal."""
    (volume,) = [o for o in archive.objects("maps") if o.location.startswith("/maps/Box ")]
    return f"{volume.location}/data"


def counted_restore(path: Path, **kwargs: Any) -> tuple[Session, int]:
    session = new_session(minimal=True)
    with CountingReader.of_path(path) as f:
        session.restore(f, **kwargs)
    return session, f.bytes_read


def test_archive_lists_metadata_managers_and_objects(saved: Path) -> None:
    """metadata, managers() and objects(tag) come from the index, nothing is restored."""
    with sessionh5.open_archive(saved) as archive:
        assert "Dr. Archive" in archive.metadata["creator"]
        assert archive.managers() == ["logger", "maps", "atoms"]
        every = archive.objects()
        atoms = archive.objects("atoms")
    assert len(every) == 3 + 2 + 50  # managers, volume, shared box and the atoms
    assert {o.tag for o in every} == {"logger", "maps", "atoms"}
    box = f"{Box.__module__}.Box"
    rows = [o for o in atoms if o.class_name == box]
    assert len(rows) == 50 and all(o.location.startswith("/atoms/Box[") for o in rows)
    assert ArchiveObject("helpers.Holder", 2, "/atoms", "atoms") in atoms


def test_archive_arrays_are_lazy_and_a_plane_reads_only_its_chunk(saved: Path) -> None:
    """Slicing one plane of an 8 MiB volume reads about one chunk, not the dataset."""
    with CountingReader.of_path(saved) as f, sessionh5.open_archive(f) as archive:
        arrays = archive.arrays()
        opened = f.bytes_read
        volume = arrays[volume_path(archive)]
        assert volume.shape == (64, *PLANE) and volume.dtype == np.float64
        before = f.bytes_read
        plane = volume[40]
        plane_bytes = f.bytes_read - before
        assert set(arrays) == {volume_path(archive), "/atoms/coords"}
    assert opened < 64 * 1024
    assert plane.shape == PLANE
    assert plane_bytes < 1.2 * 1024 * 1024  # the chunk holding plane 40 (8 planes)
    expected = two_part_session().maps.volume.data[40]
    np.testing.assert_array_equal(plane, expected)


def test_archive_dask_arrays_follow_the_dataset_chunks(saved: Path) -> None:
    """arrays(dask=True) gives dask arrays chunked like the datasets."""
    pytest.importorskip("dask")
    with sessionh5.open_archive(saved) as archive:
        volume = archive.arrays(dask=True)[volume_path(archive)]
        assert volume.chunks[1:] == ((PLANE[0],), (PLANE[1],))
        total = float(volume[:8].sum().compute())
    assert total == pytest.approx(float(two_part_session().maps.volume.data[:8].sum()))


def test_archive_refuses_a_stream_file(tmp_path: Path) -> None:
    """A flat stream has no random access: open_archive says it is not an HDF5 file."""
    path = tmp_path / "s.cxs"
    sessionh5.save(new_session(minimal=True), path)
    with pytest.raises(CorruptFileError, match="HDF5"), sessionh5.open_archive(path):
        pass


def test_partial_restore_brings_the_manager_and_what_it_references(saved: Path) -> None:
    """managers=['atoms']: the atoms and the shared box come back, the volume does not."""
    session, _ = counted_restore(saved, managers=["atoms"])
    assert "atoms" in session.state_manager_tags
    assert "maps" not in session.state_manager_tags
    atoms = session.atoms.atoms
    assert len(atoms) == 50 and atoms[3].xyz == [3, 3.5, -3]
    assert all(a.peer is atoms[0].peer for a in atoms)
    assert atoms[0].peer.label == "shared"
    assert not hasattr(session, "maps")


def test_partial_restore_reads_bytes_in_proportion_to_its_part(saved: Path) -> None:
    """Restoring 'atoms' (0.23 of 8.2 MiB of arrays) reads a matching share of the file."""
    _, whole = counted_restore(saved)
    _, part = counted_restore(saved, managers=["atoms"])
    coords = two_part_session().atoms.coords.nbytes
    assert whole > saved.stat().st_size * 0.9
    assert coords * 0.5 < part < coords + 256 * 1024  # its arrays, tables and the index


def test_restore_reports_progress_in_array_bytes(saved: Path) -> None:
    """progress(done, total) rises to total = the raw bytes of the arrays restored."""
    calls: list[tuple[int, int]] = []
    session = new_session(minimal=True)
    session.restore(saved.open("rb"), progress=lambda done, total: calls.append((done, total)))
    raw = two_part_session()
    total = raw.maps.volume.data.nbytes + raw.atoms.coords.nbytes
    assert calls[-1] == (total, total)
    assert len(calls) > 5 and {t for _, t in calls} == {total}
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_partial_restore_progress_counts_only_its_arrays(saved: Path) -> None:
    """With managers=['atoms'] the total is the coordinates alone."""
    calls: list[tuple[int, int]] = []
    new_session(minimal=True).restore(saved.open("rb"), managers=["atoms"],
                                      progress=lambda d, t: calls.append((d, t)))
    coords = two_part_session().atoms.coords.nbytes
    assert calls and calls[-1] == (coords, coords)
