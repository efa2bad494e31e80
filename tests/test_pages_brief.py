"""Pages that brief (issue 14): key messages with their numbers first, every indicator linked to
its measure's page, the City's short page, the London page's messages and links.

In-process checks of the page sections on the demo; the built pages are checked in
``tests/test_claims_pages.py`` and the real ones in ``tests/test_real_pages.py``.
"""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from analysis import geography, measures, narrative, pipeline, report, rules, series

CITY = "E09000001"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, demo_results):
    folder = tmp_path_factory.mktemp("brief")
    pipeline.write_results(demo_results, folder, parquet=False)
    return folder


def _items(section_html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", i) for i in re.findall(r"<li>(.*?)</li>", section_html, re.S)]


def test_trend_markers_follow_the_rulebook() -> None:
    assert rules.trend_marker("increasing", "up") == "↑ better"
    assert rules.trend_marker("increasing", "down") == "↑ worse"
    assert rules.trend_marker("decreasing", "down") == "↓ better"
    assert rules.trend_marker("decreasing", "neutral") == "↓"  # context: never judged
    assert rules.trend_marker("no significant trend", "up") == "→"
    assert rules.trend_marker("not tested: 2 comparable points", "up") == "–"
    assert rules.trend_marker(None, "up") == "–"
    assert narrative.marker_counts(["↑ better", "→", "→", "–"]) == (
        "1 increasing (better), 2 no significant trend, 1 not tested"
    )


def test_domain_titles_say_what_the_change_tests_found() -> None:
    def change(direction: str, assessment: str) -> pd.Series:
        return pd.Series(
            {
                "direction": direction,
                "assessment": assessment,
                "change": 1.0,
                "previous_period": "2017",
            }
        )

    flat = [change("no significant change", "no significant change")] * 2
    assert narrative.domain_title("equality", "higher is better", flat, True) == (
        "Equality (higher is better): no significant change since the previous period in any 2 "
        "tested figures"
    )
    moved = [change("decreased", "better"), change("increased", "worse"), None]
    assert narrative.domain_title("equality", "lower is better", moved, True) == (
        "Equality (lower is better): of 2 tested figures, 1 improved and 1 worsened "
        "significantly since the previous period (1 not tested)"
    )
    context = [change("increased", "not_judged")]
    title = narrative.domain_title("context", "context", context, False)
    assert title.startswith("Context: ") and "1 increased" in title
    assert not re.search(r"better|worse|improved|worsened", title)


@pytest.mark.parametrize("borough", ["Camden", "Kensington and Chelsea", "Barking and Dagenham"])
def test_borough_key_messages_carry_their_numbers_and_the_tally(data_dir, borough) -> None:
    page = report.BoroughPage(borough, data_dir)
    section = page.summary()
    assert section.html.startswith("<h2>Key messages</h2>")
    items = _items(section.html)
    assert 3 <= len(items) <= 5
    assert all(re.search(r"\d", i) for i in items), items
    t = page.tally()
    rows = page.summary_rows
    # each indicator named better or worse is so in the estimates, with its own and London's figure
    for label in t.better + t.worse:
        row = rows[rows["label"] == label].iloc[0]
        assert narrative.against_london(row) in section.html
        assert rules.row_verdict(row) in ("better", "worse")
    assert f"better than London on {len(t.better)} of {t.judged} indicators" in items[0]
    # the page's last message says what is unavailable and why, in one sentence
    assert items[-1].count(". ") == 0 and items[-1].endswith(".")
    plt.close("all")


def test_every_indicator_in_the_borough_table_links_its_measure_page(data_dir) -> None:
    page = report.BoroughPage("Camden", data_dir)
    section = page.spine()
    html = section.html
    labels = {label: m.id for m, _, label in report.headline_indicators()}
    linked = re.findall(r"<th scope='row'><a href=\"([^\"]+)\">([^<]+)</a></th>", html)
    assert len(linked) == 2 * len(page.summary_rows)  # the indicator table and the sources
    for href, label in linked:
        assert href == f"../measures/{labels[label.replace('&#39;', chr(39))]}.html"
    table = section.charts[0].table
    assert {"Inner London", "Recent trend"} <= set(table.columns)
    sources = page._sources_table()
    assert {"Base", "Source"} <= set(sources.columns) and len(sources) == len(page.summary_rows)
    assert sources["Source"].str.len().gt(0).all() and sources["Base"].str.len().gt(0).any()
    # the borough's own half of London, from the estimates, beside it
    e = page.data.estimates
    row = page.summary_rows[page.summary_rows["indicator"] == "get_on_well"].iloc[0]
    inner = e[
        (e.indicator == "get_on_well")
        & (e.area_code == geography.INNER_LONDON_CODE)
        & (e.period == row["period"])
        & (e.breakdown == "all")
    ]["value"].iloc[0]
    assert row["half"] == inner
    # a marker per row of the spine, and the alt text counts them
    chart = section.charts[0]
    assert "Recent trends: " in chart.alt
    texts = [t.get_text() for t in chart.figure.axes[0].texts]
    assert "Trend" in texts
    plt.close("all")


def test_the_hate_crime_caveat_is_shown_where_its_row_is(data_dir) -> None:
    westminster = report.BoroughPage("Westminster", data_dir)
    assert "visitors, commuters and workers" in westminster.spine().html
    city = report.BoroughPage("City", data_dir)  # not covered by the Metropolitan Police
    assert "hate_crime" in set(city.summary_rows["measure_id"])
    assert "visitors, commuters and workers" not in city.spine().html


def test_the_city_page_shows_only_figures_that_exist(data_dir) -> None:
    page = report.BoroughPage("City", data_dir)
    assert page.is_city
    items = _items(page.summary().html)
    why = items[0]
    period, residents = series.population(page.data.estimates, CITY)
    assert why.startswith(f"The City of London had {residents:,.0f} residents in {period}")
    assert why.count(". ") == 0  # one plain sentence
    gone = int(page.summary_rows["value"].isna().sum())
    assert f"{gone} of the figures the other boroughs have do not exist" in why
    spine = page.spine().charts[0]
    drawn = page.spine_rows()
    assert all(rules.rankable(v, f) for v, f in zip(drawn["value"], drawn["flag"]))
    assert len(drawn) < (page.summary_rows["polarity"] != "neutral").sum()  # the others left out
    assert spine.table[page.name].str.startswith("[").sum() == 0  # no [c] or [x] rows
    similar = page.similar().html
    assert "[c]" not in re.sub(r"<ul class='shorthand'>.*", "", similar)
    plt.close("all")


def test_london_key_messages_come_from_the_tests(data_dir) -> None:
    page = report.LondonPage(data_dir)
    section = page.key_messages()
    assert section.html.startswith("<h2>Key messages</h2>")
    items = _items(section.html)
    assert 3 <= len(items) <= 5 and all(re.search(r"\d", i) for i in items)
    trends = pd.read_csv(data_dir / "trends.csv", dtype=str)
    london = trends[(trends.area_code == geography.LONDON_CODE) & (trends.breakdown == "all")]
    for f in page.figures:
        t = london[(london.indicator == f.row["indicator"]) & (london.to_period == f.row["period"])]
        if len(t) and t["direction"].iloc[0] in ("increasing", "decreasing"):
            assert (
                f"{f.label} {t['direction'].iloc[0]} since {t['from_period'].iloc[0]}" in items[0]
            )
    # each group named in the widest differences is significantly above or below London as a whole
    e = page.data.estimates
    for gap in page.group_gaps():
        m = re.search(
            r"^(.*?), (\S+), by .*?: ([\d.]+)% \((.*?)\) against ([\d.]+)% \((.*?)\)$", gap
        )
        label, period, hi, hi_group, lo, lo_group = m.groups()
        f = next(f for f in page.figures if f.label == label)
        rows = e[
            (e.indicator == f.row["indicator"])
            & (e.area_code == geography.LONDON_CODE)
            & (e.period == period)
        ]
        assert rows[rows.group == hi_group]["compared_to_london"].iloc[0] == "higher"
        assert rows[rows.group == lo_group]["compared_to_london"].iloc[0] == "lower"
    # the boroughs' spread counts are the rulebook's verdicts
    spread = page.borough_spread()
    assert spread
    rows = report.borough_indicator_rows(page.data)
    label = spread[0].split(" (")[0]
    first = rows[rows["label"] == label]
    n_better = int((first["verdict"] == "better").sum())
    assert (
        f"{n_better} of {int(first['value'].notna().sum())} boroughs significantly better"
        in spread[0]
    )


def test_london_domains_link_every_measure_and_never_mix_directions(data_dir) -> None:
    page = report.LondonPage(data_dir)
    html = "".join(page.domain(d).html for d in measures.DOMAINS)
    have = set(page.data.estimates["measure_id"])
    for m in measures.registry():
        if m.id in have:
            assert f'href="measures/{m.id}.html"' in html, m.id
    assert "not compared" not in html  # London is not compared with itself
    for d in measures.DOMAINS:
        for chart in page.domain(d).charts:
            assert chart.table is None  # each figure once: in the domain's table
            polarities = {
                f.row["polarity"]
                for f in page.figures
                if f.label in chart.alt and f.measure.domain == d
            }
            assert len(polarities) == 1, (chart.title, polarities)
            lo, hi = chart.figure.axes[0].get_xlim()
            assert (lo, hi) != (0.0, 100.0)  # fitted to the figures: intervals can be seen
    plt.close("all")
