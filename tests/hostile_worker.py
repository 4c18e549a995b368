"""Child process of test_hostile_files: every read path on each file, under a memory limit.

Usage: ``python hostile_worker.py --limit-mb N --scratch DIR [--watch PATH ...] FILE ...``.
The address space is limited to N MiB first (0: no limit). Then, for each FILE, each
command runs in turn (restore, the archive view, ``info`` through the API, and the
command line's info, ls, dump, diff, validate and convert to both containers), after
a secret has been planted in freed memory; one JSON line per command tells:

* ``exit`` (the command line's exit status, or 0/1 for the API calls), ``error`` (the
  exception type a call raised, None if it returned) and ``message`` (the exception's
  text, or what the command line wrote on stderr);
* ``rss_mb``: how far the peak resident memory rose above what it was before the
  command (``/proc/self/clear_refs`` resets the peak between commands);
* ``seconds`` (reported for the benchmark, never asserted by tests);
* ``secret``: whether any byte string the command produced (restored arrays, array
  slices, printed text, converted files) holds the start of the planted secret;
* ``touched``: inotify events (open or read) on the watched files, which the file
  points at but no command may open;
* ``bytes_read``: for ``info-api``, how many bytes of the file it read.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import io
import json
import os
import resource
import struct
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from craft import SECRET
from helpers import CountingReader, new_session

import sessionh5
from sessionh5._cli import main as cli

NEEDLE = SECRET[:24]
_IN_ACCESS, _IN_OPEN = 0x1, 0x20


class Watch:
    """inotify on files no command may open or read (Linux); events since the last call."""

    def __init__(self, paths: list[str]) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_NONBLOCK)
        for path in paths:
            libc.inotify_add_watch(self.fd, os.fsencode(path), _IN_ACCESS | _IN_OPEN)

    def events(self) -> list[int]:
        found = []
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return found
        at = 0
        while at < len(data):
            _, mask, _, length = struct.unpack_from("iIII", data, at)
            found.append(mask)
            at += 16 + length
        return found


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _bytes_of(value: Any) -> list[bytes]:
    """Every array's bytes inside a restored value (to look for the secret)."""
    found: list[bytes] = []
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, np.ndarray):
            found.append(v.tobytes())
        elif isinstance(v, (bytes, bytearray, str)):
            found.append(v.encode("utf-8", "replace") if isinstance(v, str) else bytes(v))
        elif isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, (list, tuple, set)):
            stack.extend(v)
        elif hasattr(v, "__dict__"):
            stack.extend(vars(v).values())
    return found


def restore(path: str, scratch: Path) -> tuple[int, list[bytes]]:
    session = new_session(minimal=True)
    session.restore(path)
    return 0, _bytes_of(session.get_state_manager("h"))


def archive(path: str, scratch: Path) -> tuple[int, list[bytes]]:
    with sessionh5.open_archive(path) as view:
        view.objects()
        return 0, [array[()].tobytes() for array in view.arrays().values()]


def info_api(path: str, scratch: Path) -> tuple[int, list[bytes]]:
    with CountingReader.of_path(Path(path)) as reader:
        try:
            summary = sessionh5.info(reader)
        finally:
            _LAST["bytes_read"] = reader.bytes_read
    return 0, [repr(summary).encode()]


_LAST: dict[str, Any] = {}


def command_line(*args: str) -> Callable[[str, Path], tuple[int, list[bytes]]]:
    def run(path: str, scratch: Path) -> tuple[int, list[bytes]]:
        argv = [a.format(file=path, scratch=scratch) for a in args]
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli(argv)
        produced = [out.getvalue().encode(), err.getvalue().encode()]
        produced += [p.read_bytes() for p in scratch.iterdir()]
        if code:  # validate lists problems on stdout, other commands fail on stderr
            raise _Exit(code, (err.getvalue() or out.getvalue()).strip())
        return code, produced
    return run


class _Exit(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def fresh_memory(path: str, scratch: Path) -> tuple[int, list[bytes]]:
    """The control: memory allocated as a reader allocates an array, not written to.
    Its bytes hold the planted secret when planting works, so the others' tests can fail."""
    return 0, [np.empty(PLANTED, np.uint8).tobytes()]


PLANTED = 1_600_000
COMMANDS: dict[str, Callable[[str, Path], tuple[int, list[bytes]]]] = {
    "fresh-memory": fresh_memory,
    "restore": restore,
    "archive": archive,
    "info-api": info_api,
    "info": command_line("info", "{file}"),
    "ls": command_line("ls", "{file}"),
    "dump": command_line("dump", "{file}"),
    "diff": command_line("diff", "{file}", "{file}"),
    "validate": command_line("validate", "{file}"),
    "convert-hdf5": command_line("convert", "{file}", "{scratch}/out.h5s"),
    "convert-stream": command_line("convert", "{file}", "{scratch}/out.cxs"),
}


def plant_secret(nbytes: int) -> None:
    """Leave the secret in memory the allocator hands out next (freed, not cleared)."""
    raise_threshold = np.empty(4 * nbytes, np.uint8)  # glibc then serves such sizes from
    raise_threshold[:] = 1  # its heap, where freed memory is reused as it was left
    del raise_threshold
    secret = bytearray(NEEDLE * (nbytes // len(NEEDLE)))
    del secret


def run_one(name: str, path: str, scratch: Path, watch: Watch) -> dict[str, Any]:
    for old in scratch.iterdir():
        old.unlink()
    plant_secret(PLANTED)
    _LAST.clear()
    Path("/proc/self/clear_refs").write_text("5")  # the peak RSS starts again from here
    before = _status_kb("VmRSS")
    start = time.perf_counter()
    outcome: dict[str, Any] = {"command": name, "exit": 0, "error": None, "message": ""}
    produced: list[bytes] = []
    try:
        outcome["exit"], produced = COMMANDS[name](path, scratch)
    except _Exit as exc:
        outcome.update(exit=exc.code, message=str(exc))
    except BaseException as exc:  # the parent judges every outcome
        outcome.update(exit=1, error=type(exc).__name__, message=str(exc),
                       traceback=traceback.format_exc(limit=4))
    outcome["seconds"] = round(time.perf_counter() - start, 3)
    outcome["rss_mb"] = round((_status_kb("VmHWM") - before) / 1024, 1)
    outcome["secret"] = any(NEEDLE in data for data in produced)
    outcome["touched"] = watch.events()
    outcome.update(_LAST)
    return outcome


def warm_up() -> None:
    """Load what every command loads, so a command's memory is its own work."""
    from helpers import Holder

    honest = new_session(minimal=True)
    honest.h = Holder(a=np.arange(300_000.0))
    for fmt in ("hdf5", "stream"):
        buf = io.BytesIO()
        honest.save(buf, format=fmt)
        new_session(minimal=True).restore(io.BytesIO(buf.getvalue()))
        sessionh5.validate(io.BytesIO(buf.getvalue()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit-mb", type=int, default=0)
    parser.add_argument("--scratch", type=Path, required=True)
    parser.add_argument("--watch", action="append", default=[])
    parser.add_argument("--skip", action="append", default=[])
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    warm_up()
    watch = Watch(args.watch)
    if args.limit_mb:
        limit = args.limit_mb << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    for path in args.files:
        for name in COMMANDS:
            if f"{Path(path).name}:{name}" not in args.skip:
                outcome = run_one(name, path, args.scratch, watch)
                print(json.dumps({"file": Path(path).name, **outcome}), flush=True)


if __name__ == "__main__":
    main()
