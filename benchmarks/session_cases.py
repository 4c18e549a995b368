"""The measured operations of bench_session.py, each run alone in a fresh child process.

A case is a function ``case(spec) -> extra`` registered in CASES; the child loads the
workload first (outside the timed region), then times the case. Baselines are here
too, written the way a careful user of each library would write them.
"""

from __future__ import annotations

import io
import os
import pickle
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import hdf5plugin
import lz4.frame
import msgpack
import numpy as np
from workloads import W1_MANAGERS, plain_graph, w1_session, w2_session

import sessionh5
from sessionh5 import Session

Spec = dict[str, Any]
MIB = 2**20
CASES: dict[str, Callable[[Spec], dict[str, Any]]] = {}


def case(name: str) -> Callable[[Callable[[Spec], dict[str, Any]]],
                                 Callable[[Spec], dict[str, Any]]]:
    """Register a case under ``name``."""
    def register(func: Callable[[Spec], dict[str, Any]]) -> Callable[[Spec], dict[str, Any]]:
        CASES[name] = func
        return func
    return register


class CountingFile(io.FileIO):
    """A read-only file that counts the bytes read through it (what h5py reads)."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, "r")
        self.bytes_read = 0

    def readinto(self, buffer: Any) -> int | None:
        n = super().readinto(buffer)
        self.bytes_read += n or 0
        return n

    def read(self, size: int = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data


def load_w1(spec: Spec) -> dict[str, np.ndarray]:
    """The W1 arrays the parent saved as .npy files (read into memory, not mapped)."""
    folder = Path(spec["data"])
    return {p.stem: np.load(p) for p in sorted(folder.glob("*.npy"))}


def prepare(spec: Spec) -> Any:
    """The workload a case needs, built before the clock starts.

    sessionh5 imports its HDF5 backend on first use; that one-time cost per process
    (~20-40 ms here) is paid now, so that small cases time the file work.
    """
    import sessionh5._containers._hdf5.inspect
    import sessionh5._containers._hdf5.reader
    import sessionh5._containers._hdf5.writer  # noqa: F401

    kind = spec["input"]
    if kind == "w1-arrays":
        return load_w1(spec)
    if kind == "w1-session":
        return w1_session(load_w1(spec))
    if kind == "w2-session":
        return w2_session(spec["scale"])
    if kind == "w2-graph":
        return plain_graph(spec["scale"])
    return None


def fsync(path: str | Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _mib_chunks(shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    """About 1 MiB of whole trailing rows, as a careful h5py user would choose."""
    for axis in range(len(shape)):
        row = itemsize * int(np.prod(shape[axis + 1:], dtype=np.int64))
        if row <= MIB:
            return (1,) * axis + (max(1, min(shape[axis], MIB // row)),) + shape[axis + 1:]
    return (1,) * (len(shape) - 1) + (max(1, MIB // itemsize),)


# ---- W1: bulk arrays -----------------------------------------------------------------


def h5py_write(path: str, arrays: dict[str, np.ndarray], lz4: bool, sync: bool) -> None:
    with h5py.File(path, "w") as f:
        for key, array in arrays.items():
            if lz4:
                f.create_dataset(key, data=array, chunks=_mib_chunks(array.shape, array.itemsize),
                                 **hdf5plugin.LZ4())
            else:
                f.create_dataset(key, data=array)
    if sync:
        fsync(path)


@case("h5py-lz4-write")
def _(spec: Spec) -> dict[str, Any]:
    h5py_write(spec["path"], spec["_data"], lz4=True, sync=False)
    return {}


@case("h5py-lz4-write-fsync")
def _(spec: Spec) -> dict[str, Any]:
    h5py_write(spec["path"], spec["_data"], lz4=True, sync=True)
    return {}


@case("h5py-raw-write")
def _(spec: Spec) -> dict[str, Any]:
    h5py_write(spec["path"], spec["_data"], lz4=False, sync=False)
    return {}


@case("h5py-read")
def _(spec: Spec) -> dict[str, Any]:
    with h5py.File(spec["path"], "r") as f:
        arrays = {key: f[key][()] for key in f}
    return {"items": len(arrays)}


@case("msgpack-lz4-write")
def _(spec: Spec) -> dict[str, Any]:
    """The stream-format way: one msgpack stream of all arrays, one lz4 frame around it."""
    with open(spec["path"], "wb") as out, lz4.frame.LZ4FrameCompressor() as frame:
        out.write(frame.begin())
        packer = msgpack.Packer()
        for key, array in spec["_data"].items():
            header = {"name": key, "dtype": array.dtype.str, "shape": list(array.shape)}
            out.write(frame.compress(packer.pack(header)))
            out.write(frame.compress(packer.pack(memoryview(np.ascontiguousarray(array)))))
        out.write(frame.flush())
    return {}


@case("msgpack-lz4-read")
def _(spec: Spec) -> dict[str, Any]:
    with open(spec["path"], "rb") as f:
        raw = lz4.frame.decompress(f.read())
    items = list(msgpack.Unpacker(io.BytesIO(raw), max_buffer_size=len(raw) + 1))
    arrays = {h["name"]: np.frombuffer(d, h["dtype"]).reshape(h["shape"])
              for h, d in zip(items[::2], items[1::2], strict=True)}
    return {"items": len(arrays)}


@case("npy-write")
def _(spec: Spec) -> dict[str, Any]:
    folder = Path(spec["path"])
    folder.mkdir()
    for key, array in spec["_data"].items():
        np.save(folder / f"{key}.npy", array)
    return {}


@case("npy-read")
def _(spec: Spec) -> dict[str, Any]:
    arrays = {p.stem: np.load(p) for p in Path(spec["path"]).glob("*.npy")}
    return {"items": len(arrays)}


@case("ours-stream-save")
def _(spec: Spec) -> dict[str, Any]:
    """Session.save to an open binary file (no fsync), like plain h5py writing a file."""
    with open(spec["path"], "w+b") as out:
        spec["_data"].save(out, compress=spec.get("compress", "lz4"))
    return {}


@case("ours-wb-save")
def _(spec: Spec) -> dict[str, Any]:
    """Session.save into a file opened "wb", the way the seed's API is called (no fsync)."""
    with open(spec["path"], "wb") as out:
        spec["_data"].save(out, compress=spec.get("compress", "lz4"))
    return {}


@case("ours-path-save")
def _(spec: Spec) -> dict[str, Any]:
    """sessionh5.save to a path: temporary file, fsync, rename (crash-safe)."""
    sessionh5.save(spec["_data"], spec["path"], compress=spec.get("compress", "lz4"))
    return {}


@case("ours-restore")
def _(spec: Spec) -> dict[str, Any]:
    session = Session("sessionh5-bench", minimal=True, silent=True)
    with CountingFile(spec["path"]) as f:
        report = session.restore(f, managers=spec.get("managers"),
                                 metadata_only=spec.get("metadata_only", False))
    return {"bytes_read": f.bytes_read, "items": len(report.restored)}


@case("ours-restore-path")
def _(spec: Spec) -> dict[str, Any]:
    session = Session("sessionh5-bench", minimal=True, silent=True)
    report = session.restore(spec["path"])
    return {"items": len(report.restored)}


@case("ours-restore-rb")
def _(spec: Spec) -> dict[str, Any]:
    session = Session("sessionh5-bench", minimal=True, silent=True)
    with open(spec["path"], "rb") as f:
        report = session.restore(f)
    return {"items": len(report.restored)}


# ---- W2: many small objects ----------------------------------------------------------


@case("pickle-lz4-dump")
def _(spec: Spec) -> dict[str, Any]:
    with open(spec["path"], "wb") as out:
        out.write(lz4.frame.compress(pickle.dumps(spec["_data"], protocol=5)))
    return {}


@case("pickle-lz4-load")
def _(spec: Spec) -> dict[str, Any]:
    with open(spec["path"], "rb") as f:
        graph = pickle.loads(lz4.frame.decompress(f.read()))  # noqa: S301 - baseline, own file
    return {"items": len(graph["objects"])}


@case("msgpack-lz4-dump")
def _(spec: Spec) -> dict[str, Any]:
    with open(spec["path"], "wb") as out:
        out.write(lz4.frame.compress(msgpack.packb(spec["_data"])))
    return {}


@case("msgpack-lz4-load")
def _(spec: Spec) -> dict[str, Any]:
    with open(spec["path"], "rb") as f:
        graph = msgpack.unpackb(lz4.frame.decompress(f.read()), strict_map_key=False)
    return {"items": len(graph["objects"])}


@case("hickle-dump")
def _(spec: Spec) -> dict[str, Any]:
    import hickle

    hickle.dump(spec["_data"], spec["path"])
    return {}


@case("hickle-load")
def _(spec: Spec) -> dict[str, Any]:
    import hickle

    graph = hickle.load(spec["path"])
    return {"items": len(graph["objects"])}


# ---- W3: small questions to a big file -----------------------------------------------


@case("info")
def _(spec: Spec) -> dict[str, Any]:
    found = sessionh5.info(spec["path"])
    return {"items": len(found.managers)}


@case("validate")
def _(spec: Spec) -> dict[str, Any]:
    problems = sessionh5.validate(spec["path"])
    if problems:
        raise SystemExit(f"validate found problems: {problems[:3]}")
    return {"items": 0}


@case("archive-slice")
def _(spec: Spec) -> dict[str, Any]:
    """One plane of the volume through the read-only archive view."""
    with CountingFile(spec["path"]) as f, sessionh5.open_archive(f) as archive:
        data = archive.arrays()[spec["array"]]
        plane = data[data.shape[0] // 2]
    return {"bytes_read": f.bytes_read, "items": int(plane.size)}


@case("h5py-slice")
def _(spec: Spec) -> dict[str, Any]:
    """The same plane read by plain h5py from its LZ4 file."""
    with CountingFile(spec["path"]) as f, h5py.File(f, "r") as h5:
        data = h5[spec["array"]]
        plane = data[data.shape[0] // 2]
    return {"bytes_read": f.bytes_read, "items": int(plane.size)}


def manager_tags() -> list[str]:
    return list(W1_MANAGERS)


def run(spec: Spec) -> dict[str, Any]:
    """Prepare, then time the case; report seconds and memory (VmHWM, VmRSS before)."""
    base = _status("VmRSS")
    spec["_data"] = prepare(spec)
    if hasattr(os, "sync"):
        # Write back what earlier cases left dirty, off the clock: an fsync (ext4's
        # journal commit) would otherwise also flush the previous case's file.
        os.sync()
    if spec["input"] == "none":
        warm(Path(spec["path"]))  # readers all start from a warm page cache
    flush_pages(spec.get("flush", PAGE_FLUSH))
    start = time.perf_counter()
    extra = CASES[spec["case"]](spec)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "base_rss": base, "peak_rss": _status("VmHWM"), **extra}


#: Bytes a helper process touches and frees before every timed step (see flush_pages).
PAGE_FLUSH = 2500 << 20


def flush_pages(nbytes: int = PAGE_FLUSH) -> None:
    """Remove this VM's page-return cost from the timed step (codec-study.md).

    The host takes back pages the guest freed more than ~2 s ago, and touching them
    again costs 0.6-2 ms per MiB instead of ~0.1, so a case's time depends on what ran
    before it. A forked helper touches and frees ``nbytes`` first; the case's own peak
    RSS stays its own.
    """
    if not hasattr(os, "fork"):
        return
    pid = os.fork()
    if pid == 0:
        try:
            np.ones(nbytes // 8, np.int64)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def warm(path: Path) -> None:
    """Read a file (or a folder's files) once, so that a case reads it from memory.

    This VM drops clean cached pages within seconds, so without this a reader would
    find its file cached or not depending on what ran before it.
    """
    buffer = bytearray(1 << 20)  # small: the child's peak RSS is measured too
    for file in sorted(path.iterdir()) if path.is_dir() else [path]:
        with open(file, "rb", buffering=0) as f:
            while f.readinto(buffer):
                pass


def _status(field: str) -> int:
    """A memory figure of this process in bytes, from /proc/self/status (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0
