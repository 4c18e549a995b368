"""The array benchmark runs end to end at quick size (no timing assertions)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_arrays.py"


def test_quick_benchmark_prints_a_table(tmp_path: Path) -> None:
    """`bench_arrays.py --quick` exits 0 and prints one row per method."""
    out = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--repeat", "1",
                          "--dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    assert "write s" in out.stdout and "file MiB" in out.stdout
    for row in ("h5py uncompressed", "h5py LZ4 1MiB", "np.save", "sessionh5 lz4",
                "sessionh5 gzip", "sessionh5 none", "sessionh5 lz4, no ctypes"):
        assert row in out.stdout
