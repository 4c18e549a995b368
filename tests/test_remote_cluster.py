"""Lazy arrays that travel: pickled, reopened once per process, computed on a cluster.

The cluster is dask.distributed's LocalCluster with two worker processes of one
thread each (the ``dask_client`` fixture of conftest.py, started once per test run).
A dask array from ``open_archive(path)`` or ``open_archive("s3://...")`` is sent to
the workers as pickled ArchiveArrays: each worker reopens the file once (counted in
the worker), reads chunks through sessionh5's checked chunk reader, and the sum and
mean of a 100 MiB volume equal numpy's on the original array. A damaged chunk read
on a worker is a CorruptFileError in the client that names the array.
"""

from __future__ import annotations

import io
import pickle
import shutil
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from helpers import Holder, new_session

import sessionh5
from sessionh5 import CorruptFileError, UsageError
from sessionh5._containers._hdf5.shared import open_count

pytest.importorskip("dask.array")

VOLUME_SHAPE = (200, 512, 512)  # uint16: 100 MiB in 1 MiB chunks of two planes
LOCATION = "/h/volume"


def volume() -> np.ndarray:
    """Smooth ramps plus noise: every value differs, yet it compresses (a smaller object
    makes each ranged GET of moto's server, which copies the object, cheaper)."""
    z, y, x = (np.arange(n, dtype=np.uint16) for n in VOLUME_SHAPE)
    ramps = z[:, None, None] * 37 + y[None, :, None] * 3 + (x // 8)[None, None, :]
    return ramps + np.random.default_rng(11).integers(0, 8, VOLUME_SHAPE, dtype=np.uint16)


@pytest.fixture(scope="module")
def original() -> np.ndarray:
    return volume()


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory, original: np.ndarray) -> Path:
    session = new_session()
    session.h = Holder(volume=original, label="big")
    path = tmp_path_factory.mktemp("cluster") / "volume.h5s"
    sessionh5.save(session, path)
    return path


def test_an_array_pickles_as_where_it_is_and_reads_the_same(saved: Path,
                                                           original: np.ndarray) -> None:
    with sessionh5.open_archive(saved) as archive:
        array = archive.arrays()[LOCATION]
        data = pickle.dumps(array)
    assert len(data) < 1000  # an address, not the data
    again = pickle.loads(data)  # noqa: S301 - our own bytes; the copy reopens the file
    assert again.shape == VOLUME_SHAPE and again.dtype == np.uint16
    assert np.array_equal(again[7, 100:110], original[7, 100:110])
    assert np.array_equal(pickle.loads(data)[3], original[3])  # noqa: S301
    assert open_count(str(saved)) == 1  # both copies share this process's open file


def test_an_array_of_a_file_object_archive_says_it_cannot_leave(saved: Path,
                                                                original: np.ndarray) -> None:
    with saved.open("rb") as stream, sessionh5.open_archive(stream) as archive:
        array = archive.arrays()[LOCATION]
        with pytest.raises(UsageError, match=r"array '/h/volume' cannot leave this process: "
                                             r"its archive .* was opened from a file object"):
            pickle.dumps(array)
        # The threaded scheduler needs no pickling: it works.
        dask_array = archive.arrays(dask=True)[LOCATION]
        assert int(dask_array[:2].sum().compute(scheduler="threads")) == \
            int(original[:2].sum(dtype=np.int64))


def _check_on_cluster(client: Any, source: str, options: Any, original: np.ndarray) -> None:
    with sessionh5.open_archive(source, storage_options=options) as archive:
        array = archive.arrays(dask=True)[LOCATION]
        total, mean = client.compute([array.sum(dtype=np.int64), array.mean()], sync=True)
    assert total == original.sum(dtype=np.int64)
    assert mean == original.mean()
    opened = client.run(open_count, source)
    assert sorted(opened.values()) == [1, 1], opened  # each worker once, not once per chunk


def test_a_dask_array_from_a_path_computes_on_a_process_cluster(
        dask_client: Any, saved: Path, original: np.ndarray) -> None:
    _check_on_cluster(dask_client, str(saved), None, original)


def test_a_dask_array_from_s3_computes_on_a_process_cluster(
        dask_client: Any, s3_server: Any, bucket: str, saved: Path,
        original: np.ndarray) -> None:
    import s3fs

    s3fs.S3FileSystem(**s3_server.storage_options).put_file(str(saved),
                                                            f"{bucket}/volume.h5s")
    _check_on_cluster(dask_client, f"s3://{bucket}/volume.h5s", s3_server.storage_options,
                      original)


def test_a_damaged_chunk_on_a_worker_is_a_corrupt_file_error_naming_the_array(
        dask_client: Any, saved: Path, tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.h5s"
    shutil.copy(saved, damaged)
    with h5py.File(damaged, "r") as file:
        chunk = file[LOCATION].id.get_chunk_info_by_coord((150, 0, 0))
    with damaged.open("r+b") as out:
        out.seek(chunk.byte_offset + chunk.size // 2)
        byte = out.read(1)
        out.seek(-1, io.SEEK_CUR)
        out.write(bytes([byte[0] ^ 0x40]))
    with sessionh5.open_archive(damaged) as archive:
        array = archive.arrays(dask=True)[LOCATION]
        with pytest.raises(CorruptFileError, match=r"/h/volume"):
            dask_client.compute(array.sum(), sync=True)


def test_a_closed_archive_s_arrays_refuse_to_travel(saved: Path) -> None:
    archive = sessionh5.open_archive(saved)
    array = archive.arrays()[LOCATION]
    archive.close()
    with pytest.raises(UsageError, match="is closed"):
        pickle.dumps(array)


def test_close_reopened_files_closes_this_process_s_copies(saved: Path,
                                                          original: np.ndarray) -> None:
    with sessionh5.open_archive(saved) as archive:
        data = pickle.dumps(archive.arrays()[LOCATION])
    copy = pickle.loads(data)  # noqa: S301 - our own bytes
    assert np.array_equal(copy[1], original[1])
    assert sessionh5.close_reopened_files() >= 1
    assert np.array_equal(copy[2], original[2])  # used again: its file is reopened


def test_a_missing_dask_is_a_usage_error_naming_the_package(
        saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "dask.array", None)
    with sessionh5.open_archive(saved) as archive, \
            pytest.raises(UsageError, match=r"arrays\(dask=True\) needs dask, which is not "
                                            r'installed; install it with: pip install '
                                            r'"sessionh5\[dask\]"'):
        archive.arrays(dask=True)
