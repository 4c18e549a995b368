"""The README's test command passes in a fresh clone, where ``../shared`` is absent.

Running the whole suite a second time would double CI's time, so this test checks
the equivalent, in a copy of the checkout's files (tracked and new, with local edits)
placed in a folder with nothing beside it: there ``ruff check .`` passes, the whole
suite is collected (a module that reads an outside file at import time fails
here), and every test module that uses the shared files runs and passes, its tests
of those files skipped with a reason. A static check keeps the shared folder's
location in one helper (``tests/stream_variants.py``), so that list of modules is
complete.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
#: The one helper that knows where the shared files are.
HELPER = "stream_variants"
#: What a test module would write to reach the shared folder without the helper.
OUTSIDE = re.compile(r"/work/shared|\.\./shared|parents\[2\]|SESSIONH5_SHARED|['\"]shared['\"]\s*/")


def checkout_files() -> list[str]:
    """Tracked and new (not ignored) files of this checkout, relative to its root."""
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout (or git is missing): nothing to clone")
    listed = subprocess.run([git, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout
    return sorted({name for name in listed.decode().split("\0") if name})


def modules_using_shared_files() -> list[str]:
    return sorted(p.name for p in TESTS.glob("test_*.py")
                  if re.search(rf"^(from|import) {HELPER}\b", p.read_text(encoding="utf-8"),
                               re.MULTILINE))


def test_only_the_helper_knows_where_the_shared_files_are() -> None:
    """No test module reaches ../shared by itself (it would fail in a fresh clone)."""
    offenders = [p.name for p in TESTS.glob("*.py")
                 if p.stem not in (HELPER, "test_fresh_clone")
                 and OUTSIDE.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
    assert {"test_convert.py", "test_stream_codec.py"} <= set(modules_using_shared_files())


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the checkout in an empty folder: no ``shared`` folder beside it."""
    target = tmp_path_factory.mktemp("fresh") / "sessionh5"
    for name in checkout_files():
        source = ROOT / name
        if source.is_symlink():  # as git checks it out (sessionh5/schemas -> ../schemas)
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).symlink_to(os.readlink(source))
        elif source.is_file():  # a file deleted but not yet committed is left out
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    assert not (target.parent / "shared").exists()
    return target


def run_in(clone: Path, *command: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SESSIONH5_SHARED"}
    env["PYTHONPATH"] = str(clone)  # the clone's code, not this checkout's
    env["COLUMNS"] = "1000"  # skip reasons in full
    return subprocess.run([sys.executable, *command], cwd=clone, env=env, capture_output=True,
                          text=True, timeout=600)


def test_ruff_passes_in_a_fresh_clone(clone: Path) -> None:
    pytest.importorskip("ruff")
    done = run_in(clone, "-m", "ruff", "check", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_whole_suite_collects_in_a_fresh_clone(clone: Path) -> None:
    done = run_in(clone, "-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert re.search(r"\d+ tests collected", done.stdout), done.stdout[-500:]


def test_modules_using_shared_files_pass_in_a_fresh_clone(clone: Path) -> None:
    """They pass; the tests of the shared files are skipped and say why."""
    modules = [f"tests/{name}" for name in modules_using_shared_files()]
    done = run_in(clone, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *modules)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    skipped = re.findall(r"^SKIPPED \[\d+\] (.*)$", done.stdout, re.MULTILINE)
    other = [line for line in skipped if "shared ChimeraX fixtures" not in line]
    assert skipped and other == []
    assert re.search(r"\d+ passed", done.stdout), done.stdout[-500:]


def test_the_demo_runs_in_a_fresh_clone(clone: Path) -> None:
    """The README's first command, past its install step, at a small scale."""
    done = run_in(clone, "-m", "sessionh5", "demo", "--scale", "0.01")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verified: restored session equals the original" in done.stdout
