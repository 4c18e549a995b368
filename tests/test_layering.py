"""Layers point one way: the core never imports a container library or a backend package."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sessionh5"
CONTAINER_LIBRARIES = {"h5py", "hdf5plugin", "msgpack", "lz4", "pickle", "marshal", "shelve"}
#: Modules that make up the container-neutral core.
CORE = ["_classes", "_state", "_snapshot_methods", "_graph", "_walk", "_rebuild", "_records",
        "_models", "_view", "_aliases", "_session_log", "_logger", "_triggers", "_metadata",
        "_gc", "errors", "_encoding", "_decoding"]


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
    return names


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_no_container_library(module):
    imported = {name.split(".")[0] for name in imports_of(PACKAGE / f"{module}.py")}
    assert imported & CONTAINER_LIBRARIES == set()


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_no_backend_package(module):
    backends = {n for n in imports_of(PACKAGE / f"{module}.py") if "_stream" in n or "_hdf5" in n}
    assert backends == set()


def test_no_module_in_the_package_imports_pickle_marshal_or_shelve():
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(found)
        for path in PACKAGE.rglob("*.py")
        if (found := {n.split(".")[0] for n in imports_of(path)} & {"pickle", "marshal", "shelve"})
    }
    assert offenders == {}
