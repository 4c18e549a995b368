"""How fast, and in how little memory, every command refuses a hostile file.

The files are the ones tests/test_hostile_files.py builds (tests/craft.py): deflate,
LZ4 and Blosc bombs in HDF5 chunks, lz4 and gzip streams declaring a 2 GiB string (in the
metadata or a record) or a list of 2**32 - 1 items, an HDF5 array of 2 GiB with every
chunk stored, external storage and missing chunks. Each runs through
tests/hostile_worker.py (a child process, RLIMIT_AS of 1.5 GB by default), which
times each command and measures how far its resident memory rose. The tests assert
the memory and the outcome; the seconds are reported here only, since they depend on
the machine.

Usage: ``python benchmarks/bench_hostile.py [--limit-mb 1536] [--repeat 3]``
(medians over the repeats).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # run from a checkout

from craft import GIB, hdf5_bomb, hostile_hdf5, huge_hdf5, outside_files, stream_bomb  # noqa: E402


def files(folder: Path) -> dict[str, bytes]:
    built = {f"{codec}-chunk.h5s": hdf5_bomb(codec) for codec in ("gzip", "lz4", "blosc")}
    built.update({f"{codec}-{where}.cxs": stream_bomb(codec, where)
                  for codec in ("lz4", "gzip") for where in ("metadata", "record", "count")})
    built["huge-2GiB.h5s"] = huge_hdf5(2 * GIB)
    built["external-storage.h5s"] = hostile_hdf5("external-storage", folder)
    built["missing-chunk.h5s"] = hostile_hdf5("missing-chunk", folder)
    return built


def run(folder: Path, names: list[str], limit_mb: int) -> list[dict]:
    scratch = folder / "scratch"
    scratch.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), str(ROOT)])}
    args = [sys.executable, str(ROOT / "tests" / "hostile_worker.py"), "--limit-mb",
            str(limit_mb), "--scratch", str(scratch), "--skip=huge-2GiB.h5s:diff",
            *[str(folder / name) for name in names]]
    result = subprocess.run(args, capture_output=True, text=True, check=True, env=env)
    return [json.loads(line) for line in result.stdout.splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit-mb", type=int, default=1536)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sessionh5-hostile-") as temp:
        folder = Path(temp)
        outside_files(folder)
        built = files(folder)
        for name, data in built.items():
            (folder / name).write_bytes(data)
        seconds: dict[tuple[str, str], list[float]] = defaultdict(list)
        rss: dict[tuple[str, str], list[float]] = defaultdict(list)
        outcome: dict[tuple[str, str], str] = {}
        for _ in range(args.repeat):
            for line in run(folder, list(built), args.limit_mb):
                key = (line["file"], line["command"])
                seconds[key].append(line["seconds"])
                rss[key].append(line["rss_mb"])
                outcome[key] = "ok" if line["exit"] == 0 else (line["error"] or "refused")
    print(f"every command on each hostile file, RLIMIT_AS {args.limit_mb} MiB, medians of "
          f"{args.repeat} (file size; seconds; MB of resident memory above the start)")
    print(f"{'file':<24}{'size':>9}  {'command':<15}{'outcome':<18}{'s':>7}{'MB':>8}")
    for (file, command), times in seconds.items():
        size = f"{len(built[file]) / 2**20:.1f} MiB"
        print(f"{file:<24}{size:>9}  {command:<15}{outcome[(file, command)]:<18}"
              f"{statistics.median(times):>7.3f}{statistics.median(rss[(file, command)]):>8.1f}")
    worst = max(statistics.median(t) for t in seconds.values())
    peak = max(statistics.median(r) for r in rss.values())
    print(f"slowest command {worst:.3f} s; largest rise in resident memory {peak:.1f} MB")


if __name__ == "__main__":
    main()
