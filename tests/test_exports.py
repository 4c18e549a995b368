"""The public face: ``sessionh5.__all__`` is exactly the public names, each from sessionh5."""

from __future__ import annotations

import inspect

import sessionh5


def test_all_lists_every_public_name_once_and_sorted_case_insensitively():
    public = {n for n in vars(sessionh5) if not n.startswith("_")}
    modules = {n for n in public if inspect.ismodule(getattr(sessionh5, n))}
    assert set(sessionh5.__all__) == public - modules
    assert len(sessionh5.__all__) == len(set(sessionh5.__all__))


def test_public_classes_and_functions_report_a_public_module():
    """Tracebacks and reprs name sessionh5 (or sessionh5.errors), never a private module."""
    wrong = {}
    for name in sessionh5.__all__:
        obj = getattr(sessionh5, name)
        is_code = inspect.isclass(obj) or inspect.isfunction(obj)
        if is_code and obj.__module__ not in ("sessionh5", "sessionh5.errors"):
            wrong[name] = obj.__module__
    assert wrong == {}


def test_seed_api_names_exist():
    for name in ("Session", "State", "StateManager", "UserAliases", "save", "sdump",
                 "standard_metadata", "SESSION_SUFFIX", "SessionError", "RestoreError"):
        assert hasattr(sessionh5, name), name
    assert sessionh5.SESSION_SUFFIX == ".h5s"
