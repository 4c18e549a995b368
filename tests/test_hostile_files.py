"""Files written by a stranger: nothing they name is imported, called or allocated.

Each hostile file must end in a clear RestoreError with ``sys.modules`` unchanged,
no canary file created, and no large allocation (numpy reports its buffers to
tracemalloc, so a refused petabyte array shows up as a small peak).
"""

from __future__ import annotations

import io
import json
import os
import platform
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import h5py
import msgpack  # type: ignore[import-untyped]
import numpy as np
import pytest
from craft import (
    GIB,
    HOSTILE_HDF5,
    edit_hdf5,
    hdf5_bomb,
    header_for,
    honest_hdf5,
    hostile_hdf5,
    huge_hdf5,
    outside_files,
    raw_stream,
    stream_bomb,
    write_records,
)
from helpers import Box, Holder, new_session

from sessionh5 import (
    CorruptFileError,
    MemoryLimitError,
    RestoreError,
    State,
    UnknownClassError,
    UnsafeFileError,
)
from sessionh5._containers import memory
from sessionh5._containers._hdf5 import layout
from sessionh5._containers._hdf5.heapguard import looping_heap
from sessionh5._containers.backends import write_backend
from sessionh5._engine.records import ObjectKey, Record
from sessionh5._engine.walk import SavedSession

HOLDER = ObjectKey("helpers.Holder", 1)
HOSTILE_NAMES = ["os.system", "builtins.eval", "subprocess.Popen", "posix.system",
                 "builtins.__import__", "antigravity.Thing", "xml.dom.minidom.parse",
                 "this.s", "sessionh5._containers.files.save"]
#: Modules a hostile name points at that a restore must never import.
NEVER_IMPORTED = ("antigravity", "xml.dom.minidom", "this")


class SelfMade(State):
    """Restores with its own restore_snapshot, so it cannot take part in a cycle."""

    SESSION_NAME = "test_hostile_files.SelfMade"

    @classmethod
    def restore_snapshot(cls, session: object, data: dict) -> SelfMade:
        obj = cls()
        obj.__dict__.update(data)
        return obj


@pytest.fixture(autouse=True)
def hidden_targets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Take the modules hostile names point at out of sys.modules for the test.

    Other tests' libraries import some of them (moto and dask import xml.dom.minidom);
    hidden, a restore that imported one would put it back, which restore_refused sees,
    whichever tests ran first.
    """
    for module in NEVER_IMPORTED:
        monkeypatch.delitem(sys.modules, module, raising=False)


@pytest.fixture(autouse=True)
def warm_imports(hidden_targets: None) -> None:
    """Import everything an honest restore imports, so sys.modules is stable afterwards."""
    honest = new_session(minimal=True)
    honest.h = Holder(a=np.arange(2000.0), b=Box(x=1))
    for fmt in ("hdf5", "stream"):
        buf = io.BytesIO()
        honest.save(buf, format=fmt)
        new_session(minimal=True).restore(io.BytesIO(buf.getvalue()))


def restore_refused(data: bytes, error: type[RestoreError], match: str) -> RestoreError:
    """Restore ``data``; assert it fails as told, importing nothing and allocating little."""
    before = set(sys.modules)
    target = new_session(minimal=True)
    tracemalloc.start()
    try:
        with pytest.raises(error, match=match) as info:
            target.restore(io.BytesIO(data))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert set(sys.modules) == before
    assert peak < 64 * 2**20, f"restore allocated {peak / 2**20:.0f} MiB"
    assert target.state_manager_tags == ["logger"]
    return info.value


@pytest.mark.parametrize("fmt", ["hdf5", "stream"])
@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_class_names_of_callables_are_unknown_classes(fmt: str, name: str,
                                                      tmp_path: Path) -> None:
    """A class name naming a function or module is an unknown class; nothing runs."""
    for module in NEVER_IMPORTED:
        assert module not in sys.modules
    canary = tmp_path / "canary"
    evil = ObjectKey(name, 1)
    records = [Record(evil, {"args": [f"touch {canary}"], "cmd": f"touch {canary}"}, 1),
               Record(HOLDER, {"payload": evil}, 1)]
    error = restore_refused(write_records(records, {"h": HOLDER}, fmt), UnknownClassError,
                            f"class '{name}' is not registered")
    assert str(evil) in str(error)
    assert not canary.exists()


@pytest.mark.parametrize("fmt", ["hdf5", "stream"])
def test_a_manager_of_a_hostile_class_is_an_unknown_class(fmt: str) -> None:
    """The manager record itself naming os.system fails the same way."""
    evil = ObjectKey("os.system", 1)
    data = write_records([Record(evil, {"cmd": "echo pwned"}, 1)], {"h": evil}, fmt)
    restore_refused(data, UnknownClassError, "'os.system' is not registered")


def test_stream_reference_to_a_missing_object() -> None:
    """A stream reference to an object that is not in the file is a corrupt file."""
    data = raw_stream([Record(HOLDER, {"x": ObjectKey("helpers.Box", 7)}, 1)], {"h": HOLDER})
    restore_refused(data, CorruptFileError, r"refers to <helpers.Box, 7>")


@pytest.mark.parametrize(("node", "row", "match"), [
    pytest.param(99, -1, "reference to node 99", id="node-out-of-range"),
    pytest.param(-5, -1, "reference to node -5", id="negative-node"),
    pytest.param(1, 40, "reference to row 40", id="row-out-of-range"),
])
def test_hdf5_reference_to_a_missing_object(node: int, row: int, match: str) -> None:
    """HDF5 reference ids that point nowhere are refused, even with valid digests."""
    box = ObjectKey("helpers.Box", 1)
    data = write_records([Record(box, {"v": 1}, 1), Record(HOLDER, {"x": box}, 1)],
                         {"h": HOLDER}, "hdf5")

    def retarget(file: h5py.File) -> None:
        file["/h"].attrs[layout.REF_NODES] = np.array([node], dtype=np.int64)
        file["/h"].attrs[layout.REF_ROWS] = np.array([row], dtype=np.int64)

    restore_refused(edit_hdf5(data, retarget), CorruptFileError, match)


def test_hdf5_cycle_of_self_restoring_objects_is_refused() -> None:
    """A cycle the classes cannot build (own restore_snapshot) fails before any restore."""
    a, b = ObjectKey(SelfMade.SESSION_NAME, 1), ObjectKey(SelfMade.SESSION_NAME, 2)
    records = [Record(a, {"peer": b}, 1), Record(b, {"peer": a}, 1),
               Record(HOLDER, {"x": a}, 1)]
    data = write_records(records, {"h": HOLDER}, "hdf5")
    restore_refused(data, RestoreError, "reference cycle.*cannot be built")


def test_stream_forward_reference_cycle_is_refused() -> None:
    """Streams refer backwards only, so any crafted cycle is a corrupt file."""
    a, b = ObjectKey(SelfMade.SESSION_NAME, 1), ObjectKey(SelfMade.SESSION_NAME, 2)
    records = [Record(a, {"peer": b}, 1), Record(b, {"peer": a}, 1),
               Record(HOLDER, {"x": a}, 1)]
    restore_refused(raw_stream(records, {"h": HOLDER}), CorruptFileError, "not written before")


def _petabyte_hdf5(column: str | None) -> bytes:
    """A file whose array (or table column) declares petabytes but stores nothing."""
    session = new_session(minimal=True)
    session.h = Holder(a=np.arange(2000.0), rows=[Box(v=i) for i in range(3)])
    buf = io.BytesIO()
    session.save(buf)

    def enlarge(file: h5py.File) -> None:
        group = file["/h"] if column is None else file["/h/Box"]
        name = "a" if column is None else column
        dtype = group[name].dtype
        del group[name]
        group.create_dataset(name, shape=(2**25, 2**25), dtype=dtype, chunks=(256, 256))

    return edit_hdf5(buf.getvalue(), enlarge)


@pytest.mark.parametrize("column", [None, layout.T_ORDINAL, layout.T_STATE, layout.T_REF_NODES])
def test_hdf5_petabyte_dataset_is_refused_before_allocating(column: str | None) -> None:
    """A petabyte declared in a few bytes has chunks that were never written: refused,
    naming the dataset, before anything is allocated."""
    name = "/h/a" if column is None else f"/h/Box/{column}"
    restore_refused(_petabyte_hdf5(column), UnsafeFileError,
                    f"dataset '{name}' has parts that were never written")


@pytest.mark.parametrize("column", [None, layout.T_STATE])
def test_hdf5_array_larger_than_the_memory_budget_is_refused(
        column: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every chunk written, but more bytes than this process may use: MemoryLimitError
    naming the dataset, before its memory is taken (the budget is lowered to 4 MiB)."""
    session = new_session(minimal=True)
    big, small = np.zeros(1_000_000), np.zeros(10)
    session.h = Holder(a=big if column is None else small,
                       rows=[Box(v="x" * (5_000_000 if column else 5))])
    data = io.BytesIO()
    session.save(data)
    monkeypatch.setattr(memory, "memory_budget", lambda: 4 << 20)
    monkeypatch.setattr(memory, "SMALL", 0)
    name = "/h/a" if column is None else f"/h/Box/{column}"
    restore_refused(data.getvalue(), MemoryLimitError,
                    rf"array '{name}' \(shape .*\) needs .* more than the 4 MiB this process "
                    "may still use")


def test_stream_petabyte_array_is_refused_before_allocating() -> None:
    """An ext-1 array declaring petabytes with a few data bytes is a corrupt file."""
    payload = msgpack.packb({b"kind": b"", b"dtype": "<f8", b"shape": [2**25, 2**25],
                             b"data": b"\0" * 8}, use_bin_type=True)
    records = [Record(HOLDER, {"a": msgpack.ExtType(1, payload)}, 1)]
    restore_refused(raw_stream(records, {"h": HOLDER}), CorruptFileError, "needs .* bytes")


def _forbidden(*args: object, **kwargs: object) -> None:
    raise AssertionError("restore must never unpickle or unmarshal data")


@pytest.mark.parametrize("fmt", ["hdf5", "stream"])
def test_restore_never_unpickles(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Restoring values of every kind calls no pickle, marshal or shelve loader."""
    import marshal
    import pickle

    session = new_session()
    session.h = Holder(a=np.arange(5000.0), s={1, 2}, t=(1, "x"), b=b"raw", box=Box(v=[1.5]),
                       rec=np.zeros(3, dtype=[("x", "<i4"), ("y", "<f8")]))
    buf = io.BytesIO()
    session.save(buf, format=fmt)
    for name in ("loads", "load", "Unpickler"):
        monkeypatch.setattr(pickle, name, _forbidden)
    monkeypatch.setattr(marshal, "loads", _forbidden)
    monkeypatch.setattr(marshal, "load", _forbidden)
    restored = new_session()
    restored.restore(io.BytesIO(buf.getvalue()))
    assert restored.h.s == {1, 2}
    assert restored.h.box.v == [1.5]
    assert "shelve" not in sys.modules


@pytest.mark.parametrize("fmt", ["hdf5", "stream"])
@pytest.mark.parametrize("tag", ["_managers", "restore", "triggers", "metadata", "app_name",
                                 "__class__", "__dict__"])
def test_attribute_manager_tags_never_replace_session_members(fmt: str, tag: str) -> None:
    """A file's 'attribute' manager named like a Session member becomes a plain manager."""
    header = header_for({tag: HOLDER})
    header.attr_info = {tag: True}
    buf = io.BytesIO()
    write_backend(buf, SavedSession(header, [Record(HOLDER, {"x": 1}, 1)]), format=fmt,
                  compress=None)
    target = new_session()
    member = getattr(target, tag)
    target.restore(io.BytesIO(buf.getvalue()))
    assert type(getattr(target, tag)) is type(member)
    assert vars(target.get_state_manager(tag)) == {"x": 1}
    assert type(vars(target)["_managers"]) is dict


def _zeroed_heap_objects(data: bytes) -> bytes:
    """``data`` with the global heap's objects zeroed from the third one on (a zeroed block)."""
    start = data.index(b"GCOL\x01")
    objects = start + 16
    for _ in range(2):
        length = int.from_bytes(data[objects + 8:objects + 16], "little")
        objects += 16 + (length + 7) // 8 * 8
    return data[:objects] + bytes(256) + data[objects + 256:]


_CHILD = """
import io, sys
import sessionh5
from sessionh5._tools.info import info
data = open(sys.argv[1], "rb").read()
for call in (lambda: sessionh5.Session("x").restore(io.BytesIO(data)),
             lambda: info(io.BytesIO(data))):
    try:
        call()
        print("no error")
    except sessionh5.SessionError as exc:
        print(type(exc).__name__, exc)
print(sessionh5.validate(io.BytesIO(data)))
"""


def test_zeroed_global_heap_is_refused_not_an_endless_loop(tmp_path: Path) -> None:
    """HDF5 loops forever on a zero-size free-space heap object; the reads are guarded.

    Run in a child with a time limit, so a regression fails instead of hanging the suite.
    """
    session = new_session()
    session.h = Holder(rows=[Box(v=f"text {i}") for i in range(5)])
    buf = io.BytesIO()
    session.save(buf)
    damaged = tmp_path / "damaged.h5s"
    damaged.write_bytes(_zeroed_heap_objects(buf.getvalue()))
    result = subprocess.run([sys.executable, "-c", _CHILD, str(damaged)], capture_output=True,
                            text=True, timeout=120, check=True)
    restore, summary, problems = result.stdout.splitlines()
    assert restore.startswith("CorruptFileError") and "global heap" in restore
    assert summary.startswith("CorruptFileError") and "global heap" in summary
    assert "global heap collection" in problems


@pytest.mark.parametrize(("objects", "loops"), [
    pytest.param([(1, 6), (2, 4), (0, 4096 - 16 - 48)], False, id="sound"),
    pytest.param([(1, 6), (0, 0)], True, id="zero-free-space"),
    pytest.param([(1, 6), (7, 0), (0, 4096 - 16 - 40)], False, id="empty-object-advances"),
])
def test_looping_heap_mirrors_hdf5s_walk(objects: list[tuple[int, int]], loops: bool) -> None:
    """Only a walk that stops advancing is refused; sound collections pass."""
    block = bytearray(b"GCOL\x01\0\0\0" + (4096).to_bytes(8, "little"))
    for index, length in objects:
        block += index.to_bytes(2, "little") + bytes(6) + length.to_bytes(8, "little")
        block += bytes((length + 7) // 8 * 8 if index else max(0, length - 16))
    block += bytes(4096 - len(block))
    assert looping_heap(bytes(block)) is loops


@pytest.mark.parametrize("fmt", ["hdf5", "stream"])
@pytest.mark.parametrize("attribute", [True, False], ids=["attribute", "plain"])
def test_a_manager_that_is_not_a_state_manager_is_a_corrupt_file(fmt: str,
                                                                 attribute: bool) -> None:
    """A manager tag pointing at a plain State object is refused, not set as an attribute."""
    box = ObjectKey("helpers.Box", 1)
    header = header_for({"h": box})
    header.attr_info = {"h": attribute}
    buf = io.BytesIO()
    write_backend(buf, SavedSession(header, [Record(box, {"v": 1}, 1)]), format=fmt,
                  compress=None)
    target = new_session()
    with pytest.raises(CorruptFileError, match="'h' restored as a Box, which is not a State"):
        target.restore(io.BytesIO(buf.getvalue()))
    assert not hasattr(target, "h")
    assert "h" not in target.state_manager_tags


def _two_box_tables() -> bytes:
    session = new_session(minimal=True)
    session.h = Holder(boxes=[Box(n=i) for i in range(3)])
    session.g = Holder(boxes=[Box(n=i) for i in range(3, 6)])
    buf = io.BytesIO()
    session.save(buf)
    return buf.getvalue()


def _set_ordinals(table: str, ordinals: list[int]):
    def edit(file: h5py.File) -> None:
        group = file[table]
        del group[layout.T_ORDINAL]
        group.create_dataset(layout.T_ORDINAL, data=np.array(ordinals, np.int64))
    return edit


@pytest.mark.parametrize(("table", "ordinals", "message"), [
    pytest.param("/h/Box", [1, 2, 1], r"<helpers.Box, 1> is stored twice \(/h/Box rows 0 and 2\)",
                 id="twice-in-one-table"),
    pytest.param("/g/Box", [4, 2, 6], r"<helpers.Box, 2> is stored twice \(/g/Box and /h/Box\)",
                 id="in-two-tables"),
])
def test_a_key_stored_twice_is_refused(table: str, ordinals: list[int], message: str) -> None:
    data = edit_hdf5(_two_box_tables(), _set_ordinals(table, ordinals))
    with pytest.raises(CorruptFileError, match=message):
        new_session().restore(io.BytesIO(data))


# --- every read path, in a child process with a memory limit ---------------------------
#
# tests/hostile_worker.py runs restore, the archive view, info (API and command line),
# ls, dump, diff, validate and convert on each file under RLIMIT_AS, and reports each
# command's outcome, how far its resident memory rose, whether any output held the
# secret the files point at (or that was left in freed memory), and whether any
# outside file was opened at all (inotify).

TESTS = Path(__file__).resolve().parent
AS_LIMIT_MB = 1536
RSS_GROWTH_MB = 200
API_ERRORS = {"CorruptFileError", "UnsafeFileError", "MemoryLimitError"}


def run_worker(files: dict[str, bytes], folder: Path, outside: list[Path],
               skip: tuple[str, ...] = ()) -> dict[tuple[str, str], dict[str, Any]]:
    """Outcome per (file name, command) of every command on every file, in one child."""
    scratch = folder / "scratch"
    scratch.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    args = [sys.executable, str(TESTS / "hostile_worker.py"), "--limit-mb", str(AS_LIMIT_MB),
            "--scratch", str(scratch), *[f"--watch={p}" for p in outside],
            *[f"--skip={s}" for s in skip], *[str(folder / name) for name in files]]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(TESTS.parent)])}
    result = subprocess.run(args, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    outcomes = [json.loads(line) for line in result.stdout.splitlines()]
    return {(o["file"], o["command"]): o for o in outcomes}


def assert_refused(outcome: dict[str, Any], *phrases: str) -> None:
    """A command failed cleanly: a SessionError from the API, or the command line's one
    error line (exit 1; diff exits 2; validate lists the problem), naming ``phrases``."""
    command = outcome["command"]
    assert outcome["exit"] == (2 if command == "diff" else 1), outcome
    if command in ("restore", "archive", "info-api"):
        assert outcome["error"] in API_ERRORS, outcome
    elif command == "validate":
        assert "1 problem(s)" in outcome["message"] or "problem" in outcome["message"], outcome
    else:
        assert outcome["error"] is None and outcome["message"].startswith("sessionh5: error: ")
        assert "\n" not in outcome["message"], outcome
    for phrase in phrases:
        assert phrase in outcome["message"], (phrase, outcome)


@pytest.fixture(scope="module")
def structure_outcomes(tmp_path_factory: pytest.TempPathFactory
                       ) -> dict[tuple[str, str], dict[str, Any]]:
    """The hostile HDF5 structures of craft.HOSTILE_HDF5, and the honest file they edit."""
    folder = tmp_path_factory.mktemp("hostile")
    outside = outside_files(folder)
    files = {f"{name}.h5s": hostile_hdf5(name, folder) for name in HOSTILE_HDF5}
    files["honest.h5s"] = honest_hdf5()
    return run_worker(files, folder, outside)


def test_the_honest_file_passes_every_command(
        structure_outcomes: dict[tuple[str, str], dict[str, Any]]) -> None:
    """The controls: the file the hostile ones are edited from works everywhere, and the
    secret planted before each command is there in memory allocated and not written."""
    glibc = platform.libc_ver()[0] == "glibc"  # whose heap hands freed memory back as is
    for (file, command), outcome in structure_outcomes.items():
        if command != "fresh-memory":
            assert not outcome["secret"], outcome
        elif glibc:
            assert outcome["secret"], "planting the secret in freed memory did not work"
        if file == "honest.h5s":
            assert (outcome["exit"], outcome["error"]) == (0, None), outcome
            assert outcome["touched"] == []


@pytest.mark.parametrize("name", sorted(HOSTILE_HDF5))
def test_hdf5_features_reaching_outside_are_refused_on_every_read_path(
        name: str, structure_outcomes: dict[tuple[str, str], dict[str, Any]]) -> None:
    """External storage, external and soft links, virtual datasets, unwritten chunks:
    every command refuses, naming the path; no outside file is opened or read, and no
    byte of the secret (on disk or left in freed memory) reaches any output."""
    _, path, phrase = HOSTILE_HDF5[name]
    outcomes = {c: o for (f, c), o in structure_outcomes.items()
                if f == f"{name}.h5s" and c != "fresh-memory"}
    assert len(outcomes) == 10
    for command, outcome in outcomes.items():
        if command == "archive" and "/Box/" in path:  # lists objects and arrays, never
            assert (outcome["exit"], outcome["error"]) == (0, None)  # a table column
        else:
            assert_refused(outcome, path, phrase)
        if command in ("restore", "info-api") or outcome["error"] is not None:
            assert outcome["error"] == "UnsafeFileError", outcome
        assert outcome["touched"] == [], outcome
        assert not outcome["secret"], outcome


@pytest.fixture(scope="module")
def bomb_outcomes(tmp_path_factory: pytest.TempPathFactory
                  ) -> dict[tuple[str, str], dict[str, Any]]:
    """Decompression bombs in each codec and container, and a huge array fully stored."""
    folder = tmp_path_factory.mktemp("bombs")
    files = {f"{codec}-chunk.h5s": hdf5_bomb(codec) for codec in ("gzip", "lz4", "blosc")}
    files.update({f"{codec}-{where}.cxs": stream_bomb(codec, where)
                  for codec in ("lz4", "gzip") for where in ("metadata", "record", "count")})
    files["huge.h5s"] = huge_hdf5(2 * GIB)
    # diff compares a huge array block by block in bounded memory: it succeeds, slowly
    return run_worker(files, folder, [], skip=("huge.h5s:diff",))


BOMBS = {  # file -> (commands that never read the bomb, what the refusal names)
    "gzip-chunk.h5s": ({"info", "info-api", "ls"}, "deflate stream holds more than"),
    "lz4-chunk.h5s": ({"info", "info-api", "ls"}, "LZ4 header says 2147483648 bytes"),
    "blosc-chunk.h5s": ({"info", "info-api", "ls"}, "Blosc chunk declares 2147352576 bytes"),
    "lz4-metadata.cxs": (set(), "2 GiB"),
    "gzip-metadata.cxs": (set(), "2 GiB"),
    "lz4-record.cxs": ({"info", "info-api"}, "record 4 (at byte"),
    "gzip-record.cxs": ({"info", "info-api"}, "record 4 (at byte"),
    "lz4-count.cxs": ({"info", "info-api"}, "exceeds max_array_len"),
    "gzip-count.cxs": ({"info", "info-api"}, "exceeds max_array_len"),
    "huge.h5s": ({"info", "info-api", "ls"}, "needs 2.01 GiB, more than the"),
}


@pytest.mark.parametrize("file", sorted(BOMBS))
def test_bombs_and_huge_arrays_are_refused_in_bounded_memory(
        file: str, bomb_outcomes: dict[tuple[str, str], dict[str, Any]]) -> None:
    """Under RLIMIT_AS of 1.5 GB no command takes 200 MB more than it had, none ends in
    a MemoryError, and each that reads the bomb refuses it with a SessionError."""
    untouched, phrase = BOMBS[file]
    outcomes = {c: o for (f, c), o in bomb_outcomes.items() if f == file and c != "fresh-memory"}
    assert len(outcomes) == (9 if file == "huge.h5s" else 10)
    for command, outcome in outcomes.items():
        assert outcome["rss_mb"] < RSS_GROWTH_MB, outcome
        assert "MemoryError:" not in outcome["message"] and outcome["error"] != "MemoryError"
        if command in untouched:
            assert (outcome["exit"], outcome["error"]) == (0, None), outcome
        elif command == "archive" and file.endswith(".cxs"):  # streams have no archive view
            assert outcome["error"] == "UsageError" and "is a session stream" in \
                outcome["message"], outcome
        elif command in ("info", "info-api") and "metadata" in file:
            assert_refused(outcome, "metadata does not end within its first MiB")
        else:
            assert_refused(outcome, phrase)


@pytest.mark.parametrize("file", ["lz4-metadata.cxs", "gzip-metadata.cxs", "lz4-record.cxs"])
def test_info_reads_at_most_the_first_mib_of_a_stream(
        file: str, bomb_outcomes: dict[tuple[str, str], dict[str, Any]]) -> None:
    """Whatever the stream declares, info stops after its first MiB."""
    assert 0 < bomb_outcomes[(file, "info-api")]["bytes_read"] <= 1 << 20
