"""notebooks/explore.ipynb, the researcher's worked example: stored stripped, thin, not a
report of the build, and it runs from start to finish, showing the table and the chart."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from analysis import build

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "explore.ipynb"


def test_explore_is_stripped_thin_and_not_a_report(tmp_path) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert "researcher" in nb.cells[0].metadata.get("tags", [])
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    namespace: dict = {}
    exec(params[0].source, namespace)  # noqa: S102 - our own parameters cell
    assert namespace["source"] == "demo"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
            assert len(cell.source.splitlines()) <= 9
    assert not any(job.notebook == NOTEBOOK.name for job in build.plan(tmp_path))


def test_explore_runs_and_shows_the_table_and_the_chart() -> None:
    papermill = pytest.importorskip("papermill")
    executed = papermill.execute_notebook(
        str(NOTEBOOK),
        None,
        kernel_name="python3",
        progress_bar=False,
        cwd=str(NOTEBOOK.parent),
        log_output=False,
    )
    outputs = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "age_band" in html and "Female" in html and "65+" in html and "2018/19" in html
    assert html.count("<tr") >= 1 + 12  # a header and the 12 cells of age by sex
    assert any("image/png" in o.get("data", {}) for o in outputs)
