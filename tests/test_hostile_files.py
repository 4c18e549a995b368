"""Files written by a stranger: nothing they name is imported, called or allocated.

Each hostile file must end in a clear RestoreError with ``sys.modules`` unchanged,
no canary file created, and no large allocation (numpy reports its buffers to
tracemalloc, so a refused petabyte array shows up as a small peak).
"""

from __future__ import annotations

import io
import subprocess
import sys
import tracemalloc
from pathlib import Path

import h5py
import msgpack  # type: ignore[import-untyped]
import numpy as np
import pytest
from craft import edit_hdf5, header_for, raw_stream, write_records
from helpers import Box, Holder, new_session

from sessionh5 import CorruptFileError, RestoreError, State, UnknownClassError
from sessionh5._containers._hdf5 import layout
from sessionh5._containers._hdf5.heapguard import looping_heap
from sessionh5._containers.backends import write_backend
from sessionh5._engine.records import ObjectKey, Record
from sessionh5._engine.walk import SavedSession

HOLDER = ObjectKey("helpers.Holder", 1)
HOSTILE_NAMES = ["os.system", "builtins.eval", "subprocess.Popen", "posix.system",
                 "builtins.__import__", "antigravity.Thing", "xml.dom.minidom.parse",
                 "this.s", "sessionh5._containers.files.save"]
#: Modules a hostile name points at that this test process must never import.
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
def warm_imports() -> None:
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
    """Declared sizes beyond this machine's memory are refused, naming the dataset."""
    restore_refused(_petabyte_hdf5(column), RestoreError, "more than this machine's memory")


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
    assert target.get_state_manager("h") is None


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
