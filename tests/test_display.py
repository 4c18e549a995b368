"""What people see: reprs in a terminal and HTML in a notebook, short even for big files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import Holder, new_session

import sessionh5
from sessionh5 import State
from sessionh5._engine import classes


class Cell(State):
    """A small object saved 20,000 times."""

    SESSION_NAME = "test_display.Cell"

    def __init__(self, n: int) -> None:
        self.n = n


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    session = new_session()
    session.user_aliases["hi"] = "log text hi"
    session.logger.info("one")
    session.logger.info("two")
    session.cells = Holder(cells=[Cell(i) for i in range(20_000)],
                           image=np.zeros((256, 256), np.float32))
    session.metadata["note"] = "<script>alert(1)</script>"
    return sessionh5.save(session, tmp_path_factory.mktemp("display") / "cells.h5s")


def test_a_report_of_20000_skipped_objects_is_a_summary(
        saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Grouped by class with the first reason; str lists 20 and says how many more."""
    monkeypatch.delitem(classes._by_name, Cell.SESSION_NAME)
    report = new_session().restore(saved, strict=False)
    assert len(report.skipped) == 20_000
    text = repr(report)
    assert text.startswith("RestoreReport: restored ") and "skipped 20000" in text
    assert "test_display.Cell  20000  " in text and "is not registered" in text
    assert len(text) < 2_000 and len(report._repr_html_()) < 5_000
    lines = str(report).splitlines()
    assert len(lines) == 22 and lines[-1] == \
        "  ... and 19980 more (report.skipped lists them all)"


def test_a_clean_report_shows_its_managers(saved: Path) -> None:
    report = new_session().restore(saved)
    assert repr(report).splitlines()[1] == \
        "  managers  logger, models, main_view, user_aliases, cells"
    assert "<table>" in report._repr_html_()


def test_info_says_what_each_manager_holds_itself(saved: Path) -> None:
    """The logger's messages and the aliases are the managers' own data, not objects."""
    summary = sessionh5.info(saved)
    holds = {m.tag: m.holds for m in summary.managers}
    assert holds["logger"] == "messages: 2 items"
    assert holds["user_aliases"] == "aliases: 1 item"
    assert holds["cells"] == "cells: 20000 items, image: float32 array 256x256"
    line = next(li for li in repr(summary).splitlines() if li.startswith("  logger "))
    assert line.endswith("0 objects  holds messages: 2 items")
    assert summary.to_json()["managers"][0]["holds"] == "messages: 2 items"


def test_notebook_displays_escape_what_the_file_says(saved: Path) -> None:
    html = sessionh5.info(saved)._repr_html_()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert "<summary>managers</summary>" in html and "messages: 2 items" in html
    with sessionh5.open_archive(saved) as archive:
        shown = archive._repr_html_()
        text = repr(archive)
    assert "<script>" not in shown and "/cells/image" in shown
    assert "    cells         20000    Cell 20000" in text
    assert "/cells/image  float32  256x256" in text
