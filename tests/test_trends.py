"""Recent trends (analysis.trends): the weighted slope test against R's metafor, and which
points of a series are compared (never across a break, pooled periods, gaps or blanks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rcheck import rerun_reference

from analysis import compare, geography, pipeline, trends

FIXTURES = Path(__file__).parent / "fixtures" / "r_trends"
TOL = 1e-6


def _check_against(expected: pd.DataFrame) -> None:
    series = pd.read_csv(FIXTURES / "series.csv")
    assert len(expected) == series["series"].nunique() == 5
    for row in expected.itertuples():
        s = series[series["series"] == row.series]
        slope, slope_se, p = trends.slope_test(s["year"], s["value"], s["se"])
        assert len(s) == row.points
        assert slope == pytest.approx(row.slope, abs=TOL)
        assert slope_se == pytest.approx(row.slope_se, abs=TOL)
        assert p == pytest.approx(row.p_value, abs=TOL, rel=TOL)


def test_slope_test_matches_committed_r_values() -> None:
    _check_against(pd.read_csv(FIXTURES / "expected.csv"))


def test_slope_test_matches_r_live(tmp_path) -> None:
    fresh = rerun_reference(FIXTURES, tmp_path, ["series.csv", "counts.csv"], ["metafor"])
    _check_against(pd.read_csv(fresh / "expected.csv"))
    committed = pd.read_csv(FIXTURES / "expected_chisq_trend.csv")
    assert pd.read_csv(fresh / "expected_chisq_trend.csv")["p_value"].to_numpy() == pytest.approx(
        committed["p_value"].to_numpy(), rel=TOL
    )


def test_slope_test_with_binomial_errors_agrees_with_the_chi_squared_test_for_trend() -> None:
    """Fingertips tests proportions with the chi-squared test for trend on counts (R's
    prop.trend.test); the weighted slope with binomial standard errors gives nearly the same
    p-values (here within 0.0001, or 10% of the p-value), which is why it stands in for it."""
    counts = pd.read_csv(FIXTURES / "counts.csv")
    expected = pd.read_csv(FIXTURES / "expected_chisq_trend.csv").set_index("series")["p_value"]
    for name, s in counts.groupby("series", sort=False):
        p = 100 * s["count"] / s["denominator"]
        se = np.sqrt(p * (100 - p) / s["denominator"])
        assert trends.slope_test(s["year"], p, se)[2] == pytest.approx(
            expected[name], rel=0.1, abs=1e-4
        )


def test_slope_test_by_hand_equal_errors_is_ordinary_least_squares() -> None:
    years = np.array([2014, 2015, 2016, 2017, 2018])
    values = np.array([10.0, 10.5, 10.7, 11.6, 12.0])
    slope, slope_se, p = trends.slope_test(years, values, np.full(5, 0.5))
    # OLS slope: sum((x - 2016) * y) / 10 = (-20 - 10.5 + 0 + 11.6 + 24) / 10
    assert slope == pytest.approx(0.51)
    assert slope_se == pytest.approx(0.5 / np.sqrt(10))
    z = 0.51 / (0.5 / np.sqrt(10))
    assert p == pytest.approx(2 * (1 - 0.5 * (1 + __import__("math").erf(z / np.sqrt(2)))))


def _detail(
    periods,
    values,
    se,
    measure="m",
    indicator="i",
    area=geography.LONDON_CODE,
    breakdown="all",
    group="all",
):
    n = len(periods)
    return pd.DataFrame(
        {
            "measure_id": measure,
            "indicator": indicator,
            "area_code": area,
            "breakdown": breakdown,
            "group": group,
            "period": [str(p) for p in periods],
            "value": np.asarray(values, float),
            "se": np.asarray(se, float) if np.ndim(se) else np.full(n, float(se)),
            "flag": "",
            "unit": "%",
            "polarity": "up",
        }
    )


def test_output_has_exactly_the_published_columns() -> None:
    out = trends.trends(_detail(range(2014, 2019), [1, 2, 3, 4, 5], 0.5))
    assert list(out.columns) == [
        "measure_id",
        "indicator",
        "area_code",
        "breakdown",
        "group",
        "from_period",
        "to_period",
        "points",
        "direction",
        "p_value",
        "method",
    ]


def test_five_point_rise_is_found_where_each_yearly_change_is_not_significant() -> None:
    # the example: employment 72.3% (71.6-73.0) in 2014 to 74.7% (74.1-75.4) in 2018
    detail = _detail(range(2014, 2019), [72.3, 72.9, 73.5, 74.1, 74.7], 0.35)
    ch = compare.changes(detail)
    assert (ch["direction"] == "no significant change").all()
    row = trends.trends(detail).iloc[0]
    assert (row.direction, row.from_period, row["to_period"], row.points) == (
        "increasing",
        "2014",
        "2018",
        5,
    )
    assert row.p_value < 1e-6 and row.method == trends.METHOD


def test_only_the_last_five_points_are_used() -> None:
    values = [90.0, 80.0, 50.0, 50.2, 49.8, 50.1, 50.0]  # the early fall is not recent
    row = trends.trends(_detail(range(2012, 2019), values, 0.5)).iloc[0]
    assert (row.from_period, row.points, row.direction) == ("2014", 5, "no significant trend")
    expected = trends.slope_test(np.arange(2014, 2019), values[2:], np.full(5, 0.5))[2]
    assert row.p_value == pytest.approx(expected)


def test_never_across_a_series_break() -> None:
    # GCSE: breaks in 2016 and 2017 leave 2017-2018, two points: not tested
    detail = _detail(range(2014, 2019), [50, 55, 60, 65, 70], 0.2, measure="gcse_attainment")
    row = trends.trends(detail, {"gcse_attainment": {"2016", "2017"}}).iloc[0]
    assert (row.direction, row.from_period, row.points) == ("not tested", "2017", 2)
    assert np.isnan(row.p_value) and "series break in 2017" in row.method
    # a break in 2016 with points to 2020: the trend starts at 2016, whatever came before
    detail = _detail(
        range(2013, 2021), [10, 20, 30, 50, 50.1, 49.9, 50.0, 50.1], 0.3, measure="gcse_attainment"
    )
    row = trends.trends(detail, {"gcse_attainment": {"2016"}}).iloc[0]
    assert (row.from_period, row["to_period"], row.points, row.direction) == (
        "2016",
        "2020",
        5,
        "no significant trend",
    )


def test_pooled_periods_are_neither_mixed_in_nor_tested() -> None:
    singles = _detail(range(2014, 2019), [1.0, 1.1, 1.2, 1.3, 1.4], 0.01)
    pooled = _detail(["2014-2016", "2015-2017", "2016-2018"], [9.0, 5.0, 1.0], 0.01)
    row = trends.trends(pd.concat([singles, pooled])).iloc[0]
    assert (row.from_period, row.points, row.direction) == ("2014", 5, "increasing")
    only_pooled = trends.trends(
        _detail(["2014-2016", "2015-2017", "2016-2018"], [9.0, 5.0, 1.0], 0.01, area="E09000007")
    ).iloc[0]
    assert only_pooled.direction == "not tested" and "pooled" in only_pooled.method
    assert (only_pooled.from_period, only_pooled["to_period"]) == ("2014-2016", "2016-2018")


@pytest.mark.parametrize(
    "periods, values, se, points, reason",
    [
        ([2014, 2015, 2017, 2018], [1, 2, 3, 4], 0.1, 2, "not consecutive"),  # a missing year
        (
            ["2015", "2016", "2016/17", "2017/18"],
            [1, 2, 3, 4],
            0.1,
            2,
            "not consecutive",
        ),  # labels of two kinds
        (
            [2014, 2015, 2016, 2017, 2018],
            [1, 2, np.nan, 4, 5],
            0.1,
            2,
            "no figure for 2016",
        ),  # suppressed inside
        (
            [2014, 2015, 2016, 2017, 2018],
            [1, 2, 3, 4, np.nan],
            0.1,
            0,
            "latest figure (2018)",
        ),  # suppressed latest
        ([2014, 2015, 2016], [1, 2, 3], np.nan, 0, "no standard error"),  # published values
        ([2017, 2018], [1, 2], 0.1, 2, "only 2 periods"),
    ],
)
def test_too_few_comparable_points_are_not_tested_with_the_reason(
    periods, values, se, points, reason
) -> None:
    row = trends.trends(_detail(periods, values, se)).iloc[0]
    assert row.direction == "not tested" and np.isnan(row.p_value)
    assert row.points == points and reason in row.method, row.method


def test_three_points_are_enough_and_each_series_is_separate() -> None:
    a = _detail([2016, 2017, 2018], [8.75, 8.79, 8.86], [0.0213, 0.0209, 0.0218])
    b = _detail([2016, 2017, 2018], [3.0, 2.0, 1.0], 0.1, group="Female", breakdown="sex")
    out = trends.trends(pd.concat([a, b]))
    assert list(out["group"]) == ["all", "Female"]  # the order of the estimates table
    assert list(out["direction"]) == ["increasing", "decreasing"]
    expected = (
        pd.read_csv(FIXTURES / "expected.csv").set_index("series").loc["three_points", "p_value"]
    )
    assert out["p_value"].iloc[0] == pytest.approx(expected, rel=TOL)


def test_better_or_worse_comes_from_the_polarity_of_the_row() -> None:
    assert compare.direction_verdict("increasing", "up") == "better"
    assert compare.direction_verdict("increasing", "down") == "worse"
    assert compare.direction_verdict("decreased", "down") == "better"
    assert compare.direction_verdict("decreasing", "neutral") == "not_judged"
    assert compare.direction_verdict("no significant trend", "up") == "no significant trend"


def test_demo_build_writes_trends(tmp_path, demo_results) -> None:
    paths = pipeline.write_results(demo_results, tmp_path, parquet=False)
    written = pd.read_csv(paths["trends"], dtype={"from_period": str, "to_period": str})
    assert list(written.columns) == trends.COLUMNS
    london = written[
        (written.area_code == geography.LONDON_CODE) & (written.breakdown == "all")
    ].set_index("indicator")
    assert london.loc["employment_rate", "direction"] == "increasing"
    assert (
        london.loc["employment_rate", "from_period"] == "2014"
        and london.loc["employment_rate", "points"] == 5
    )
    gcse = written[written.measure_id == "gcse_attainment"]
    assert (gcse["direction"] == "not tested").all() and (gcse["from_period"] >= "2017").all()
    # every series of the estimates has exactly one row
    direct = demo_results.estimates[
        demo_results.estimates["method"] == "direct"
    ]  # modelled figures get no trend
    keys = direct[compare.KEY].drop_duplicates()
    assert len(written) == len(keys)
    tested = written[written.p_value.notna()]
    assert tested["direction"].isin(["increasing", "decreasing", "no significant trend"]).all()
    assert (tested["points"] >= trends.MIN_POINTS).all() and (
        written["points"] <= trends.MAX_POINTS
    ).all()


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory, demo_results):
    out = tmp_path_factory.mktemp("trend_pages")
    pipeline.write_results(demo_results, out, parquet=False)
    return out


def test_measure_pages_say_every_significant_london_trend(demo_dir) -> None:
    from analysis import measures, report

    written = pd.read_csv(demo_dir / "trends.csv", dtype={"from_period": str, "to_period": str})
    london = written[written.area_code == geography.LONDON_CODE].set_index(
        ["indicator", "breakdown", "group"]
    )
    checked = 0
    for m in measures.registry():
        page = report.MeasurePage(m.id, demo_dir)
        headline = page.headline().html
        for indicator, label in page.indicators():
            row = page._london(indicator).sort_values("period").iloc[-1]
            trend = london.loc[(indicator, row["breakdown"], row["group"])]
            if trend["direction"] in ("increasing", "decreasing"):
                assert (
                    f"{trend['direction']} since {trend['from_period']} ({trend['points']} points"
                    in headline
                )
                checked += 1
            elif trend["direction"] == "not tested":
                assert "Recent trend" not in headline.split(label, 1)[1].split("</li>")[0]
    assert checked >= 5


def test_chart_title_does_not_hide_a_significant_trend(demo_dir) -> None:
    from analysis import report

    made = report.MeasurePage("employment_gap", demo_dir).trends().charts
    # one chart per series, or small multiples with each panel's message under the chart
    titles = [c.title for c in made] + [note for c in made for note in c.notes]
    rate = next(t for t in titles if t.startswith("Employment rate"))
    # the example: once titled only "no significant change since 2017"
    assert (
        "increasing since 2014 (5 points, p < 0.001), better; no significant change since 2017"
        in rate
    )


def test_borough_page_lists_its_significant_trends(demo_dir) -> None:
    from analysis import report

    written = pd.read_csv(demo_dir / "trends.csv")
    trending = written[
        written.area_code.str.startswith("E09")
        & (written.breakdown == "all")
        & written.direction.isin(["increasing", "decreasing"])
    ]
    page = report.BoroughPage(trending["area_code"].value_counts().index[0], demo_dir)
    summary = page.summary().html
    table = page._indicator_table()
    significant = [
        t
        for t in page.summary_rows["trend"]
        if t is not None and t["direction"] in ("increasing", "decreasing")
    ]
    assert significant
    for t in significant:
        assert f"{t['direction']} since {t['from_period']}" in summary
    assert table["Recent trend"].str.contains("since 2014").any()
    assert (
        table["Recent trend"][page.summary_rows["polarity"] == "neutral"].str.contains(
            "better|worse"
        )
    ).sum() == 0


def test_london_page_gives_each_significant_trend(demo_dir) -> None:
    from analysis import report

    written = pd.read_csv(demo_dir / "trends.csv", dtype={"from_period": str})
    row = written[
        (written.indicator == "digital_exclusion")
        & (written.area_code == geography.LONDON_CODE)
        & (written.breakdown == "all")
    ].iloc[0]
    assert row["direction"] == "decreasing"
    equality = report.LondonPage(demo_dir).domain("equality")
    # each figure once: the trend is in the domain's table (the bullets repeating it are gone)
    assert f"<td>decreasing since {row['from_period']} (5 points" in equality.html
    assert "<th scope='col'>Recent trend</th>" in equality.html.split("<table")[-1]


def test_no_trend_title_hides_a_significant_trend(demo_dir) -> None:
    from analysis import measures, narrative, report

    seen = 0
    for m in measures.registry():
        page = report.MeasurePage(m.id, demo_dir)
        for indicator, label in page.indicators():
            latest = page._london(indicator).sort_values("period").iloc[-1]
            args = (
                indicator,
                geography.LONDON_CODE,
                latest["period"],
                latest["breakdown"],
                latest["group"],
            )
            trend, change = page.data.trend(*args), page.data.change(*args)
            title = narrative.trend_title(label, latest, change, trend)
            if trend is not None and trend["direction"] in ("increasing", "decreasing"):
                assert f"{trend['direction']} since {trend['from_period']}" in title
                seen += 1
            else:
                assert "increasing" not in title and "decreasing" not in title
    assert seen >= 5


@pytest.mark.parametrize(
    "method, cell",
    [
        (
            "not tested: pooled periods share survey waves, so they are not independent points",
            "not tested (pooled periods)",
        ),
        (
            "not tested: 2 comparable points (series break in 2017); at least 3 needed",
            "not tested (series break in 2017)",
        ),
        (
            "not tested: 1 comparable point (series break in 2016/17); at least 3 needed",
            "not tested (series break in 2016/17)",
        ),
        (
            "not tested: no standard error (e.g. a published value without an interval)",
            "not tested (no interval)",
        ),
        (
            "not tested: the latest figure (2018) is suppressed or not available",
            "not tested (latest figure not published)",
        ),
        (
            "not tested: 2 comparable points (only 2 periods in the series); at least 3 needed",
            "not tested (too few comparable points)",
        ),
    ],
)
def test_table_cell_gives_the_reason_a_trend_was_not_tested(method, cell) -> None:
    from analysis import narrative

    row = pd.Series(
        {
            "direction": "not tested",
            "method": method,
            "points": 2,
            "from_period": "2017",
            "p_value": np.nan,
        }
    )
    assert narrative.trend_cell(row, "up") == cell
    assert narrative.trend_cell(None, "up") == "not tested"


def test_trend_chart_is_not_joined_across_a_series_break(demo_dir) -> None:
    from analysis import report

    chart = report.MeasurePage("gcse_attainment", demo_dir).trends().charts[0]
    ax = chart.figure.axes[0]
    lines = [ln for ln in ax.get_lines() if len(ln.get_xdata()) and ln.get_marker() == "o"]
    # 2014-2015, 2016 alone, 2017-2018: three pieces, none spanning a break
    assert sorted(len(ln.get_xdata()) for ln in lines) == [1, 2, 2]
    assert "not joined across the series breaks" in chart.alt and "2016 and 2017" in chart.alt
    unbroken = report.MeasurePage("volunteering", demo_dir).trends().charts[0]
    ax = unbroken.figure.axes[0]
    assert [len(ln.get_xdata()) for ln in ax.get_lines() if ln.get_marker() == "o"] == [5]


def test_real_pages_follow_trends_csv(real_data, tmp_path) -> None:
    """On the published files: GCSE is never tested across its breaks, and the measure pages'
    headlines say every significant London trend that trends.csv holds."""
    from analysis import measures, report
    from analysis.sources import real

    pipeline.write_results(pipeline.compute(real.real_inputs(real_data)), tmp_path, parquet=False)
    written = pd.read_csv(tmp_path / "trends.csv", dtype={"from_period": str, "to_period": str})
    gcse = written[written.measure_id == "gcse_attainment"]
    breaks = sorted(measures.get("gcse_attainment").series_breaks)
    for row in gcse.itertuples():  # no tested run contains a break after its first period
        assert (
            not any(row.from_period < b <= row.to_period for b in breaks)
            or row.direction == "not tested"
        )
    london = written[
        (written.area_code == geography.LONDON_CODE)
        & written.direction.isin(["increasing", "decreasing"])
    ]
    assert len(london)
    checked = 0
    for m_id in london["measure_id"].unique():
        headline = report.MeasurePage(m_id, tmp_path).headline().html
        for row in london[london.measure_id == m_id].itertuples():
            if row.breakdown == "all":
                assert f"{row.direction} since {row.from_period} ({row.points} points" in headline
                checked += 1
    assert checked >= 1
