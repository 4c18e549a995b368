"""Every read and write path without the ctypes calls (c-blosc, zlib's uncompress2, liblz4),
as on a platform where their symbols cannot be loaded (``SESSIONH5_NO_CTYPES=1``).

Files are written both ways, in both compressions, and each is read both ways by every
command: the values and types that come back are the same, whichever way the file was
written and whichever way it is read, and damage is still a CorruptFileError.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pytest
from helpers import Box, Holder, assert_same, new_session

import sessionh5
from sessionh5 import CorruptFileError, Session
from sessionh5._cli import main
from sessionh5._containers._hdf5.native import ENV, calls, ctypes_calls

WAYS = ["ctypes", "no ctypes"]
COMPRESSIONS = ["lz4", "gzip"]
ATOMS = 2200  # four references each: the table's reference column is chunked (> 64 KiB)


def _session() -> Session:
    """Arrays of each kind the Blosc codec treats differently, a table of small objects
    with pooled arrays and many references, and objects that share one."""
    rng = np.random.default_rng(12)
    session = new_session(minimal=True)
    shared = Box(label="shared", when=np.datetime64("2024-05-01T10:00", "ms"))
    volume = Box(label="volume", peer=shared,
                 data=np.linspace(0, 1, 80 * 64 * 64, dtype="<f4").reshape(80, 64, 64),
                 labels=rng.integers(0, 4, 300_000).astype(np.uint8),
                 mask=rng.integers(0, 2, 290_000).astype(bool),
                 names=np.array(["ca", "N", "Å"] * 30_000),
                 coords=rng.normal(0, 9, (30_000, 3)).astype(">f8"))
    groups = [Box(label=f"group {k}", peer=shared) for k in range(7)]
    atoms = [Box(n=i, xyz=rng.random(3).astype(np.float32), peer=shared, group=groups[i % 7])
             for i in range(ATOMS)]
    for i, atom in enumerate(atoms[1:], 1):  # earlier atoms only: a stream holds no cycle
        atom.partner, atom.other = atoms[i - 1], atoms[i // 2]
    session.maps = Holder(volume=volume)
    session.atoms = Holder(atoms=atoms, shared=shared)
    return session


@pytest.fixture(scope="module")
def original() -> Session:
    return _session()


@pytest.fixture(scope="module")
def files(original: Session, tmp_path_factory: pytest.TempPathFactory
          ) -> dict[tuple[str, str], Path]:
    """The session saved each way, in each compression."""
    folder = tmp_path_factory.mktemp("no-ctypes")
    saved = {}
    for way in WAYS:
        for compress in COMPRESSIONS:
            path = saved[way, compress] = folder / f"{way.replace(' ', '-')}-{compress}.h5s"
            with ctypes_calls(way == "ctypes"):
                sessionh5.save(original, path, compress=compress)
    return saved


@pytest.fixture(params=WAYS)
def reading(request: pytest.FixtureRequest) -> Iterator[str]:
    """Reads in the test body go this way."""
    with ctypes_calls(request.param == "ctypes"):
        yield request.param


def _fields(atom: Box) -> dict[str, object]:
    """An atom without its links to atoms (compared by identity: a chain nests too deep)."""
    return {k: v for k, v in vars(atom).items() if k not in ("partner", "other")}


def _restored(path: Path) -> Session:
    session = new_session(minimal=True)
    session.restore(path)
    return session


@pytest.mark.parametrize("compress", COMPRESSIONS)
@pytest.mark.parametrize("written", WAYS)
def test_a_file_written_either_way_restores_the_same_either_way(
        files: dict[tuple[str, str], Path], original: Session, written: str, compress: str,
        reading: str) -> None:
    restored = _restored(files[written, compress])
    assert_same(original.maps.volume, restored.maps.volume, "volume")
    atoms = restored.atoms.atoms
    assert_same([_fields(a) for a in original.atoms.atoms], [_fields(a) for a in atoms], "atoms")
    assert all(a.partner is atoms[i - 1] and a.other is atoms[i // 2]
               for i, a in enumerate(atoms[1:], 1))
    assert atoms[-1].peer is restored.atoms.shared is restored.maps.volume.peer
    assert sessionh5.validate(files[written, compress]) == []


def test_both_ways_write_the_same_layout(files: dict[tuple[str, str], Path]) -> None:
    """The fallback writes layout 3's Blosc chunks with their xxh3 hashes, as c-blosc does;
    Blosc's header choices (block size, split, shuffle) are the same."""
    for compress in COMPRESSIONS:
        with h5py.File(files["ctypes", compress]) as fast, \
                h5py.File(files["no ctypes", compress]) as slow:
            data = [f["maps/Box 1/data"] for f in (fast, slow)]
            assert [d.id.get_create_plist().get_filter(0)[0] for d in data] == \
                [32001, 32001] if compress == "lz4" else [2, 2]
            assert all("sessionh5-chunk-xxh3" in d.attrs for d in data)
            heads = [d.id.read_direct_chunk((0, 0, 0))[1][:12] for d in data]
            assert heads[0] == heads[1]
            refs = [f["atoms/Box/refs"] for f in (fast, slow)]  # made by HDF5's pipeline
            assert all(r.chunks and r.id.get_create_plist().get_nfilters() == 3 - (
                compress == "lz4") for r in refs)


@pytest.mark.parametrize("compress", COMPRESSIONS)
def test_every_command_reads_either_file_either_way(
        files: dict[tuple[str, str], Path], original: Session, compress: str, reading: str,
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """archive (arrays, slices, dask, table), info, ls, dump, diff, validate and convert.

    dump prints the whole table (slow: 2200 records) only for the file written the other
    way than it is read; table() reads the same column either way."""
    fast, slow = files["ctypes", compress], files["no ctypes", compress]
    crossed = fast if reading == "no ctypes" else slow
    volume = original.maps.volume
    for path in (fast, slow):
        with sessionh5.open_archive(path) as archive:
            arrays = archive.arrays()
            data = arrays["/maps/Box 1/data"]
            assert data.chunks == (40, 64, 64)  # two chunks
            assert data[38:43, 3:9].tobytes() == volume.data[38:43, 3:9].tobytes()
            assert np.asarray(arrays["/maps/Box 1/names"]).tobytes() == volume.names.tobytes()
            lazy = archive.arrays(dask=True)["/maps/Box 1/labels"]
            assert lazy[1000:250_000].compute().tobytes() == volume.labels[1000:250_000].tobytes()
            table = archive.table("atoms", "Box")
            assert len(table) == ATOMS + 7  # and the groups; "shared" went to "maps"
        assert sessionh5.info(path).compression_ratio > 1
        for argv in (["info", str(path)], ["ls", str(path), "/maps"], ["validate", str(path)],
                     ["dump", str(path), "--path", "/atoms/Box" if path == crossed else "/maps"]):
            assert main(argv) == 0, argv
        out = capsys.readouterr().out
        assert "data    float32 80x64x64" in out and f"{path}: OK" in out
        assert out.count("'group': <helpers.Box, ") == (ATOMS if path == crossed else 0)
    assert main(["diff", str(fast), str(slow)]) == 0  # equal
    assert main(["convert", str(slow), str(tmp_path / "s.cxs")]) == 0
    back = sessionh5.convert(tmp_path / "s.cxs", tmp_path / "back.h5s", compress=compress)
    assert_same(volume, _restored(Path(back)).maps.volume, "volume")


def test_saving_into_streams_either_way(original: Session, reading: str, tmp_path: Path
                                        ) -> None:
    """A BytesIO, and a file opened "wb" (written in place), whichever way chunks are made."""
    buffer = io.BytesIO()
    original.save(buffer)
    with open(tmp_path / "s.h5s", "wb") as stream:
        original.save(stream, compress="gzip")
    for source in (io.BytesIO(buffer.getvalue()), tmp_path / "s.h5s"):
        restored = new_session(minimal=True)
        restored.restore(source)
        assert_same(original.maps.volume, restored.maps.volume, "volume")


@pytest.mark.parametrize("compress", COMPRESSIONS)
def test_a_flipped_byte_in_a_chunk_is_corrupt_either_way(
        files: dict[tuple[str, str], Path], compress: str, reading: str, tmp_path: Path) -> None:
    path = tmp_path / "damaged.h5s"
    path.write_bytes(files["no ctypes", compress].read_bytes())
    with h5py.File(path) as f:
        where = f["maps/Box 1/data"].id.get_chunk_info(1).byte_offset + 40
    with open(path, "r+b") as stream:
        stream.seek(where)
        byte = stream.read(1)
        stream.seek(where)
        stream.write(bytes([byte[0] ^ 0x04]))
    with pytest.raises(CorruptFileError, match="Box 1/data"):
        _restored(path)
    with sessionh5.open_archive(path) as archive, \
            pytest.raises(CorruptFileError, match=r"chunk \(1, 0, 0\)"):
        archive.arrays()["/maps/Box 1/data"][41]
    assert any("Box 1/data" in problem for problem in sessionh5.validate(path))


def test_the_environment_variable_turns_every_ctypes_call_off(
        files: dict[tuple[str, str], Path]) -> None:
    """Read once at import, in a fresh process: nothing is called through ctypes there,
    and the command line still validates a file written with c-blosc."""
    code = ("import json, sys; from sessionh5._cli import main; "
            "from sessionh5._containers._hdf5.native import calls; "
            "print(json.dumps(calls())); sys.exit(main(['validate', sys.argv[1]]))")
    done = subprocess.run([sys.executable, "-c", code, str(files["ctypes", "lz4"])],
                          env={**os.environ, ENV: "1"}, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[0]) == {
        "c-blosc": False, "zlib uncompress2": False, "liblz4": False}
    assert done.stdout.splitlines()[1] == f"{files['ctypes', 'lz4']}: OK"
    if os.environ.get(ENV, "") in ("", "0"):
        assert calls()["liblz4"]  # python-lz4's wheels export liblz4 where tests run
