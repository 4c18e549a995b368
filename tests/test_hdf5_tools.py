"""The standard HDF5 command-line tools read saved sessions (``h5ls -r``, ``h5dump``).

They need hdf5plugin's LZ4 filter, found through ``HDF5_PLUGIN_PATH=$(sessionh5
plugin-path)``, exactly as the README shows. The tools come from Debian's
hdf5-tools package (``.ci/run`` installs it); without them these tests skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import sessionh5
from sessionh5 import Model, Session

TOOLS = ("h5ls", "h5dump")
pytestmark = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in TOOLS),
    reason="h5ls/h5dump not found; install the HDF5 command-line tools "
           "(Debian/Ubuntu: apt-get install hdf5-tools)")

#: Values a person can recognise in h5dump's output: 0, 7, 14, ...
VALUES = np.arange(0, 7 * 384 * 256, 7, dtype=np.int32).reshape(384, 256)  # > pool limit


class ToolsVolume(Model):
    """A model with one LZ4-compressed array."""


def plugin_path() -> str:
    """What ``sessionh5 plugin-path`` prints, run as the README runs it."""
    done = subprocess.run([sys.executable, "-m", "sessionh5", "plugin-path"],
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


def run_tool(*argv: str, plugins: str | None = None) -> str:
    env = dict(os.environ, HDF5_PLUGIN_PATH=plugins if plugins is not None else plugin_path())
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=True)
    return done.stdout


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    session = Session("toolstest", silent=True)
    volume = ToolsVolume("volume", session)
    volume.values = VALUES
    session.models.add([volume])
    session.metadata["title"] = "seen by h5dump"
    path = sessionh5.save(session, tmp_path_factory.mktemp("tools") / "tools.h5s")
    assert path is not None
    return path


def dataset_path(path: Path) -> str:
    with h5py.File(path, "r") as file:
        found: list[str] = []
        file.visititems(lambda name, item: found.append("/" + name)
                        if isinstance(item, h5py.Dataset) and name.endswith("values") else None)
    assert len(found) == 1
    return found[0]


def test_plugin_path_is_a_folder_with_the_lz4_filter() -> None:
    folder = Path(plugin_path())
    assert folder.is_dir()
    assert any("lz4" in p.name.lower() for p in folder.iterdir())


def test_the_file_records_the_filters_it_needs(saved: Path, tmp_path: Path) -> None:
    """The root attribute names LZ4 for an LZ4 file and nothing for gzip or no compression."""
    with h5py.File(saved, "r") as file:
        needed = [v.decode() if isinstance(v, bytes) else v
                  for v in file.attrs["sessionh5-filters-needed"]]
    assert len(needed) == 1 and needed[0].startswith("Blosc with LZ4") and "32001" in needed[0]
    session = Session("toolstest", silent=True)
    session.models.add([ToolsVolume("volume", session)])
    session.models.list()[0].values = VALUES
    for compress in ("gzip", None):
        path = sessionh5.save(session, tmp_path / f"{compress}.h5s", compress=compress)
        assert path is not None
        with h5py.File(path, "r") as file:
            assert list(file.attrs["sessionh5-filters-needed"]) == []
        assert sessionh5.info(path).filters_needed == ()


def test_h5ls_lists_the_tag_groups_and_the_array(saved: Path) -> None:
    out = run_tool("h5ls", "-r", str(saved))
    groups = {line.split()[0] for line in out.splitlines() if line.rstrip().endswith("Group")}
    assert {"/models", "/main_view", "/user_aliases"} <= groups
    name = dataset_path(saved).replace(" ", "\\ ")
    assert any(line.startswith(name) and "Dataset {384, 256}" in line
               for line in out.splitlines())


def test_h5dump_shows_the_metadata_attributes(saved: Path) -> None:
    out = run_tool("h5dump", "-A", str(saved))
    for attribute in ("created", "generator", "title", "sessionh5-app-name",
                      "sessionh5-layout-version", "sessionh5-filters-needed"):
        assert f'ATTRIBUTE "{attribute}"' in out
    assert '"seen by h5dump"' in out and '"toolstest"' in out


def test_h5dump_shows_the_blosc_filter_and_the_array_values(saved: Path) -> None:
    name = dataset_path(saved)
    header = run_tool("h5dump", "-p", "-H", "-d", name, str(saved))
    assert "FILTER_ID 32001" in header and "( 384, 256 )" in header
    out = run_tool("h5dump", "-d", name, "-s", "5,0", "-c", "1,6", str(saved))
    assert "(5,0): 8960, 8967, 8974, 8981, 8988, 8995" in out


def test_h5dump_reads_every_value_of_the_blosc_array(saved: Path, tmp_path: Path) -> None:
    """A full dump written as raw binary (-b) equals the array saved."""
    raw = tmp_path / "values.bin"
    run_tool("h5dump", "-d", dataset_path(saved), "-b", "LE", "-o", str(raw), str(saved))
    assert np.array_equal(np.fromfile(raw, dtype="<i4").reshape(VALUES.shape), VALUES)


def test_without_the_plugin_path_the_values_do_not_decode(saved: Path, tmp_path: Path) -> None:
    """The plugin path is what makes the data readable: an empty one shows no values."""
    empty = tmp_path / "no-plugins"
    empty.mkdir()
    done = subprocess.run(["h5dump", "-d", dataset_path(saved), "-c", "1,6", str(saved)],
                          capture_output=True, text=True,
                          env=dict(os.environ, HDF5_PLUGIN_PATH=str(empty)))
    assert "8967" not in done.stdout and "(0,0): 0, 7" not in done.stdout
