"""What remote reads cost next to the same reads of a local file (issue 16).

    python benchmarks/bench_remote.py [--repeat 3] [--dir DIR] [--meta-block BYTES]

The session of tests/remote_session.py (a file over 200 MB: a 210 MiB volume, a
2 MiB manager, 120 small models) is saved once; the same questions are then asked
of the local file, of the file over HTTP (tests/range_server.py) and of the file in
an S3 bucket on moto's server (tests/s3_server.py), all on 127.0.0.1. For the local
file ``reads`` and ``bytes`` are what HDF5 read through sessionh5's file object;
for the servers they are requests (HEAD and listing included) and response body
bytes, counted by the servers. ``ms`` is the median wall time of a fresh open and
the question. ``x local`` is remote bytes over local bytes: what the block cache
costs on top of what HDF5 asked for. ``--meta-block`` forces HDF5's metadata block
size (2048 is HDF5's default) to show what the file-space choice buys.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout
sys.path.insert(0, str(ROOT / "tests"))

import remote_session  # noqa: E402
from range_server import serve  # noqa: E402
from s3_server import CREDENTIALS, serve_s3  # noqa: E402

import sessionh5  # noqa: E402
from sessionh5._containers import remote  # noqa: E402
from sessionh5._containers._hdf5 import files  # noqa: E402


class CountingFile(io.FileIO):
    """A local file that counts read calls and bytes, as the servers count requests."""

    reads = 0
    read_bytes = 0

    def readinto(self, buffer: Any) -> int:
        n = super().readinto(buffer) or 0
        CountingFile.reads += 1
        CountingFile.read_bytes += n
        return n


def local_open(path: Path) -> Any:
    """Make sessionh5 open ``path`` through CountingFile (only for this benchmark)."""
    real = remote.open_source

    def counted(source: Any, storage_options: Any = None) -> Any:
        if Path(str(source)) == path:
            return real(CountingFile(path), None)
        return real(source, storage_options)

    return counted


def run(source: Any, options: Any, location: str, name: str, repeat: int,
        counter: Any) -> tuple[int, int, float]:
    times = []
    for _ in range(repeat):
        counter.reset()
        start = time.perf_counter()
        remote_session.operations(source, options, location)[name]()
        times.append(time.perf_counter() - start)
    return counter.requests, counter.sent, statistics.median(times) * 1000


class LocalCounter:
    @property
    def requests(self) -> int:
        return CountingFile.reads

    @property
    def sent(self) -> int:
        return CountingFile.read_bytes

    def reset(self) -> None:
        CountingFile.reads = CountingFile.read_bytes = 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--meta-block", type=int, default=None, metavar="BYTES")
    args = parser.parse_args()
    os.environ.update(CREDENTIALS)
    if args.meta_block:
        chosen = files.create_options

        def forced(array_bytes: int) -> dict[str, Any]:
            return {**chosen(array_bytes), "meta_block_size": args.meta_block}

        files.create_options = forced  # type: ignore[assignment]
    if args.dir is not None:  # a folder that does not exist yet is made
        args.dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        path = Path(folder) / "big.h5s"
        sessionh5.save(remote_session.build(), path)
        location = remote_session.volume_location(path)
        parts = remote_session.part_bytes(path)
        print(f"file {path.stat().st_size / 2**20:.1f} MiB; notes arrays "
              f"{parts['notes'] / 1024:.0f} KiB stored, plane {remote_session.PLANE} "
              f"{parts['plane'] / 1024:.0f} KiB stored; median of {args.repeat}")
        with serve(path.parent, lifetime=3600) as http, serve_s3() as s3:
            import s3fs

            fs = s3fs.S3FileSystem(**s3.storage_options)
            fs.mkdir("bench")
            fs.put_file(str(path), "bench/big.h5s")
            where = {"local": (path, None, LocalCounter()),
                     "https": (f"{http.url}/big.h5s", None, http),
                     "s3": ("s3://bench/big.h5s", s3.storage_options, s3)}
            remote.open_source = local_open(path)  # type: ignore[assignment]
            import sessionh5._containers.backends as backends
            import sessionh5._tools.archive as archive
            import sessionh5._tools.info as info
            for module in (backends, archive, info):
                module.open_source = remote.open_source  # type: ignore[attr-defined]
            print(f"{'question':14s} {'local reads/KiB/ms':>22s} {'https req/KiB/ms':>20s} "
                  f"{'x local':>7s} {'s3 req/KiB/ms':>20s} {'x local':>7s}")
            for name in ("metadata_only", "info", "one manager", "one plane"):
                row = {kind: run(src, opts, location, name, args.repeat, counter)
                       for kind, (src, opts, counter) in where.items()}
                local = row["local"]
                cells = [f"{r:5d} {b / 1024:8.0f} {ms:6.0f}" for r, b, ms in row.values()]
                print(f"{name:14s} {cells[0]:>22s} {cells[1]:>20s} "
                      f"{row['https'][1] / max(local[1], 1):7.2f} {cells[2]:>20s} "
                      f"{row['s3'][1] / max(local[1], 1):7.2f}")


if __name__ == "__main__":
    main()
