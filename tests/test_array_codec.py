"""Layout 3's array chunks: plain h5py reads every array exactly, and a flipped byte in any
chunk is an error for plain h5py (Fletcher32) and a CorruptFileError for sessionh5 (xxh3).

Also the bounds of the Blosc decoder: a chunk whose header claims another size than the
chunk's, or another stored size than it has, is refused before c-blosc (or blosc1.py)
runs, even when every checksum agrees with the damage (a crafted file).
"""

from __future__ import annotations

import io
import struct

import h5py
import hdf5plugin
import numpy as np
import pytest
import xxhash
from helpers import Box, Holder, new_session

from sessionh5 import CorruptFileError, Session
from sessionh5._containers._hdf5 import blosc as blosc_module
from sessionh5._containers._hdf5.arrays import XXH3_ATTR, read_array, read_region
from sessionh5._containers._hdf5.compression import fletcher32

assert hdf5plugin.PLUGIN_PATH  # registers the Blosc filter for the plain-h5py reads below


def _arrays() -> dict[str, np.ndarray]:
    """Several chunks each (the last one short), of each kind the codec treats differently."""
    rng = np.random.default_rng(15)
    smooth = np.linspace(0, 3, 700 * 900, dtype="<f4").reshape(700, 900)
    return {
        "volume": smooth + rng.normal(0, 1e-3, smooth.shape).astype("<f4"),
        "coords": rng.normal(0, 50, (130_000, 3)).astype(">f8"),
        "labels": rng.integers(0, 4, 2_500_000).astype(np.uint8),
        "flags": rng.integers(0, 2, 2_300_000).astype(bool),
        "names": np.array([b"atom", b"x\x00y"] * 150_000, dtype="S4"),
        "text": np.array(["résidu", "", "Å"] * 40_000),
    }


@pytest.fixture(scope="module", params=["lz4", "gzip", None], ids=["lz4", "gzip", "none"])
def saved(request: pytest.FixtureRequest) -> tuple[bytes, dict[str, np.ndarray]]:
    arrays = _arrays()
    session = new_session()
    session.h = Holder(big=Box(**arrays))
    out = io.BytesIO()
    session.save(out, compress=request.param)
    return out.getvalue(), arrays


def _datasets(data: bytes) -> dict[str, tuple[str, list[tuple[int, int]]]]:
    """Array name -> (dataset path, (byte offset, size) of each stored chunk)."""
    found = {}
    with h5py.File(io.BytesIO(data), "r") as f:
        group = f["/h/Box 1"]
        for name, dataset in group.items():
            dsid = dataset.id
            chunks = [(dsid.get_chunk_info(i).byte_offset, dsid.get_chunk_info(i).size)
                      for i in range(dsid.get_num_chunks())]
            found[name] = (dataset.name, chunks)
    return found


def test_plain_h5py_reads_every_array_exactly(saved: tuple[bytes, dict[str, np.ndarray]]
                                              ) -> None:
    """Each array is a chunked dataset with several chunks; h5py returns its exact bytes."""
    data, arrays = saved
    with h5py.File(io.BytesIO(data), "r") as f:
        group = f["/h/Box 1"]
        assert sorted(group) == sorted(arrays)
        for name, array in arrays.items():
            dataset = group[name]
            assert dataset.id.get_num_chunks() >= 2, name
            assert dataset.attrs[XXH3_ATTR].shape == (dataset.id.get_num_chunks(),)
            stored = dataset[()]
            if array.dtype.kind == "U":
                array = array[..., np.newaxis].view("<u4")
            assert stored.dtype == array.dtype and stored.tobytes() == array.tobytes(), name


def test_sessionh5_restores_every_array_exactly(saved: tuple[bytes, dict[str, np.ndarray]]
                                                ) -> None:
    data, arrays = saved
    restored = Session("sessionh5-tests", silent=True)
    restored.restore(io.BytesIO(data))
    for name, array in arrays.items():
        got = getattr(restored.h.big, name)
        assert got.dtype == array.dtype and got.tobytes() == array.tobytes(), name


@pytest.mark.parametrize("where", [0.0, 0.3, -5, -1], ids=["first", "inside", "before-sum",
                                                           "last"])
def test_a_flipped_byte_in_any_chunk_is_an_error_for_both(
        saved: tuple[bytes, dict[str, np.ndarray]], where: float) -> None:
    """Every chunk of every array, at the chunk's first byte, inside it, just before its
    Fletcher32 and in it: plain h5py raises OSError, sessionh5 CorruptFileError naming the
    array."""
    data, _ = saved
    for name, (path, chunks) in _datasets(data).items():
        for number, (offset, size) in enumerate(chunks):
            position = offset + (int(size * where) if where >= 0 else size + int(where))
            damaged = bytearray(data)
            damaged[position] ^= 0x20
            with h5py.File(io.BytesIO(damaged), "r") as f:
                with pytest.raises(OSError):
                    f[path][()]
                with pytest.raises(CorruptFileError, match=rf"'{path}'.*chunk"):
                    read_array(f[path])
            if number == len(chunks) - 1 and name == "volume":
                restored = Session("sessionh5-tests", silent=True)
                with pytest.raises(CorruptFileError, match=path):
                    restored.restore(io.BytesIO(bytes(damaged)))


def _rewrite_chunk(dataset: h5py.Dataset, number: int, stored: bytes) -> None:
    """Replace a chunk by ``stored`` plus its Fletcher32, and record its xxh3: every
    checksum agrees with the new bytes, as in a crafted file."""
    dsid = dataset.id
    chunk = dsid.get_chunk_info(number).chunk_offset
    stored += fletcher32(stored).to_bytes(4, "little")
    dsid.write_direct_chunk(chunk, stored)
    hashes = dataset.attrs[XXH3_ATTR]
    hashes[number] = xxhash.xxh3_64_intdigest(stored)
    dataset.attrs[XXH3_ATTR] = hashes


@pytest.mark.parametrize("decoder", ["ctypes", "numpy"])
@pytest.mark.parametrize(("field", "value", "message"), [
    (4, 2**31 - 1, "declares 2147483647 bytes"),  # a bomb: far more than the chunk
    (4, 1024, "declares 1024 bytes"),
    (12, 2**20, "stored bytes"),
    (0, 7, "header format 7"),
])
def test_blosc_header_must_match_the_chunk(tmp_path, monkeypatch: pytest.MonkeyPatch,
                                           decoder: str, field: int, value: int,
                                           message: str) -> None:
    """Sizes are checked against the chunk before c-blosc decodes (nothing is allocated
    from what the header claims), also before blosc1.py does where c-blosc cannot be
    called; plain h5py's own decoding of such a file is not ours."""
    session = new_session()
    session.h = Holder(big=Box(data=np.arange(300_000, dtype="<i8")))
    path = tmp_path / "s.h5s"
    session.save(path)
    with h5py.File(path, "r+") as f:
        dataset = f["/h/Box 1/data"]
        stored = bytearray(dataset.id.read_direct_chunk(
            dataset.id.get_chunk_info(1).chunk_offset)[1][:-4])
        if field == 0:
            stored[0] = value
        else:
            struct.pack_into("<I", stored, field, value)
        _rewrite_chunk(dataset, 1, bytes(stored))
    if decoder == "numpy":
        monkeypatch.setattr(blosc_module, "_FUNCTIONS", None)
    with h5py.File(path, "r") as f:
        with pytest.raises(CorruptFileError, match=message):
            read_array(f["/h/Box 1/data"])
        with pytest.raises(CorruptFileError, match=message):
            read_region(f["/h/Box 1/data"], (slice(0, 300_000),))


def test_damaged_hash_attribute_is_corrupt(tmp_path) -> None:
    """A hash list of the wrong length is damage, reported, not a reason to skip checks."""
    session = new_session()
    session.h = Holder(big=Box(data=np.arange(300_000, dtype="<i8")))
    path = tmp_path / "s.h5s"
    session.save(path)
    with h5py.File(path, "r+") as f:
        f["/h/Box 1/data"].attrs[XXH3_ATTR] = np.zeros(1, np.uint64)
    with h5py.File(path, "r") as f, pytest.raises(CorruptFileError, match="one uint64 per chunk"):
        read_array(f["/h/Box 1/data"])
