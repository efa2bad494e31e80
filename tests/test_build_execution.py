"""The build runs notebooks in its workers' own IPython shell (analysis.build.execution): the
outputs are those a Jupyter kernel run by papermill gives, parameters are injected as papermill
injects them, each notebook starts with a clean namespace, and a failing cell is named.

The shell replaces ``sys.modules['__main__']`` as a kernel does, so each test runs it in a
process of its own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _notebook(path: Path, *cells: str, parameters: str = "place = 'London'") -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    first = nbformat.v4.new_code_cell(parameters)
    first.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# A test notebook"), first]
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, path)
    return path


RICH = """
class Shown:
    def _repr_html_(self):
        return f"<p>{place}</p>"
    def __repr__(self):
        return f"<Shown {place}>"
"""


def _run_in_worker(runs: list[tuple[Path, dict]], tmp_path: Path) -> list[dict]:
    """Each (notebook, parameters) executed one after another by analysis.build.execution in
    one fresh process, as a worker does; each result as the executed notebook's JSON, or the
    error's fields."""
    script = tmp_path / "run.py"
    script.write_text(
        "import json, os, sys\n"
        "from pathlib import Path\n"
        "from analysis.build import execution\n"
        "from papermill.exceptions import PapermillExecutionError\n"
        "import nbformat\n"
        "results = []\n"
        "for path, params in json.loads(sys.argv[1]):\n"
        "    before = os.getcwd()\n"
        "    try:\n"
        "        nb = execution.execute(Path(path), params)\n"
        "        results.append({'nb': nbformat.writes(nb), 'cwd_kept': os.getcwd() == before})\n"
        "    except PapermillExecutionError as err:\n"
        "        results.append({'error': [err.cell_index, err.source, err.ename, err.evalue]})\n"
        "print(json.dumps(results))\n"
    )
    done = subprocess.run(
        [sys.executable, str(script), json.dumps([[str(p), params] for p, params in runs])],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**__import__("os").environ, "MPLBACKEND": "Agg"},
        check=True,
    )
    out = json.loads(done.stdout.strip().splitlines()[-1])
    for r in out:
        if "nb" in r:
            r["nb"] = nbformat.reads(r["nb"], as_version=4)
    return out


def _on_a_kernel(path: Path, params: dict):
    """The notebook run by papermill on a Jupyter kernel, in its own folder."""
    import papermill

    return papermill.execute_notebook(
        str(path),
        None,
        parameters=params,
        kernel_name="python3",
        progress_bar=False,
        cwd=str(path.parent),
    )


def _outputs(nb) -> list[list[dict]]:
    """Each code cell's outputs, without what differs from run to run (none is expected)."""
    return [
        [{k: v for k, v in o.items() if k != "execution_count"} for o in c.outputs]
        for c in nb.cells
        if c.cell_type == "code"
    ]


def test_outputs_and_parameters_are_those_of_papermill_on_a_kernel(tmp_path) -> None:
    """The same notebook, run by papermill on a Jupyter kernel and by the build's shell: the
    same cells (the injected parameters after the parameters cell) and the same outputs."""
    path = _notebook(
        tmp_path / "rich.ipynb",
        RICH,
        "from IPython.display import display\ndisplay(Shown())",
        "print('one'); print('two')",
        "import sys; sys.stderr.write('a warning\\n');",
        "Shown()",
        "x = 1",
        "x + 1",
    )
    params = {"place": "Camden"}
    ours = _run_in_worker([(path, params)], tmp_path)[0]
    assert ours["cwd_kept"]
    kernel = _on_a_kernel(path, params)
    assert [c.source for c in ours["nb"].cells] == [c.source for c in kernel.cells]
    injected = ours["nb"].cells[2]
    assert injected.metadata["tags"] == ["injected-parameters"] and "Camden" in injected.source
    assert _outputs(ours["nb"]) == _outputs(kernel)
    shown = _outputs(ours["nb"])
    assert shown[3] == [
        {
            "output_type": "display_data",
            "data": {"text/html": "<p>Camden</p>", "text/plain": "<Shown Camden>"},
            "metadata": {},
        }
    ]
    assert shown[4] == [{"output_type": "stream", "name": "stdout", "text": "one\ntwo\n"}]
    assert shown[5] == [{"output_type": "stream", "name": "stderr", "text": "a warning\n"}]
    assert shown[6][0]["output_type"] == "execute_result" and shown[7] == []
    # a cell's value carries the cell's execution count, as the kernel's does
    for cell in ours["nb"].cells:
        for output in cell.get("outputs", []):
            if output["output_type"] == "execute_result":
                assert output["execution_count"] == cell.execution_count > 0


def test_each_notebook_starts_with_a_clean_namespace_in_its_own_folder(tmp_path) -> None:
    first = _notebook(tmp_path / "first.ipynb", "leftover = place", "leftover")
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    second = _notebook(
        folder / "second.ipynb",
        "import os\nprint('leftover' in globals(), os.getcwd())",
        "_",
    )
    a, b = _run_in_worker([(first, {}), (second, {})], tmp_path)
    assert _outputs(a["nb"])[3][0]["data"]["text/plain"] == "'London'"
    printed = _outputs(b["nb"])[2][0]["text"]
    assert printed == f"False {folder}\n"  # nothing left over; run in the notebook's folder
    assert _outputs(b["nb"])[3] == [
        {"output_type": "execute_result", "data": {"text/plain": "''"}, "metadata": {}}
    ]  # no previous value under "_"
    assert a["cwd_kept"] and b["cwd_kept"]


def test_a_failing_cell_is_named_with_its_error(tmp_path) -> None:
    from analysis.build import workers

    path = _notebook(
        tmp_path / "failing.ipynb", "y = 1", "if place == 'Camden':\n    raise ValueError('no')"
    )
    (fails,) = _run_in_worker([(path, {"place": "Camden"})], tmp_path)
    index, source, ename, evalue = fails["error"]
    assert (ename, evalue) == ("ValueError", "no") and "raise ValueError" in source
    from papermill.exceptions import PapermillExecutionError

    cell, message = workers.describe_failure(
        PapermillExecutionError(index, 1, source, ename, evalue, []), path
    )
    assert cell == 4 and message == "ValueError: no"  # counted from 1 in the file
    (syntax,) = _run_in_worker([(_notebook(tmp_path / "bad.ipynb", "1 +"), {})], tmp_path)
    assert syntax["error"][2] == "SyntaxError"


def test_a_worker_imports_what_reports_need_and_collects_garbage_less_often(tmp_path) -> None:
    code = (
        "import gc, sys\n"
        "from analysis.build import workers, execution\n"
        "workers.worker_init()\n"
        "print(gc.get_threshold() == workers.GC_THRESHOLDS, 'mapclassify' in sys.modules,\n"
        "      'geopandas' in sys.modules, execution._SHELL is not None)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stdout.split() == ["True"] * 4


@pytest.mark.parametrize("name", ["borough.ipynb"])
def test_a_report_notebook_gives_the_same_page_as_on_a_kernel(name, tmp_path) -> None:
    """A borough page's notebook, run by papermill on a Jupyter kernel and in the build's
    shell: the report body nbconvert makes from each is the same, byte for byte."""
    from analysis import pipeline
    from analysis.build import render

    data = tmp_path / "data"
    pipeline.write_results(pipeline.compute(pipeline.demo_inputs()), data)
    params = {"borough": "Camden", "data_dir": str(data)}
    path = ROOT / "notebooks" / name
    (ours,) = _run_in_worker([(path, params)], tmp_path)
    kernel = _on_a_kernel(path, params)
    assert render.notebook_html(ours["nb"]) == render.notebook_html(kernel)
