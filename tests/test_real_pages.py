"""The real build's pages say only what their data support: one series per chart, proxies
labelled, publisher markers kept, impossible intervals flagged, methods true of the page.

Built from the shared real files (``../shared/real-data`` or ``$LSI_REAL_DATA``); skipped
cleanly where they are absent.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from analysis import compare, measures, pipeline, report, thematic

CITY = "E09000001"


@pytest.fixture(scope="module")
def real_dir(real_data, tmp_path_factory) -> str:
    from analysis.sources import real

    results = pipeline.compute(real.real_inputs(real_data))
    folder = tmp_path_factory.mktemp("real")
    pipeline.write_results(results, folder, parquet=False)
    return str(folder)


@pytest.fixture(scope="module")
def estimates(real_dir) -> pd.DataFrame:
    return report.load(real_dir).estimates


def _page_html(page: report.MeasurePage) -> tuple[str, list]:
    sections = [
        page.header(),
        page.headline(),
        page.trends(),
        page.groups(),
        page.boroughs(),
        page.inner_outer(),
        page.about(),
    ]
    return "".join(s.html for s in sections), [c for s in sections for c in s.charts]


@pytest.mark.parametrize(
    "measure_id",
    [
        "employment_gap",
        "electoral_registration",
        "hate_crime",
        "gcse_attainment",
        "population_churn",
        "turnout_local_elections",
        "born_abroad",
    ],
)
def test_each_chart_and_sentence_shows_one_series(real_dir, measure_id) -> None:
    html, charts = _page_html(report.MeasurePage(measure_id, real_dir))
    for n in re.findall(r"of the (\d+) boroughs", html):
        assert int(n) <= 33
    for chart in charts:
        if chart.table is not None and "Area" in chart.table:
            assert not chart.table["Area"].duplicated().any(), chart.title
        if chart.table is not None and "Period" in chart.table:
            # small multiples: one series per panel, named in the table's Series column
            key = ["Series", "Period"] if "Series" in chart.table else ["Period"]
            assert not chart.table[key].duplicated().any(), chart.title
    for section in re.findall(r"<p>([^<]*Inner London: [^<]*)</p>", html):
        assert section.count("Inner London:") == 1


def test_the_employment_page_maps_the_all_persons_rate_once(real_dir) -> None:
    page = report.MeasurePage("employment_gap", real_dir)
    section = page.boroughs()
    boroughs = section.html
    assert "of the 33 boroughs" in boroughs and "no single borough map" not in boroughs
    ranked = [c for c in section.charts if c.table is not None]
    assert (
        len(ranked) == 1
        and len(ranked[0].table) == 33
        and not ranked[0].table["Area"].duplicated().any()
    )
    # published single years: nothing is pooled (the words, not the charts' base64 bytes)
    words = re.sub(r"data:image/[^'\"]*", "", boroughs)
    assert "pool" not in words.lower()
    # the Inner/Outer section: the rate once and each gap once (the disability gap is London only)
    assert (
        page.inner_outer().html.count("Inner London:")
        == 1 + len(measures.get("employment_gap").series) - 1
    )
    groups = page.groups().html
    assert (
        "not tested against London as a whole" in groups
        and "no group differs significantly" not in groups
    )
    guide = page.about().html
    assert "ONS Annual Population Survey" in guide and "people answered" not in guide


def test_proxies_are_labelled_wherever_they_appear(real_dir) -> None:
    page = report.MeasurePage("electoral_registration", real_dir)
    html, charts = _page_html(page)
    assert "(proxy)" in page.header().html and "EU referendum" in page.header().html
    assert all("(proxy)" in c.title for c in charts)
    assert "referendum" in page.about().html
    city = report.BoroughPage(CITY, real_dir)
    labels = set(city.summary_rows["label"])
    assert "Local government electors per adult (proxy)" in labels
    assert "proxy, not the measure itself" in city.summary().html
    rvc = thematic.RegistrationChurnPage(real_dir)
    assert "proxy, not the measure itself" in rvc.header().html
    figs = thematic.StrategyFiguresPage(real_dir)
    assert "proxy" in figs.figure3().html


def test_no_published_interval_end_beyond_the_possible_is_left_unflagged(estimates) -> None:
    rates = estimates[(estimates.indicator == "employment_rate")]
    assert (rates["upper_ci"].dropna() <= 100).all() and (rates["lower_ci"].dropna() >= 0).all()
    groups = (
        rates["breakdown"] != "all"
    )  # the counts are of the group rates; all persons add one each
    noted = rates["note"].str.contains("goes beyond 0-100%", regex=False)
    assert (
        (noted & groups).sum() == 383
        and (noted & ~groups).sum() == 1
        and (rates[noted]["flag"] == "[u]").all()
    )
    assert (
        rates[noted]["note"].str.contains("119.3", regex=False).any()
    )  # the worst published end, named
    at_100 = rates[(rates["value"] == 100) & rates["lower_ci"].isna()]
    assert (at_100["breakdown"] != "all").sum() == 61 and (at_100["flag"] == "[u]").all()
    assert (at_100["compared_to_london"] == "not_compared").all()
    barking = estimates[
        (estimates.indicator == "employment_gap_mixed")
        & (estimates.area_code == "E09000002")
        & (estimates.period == "2016")
    ].iloc[0]
    assert barking["value"] == pytest.approx(-33.8) and barking["flag"] == "[u]"
    assert barking["compared_to_london"] == "not_compared"


def test_the_city_registration_is_flagged_and_not_ranked(estimates) -> None:
    reg = estimates[
        (estimates.indicator == "electoral_registration") & (estimates.area_code == CITY)
    ].iloc[0]
    assert reg["flag"] == "[u]" and reg["compared_to_london"] == "not_compared"
    note = reg["note"]
    assert "7,246" in note and "9,721" in note and "73.9%" in note
    ranks = compare.ranks(estimates, "electoral_registration", "electoral_registration", "2016")
    assert CITY not in set(ranks["area_code"]) and ranks["n_ranked"].iloc[0] == 32


def test_methods_and_definitions_are_true_of_the_real_data(real_dir) -> None:
    gcse = report.MeasurePage("gcse_attainment", real_dir).about().html
    assert "grade 4" in gcse and "A* to C in 2016" in gcse
    assert "five or more GCSEs at A* to C including English and maths, ended in 2015" in gcse
    hate = report.MeasurePage("hate_crime", real_dir).about().html
    assert "Westminster" in hate and "visitors" in hate
    emp = report.MeasurePage("employment_gap", real_dir).about().html
    assert "from the published APS rates they are single years" in emp


def test_registration_vs_churn_says_what_rests_on_the_city(real_dir) -> None:
    page = thematic.RegistrationChurnPage(real_dir)
    head = page.header().html
    assert "not significantly related" in head and "rests on one area, the City of London" in head
    assert (
        "registration was 1.15 points lower" in head
        and "-1.69 to -0.61" in head
        and "R-squared 0.43" in head
    )
    assert "without the City of London" in page.scatter().charts[0].title
    assert "without the City of London gives a slope" in page.interpretation().html
    influence = page.influence().html
    assert "7,246 residents in 2016" in influence and "8,000" not in influence
    residual = page.residual_map().html
    assert "could look first" not in residual and "born abroad" in residual
    assert "not a guide to where registration drives" in residual
    assert page.reg.fit("OLS with an Inner London term, without") is not None


def test_the_strategy_figures_describe_this_build_s_sources(real_dir) -> None:
    page = thematic.StrategyFiguresPage(real_dir)
    about = page.about().html
    assert (
        "design-based survey" not in about and "Figure 4" not in about
    )  # no survey microdata in a real build
    assert "ONS Annual Population Survey" in about
    fig5 = page.figure5().html
    assert "overlap are not significantly different" not in fig5
    assert "no interval for the gap between non-disabled and disabled people" in fig5


def test_every_borough_page_shows_each_indicator_once_with_proxies_labelled(real_dir) -> None:
    from analysis import geography

    for code in geography.borough_codes():
        page = report.BoroughPage(code, real_dir)
        rows = page.summary_rows
        assert not rows["indicator"].duplicated().any(), code
        registration = rows[rows["indicator"] == "electoral_registration"]
        assert registration["label"].str.endswith("(proxy)").all() and len(registration) == 1
        ranked = rows["rank"].notna()
        assert not (rows.loc[ranked, "flag"] == "[u]").any(), (
            code
        )  # no rank for a low-reliability figure


def test_real_borough_pages_brief_with_numbers_and_links(real_dir) -> None:
    """Issue 14 on the real build: each borough page opens with key messages carrying numbers,
    every indicator in its table links its measure's page, and the City's chart has no empty
    rows."""
    import matplotlib.pyplot as plt

    from analysis import geography, rules

    for code in geography.borough_codes():
        page = report.BoroughPage(code, real_dir)
        messages = page.key_messages()
        assert 3 <= len(messages) <= 5 and all(re.search(r"\d", m) for m in messages), code
        table = page._indicator_table()
        hrefs = [re.search(r'href="([^"]+)"', str(c)).group(1) for c in table["Indicator"]]
        shown = page.summary_rows if code != CITY else page.summary_rows.dropna(subset=["value"])
        assert hrefs == [f"../measures/{m}.html" for m in shown["measure_id"]], code
    city = report.BoroughPage(CITY, real_dir)
    drawn = city.spine_rows()
    assert all(rules.rankable(v, f) for v, f in zip(drawn["value"], drawn["flag"]))
    westminster = report.BoroughPage("Westminster", real_dir).spine().html
    assert "visitors, commuters and workers" in westminster
    plt.close("all")


def test_a_proxy_measure_says_so_in_its_heading(real_dir) -> None:
    from analysis.build import planning

    page = report.MeasurePage("electoral_registration", real_dir)
    h1 = re.search(r"<h1>([^<]*\(proxy\))</h1>", page.header().html)
    assert h1
    # and so does its entry in the build's plan (the index, the HTML and PDF titles)
    titles = {j.name: j.title for j in planning.plan(real_dir) if j.kind == "measure"}
    assert titles["electoral_registration"] == h1[1]
    assert [m for m, t in titles.items() if "(proxy)" in t] == ["electoral_registration"]
