"""Selecting one series, proxies, publisher markers and flag rules, on constructed rows (no real files)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import (
    compare,
    estimate,
    geography,
    measures,
    pipeline,
    provenance,
    report,
    series,
    thematic,
)
from analysis.sdc import DisclosureRules
from analysis.sources import real

BOROUGHS = geography.borough_codes()
LONDON = geography.LONDON_CODE
APS = "ONS Annual Population Survey via the London Datastore (published rates and intervals)"


def _rows(
    indicator: str,
    groups: list[tuple[str, str]],
    period: str = "2016",
    measure_id: str = "employment_gap",
    source: str = APS,
) -> pd.DataFrame:
    """One row per borough, Inner/Outer and London for each (breakdown, group)."""
    rng = np.random.default_rng(7)
    frames = []
    for breakdown, group in groups:
        codes = [*BOROUGHS, *geography.AGGREGATES]
        value = rng.uniform(50, 90, len(codes))
        frames.append(
            pd.DataFrame(
                {
                    "measure_id": measure_id,
                    "indicator": indicator,
                    "period": period,
                    "area_code": codes,
                    "area_name": [geography.name_of(c) for c in codes],
                    "breakdown": breakdown,
                    "group": group,
                    "value": value,
                    "lower_ci": value - 3,
                    "upper_ci": value + 3,
                    "unweighted_base": pd.NA,
                    "flag": "",
                    "compared_to_london": "similar",
                    "unit": "%",
                    "polarity": "up",
                    "source": source,
                    "synthetic": False,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


GROUP_RATES = [
    ("ethnic_group", g)
    for g in ("White", "Mixed", "Indian", "Pakistani/Bangladeshi", "Black", "Other")
] + [("sex", "Male"), ("sex", "Female")]


def test_an_indicator_of_group_series_only_has_no_headline_series() -> None:
    rows = _rows("employment_rate", GROUP_RATES)
    assert series.headline_key(rows, "employment_rate") is None
    assert len(series.keys(rows, "employment_rate")) == 8
    with pytest.raises(
        series.AmbiguousSeries
    ):  # asking for 'the' ranking of a pool of eight series
        compare.ranks(rows, "employment_gap", "employment_rate", "2016")
    # one named group is one series: 33 boroughs, each once
    one = series.select(
        rows, series.SeriesKey("employment_rate", "ethnic_group", "Black"), boroughs=True
    )
    assert len(one) == 33 and not one.duplicated("area_code").any()
    ranked = compare.ranks(
        rows, "employment_gap", "employment_rate", "2016", breakdown="sex", group="Female"
    )
    assert ranked["n_ranked"].iloc[0] == 33


def test_the_whole_population_is_the_headline_where_it_exists() -> None:
    rows = pd.concat(
        [_rows("employment_rate", [("all", "all")]), _rows("employment_rate", GROUP_RATES)]
    )
    key = series.headline_key(rows, "employment_rate")
    assert (key.breakdown, key.group) == ("all", "all")
    assert len(series.select(rows, key, period="2016", boroughs=True)) == 33
    gap = _rows("employment_gap_black", [("ethnic_group", "White minus Black")])
    assert series.headline_key(gap, "employment_gap_black").group == "White minus Black"


def test_a_selection_that_still_mixes_rows_is_refused() -> None:
    rows = _rows("employment_rate", [("all", "all")])
    twice = pd.concat([rows, rows.assign(measure_id="other_measure")])
    with pytest.raises(series.AmbiguousSeries, match="more than one row"):
        series.select(twice, series.SeriesKey("employment_rate"))
    assert (
        len(
            series.select(
                twice,
                series.SeriesKey("employment_rate", measure_id="other_measure"),
                boroughs=True,
            )
        )
        == 33
    )


def test_population_comes_from_the_data() -> None:
    rows = _rows("population_churn", [("all", "all")], measure_id="population_churn")
    rows["unweighted_base"] = pd.array(np.arange(len(rows)) + 1000, dtype="Int64")
    city = rows.loc[rows.area_code == "E09000001", "unweighted_base"].iloc[0]
    assert series.population(rows, "E09000001") == ("2016", float(city))
    assert series.population(rows, "E09000001", "2015") is None
    assert (
        series.population(rows.assign(measure_id="volunteering"), "E09000001") is None
    )  # not per resident


# ------------------------------------------------------------------------------------------
# the employment page over group-only rates (the real APS shape)


@pytest.fixture(scope="module")
def group_only_dir(tmp_path_factory) -> str:
    """Estimates shaped like the real APS build: group rates with no all-persons rate, and gaps."""
    m = measures.get("employment_gap")
    table_rows = []
    rng = np.random.default_rng(3)
    for year in (2015, 2016):
        for code in [*BOROUGHS, *geography.AGGREGATES]:
            for var, group in [
                ("ethnic_group", g)
                for g in ("White", "Mixed", "Indian", "Pakistani/Bangladeshi", "Black", "Other")
            ] + [("sex", "Male"), ("sex", "Female")]:
                table_rows.append(
                    {
                        "area_code": code,
                        "year": year,
                        "variable": var,
                        "group": group,
                        "rate": float(rng.uniform(55, 85)),
                        "ci_half_width": 4.0,
                        "numerator": np.nan,
                        "denominator": np.nan,
                        "marker": "",
                    }
                )
    table = pd.DataFrame(table_rows)
    inputs = pipeline.Inputs(
        published={"employment_gap": table},
        synthetic=False,
        validated=True,
        source_notes={"employment_gap": APS},
    )
    results = pipeline.compute(inputs, [m])
    folder = tmp_path_factory.mktemp("group_only")
    pipeline.write_results(results, folder, parquet=False)
    return str(folder)


def test_employment_page_never_pools_group_rates(group_only_dir) -> None:
    page = report.MeasurePage("employment_gap", group_only_dir)
    boroughs, inner_outer = page.boroughs(), page.inner_outer()
    text = boroughs.html + inner_outer.html
    for n in range(34, 300):
        assert f"of the {n} boroughs" not in text
    assert "no single borough map or ranking" in boroughs.html
    for chart in boroughs.charts:  # each chart's table: every area once
        if chart.table is not None and "Area" in chart.table:
            assert not chart.table["Area"].duplicated().any()
    assert inner_outer.html.count("Inner London:") <= len(
        [s for s in measures.get("employment_gap").series]
    )
    assert "pool" not in boroughs.html  # single published years: nothing is pooled
    guide = page.about().html
    assert "publisher" in guide and "fewer than 50 people answered" not in guide


# ------------------------------------------------------------------------------------------
# publisher markers, impossible intervals, unreliable denominators


def test_publisher_markers_and_impossible_intervals_become_flags_with_notes() -> None:
    table = pd.DataFrame(
        {
            "rate": [70.0, 100.0, 95.0, 60.0, np.nan, 88.0],
            "ci_half_width": [5.0, np.nan, 24.3, 9.0, np.nan, np.nan],
            "marker": ["", "-", "", "*", "!", "*"],
        }
    )
    flags, reasons, lower, upper = estimate.published_rate_flags(table)
    assert list(flags) == ["", "[u]", "[u]", "[u]", "[c]", "[u]"]
    assert reasons[0] == "" and "100% published with no interval" in reasons[1]
    assert (
        "95.0" not in reasons[2]
        and "70.7 to 119.3" in reasons[2]
        and "cut here to 70.7 to 100.0" in reasons[2]
    )
    assert reasons[3] == "" and reasons[5] == ""  # the publisher's own '*' needs no note of ours
    assert upper[2] == 100.0 and lower[2] == pytest.approx(70.7)
    assert (upper.dropna() <= 100).all() and (lower.dropna() >= 0).all()


def test_gaps_on_flagged_rates_are_flagged_and_not_compared() -> None:
    m = measures.get("employment_gap")
    rows = []
    for code in [*BOROUGHS, LONDON]:
        for group, rate, half in (("White", 80.0, 3.0), ("Mixed", 70.0, 4.0)):
            if code == "E09000002" and group == "Mixed":
                rate, half = 100.0, np.nan  # Barking and Dagenham: a 100% with no interval
            rows.append(
                {
                    "area_code": code,
                    "year": 2016,
                    "variable": "ethnic_group",
                    "group": group,
                    "rate": rate,
                    "ci_half_width": half,
                    "numerator": np.nan,
                    "denominator": np.nan,
                    "marker": "-" if np.isnan(half) else "",
                }
            )
    out = estimate.estimate_published_gap(m, pd.DataFrame(rows))
    gap = out[(out.indicator == "employment_gap_mixed") & (out.area_code == "E09000002")].iloc[0]
    assert gap["value"] == pytest.approx(-20.0)
    assert gap["flag"] == "[u]" and gap["compared_to_london"] == "not_compared"
    assert "built on the Mixed rate" in gap["note"]
    finished = estimate.finish(
        out, m, source=APS, synthetic=False, rules=DisclosureRules(), flags_from_source=True
    )
    row = finished[
        (finished.indicator == "employment_gap_mixed") & (finished.area_code == "E09000002")
    ].iloc[0]
    assert row["source"] == APS
    assert "built on the Mixed rate" in row["note"]
    plain = finished[
        (finished.indicator == "employment_gap_mixed") & (finished.area_code == "E09000007")
    ].iloc[0]
    assert plain["source"] == APS and plain["note"] == ""


def test_a_denominator_known_to_be_unreliable_is_flagged_not_compared_not_ranked() -> None:
    population = pd.DataFrame({"area_code": BOROUGHS, "year": 2016, "population": 200_000.0})
    population.loc[population.area_code == "E09000001", "population"] = 7246.0
    adults = pd.DataFrame(
        {"area_code": BOROUGHS, "year": 2019, "population": 204_000.0, "adults": 160_000.0}
    )
    adults.loc[adults.area_code == "E09000001", ["population", "adults"]] = [9721.0, 8100.0]
    electors = pd.DataFrame({"area_code": BOROUGHS, "year": 2016, "electors": 130_000.0})
    electors.loc[electors.area_code == "E09000001", "electors"] = 5987.0
    doubtful = real.doubtful_adults(population, adults, electors)
    assert list(doubtful.area_code) == ["E09000001"]  # +2% elsewhere is within the limit
    assert (
        "7,246" in doubtful.why.iloc[0]
        and "9,721" in doubtful.why.iloc[0]
        and "73.9%" in doubtful.why.iloc[0]
    )

    table = electors.merge(
        real._adults_2016(population.assign(year=2016), adults), on=["area_code", "year"]
    )
    m = measures.get("electoral_registration")
    inputs = pipeline.Inputs(
        admin={"electoral": table[["area_code", "year", "electors", "adults"]]},
        source_notes={m.id: real.SOURCE_NOTES[m.id]},
        proxies=real.PROXIES,
        unreliable={m.id: doubtful},
    )
    e = pipeline.compute(inputs, [m]).estimates
    city = e[e.area_code == "E09000001"].iloc[0]
    assert city["flag"] == "[u]" and city["compared_to_london"] == "not_compared"
    assert city["value"] > 95  # the scaled figure, kept, but flagged
    assert "denominator unreliable" in city["note"]
    assert city["source"] == real.SOURCE_NOTES[m.id] and e["proxy"].all()
    assert "E09000001" not in set(compare.ranks(e, m.id, m.id, "2016")["area_code"])
    others = e[e.area_code.str.startswith("E09") & (e.area_code != "E09000001")]
    assert (others["flag"] == "").all() and (others["note"] == "").all()
    assert not e["source"].str.contains(provenance.NOTE_SEPARATOR, regex=False).any()


def test_proxies_are_labelled_with_source_and_method() -> None:
    source = real.SOURCE_NOTES["electoral_registration"]
    assert "electoral_registration" in real.PROXIES and "hate_crime" not in real.PROXIES
    assert not source.startswith(provenance.PROXY_PREFIX)  # the flag says so, not the text
    assert (
        provenance.label("Local government electors per adult", True)
        == "Local government electors per adult (proxy)"
    )
    assert (
        provenance.label("Hate crimes per 1,000 residents", False)
        == "Hate crimes per 1,000 residents"
    )
    note = provenance.proxy_note("Local government electors per adult", source, True)
    assert "EU referendum" in note and "mid-2019" in note and "scaled" in note
    assert "not the measure itself. Proxy: EU referendum electorate per adult" in note
    assert provenance.proxy_note("x", real.SOURCE_NOTES["hate_crime"], False) == ""


def test_the_reading_guide_states_the_rule_of_the_sources_on_the_page() -> None:
    survey = pd.DataFrame(
        {"measure_id": ["volunteering"], "unweighted_base": pd.array([400], dtype="Int64")}
    )
    published = pd.DataFrame(
        {"measure_id": ["employment_gap"], "unweighted_base": pd.array([pd.NA], dtype="Int64")}
    )
    admin = pd.DataFrame(
        {"measure_id": ["hate_crime"], "unweighted_base": pd.array([1000], dtype="Int64")}
    )
    assert "fewer than 50 people answered" in provenance.reading_guide(survey)
    guide = provenance.reading_guide(published)
    assert "people answered" not in guide and "<code>!</code>" in guide and "beyond 100%" in guide
    both = provenance.reading_guide(pd.concat([admin, published]))
    assert "denominator" in both and "<code>*</code>" in both


def test_residual_reading_gives_no_advice_and_names_the_proxy_pattern() -> None:
    frame = thematic.planted_boroughs(label="residuals")
    reg = thematic.regress(frame)
    abroad = pd.DataFrame(
        {
            "measure_id": "born_abroad",
            "indicator": "born_abroad",
            "period": "2015",
            "area_code": reg.frame.area_code,
            "breakdown": "all",
            "group": "all",
            "value": 40 - 5 * reg.frame.residual,
        }
    )  # residuals fall as the share born abroad rises
    text = thematic.residual_reading(reg, abroad, proxy=True)
    assert "correlate -1.00 with the share of residents born abroad (2015)" in text
    assert "not a guide to where registration drives" in text
    assert "could look first" not in text
    assert "not a guide" not in thematic.residual_reading(reg, abroad.iloc[0:0], proxy=True)


def test_the_headline_says_when_not_significant_rests_on_the_city() -> None:
    frame = thematic.planted_boroughs(slope=-1.2, noise=0.8, label="rests")
    city = frame.area_code == thematic.CITY
    frame.loc[city, ["churn", "registration"]] = [40.0, 99.0]  # far along churn, high registration
    reg = thematic.regress(frame)
    assert reg.main.pvalue >= 0.05 and reg.fit("OLS without").pvalue < 0.05
    assert thematic.rests_on_city(reg)
    head = thematic.headline(reg, "2016")
    assert "not significantly related" in head and "rests on one area, the City of London" in head
    assert thematic.interpretation(reg, "2016")[0] == head
    assert any(
        "without the City of London gives a slope" in t
        for t in thematic.interpretation(reg, "2016")
    )
    assert reg.fit("OLS with an Inner London term, without").n == 32
    plain = thematic.regress(thematic.planted_boroughs(slope=-1.2, noise=0.8, label="rests"))
    assert not thematic.rests_on_city(plain) and "rests on" not in thematic.headline(plain, "2016")


def test_a_low_reliability_borough_is_drawn_below_the_ranking_not_first() -> None:
    from analysis import charts

    rows = _rows("electoral_registration", [("all", "all")], measure_id="electoral_registration")
    rows = rows[rows.area_code.str.startswith("E09")].copy()
    rows.loc[
        rows.area_code == "E09000001",
        ["value", "lower_ci", "upper_ci", "flag", "compared_to_london"],
    ] = [99.2, 98.9, 99.4, "[u]", "not_compared"]
    chart = charts.ranked_boroughs(rows, title="t", london=80.0, unit="%", polarity="up")
    names = list(chart.table["Area"])
    assert names[-1] == "City of London" and names[0] != "City of London"
    assert "unranked" in chart.alt and "unranked" in " ".join(chart.notes)
    assert "City of London" not in chart.alt.split(";")[0]
