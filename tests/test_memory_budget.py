"""The memory budget: the tightest of physical memory, rlimits and cgroup limits.

The cgroup readers are given a fake /proc/self and /sys/fs/cgroup under tmp_path
(v1 and v2 hierarchies, a cgroup namespace that shows only a subtree), so every branch
runs on any machine; the rlimit is set for real in a child process. A MemoryError
raised anywhere while a file is read comes out as MemoryLimitError, and the command
line prints one line for it.
"""

from __future__ import annotations

import ctypes
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import Box, Holder, new_session

import sessionh5
from sessionh5 import MemoryLimitError
from sessionh5._containers import memory

MIB = 1 << 20
GIB = 1 << 30


def fake_root(tmp_path: Path, *, cgroup: str, mountinfo: list[str],
              files: dict[str, str]) -> tuple[Path, Path]:
    """A fake filesystem root: /proc/self/{cgroup,mountinfo,status} and cgroup files."""
    proc = tmp_path / "proc" / "self"
    proc.mkdir(parents=True)
    (proc / "cgroup").write_text(cgroup)
    (proc / "mountinfo").write_text("\n".join(mountinfo) + "\n")
    (proc / "status").write_text("VmSize:\t 1000 kB\nVmData:\t 500 kB\n")
    for name, text in files.items():
        path = tmp_path / name.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return proc, tmp_path


V2_MOUNT = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate"
V1_MOUNT = "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory"


def test_cgroup_v2_limit_less_usage_with_file_cache_not_counted(tmp_path: Path) -> None:
    proc, root = fake_root(tmp_path, cgroup="0::/user.slice/job\n", mountinfo=[V2_MOUNT], files={
        "/sys/fs/cgroup/user.slice/job/memory.max": f"{2 * GIB}\n",
        "/sys/fs/cgroup/user.slice/job/memory.current": f"{600 * MIB}\n",
        "/sys/fs/cgroup/user.slice/job/memory.stat": f"anon 1\ninactive_file {100 * MIB}\n",
        "/sys/fs/cgroup/user.slice/memory.max": "max\n",
    })
    assert memory._cgroups(proc, root) == [2 * GIB - 500 * MIB]
    assert memory.memory_budget(proc, root) == min(memory._physical(), 2 * GIB - 500 * MIB)


def test_an_ancestor_cgroup_with_less_room_is_the_limit(tmp_path: Path) -> None:
    proc, root = fake_root(tmp_path, cgroup="0::/a/b\n", mountinfo=[V2_MOUNT], files={
        "/sys/fs/cgroup/a/b/memory.max": f"{4 * GIB}\n",
        "/sys/fs/cgroup/a/b/memory.current": f"{1 * GIB}\n",
        "/sys/fs/cgroup/a/memory.max": f"{3 * GIB}\n",
        "/sys/fs/cgroup/a/memory.current": f"{2 * GIB}\n",
    })
    assert sorted(memory._cgroups(proc, root)) == [1 * GIB, 3 * GIB]


def test_cgroup_v1_memory_hierarchy(tmp_path: Path) -> None:
    proc, root = fake_root(tmp_path, cgroup="4:memory:/docker/abc\n2:cpu:/docker/abc\n",
                           mountinfo=[V1_MOUNT], files={
        "/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": f"{1 * GIB}\n",
        "/sys/fs/cgroup/memory/docker/abc/memory.usage_in_bytes": f"{300 * MIB}\n",
        "/sys/fs/cgroup/memory/docker/abc/memory.stat": f"total_inactive_file {44 * MIB}\n",
        "/sys/fs/cgroup/memory/docker/memory.limit_in_bytes": "9223372036854771712\n",
    })
    assert memory._cgroups(proc, root) == [1 * GIB - 256 * MIB]


def test_a_cgroup_namespace_shows_the_cgroup_as_the_mount_root(tmp_path: Path) -> None:
    """Inside a container, /proc/self/cgroup says "/" and the mount is that cgroup."""
    mount = "30 23 0:26 /kubepods/pod1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw"
    proc, root = fake_root(tmp_path, cgroup="0::/kubepods/pod1\n", mountinfo=[mount], files={
        "/sys/fs/cgroup/memory.max": f"{512 * MIB}\n",
        "/sys/fs/cgroup/memory.current": f"{12 * MIB}\n",
    })
    assert memory._cgroups(proc, root) == [500 * MIB]


def test_no_cgroup_files_means_no_cgroup_limit(tmp_path: Path) -> None:
    proc, root = fake_root(tmp_path, cgroup="0::/\n", mountinfo=[V2_MOUNT], files={})
    assert memory._cgroups(proc, root) == []
    assert memory.memory_budget(proc, root) == memory._physical()


_RLIMIT_CHILD = """
import resource, sys
from sessionh5._containers import memory
before = memory.memory_budget()
resource.setrlimit(resource.RLIMIT_AS, (1 << 31, resource.RLIM_INFINITY))
print(before, memory.memory_budget(), memory._status_bytes(memory.Path('/proc/self'), 'VmSize'))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc (Linux)")
def test_an_address_space_limit_leaves_the_limit_less_what_is_mapped() -> None:
    result = subprocess.run([sys.executable, "-c", _RLIMIT_CHILD], capture_output=True,
                            text=True, timeout=60, check=True)
    before, after, mapped = map(int, result.stdout.split())
    assert before > after
    assert 0 <= (1 << 31) - mapped - after < 64 * MIB  # what it mapped meanwhile


class _Kernel32:
    """Windows' kernel32 as memory.py calls it: fills the MEMORYSTATUSEX it is given."""

    def GlobalMemoryStatusEx(self, pointer: object) -> int:
        status = pointer._obj  # type: ignore[attr-defined]  # what ctypes.byref wraps
        assert status.dwLength == ctypes.sizeof(status) == 64
        status.ullTotalPhys, status.ullAvailPhys = 16 * GIB, 9 * GIB
        status.ullAvailPageFile, status.ullAvailVirtual = 3 * GIB, 1 << 47
        return 1


@pytest.fixture
def like_windows(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No os.sysconf, no resource module, no /proc (Windows has none); a /proc path for
    memory_budget that does not exist."""
    monkeypatch.delattr(os, "sysconf")
    monkeypatch.setitem(sys.modules, "resource", None)  # `import resource` fails
    return tmp_path / "no-proc"


def test_on_windows_physical_memory_and_the_commit_room_are_the_budget(
        like_windows: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "_kernel32", _Kernel32)
    assert memory._rlimits(like_windows) == [] and memory._cgroups(like_windows, Path()) == []
    assert memory.memory_budget(like_windows, like_windows) == 3 * GIB


def test_where_nothing_says_how_much_memory_there_is_no_limit_is_assumed(
        like_windows: Path) -> None:
    """Then only a MemoryError (turned into MemoryLimitError) stops a read; a restore and
    the size checks still work."""
    assert memory._windows_memory() == []  # no kernel32 here
    assert memory.memory_budget(like_windows, like_windows) == memory._UNLIMITED
    memory.check_fits(1 << 50, "a petabyte")  # nothing to compare with: passes
    restored = new_session(minimal=True)
    restored.restore(io.BytesIO(_saved("hdf5")))
    assert np.array_equal(restored.h.a, np.arange(100_000.0))


def test_check_fits_names_what_does_not_fit() -> None:
    memory.check_fits(5, "nothing much")
    with pytest.raises(MemoryLimitError, match=r"array '/x' needs 3 GiB, more than the "
                                               r"1 GiB this process may still use"):
        memory.check_fits(3 * GIB, "array '/x'", budget=1 * GIB)


def _saved(fmt: str) -> bytes:
    session = new_session(minimal=True)
    session.h = Holder(a=np.arange(100_000.0), rows=[Box(v=i) for i in range(3)])
    data = io.BytesIO()
    session.save(data, format=fmt)
    return data.getvalue()


def _out_of_memory(*args: object, **kwargs: object) -> None:
    raise MemoryError


@pytest.mark.parametrize("fmt", ["hdf5", "stream"])
def test_a_memory_error_while_reading_is_a_memory_limit_error(
        fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """However deep it is raised: decoding an array, a row, or the stream."""
    from sessionh5._containers._hdf5 import arrays
    from sessionh5._containers._stream import reader

    monkeypatch.setattr(arrays, "_read_stored", _out_of_memory)
    monkeypatch.setattr(reader, "_read_records", _out_of_memory)
    data = _saved(fmt)
    with pytest.raises(MemoryLimitError, match="needs more memory than this process may use"):
        new_session(minimal=True).restore(io.BytesIO(data))
    with pytest.raises(MemoryLimitError):
        sessionh5.convert(io.BytesIO(data), "unused.h5s")


@pytest.mark.parametrize("command", ["dump", "validate", "convert", "diff"])
def test_the_command_line_says_in_one_line_that_memory_ran_out(
        command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from sessionh5._cli import main
    from sessionh5._containers._hdf5 import arrays

    path = tmp_path / "a.h5s"
    path.write_bytes(_saved("hdf5"))
    monkeypatch.setattr(arrays, "_read_stored", _out_of_memory)
    monkeypatch.setattr(arrays, "_read_region_into", _out_of_memory)
    args = {"dump": [str(path)], "validate": [str(path)], "diff": [str(path), str(path)],
            "convert": [str(path), str(tmp_path / "b.cxs")]}[command]
    code = main([command, *args])
    out, err = capsys.readouterr()
    assert code == (2 if command == "diff" else 1)
    if command == "validate":  # a problem listed like any other
        assert "needs more memory than this process may use" in out and not err
        return
    assert err.startswith("sessionh5: error: ") and err.count("\n") == 1
    assert "needs more memory than this process may use" in err
