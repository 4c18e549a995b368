"""Extras match what users install, and a missing optional library names its extra."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest
from helpers import Holder, new_session

import sessionh5
from sessionh5 import UsageError
from sessionh5._cli import main
from sessionh5._engine.optional import EXTRAS, require

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def extras() -> dict[str, list[str]]:
    with PYPROJECT.open("rb") as f:
        return tomllib.load(f)["project"]["optional-dependencies"]


def packages(extra: str) -> set[str]:
    """The package names an extra installs, following sessionh5[...] references."""
    found: set[str] = set()
    for requirement in extras()[extra]:
        name = re.match(r"[A-Za-z0-9_.-]+", requirement)[0]  # type: ignore[index]
        if name == "sessionh5":
            for inner in re.search(r"\[(.*)\]", requirement)[1].split(","):  # type: ignore[index]
                found |= packages(inner.strip())
        else:
            found.add(name)
    return found


def test_the_user_extras_exist_and_test_includes_them_all() -> None:
    assert {"dask", "remote", "notebooks", "all", "test"} <= set(extras())
    assert packages("all") >= packages("dask") | packages("remote") | packages("notebooks")
    assert packages("test") >= packages("all") | {"pytest", "ruff"}


@pytest.mark.parametrize("module", sorted(EXTRAS))
def test_each_optional_library_is_in_its_extra(module: str) -> None:
    package, extra = EXTRAS[module]
    assert package in packages(extra)


def test_a_missing_library_is_a_usage_error_naming_the_extra(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now fails
    with pytest.raises(UsageError, match=r'reading tables needs pandas, which is not '
                                         r'installed; install it with: pip install '
                                         r'"sessionh5\[notebooks\]"'):
        require("pandas", "reading tables")


def test_dask_arrays_without_dask_name_the_dask_extra(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    session = new_session(minimal=True)
    session.holder = Holder(values=list(range(3)))
    path = sessionh5.save(session, tmp_path / "s.h5s")
    monkeypatch.setitem(sys.modules, "dask.array", None)
    with sessionh5.open_archive(path) as archive, \
            pytest.raises(UsageError, match=r'archive\.arrays\(dask=True\) needs dask.*'
                                            r'pip install "sessionh5\[dask\]"'):
        archive.arrays(dask=True)


def test_a_url_without_fsspec_names_the_remote_extra(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "fsspec", None)
    assert main(["info", "https://example.invalid/s.h5s"]) == 1
    assert "pip install 'sessionh5[remote]'" in capsys.readouterr().err
