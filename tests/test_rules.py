"""The claims suite: for constructed rows the rulebook gives the expected verdict, rank and
flag with its reason, and the rendered words say exactly that.

Each test builds the rows it needs (polarity up/down/neutral; survey, admin and published
figures; [c]/[u]/[x]; publishers' markers) rather than reading the demo, so a rule that
changes breaks a test here first.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from analysis import compare, estimate, geography, measures, narrative, overdispersion, rules
from analysis.sdc import DisclosureRules

BOROUGHS = geography.borough_codes()


# ---------------------------------------------------------------------------------------
# verdicts against London


@pytest.mark.parametrize(
    ("compared", "polarity", "group", "expected", "phrase"),
    [
        ("higher", "up", False, "better", "significantly higher than London (better)"),
        ("higher", "down", False, "worse", "significantly higher than London (worse)"),
        ("lower", "up", False, "worse", "significantly lower than London (worse)"),
        ("lower", "down", False, "better", "significantly lower than London (better)"),
        ("higher", "neutral", False, "higher", "significantly higher than London"),
        ("lower", "neutral", False, "lower", "significantly lower than London"),
        ("higher", "up", True, "higher", "significantly higher than London"),  # a population group
        ("lower", "down", True, "lower", "significantly lower than London"),
        ("similar", "up", False, "similar", "similar to London"),
        ("similar", "neutral", False, "similar", "similar to London"),
        ("not_compared", "down", False, "not_compared", "not compared with London"),
    ],
)
def test_verdict_and_its_sentence(compared, polarity, group, expected, phrase) -> None:
    assert rules.verdict(compared, polarity, group) == expected
    assert narrative.comparison_phrase(compared, polarity, group) == phrase


def _row(**kw) -> dict:
    base = {
        "measure_id": "m",
        "indicator": "employment_rate",
        "period": "2018",
        "area_code": "E13000001",
        "area_name": "Inner London",
        "breakdown": "all",
        "group": "all",
        "value": 73.3,
        "lower_ci": 72.0,
        "upper_ci": 74.6,
        "unweighted_base": 5000,
        "flag": "",
        "flag_reason": "",
        "compared_to_london": "lower",
        "unit": "%",
        "polarity": "up",
        "se": 0.6,
        "label": "x",
        "kind": "survey_gap",
    }
    return {**base, **kw}


def test_polarity_is_that_of_the_row_described() -> None:
    """An employment-rate row (higher is better) inside the employment-gap measure (lower is
    better): the rate below London is worse, the gap above London is worse."""
    rate = _row()
    gap = _row(
        indicator="employment_gap_disability",
        breakdown="disability",
        group="Not disabled minus Disabled",
        compared_to_london="higher",
        polarity="down",
    )
    assert rules.row_verdict(rate) == "worse"
    assert (
        rules.row_verdict(gap) == "worse"
    )  # a gap row is an area's figure, not a population group
    group = _row(
        area_code=geography.LONDON_CODE, breakdown="sex", group="Female", compared_to_london="lower"
    )
    assert (
        rules.row_verdict(group) == "lower"
    )  # a group of London is never better or worse than London


def test_finish_gives_rate_rows_their_own_polarity() -> None:
    m = measures.get("employment_gap")
    rows = pd.DataFrame(
        [
            {
                k: v
                for k, v in _row().items()
                if k not in ("measure_id", "area_name", "unit", "polarity", "label", "kind")
            },
            {
                k: v
                for k, v in _row(
                    indicator="employment_gap_sex", breakdown="sex", group="Male minus Female"
                ).items()
                if k not in ("measure_id", "area_name", "unit", "polarity", "label", "kind")
            },
        ]
    ).assign(p_vs_london=0.01)
    out = estimate.finish(rows, m, source="s", synthetic=True, rules=DisclosureRules())
    assert out.set_index("indicator")["polarity"].to_dict() == {
        "employment_rate": "up",
        "employment_gap_sex": "down",
    }
    assert list(rules.verdicts(out)) == ["worse", "better"]


def test_context_indicators_are_neutral_in_the_registry() -> None:
    context = [m for m in measures.registry() if m.is_context]
    assert {m.id for m in context} >= {"population_churn", "turnout_local_elections", "born_abroad"}
    assert all(m.polarity == "neutral" for m in context)
    assert all(
        rules.polarity_sentence(m.polarity).startswith("A context indicator") for m in context
    )
    bad = dataclasses.replace(measures.get("population_churn"), polarity="down")
    with pytest.raises(measures.RegistryError, match="context indicator is neutral"):
        measures.check([bad])


def test_changes_of_context_indicators_are_not_judged() -> None:
    rows = pd.DataFrame(
        {
            "measure_id": "c",
            "indicator": ["churn", "churn", "reg", "reg"],
            "area_code": "E09000007",
            "breakdown": "all",
            "group": "all",
            "period": ["2017", "2018", "2017", "2018"],
            "value": [10.0, 8.0, 80.0, 84.0],
            "se": [0.1, 0.1, 0.1, 0.1],
            "unit": "%",
            "polarity": ["neutral", "neutral", "up", "up"],
            "flag": "",
        }
    )
    out = compare.changes(rows).set_index("indicator")
    assert (
        out.loc["churn", "direction"] == "decreased"
        and out.loc["churn", "assessment"] == "not_judged"
    )
    assert out.loc["reg", "assessment"] == "better"
    assert rules.change_assessment("increased", "down") == "worse"
    assert rules.change_assessment("no significant change", "neutral") == "no significant change"


# ---------------------------------------------------------------------------------------
# uncertainty models: overdispersion


def _register(values: np.ndarray, adults: np.ndarray, year: int = 2018) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "area_code": BOROUGHS,
            "year": year,
            "electors": np.round(values / 100 * adults),
            "adults": adults,
        }
    )


def _spread_boroughs(seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """33 boroughs whose registration rates differ by a few points (far beyond binomial chance)."""
    rng = np.random.default_rng(seed)
    adults = rng.integers(60_000, 300_000, len(BOROUGHS)).astype(float)
    adults[0] = 6_000  # the City
    return 86.0 + rng.normal(0, 3.0, len(BOROUGHS)), adults


def test_overdispersion_detected_and_the_additive_model_chosen_for_unequal_denominators() -> None:
    values, adults = _spread_boroughs()
    london = float(np.sum(values * adults) / adults.sum())
    od = overdispersion.estimate(values, adults, london, poisson=False)
    assert od.method == "overdispersed_additive" and od.phi > 100
    # the DerSimonian-Laird form by hand
    s = overdispersion.null_se(london, adults, False, 100.0)
    z = (values - london) / s
    lo, hi = np.percentile(z, [10, 90])
    phi = np.mean(np.clip(z, lo, hi) ** 2)
    w = 1 / s**2
    tau2 = (len(z) * phi - (len(z) - 1)) / (w.sum() - (w**2).sum() / w.sum())
    assert od.phi == pytest.approx(phi) and od.tau2 == pytest.approx(tau2)
    assert np.sqrt(od.tau2) == pytest.approx(3.0, rel=0.5)  # recovers the spread that was put in


def test_multiplicative_model_for_similar_denominators_and_none_without_overdispersion() -> None:
    rng = np.random.default_rng(1)
    n = np.full(33, 1000.0)
    p = 0.6
    chance = rng.binomial(1000, p, 33) / 1000 * 100
    assert overdispersion.estimate(chance, n, 60.0, poisson=False).method == "binomial"
    wide = 60 + rng.normal(0, 5, 33)  # se under chance is about 1.5 points; the spread is 5
    od = overdispersion.estimate(wide, n, 60.0, poisson=False)
    assert od.method == "overdispersed_multiplicative" and od.phi > 4
    assert od.se(np.array([1.5]))[0] == pytest.approx(np.sqrt(od.phi) * 1.5)


def test_winsorising_limits_the_pull_of_outliers() -> None:
    z = np.r_[np.linspace(-1, 1, 30), 40.0, 50.0, 60.0]
    assert overdispersion.winsorised_phi(z) < 5 < np.mean(z**2)


def test_a_tenth_and_two_tenths_of_a_point_in_a_register_are_not_significant() -> None:
    """With binomial limits a 0.2-point difference on 200,000 adults is 'significant'; with the
    overdispersion-adjusted limits it is not, against London or over time."""
    values, adults = _spread_boroughs()
    m = measures.get("electoral_registration")
    assert m.uncertainty == "overdispersed"
    first = _register(values, adults, 2017)
    london_2017 = first.electors.sum() / first.adults.sum() * 100
    values = values.copy()
    values[5] = london_2017 + 0.2  # a big borough 0.2 points above London
    adults[5] = 200_000
    first = _register(values, adults, 2017)
    second = _register(values + 0.2, adults, 2018)  # every borough up 0.2 points
    table = pd.concat([first, second], ignore_index=True)
    plain = estimate.estimate_admin_measure(dataclasses.replace(m, uncertainty="binomial"), table)
    adjusted = estimate.estimate_admin_measure(m, table)
    code = BOROUGHS[5]
    pick = lambda rows, year: rows[(rows.period == year) & (rows.area_code == code)].iloc[0]  # noqa: E731
    assert pick(plain, "2017").compared_to_london == "higher"  # the false precision being corrected
    row = pick(adjusted, "2017")
    assert row.compared_to_london == "similar" and row.p_vs_london > 0.5
    assert row.uncertainty == "overdispersed_additive"
    assert row.upper_ci - row.lower_ci > 5  # points, not hundredths of a point
    # change over time: the same adjusted standard errors go into the test
    for rows, expected in ((plain, "increased"), (adjusted, "no significant change")):
        detail = rows.assign(measure_id=m.id, unit="%", polarity="up")
        ch = compare.changes(detail)
        london = ch[ch.area_code == geography.LONDON_CODE].iloc[0]
        assert london.change == pytest.approx(0.2, abs=0.02)
        assert london.direction == expected
    assert ch[ch.area_code == code].iloc[0].direction == "no significant change"


def test_aggregates_carry_the_weighted_sum_of_their_boroughs_adjusted_variances() -> None:
    values, adults = _spread_boroughs()
    rows = estimate.estimate_admin_measure(
        measures.get("electoral_registration"), _register(values, adults)
    )
    london = rows[rows.area_code == geography.LONDON_CODE].iloc[0]
    od = overdispersion.estimate(rows.value[:33].to_numpy(), adults, london.value, poisson=False)
    p = london.value / 100
    plain = np.sqrt(p * (1 - p) / adults.sum()) * 100
    share_sq = ((adults / adults.sum()) ** 2).sum()
    assert london.se == pytest.approx(np.sqrt(plain**2 + od.tau2 * share_sq))
    assert london.compared_to_london == "not_compared" and np.isnan(london.p_vs_london)


def test_uncertainty_model_is_declared_and_validated() -> None:
    declared = {m.id: m.uncertainty for m in measures.registry()}
    assert declared["volunteering"] == "survey_design"
    assert declared["electoral_registration"] == "overdispersed"
    assert declared["born_abroad"] == "none"
    bad = dataclasses.replace(measures.get("hate_crime"), uncertainty="survey_design")
    with pytest.raises(measures.RegistryError, match="uncertainty 'survey_design' must be one of"):
        measures.check([bad])
    text = """
measures:
  - {id: x, domain: outcomes, title: t, definition: d, rationale: r, caveats: null, source_family: pas,
     source: s, unit: "%", polarity: up, kind: survey_proportion, geographies: [london],
     breakdowns: [], series: [{indicator: x, label: l, item: get_on_well}]}
"""
    with pytest.raises(measures.RegistryError, match="no uncertainty model"):
        measures.load_registry(text)


def test_method_sentence_names_the_model_applied() -> None:
    assert "Spiegelhalter" in rules.method_sentence(["overdispersed_additive"])
    assert "random-effects" in rules.method_sentence(["overdispersed_additive"])
    assert "multiplicative" in rules.method_sentence(["overdispersed_multiplicative"])
    assert "nothing is compared" in rules.method_sentence(["none"])
    assert "Taylor" in rules.method_sentence(["survey_design", "survey_design"])
    assert rules.method_sentence([]) == ""


def test_published_values_are_never_compared() -> None:
    m = measures.get("born_abroad")
    table = pd.DataFrame(
        {
            "area_code": [*BOROUGHS, *geography.AGGREGATES],
            "year": 2015,
            "born_abroad": np.linspace(10, 60, len(BOROUGHS) + 3),
        }
    )
    table.loc[0, "born_abroad"] = np.nan
    rows = estimate.finish(
        estimate.estimate_admin_value(m, table),
        m,
        source="s",
        synthetic=True,
        rules=DisclosureRules(),
        flags_from_source=True,
    )
    assert (rows.compared_to_london == "not_compared").all()
    assert set(rows.uncertainty) == {"none", ""}
    first = rows[rows.area_code == BOROUGHS[0]].iloc[0]
    assert first.flag == "[x]" and first.flag_reason == "not available"
    assert (
        rules.not_compared_reason(rows[rows.area_code == BOROUGHS[1]].iloc[0])
        == "published without a confidence interval"
    )


# ---------------------------------------------------------------------------------------
# flags and their reasons


def test_survey_flags_carry_their_reasons() -> None:
    rows = pd.DataFrame(
        {
            "unweighted_base": [0, 30, 70, 500],
            "flag": "",
            "value": 50.0,
            "lower_ci": 40.0,
            "upper_ci": 60.0,
            "se": 5.0,
            "p_vs_london": 0.5,
            "compared_to_london": "similar",
        }
    )
    out = DisclosureRules().apply(rows)
    assert list(zip(out.flag, out.flag_reason)) == [
        ("[x]", "not available"),
        ("[c]", "primary"),
        ("[u]", "small base"),
        ("", ""),
    ]
    for flag, reason in zip(out.flag, out.flag_reason):
        rules.check_flag(flag, reason)
    assert rules.flag_reason_text("[c]", "primary") == "suppressed: fewer than 50 respondents"
    assert (
        rules.flag_reason_text("[u]", "small base", survey=False)
        == "low reliability: 50 to 99 people in the denominator"
    )
    with pytest.raises(ValueError, match="cannot have reason"):
        rules.check_flag("[u]", "secondary")


def _admin_table(small: str, base: int, year: int = 2018) -> pd.DataFrame:
    pupils = np.full(len(BOROUGHS), 2000.0)
    pupils[BOROUGHS.index(small)] = base
    pupils[BOROUGHS.index("E09000020")] = (
        1674  # Kensington and Chelsea, the next smallest Inner borough
    )
    return pd.DataFrame(
        {
            "area_code": BOROUGHS,
            "year": year,
            "pupils_achieving": np.round(pupils * 0.6),
            "pupils": pupils,
        }
    )


def test_uncovered_borough_is_not_covered_and_needs_no_secondary_suppression() -> None:
    """GCSE never covers the City: [x] 'not covered', left out of Inner London, and so
    Kensington and Chelsea (1,674 pupils) is published."""
    m = measures.get("gcse_attainment")
    assert "E09000001" in m.coverage_excludes
    rows = estimate.finish(
        estimate.estimate_admin_measure(m, _admin_table("E09000001", 20)),
        m,
        source="s",
        synthetic=True,
        rules=DisclosureRules(),
    ).set_index("area_code")
    assert (rows.loc["E09000001", "flag"], rows.loc["E09000001", "flag_reason"]) == (
        "[x]",
        "not covered",
    )
    assert rows.loc["E09000020", "flag"] == "" and rows.loc["E09000020", "value"] == pytest.approx(
        60.0, abs=0.1
    )
    assert (
        rows.loc[geography.INNER_LONDON_CODE, "unweighted_base"] == 2000 * 12 + 1674
    )  # the City left out
    assert not (rows["flag_reason"] == "secondary").any()
    assert rules.flag_reason_text("[x]", "not covered") == "not covered by the source"


def test_secondary_suppression_only_where_a_total_would_reveal_a_count() -> None:
    """Early education covers the City: its tiny base is suppressed (primary) and the next
    smallest Inner borough is withheld (secondary), each with its own reason."""
    m = dataclasses.replace(measures.get("gcse_attainment"), coverage_excludes=())
    rows = estimate.finish(
        estimate.estimate_admin_measure(m, _admin_table("E09000001", 20)),
        m,
        source="s",
        synthetic=True,
        rules=DisclosureRules(),
    ).set_index("area_code")
    assert (rows.loc["E09000001", "flag"], rows.loc["E09000001", "flag_reason"]) == (
        "[c]",
        "primary",
    )
    assert (rows.loc["E09000020", "flag"], rows.loc["E09000020", "flag_reason"]) == (
        "[c]",
        "secondary",
    )
    assert rows.loc[["E09000001", "E09000020"], "value"].isna().all()
    assert rules.not_compared_reason(rows.loc["E09000020"]).endswith("(secondary suppression)")
    assert "too small" not in rules.not_compared_reason(rows.loc["E09000020"])


def test_publisher_markers_keep_the_publishers_reason() -> None:
    rows = pd.DataFrame(
        {
            "flag": ["[c]", "[u]", "[x]", ""],
            "value": [np.nan, 40.0, np.nan, 50.0],
            "lower_ci": np.nan,
            "upper_ci": np.nan,
            "se": np.nan,
            "p_vs_london": np.nan,
            "compared_to_london": "not_compared",
        }
    )
    out = DisclosureRules().hide_flagged(rows)
    assert list(out.flag_reason) == ["publisher", "publisher", "not available", ""]
    assert rules.flag_reason_text("[u]", "publisher") == "marked unreliable by the publisher"


# ---------------------------------------------------------------------------------------
# ranks


def _borough_rows(polarity: str = "up") -> pd.DataFrame:
    values = np.arange(len(BOROUGHS), dtype=float)
    flags = [""] * len(BOROUGHS)
    flags[-1] = "[u]"  # the highest figure rests on a small base
    flags[0] = "[c]"
    values[0] = np.nan
    return pd.DataFrame(
        {
            "measure_id": "m",
            "indicator": "i",
            "period": "2018",
            "area_code": BOROUGHS,
            "area_name": BOROUGHS,
            "value": values,
            "polarity": polarity,
            "flag": flags,
        }
    )


def test_no_rank_for_low_reliability_figures_and_the_denominator_says_so() -> None:
    r = compare.ranks(_borough_rows(), "m", "i", "2018")
    assert BOROUGHS[-1] not in set(r.area_code)  # [u]: no rank
    assert BOROUGHS[0] not in set(r.area_code)  # [c]: nothing to rank
    assert (r.n_ranked == 31).all()
    top = r.iloc[0]
    assert top.area_code == BOROUGHS[-2] and top.rank_best == 1
    assert rules.rank_text(1, 31, "", "up") == "1 of 31"
    assert rules.rank_text(None, 31, "[u]", "up") == "not ranked [u]"
    assert "not of low reliability" in rules.RANK_NOTE


def test_neutral_indicators_have_no_best_rank() -> None:
    r = compare.ranks(_borough_rows("neutral"), "m", "i", "2018")
    assert r["rank_best"].isna().all() and r["rank_highest"].iloc[0] == 1
    assert rules.rank_text(3, 31, "", "neutral") == "not ranked (context indicator)"


# ---------------------------------------------------------------------------------------
# counts


def test_one_tally_for_every_count_on_a_page() -> None:
    rows = pd.DataFrame(
        [
            _row(label="a", compared_to_london="higher", polarity="up"),
            _row(label="b", compared_to_london="lower", polarity="up"),
            _row(label="c", compared_to_london="similar", polarity="down"),
            _row(
                label="d",
                compared_to_london="not_compared",
                flag="[c]",
                flag_reason="primary",
                value=np.nan,
            ),
            _row(
                label="e",
                compared_to_london="not_compared",
                flag="[c]",
                flag_reason="secondary",
                value=np.nan,
                kind="admin_proportion",
            ),
            _row(
                label="f",
                compared_to_london="not_compared",
                flag="[x]",
                flag_reason="not covered",
                value=np.nan,
            ),
            _row(label="g", compared_to_london="not_compared", lower_ci=np.nan, upper_ci=np.nan),
            _row(label="h", compared_to_london="higher", polarity="neutral"),
        ]
    )
    t = rules.tally(rows)
    assert t.judged == 7  # the context indicator is not counted among those judged
    assert (t.better, t.worse, t.similar) == (["a"], ["b"], ["c"])
    assert t.n_not_compared == 4
    assert t.not_compared == {
        "suppressed: fewer than 50 respondents": ["d"],
        "withheld so that a suppressed figure cannot be worked out from a published total (secondary suppression)": [
            "e"
        ],
        "not covered by the source": ["f"],
        "published without a confidence interval": ["g"],
    }
    assert t.context == [("h", "higher", "")]
    assert len(t.better) + len(t.worse) + len(t.similar) + t.n_not_compared == t.judged


# ---------------------------------------------------------------------------------------
# the demo as a whole: every row, every borough page


def test_no_demo_row_is_judged_against_its_rules(demo_results) -> None:
    """Over every row of the demo estimates: neutral rows and population groups are never
    better or worse; rows with a direction are better/worse exactly when higher/lower."""
    e = demo_results.estimates
    v = rules.verdicts(e)
    neutral = e["polarity"] == "neutral"
    groups = pd.Series(
        [rules.is_population_group(i, b) for i, b in zip(e["indicator"], e["breakdown"])],
        index=e.index,
    )
    assert not v[neutral | groups].isin(["better", "worse"]).any()
    directional = ~neutral & ~groups
    assert (
        v[directional].isin(["better", "worse"])
        == e.loc[directional, "compared_to_london"].isin(["higher", "lower"])
    ).all()
    assert set(
        demo_results.changes.loc[
            demo_results.changes["indicator"].isin(e.loc[neutral, "indicator"]), "assessment"
        ]
    ) <= {"not_judged", "no significant change", "not_compared"}
    for flag, reason in zip(e["flag"], e["flag_reason"]):
        rules.check_flag(flag, reason)


def test_every_borough_page_counts_one_set_of_indicators(tmp_path_factory, demo_results) -> None:
    """Summary, spine title and spine alt text of borough pages give the same counts (the
    City, Kensington and Chelsea, and every fourth borough: a spine chart is drawn for each)."""
    import re

    import matplotlib.pyplot as plt

    from analysis import pipeline, report

    folder = tmp_path_factory.mktemp("data")
    pipeline.write_results(demo_results, folder, parquet=False)
    for code in dict.fromkeys(["E09000001", "E09000020", *BOROUGHS[1::4]]):
        page = report.BoroughPage(code, folder)
        t = page.tally()
        summary = page.summary().html
        assert f"better than London on {len(t.better)} of {t.judged} indicators" in summary
        assert f"worse than London on {len(t.worse)}" in summary
        chart = page.spine().charts[0]
        counts = re.search(
            r"Spine chart of (\d+) indicators .*?: (\d+) better, (\d+) worse, (\d+) similar, (\d+) not compared",
            chart.alt,
        )
        assert tuple(map(int, counts.groups())) == (
            t.judged,
            len(t.better),
            len(t.worse),
            len(t.similar),
            t.n_not_compared,
        )
        assert re.search(rf"\b(of|on) {t.judged} indicators", chart.title) or t.judged == 0
        assert "too small to publish reliably" not in summary
        plt.close(chart.figure)


def test_spine_refuses_context_rows_and_places_no_low_reliability_figure() -> None:
    """The spine's axis runs from worst to best borough: no neutral row may be drawn on it, and
    a [u] figure (which has no rank) is listed but not placed."""
    from analysis import charts

    row = {
        "label": "x",
        "period": "2018",
        "value": 80.0,
        "london": 70.0,
        "min": 50.0,
        "q25": 60.0,
        "q75": 75.0,
        "max": 90.0,
        "verdict": "better",
        "polarity": "up",
        "unit": "%",
        "flag": "",
    }
    with pytest.raises(ValueError, match="context"):
        charts.spine(
            pd.DataFrame([{**row, "polarity": "neutral", "verdict": "higher"}]),
            title="t",
            area_name="A",
        )
    chart = charts.spine(
        pd.DataFrame([row, {**row, "label": "y", "flag": "[u]", "verdict": "similar"}]),
        title="t",
        area_name="A",
    )
    assert "1 not placed" in chart.alt
    labels = [t.get_text() for t in chart.figure.axes[0].get_xticklabels()]
    assert labels == ["Worst borough", "London", "Best borough"]


def test_a_range_of_one_borough_figure_is_not_called_a_range() -> None:
    """Where only one borough has a reliable figure the page says so, not '23.7 to 23.7'."""
    assert rules.range_text("12.0", "31.5", 30) == "12.0 to 31.5"
    assert rules.range_text("23.7", "23.7", 1) == "23.7 (the only borough with a reliable figure)"
    assert rules.range_text("", "", 0) == ""
