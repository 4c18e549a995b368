"""The `sessionh5` command line: output text and exit codes of every command."""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import sessionh5
from sessionh5 import Model, Session, State
from sessionh5._cli import build_parser, main
from sessionh5._cli.progress import progress_bar


class CliVolume(Model):
    """A model with one large array."""


class CliTag(State):
    """A small object that lands in a table."""

    def __init__(self, label: str) -> None:
        self.label = label


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    session = Session("clitest", silent=True)
    volume = CliVolume("volume", session)
    volume.data = np.zeros((80, 32, 32), dtype=np.float32)  # above the pool limit: a node
    volume.tags = [CliTag("a"), CliTag("b"), CliTag("c")]
    session.models.add([volume])
    path = sessionh5.save(session, tmp_path / "cli.h5s")
    assert path is not None
    return path


def _subcommands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(action.choices)


def test_info_prints_the_summary(saved: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`info FILE` prints the SessionInfo display and exits 0."""
    assert main(["info", str(saved)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"file            {saved}"
    assert "application     clitest" in out
    assert "filters needed  Blosc with LZ4" in out
    assert "4 objects  (CliVolume 1, CliTag 3)" in out


def test_info_json_parses_with_the_expected_keys(
        saved: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`info FILE --json` prints one JSON object with every summary field."""
    assert main(["info", str(saved), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"file", "container", "layout_version", "session_version", "app_name",
            "metadata", "file_size", "raw_array_bytes", "stored_array_bytes",
            "compression_ratio", "filters_needed", "managers"} <= set(data)
    assert data["file"] == str(saved)
    assert data["container"] == "hdf5"
    assert [m["objects"] for m in data["managers"] if m["tag"] == "models"] == [4]


def test_ls_prints_the_tree(saved: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`ls FILE` lists managers, objects, tables with row counts and arrays with sizes."""
    assert main(["ls", str(saved)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "/"
    assert lines[1].startswith("  logger/") and lines[1].endswith("Logger")
    assert any(line.startswith("  models/") for line in lines)
    volume = next(line for line in lines if line.startswith("    CliVolume 1/"))
    assert volume.endswith(f"{__name__}.CliVolume #1")
    data = next(line for line in lines if line.startswith("      data "))
    assert "float32 80x32x32  raw 320.0 KiB  stored " in data
    table = next(line for line in lines if line.startswith("    CliTag/"))
    assert f"table: 3 CliTag objects ({__name__}.CliTag)" in table


def test_ls_path_narrows_to_a_subtree(saved: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`ls FILE PATH` shows only that subtree, with or without the leading slash."""
    assert main(["ls", str(saved), "models/CliVolume 1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("CliVolume 1/")
    assert len(lines) == 2 and lines[1].lstrip().startswith("data")


def test_ls_unknown_path_fails(saved: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown PATH is a one-line error and exit 1."""
    assert main(["ls", str(saved), "/nothing"]) == 1
    assert capsys.readouterr().err == (
        "sessionh5: error: no '/nothing' in the file; `sessionh5 ls FILE` lists what there is\n")


@pytest.mark.parametrize("command", ["info", "ls"])
def test_missing_file_is_a_message_not_a_traceback(
        command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing FILE exits 1 with one line on stderr."""
    missing = tmp_path / "missing.h5s"
    assert main([command, str(missing)]) == 1
    captured = capsys.readouterr()
    assert captured.err == f"sessionh5: error: no such file: {missing}\n"
    assert captured.out == ""


@pytest.mark.parametrize("command", ["info", "ls"])
def test_not_a_session_file_fails(command: str, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    """A text file or a plain HDF5 file exits 1 with a one-line error."""
    text = tmp_path / "notes.txt"
    text.write_text("not a session\n")
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        f["x"] = 1
    for bad in (text, plain):
        assert main([command, str(bad)]) == 1
        err = capsys.readouterr().err
        assert err.startswith("sessionh5: error: ") and err.count("\n") == 1
        assert err == f"sessionh5: error: {bad}: not a sessionh5 file (" \
            + ("an HDF5 file without sessionh5's root attributes" if bad == plain else
               "neither an HDF5 file nor a session stream") + ")\n"


def test_directory_is_not_a_session_file(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """A directory as FILE exits 1 with a clear message."""
    assert main(["info", str(tmp_path)]) == 1
    assert "is a directory" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    pytest.param([], id="no-command"),
    pytest.param(["frobnicate"], id="unknown-command"),
    pytest.param(["info"], id="missing-file"),
    pytest.param(["info", "x", "--bogus"], id="unknown-option"),
    pytest.param(["demo", "--scale", "-1"], id="bad-scale"),
    pytest.param(["demo", "--scale", "lots"], id="non-number-scale"),
])
def test_bad_usage_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Usage errors exit 2 with argparse's usage message."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "usage: sessionh5" in capsys.readouterr().err


@pytest.mark.parametrize("command", _subcommands())
def test_help_on_every_subcommand_exits_0(command: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """`COMMAND --help` prints its usage and exits 0."""
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: sessionh5 {command}" in capsys.readouterr().out


def test_core_commands_are_registered() -> None:
    """info, ls, demo and plugin-path are always available."""
    assert {"info", "ls", "demo", "plugin-path"} <= set(_subcommands())


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """`--version` prints the package version and exits 0."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"sessionh5 {sessionh5.__version__}\n"


def test_plugin_path_prints_the_hdf5plugin_folder(capsys: pytest.CaptureFixture[str]) -> None:
    """`plugin-path` prints hdf5plugin.PLUGIN_PATH, an existing folder."""
    import hdf5plugin

    assert main(["plugin-path"]) == 0
    out = capsys.readouterr().out
    assert out == f"{hdf5plugin.PLUGIN_PATH}\n"
    assert os.path.isdir(out.strip())


def test_demo_writes_output_and_verifies(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """`demo --output FILE` keeps the file, prints the summary, and exits 0; no bar off-tty."""
    target = tmp_path / "demo.h5s"
    assert main(["demo", "--scale", "0.01", "--output", str(target)]) == 0
    captured = capsys.readouterr()
    assert target.exists()
    assert "verified: restored session equals the original" in captured.out
    assert "VolumeModel 1" in captured.out
    assert captured.err == ""


def test_demo_keep_prints_the_kept_path(capsys: pytest.CaptureFixture[str]) -> None:
    """`demo --keep` leaves the temporary file and says where it is."""
    assert main(["demo", "--scale", "0.005", "--keep"]) == 0
    kept = Path(capsys.readouterr().out.splitlines()[-1].removeprefix("kept "))
    assert kept.exists()
    kept.unlink()
    kept.parent.rmdir()


def test_session_error_is_one_line_exit_1(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """A SessionError raised by a command becomes `sessionh5: error: ...` and exit 1."""
    damaged = tmp_path / "damaged.h5s"
    damaged.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    assert main(["info", str(damaged)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("sessionh5: error: ") and err.count("\n") == 1


def test_info_accepts_an_fsspec_url(saved: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """FILE may be a URL that fsspec understands (here file://)."""
    pytest.importorskip("fsspec")
    url = saved.as_uri()
    assert main(["info", url, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["file"] == url and data["app_name"] == "clitest"


class _Terminal(io.StringIO):
    """A text stream that claims to be a terminal."""

    def isatty(self) -> bool:
        return True


def test_progress_is_quiet_off_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a terminal on stderr no callback is given, so nothing is drawn."""
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with progress_bar("saving") as callback:
        assert callback is None
    assert sys.stderr.getvalue() == ""


def test_progress_draws_a_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a terminal (and with tqdm installed) the callback draws a byte progress bar."""
    pytest.importorskip("tqdm")
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress_bar("saving") as callback:
        assert callback is not None
        callback(512, 1024)
        callback(1024, 1024)
    assert "saving" in terminal.getvalue()


def test_text_the_output_encoding_lacks_is_escaped_not_a_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows' pipes and redirections use the locale's code page (cp1252 here), which has
    no byte for most text a file may hold."""
    session = Session("clitest", silent=True)
    volume = CliVolume("体积 ✓", session)
    volume.tags = [CliTag("日本")]
    session.models.add([volume])
    path = sessionh5.save(session, tmp_path / "u.h5s")
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="cp1252", errors="strict", write_through=True)
    monkeypatch.setattr(sys, "stdout", out)
    assert main(["dump", str(path)]) == 0
    text = raw.getvalue().decode("cp1252")
    assert "'\\u65e5\\u672c'" in text and "\\u4f53\\u79ef \\u2713" in text
