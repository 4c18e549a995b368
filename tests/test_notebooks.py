"""Every notebook in notebooks/ runs top to bottom, shows its plots, and leaves nothing behind.

Each notebook runs once, in a kernel whose temporary folder (TMPDIR) is a fresh
empty folder, so "leaves nothing in /tmp" is checked by that folder being empty
afterwards. The notebooks are committed without outputs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
#: Notebooks that draw a plot: their executed copy must hold the image.
PLOTTING = {"large_data", "inspect"}


def test_the_notebooks_are_there() -> None:
    assert {p.name for p in NOTEBOOKS} >= {"quickstart.ipynb", "large_data.ipynb",
                                          "inspect.ipynb", "cluster.ipynb"}


@pytest.fixture(scope="module", params=NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def executed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
             ) -> tuple[str, Any, Path]:
    """(name, the executed notebook, the kernel's temporary folder)."""
    path: Path = request.param
    work = tmp_path_factory.mktemp(path.stem)
    temp = work / "tmp"
    temp.mkdir()
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(work)}})
    client.execute(env={**os.environ, "TMPDIR": str(temp)})  # raises naming a failed cell
    return path.stem, notebook, temp


def outputs(notebook: Any) -> list[Any]:
    return [o for cell in notebook.cells for o in cell.get("outputs", [])]


def test_notebook_runs_top_to_bottom(executed: tuple[str, Any, Path]) -> None:
    _, notebook, _ = executed
    assert [o for o in outputs(notebook) if o.get("output_type") == "error"] == []


def test_plots_are_shown_inline(executed: tuple[str, Any, Path]) -> None:
    name, notebook, _ = executed
    images = [o for o in outputs(notebook) if "image/png" in o.get("data", {})]
    assert bool(images) == (name in PLOTTING)


def test_notebook_leaves_nothing_in_the_temporary_folder(
        executed: tuple[str, Any, Path]) -> None:
    _, _, temp = executed
    assert list(temp.iterdir()) == []


def test_the_inspection_notebook_shows_tables_and_summaries() -> None:
    """Its displays are the HTML of info, the archive, a DataFrame and a diff."""
    notebook = nbformat.read(NOTEBOOKS[[p.stem for p in NOTEBOOKS].index("inspect")],
                             as_version=4)
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    for call in ("sessionh5.info(", '"ls"', "sessionh5.open_archive(", ".table(",
                 "arrays(dask=True)", "sessionh5.diff(", "plt.show()"):
        assert call in code


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]
