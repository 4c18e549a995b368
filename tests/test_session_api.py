"""The Session API of the seed: names and signatures, managers, snapshot methods,
triggers, logger, minimal sessions, reset, versions, flags and restore options."""

from __future__ import annotations

import inspect
import io
from typing import Any

import h5py
import numpy as np
import pytest
from helpers import Box, Holder, new_session, restamp, roundtrip, save_bytes

import sessionh5
from sessionh5 import (
    Model,
    Models,
    RestoreError,
    SessionError,
    State,
    StateManager,
    UnknownClassError,
    UnsupportedValueError,
    UsageError,
    UserAliases,
    VersionError,
    View,
)

# -- the seed's names and signatures --------------------------------------------------

E = inspect.Parameter.empty
P, K = inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY

SEED_SIGNATURES = [
    pytest.param(sessionh5.Session, [("app_name", P, E), ("debug", K, False),
                                     ("silent", K, False), ("minimal", K, False),
                                     ("offscreen_rendering", K, False)], id="Session"),
    pytest.param(sessionh5.Session.restore,
                 [("self", P, E), ("stream", P, E), ("path", P, None),
                  ("resize_window", P, None), ("restore_camera", P, True),
                  ("clear_log", P, True), ("metadata_only", P, False), ("combine", P, False)],
                 id="Session.restore"),
    pytest.param(sessionh5.Session.save, [("self", P, E), ("stream", P, E), ("version", P, 3),
                                          ("include_maps", P, False)], id="Session.save"),
    pytest.param(sessionh5.Session.snapshot_methods,
                 [("self", P, E), ("obj", P, E), ("instance", P, True),
                  ("base_type", P, State)], id="Session.snapshot_methods"),
    pytest.param(sessionh5.Session.register_snapshot_methods,
                 [("self", P, E), ("methods", P, E)], id="Session.register_snapshot_methods"),
    pytest.param(sessionh5.Session.reset, [("self", P, E)], id="Session.reset"),
    pytest.param(sessionh5.Session.add_state_manager, [("self", P, E), ("tag", P, E),
                                                       ("obj", P, E)], id="add_state_manager"),
    pytest.param(sessionh5.Session.get_state_manager, [("self", P, E), ("tag", P, E)],
                 id="get_state_manager"),
    pytest.param(sessionh5.Session.remove_state_manager, [("self", P, E), ("tag", P, E)],
                 id="remove_state_manager"),
    pytest.param(sessionh5.Session.state_managers, [("self", P, E), ("cls", P, E)],
                 id="state_managers"),
    pytest.param(sessionh5.save, [("session", P, E), ("path", P, E), ("version", P, 3),
                                  ("compress", P, "lz4"), ("include_maps", P, False)],
                 id="save"),
    pytest.param(sessionh5.sdump, [("session", P, E), ("session_file", P, E),
                                   ("output", P, None)], id="sdump"),
    pytest.param(sessionh5.standard_metadata, [("previous_metadata", P, None)],
                 id="standard_metadata"),
    pytest.param(State.take_snapshot, [("self", P, E), ("session", P, E), ("flags", P, E)],
                 id="State.take_snapshot"),
    pytest.param(State.restore_snapshot, [("session", P, E), ("data", P, E)],
                 id="State.restore_snapshot"),
    pytest.param(State.reset_state, [("self", P, E), ("session", P, E)],
                 id="State.reset_state"),
    pytest.param(UserAliases.take_snapshot, [("self", P, E), ("session", P, E), ("flags", P, E)],
                 id="UserAliases.take_snapshot"),
    pytest.param(UserAliases.restore_snapshot, [("session", P, E), ("data", P, E)],
                 id="UserAliases.restore_snapshot"),
    pytest.param(UserAliases.reset_state, [("self", P, E), ("session", P, E)],
                 id="UserAliases.reset_state"),
]


@pytest.mark.parametrize(("func", "expected"), SEED_SIGNATURES)
def test_seed_signature(func: Any, expected: list[tuple[str, Any, Any]]) -> None:
    """The seed's parameters come first, in order, with the seed's kinds and defaults;
    anything added after them is keyword-only with a default."""
    params = list(inspect.signature(func).parameters.values())
    got = [(p.name, p.kind, p.default) for p in params[:len(expected)]]
    assert got == expected
    for extra in params[len(expected):]:
        assert extra.kind is K and extra.default is not E, extra


def test_public_names_exist() -> None:
    """The names the seed and the issue promise are importable from sessionh5."""
    for name in ("Session", "State", "StateManager", "UserAliases", "save", "sdump",
                 "standard_metadata", "SESSION_SUFFIX", "SessionError", "RestoreError"):
        assert hasattr(sessionh5, name), name
    assert sessionh5.SESSION_SUFFIX == ".h5s"
    assert inspect.isclass(State.restore_snapshot.__self__)  # a classmethod
    assert inspect.isclass(UserAliases.restore_snapshot.__self__)


def test_state_flags_and_defaults() -> None:
    """SCENE, SESSION, INCLUDE_MAPS and ALL have the documented values."""
    assert (State.SCENE, State.SESSION, State.INCLUDE_MAPS, State.ALL) == (1, 2, 4, 7)
    assert isinstance(State.SESSION_VERSION, int)
    assert issubclass(StateManager, State)
    assert StateManager.include_state(Holder()) is True


def test_error_tree() -> None:
    """RestoreError is a SessionError; every library error derives from SessionError."""
    assert issubclass(RestoreError, SessionError)
    for cls in (UnknownClassError, VersionError, UnsupportedValueError, UsageError):
        assert issubclass(cls, SessionError)
    assert issubclass(UnknownClassError, RestoreError)


def test_session_attributes() -> None:
    """A full session has app_name, metadata, logger, triggers, models, main_view, aliases."""
    s = sessionh5.Session("My App", silent=True, debug=True)
    assert s.app_name == "My App" and s.debug is True
    assert s.metadata == {}
    assert isinstance(s.models, Models) and isinstance(s.main_view, View)
    assert isinstance(s.user_aliases, UserAliases)
    assert s.main_view.camera_position.shape == (3, 4)
    assert len(s.main_view.background_color) == 4 and len(s.main_view.window_size) == 2
    for name in ("begin save session", "end save session", "begin restore session",
                 "end restore session"):
        assert s.triggers.has_trigger(name)


# -- managers -------------------------------------------------------------------------

def test_attribute_assignment_registers_and_deletion_unregisters() -> None:
    """A StateManager attribute is registered under its name; del unregisters it."""
    s = new_session()
    manager = Holder()
    s.tool = manager
    assert s.get_state_manager("tool") is manager
    assert "tool" in s.state_manager_tags
    del s.tool
    assert "tool" not in s.state_manager_tags
    assert not hasattr(s, "tool")


def test_reassigning_attribute_to_plain_value_unregisters() -> None:
    """Replacing a manager attribute by a plain value unregisters the tag."""
    s = new_session()
    s.tool = Holder()
    s.tool = 5
    assert "tool" not in s.state_manager_tags and s.tool == 5


def test_plain_attributes_and_private_ones_are_not_managers() -> None:
    """Plain values, State objects that are not managers, and _private names are ignored."""
    s = new_session()
    s.number = 3
    s.box = Box()
    s._private = Holder()
    assert "number" not in s.state_manager_tags
    assert "box" not in s.state_manager_tags
    assert "_private" not in s.state_manager_tags


def test_add_get_remove_state_manager() -> None:
    """The explicit methods register without an attribute, and removal works either way."""
    s = new_session()
    manager = Holder(x=1)
    s.add_state_manager("not an identifier", manager)
    assert s.get_state_manager("not an identifier") is manager
    assert not hasattr(s, "not an identifier")
    s.remove_state_manager("not an identifier")
    assert "not an identifier" not in s.state_manager_tags
    s.attr = Holder()
    s.remove_state_manager("attr")
    assert not hasattr(s, "attr")
    with pytest.raises(UsageError, match="no state manager"):
        s.remove_state_manager("attr")


def test_get_state_manager_raises_key_error_for_an_unknown_tag() -> None:
    """As in the reference implementation: a misspelt tag is a KeyError naming the tags."""
    s = new_session()
    s.tool = Holder()
    with pytest.raises(KeyError, match=r"no state manager is registered under 'tol'.*'tool'"):
        s.get_state_manager("tol")
    del s.tool
    with pytest.raises(KeyError, match="'tool'"):
        s.get_state_manager("tool")


@pytest.mark.parametrize("fmt", ["hdf5", "stream"])
def test_partial_restore_also_restores_the_metadata(fmt: str) -> None:
    """managers=[...] brings the file's metadata, as a full restore does; combine keeps
    the session's own."""
    original = new_session()
    original.metadata.update(title="from the file", tags=["a", "b"])
    original.first, original.second = Holder(n=1), Holder(n=2)
    data = save_bytes(original, fmt)
    target = new_session()
    target.metadata["title"] = "mine"
    target.second = Holder(n=0)
    target.restore(io.BytesIO(data), managers=["first"])
    assert target.first.n == 1 and target.second.n == 0  # only 'first' came from the file
    assert target.metadata["title"] == "from the file"
    assert target.metadata["tags"] == ["a", "b"] and target.metadata["session_version"] == 3
    assert target.metadata["created"] == original.metadata["created"]
    combined = new_session()
    combined.metadata["title"] = "mine"
    combined.restore(io.BytesIO(data), managers=["first"], combine=True)
    assert combined.metadata == {"title": "mine"} and combined.first.n == 1


def test_add_state_manager_refuses_non_managers() -> None:
    """A value that is neither a StateManager nor registered is a UsageError."""
    s = new_session()
    with pytest.raises(UsageError, match="not a StateManager"):
        s.add_state_manager("x", object())
    with pytest.raises(UsageError):
        s.add_state_manager("", Holder())
    with pytest.raises(UsageError, match="NUL"):
        s.add_state_manager("a\x00b", Holder())


def test_unusual_tags_roundtrip(fmt: str) -> None:
    """Tags with '/', '%', dots, spaces and non-ASCII are saved and found again."""
    tags = ["a/b", "a%2Fb", ".", "..", "%", "unowned", "x y", "é 日本"]
    s = new_session()
    for tag in tags:
        s.add_state_manager(tag, Holder(tag=tag))
    restored = roundtrip(s, fmt)
    assert [restored.get_state_manager(t).tag for t in tags] == tags


def test_state_managers_by_class() -> None:
    """state_managers(cls) lists registered instances of cls in registration order."""
    s = new_session()
    a, b = Holder(), Holder()
    s.a = a
    s.add_state_manager("b", b)
    assert s.state_managers(Holder) == [a, b]
    assert s.state_managers(Models) == [s.models]
    assert s.state_managers(Box) == []


def test_registration_order_is_save_order(fmt: str) -> None:
    """Managers are saved, and restored, in the order they were registered."""
    s = new_session()
    s.zeta = Holder()
    s.add_state_manager("alpha", Holder())
    s.mid = Holder()
    expected = ["logger", "models", "main_view", "user_aliases", "zeta", "alpha", "mid"]
    assert s.state_manager_tags == expected
    data = save_bytes(s, fmt)
    restored = new_session()
    restored.restore(io.BytesIO(data))
    assert restored.state_manager_tags == expected
    if fmt == "hdf5":
        with h5py.File(io.BytesIO(data), "r") as f:
            assert [t.decode() if isinstance(t, bytes) else t
                    for t in f.attrs["sessionh5-managers"]] == expected


def test_restored_managers_come_back_as_attributes_or_not(fmt: str) -> None:
    """Attribute managers are attributes again; add_state_manager ones are not."""
    s = new_session()
    s.attr = Holder(v=1)
    s.add_state_manager("with space", Holder(v=2))
    restored = roundtrip(s, fmt)
    assert restored.attr.v == 1 and restored.get_state_manager("attr") is restored.attr
    assert restored.get_state_manager("with space").v == 2
    assert not hasattr(restored, "with space")


class Optional(Holder):
    """A manager that can say it has nothing to save."""

    SESSION_NAME = "tests.api.Optional"

    def include_state(self) -> bool:
        return bool(getattr(self, "wanted", False))


def test_include_state_false_means_not_saved(fmt: str) -> None:
    """A manager whose include_state() is False is not in the file at all."""
    s = new_session()
    s.skipped = Optional(wanted=False, data=[1])
    s.kept = Optional(wanted=True, data=[2])
    data = save_bytes(s, fmt)
    restored = new_session()
    restored.restore(io.BytesIO(data))
    assert "skipped" not in restored.state_manager_tags
    assert restored.kept.data == [2]
    if fmt == "hdf5":
        with h5py.File(io.BytesIO(data), "r") as f:
            assert "skipped" not in f and "kept" in f


# -- snapshot methods for foreign classes ----------------------------------------------

class Foreign:
    """A class that cannot inherit State (e.g. from another library)."""

    def __init__(self, value: Any) -> None:
        self.value = value
        self.reset_calls = 0


class ForeignMethods:
    SESSION_NAME = "tests.api.Foreign"

    @staticmethod
    def take_snapshot(obj: Foreign, session: Any, flags: int) -> Any:
        return {"value": obj.value}

    @staticmethod
    def restore_snapshot(session: Any, data: Any) -> Foreign:
        return Foreign(data["value"])

    @staticmethod
    def reset_state(obj: Foreign, session: Any) -> None:
        obj.value = None
        obj.reset_calls += 1


def test_foreign_class_as_manager(fmt: str) -> None:
    """After register_snapshot_methods, a foreign object assigned as attribute is a manager."""
    s = new_session()
    s.register_snapshot_methods({Foreign: ForeignMethods})
    s.foreign = Foreign((1, "x"))
    assert s.get_state_manager("foreign") is s.foreign
    target = new_session()
    target.register_snapshot_methods({Foreign: ForeignMethods})
    restored = roundtrip(s, fmt, target)
    assert type(restored.foreign) is Foreign and restored.foreign.value == (1, "x")
    restored.reset()
    assert restored.foreign.value is None and restored.foreign.reset_calls == 1


def test_foreign_class_as_referenced_object(fmt: str) -> None:
    """A foreign object inside a snapshot is saved through its methods, shared once."""
    s = new_session()
    s.register_snapshot_methods({Foreign: ForeignMethods})
    shared = Foreign(np.arange(3))
    s.holder = Holder(a=shared, b=[shared])
    target = new_session()
    target.register_snapshot_methods({Foreign: ForeignMethods})
    h = roundtrip(s, fmt, target).holder
    assert type(h.a) is Foreign and h.a is h.b[0]
    np.testing.assert_array_equal(h.a.value, np.arange(3))


def test_register_snapshot_methods_checks_the_helper() -> None:
    """A helper missing one of the three methods is refused, naming what is missing."""
    s = new_session()

    class Incomplete:
        @staticmethod
        def take_snapshot(obj: Any, session: Any, flags: int) -> Any:
            return {}

    with pytest.raises(UsageError, match="restore_snapshot"):
        s.register_snapshot_methods({Foreign: Incomplete})


def test_snapshot_methods_lookup() -> None:
    """snapshot_methods: the helper for foreign objects, the object for State, None else."""
    s = new_session()
    s.register_snapshot_methods({Foreign: ForeignMethods})
    assert s.snapshot_methods(Foreign(1)) is ForeignMethods
    assert s.snapshot_methods(Foreign, instance=False) is ForeignMethods
    box = Box()
    methods = s.snapshot_methods(box)
    for name in ("take_snapshot", "restore_snapshot", "reset_state"):
        assert callable(getattr(methods, name))
    assert s.snapshot_methods(Box, instance=False) is Box
    for primitive in (None, 1, 2.5, "s", b"b", [1], (1,), {"a": 1}, {1}, np.arange(3)):
        assert s.snapshot_methods(primitive) is None, primitive


def test_snapshot_methods_are_per_session(fmt: str) -> None:
    """Two sessions in one process do not see each other's snapshot methods."""
    one, two = new_session(), new_session()
    one.register_snapshot_methods({Foreign: ForeignMethods})
    assert one.snapshot_methods(Foreign(1)) is ForeignMethods
    assert two.snapshot_methods(Foreign(1)) is None
    two.foreign = Foreign(1)  # not a manager in this session
    assert "foreign" not in two.state_manager_tags
    two.holder = Holder(f=Foreign(1))
    with pytest.raises(UnsupportedValueError, match="Foreign"):
        two.save(io.BytesIO(), format=fmt)
    one.holder = Holder(f=Foreign(2))
    data = save_bytes(one, fmt)
    with pytest.raises(UnknownClassError, match=r"tests\.api\.Foreign"):
        new_session().restore(io.BytesIO(data))


# -- triggers -----------------------------------------------------------------------

def _record_triggers(s: Any) -> list[str]:
    calls: list[str] = []
    for name in ("begin save session", "end save session", "begin restore session",
                 "end restore session"):
        s.triggers.add_handler(name, lambda trigger, data: calls.append(trigger))
    return calls


def test_save_and_restore_fire_begin_and_end(fmt: str) -> None:
    """A save fires begin/end save; a restore fires begin/end restore, in that order."""
    s = new_session()
    calls = _record_triggers(s)
    data = save_bytes(s, fmt)
    assert calls == ["begin save session", "end save session"]
    calls.clear()
    s.restore(io.BytesIO(data))
    assert calls == ["begin restore session", "end restore session"]


def test_end_save_fires_when_save_fails(fmt: str) -> None:
    """The end trigger fires even when take_snapshot refuses a value."""
    s = new_session()
    calls = _record_triggers(s)
    s.holder = Holder(bad=lambda: None)
    with pytest.raises(UnsupportedValueError):
        s.save(io.BytesIO(), format=fmt)
    assert calls == ["begin save session", "end save session"]


def test_end_save_fires_when_take_snapshot_raises(fmt: str) -> None:
    """Application errors in take_snapshot propagate, and end save still fires."""

    class Broken(Holder):
        SESSION_NAME = "tests.api.Broken"

        def take_snapshot(self, session: Any, flags: int) -> Any:
            raise ZeroDivisionError("app bug")

    s = new_session()
    calls = _record_triggers(s)
    s.broken = Broken()
    with pytest.raises(ZeroDivisionError):
        s.save(io.BytesIO(), format=fmt)
    assert calls[-1] == "end save session"


@pytest.mark.parametrize("content", [b"", b"not a session file at all", b"\x89HDF\r\n\x1a\nxx"])
def test_end_restore_fires_when_restore_fails(content: bytes) -> None:
    """The end trigger fires even when the file cannot be read."""
    s = new_session()
    calls = _record_triggers(s)
    with pytest.raises(RestoreError):
        s.restore(io.BytesIO(content))
    assert calls == ["begin restore session", "end restore session"]


def test_end_restore_fires_when_restore_snapshot_raises(fmt: str) -> None:
    """An application error during restore is a RestoreError; end restore still fires."""

    class FailsOnRestore(Holder):
        SESSION_NAME = "tests.api.FailsOnRestore"

        @classmethod
        def restore_snapshot(cls, session: Any, data: Any) -> Any:
            raise KeyError("missing")

    s = new_session()
    s.failing = FailsOnRestore(x=1)
    data = save_bytes(s, fmt)
    target = new_session()
    calls = _record_triggers(target)
    with pytest.raises(RestoreError, match="failing"):
        target.restore(io.BytesIO(data))
    assert calls == ["begin restore session", "end restore session"]
    assert "failing" not in target.state_manager_tags


# -- logger ---------------------------------------------------------------------------

def test_logger_keeps_messages_and_silent_prints_nothing(capsys: pytest.CaptureFixture) -> None:
    """Messages are kept as (level, text) pairs; a silent session prints nothing."""
    s = new_session(silent=True)
    s.logger.info("hello")
    s.logger.warning("careful")
    s.logger.error("broken")
    s.logger.status("working")
    assert s.logger.messages == [("info", "hello"), ("warning", "careful"),
                                 ("error", "broken"), ("status", "working")]
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_logger_prints_when_not_silent(capsys: pytest.CaptureFixture) -> None:
    """A non-silent session echoes info to stdout and warnings/errors to stderr."""
    s = sessionh5.Session("loud")
    s.logger.info("hello")
    s.logger.error("broken")
    out = capsys.readouterr()
    assert "hello" in out.out and "broken" in out.err


def test_log_is_saved_and_restored(fmt: str) -> None:
    """The log messages are part of the session."""
    s = new_session()
    s.logger.info("one")
    s.logger.warning("two")
    restored = roundtrip(s, fmt)
    assert restored.logger.messages == [("info", "one"), ("warning", "two")]
    assert restored.logger.silent is True


# -- minimal, reset, version, flags, options ------------------------------------------

def test_minimal_session_has_only_logger_triggers_metadata(fmt: str) -> None:
    """minimal=True: no models, view or aliases; logger, triggers and metadata exist."""
    s = new_session(minimal=True)
    for name in ("models", "main_view", "user_aliases"):
        assert not hasattr(s, name), name
    assert s.state_manager_tags == ["logger"]
    assert s.metadata == {} and s.triggers.has_trigger("end save session")
    s.logger.info("minimal")
    restored = roundtrip(s, fmt, new_session(minimal=True))
    assert restored.logger.messages == [("info", "minimal")]
    assert not hasattr(restored, "models")


class Enduring(Model):
    SESSION_NAME = "tests.api.Enduring"
    SESSION_ENDURING = True


def test_reset_clears_metadata_and_data_keeps_enduring_models_and_aliases() -> None:
    """reset(): metadata cleared, managers reset, enduring models and aliases kept."""
    s = new_session()
    s.metadata["creator"] = "me"
    plain, enduring = Model("plain", s), Enduring("enduring", s)
    s.models.add([plain, enduring])
    child = Model("child", s)
    s.models.add([child], parent=plain)
    s.user_aliases["hi"] = "log text hi"
    s.holder = Holder(x=1)
    s.reset()
    assert s.metadata == {}
    assert s.models.list() == [enduring] and enduring.id == (2,)
    assert plain.id is None and child.id is None
    assert dict(s.user_aliases) == {"hi": "log text hi"}
    assert vars(s.holder) == {}


def test_reset_resets_view() -> None:
    """The main view returns to its defaults on reset."""
    s = new_session()
    s.main_view.field_of_view = 60.0
    s.main_view.camera_position[0, 3] = 5.0
    s.reset()
    assert s.main_view.field_of_view == View().field_of_view
    np.testing.assert_array_equal(s.main_view.camera_position, View().camera_position)


@pytest.mark.parametrize("version", [1, 2, 4, 0, -3])
def test_save_version_other_than_3_is_refused(version: int, fmt: str) -> None:
    """Only session version 3 is written; anything else is a UsageError."""
    s = new_session()
    with pytest.raises(UsageError, match=rf"version {version}"):
        s.save(io.BytesIO(), version, format=fmt)


def test_restore_refuses_session_version_other_than_3(tmp_path: Any) -> None:
    """A file claiming another session version is a VersionError (a RestoreError)."""
    s = new_session()
    path = tmp_path / "v2.h5s"
    path.write_bytes(save_bytes(s, "hdf5"))
    with h5py.File(path, "r+") as f:
        f.attrs["sessionh5-session-version"] = np.int64(2)
        restamp(f.attrs)
    target = new_session()
    with pytest.raises(VersionError, match="version 2"), open(path, "rb") as stream:
        target.restore(stream)


class FlagRecorder(Holder):
    SESSION_NAME = "tests.api.FlagRecorder"
    seen: list[int]  # class-level list set by the test

    def take_snapshot(self, session: Any, flags: int) -> Any:
        FlagRecorder.seen.append(flags)
        return {}


@pytest.mark.parametrize(("include_maps", "expected"),
                         [(False, State.SESSION), (True, State.SESSION | State.INCLUDE_MAPS)])
def test_include_maps_flag(include_maps: bool, expected: int, fmt: str) -> None:
    """include_maps adds State.INCLUDE_MAPS to the flags of every take_snapshot."""
    FlagRecorder.seen = []
    s = new_session()
    s.recorder = FlagRecorder()
    s.save(io.BytesIO(), 3, include_maps, format=fmt)
    assert FlagRecorder.seen == [expected]


class OptionsRecorder(Holder):
    SESSION_NAME = "tests.api.OptionsRecorder"
    seen: list[dict]

    @classmethod
    def restore_snapshot(cls, session: Any, data: Any) -> Any:
        OptionsRecorder.seen.append(dict(session.restore_options))
        return super().restore_snapshot(session, data)


def test_restore_options_visible_during_restore_and_empty_after(fmt: str) -> None:
    """restore_snapshot sees the restore's options; afterwards restore_options is empty."""
    OptionsRecorder.seen = []
    s = new_session()
    s.rec = OptionsRecorder()
    data = save_bytes(s, fmt)
    target = new_session()
    target.restore(io.BytesIO(data), path="/some/file.h5s", resize_window=False,
                   restore_camera=False, clear_log=False, combine=True)
    assert OptionsRecorder.seen == [{"path": "/some/file.h5s", "resize_window": False,
                                     "restore_camera": False, "clear_log": False,
                                     "combine": True}]
    assert target.restore_options == {}


def test_restore_options_empty_after_failed_restore(fmt: str) -> None:
    """Even a failed restore leaves restore_options empty."""

    class Fails(Holder):
        SESSION_NAME = "tests.api.Fails"

        @classmethod
        def restore_snapshot(cls, session: Any, data: Any) -> Any:
            assert session.restore_options["combine"] is True
            raise ValueError("no")

    s = new_session()
    s.fails = Fails()
    data = save_bytes(s, fmt)
    target = new_session()
    with pytest.raises(RestoreError):
        target.restore(io.BytesIO(data), combine=True)
    assert target.restore_options == {}


# -- streams ----------------------------------------------------------------------------

def test_save_to_write_only_file_and_restore(tmp_path: Any, fmt: str) -> None:
    """save() accepts a file opened 'wb' (not readable), restore() one opened 'rb'."""
    s = new_session()
    s.holder = Holder(big=np.arange(100_000), box=Box(n=1))
    path = tmp_path / "write-only.h5s"
    with open(path, "wb") as out:
        s.save(out, format=fmt)
    target = new_session()
    with open(path, "rb") as stream:
        target.restore(stream)
    np.testing.assert_array_equal(target.holder.big, np.arange(100_000))


class _UnseekableWriter(io.RawIOBase):
    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.chunks.append(bytes(data))
        return len(data)


def test_save_to_unseekable_stream(fmt: str) -> None:
    """save() writes to a pipe-like stream that cannot seek or read."""
    s = new_session()
    s.holder = Holder(v=[1, 2, 3])
    out = _UnseekableWriter()
    s.save(out, format=fmt)
    target = new_session()
    target.restore(io.BytesIO(b"".join(out.chunks)))
    assert target.holder.v == [1, 2, 3]


def test_module_save_appends_suffix_and_checks_compress(tmp_path: Any) -> None:
    """sessionh5.save adds .h5s when missing and refuses unknown compressors."""
    s = new_session()
    sessionh5.save(s, tmp_path / "plain")
    assert (tmp_path / "plain.h5s").exists()
    with pytest.raises(UsageError, match="compress"):
        sessionh5.save(s, tmp_path / "bad.h5s", compress="zstd")


# -- metadata -------------------------------------------------------------------------

METADATA_VALUES = [
    pytest.param("text", id="str"),
    pytest.param("", id="str-empty"),
    pytest.param("nul\x00inside", id="str-with-nul"),
    pytest.param(["a", "b"], id="list-of-str"),
    pytest.param(["a", "b\x00c"], id="list-of-str-with-nul"),
    pytest.param([], id="list-empty"),
    pytest.param([1, "a"], id="list-mixed"),
    pytest.param(b"\x89PNG\r\n\x1a\n\x00data", id="png-bytes"),
    pytest.param(b"", id="bytes-empty"),
    pytest.param(7, id="int"),
    pytest.param(2**70, id="int-big"),
    pytest.param(2.5, id="float"),
    pytest.param(True, id="bool"),
    pytest.param({"nested": (1, 2)}, id="dict"),
]


@pytest.mark.parametrize("value", METADATA_VALUES)
def test_user_metadata_roundtrips(value: Any, fmt: str) -> None:
    """User keys in session.metadata come back with their value and type."""
    s = new_session()
    s.metadata["user key"] = value
    restored = roundtrip(s, fmt)
    assert type(restored.metadata["user key"]) is type(value)
    assert restored.metadata["user key"] == value


@pytest.mark.parametrize("fmt", ["hdf5"])  # HDF5 root attributes; the stream has no such limit
@pytest.mark.parametrize("key", ["", "sessionh5-layout-version", "nul\x00key"])
def test_bad_metadata_key_is_usage_error(key: str, fmt: str) -> None:
    """Metadata keys that cannot be HDF5 root attributes are refused at save."""
    s = new_session()
    s.metadata[key] = "x"
    with pytest.raises(UsageError, match="metadata key"):
        s.save(io.BytesIO(), format=fmt)


def test_save_fills_standard_metadata_created_then_modified(fmt: str) -> None:
    """The first save adds generator/created/creator; the next one adds modified."""
    s = new_session()
    s.save(io.BytesIO(), format=fmt)
    assert {"generator", "created", "creator", "dateCopyrighted"} <= set(s.metadata)
    assert "modified" not in s.metadata
    created = s.metadata["created"]
    s.save(io.BytesIO(), format=fmt)
    assert s.metadata["created"] == created and "modified" in s.metadata


# -- class versions -------------------------------------------------------------------

def _versioned(version: int, upgrades: dict | None = None) -> type:
    """(Re)define the State class registered as 'tests.api.Versioned' at ``version``."""
    return type("Versioned", (State,), {"SESSION_NAME": "tests.api.Versioned",
                                        "SESSION_VERSION": version,
                                        "SESSION_UPGRADES": upgrades or {}})


def test_class_version_upgrades_old_data(fmt: str) -> None:
    """Data saved by version 1 passes through SESSION_UPGRADES before restore_snapshot."""
    old = _versioned(1)
    s = new_session()
    obj = old()
    obj.size = 3
    s.holder = Holder(obj=obj)
    data = save_bytes(s, fmt)
    try:
        new = _versioned(3, {1: lambda d: {**d, "size": [d["size"]]},
                             2: lambda d: {"sizes": d["size"]}})
        target = new_session()
        target.restore(io.BytesIO(data))
        assert type(target.holder.obj) is new and vars(target.holder.obj) == {"sizes": [3]}
    finally:
        _versioned(1)


def test_data_from_a_newer_class_version_is_version_error(fmt: str) -> None:
    """A file written by a newer class version is a VersionError naming the class."""
    newer = _versioned(5)
    s = new_session()
    s.holder = Holder(obj=newer())
    data = save_bytes(s, fmt)
    _versioned(1)
    with pytest.raises(VersionError, match=r"tests\.api\.Versioned version 5"):
        new_session().restore(io.BytesIO(data))


def test_renamed_class_found_by_session_aliases(fmt: str) -> None:
    """A class renamed with SESSION_ALIASES restores files that use its old name."""
    old = type("Before", (State,), {"SESSION_NAME": "tests.api.Before"})
    s = new_session()
    s.holder = Holder(obj=old())
    data = save_bytes(s, fmt)
    after = type("After", (State,), {"SESSION_NAME": "tests.api.After",
                                     "SESSION_ALIASES": ("tests.api.Before",)})
    target = new_session()
    target.restore(io.BytesIO(data))
    assert type(target.holder.obj) is after
