"""Charts as printed: every chart a demo build draws has no text under 9 pt at the size the
page prints it, and charts are vector images whose bytes do not change between builds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis import build, charts, pipeline

# every borough page draws the same charts: these three stand for them (the City's many
# suppressed figures, an Inner and an Outer borough); the build itself refuses any chart with
# small text (charts.to_html), so every borough's charts are checked by every build too
BOROUGHS = {"city-of-london", "camden", "havering"}
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, demo_results) -> Path:
    folder = tmp_path_factory.mktemp("data")
    pipeline.write_results(demo_results, folder, parquet=False)
    return folder


def _code_cells(notebook: str) -> list[tuple[bool, str]]:
    """(is the parameters cell, source) of each code cell of a report's notebook."""
    cells = json.loads((NOTEBOOKS / notebook).read_text())["cells"]
    return [
        ("parameters" in c["metadata"].get("tags", []), "".join(c["source"]))
        for c in cells
        if c["cell_type"] == "code"
    ]


def _run_report(job: build.Job) -> None:
    """A report's notebook run in this process, as papermill runs it: its parameters cell,
    then the build's parameters, then the other cells."""
    namespace: dict = {}
    for is_parameters, source in _code_cells(job.notebook):
        exec(compile(source, job.notebook, "exec"), namespace)
        if is_parameters:
            namespace.update(job.parameters)


@pytest.fixture(scope="module")
def every_chart(data_dir, monkeypatch_module):
    """Each chart of every report of a demo build (its title with the report), with its text
    printed under 9 pt, and its text cut off at the figure's edges. Charts are recorded where
    the pages put them into HTML."""
    found: dict[str, list[tuple[str, float]]] = {}

    def record(chart: charts.Chart) -> str:
        found[f"{current[0]}: {chart.title}"] = charts.too_small(chart.figure)
        cut[f"{current[0]}: {chart.title}"] = charts.cut_off(chart.figure)
        return ""

    current = [""]
    cut: dict[str, list[str]] = {}
    monkeypatch_module.setattr(charts, "to_html", record)
    for job in build.plan(data_dir):
        if job.kind == "borough" and job.name not in BOROUGHS:
            continue
        current[0] = job.output
        _run_report(job)
    return found, cut


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_every_chart_prints_its_text_at_9_points_or_more(every_chart) -> None:
    sizes_by_chart = every_chart[0]
    assert len(sizes_by_chart) > 100  # every report's charts were seen
    small = {title: sizes for title, sizes in sizes_by_chart.items() if sizes}
    assert not small, "; ".join(f"{t[:70]}: {min(s, key=lambda x: x[1])}" for t, s in small.items())


def test_no_chart_text_runs_off_the_figure(every_chart) -> None:
    """An axis title too long for its axis ("...(percentage p") or a legend past the figure's
    foot would be cut off where the figure ends."""
    cut = {title: texts for title, texts in every_chart[1].items() if texts}
    assert not cut, cut


def test_print_size_constants_are_the_page_templates() -> None:
    """The print scale is worked out from the page template's margins and chart height cap:
    the two must agree, or the 9 pt check would measure the wrong page."""
    css = build.pages.TEMPLATE.read_text()
    assert "@page { size: A4; margin: 14mm 12mm 16mm;" in css
    assert pytest.approx((210 - 24) / 25.4) == charts.PRINT_WIDTH_IN
    assert "figure.chart img { max-height: 225mm;" in css
    assert pytest.approx(225 / 25.4) == charts.PRINT_HEIGHT_IN


def _series(values: list[float], periods: list[str]):
    import pandas as pd

    return pd.DataFrame(
        {
            "period": periods,
            "value": values,
            "lower_ci": [v - 1 for v in values],
            "upper_ci": [v + 1 for v in values],
            "unit": "%",
            "flag": "",
            "unweighted_base": 500,
            "compared_to_london": "not_compared",
        }
    )


def test_trend_alt_text_gives_the_message_and_shape_not_the_table() -> None:
    periods = ["2014", "2015", "2016", "2017", "2018"]
    chart = charts.trend(
        _series([60.0, 61.3, 58.2, 64.7, 63.9], periods),
        title="Agree: 63.9% in 2018, increasing since 2014",
        label="Agree",
        unit="%",
    )
    assert "Agree: 63.9% in 2018, increasing since 2014" in chart.alt  # the message
    assert "from 60.0% in 2014 to 63.9% in 2018" in chart.alt  # the shape
    assert "lowest 58.2% in 2016" in chart.alt and "highest 64.7% in 2017" in chart.alt
    assert "61.3" not in chart.alt  # not every point: the table that follows has them


def test_many_series_are_drawn_as_small_multiples_on_few_pages() -> None:
    periods = [str(y) for y in range(2010, 2019)]
    series = [
        (f"Series {k}", _series([50.0 + k + i for i in range(9)], periods), f"Series {k}: up")
        for k in range(14)
    ]
    made = charts.trends(series)
    # 14 series: two charts of up to 12 panels, each fitting a printed page
    assert len(made) == 2
    assert [len(c.figure.axes) for c in made] == [12, 3]
    for chart in made:
        assert charts.print_scale(chart.figure) == pytest.approx(
            charts.PRINT_WIDTH_IN / charts.WIDTH_IN
        )
        assert not charts.too_small(chart.figure)
        assert "Series" in chart.table.columns
    assert sum(len(c.table) for c in made) == 14 * 9
    assert "Series 3: up." in made[0].alt
    # a few series keep a chart each
    assert len(charts.trends(series[:3])) == 3


def test_svg_is_vector_text_as_paths_and_the_same_every_time() -> None:
    periods = ["2014", "2015", "2016"]
    first, second = (
        charts.trend(_series([1.0, 2.0, 3.0], periods), title="t", label="x", unit="%").svg()
        for _ in range(2)
    )
    assert first == second
    assert b"<text" not in first and b"<dc:date>" not in first


def test_importing_the_charts_changes_no_matplotlib_setting() -> None:
    """A researcher's own plots keep their backend and style: the house style is applied
    only while a chart is made and drawn."""
    import subprocess
    import sys

    code = (
        "import matplotlib as mpl; before = dict(mpl.rcParams); backend = mpl.rcParams._get_backend_or_none();"
        "import analysis.charts, analysis.thematic;"
        "assert mpl.rcParams._get_backend_or_none() == backend, mpl.rcParams._get_backend_or_none();"
        "changed = [k for k in before if before[k] != mpl.rcParams[k]]; assert not changed, changed"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        env={**__import__("os").environ, "MPLBACKEND": ""},
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_small_text_is_found_wherever_it_is_drawn_and_only_there() -> None:
    """The 9 pt check finds small text in the axes, in tick labels and in legends, and leaves
    out what Matplotlib makes but does not draw: the ticks of an axes turned off and tick
    labels outside an axis's limits."""
    # the chart module's own to_html: this module's fixture replaces the package's
    from analysis.charts import chart, printing
    from analysis.charts.house_style import style, subplots

    with style():
        figure, (drawn, off) = subplots(1, 2, figsize=(6, 3))
        drawn.plot([0, 1], [0, 1], label="series")
        drawn.legend(fontsize=6)
        drawn.text(0.5, 0.5, "note", fontsize=5)
        drawn.set_xticks([0, 1, 5], ["a", "b", "beyond"], fontsize=7)
        drawn.set_xlim(0, 1)
        off.set_xticks([0, 1], ["hidden", "too"], fontsize=4)
        off.set_axis_off()
    small = dict(printing.too_small(figure))
    assert set(small) == {"series", "note", "a", "b"}
    assert small["note"] == pytest.approx(5 * printing.print_scale(figure), abs=0.01)
    with pytest.raises(ValueError, match="under 9 pt"):
        chart.to_html(charts.Chart(figure, "A chart with small text", "alt", None))
