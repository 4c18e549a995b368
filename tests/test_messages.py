"""Messages a new user meets: each says what is wrong, where, and what to do."""

from __future__ import annotations

import io
from pathlib import Path

import h5py
import pytest
from helpers import Holder, new_session

import sessionh5
from sessionh5 import CorruptFileError, State, UnknownClassError
from sessionh5._cli import main
from sessionh5._engine import classes
from sessionh5.errors import WriteError


class Cell(State):
    SESSION_NAME = "test_messages.Cell"


class Spot(State):
    SESSION_NAME = "test_messages.Spot"


def test_unknown_class_error_names_every_missing_class_with_counts_and_tags(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    session = new_session(minimal=True)
    session.cells = Holder(cells=[Cell() for _ in range(30)])
    session.spots = Holder(spots=[Spot() for _ in range(3)], also=[Cell()])
    path = sessionh5.save(session, tmp_path / "cells.h5s")
    monkeypatch.delitem(classes._by_name, Cell.SESSION_NAME)
    monkeypatch.delitem(classes._by_name, Spot.SESSION_NAME)
    with pytest.raises(UnknownClassError) as caught:
        new_session(minimal=True).restore(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: 2 classes of the file are not registered in this "
                           "process: class 'test_messages.Cell' (31 objects under 'cells', "
                           "'spots'; the first is <test_messages.Cell, 1> at /cells/Cell[0])")
    assert "class 'test_messages.Spot' (3 objects under 'spots'; the first is " in text
    assert text.endswith("import the modules that define them (or register snapshot "
                         "methods) before restoring")


def test_a_class_saved_from_a_script_explains_session_aliases(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Saved as __main__.Nucleus by a script; the message shows the alias that fixes it."""
    script_class = type("Nucleus", (State,), {"__module__": "__main__"})
    session = new_session(minimal=True)
    session.holder = Holder(nucleus=script_class())
    path = sessionh5.save(session, tmp_path / "script.h5s")
    monkeypatch.delitem(classes._by_name, "__main__.Nucleus")
    with pytest.raises(UnknownClassError, match=r"class '__main__\.Nucleus' is not registered "
                       r"in this process .*Classes defined in a script are saved as "
                       r"'__main__\.<name>'.*class Nucleus\(State\): SESSION_ALIASES = "
                       r"\('__main__\.Nucleus',\)"):
        new_session(minimal=True).restore(path)

    class Nucleus(State):  # the class, now in a module, with the alias the message shows
        SESSION_ALIASES = ("__main__.Nucleus",)

    restored = new_session(minimal=True)
    restored.restore(path)
    assert type(restored.holder.nucleus) is Nucleus


def plain_hdf5(path: Path) -> Path:
    with h5py.File(path, "w") as f:
        f["x"] = [1, 2, 3]
    return path


@pytest.mark.parametrize("command", [["info"], ["ls"], ["dump"], ["validate"],
                                     ["convert", "{out}"], ["diff", "{same}"]])
def test_every_command_says_not_a_sessionh5_file_in_one_line(
        command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain = plain_hdf5(tmp_path / "plain.h5")
    name, *rest = command
    args = [a.format(out=tmp_path / "out.cxs", same=plain) for a in rest]
    code = main([name, str(plain), *args])
    captured = capsys.readouterr()
    wording = f"{plain}: not a sessionh5 file (an HDF5 file without sessionh5's root attributes)"
    if name == "validate":  # validate reports problems on stdout
        assert code == 1 and captured.out == f"{plain}: 1 problem(s)\n" \
            f"  - not a sessionh5 file (an HDF5 file without sessionh5's root attributes)\n"
    else:
        assert code == (2 if name == "diff" else 1)
        assert captured.err == f"sessionh5: error: {wording}\n"


def test_the_library_says_it_the_same_way(tmp_path: Path) -> None:
    plain = plain_hdf5(tmp_path / "plain.h5")
    wording = r"not a sessionh5 file \(an HDF5 file without sessionh5's root attributes\)"
    with pytest.raises(CorruptFileError, match=f"^{plain}: {wording}$"):
        new_session().restore(plain)
    with pytest.raises(CorruptFileError, match=f"^{wording}$"):
        sessionh5.open_archive(plain)
    with pytest.raises(CorruptFileError, match=f"^{plain}: {wording}$"):
        sessionh5.diff(plain, plain)


def test_restore_errors_name_the_file_given_by_path_or_file_object(tmp_path: Path) -> None:
    path = tmp_path / "cut.h5s"
    path.write_bytes(sessionh5.save(new_session(), tmp_path / "whole.h5s").read_bytes()[:3000])
    with pytest.raises(CorruptFileError, match=rf"^{path}: "):
        new_session().restore(path)
    with path.open("rb") as f, pytest.raises(CorruptFileError, match=rf"^{path}: "):
        new_session().restore(f)
    with pytest.raises(CorruptFileError, match=r"^not a sessionh5 file"):  # no name to give
        new_session().restore(io.BytesIO(b"nothing here"))


def test_a_missing_file_is_file_not_found_as_documented(tmp_path: Path) -> None:
    """The docstring says so; a name saved without its suffix gets a hint."""
    assert "FileNotFoundError: the path does not exist" in sessionh5.Session.restore.__doc__
    with pytest.raises(FileNotFoundError) as caught:
        new_session().restore(tmp_path / "nothing.h5s")
    assert caught.value.filename == str(tmp_path / "nothing.h5s")
    sessionh5.save(new_session(), tmp_path / "tour")
    with pytest.raises(FileNotFoundError, match=r"did you mean '.*tour\.h5s' \(save adds the "
                                                r"suffix\)\?"):
        new_session().restore(tmp_path / "tour")


def test_session_save_and_sessionh5_save_follow_one_suffix_rule(tmp_path: Path) -> None:
    """No suffix: .h5s is added (.cxs for format='stream'); a suffix is kept and chooses."""
    session = new_session()
    cases = [("a", None, "a.h5s", "hdf5"), ("b", "stream", "b.cxs", "stream"),
             ("c.cxs", None, "c.cxs", "stream"), ("d.data", None, "d.data", "hdf5")]
    for name, fmt, written, container in cases:
        for how, save in (("method", session.save),
                          ("function", lambda p, **k: sessionh5.save(session, p, **k))):
            folder = tmp_path / how
            folder.mkdir(exist_ok=True)
            path = save(folder / name, format=fmt)
            assert path == folder / written, (how, name)
            assert sessionh5.info(path).container == container
    assert sorted(p.name for p in (tmp_path / "method").iterdir()) == \
        sorted(p.name for p in (tmp_path / "function").iterdir())


def test_saving_to_a_folder_is_refused_not_given_a_suffix(tmp_path: Path) -> None:
    """``save("results")`` where results/ is a folder names the folder and suggests a file
    in it; before, the suffix rule wrote results.h5s beside it."""
    session = new_session()
    folder = tmp_path / "results"
    folder.mkdir()
    for save in (session.save, lambda p: sessionh5.save(session, p)):
        with pytest.raises(WriteError, match=r"it is a folder; name a file in it instead \(for "
                                             r"example '.*results/session\.h5s'\)") as info:
            save(folder)
        assert info.value.filename == str(folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize(("source", "written"), [("a.h5s", "a.cxs"), ("b.cxs", "b.h5s")])
def test_convert_into_a_folder_writes_the_other_container_there(
        tmp_path: Path, source: str, written: str) -> None:
    src = sessionh5.save(new_session(), tmp_path / source)
    out = tmp_path / "out"
    out.mkdir()
    assert sessionh5.convert(src, out) == out / written
    assert sessionh5.diff(src, out / written).equal
    assert not (tmp_path / "out.h5s").exists() and not (tmp_path / "out.cxs").exists()


def test_a_folder_named_like_a_session_file_is_refused_not_filled(tmp_path: Path) -> None:
    """``convert a.h5s x.h5s/`` where x.h5s is a folder: the target is refused (issue 14)."""
    src = sessionh5.save(new_session(), tmp_path / "a.h5s")
    (tmp_path / "x.h5s").mkdir()
    with pytest.raises(WriteError, match="it is a folder"):
        sessionh5.convert(src, tmp_path / "x.h5s")
    assert list((tmp_path / "x.h5s").iterdir()) == []


def test_cli_convert_into_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = sessionh5.save(new_session(), tmp_path / "a.h5s")
    (tmp_path / "out").mkdir()
    assert main(["convert", str(src), str(tmp_path / "out"), "--format", "hdf5"]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {tmp_path / 'out' / 'a.h5s'} (HDF5")


def test_demo_without_output_says_its_file_is_temporary(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--scale", "0.005"]) == 0
    out = capsys.readouterr().out
    assert "(a temporary file, removed when the demo ends: --output FILE or --keep keeps it)" \
        in out
