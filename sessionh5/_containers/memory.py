"""How much memory this process may still take, for checking sizes a file declares.

A file can declare an array, a chunk or a string of any size in a few bytes. Every
reader compares such a size with :func:`memory_budget` before it allocates, and
refuses with MemoryLimitError, naming what it was reading. The budget is the
tightest of:

* the machine's physical memory;
* the process's address-space and data-segment limits (``RLIMIT_AS``,
  ``RLIMIT_DATA``) less what the process already maps (``VmSize``, ``VmData``);
* its cgroup's memory limit (v2 ``memory.max``, v1 ``memory.limit_in_bytes``, on
  every level up to the root) less the memory charged there, page cache that the
  kernel can drop not counted.

On Windows, which has none of these, the machine's physical memory and the room
left under the system's commit limit (what this process may still commit,
``GlobalMemoryStatusEx``); where nothing can be read, no limit is assumed and
:func:`memory_errors` is the only guard.

So a container with 2 GB sees 2 GB, not the host's 64. Reading /proc costs tens of
microseconds, so sizes under SMALL pass unchecked: what many small pieces add up
to is caught by :func:`memory_errors`, which turns a MemoryError into the same
error.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import MemoryLimitError

__all__ = ["SMALL", "check_fits", "memory_budget", "memory_errors", "size_text"]

#: Pieces up to this size are not checked one by one.
SMALL = 8 << 20
_UNLIMITED = 1 << 62  # cgroup v1 writes 2**63 - page size for "no limit"


def memory_budget(proc: Path = Path("/proc/self"), root: Path = Path("/")) -> int:
    """Bytes this process may still allocate; ``proc`` and ``root`` are for tests."""
    return min([_physical(), *_rlimits(proc), *_cgroups(proc, root)])


def check_fits(nbytes: int, what: str, *, budget: int | None = None) -> None:
    """Refuse to read ``what`` when its ``nbytes`` exceed the memory budget."""
    if nbytes <= SMALL and budget is None:
        return
    allowed = memory_budget() if budget is None else budget
    if nbytes > allowed:
        raise MemoryLimitError(
            f"{what} needs {size_text(nbytes)}, more than the {size_text(allowed)} this "
            "process may still use (the machine's memory, or a ulimit or container limit); "
            "refusing to read it")


@contextmanager
def memory_errors(what: str) -> Iterator[None]:
    """A MemoryError while reading ``what`` becomes a MemoryLimitError that names it."""
    try:
        yield
    except MemoryError as exc:
        raise MemoryLimitError(f"reading {what} needs more memory than this process may "
                               "use (the machine's memory, or a ulimit or container limit)"
                               ) from exc


def size_text(nbytes: int) -> str:
    """``2.5 GiB``: a size for messages."""
    for unit, scale in (("PiB", 50), ("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if nbytes >= 1 << scale:
            return f"{nbytes / (1 << scale):.3g} {unit}"
    return f"{nbytes} bytes"


def _physical() -> int:
    """The machine's memory; on Windows also what the process may still commit."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows)
        return min([_UNLIMITED, *_windows_memory()])


class _MemoryStatus(ctypes.Structure):
    """Windows' MEMORYSTATUSEX."""

    _fields_ = [("dwLength", ctypes.c_uint32), ("dwMemoryLoad", ctypes.c_uint32),
                *((name, ctypes.c_uint64) for name in (
                    "ullTotalPhys", "ullAvailPhys", "ullTotalPageFile", "ullAvailPageFile",
                    "ullTotalVirtual", "ullAvailVirtual", "ullAvailExtendedVirtual"))]


def _kernel32() -> object:
    return ctypes.WinDLL("kernel32")  # type: ignore[attr-defined]  # Windows only


def _windows_memory() -> list[int]:
    """Physical memory, and what this process may still commit and map (Windows)."""
    status = _MemoryStatus()
    status.dwLength = ctypes.sizeof(_MemoryStatus)
    try:
        if not _kernel32().GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
            return []
    except (AttributeError, OSError):  # not Windows
        return []
    return [status.ullTotalPhys, status.ullAvailPageFile, status.ullAvailVirtual]


def _rlimits(proc: Path) -> list[int]:
    """Room left under RLIMIT_AS and RLIMIT_DATA (none where there is no limit)."""
    try:
        import resource
    except ImportError:  # Windows
        return []
    room = []
    for limit, field in ((resource.RLIMIT_AS, "VmSize"), (resource.RLIMIT_DATA, "VmData")):
        soft = resource.getrlimit(limit)[0]
        if soft != resource.RLIM_INFINITY:
            room.append(max(0, soft - _status_bytes(proc, field)))
    return room


def _status_bytes(proc: Path, field: str) -> int:
    """A ``kB`` field of /proc/self/status in bytes; 0 where there is no /proc."""
    try:
        for line in (proc / "status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _cgroups(proc: Path, root: Path) -> list[int]:
    """Room left under each memory limit of this process's cgroup and its ancestors."""
    try:
        memberships = (proc / "cgroup").read_text().splitlines()
        mounts = (proc / "mountinfo").read_text().splitlines()
    except OSError:
        return []
    room = []
    for mount_point, inside, version in _memory_cgroups(memberships, mounts):
        top = root / mount_point.relative_to("/")
        for level in range(len(inside.parts), -1, -1):  # the cgroup first, the root last
            left = _room_in(top.joinpath(*inside.parts[:level]), version)
            if left is not None:
                room.append(left)
    return room


def _memory_cgroups(memberships: list[str], mounts: list[str]
                    ) -> Iterator[tuple[Path, Path, int]]:
    """Per mounted memory hierarchy (v1 or v2): its mount point, this process's cgroup
    relative to it, and the version."""
    paths: dict[int, str] = {}
    for line in memberships:  # "id:controllers:path"
        parts = line.split(":", 2)
        if len(parts) == 3 and parts[0] == "0" and parts[1] == "":
            paths[2] = parts[2]
        elif len(parts) == 3 and "memory" in parts[1].split(","):
            paths[1] = parts[2]
    for line in mounts:  # "id parent dev root mountpoint options ... - fstype source super"
        fields, _, tail = line.partition(" - ")
        left, right = fields.split(), tail.split()
        if len(left) < 5 or len(right) < 3:
            continue
        version = 2 if right[0] == "cgroup2" else \
            1 if right[0] == "cgroup" and "memory" in right[2].split(",") else 0
        path = paths.get(version)
        if path is None:
            continue
        inside = os.path.relpath(path, left[3])  # the mount may show only a subtree
        parts = Path(inside).parts if not inside.startswith("..") else ()
        yield Path(left[4]), Path(*parts) if parts else Path(), version


def _room_in(folder: Path, version: int) -> int | None:
    """Limit less usage (reclaimable file cache not counted) in one cgroup folder."""
    names = ("memory.max", "memory.current", "inactive_file") if version == 2 else \
        ("memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file")
    try:
        limit_text = (folder / names[0]).read_text().strip()
        if limit_text == "max" or int(limit_text) >= _UNLIMITED:
            return None
        usage = int((folder / names[1]).read_text())
    except (OSError, ValueError):
        return None
    inactive = 0
    try:
        for line in (folder / "memory.stat").read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == names[2]:
                inactive = int(value)
    except (OSError, ValueError):
        pass
    return max(0, int(limit_text) - max(0, usage - inactive))
