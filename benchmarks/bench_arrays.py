"""Time write_array/read_array against plain h5py and np.save on workload W1.

    python benchmarks/bench_arrays.py [--quick] [--repeat 3] [--dir DIR] [--only NAME ...]

Every method writes the same arrays into one fresh file (np.save: one file per
array) and reads them back; the time includes opening and closing the file, no
fsync anywhere. Seconds are medians over the repeats; the methods' order rotates
from one repeat to the next, and before each timed step a buffer of 2.5x the data
is touched and freed (this VM makes memory freed seconds ago slow to touch again;
see docs/performance.md). ``w/raw`` is how many times faster than plain h5py
writing contiguous uncompressed data, ``w/lz4`` than plain h5py with
``hdf5plugin.LZ4()`` in 1 MiB chunks (same for reads). "sessionh5 lz4, Fletcher32
check" reads sessionh5's file ignoring the xxh3 hashes, as a reader of layout 2
files would: what checking xxh3 instead bought. The "no ctypes" rows write and read
with SESSIONH5_NO_CTYPES's fallbacks (blosc1.py, Python's zlib module, python-lz4), as on
a platform where c-blosc's functions cannot be loaded.
"""

from __future__ import annotations

import argparse
import math
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import hdf5plugin
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))

from workloads import w1

from sessionh5._containers._hdf5 import arrays as arrays_module
from sessionh5._containers._hdf5.arrays import read_array, write_array
from sessionh5._containers._hdf5.compression import Compression
from sessionh5._containers._hdf5.native import ctypes_calls

Arrays = dict[str, np.ndarray]
QUICK_SCALE = 1 / 128
MIB = 2**20


@dataclass
class Method:
    """One way to store the workload: a writer, a reader, and its measurements."""

    name: str
    write: Callable[[Path, Arrays], None] | None
    read: Callable[[Path], Arrays]
    reads_file_of: str | None = None  # read-only row: reads another method's file
    write_s: list[float] = field(default_factory=list)
    read_s: list[float] = field(default_factory=list)
    nbytes: int = 0


def _ours(name: str) -> tuple[Callable[[Path, Arrays], None], Callable[[Path], Arrays]]:
    compression = Compression.from_name(name)

    def write(path: Path, arrays: Arrays) -> None:
        with h5py.File(path, "w") as f:
            for key, array in arrays.items():
                write_array(f, key, array, compression)

    def read(path: Path) -> Arrays:
        with h5py.File(path, "r") as f:
            return {key: read_array(f[key]) for key in f}

    return write, read


def _without_ctypes(name: str) -> tuple[Callable[[Path, Arrays], None],
                                         Callable[[Path], Arrays]]:
    write, read = _ours(name)

    def write_without(path: Path, arrays: Arrays) -> None:
        with ctypes_calls(False):
            write(path, arrays)

    def read_without(path: Path) -> Arrays:
        with ctypes_calls(False):
            return read(path)

    return write_without, read_without


def _read_checking_fletcher32(path: Path) -> Arrays:
    """Our reader with the per-chunk xxh3 hashes ignored: Fletcher32 is summed instead."""
    saved = arrays_module._chunk_hashes
    arrays_module._chunk_hashes = lambda dataset: None
    try:
        return _ours("lz4")[1](path)
    finally:
        arrays_module._chunk_hashes = saved


def _h5py_write(lz4: bool) -> Callable[[Path, Arrays], None]:
    def write(path: Path, arrays: Arrays) -> None:
        with h5py.File(path, "w") as f:
            for key, array in arrays.items():
                if lz4:
                    chunks = _mib_chunks(array.shape, array.itemsize)
                    f.create_dataset(key, data=array, chunks=chunks, **hdf5plugin.LZ4())
                else:
                    f.create_dataset(key, data=array)

    return write


def _h5py_read(path: Path) -> Arrays:
    with h5py.File(path, "r") as f:
        return {key: f[key][()] for key in f}


def _mib_chunks(shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    """About 1 MiB of whole trailing rows, as a careful h5py user would choose."""
    for axis in range(len(shape)):
        row = itemsize * math.prod(shape[axis + 1 :])
        if row <= MIB:
            return (1,) * axis + (max(1, min(shape[axis], MIB // row)),) + shape[axis + 1 :]
    return (1,) * (len(shape) - 1) + (max(1, MIB // itemsize),)


def _npy_write(path: Path, arrays: Arrays) -> None:
    path.mkdir()
    for key, array in arrays.items():
        np.save(path / f"{key}.npy", array)


def _npy_read(path: Path) -> Arrays:
    return {p.stem: np.load(p) for p in sorted(path.glob("*.npy"))}


def methods() -> list[Method]:
    """Baselines first: the ratio columns refer to them by name."""
    rows = [Method("h5py uncompressed", _h5py_write(False), _h5py_read),
            Method("h5py LZ4 1MiB", _h5py_write(True), _h5py_read),
            Method("np.save", _npy_write, _npy_read)]
    rows += [Method(f"sessionh5 {name}", *_ours(name)) for name in ("lz4", "gzip", "none")]
    rows += [Method(f"sessionh5 {name}, no ctypes", *_without_ctypes(name))
             for name in ("lz4", "gzip")]
    rows.append(Method("h5py reads sessionh5 lz4", None, _h5py_read,
                       reads_file_of="sessionh5 lz4"))
    rows.append(Method("sessionh5 lz4, Fletcher32 check", None, _read_checking_fletcher32,
                       reads_file_of="sessionh5 lz4"))
    return rows


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.iterdir())
    return path.stat().st_size


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def _timed(action: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def _check(expected: Arrays, got: Arrays, name: str) -> None:
    for key, array in expected.items():
        back = got[key]
        if back.dtype != array.dtype or not np.array_equal(back, array):
            raise SystemExit(f"{name}: {key} did not round-trip")


def _return_pages(nbytes: int) -> None:
    """Touch and free ``nbytes``: the timed step then gets recently used pages."""
    buffer = np.ones(nbytes, np.uint8)
    del buffer


def run_round(rows: list[Method], arrays: Arrays, workdir: Path, verify: bool,
              shift: int = 0) -> None:
    """Write every method once, then read every method once, in an order shifted by
    ``shift``; files are removed at the end."""
    paths = {m.name: workdir / m.name.replace(" ", "_") for m in rows}
    order = rows[shift % len(rows):] + rows[:shift % len(rows)]
    page_return = int(2.5 * sum(a.nbytes for a in arrays.values()))
    for method in order:
        if method.write is not None:
            _remove(paths[method.name])
            _return_pages(page_return)
            seconds, _ = _timed(lambda m=method: m.write(paths[m.name], arrays))
            method.write_s.append(seconds)
    for method in order:
        source = paths[method.reads_file_of or method.name]
        _return_pages(page_return)
        seconds, back = _timed(lambda m=method, p=source: m.read(p))
        method.read_s.append(seconds)
        method.nbytes = _size(source)
        if verify:
            _check(arrays, back, method.name)
        del back
    for path in paths.values():
        _remove(path)


def _ratio(base: list[float], mine: list[float]) -> str:
    return f"{statistics.median(base) / statistics.median(mine):5.2f}" if base and mine else "    -"


def report(rows: list[Method], raw_nbytes: int) -> str:
    """The table: median seconds, MB/s of raw data, file size, and speed ratios."""
    raw, lz4 = rows[0], rows[1]
    lines = [f"{'method':32} {'write s':>8} {'MB/s':>6} {'read s':>7} {'MB/s':>6} "
             f"{'file MiB':>9} {'ratio':>6} {'w/raw':>6} {'w/lz4':>6} {'r/raw':>6} {'r/lz4':>6}"]
    for m in rows:
        write = statistics.median(m.write_s) if m.write_s else math.nan
        read = statistics.median(m.read_s)
        lines.append(
            f"{m.name:32} {write:8.3f} {raw_nbytes / 1e6 / write:6.0f} {read:7.3f} "
            f"{raw_nbytes / 1e6 / read:6.0f} {m.nbytes / MIB:9.1f} {raw_nbytes / m.nbytes:6.2f} "
            f"{_ratio(raw.write_s, m.write_s):>6} {_ratio(lz4.write_s, m.write_s):>6} "
            f"{_ratio(raw.read_s, m.read_s):>6} {_ratio(lz4.read_s, m.read_s):>6}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few MiB instead of ~0.9 GiB")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, help="where to write (default: a temp dir)")
    parser.add_argument("--only", nargs="*", help="workload arrays to use (default: all)")
    args = parser.parse_args(argv)
    arrays = w1(QUICK_SCALE if args.quick else 1.0)
    if args.only:
        arrays = {k: v for k, v in arrays.items() if k in args.only}
    raw_nbytes = sum(a.nbytes for a in arrays.values())
    print(f"W1: {', '.join(f'{k} {a.shape} {a.dtype}' for k, a in arrays.items())}; "
          f"{raw_nbytes / MIB:.1f} MiB; {args.repeat} repeats")
    rows = methods()
    if args.dir is not None:  # a folder that does not exist yet is made
        args.dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for round_no in range(args.repeat):
            run_round(rows, arrays, Path(tmp), verify=round_no == 0, shift=round_no)
    print(report(rows, raw_nbytes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
