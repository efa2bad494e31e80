"""Report pages in-process: sentences follow the tests, every chart has its table and alt text."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import charts, narrative, pipeline, report


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, demo_results):
    folder = tmp_path_factory.mktemp("data")
    pipeline.write_results(demo_results, folder, parquet=False)
    return folder


def test_sentences_claim_only_what_the_tests_support() -> None:
    base = {"previous_period": "2017", "previous_value": 50.0, "unit": "%", "change": 2.0}
    assert "significant increase" in narrative.change_phrase(pd.Series({**base, "direction": "increased"}))
    flat = narrative.change_phrase(pd.Series({**base, "direction": "no significant change"}))
    assert "not significantly different" in flat and "increase" not in flat
    untested = narrative.change_phrase(pd.Series({**base, "direction": "not_compared"}))
    assert "not tested" in untested
    assert narrative.comparison_phrase("higher", "down") == "significantly higher than London (worse)"
    assert narrative.comparison_phrase("similar", "up") == "similar to London"
    row = pd.Series({"value": 12.0, "lower_ci": float("nan"), "upper_ci": float("nan"), "unit": "%", "period": "2016",
                     "flag": ""})
    assert "no confidence interval" in narrative.headline("X", row, None)


def test_measure_page_sections(data_dir) -> None:
    page = report.MeasurePage("get_on_well", data_dir)
    sections = [page.header(), page.headline(), page.trends(), page.groups(), page.boroughs(), page.inner_outer(),
                page.about()]
    html = "".join(s.html for s in sections)
    assert "Synthetic demonstration data: every figure on this page" in html
    made = [c for s in sections for c in s.charts]
    assert len(made) >= 4
    for chart in made:
        assert chart.title and len(chart.alt) > 20
    assert sum(c.table is not None for c in made) >= len(made) - 1  # the map shares the ranked chart's table
    assert html.count("<caption>") >= len(made) - 1


def test_borough_page_for_the_city_explains_small_numbers(data_dir) -> None:
    page = report.BoroughPage("City", data_dir)
    summary = page.summary().html
    assert "City of London has around 8,000 residents" in summary
    assert "cannot be shown" in summary
    rows = page.summary_rows
    assert (rows["verdict"].isin(["better", "worse", "similar", "not_compared"])).all()
    spine = page.spine().charts[0]
    assert len(spine.table) == len(rows)


def test_measure_without_data_says_so(tmp_path, demo_results) -> None:
    only_admin = demo_results.estimates[~demo_results.estimates.measure_id.eq("volunteering")]
    pipeline.write_results(pipeline.Results(only_admin, demo_results.detail, demo_results.changes), tmp_path,
                           parquet=False)
    page = report.MeasurePage("volunteering", tmp_path)
    assert "this build has no source for this measure" in page.header().html
    assert page.trends().html == "" and page.boroughs().html == ""


def test_verdict_uses_polarity() -> None:
    assert charts.verdict_against_london("higher", "up") == "better"
    assert charts.verdict_against_london("higher", "down") == "worse"
    assert charts.verdict_against_london("lower", "down") == "better"
