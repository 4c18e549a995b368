"""The stream benchmark runs end to end at quick size (no timing assertions)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_stream.py"


def test_quick_stream_benchmark_prints_a_table() -> None:
    """`bench_stream.py --quick` exits 0 and prints a row per method and direction."""
    out = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--repeat", "1"],
                         capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("mixed session: 2008 records, ")
    assert lines[1].split() == ["method", "direction", "seconds", "MB/s", "ratio", "file", "MB"]
    rows = [line.split()[:2] for line in lines[2:]]
    assert rows == [[m, d] for m in ("direct", "codec", "session") for d in ("write", "read")]
    assert all(float(line.split()[4]) > 0 for line in lines[2:])
