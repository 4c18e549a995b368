"""Session.restore options: metadata_only, combine, restore_camera, resize_window,
clear_log, and plain restores that replace what the session had."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from helpers import CountingReader, Holder, new_session, save_bytes

from sessionh5 import Model, RestoreError, State


class Volume(Model):
    SESSION_NAME = "tests.options.Volume"


@pytest.fixture(scope="module")
def big_session_file(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A session file holding a 100 MiB float32 volume (random bits: incompressible)."""
    s = new_session()
    rng = np.random.default_rng(5)
    volume = Volume("density", s)
    shape = (256, 320, 320)  # 100 MiB
    volume.data = rng.integers(0, 2**32, size=shape, dtype=np.uint32).view(np.float32)
    s.models.add([volume])
    s.metadata["description"] = "a big one"
    s.user_aliases["x"] = "y"
    path = tmp_path_factory.mktemp("big") / "big.h5s"
    with open(path, "wb") as out:
        s.save(out)
    return path


def test_metadata_only_reads_no_dataset(big_session_file: Any) -> None:
    """metadata_only reads a tiny fraction of a file with a 100 MiB dataset."""
    size = big_session_file.stat().st_size
    assert size > 100 * 2**20
    target = new_session()
    target.logger.info("before")
    model = Model("mine", target)
    target.models.add([model])
    managers = {t: target.get_state_manager(t) for t in target.state_manager_tags}
    with open(big_session_file, "rb") as raw:
        counter = CountingReader(raw)
        target.restore(counter, metadata_only=True)
    assert 0 < counter.bytes_read < 2**20, counter.bytes_read
    assert target.metadata["description"] == "a big one"
    assert target.metadata["session_version"] == 3
    assert {"generator", "created"} <= set(target.metadata)
    assert {t: target.get_state_manager(t) for t in target.state_manager_tags} == managers
    assert target.models.list() == [model] and model.id == (1,)
    assert target.logger.messages == [("info", "before")]
    assert dict(target.user_aliases) == {}


def test_full_restore_of_big_file_reads_the_dataset(big_session_file: Any) -> None:
    """The counting wrapper does see the dataset when everything is restored."""
    target = new_session()
    with open(big_session_file, "rb") as raw:
        counter = CountingReader(raw)
        target.restore(counter)
    (volume,) = target.models.list()
    assert volume.data.shape == (256, 320, 320) and volume.data.dtype == np.float32
    assert counter.bytes_read > 100 * 2**20


def test_metadata_only_on_bytesio(fmt: str) -> None:
    """metadata_only works on any stream and fills metadata including session_version."""
    s = new_session()
    s.metadata["title"] = "T"
    s.holder = Holder(x=1)
    data = save_bytes(s, fmt)
    target = new_session()
    target.restore(io.BytesIO(data), metadata_only=True)
    assert target.metadata["title"] == "T" and target.metadata["session_version"] == 3
    assert "holder" not in target.state_manager_tags


# -- combine --------------------------------------------------------------------------

def _models_session(names: dict[tuple[int, ...], str]) -> Any:
    """A session whose models have exactly the given ids (gaps made by removing fillers)."""
    s = new_session()
    by_id: dict[tuple[int, ...], Model] = {}
    fillers = []
    for ident, name in sorted(names.items(), key=lambda item: (len(item[0]), item[0])):
        parent = by_id.get(ident[:-1])
        while True:
            model = Model(name, s)
            s.models.add([model], parent=parent)
            if model.id == ident:
                break
            fillers.append(model)
        by_id[ident] = model
    s.models.remove(fillers)
    assert sorted(m.id for m in s.models.list()) == sorted(names)
    return s


def test_combine_keeps_existing_models_and_renumbers_clashing_ids(fmt: str) -> None:
    """Incoming models whose top-level id is taken get new top-level ids, children too."""
    saved = _models_session({(1,): "s1", (1, 1): "s1.1", (1, 1, 1): "s1.1.1", (2,): "s2",
                             (5,): "s5"})
    data = save_bytes(saved, fmt)
    target = _models_session({(1,): "t1", (2,): "t2", (2, 1): "t2.1", (3,): "t3"})
    before = {m.id: m for m in target.models.list()}
    target.restore(io.BytesIO(data), combine=True)
    after = {m.id: m for m in target.models.list()}
    for ident, model in before.items():  # existing models: same objects, same ids
        assert after[ident] is model and model.name == f"t{'.'.join(map(str, ident))}"
    incoming = {m.name: m.id for m in after.values() if m.name.startswith("s")}
    assert len(after) == len(before) + 5
    assert incoming["s5"] == (5,)  # no clash: kept
    assert incoming["s1"][0] not in {1, 2, 3, 5} and incoming["s2"][0] not in {1, 2, 3, 5}
    assert incoming["s1"] != incoming["s2"]
    assert incoming["s1.1"] == (*incoming["s1"], 1)
    assert incoming["s1.1.1"] == (*incoming["s1"], 1, 1)
    s11 = after[incoming["s1.1"]]
    assert s11.parent is after[incoming["s1"]]
    assert after[incoming["s1"]].child_models() == [s11]
    assert after[(2,)].child_models() == [after[(2, 1)]]


def test_combine_twice_gives_distinct_ids(fmt: str) -> None:
    """Combining the same file twice adds two copies with distinct ids."""
    data = save_bytes(_models_session({(1,): "a", (1, 1): "a.1"}), fmt)
    target = new_session()
    target.restore(io.BytesIO(data))
    target.restore(io.BytesIO(data), combine=True)
    target.restore(io.BytesIO(data), combine=True)
    ids = sorted(m.id for m in target.models.list())
    assert ids == [(1,), (1, 1), (2,), (2, 1), (3,), (3, 1)]


def test_combine_keeps_managers_metadata_and_aliases(fmt: str) -> None:
    """combine keeps managers absent from the file, the metadata and the user's aliases."""
    saved = new_session()
    saved.user_aliases["shared"] = "saved text"
    saved.user_aliases["only_saved"] = "s"
    data = save_bytes(saved, fmt)
    target = new_session()
    target.metadata["title"] = "mine"
    target.user_aliases["shared"] = "my text"
    mine = Holder(x=1)
    target.mine = mine
    target.restore(io.BytesIO(data), combine=True)
    assert target.mine is mine
    assert target.metadata["title"] == "mine"
    assert dict(target.user_aliases) == {"shared": "my text", "only_saved": "s"}


def test_restore_replaces_models_when_not_combining(fmt: str) -> None:
    """A plain restore gives exactly the saved models; the previous ones are gone."""
    data = save_bytes(_models_session({(1,): "s1", (1, 1): "s1.1"}), fmt)
    target = _models_session({(1,): "t1", (2,): "t2"})
    old = target.models.list()
    target.restore(io.BytesIO(data))
    assert [(m.id, m.name) for m in target.models.list()] == [((1,), "s1"), ((1, 1), "s1.1")]
    assert not any(m in target.models.list() for m in old)


def test_restore_resets_managers_absent_from_file_and_replaces_metadata(fmt: str) -> None:
    """Without combine, managers not in the file are reset and metadata is the file's."""
    data = save_bytes(new_session(), fmt)
    target = new_session()
    target.metadata["title"] = "mine"
    target.extra = Holder(x=1)
    target.restore(io.BytesIO(data))
    assert vars(target.extra) == {}
    assert "title" not in target.metadata and target.metadata["session_version"] == 3


def test_failed_restore_leaves_session_as_it_was(fmt: str) -> None:
    """If any restore_snapshot fails, managers, models and metadata are untouched."""

    class Fails(State):
        SESSION_NAME = "tests.options.Fails"

        @classmethod
        def restore_snapshot(cls, session: Any, data: Any) -> Any:
            raise RuntimeError("no")

    saved = _models_session({(1,): "s1"})
    saved.holder = Holder(bad=Fails())
    data = save_bytes(saved, fmt)
    target = _models_session({(1,): "t1"})
    target.metadata["title"] = "mine"
    models, view = target.models, target.main_view
    with pytest.raises(RestoreError, match="Fails"):
        target.restore(io.BytesIO(data))
    assert target.models is models and [m.name for m in models.list()] == ["t1"]
    assert target.main_view is view and "holder" not in target.state_manager_tags
    assert target.metadata == {"title": "mine"}


# -- view and log ---------------------------------------------------------------------

def _view_session() -> Any:
    s = new_session()
    view = s.main_view
    view.camera_position = np.arange(12, dtype=float).reshape(3, 4)
    view.field_of_view = 45.0
    view.background_color = (1.0, 1.0, 1.0, 1.0)
    view.window_size = (1920, 1080)
    return s


def _current_view(target: Any) -> Any:
    view = target.main_view
    view.camera_position = np.full((3, 4), 7.0)
    view.field_of_view = 20.0
    view.window_size = (640, 480)
    return view


def test_view_is_restored_by_default(fmt: str) -> None:
    """By default camera, field of view, background and window size come from the file."""
    data = save_bytes(_view_session(), fmt)
    target = new_session()
    _current_view(target)
    target.restore(io.BytesIO(data))
    view = target.main_view
    np.testing.assert_array_equal(view.camera_position, np.arange(12.0).reshape(3, 4))
    assert view.field_of_view == 45.0 and view.window_size == (1920, 1080)
    assert view.background_color == (1.0, 1.0, 1.0, 1.0)


def test_restore_camera_false_keeps_camera(fmt: str) -> None:
    """restore_camera=False keeps the current camera; the rest is restored."""
    data = save_bytes(_view_session(), fmt)
    target = new_session()
    _current_view(target)
    target.restore(io.BytesIO(data), restore_camera=False)
    view = target.main_view
    np.testing.assert_array_equal(view.camera_position, np.full((3, 4), 7.0))
    assert view.field_of_view == 20.0
    assert view.background_color == (1.0, 1.0, 1.0, 1.0)
    assert view.window_size == (1920, 1080)


@pytest.mark.parametrize(("resize_window", "expected"),
                         [(False, (640, 480)), (True, (1920, 1080)), (None, (1920, 1080))])
def test_resize_window(resize_window: Any, expected: tuple[int, int], fmt: str) -> None:
    """resize_window=False keeps the current window size; True and None take the file's."""
    data = save_bytes(_view_session(), fmt)
    target = new_session()
    _current_view(target)
    target.restore(io.BytesIO(data), resize_window=resize_window)
    assert target.main_view.window_size == expected


def test_clear_log_false_appends_saved_messages(fmt: str) -> None:
    """clear_log=False keeps the current messages and appends the saved ones."""
    saved = new_session()
    saved.logger.info("saved 1")
    saved.logger.error("saved 2")
    data = save_bytes(saved, fmt)
    target = new_session()
    target.logger.warning("current")
    target.restore(io.BytesIO(data), clear_log=False)
    assert target.logger.messages == [("warning", "current"), ("info", "saved 1"),
                                      ("error", "saved 2")]


def test_clear_log_default_replaces_messages(fmt: str) -> None:
    """By default the log is the saved one."""
    saved = new_session()
    saved.logger.info("saved")
    data = save_bytes(saved, fmt)
    target = new_session()
    target.logger.warning("current")
    target.restore(io.BytesIO(data))
    assert target.logger.messages == [("info", "saved")]


def test_combine_keeps_the_current_view_and_appends_the_log(fmt: str) -> None:
    """Combining adds to what the user has: the camera stays put and the log grows."""
    saved = _view_session()
    saved.logger.info("saved")
    data = save_bytes(saved, fmt)
    target = new_session()
    view = _current_view(target)
    target.logger.info("current")
    target.restore(io.BytesIO(data), combine=True)
    assert target.main_view is view
    np.testing.assert_array_equal(view.camera_position, np.full((3, 4), 7.0))
    assert view.window_size == (640, 480)
    assert target.logger.messages == [("info", "current"), ("info", "saved")]
