"""Report pages in-process: sentences follow the tests, every chart has its table and alt text."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import charts, narrative, pipeline, report, series


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, demo_results):
    folder = tmp_path_factory.mktemp("data")
    pipeline.write_results(demo_results, folder, parquet=False)
    return folder


def test_sentences_claim_only_what_the_tests_support() -> None:
    base = {"previous_period": "2017", "previous_value": 50.0, "unit": "%", "change": 2.0}
    assert "significant increase" in narrative.change_phrase(
        pd.Series({**base, "direction": "increased"})
    )
    flat = narrative.change_phrase(pd.Series({**base, "direction": "no significant change"}))
    assert "not significantly different" in flat and "increase" not in flat
    untested = narrative.change_phrase(pd.Series({**base, "direction": "not_compared"}))
    assert "not tested" in untested
    assert (
        narrative.comparison_phrase("higher", "down") == "significantly higher than London (worse)"
    )
    assert narrative.comparison_phrase("similar", "up") == "similar to London"
    assert narrative.comparison_phrase("higher", "neutral") == "significantly higher than London"
    assert (
        narrative.comparison_phrase("lower", "up", population_group=True)
        == "significantly lower than London"
    )
    row = pd.Series(
        {
            "value": 12.0,
            "lower_ci": float("nan"),
            "upper_ci": float("nan"),
            "unit": "%",
            "period": "2016",
            "flag": "",
        }
    )
    assert "no confidence interval" in narrative.headline("X", row, None)


def test_measure_page_sections(data_dir) -> None:
    page = report.MeasurePage("get_on_well", data_dir)
    sections = [
        page.header(),
        page.headline(),
        page.trends(),
        page.groups(),
        page.boroughs(),
        page.inner_outer(),
        page.about(),
    ]
    html = "".join(s.html for s in sections)
    assert "Synthetic demonstration data: every figure on this page" in html
    made = [c for s in sections for c in s.charts]
    assert len(made) >= 4
    for chart in made:
        assert chart.title and len(chart.alt) > 20
    assert (
        sum(c.table is not None for c in made) >= len(made) - 1
    )  # the map shares the ranked chart's table
    assert html.count("<caption ") >= len(made) - 1


def test_borough_page_for_the_city_explains_small_numbers(data_dir) -> None:
    page = report.BoroughPage("City", data_dir)
    summary = page.summary().html
    # the City's population comes from the data (the churn denominator), never a remembered figure
    period, residents = series.population(page.data.estimates, "E09000001")
    assert f"City of London had {residents:,.0f} residents in {period}" in summary
    assert "8,000" not in summary
    # each figure that is not compared says why, with its own reason
    assert (
        "suppressed: fewer than 50 respondents" in summary
        and "not covered by the source" in summary
    )
    rows = page.summary_rows
    judged = rows["polarity"] != "neutral"
    assert (rows.loc[judged, "verdict"].isin(["better", "worse", "similar", "not_compared"])).all()
    assert (rows.loc[~judged, "verdict"].isin(["higher", "lower", "similar", "not_compared"])).all()
    spine = page.spine().charts[0]
    # the City's short page: the table holds the figures that exist
    assert len(spine.table) == int(rows["value"].notna().sum()) < len(rows)


def test_measure_without_data_says_so(tmp_path, demo_results) -> None:
    only_admin = demo_results.estimates[~demo_results.estimates.measure_id.eq("volunteering")]
    pipeline.write_results(
        pipeline.Results(only_admin, demo_results.detail, demo_results.changes),
        tmp_path,
        parquet=False,
    )
    page = report.MeasurePage("volunteering", tmp_path)
    assert "this build has no source for this measure" in page.header().html
    assert page.trends().html == "" and page.boroughs().html == ""


def test_verdict_uses_polarity() -> None:
    assert charts.verdict_against_london("higher", "up") == "better"
    assert charts.verdict_against_london("higher", "down") == "worse"
    assert charts.verdict_against_london("lower", "down") == "better"
    assert charts.verdict_against_london("higher", "neutral") == "higher"  # no better or worse end
    assert charts.verdict_against_london("higher", "up", population_group=True) == "higher"


def test_maps_fill_polygons_with_holes_and_several_parts() -> None:
    """An area with a hole (as a shapefile can have) leaves the hole unfilled; every part of a
    multipart area is drawn."""
    import io

    import geopandas as gpd
    import numpy as np
    from PIL import Image
    from shapely.geometry import MultiPolygon, Polygon

    ring = Polygon([(0, 0), (10, 0), (10, 10), (0, 10)], holes=[[(4, 4), (6, 4), (6, 6), (4, 6)]])
    islands = MultiPolygon(
        [
            Polygon([(12, 0), (14, 0), (14, 2), (12, 2)]),
            Polygon([(12, 8), (14, 8), (14, 10), (12, 10)]),
        ]
    )
    shapes = gpd.GeoDataFrame(
        {"code": ["A", "B"], "inner_outer": ["Inner", "Outer"]},
        geometry=[ring, islands],
        crs="EPSG:27700",
    )
    chart = charts.locator(shapes, "A", "Area A")
    ax = chart.figure.axes[0]
    ax.figure.canvas.draw()
    image = np.asarray(Image.open(io.BytesIO(chart.png())).convert("RGB")).astype(int)

    def pixel(x: float, y: float) -> np.ndarray:
        px, py = ax.transData.transform((x, y))
        return image[image.shape[0] - int(round(py)), int(round(px))]

    highlight = np.array([int(charts.DARK_BLUE[i : i + 2], 16) for i in (1, 3, 5)])
    assert np.abs(pixel(2, 2) - highlight).max() < 10  # inside the ring: the highlight colour
    assert (pixel(5, 5) > 240).all()  # the hole: background
    assert np.abs(pixel(13, 1) - highlight).max() > 50 and (pixel(13, 1) < 250).any()  # grey island
    assert (pixel(13, 9) < 250).any()  # the second island is drawn too


def test_spine_title_is_a_message_from_the_tests() -> None:
    import pandas as pd

    from analysis.report import spine_title

    verdicts = pd.Series(["better"] * 4 + ["worse"] * 3 + ["similar"] * 9 + ["not_compared"])
    assert (
        spine_title("Camden", verdicts)
        == "Camden is significantly better than London on 4 and worse on 3 of 17 indicators"
    )
    assert (
        spine_title("Camden", pd.Series(["worse", "similar"]))
        == "Camden is significantly worse than London on 1 of 2 indicators"
    )
    assert "not significantly better or worse" in spine_title(
        "City of London", pd.Series(["similar", "not_compared"])
    )


def test_group_chart_has_a_heading_per_breakdown_and_every_group(demo_results) -> None:
    rows = demo_results.estimates.query(
        "indicator == 'volunteering' and area_code == 'E12000007' and period == '2018/19' and breakdown != 'all'"
    )
    blocks = [(b, rows[rows.breakdown == b]) for b in ("age_band", "sex")]
    chart = charts.group_panels(blocks, title="t", london=27.0, unit="%", polarity="up")
    ax = chart.figure.axes[0]
    labels = [t.get_text() for t in ax.texts]  # row labels are texts beside the axes, not ticks
    bold = [t.get_text() for t in ax.texts if t.get_fontweight() == "bold"]
    assert bold == ["age_band", "sex"]
    assert len(labels) == 2 + len(blocks[0][1]) + len(blocks[1][1])
    assert len(chart.table) == len(blocks[0][1]) + len(blocks[1][1])
    assert chart.png()[:4] == b"\x89PNG"


def test_row_labels_fit_inside_the_chart(demo_results) -> None:
    """Row labels sit where y tick labels would and the layout keeps every one of them, the
    longest included, inside the figure (a long group name used to be cut at the left)."""
    rows = demo_results.estimates.query(
        "indicator == 'get_on_well' and area_code == 'E12000007' and period == '2018/19' and breakdown != 'all'"
    )
    blocks = [(b, rows[rows.breakdown == b]) for b in ("ethnic_group", "sex")]
    chart = charts.group_panels(blocks, title="t", london=90.0, unit="%", polarity="up")
    figure, ax = chart.figure, chart.figure.axes[0]
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
    assert "Pakistani/Bangladeshi" in [t.get_text() for t in ax.texts]
    assert min(b.x0 for b in boxes) >= 0
    assert max(b.x1 for b in boxes) < ax.get_window_extent(renderer).x0  # left of the plotting area
    assert not ax.get_yticks().size


def test_change_lookup_matches_a_filter_of_the_changes_table(data_dir) -> None:
    data = report.load(data_dir)
    changes = data.changes
    for _, row in changes.sample(25, random_state=1).iterrows():
        found = data.change(
            row["indicator"], row["area_code"], row["period"], row["breakdown"], row["group"]
        )
        hit = changes[
            (changes.indicator == row["indicator"])
            & (changes.area_code == row["area_code"])
            & (changes.period == row["period"])
            & (changes.breakdown == row["breakdown"])
            & (changes.group == row["group"])
        ].iloc[0]
        pd.testing.assert_series_equal(found, hit)
    assert data.change("no_such_indicator", "E12000007", "2018") is None


def test_plain_text_forms_are_short(data_dir) -> None:
    """Notebooks store the plain-text form beside each output's HTML: it must not repeat it."""
    section = report.MeasurePage("get_on_well", data_dir).trends()
    assert section.charts and len(repr(section)) < 100 and len(repr(section.charts[0])) < 200
    assert "<img" not in repr(section)


def test_table_key_lists_only_the_shorthand_used() -> None:
    from analysis import tables

    table = pd.DataFrame(
        {
            "Area": ["Camden", "City of London"],
            "Value (%)": ["12.0 [u]", "[c]"],
            "Base": ["95", "12"],
        }
    )
    html = tables.to_html(table, caption="Test")
    assert (
        "<code>[u]</code>" in html and "<code>[c]</code>" in html and "<code>[x]</code>" not in html
    )
    assert "<th scope='row'>City of London</th><td>[c]</td><td>12</td>" in html
    assert "<ul class='shorthand'>" not in tables.to_html(table.iloc[:0], caption="Empty")


def test_table_column_widths_follow_their_contents() -> None:
    """Stated widths (for the PDF's one-pass table layout) add up to the table, give every
    column room for its widest word and the long-text columns the most room."""
    from analysis import tables

    headers = ["Indicator", "Period", "Value (%)", "Compared with London"]
    columns = [
        ["Employment gap: White minus Pakistani/Bangladeshi", "Hate crimes per 1,000 residents"],
        ["2016-2018", "2018/19"],
        ["16.2 [u]", "55.8"],
        ["significantly lower than London (better)", "similar"],
    ]
    widths = tables.column_widths(headers, columns)
    assert sum(widths) == 100 and len(widths) == 4
    assert widths[0] > widths[2] and widths[3] > widths[1]
    # room for the widest word that cannot break ('2016-2018'), on a line of 60 ems
    assert widths[1] / 100 * 60 >= tables.text_width("2016-2018")
    assert tables._BREAKS.split("2016-2018 Pakistani/Bangladeshi") == [
        "2016-2018",
        "Pakistani/",
        "Bangladeshi",
    ]
    html = tables.to_html(pd.DataFrame(dict(zip(headers, columns))), caption="Test")
    assert html.count("<col style='width:") == 4 and "class='sized'" in html
    assert tables.text_width("mm", bold=True) > tables.text_width("ii", bold=True)
