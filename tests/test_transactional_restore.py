"""A failed restore leaves the session exactly as it was, wherever the failure happens.

A session of several managers, shared objects, models, metadata, aliases, view and
log is saved; then the restore is made to fail at every record in turn: a
``restore_snapshot`` that raises when its label is flagged, a corrupted node (HDF5:
invalid state text, re-signed so the damage is seen late, at load time), and an
unknown class (the record's class renamed in the file). Each time RestoreError
names the path (manager tag -> object), "end restore session" fires, and the
target session's managers (by identity), models, metadata, aliases, view, log and
objects are what they were, with and without ``combine=True``.
"""

from __future__ import annotations

import copy
import io
from typing import Any, ClassVar

import h5py
import msgpack
import numpy as np
import pytest
from craft import edit_hdf5, set_table_states, table_states
from helpers import new_session

from sessionh5 import Model, RestoreError, Session, State, StateManager, UnknownClassError
from sessionh5._containers._hdf5 import layout
from sessionh5._containers._stream import read_stream, write_stream
from sessionh5._containers._stream.source import StreamSource
from sessionh5._engine.plain import substitute_keys
from sessionh5._engine.records import ObjectKey, Record

PREFIX = "test_transactional_restore."


class Fragile(State):
    """Restores normally unless its label is in ``fail_on``."""

    SESSION_NAME = PREFIX + "Fragile"
    fail_on: ClassVar[set[str]] = set()

    def __init__(self, label: str, **attrs: Any) -> None:
        self.label = label
        self.__dict__.update(attrs)

    @classmethod
    def restore_snapshot(cls, session: Session, data: Any) -> Any:
        if data["label"] in cls.fail_on:
            raise RuntimeError(f"flagged {data['label']}")
        obj = cls.__new__(cls)
        obj.__dict__.update(data)
        return obj


class FragileManager(StateManager):
    """A state manager with the same failure switch."""

    SESSION_NAME = PREFIX + "FragileManager"

    def __init__(self, label: str, **attrs: Any) -> None:
        self.label = label
        self.__dict__.update(attrs)

    @classmethod
    def restore_snapshot(cls, session: Session, data: Any) -> Any:
        if data["label"] in Fragile.fail_on:
            raise RuntimeError(f"flagged {data['label']}")
        obj = cls.__new__(cls)
        obj.__dict__.update(data)
        return obj

    def reset_state(self, session: Session) -> None:
        self.__dict__ = {"label": self.label}


class FragileModel(Model):
    """A model (restored by the Models manager's records) with the failure switch."""

    SESSION_NAME = PREFIX + "FragileModel"

    @classmethod
    def restore_snapshot(cls, session: Session, data: Any) -> Any:
        if data["name"] in Fragile.fail_on:
            raise RuntimeError(f"flagged {data['name']}")
        obj = cls.__new__(cls)
        obj.__dict__.update(data)
        return obj


def saved_session() -> Session:
    """Three managers sharing objects, an array object, two models, everything filled in."""
    session = new_session()
    shared = Fragile("shared", value=[1, 2])
    volume = Fragile("volume", data=np.arange(5000, dtype=np.float32), peer=shared)
    session.alpha = FragileManager("alpha", items=[Fragile("a1"), shared, volume])
    session.beta = FragileManager("beta", items=[Fragile("b1", n=2), shared])
    session.add_state_manager("gamma/tag", FragileManager("gamma", first=volume))
    session.models.add([FragileModel("m1", session), FragileModel("m2", session)])
    session.user_aliases["saved"] = "cmd saved"
    session.logger.info("saved message")
    session.metadata["title"] = "saved"
    session.main_view.field_of_view = 60.0
    return session


#: Label -> the manager tag that first reaches the object (the path's first part).
LABELS = {"alpha": "alpha", "a1": "alpha", "shared": "alpha", "volume": "alpha",
          "beta": "beta", "b1": "beta", "gamma": "gamma/tag", "m1": "models", "m2": "models"}


def target_session() -> Session:
    """The session that is open when the restore fails: its own managers and data."""
    session = new_session()
    session.alpha = FragileManager("target-alpha", items=[Fragile("t1")])
    session.delta = FragileManager("delta", x=1)
    session.models.add([Model("open model", session)])
    session.user_aliases["mine"] = "cmd mine"
    session.logger.info("open message")
    session.metadata.update(title="open", tags=["x"])
    session.main_view.camera_position = np.full((3, 4), 2.0)
    session.main_view.window_size = (640, 480)
    return session


def state_of(session: Session) -> dict[str, Any]:
    """Everything a failed restore must leave alone, with identities where they matter."""
    view = session.main_view
    tags = session.state_manager_tags
    return {
        "managers": [(t, id(session.get_state_manager(t))) for t in tags],
        "attributes": {t: id(vars(session).get(t)) for t in tags},
        "manager data": {t: copy.copy(vars(session.get_state_manager(t))) for t in tags
                         if isinstance(session.get_state_manager(t), FragileManager)},
        "models": [(id(m), m.id, m.name, id(m.parent)) for m in session.models.list()],
        "metadata": copy.deepcopy(session.metadata),
        "aliases": dict(session.user_aliases.aliases),
        "view": (view.camera_position.tobytes(), view.field_of_view, view.background_color,
                 view.window_size),
        "log": list(session.logger.messages),
        "restore options": dict(session.restore_options),
    }


def save(fmt: str) -> bytes:
    buf = io.BytesIO()
    saved_session().save(buf, format=fmt)
    return buf.getvalue()


def assert_untouched(data: bytes, combine: bool, error: type[RestoreError],
                     match: str) -> RestoreError:
    """Restore into a target session; it must fail as told and leave the target as it was."""
    target = target_session()
    before = state_of(target)
    ended: list[object] = []
    target.triggers.add_handler("end restore session", lambda name, data: ended.append(name))
    with pytest.raises(error, match=match) as info:
        target.restore(io.BytesIO(data), combine=combine)
    assert ended == ["end restore session"]
    assert state_of(target) == before
    return info.value


def full_text(error: BaseException) -> str:
    return "\n".join([str(error), *getattr(error, "__notes__", [])])


@pytest.fixture(autouse=True)
def no_flags() -> Any:
    yield
    Fragile.fail_on.clear()


def test_the_file_restores_when_nothing_fails(fmt: str) -> None:
    """The baseline: every label is restored (so each failing case below is a real one)."""
    target = target_session()
    target.restore(io.BytesIO(save(fmt)))
    assert target.get_state_manager("gamma/tag").first.peer is target.alpha.items[1]
    assert [m.name for m in target.models.list()] == ["m1", "m2"]


@pytest.mark.parametrize("combine", [False, True], ids=["replace", "combine"])
@pytest.mark.parametrize("label", sorted(LABELS))
def test_failing_restore_snapshot_at_each_record(fmt: str, label: str, combine: bool) -> None:
    """restore_snapshot raising at any one record: RestoreError naming tag -> object."""
    data = save(fmt)
    Fragile.fail_on.add(label)
    error = assert_untouched(data, combine, RestoreError, f"flagged {label}")
    assert f"{LABELS[label]} -> <{PREFIX}" in full_text(error)


def hdf5_nodes(data: bytes) -> list[str]:
    with h5py.File(io.BytesIO(data), "r") as file:
        return [p.decode() if isinstance(p, bytes) else p for p in file.attrs[layout.NODES]]


HDF5_NODES = hdf5_nodes(save("hdf5"))


@pytest.mark.parametrize("combine", [False, True], ids=["replace", "combine"])
@pytest.mark.parametrize("path", HDF5_NODES)
def test_corrupted_node_at_each_record(path: str, combine: bool) -> None:
    """Invalid state text in any node (re-signed, so only loading it finds out)."""
    def corrupt(file: h5py.File) -> None:
        group = file[path]
        if layout.STATE in group.attrs:
            group.attrs[layout.STATE] = '{"broken": '
        else:
            states = table_states(group)
            set_table_states(group, [*states[:-1], msgpack.packb(msgpack.ExtType(99, b""))])

    error = assert_untouched(edit_hdf5(save("hdf5"), corrupt), combine, RestoreError,
                             "not valid JSON|unknown extension type 99")
    assert " -> <" in full_text(error)


@pytest.mark.parametrize("combine", [False, True], ids=["replace", "combine"])
@pytest.mark.parametrize("path", HDF5_NODES)
def test_unknown_class_at_each_hdf5_record(path: str, combine: bool) -> None:
    """Any node's class renamed to one nobody registered: refused before anything runs."""
    def rename(file: h5py.File) -> None:
        file[path].attrs[layout.CLASS] = "nowhere.Missing"

    assert_untouched(edit_hdf5(save("hdf5"), rename), combine, UnknownClassError,
                     "'nowhere.Missing' is not registered")


def stream_keys() -> list[ObjectKey]:
    return list(StreamSource(read_stream(io.BytesIO(save("stream")))).keys())


@pytest.mark.parametrize("combine", [False, True], ids=["replace", "combine"])
@pytest.mark.parametrize("key", stream_keys(), ids=str)
def test_unknown_class_at_each_stream_record(key: ObjectKey, combine: bool) -> None:
    """The same through the stream: one record's class renamed everywhere it is named."""
    content = read_stream(io.BytesIO(save("stream")))
    renamed = key._replace(class_name="nowhere.Missing")

    def swap(k: ObjectKey) -> ObjectKey:
        return renamed if k == key else k

    content.records = [Record(swap(r.key), substitute_keys(r.data, swap), r.version)
                       for r in content.records]
    content.header.managers = {t: swap(k) for t, k in content.header.managers.items()}
    buf = io.BytesIO()
    write_stream(buf, content)
    assert_untouched(buf.getvalue(), combine, UnknownClassError,
                     "'nowhere.Missing' is not registered")
