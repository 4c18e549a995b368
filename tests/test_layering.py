"""The package's wings import one way (docs/architecture.md); this test is the rule book.

``_cli`` -> ``_tools`` -> ``_containers`` -> ``_engine``, and ``_core`` -> ``_containers``,
``_engine``. Only ``_containers/_hdf5/`` touches h5py and hdf5plugin; only the two
containers' own row formats (``_containers/_stream/`` and ``_containers/_hdf5/packed/``)
touch msgpack; only ``_containers`` touches fsspec. Imports under ``if TYPE_CHECKING:``
are for type checkers only and are not counted. The checker runs on the real package and
on small fake packages, each breaking one rule, so a rule that stopped biting would fail
here too.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sessionh5"

#: wing -> the wings (and public-face modules) it may import at run time
ALLOWED = {
    "_engine": {"_engine", "errors"},
    "_containers": {"_containers", "_engine", "errors"},
    "_core": {"_core", "_containers", "_engine", "errors"},
    "_tools": {"_tools", "_containers", "_engine", "errors"},
    "_cli": {"_cli", "_tools", "errors", "_version"},
}
#: demo.py builds a session as an application does, through core's public classes
EXCEPTIONS = {("_tools", "demo"): {"_core"}}
#: third-party library -> the folders (relative to the package) allowed to import it
LIBRARY_HOMES = {
    "h5py": ("_containers/_hdf5",),
    "hdf5plugin": ("_containers/_hdf5",),
    "msgpack": ("_containers/_stream", "_containers/_hdf5/packed"),
    "fsspec": ("_containers",),
}
NEVER = {"pickle", "marshal", "shelve", "dill"}


@dataclass(frozen=True)
class Import:
    module: str  # absolute, e.g. "sessionh5._engine.walk" or "h5py"
    line: int


def runtime_imports(path: Path, package: str) -> list[Import]:
    """Absolute names of what ``path`` imports outside ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = [package, *path.relative_to(path_root(path, package)).with_suffix("").parts]
    found: list[Import] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend(Import(a.name, node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = here[: len(here) - node.level]
                base = ".".join([*parent, base] if base else parent)
                if not node.module:  # from . import x: each name may be a module
                    found.extend(Import(f"{base}.{a.name}", node.lineno) for a in node.names)
                    return
            found.append(Import(base, node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def path_root(path: Path, package: str) -> Path:
    for parent in path.parents:
        if parent.name == package:
            return parent
    raise ValueError(f"{path} is not inside {package}")


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def violations(root: Path) -> list[str]:
    """Every broken rule in the package at ``root``, as 'file:line: what' lines."""
    package = root.name
    problems = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        wing = rel.parts[0] if len(rel.parts) > 1 else None
        folder = rel.parent.as_posix()
        for imp in runtime_imports(path, package):
            top, *rest = imp.module.split(".")
            where = f"{rel}:{imp.line}"
            if top in NEVER:
                problems.append(f"{where}: imports {top}")
            if top in LIBRARY_HOMES and not any(
                    folder == home or folder.startswith(home + "/")
                    for home in LIBRARY_HOMES[top]):
                problems.append(f"{where}: imports {top} outside "
                                f"{' or '.join(LIBRARY_HOMES[top])}")
            if top != package or wing is None or not rest:
                continue
            target = rest[0]
            allowed = ALLOWED.get(wing, set()) | EXCEPTIONS.get((wing, path.stem), set())
            if wing in ALLOWED and target not in allowed:
                problems.append(f"{where}: {wing} imports {imp.module}")
    return problems


def test_the_package_keeps_every_rule():
    assert violations(PACKAGE) == []


def test_every_module_lives_in_a_wing_or_is_the_public_face():
    top_level = {p.name for p in PACKAGE.glob("*.py")}
    assert top_level == {"__init__.py", "__main__.py", "errors.py", "_version.py"}
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and not p.name.startswith(
        ("__", "."))} == {"_cli", "_containers", "_core", "_engine", "_tools", "schemas"}


def test_no_module_outside_hdf5_is_longer_than_400_lines():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if "_hdf5" not in p.parts and (n := len(p.read_text().splitlines())) > 400}
    assert long == {}


# The checker itself: one fake package per rule, each with one wrong import.
BROKEN = {
    "engine imports core": ("_engine/walk.py", "from .._core.session import Session\n",
                            "_engine imports fake._core.session"),
    "engine imports h5py lazily": ("_engine/walk.py", "def f():\n    import h5py\n",
                                   "imports h5py outside _containers/_hdf5"),
    "engine imports msgpack": ("_engine/records.py", "import msgpack\n",
                               "imports msgpack outside"),
    "container imports core": ("_containers/backends.py", "from .._core import session\n",
                               "_containers imports fake._core"),
    "container imports a tool": ("_containers/_hdf5/reader.py", "from ..._tools.info import x\n",
                                 "_containers imports fake._tools.info"),
    "stream imports h5py": ("_containers/_stream/reader.py", "import h5py\n",
                            "imports h5py outside _containers/_hdf5"),
    "hdf5 imports msgpack": ("_containers/_hdf5/reader.py", "import msgpack\n",
                             "imports msgpack outside"),
    "tool imports core": ("_tools/info.py", "from .._core.session import Session\n",
                          "_tools imports fake._core.session"),
    "tool imports h5py": ("_tools/validate.py", "import h5py\n", "imports h5py outside"),
    "cli imports a container": ("_cli/info.py", "from .._containers import backends\n",
                                "_cli imports fake._containers"),
    "cli imports the engine": ("_cli/ls.py", "from .._engine.records import ObjectKey\n",
                               "_cli imports fake._engine.records"),
    "core imports the cli": ("_core/session.py", "from .._cli import main\n",
                             "_core imports fake._cli"),
    "anyone imports pickle": ("_tools/dump.py", "import pickle\n", "imports pickle"),
    "tool imports fsspec": ("_tools/info.py", "import fsspec\n", "imports fsspec outside"),
}
ALLOWED_CASES = {
    "type-only import": ("_engine/state.py",
                         "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                         "    from .._core.session import Session\n"),
    "demo uses core": ("_tools/demo.py", "from .._core.session import Session\n"),
    "core uses containers": ("_core/session.py", "from .._containers.backends import x\n"),
    "packed rows use msgpack": ("_containers/_hdf5/packed/encoder.py", "import msgpack\n"),
    "remote uses fsspec": ("_containers/remote.py", "def f():\n    import fsspec\n"),
    "cli uses tools": ("_cli/info.py", "from .._tools.info import info\n"),
}


def _fake_package(tmp_path: Path, file: str, source: str) -> Path:
    root = tmp_path / "fake"
    target = root / file
    for folder in [root, *(root / p for p in Path(file).parents if str(p) != ".")]:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "__init__.py").touch()
    target.write_text(source)
    return root


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_the_checker_finds_each_broken_rule(tmp_path, case):
    file, source, expected = BROKEN[case]
    found = violations(_fake_package(tmp_path, file, source))
    assert len(found) == 1 and expected in found[0], found


@pytest.mark.parametrize("case", sorted(ALLOWED_CASES))
def test_the_checker_allows_what_the_rules_allow(tmp_path, case):
    file, source = ALLOWED_CASES[case]
    assert violations(_fake_package(tmp_path, file, source)) == []


def test_the_architecture_page_names_every_module_of_each_wing():
    """docs/architecture.md's table lists each wing's modules: it must match the folders."""
    import re

    page = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    for wing in ("_core", "_engine", "_tools"):
        row = next(line for line in page.splitlines() if line.startswith(f"| `{wing}` |"))
        listed = set(re.findall(r"`(\w+)`", row.rsplit("|", 2)[1]))
        actual = {p.stem for p in (PACKAGE / wing).glob("*.py")} - {"__init__"}
        assert listed == actual, wing
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    contributors = readme.split("## For contributors", 1)[1].split("\n## ", 1)[0]
    assert "docs/architecture.md" in contributors
