"""The estimates table: shape, domains, gaps, admin intervals, disclosure control, comparisons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from analysis import compare, estimate, geography, measures, pipeline, survey
from analysis.sdc import DisclosureRules

COLUMNS = [
    "measure_id",
    "indicator",
    "period",
    "area_code",
    "area_name",
    "breakdown",
    "group",
    "value",
    "lower_ci",
    "upper_ci",
    "unweighted_base",
    "flag",
    "compared_to_london",
    "unit",
    "polarity",
    "source",
    "note",
    "proxy",
    "synthetic",
    "flag_reason",
    "uncertainty",
    "method",
]


def test_exact_columns_and_codes(demo_results) -> None:
    e = demo_results.estimates
    assert list(e.columns) == COLUMNS
    assert set(e["compared_to_london"]) <= {"higher", "lower", "similar", "not_compared"}
    assert set(e["flag"]) <= {"", "[c]", "[u]", "[x]"}
    assert set(e["measure_id"]) == {m.id for m in measures.registry()}
    assert set(e["method"]) == {"direct", "modelled"}
    assert not e.duplicated(
        ["indicator", "period", "area_code", "breakdown", "group", "method"]
    ).any()
    whole = e[e["breakdown"] == "all"]
    assert (whole["group"] == "all").all()
    published = e[e["value"].notna() & e["lower_ci"].notna()]
    assert (published["lower_ci"] <= published["value"] + 1e-9).all()
    assert (published["upper_ci"] >= published["value"] - 1e-9).all()


def test_london_rows_are_never_compared_with_themselves(demo_results) -> None:
    e = demo_results.estimates
    london = e[(e.area_code == geography.LONDON_CODE) & (e.breakdown == "all")]
    assert (london["compared_to_london"] == "not_compared").all()


def test_survey_estimate_matches_direct_weighted_mean(demo_inputs, demo_results) -> None:
    pas = demo_inputs.surveys["pas"]
    wave = pas[(pas.period == "2016/17") & (pas.borough == "E09000007") & pas.get_on_well.notna()]
    direct = 100 * np.average(wave["get_on_well"], weights=wave["weight"])
    e = demo_results.estimates
    row = e[(e.indicator == "get_on_well") & (e.period == "2016/17") & (e.area_code == "E09000007")]
    assert row["value"].iloc[0] == pytest.approx(direct)
    assert row["unweighted_base"].iloc[0] == len(wave)


def test_domains_use_the_full_design(demo_inputs) -> None:
    """A domain estimate's SE differs from the naive subset SE (the subset drops strata)."""
    frame = demo_inputs.surveys["ukhls"]
    wave = frame[frame.period == "2016/17"]
    design = survey.Design.from_frame(wave)
    codes = pd.Categorical(
        wave["ethnic_group"],
        categories=["White", "Mixed", "Indian", "Pakistani/Bangladeshi", "Black", "Other"],
    ).codes
    res = survey.domain_means(design, wave["no_one_to_rely_on"].to_numpy(float), [(codes, 6)])
    sub = wave[wave.ethnic_group == "Mixed"]
    alone = survey.domain_means(
        survey.Design.from_frame(sub, lonely_psu="adjust"), sub["no_one_to_rely_on"].to_numpy(float)
    )
    assert res.estimate[2] == pytest.approx(alone.estimate[0])
    # the domain SE keeps every stratum and PSU, so it is not the SE of the subset alone
    assert res.se[2] != pytest.approx(alone.se[0], rel=1e-3)
    assert res.df[0] == design.df and res.df[2] <= design.df


def test_gap_equals_difference_of_published_group_rates(demo_results) -> None:
    d = demo_results.detail
    london = d[(d.area_code == geography.LONDON_CODE) & (d.period == "2016")]
    rate = london[london.indicator == "employment_rate"].set_index(["breakdown", "group"])["value"]
    gap = london[london.indicator == "employment_gap_pakistani_bangladeshi"]["value"].iloc[0]
    assert gap == pytest.approx(
        rate[("ethnic_group", "White")] - rate[("ethnic_group", "Pakistani/Bangladeshi")]
    )
    row = london[london.indicator == "employment_gap_pakistani_bangladeshi"].iloc[0]
    # Wald interval on the design degrees of freedom
    assert row.upper_ci - row.value == pytest.approx(row.value - row.lower_ci)


def test_pooled_borough_gaps_are_labelled_and_compared(demo_results) -> None:
    e = demo_results.estimates
    pooled = e[(e.indicator == "employment_gap_disability") & (e.period == "2016-2018")]
    assert len(pooled) == 34  # London and the 33 boroughs
    assert set(pooled["compared_to_london"]) <= {"higher", "lower", "similar", "not_compared"}
    city = pooled[pooled.area_code == "E09000001"].iloc[0]
    assert city.flag == "[c]" and np.isnan(city.value)


def test_a_gap_measure_missing_its_grouping_variable_is_a_clear_error() -> None:
    import dataclasses

    gap = measures.get("employment_gap")
    broken = dataclasses.replace(gap, series=(dataclasses.replace(gap.series[0], variable=None),))
    with pytest.raises(ValueError, match="'employment_gap' .* declares no variable"):
        estimate.survey_gap_rows(broken, {}, {})


def test_inner_outer_london_rows(demo_results) -> None:
    e = demo_results.estimates
    for indicator in ("get_on_well", "volunteering", "electoral_registration"):
        rows = e[
            (e.indicator == indicator)
            & e.area_code.isin([geography.INNER_LONDON_CODE, geography.OUTER_LONDON_CODE])
        ]
        assert set(rows["area_name"]) == {"Inner London", "Outer London"}


def test_borough_rows_only_where_the_registry_allows(demo_results) -> None:
    """Direct borough figures where the registry allows them; modelled ones (small area
    estimates) for every survey proportion and gap measure, whatever its direct geographies."""
    e = demo_results.estimates
    boroughs = e[e.area_code.str.startswith("E09")]
    direct = boroughs[boroughs["method"] == "direct"]
    modelled = boroughs[boroughs["method"] == "modelled"]
    for m in measures.registry():
        assert (m.id in set(direct["measure_id"])) == ("borough" in m.geographies), m.id
        modelled_kind = m.kind in ("survey_proportion", "survey_gap")
        assert (m.id in set(modelled["measure_id"])) == modelled_kind, m.id


def test_admin_proportion_uses_wilson_interval(demo_inputs) -> None:
    """Declared binomial (no overdispersion model), an admin proportion gets Wilson intervals."""
    import dataclasses

    table = demo_inputs.admin["gcse"]
    row = table[(table.year == 2016) & (table.area_code == "E09000007")].iloc[0]
    lo, hi = proportion_confint(row.pupils_achieving, row.pupils, alpha=0.05, method="wilson")
    binomial = dataclasses.replace(measures.get("gcse_attainment"), uncertainty="binomial")
    rows = estimate.estimate_admin_measure(binomial, table)
    est = rows[(rows.period == "2016") & (rows.area_code == "E09000007")].iloc[0]
    assert est.value == pytest.approx(100 * row.pupils_achieving / row.pupils)
    assert (est.lower_ci, est.upper_ci) == pytest.approx((100 * lo, 100 * hi))
    assert est.uncertainty == "binomial"


def test_rate_uses_exact_poisson_interval() -> None:
    lo, hi = estimate.poisson_interval(np.array([0.0, 10.0, 100.0]))
    # tabulated exact (Garwood) limits for counts of 0 and 10
    assert lo[:2] == pytest.approx([0.0, 4.795389], abs=1e-5)
    assert hi[:2] == pytest.approx([3.688879, 18.390356], abs=1e-5)
    # and the gamma-quantile form of the same interval for 100
    from scipy.stats import gamma

    assert (lo[2], hi[2]) == pytest.approx((gamma.ppf(0.025, 100), gamma.ppf(0.975, 101)))


def test_hate_crime_city_not_available_and_london_from_police_area(
    demo_inputs, demo_results
) -> None:
    e = demo_results.estimates
    rows = e[(e.indicator == "hate_crime") & (e.period == "2016")]
    city = rows[rows.area_code == "E09000001"].iloc[0]
    assert city.flag == "[x]" and np.isnan(city.value) and city.compared_to_london == "not_compared"
    t = demo_inputs.admin["hate_crime"]
    t = t[t.year == 2016]
    london = rows[rows.area_code == geography.LONDON_CODE].iloc[0]
    assert london.value == pytest.approx(1000 * t.hate_crimes.sum() / t.population.sum())


def test_disclosure_control_thresholds_are_configurable(demo_inputs) -> None:
    only = [measures.get("get_on_well")]
    default_all = pipeline.compute(demo_inputs, only).estimates
    strict = pipeline.compute(
        demo_inputs, only, DisclosureRules(suppress_below=500, flag_below=1000)
    ).estimates
    # the thresholds apply to direct figures; a modelled borough figure is published whatever
    # its respondents (that is what the small area model is for), with its own interval
    modelled = default_all[default_all["method"] == "modelled"]
    assert (modelled["flag"] == "").all() and modelled["value"].notna().all()
    assert (modelled["unweighted_base"] < 50).any()
    default, strict = (t[t["method"] == "direct"] for t in (default_all, strict))
    assert (default.loc[default.unweighted_base < 50, "flag"] == "[c]").all()
    assert (default.loc[default.unweighted_base.between(50, 99), "flag"] == "[u]").all()
    assert (default.loc[default.unweighted_base >= 100, "flag"] == "").all()
    suppressed = strict[strict.flag == "[c]"]
    assert len(suppressed) > len(default[default.flag == "[c]"])
    assert suppressed["value"].isna().all() and suppressed["lower_ci"].isna().all()
    assert (suppressed["compared_to_london"] == "not_compared").all()


def test_comparison_with_london_is_backed_by_a_test(demo_results) -> None:
    d = demo_results.detail
    tested = d[d.compared_to_london.isin(["higher", "lower"]) & d.p_vs_london.notna()]
    assert (tested.p_vs_london < 0.05).all()
    similar = d[(d.compared_to_london == "similar") & d.p_vs_london.notna()]
    assert (similar.p_vs_london >= 0.05).all()


def test_changes_since_previous_wave(demo_results) -> None:
    ch = demo_results.changes
    reg = ch[
        (ch.indicator == "get_on_well")
        & (ch.area_code == geography.LONDON_CODE)
        & (ch.breakdown == "all")
    ]
    assert reg["previous_period"].tolist() == ["2014/15", "2015/16", "2016/17", "2017/18"]
    assert (reg["change"] == reg["value"] - reg["previous_value"]).all()
    sig = ch[ch.direction.isin(["increased", "decreased"])]
    assert (sig.p_value < 0.05).all()
    # direction and polarity give the assessment
    up = sig[(sig.direction == "increased") & (sig.unit == "%")]
    merged = up.merge(
        demo_results.estimates[["indicator", "polarity"]].drop_duplicates(), on="indicator"
    )
    assert ((merged.polarity == "up") == (merged.assessment == "better")).all()
    assert not compare.is_pooled(ch["period"]).any()


def test_change_test_against_hand_calculation() -> None:
    detail = pd.DataFrame(
        {
            "measure_id": "m",
            "indicator": "m",
            "area_code": "E12000007",
            "breakdown": "all",
            "group": "all",
            "period": ["2015", "2016"],
            "value": [50.0, 53.0],
            "se": [1.0, 1.0],
            "unit": "%",
            "polarity": "up",
            "flag": "",
        }
    )
    out = compare.changes(detail).iloc[0]
    assert out.change == 3.0
    assert out.p_value == pytest.approx(0.033895, abs=1e-6)  # 2 * (1 - Phi(3 / sqrt(2)))
    assert out.direction == "increased" and out.assessment == "better"


def test_ranks_of_boroughs(demo_results) -> None:
    r = compare.ranks(
        demo_results.estimates, "electoral_registration", "electoral_registration", "2016"
    )
    assert len(r) == 33 and r["n_ranked"].iloc[0] == 33
    assert r.iloc[0]["rank_highest"] == 1 and r.iloc[0]["rank_best"] == 1  # polarity up
    assert r.set_index("area_code").loc["E09000033", "rank_best"] == 33  # Westminster lowest
    h = compare.ranks(demo_results.estimates, "hate_crime", "hate_crime", "2016")
    assert len(h) == 32  # the City has no police figure
    assert (h["rank_best"] == 33 - h["rank_highest"]).all()


def test_secondary_suppression_protects_small_boroughs(demo_results) -> None:
    """The City's early-education figure is [c] (primary); another Inner borough must be too
    (secondary), or Inner London minus the published inner boroughs would give it back."""
    e = demo_results.estimates
    rows = e[(e.indicator == "early_education_2yo") & (e.period == "2016")]
    inner = [b.code for b in geography.all_borough_objects() if b.inner_outer == "Inner"]
    suppressed = rows[rows.area_code.isin(inner) & (rows.flag == "[c]")].set_index("area_code")
    assert suppressed.loc["E09000001", "flag_reason"] == "primary"
    assert (suppressed.drop(index="E09000001")["flag_reason"] == "secondary").sum() == 1
    assert rows[rows.area_code == geography.INNER_LONDON_CODE]["value"].notna().all()


def test_borough_the_source_never_covers_is_not_covered_and_needs_no_secondary_suppression(
    demo_results,
) -> None:
    """GCSE figures never cover the City (registry coverage_excludes): its row is [x] 'not
    covered', the Inner London total leaves it out, so no other borough is withheld."""
    e = demo_results.estimates
    rows = e[(e.indicator == "gcse_attainment") & (e.period == "2016")].set_index("area_code")
    assert (
        rows.loc["E09000001", "flag"] == "[x]"
        and rows.loc["E09000001", "flag_reason"] == "not covered"
    )
    assert not (rows["flag_reason"] == "secondary").any()
    assert rows.loc["E09000020", "flag"] == ""  # Kensington and Chelsea is published


def test_suppressed_rows_reveal_nothing_in_detail(demo_results) -> None:
    hidden = demo_results.detail[demo_results.detail.flag.isin(["[c]", "[x]"])]
    assert len(hidden) > 0
    for col in ("value", "lower_ci", "upper_ci", "se", "p_vs_london"):
        assert hidden[col].isna().all(), col


def test_aggregates_need_every_covered_borough(demo_inputs) -> None:
    table = demo_inputs.admin["electoral"]
    table = table[~((table.year == 2016) & (table.area_code == "E09000008"))]  # Croydon missing
    rows = estimate.estimate_admin_measure(measures.get("electoral_registration"), table)
    y2016 = rows[rows.period == "2016"].set_index("area_code")
    assert y2016.loc[geography.LONDON_CODE, "flag"] == "[x]" and np.isnan(
        y2016.loc[geography.LONDON_CODE, "value"]
    )
    assert y2016.loc[geography.OUTER_LONDON_CODE, "flag"] == "[x]"
    assert y2016.loc[geography.INNER_LONDON_CODE, "flag"] == ""
    # the City is outside Metropolitan Police data by design, so London is still published
    hate = estimate.estimate_admin_measure(
        measures.get("hate_crime"), demo_inputs.admin["hate_crime"]
    )
    assert hate[(hate.area_code == geography.LONDON_CODE)]["flag"].eq("").all()


def test_employment_rate_rows_are_percentages_where_higher_is_better(demo_results) -> None:
    e = demo_results.estimates
    rate = e[e.indicator == "employment_rate"]
    assert set(rate.unit) == {"%"} and set(rate.polarity) == {"up"}
    gap = e[e.indicator == "employment_gap_disability"]
    assert set(gap.unit) == {"percentage points"} and set(gap.polarity) == {"down"}
    assert set(gap.breakdown) == {"disability"} and set(gap.group) == {
        "Not disabled minus Disabled"
    }


def test_extra_columns_are_ignored_and_bad_periods_rejected(demo_inputs) -> None:
    frame = demo_inputs.surveys["taking_part"].assign(interviewer_note="ok")
    inputs = pipeline.Inputs(surveys={"taking_part": frame}, synthetic=True)
    out = pipeline.compute(inputs, [measures.get("volunteering")]).estimates
    assert len(out) > 0
    bad = frame.copy()
    bad.loc[bad.index[3], "period"] = "2015-16"
    with pytest.raises(ValueError, match="row 4, column 'period': period '2015-16' must look like"):
        pipeline.compute(
            pipeline.Inputs(surveys={"taking_part": bad}), [measures.get("volunteering")]
        )


def test_item_missing_for_a_whole_wave_is_not_available(demo_inputs) -> None:
    frame = demo_inputs.surveys["taking_part"].copy()
    frame.loc[frame.period == "2016/17", "volunteered"] = np.nan
    out = pipeline.compute(
        pipeline.Inputs(surveys={"taking_part": frame}, synthetic=True),
        [measures.get("volunteering")],
    ).estimates
    wave = out[out.period == "2016/17"]
    assert (wave.flag == "[x]").all() and wave.value.isna().all()


def test_distribution_functions_match_scipy_stats() -> None:
    """The data step's own t, normal and chi-squared functions (which spare it importing
    scipy.stats) give scipy.stats' numbers exactly, edge cases included."""
    import numpy as np
    from scipy import stats

    from analysis import survey

    x = np.array([-3.0, -0.5, 0.0, 1.2, 4.0, np.inf, np.nan])
    df = np.array([1.0, 2.5, 10.0, 30.0, 100.0, 5.0, 7.0])
    assert np.array_equal(survey.t_sf(x, df), stats.t.sf(x, df), equal_nan=True)
    assert np.array_equal(
        survey.t_sf(x, np.zeros_like(x)), stats.t.sf(x, np.zeros_like(x)), equal_nan=True
    )
    assert np.array_equal(survey.normal_sf(x), stats.norm.sf(x), equal_nan=True)
    assert survey.normal_ppf(0.975) == stats.norm.ppf(0.975)
    for d in (1.0, 2.0, 5.5, 40.0, 1e6):
        assert survey.t_ppf(0.975, d) == stats.t.ppf(0.975, d)
    counts = np.array([0.0, 1.0, 2.0, 10.0, 250.0, np.nan])
    for q in (0.025, 0.975):
        assert np.array_equal(survey.chi2_ppf(q, counts), stats.chi2.ppf(q, counts), equal_nan=True)


def test_stratum_sums_are_the_same_with_or_without_runs_of_psus() -> None:
    """Strata as runs of PSU indices (as ``from_codes`` numbers them) are summed run by run;
    any other numbering is scattered by index. Both give the same sums (to rounding)."""
    rng = np.random.default_rng(4)
    strata = rng.integers(0, 7, 400)
    design = survey.Design.from_codes(
        rng.uniform(0.5, 2, 400), strata, rng.integers(0, 9, 400), lonely_psu="adjust"
    )
    assert design.stratum_starts is not None
    per_psu = rng.normal(size=(design.n_psu, 5))
    runs = design.stratum_sums(per_psu)
    order = rng.permutation(design.n_psu)  # the same PSUs numbered in another order
    shuffled = survey.Design(
        design.weights,
        np.argsort(order)[design.psu],
        design.psu_stratum[order],
        design.n_psu_in_stratum,
        design.lonely_psu,
    )
    assert shuffled.stratum_starts is None
    scattered = shuffled.stratum_sums(per_psu[order])
    np.testing.assert_allclose(scattered, runs, rtol=1e-13)
    in_order = survey.Design(
        design.weights, design.psu, design.psu_stratum, design.n_psu_in_stratum, "adjust"
    )
    object.__setattr__(in_order, "stratum_starts", None)  # force the scatter-add on the same order
    np.testing.assert_allclose(in_order.stratum_sums(per_psu), runs, rtol=1e-13)
    reference = np.array(
        [per_psu[design.psu_stratum == h].sum(axis=0) for h in range(design.n_strata)]
    )
    np.testing.assert_allclose(runs, reference, rtol=1e-12)
