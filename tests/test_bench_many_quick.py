"""The many-objects benchmark runs end to end at quick size (no timing assertions)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_many.py"


def test_quick_many_objects_benchmark_prints_every_size(tmp_path: Path) -> None:
    """`bench_many.py --quick` exits 0 and prints one line per array size with its ratios."""
    out = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--repeat", "1",
                          "--dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=600, check=False)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "200 objects, one float32 array each" in lines
    for size in ("1000", "1200", "16384"):
        assert any(line.split()[:1] == [size] for line in lines), out.stdout
    assert "validate/restore" in out.stdout
