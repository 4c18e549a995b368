"""The session benchmark runs end to end at quick size (no timing assertions)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_session.py"


def test_quick_session_benchmark_prints_its_tables(tmp_path: Path) -> None:
    """`bench_session.py --quick` exits 0 and prints W1, W2 and W3 with every case."""
    out = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--repeat", "1",
                          "--warmup", "0", "--dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=600, check=False)
    assert out.returncode == 0, out.stderr
    for row in ("h5py LZ4 write", "msgpack+lz4 write", "sessionh5 lz4 save",
                "sessionh5 lz4 path save (fsync)", "sessionh5 lz4 restore", "pickle+lz4 dump",
                "sessionh5 lz4 save into 'wb' file", "sessionh5 lz4 restore from 'rb' file",
                "W1 targets of issue 15", "crash-safe path save (fsync) vs h5py LZ4 + fsync",
                "peak RSS restoring from a path / (data + interpreter)",
                "sessionh5 restore", "sessionh5 validate", "metadata_only, W1 file",
                "info, W1 file",
                "restore managers=['atoms']", "open_archive: one volume plane"):
        assert row in out.stdout
    assert "hickle" in out.stdout or "hickle is not installed" in out.stdout
