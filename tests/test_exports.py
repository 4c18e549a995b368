"""The public face: ``sessionh5.__all__`` is exactly the public names; their source can be shown."""

from __future__ import annotations

import importlib.util
import inspect
import subprocess
import sys

import pytest

import sessionh5


def test_all_lists_every_public_name_once_and_sorted_case_insensitively():
    public = {n for n in vars(sessionh5) if not n.startswith("_")}
    modules = {n for n in public if inspect.ismodule(getattr(sessionh5, n))}
    assert set(sessionh5.__all__) == public - modules
    assert len(sessionh5.__all__) == len(set(sessionh5.__all__))


def public_code() -> dict[str, object]:
    return {name: getattr(sessionh5, name) for name in sessionh5.__all__
            if inspect.isclass(getattr(sessionh5, name))
            or inspect.isfunction(getattr(sessionh5, name))}


def test_public_classes_and_functions_keep_their_real_module():
    """``__module__`` names the defining module, so source lookup finds the file."""
    wrong = {name: obj.__module__ for name, obj in public_code().items()
             if getattr(sys.modules[obj.__module__], obj.__name__, None) is not obj}
    assert wrong == {}


def test_the_source_of_every_public_class_and_function_can_be_shown():
    """inspect.getsource (and so IPython's ``??``) works on the public names."""
    for name, obj in public_code().items():
        source = inspect.getsource(obj)
        assert f"{'class' if inspect.isclass(obj) else 'def'} {obj.__name__}" in source, name
    assert "class Session:" in inspect.getsource(sessionh5.Session)


def test_ipython_shows_the_source_of_session():
    """``Session??`` in IPython: run in a child, IPython's imports stay out of this process."""
    if importlib.util.find_spec("IPython") is None:  # not importorskip: no import here
        pytest.skip("IPython is not installed")
    code = ("import inspect; from IPython.core.oinspect import Inspector; import sessionh5; "
            # IPython 9 asks for a theme, IPython 8 has no such argument
            "kw = {'theme_name': 'nocolor'} "
            "if 'theme_name' in inspect.signature(Inspector).parameters else {}; "
            "info = Inspector(**kw).info(sessionh5.Session, detail_level=1); "
            "print(info['file']); print('class Session:' in info['source'])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    file, found = done.stdout.split()
    assert file.endswith("session.py") and found == "True"


def test_instances_of_public_classes_show_public_names(tmp_path):
    """Reprs name sessionh5, never a private module, without renaming modules."""
    session = sessionh5.Session("demo", silent=True)
    model = sessionh5.Model("m", session)
    session.models.add([model])
    shown = [session, session.models, session.main_view, session.user_aliases,
             session.triggers, session.logger, model, sessionh5.RestoreReport()]
    path = sessionh5.save(session, tmp_path / "s.h5s")
    shown += [sessionh5.info(path), sessionh5.diff(path, path)]
    with sessionh5.open_archive(path) as archive:
        shown += [archive, *archive.arrays().values()]
    texts = [repr(obj) for obj in shown]
    assert [t for t in texts if "sessionh5._" in t or " object at 0x" in t] == []
    assert repr(session) == ("<sessionh5.Session 'demo': managers logger, models, main_view, "
                             "user_aliases>")


def test_seed_api_names_exist():
    for name in ("Session", "State", "StateManager", "UserAliases", "save", "sdump",
                 "standard_metadata", "SESSION_SUFFIX", "SessionError", "RestoreError"):
        assert hasattr(sessionh5, name), name
    assert sessionh5.SESSION_SUFFIX == ".h5s"
