"""Many objects that each hold a small array: no cliff at any array size (issue 15).

    python benchmarks/bench_many.py [--quick] [--repeat 5] [--counts 5000,20000]
                                    [--sizes 1000,1200,16384] [--dir DIR]

For each object count, sessions of objects holding one float32 array of each size
are saved and restored; every measured step runs after the machine's page-return
cost is removed (a large buffer is touched and freed first: this VM takes freed
pages back and faults them in again at ~1 ms per MiB, see docs/performance.md),
the sizes are interleaved and their order rotates per repeat, after one uncounted
warm-up round. Seconds are medians.
Each line's ratio is against the first size of the same count in the same run
(the targets: 1,200 bytes within 1.5x of 1,000; 16 KiB within 4x). ``info`` is
timed in-process, as is ``validate`` against a restore of the same file.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import sessionh5
from sessionh5 import Session, State, StateManager

#: Bytes touched and freed before each timed step (see codec-study.md in shared research).
PAGE_FLUSH = 2500 << 20


class Cell(State):
    """A small object with a name, an index and one float32 array (a per-cell profile)."""

    SESSION_NAME = "bench.Cell"


class Cells(StateManager):
    """The manager holding every Cell."""

    SESSION_NAME = "bench.Cells"

    def __init__(self, items: list[Any]) -> None:
        self.items = items

    def reset_state(self, session: Session) -> None:
        self.items = []


def cells_session(count: int, nbytes: int, seed: int = 0) -> Session:
    """``count`` Cells, each with a float32 array of ``nbytes`` (rounded to whole floats)."""
    rng = np.random.default_rng(seed)
    cells = []
    for i in range(count):
        cell = Cell.__new__(Cell)
        cell.__dict__.update(name=f"cell {i}", index=i,
                             profile=rng.random(max(1, nbytes // 4), dtype=np.float32))
        cells.append(cell)
    session = Session("sessionh5-bench", minimal=True, silent=True)
    session.cells = Cells(cells)
    return session


def flush_pages(nbytes: int) -> None:
    """Touch and free ``nbytes``, so the timed step finds pages already handed back."""
    buffer = np.ones(nbytes // 8, np.int64)
    del buffer


def timed(step: Any, flush: int) -> float:
    flush_pages(flush)
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def measure(path: Path, session: Session, flush: int) -> dict[str, float]:
    """Save, restore, info and validate of one session file."""
    def save() -> None:
        with open(path, "wb") as stream:
            session.save(stream)

    def restore() -> None:
        with open(path, "rb") as stream:
            Session("sessionh5-bench", minimal=True, silent=True).restore(stream)

    def validate() -> None:
        problems = sessionh5.validate(path)
        assert problems == [], problems

    return {"save": timed(save, flush), "restore": timed(restore, flush),
            "info": timed(lambda: sessionh5.info(path), flush),
            "validate": timed(validate, flush)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (for the test suite)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--counts", default="5000,20000")
    parser.add_argument("--sizes", default="1000,1200,16384")
    parser.add_argument("--dir", type=Path, help="where to write (default: a temp dir)")
    args = parser.parse_args(argv)
    counts = [200] if args.quick else [int(c) for c in args.counts.split(",")]
    sizes = [int(s) for s in args.sizes.split(",")]
    flush = 16 << 20 if args.quick else PAGE_FLUSH
    print("machine shared with other jobs: ratios within one run are what counts; "
          f"medians of {args.repeat}, sizes interleaved, page-return cost removed\n")
    if args.dir is not None:  # a folder that does not exist yet is made
        args.dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for count in counts:
            sessions = {size: cells_session(count, size) for size in sizes}
            results: dict[int, list[dict[str, float]]] = {size: [] for size in sizes}
            for repeat in range(args.repeat + 1):  # the first round warms up, uncounted
                order = sizes[repeat % len(sizes):] + sizes[:repeat % len(sizes)]
                for size in order:
                    path = Path(tmp) / f"cells-{count}-{size}.h5s"
                    measured = measure(path, sessions[size], flush)
                    if repeat:
                        results[size].append(measured)
            print(report(count, sizes, results, Path(tmp)))
    return 0


def report(count: int, sizes: list[int], results: dict[int, list[dict[str, float]]],
           folder: Path) -> str:
    med = {size: {k: statistics.median(r[k] for r in results[size]) for k in results[size][0]}
           for size in sizes}
    base = med[sizes[0]]
    lines = [f"{count} objects, one float32 array each",
             f"{'array bytes':>12} {'save s':>8} {'x':>6} {'restore s':>10} {'x':>6} "
             f"{'info ms':>8} {'validate s':>11} {'validate/restore':>17} {'file MiB':>9}"]
    for size in sizes:
        m = med[size]
        file_mib = (folder / f"cells-{count}-{size}.h5s").stat().st_size / 2**20
        lines.append(
            f"{size:>12} {m['save']:8.3f} {m['save'] / base['save']:6.2f} "
            f"{m['restore']:10.3f} {m['restore'] / base['restore']:6.2f} "
            f"{m['info'] * 1000:8.1f} {m['validate']:11.3f} "
            f"{m['validate'] / m['restore']:17.2f} {file_mib:9.1f}")
    lines.append(f"(x: time / the {sizes[0]}-byte line's; targets: 1200 <= 1.5, 16384 <= 4; "
                 "info < 50 ms; validate/restore <= 2)\n")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
