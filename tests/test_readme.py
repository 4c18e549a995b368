"""The README's examples run and print what the README says they print.

Every ```python block runs, in order, in one namespace, in a scratch folder (a block
right after a ``<!-- readme-test: skip ... -->`` line is left out, with its reason in
that line). A ```text block introduced by a line ending in "which prints" must equal
the output of the python block before it. The ```bash blocks after the set-up block
run in the same folder with ``bash -e`` (those calling the HDF5 tools only where
the tools are installed).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.MULTILINE | re.DOTALL)
SKIP = "<!-- readme-test: skip"


@dataclass(frozen=True)
class Block:
    language: str
    code: str
    before: str  # the text between the previous block and this one

    @property
    def skipped(self) -> bool:
        return SKIP in self.before

    @property
    def is_expected_output(self) -> bool:
        return self.language == "text" and self.before.strip().endswith("which prints")


def blocks() -> list[Block]:
    text = README.read_text(encoding="utf-8")
    found, end = [], 0
    for match in FENCE.finditer(text):
        found.append(Block(match[1], match[2], text[end:match.start()]))
        end = match.end()
    return found


def test_the_setup_commands_open_the_readme() -> None:
    """CI runs the README's test command exactly; it must stay the first block."""
    first = blocks()[0]
    assert first.language == "bash"
    assert 'python -m pip install -q -e ".[test]" && python -m ruff check . && ' \
           "python -m pytest" in first.code
    assert "sessionh5 demo" in first.code


def test_python_and_shell_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__main__"}
    last_output = None
    ran = 0
    for block in blocks()[1:]:
        if block.skipped:
            continue
        if block.language == "python":
            last_output = run_python(block.code, namespace)
            ran += 1
        elif block.is_expected_output:
            assert last_output == block.code, "README output differs from what the code prints"
        elif block.language == "bash":
            run_bash(block.code, tmp_path)
    assert ran >= 6


def run_python(code: str, namespace: dict[str, object]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(README), "exec"), namespace)  # our own README
    return out.getvalue()


def run_bash(code: str, folder: Path) -> None:
    if ("h5dump" in code or "h5ls" in code) and shutil.which("h5dump") is None:
        return  # the HDF5 tools are not installed here; tests/test_hdf5_tools.py says so
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep
               + os.environ.get("PATH", ""))
    done = subprocess.run(["bash", "-e", "-c", code], cwd=folder, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, f"{code}\n{done.stderr}"
    assert done.stdout.strip()
