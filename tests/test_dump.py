"""``sessionh5 dump``: select records by path or class, cut long containers, show fields."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import Box, Holder, new_session

import sessionh5
from sessionh5._cli import main

POINTS = np.zeros(50, dtype=[("x", "<f4"), ("name", "<U6")])


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    session = new_session(minimal=True)
    session.things = Holder(many=list(range(100)), empty=set(), frozen=frozenset(),
                            points=POINTS, few=POINTS[:2], box=Box(tags={"a"}))
    session.other = Holder(note="elsewhere")
    return sessionh5.save(session, tmp_path_factory.mktemp("dump") / "d.h5s")


def dump(capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    assert main(["dump", *args]) == 0
    return capsys.readouterr().out.splitlines()


def records(lines: list[str]) -> list[str]:
    return [line for line in lines[lines.index("records:") + 1:] if not line.startswith(" ")]


def test_class_selects_records_by_full_or_short_name(
        saved: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("helpers.Box", "Box"):
        assert records(dump(capsys, str(saved), "--class", name)) == \
            ["<helpers.Box, 1> version 1 at /things/Box[0]"]


def test_path_selects_records_stored_under_it(
        saved: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert records(dump(capsys, str(saved), "--path", "/other")) == \
        ["<helpers.Holder, 2> version 1 at /other"]
    assert len(records(dump(capsys, str(saved), "--path", "/things"))) == 2


def test_max_items_cuts_long_containers_and_empty_sets_print_as_python_does(
        saved: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = "\n".join(dump(capsys, str(saved), "--path", "/things", "--max-items", "3"))
    assert "'many': [0, 1, 2, ... 97 more]" in text
    assert "'empty': set()" in text and "'frozen': frozenset()" in text


def test_structured_arrays_show_their_fields(
        saved: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = "\n".join(dump(capsys, str(saved), "--path", "/things"))
    assert "'points': array(shape=(50,), fields {x: <f4, name: <U6})" in text
    assert "'few': array(shape=(2,), fields {x: <f4, name: <U6}) = [(0.0, ''), (0.0, '')]" \
        in text


def test_path_on_a_stream_says_what_to_do(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stream = sessionh5.save(new_session(minimal=True), tmp_path / "s.cxs")
    assert main(["dump", str(stream), "--path", "/x"]) == 1
    assert "--path selects HDF5 locations; a session stream has none" in capsys.readouterr().err
