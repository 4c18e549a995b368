"""Big files, small questions: the read-only archive view, partial restore, restore progress.

Bytes are counted with a file object that sums what h5py reads through it, so
"reads only what it needs" is checked by the bytes actually read.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from helpers import Box, CountingReader, Holder, new_session

import sessionh5
from sessionh5 import ArchiveObject, CorruptFileError, Session, UsageError

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


def test_archive_refuses_a_stream_file_and_says_what_reads_it(tmp_path: Path) -> None:
    """A flat stream has no random access: the message names restore and convert."""
    path = tmp_path / "s.cxs"
    sessionh5.save(new_session(minimal=True), path)
    with pytest.raises(UsageError, match=r"s\.cxs' is a session stream.*Session\.restore "
                                         r"reads it whole.*sessionh5\.convert"):
        sessionh5.open_archive(path)


def test_open_archive_returns_the_archive_itself(saved: Path) -> None:
    """Usable without ``with``, like open() and h5py.File; close() twice is fine."""
    archive = sessionh5.open_archive(saved)
    assert isinstance(archive, sessionh5.Archive) and not archive.closed
    assert archive.managers() == ["logger", "maps", "atoms"]
    archive.close()
    archive.close()
    assert archive.closed
    assert repr(archive) == f"<sessionh5.Archive {str(saved)!r} (closed)>"


@pytest.mark.parametrize("use", [
    pytest.param(lambda a: a.metadata, id="metadata"),
    pytest.param(lambda a: a.managers(), id="managers"),
    pytest.param(lambda a: a.objects(), id="objects"),
    pytest.param(lambda a: a.arrays(), id="arrays"),
    pytest.param(lambda a: a.__enter__(), id="with"),
])
def test_a_closed_archive_says_it_is_closed(saved: Path, use: Any) -> None:
    archive = sessionh5.open_archive(saved)
    archive.close()
    with pytest.raises(UsageError, match=r"the archive '.*two\.h5s' is closed; read from it"):
        use(archive)


def test_arrays_taken_from_an_archive_refuse_once_it_is_closed(saved: Path) -> None:
    """A kept array (or a dask array over it) raises UsageError, not an h5py error."""
    with sessionh5.open_archive(saved) as archive:
        volume = archive.arrays()[volume_path(archive)]
        plane = volume[3]
    assert archive.closed and plane.shape == PLANE
    with pytest.raises(UsageError, match="is closed"):
        volume[0]
    with pytest.raises(UsageError, match="is closed"):
        np.asarray(volume)
    assert "(closed archive)" in repr(volume)


def test_dask_arrays_refuse_once_the_archive_is_closed(saved: Path) -> None:
    pytest.importorskip("dask")
    archive = sessionh5.open_archive(saved)
    volume = archive.arrays(dask=True)[volume_path(archive)]
    archive.close()
    with pytest.raises(UsageError, match="is closed"):
        volume.sum().compute()


def corrupt_chunk(path: Path, target: Path, dataset: str, coord: tuple[int, ...]) -> None:
    """A copy of ``path`` with one byte flipped inside the chunk at ``coord``."""
    with h5py.File(path, "r") as f:
        offset = f[dataset].id.get_chunk_info_by_coord(coord).byte_offset
    data = bytearray(path.read_bytes())
    data[offset + 64] ^= 0xFF
    target.write_bytes(bytes(data))


def test_a_damaged_chunk_is_a_corrupt_file_error_naming_array_and_chunk(
        saved: Path, tmp_path: Path) -> None:
    """HDF5 says only "filter returned failure"; the archive finds the chunk."""
    with sessionh5.open_archive(saved) as archive:
        where = volume_path(archive)
    bad = tmp_path / "bad.h5s"
    corrupt_chunk(saved, bad, where, (40, 0, 0))
    with sessionh5.open_archive(bad) as archive:
        volume = archive.arrays()[where]
        assert volume[10:20].shape == (10, *PLANE)  # other chunks still read
        message = rf"array '{re.escape(where)}' in '.*bad\.h5s': chunk \(5, 0, 0\) " \
                  r"\(elements \[40:48, 0:64, 0:256\]\) fails its checksum"
        with pytest.raises(CorruptFileError, match=message):
            volume[30:50, 2]
        if importlib.util.find_spec("dask") is not None:
            with pytest.raises(CorruptFileError, match=message):
                archive.arrays(dask=True)[where].sum().compute()


def test_archive_arrays_keep_string_and_datetime_dtypes(tmp_path: Path) -> None:
    """Stored as code points and integers, read back in the saved dtype, sliced."""
    names = np.array([f"atom-{i}" for i in range(40_000)])
    times = np.arange(40_000).astype("datetime64[ms]")
    session = new_session(minimal=True)
    session.holder = Holder(names=names, times=times)
    path = sessionh5.save(session, tmp_path / "typed.h5s")
    with sessionh5.open_archive(path) as archive:
        arrays = archive.arrays()
        stored_names = arrays["/holder/names"]
        assert (stored_names.shape, stored_names.dtype) == (names.shape, names.dtype)
        np.testing.assert_array_equal(stored_names[100:105], names[100:105])
        assert stored_names[7] == "atom-7" and stored_names.chunks is not None
        assert np.asarray(arrays["/holder/times"]).dtype == times.dtype
        np.testing.assert_array_equal(arrays["/holder/times"][-3:], times[-3:])


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


# --- tables: small objects as rows, without the application's classes -------------------


def test_table_is_a_dataframe_of_fields_with_references_as_class_and_ordinal(
        saved: Path) -> None:
    """The 50 atoms of 'atoms': one row each, indexed by ordinal, the peer a (class, n)."""
    pandas = pytest.importorskip("pandas")
    with sessionh5.open_archive(saved) as archive:
        atoms = archive.table("atoms", "Box")
        maps = archive.table("maps", "Box")
    assert isinstance(atoms, pandas.DataFrame) and len(atoms) == 50
    assert atoms.index.name == "ordinal" and list(atoms.index) == sorted(atoms.index)
    assert list(atoms.columns) == ["label", "xyz", "peer"]
    assert atoms.iloc[3]["label"] == "atom 3" and atoms.iloc[3]["xyz"] == [3, 3.5, -3]
    shared = maps.index[maps["label"] == "shared"][0]  # stored under the first manager
    assert set(atoms["peer"]) == {(f"{Box.__module__}.Box", shared)}


def test_table_without_pandas_is_a_dict_of_columns(
        saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with sessionh5.open_archive(saved) as archive:
        atoms = archive.table("atoms", f"{Box.__module__}.Box")
    assert isinstance(atoms, dict) and set(atoms) == {"ordinal", "label", "xyz", "peer"}
    assert len(atoms["ordinal"]) == 50 and atoms["label"][:2] == ["atom 0", "atom 1"]


def test_table_rows_of_objects_with_their_own_arrays_hold_lazy_arrays(saved: Path) -> None:
    pytest.importorskip("pandas")
    with sessionh5.open_archive(saved) as archive:
        maps = archive.table("maps", "Box")
        (volume,) = [a for a in maps["data"] if a is not None]
        assert volume.shape == (64, *PLANE) and volume[5].shape == PLANE


def test_small_arrays_of_rows_are_listed_and_lazy_too(tmp_path: Path) -> None:
    """Arrays kept in a table's pools are listed by arrays() under their row and field, like
    big arrays: lazy, exact when read, the same objects table() shows, and refusing once
    the archive is closed. Listing them reads no pool."""
    import pickle

    session = new_session(minimal=True)
    cells = [Box(label=f"cell {i}", profile=np.arange(300, dtype=np.float32) + i,
                 parts=[np.full((2, 3), i, np.int16)]) for i in range(20)]
    session.cells = Holder(cells=cells, big=np.zeros((512, 1024)))
    path = tmp_path / "cells.h5s"
    sessionh5.save(session, path)
    with CountingReader.of_path(path) as f, sessionh5.open_archive(f) as archive:
        listed = archive.arrays()
        rows = {o.location: o for o in archive.objects("cells") if "[" in o.location}
        before = f.bytes_read
        profile = listed[f"{next(iter(rows))}/profile"]
        assert profile.shape == (300,) and profile.dtype == np.float32 and profile.ndim == 1
        assert f.bytes_read == before  # nothing read yet
        table = archive.table("cells", "Box")
        column = table["profile"] if isinstance(table, dict) else list(table["profile"])
        for where, found in rows.items():
            i = int(found.ordinal) - min(o.ordinal for o in rows.values())
            assert np.array_equal(listed[f"{where}/profile"][10:20],
                                  np.arange(10, 20, dtype=np.float32) + i)
            part = np.asarray(listed[f"{where}/parts/0"])
            assert part.dtype == np.int16 and np.array_equal(part, np.full((2, 3), i, np.int16))
        assert [np.asarray(a)[0] for a in column] == [np.float32(i) for i in range(20)]
        with pytest.raises(UsageError, match="cannot leave this process"):
            pickle.dumps(profile)  # a file object cannot be reopened elsewhere
    with sessionh5.open_archive(path) as archive:  # by path: it travels
        some = next(a for k, a in archive.arrays().items() if k.endswith("/profile"))
        assert np.array_equal(pickle.loads(pickle.dumps(some))[:], some[:])  # noqa: S301
    assert sorted(k.rsplit("/", 1)[-1] for k in listed if "[" not in k) == ["big"]
    assert len(listed) == 1 + 2 * 20
    with pytest.raises(UsageError, match="is closed"):
        profile[0]


def test_pooled_arrays_of_every_kind_read_back_exactly(tmp_path: Path) -> None:
    """0-d, empty, text, records, datetimes, complex and bool arrays of rows: each listed
    lazy array reads back with its saved dtype, shape and values."""
    kinds = {"zero_d": np.array(3.5), "empty": np.zeros((0, 4), np.int8),
             "text": np.array(["ab", "cde"]),
             "rec": np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]),
             "when": np.array(["2020-01-01"], "datetime64[D]"), "cplx": np.array([1 + 2j]),
             "flags": np.array([True, False])}
    session = new_session(minimal=True)
    session.cells = Holder(items=[Box(**kinds), Box(**kinds)])
    path = sessionh5.save(session, tmp_path / "kinds.h5s")
    with sessionh5.open_archive(path) as archive:
        listed = archive.arrays()
        assert len(listed) == 2 * len(kinds)
        for where, lazy in listed.items():
            want = kinds[where.rsplit("/", 1)[-1]]
            got = np.asarray(lazy)
            assert (lazy.shape, lazy.dtype) == (want.shape, want.dtype), where
            assert type(got) is np.ndarray and got.dtype == want.dtype, where
            assert np.array_equal(got, want), where


def test_table_says_what_there_is_when_asked_for_nothing(saved: Path) -> None:
    with sessionh5.open_archive(saved) as archive:
        with pytest.raises(UsageError, match=r"no manager 'cells'; it has \['logger', 'maps', "
                                             r"'atoms'\]"):
            archive.table("cells", "Box")
        with pytest.raises(UsageError, match=r"no objects of that class under 'atoms' "
                                             r"\('Cell'\); there are: helpers\.Holder \(1\), "
                                             r"helpers\.Box \(50\)"):
            archive.table("atoms", "Cell")
