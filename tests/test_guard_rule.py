"""Readers reach HDF5 groups and datasets only through _hdf5/guard.py (docs/safety.md).

guard.node_group, guard.child_dataset and guard.datasets refuse soft, external and
user-defined links, virtual datasets, external storage and unwritten chunks before a
byte is read; a reader that indexed a group itself (``group[name]``, ``file[path]``,
``group.get(...)``, ``group.items()``) would follow whatever the file links there. This
test finds such code in the reading modules, so a new read path cannot skip the guard.
"""

from __future__ import annotations

import ast
from pathlib import Path

HDF5 = Path(__file__).resolve().parent.parent / "sessionh5" / "_containers" / "_hdf5"
#: Modules that may index groups: the guard itself, and the writer (it made them).
ALLOWED = {"guard.py", "writer.py"}
#: Names that hold an h5py File or Group in the reading modules.
CONTAINERS = {"file", "group", "_file", "parent"}
#: A line ending in this comment indexes a group that the same code has just written.
WRITTEN_HERE = "# just written"
FOLLOWING = {"get", "items", "values", "keys", "visit", "visititems", "require_group",
             "require_dataset"}


def _holder(node: ast.expr) -> str | None:
    """``file`` for ``file`` or ``self.file``; None for anything else (``group.attrs``)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return node.attr
    return None


def unguarded(source: str) -> list[int]:
    """Lines that index or iterate an HDF5 file or group directly."""
    def follows(node: ast.AST) -> bool:
        if isinstance(node, ast.Subscript):
            return _holder(node.value) in CONTAINERS
        return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in FOLLOWING and _holder(node.func.value) in CONTAINERS)

    text = source.splitlines()
    return sorted({node.lineno for node in ast.walk(ast.parse(source)) if follows(node)
                   and not text[node.lineno - 1].rstrip().endswith(WRITTEN_HERE)})


def test_no_reading_module_indexes_a_group_itself() -> None:
    found = {path.name: lines for path in sorted(HDF5.rglob("*.py"))
             if path.name not in ALLOWED and (lines := unguarded(path.read_text()))}
    assert found == {}


def test_the_rule_finds_each_way_of_following_a_link() -> None:
    bad = ("file[path]", "self.file[path]", "group[name]", "group.get(name)",
           "group.items()", "self._file.values()", "group.visititems(f)")
    assert all(unguarded(code) == [1] for code in bad)
    fine = ("group.attrs[name]", "attrs.get(name)", "node_group(file, path)",
            "child_dataset(group, name)", "self.tables.get(node_id)",
            f"del parent[name]  {WRITTEN_HERE}")
    assert all(unguarded(code) == [] for code in fine)
