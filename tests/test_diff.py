"""``sessionh5.diff`` and ``sessionh5 diff``: differences object by object, exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sessionh5
from sessionh5 import Model, Session, SessionDiff, State
from sessionh5._cli import main

STAMPS = ["created", "modified"]


class DiffVolume(Model):
    """A model that owns a large array (its own HDF5 group)."""


class DiffLabel(State):
    """A small object (packed in a table)."""

    def __init__(self, text: str) -> None:
        self.text = text


def build(change: Callable[[Session, DiffVolume], None] | None = None) -> Session:
    """A session with a volume, labels and metadata; ``change`` edits it before saving."""
    session = Session("difftest", silent=True)
    volume = DiffVolume("volume", session)
    volume.data = np.arange(64 * 64 * 64, dtype=np.float32).reshape(64, 64, 64)
    volume.names = np.array(["carbon", "oxygen"] * 300)
    volume.labels = [DiffLabel("a"), DiffLabel("b")]
    volume.settings = {"level": 0.5, "colors": (1, 2, 3), "flags": {"x", "y"}}
    session.models.add([volume])
    session.metadata["title"] = "first"
    if change is not None:
        change(session, volume)
    return session


def save(session: Session, path: Path) -> Path:
    written = sessionh5.save(session, path)
    assert written is not None
    return written


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return save(build(), tmp_path / "base.h5s")


def changed_file(tmp_path: Path, change: Callable[[Session, DiffVolume], None],
                 name: str = "other.h5s") -> Path:
    return save(build(change), tmp_path / name)


def test_a_file_equals_itself(base: Path) -> None:
    """Comparing a file with itself finds nothing; the display says so."""
    result = sessionh5.diff(base, base)
    assert isinstance(result, SessionDiff)
    assert result.equal
    assert repr(result).splitlines()[-1] == "the sessions are equal"


def test_hdf5_and_stream_of_one_session_are_equal(base: Path, tmp_path: Path) -> None:
    """A converted stream holds the same session: no differences across containers."""
    stream = sessionh5.convert(base, tmp_path / "base.cxs")
    assert sessionh5.diff(base, stream).equal
    assert sessionh5.diff(stream, base).equal


def test_two_saves_differ_only_in_their_time_stamps(tmp_path: Path) -> None:
    """Saving twice changes 'created'; ignoring the stamps leaves no difference."""
    first = save(build(), tmp_path / "one.h5s")
    second = save(build(), tmp_path / "two.h5s")
    assert not sessionh5.diff(first, second).equal
    assert sessionh5.diff(first, second, ignore_metadata=STAMPS).equal


def test_metadata_changes_are_listed_by_key(base: Path, tmp_path: Path) -> None:
    def edit(session: Session, volume: DiffVolume) -> None:
        session.metadata["title"] = "second"
        session.metadata["note"] = "new"

    result = sessionh5.diff(base, changed_file(tmp_path, edit), ignore_metadata=STAMPS)
    lines = [c.line() for c in result.header]
    assert lines == ["~ metadata['title']: 'first' -> 'second'", "+ metadata['note']: 'new'"]
    assert result.objects_changed == ()


def test_changed_values_show_their_key_path(base: Path, tmp_path: Path) -> None:
    def edit(session: Session, volume: DiffVolume) -> None:
        volume.settings["level"] = 0.75
        volume.settings["colors"] = (1, 2, 4)
        volume.settings["flags"] = {"x", "z"}
        volume.labels[1].text = "B"

    result = sessionh5.diff(base, changed_file(tmp_path, edit), ignore_metadata=STAMPS)
    by_key = {c.key: [v.line() for v in c.changes] for c in result.objects_changed}
    volume_key = f"<{DiffVolume.__module__}.DiffVolume, 1>"
    assert by_key[volume_key] == [
        "~ ['settings']['level']: 0.5 -> 0.75",
        "~ ['settings']['colors'][2]: 3 -> 4",
        "- ['settings']['flags']: 'y'",
        "+ ['settings']['flags']: 'z'",
    ]
    assert by_key[f"<{DiffLabel.__module__}.DiffLabel, 2>"] == ["~ ['text']: 'b' -> 'B'"]


def test_array_content_changes_count_the_differing_elements(base: Path, tmp_path: Path) -> None:
    def edit(session: Session, volume: DiffVolume) -> None:
        volume.data[3, 4, 5] = -1
        volume.data[60, 0, :10] = np.nan

    result = sessionh5.diff(base, changed_file(tmp_path, edit), ignore_metadata=STAMPS)
    (change,) = result.objects_changed
    assert [v.line() for v in change.changes] == [
        "~ ['data']: array values: 11 of 262144 elements differ, within [3:61, 0:5, 0:10]"]


def test_array_shape_and_dtype_changes_are_reported(base: Path, tmp_path: Path) -> None:
    def edit(session: Session, volume: DiffVolume) -> None:
        volume.data = volume.data[:32].astype(np.float64)
        volume.names = np.array(["carbon", "oxygen"] * 301)

    result = sessionh5.diff(base, changed_file(tmp_path, edit), ignore_metadata=STAMPS)
    (change,) = result.objects_changed
    assert [v.line() for v in change.changes] == [
        "~ ['data']: array dtype <f4 -> <f8",
        "~ ['data']: array shape (64, 64, 64) -> (32, 64, 64)",
        "~ ['names']: array shape (600,) -> (602,)",
    ]


def test_arrays_are_compared_in_blocks(base: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """With tiny blocks the count is the same: the comparison adds up block by block."""
    from sessionh5._containers._hdf5 import lazy

    monkeypatch.setattr(lazy, "BLOCK_BYTES", 4096)

    def edit(session: Session, volume: DiffVolume) -> None:
        volume.data[::7, 1, 1] = 0.5

    other = changed_file(tmp_path, edit)
    result = sessionh5.diff(base, other, ignore_metadata=STAMPS)
    expected = (f"~ ['data']: array values: {len(range(0, 64, 7))} of 262144 elements differ, "
                "within [0:64, 1:2, 1:2]")
    assert [v.line() for v in result.objects_changed[0].changes] == [expected]
    stream = sessionh5.convert(other, tmp_path / "other.cxs")
    assert [v.line() for v in sessionh5.diff(base, stream, ignore_metadata=STAMPS)
            .objects_changed[0].changes] == [expected]


def test_large_hdf5_arrays_are_never_read_whole(base: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Only tiny arrays are loaded at once; big ones are read block by block."""
    from sessionh5._containers._hdf5 import lazy
    from sessionh5._containers._hdf5.compression import TINY_NBYTES

    real = lazy.read_array

    def only_tiny(dataset: Any) -> np.ndarray:
        assert dataset.nbytes <= TINY_NBYTES, dataset.name
        return real(dataset)

    monkeypatch.setattr(lazy, "read_array", only_tiny)
    monkeypatch.setattr(lazy, "BLOCK_BYTES", 64 * 1024)
    blocks: list[int] = []
    original = lazy.StoredArray.blocks

    def counted(self: Any, rows: int) -> Any:
        for block in original(self, rows):
            blocks.append(block.nbytes)
            yield block

    monkeypatch.setattr(lazy.StoredArray, "blocks", counted)
    assert sessionh5.diff(base, base).equal
    assert blocks and max(blocks) <= 64 * 1024
    assert sum(blocks) == 2 * 64 * 64 * 64 * 4  # the volume, once from each side


def test_objects_and_managers_added_and_removed(base: Path, tmp_path: Path) -> None:
    def edit(session: Session, volume: DiffVolume) -> None:
        volume.labels.append(DiffLabel("c"))
        session.remove_state_manager("user_aliases")

    result = sessionh5.diff(base, changed_file(tmp_path, edit), ignore_metadata=STAMPS)
    assert result.objects_added == (f"<{DiffLabel.__module__}.DiffLabel, 3>",)
    assert result.managers_removed == ("user_aliases",)
    assert len(result.objects_removed) == 1
    assert "UserAliases" in result.objects_removed[0]
    back = sessionh5.diff(changed_file(tmp_path, edit, "again.h5s"), base,
                          ignore_metadata=STAMPS)
    assert back.managers_added == ("user_aliases",)


def test_diff_reads_open_binary_files(base: Path, tmp_path: Path) -> None:
    with open(base, "rb") as a, open(base, "rb") as b:
        assert sessionh5.diff(a, b).equal


def test_to_json_is_plain_json(base: Path, tmp_path: Path) -> None:
    def edit(session: Session, volume: DiffVolume) -> None:
        volume.labels[0].text = "A"

    data: dict[str, Any] = sessionh5.diff(base, changed_file(tmp_path, edit),
                                          ignore_metadata=STAMPS).to_json()
    assert json.loads(json.dumps(data)) == data
    assert data["equal"] is False
    assert data["objects_changed"][0]["changes"][0]["path"] == "['text']"


# ---- the command ---------------------------------------------------------------------


def test_cli_equal_files_exit_0(base: Path, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    stream = sessionh5.convert(base, tmp_path / "base.cxs")
    assert main(["diff", str(base), str(stream)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"--- {base}", f"+++ {stream}", "the sessions are equal"]


def test_cli_different_files_exit_1_with_the_listing(
        base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def edit(session: Session, volume: DiffVolume) -> None:
        session.metadata["title"] = "second"
        volume.labels[0].text = "A"

    other = changed_file(tmp_path, edit)
    code = main(["diff", str(base), str(other), "--ignore-metadata", "created",
                 "--ignore-metadata", "modified"])
    assert code == 1
    assert capsys.readouterr().out.splitlines() == [
        f"--- {base}",
        f"+++ {other}",
        "~ metadata['title']: 'first' -> 'second'",
        f"~ object <{DiffLabel.__module__}.DiffLabel, 1>",
        "    ~ ['text']: 'a' -> 'A'",
        "the sessions differ: 1 header/metadata, 1 objects changed",
    ]


def test_cli_quiet_prints_nothing(base: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    other = save(build(), tmp_path / "later.h5s")
    assert main(["diff", "-q", str(base), str(other)]) == 1
    assert capsys.readouterr().out == ""


def test_cli_json(base: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "--json", str(base), str(base)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["equal"] is True and data["a"] == str(base)


@pytest.mark.parametrize("problem", ["missing", "not a session"])
def test_cli_unreadable_file_exits_2(base: Path, tmp_path: Path, problem: str,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    """1 means "they differ", so a file that cannot be read is exit status 2."""
    other = tmp_path / "other.h5s"
    if problem == "not a session":
        other.write_bytes(b"hello world, not a session")
    assert main(["diff", str(base), str(other)]) == 2
    assert capsys.readouterr().err.startswith("sessionh5: error: ")


def test_cli_missing_argument_exits_2(base: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["diff", str(base)])
    assert exit_info.value.code == 2


def test_references_show_as_class_and_ordinal(base: Path, tmp_path: Path) -> None:
    """A reference inside a value reads <DiffLabel #2>, not the key's tuple fields."""
    def edit(session: Session, volume: DiffVolume) -> None:
        volume.labels[1] = volume.labels[0]

    result = sessionh5.diff(base, changed_file(tmp_path, edit), ignore_metadata=STAMPS)
    (change,) = result.objects_changed
    assert [v.line() for v in change.changes] == [
        "~ ['labels'][1]: <DiffLabel #2> -> <DiffLabel #1>"]
    assert result.objects_removed == (f"<{DiffLabel.__module__}.DiffLabel, 2>",)


def test_volatile_metadata_is_left_out_unless_asked(tmp_path: Path) -> None:
    """Saved, restored and saved again: equal by default; 'modified' differs on request."""
    first = save(build(), tmp_path / "one.h5s")
    again = Session("difftest", silent=True)
    again.restore(first)
    second = save(again, tmp_path / "two.h5s")
    assert sessionh5.diff(first, second).equal
    strict = sessionh5.diff(first, second, compare_volatile=True)
    assert {c.path for c in strict.header} == {"metadata['modified']",
                                               "metadata['session_version']"}


def test_cli_volatile_options_and_summary(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    first = save(build(), tmp_path / "one.h5s")
    again = Session("difftest", silent=True)
    again.restore(first)
    for label in again.models.list()[0].labels:
        label.text += "!"
    second = save(again, tmp_path / "two.h5s")
    for default in ([], ["--ignore-volatile"]):
        assert main(["diff", *default, "--summary", str(first), str(second)]) == 1
        assert capsys.readouterr().out.splitlines() == [
            f"--- {first}", f"+++ {second}", "changed objects by class: DiffLabel 2",
            "the sessions differ: 2 objects changed"]
    assert main(["diff", "--compare-volatile", "--summary", str(first), str(second)]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == \
        "the sessions differ: 2 header/metadata, 2 objects changed"


def test_diff_shows_itself_in_a_notebook(base: Path, tmp_path: Path) -> None:
    def edit(session: Session, volume: DiffVolume) -> None:
        volume.settings["level"] = 0.75

    html = sessionh5.diff(base, changed_file(tmp_path, edit),
                          ignore_metadata=STAMPS)._repr_html_()
    assert "SessionDiff: the sessions differ: 1 objects changed" in html
    assert "[&#x27;settings&#x27;][&#x27;level&#x27;]: 0.5 -&gt; 0.75" in html
