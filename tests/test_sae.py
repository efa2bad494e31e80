"""Small area estimation: MSE terms by hand, the zero remedy, variance smoothing, benchmarking,
covariates, and the modelled borough figures a build publishes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import compare, geography, measures, pipeline
from analysis.sae import benchmarking, boroughs, covariates, model, twolevel, variance
from analysis.validate import InputError

FIXTURES = Path(__file__).parent / "fixtures" / "r_sae"


def test_mse_terms_by_hand_balanced() -> None:
    """A = 1, four areas with D = 1, intercept only: V = 2, B = 1/2, cov(beta) = 1/2,
    var(A) = 2 / (4 / 4) = 2; g1 = 1/2, g2 = 1/4 * 1/2, g3 = 1/8 * 2; mse = 1.125."""
    t = model.mse_terms(1.0, np.ones(4), np.ones((4, 1)), np.array([[0.5]]))
    assert t["g1"] == pytest.approx([0.5] * 4)
    assert t["g2"] == pytest.approx([0.125] * 4)
    assert t["g3"] == pytest.approx([0.25] * 4)
    assert t["g1"] + t["g2"] + 2 * t["g3"] == pytest.approx([1.125] * 4)


def test_mse_terms_by_hand_unequal_variances() -> None:
    """A = 1, D = (1, 3): V = (2, 4), B = (1/2, 3/4), cov(beta) = 1 / (1/2 + 1/4) = 4/3,
    var(A) = 2 / (1/4 + 1/16) = 6.4; g1 = (1/2, 3/4), g2 = (1/3, 3/4),
    g3 = (1/8 * 6.4, 9/64 * 6.4) = (0.8, 0.9)."""
    t = model.mse_terms(1.0, np.array([1.0, 3.0]), np.ones((2, 1)), np.array([[4 / 3]]))
    assert t["g1"] == pytest.approx([0.5, 0.75])
    assert t["g2"] == pytest.approx([1 / 3, 0.75])
    assert t["g3"] == pytest.approx([0.8, 0.9])
    assert not t["bias"].any()


def test_fit_mse_is_the_sum_of_its_terms_and_cov_beta_is_gls() -> None:
    areas = pd.read_csv(FIXTURES / "areas.csv")
    X = np.column_stack([np.ones(len(areas)), areas["inner"], areas["bame"]])
    fit = model.fit(areas["spread"], areas["D"], X)
    t = fit.mse_terms()
    assert fit.mse == pytest.approx(t["g1"] + t["g2"] + 2 * t["g3"])
    V = fit.A + areas["D"].to_numpy()
    assert fit.beta_cov == pytest.approx(np.linalg.inv(X.T @ (X / V[:, None])))
    assert ((fit.shrinkage > 0) & (fit.shrinkage < 1)).all()
    # the area with the largest sampling variance is shrunk the most
    assert fit.shrinkage.argmax() == areas["D"].to_numpy().argmax()


def test_li_lahiri_remedy_when_reml_is_zero() -> None:
    areas = pd.read_csv(FIXTURES / "areas.csv")
    X = np.column_stack([np.ones(len(areas)), areas["inner"], areas["bame"]])
    y, D = areas["flat"].to_numpy(), areas["D"].to_numpy()
    fit = model.fit(y, D, X)
    assert fit.A_reml == 0 and fit.method == model.LI_LAHIRI and fit.A > 0
    score = model._score_info(fit.A, y, D, X)[0]
    assert 1 / fit.A + score == pytest.approx(
        0, abs=1e-6 / fit.A
    )  # the adjusted score is zero there
    assert (fit.mse > 0).all()
    assert (fit.shrinkage < 1).all()  # the EBLUP keeps some of each area's own estimate


def test_unsampled_area_gets_the_regression_value_and_a_larger_mse() -> None:
    areas = pd.read_csv(FIXTURES / "areas.csv")
    X = np.column_stack([np.ones(len(areas)), areas["inner"], areas["bame"]])
    fit = model.fit(areas["spread"], areas["D"], X)
    value, mse = fit.predict_unsampled(X[:1])
    assert value[0] == pytest.approx(fit.synthetic[0])
    assert mse[0] == pytest.approx(fit.A + X[0] @ fit.beta_cov @ X[0])
    assert mse[0] > fit.mse[0]


def test_model_refuses_bad_inputs() -> None:
    X = np.column_stack([np.ones(5), np.arange(5.0)])
    with pytest.raises(model.ModelError, match="variances"):
        model.fit(np.ones(5) * 0.5, [0.01, 0.01, 0.0, 0.01, 0.01], X)
    with pytest.raises(model.ModelError, match="too few"):
        model.fit([0.5, 0.4, 0.3], [0.01] * 3, np.column_stack([np.ones(3), np.arange(3.0)]))
    with pytest.raises(model.ModelError, match="collinear"):
        model.fit(np.linspace(0.3, 0.6, 5), [0.01] * 5, np.column_stack([np.ones(5), np.ones(5)]))


def test_gvf_smoothing() -> None:
    n = np.array([100.0, 30.0, 50.0, 0.0])
    p = np.array([0.5, 0.9, 0.5, 0.5])
    deff = variance.london_deff(0.0002, 0.3, 2000)
    assert deff == pytest.approx(0.0002 / (0.21 / 2000))
    D = variance.gvf(n, p, deff)
    assert D[:3] == pytest.approx(deff * p[:3] * (1 - p[:3]) / n[:3])
    assert np.isnan(D[3])  # no respondents: no sampling variance
    assert variance.gvf([10.0], [0.999], 1.0)[0] == pytest.approx(
        0.98 * 0.02 / 10
    )  # p held in 2%-98%
    v = np.array([0.002, 0.0, 0.004, np.nan])
    assert variance.pooled_deff(v, n, p) == pytest.approx(
        0.006 / (p[:3] * (1 - p[:3]) / n[:3]).sum()
    )
    with pytest.raises(ValueError, match="design effect"):
        variance.london_deff(0.0, 0.3, 100)


def test_benchmarking_variance_is_that_of_the_adjustment() -> None:
    """g4 written with V - X C X' equals the variance a'Va of the adjustment, linear in y."""
    areas = pd.read_csv(FIXTURES / "areas.csv")
    X = np.column_stack([np.ones(len(areas)), areas["inner"], areas["bame"]])
    fit = model.fit(areas["spread"], areas["D"], X)
    w = benchmarking.weights(areas["n"].to_numpy())
    # adjustment = target - w'eblup = w'B (y - X beta) + (target - w'y); beta = C X'V^-1 y
    V = fit.V
    H = X @ fit.beta_cov @ (X.T / V)
    a = (np.eye(len(V)) - H).T @ (fit.shrinkage * w)
    assert benchmarking.g4(fit, w) == pytest.approx(a @ (V * a), rel=1e-10)


def test_covariates_one_rule_for_demo_and_real(real_data) -> None:
    from analysis.sources import published

    demo = covariates.demo()
    profiles = published.load_borough_profiles(
        real_data / "borough_profiles" / "london-borough-profiles.csv"
    )
    real = covariates.from_profiles(profiles)
    for table in (demo, real):
        assert list(table.columns) == list(covariates.COVARIATES)
        assert list(table.index) == geography.borough_codes()
        assert table.notna().all().all()
    assert real.loc["E09000007", "bame_pct"] == pytest.approx(
        profiles.loc["E09000007", covariates.PROFILES_COLUMN]
    )
    assert (demo["inner_london"] == real["inner_london"]).all()


def test_covariate_missing_for_a_borough_names_the_row_and_column() -> None:
    values = pd.Series(30.0, index=geography.borough_codes())
    values.loc["E09000001"] = np.nan
    with pytest.raises(InputError, match=r"profiles.csv, row 1, column 'bame_pct'.*E09000001"):
        covariates.table(values, "profiles.csv")


# ----------------------------------------------------------------------------------------
# The build's modelled borough figures


@pytest.fixture(scope="module")
def written(demo_results, tmp_path_factory):
    out = tmp_path_factory.mktemp("sae")
    pipeline.write_results(demo_results, out, parquet=False)
    return out


def test_every_survey_proportion_indicator_and_wave_is_modelled(demo_results) -> None:
    """(Gaps: tests/test_sae_gaps.py.)"""
    proportions = [m for m in demo_results.models if m.direct.kind == "proportion"]
    assert not [k for k in demo_results.models_failed if not k.startswith("employment_gap")]
    expected = {
        (m.id, s.indicator)
        for m in measures.registry()
        if m.kind == "survey_proportion"
        for s in m.series
    }
    got = {(mdl.direct.measure_id, mdl.direct.indicator) for mdl in proportions}
    assert got == expected
    assert len(proportions) == 5 * len(expected)


def test_modelled_rows_are_labelled_and_sound(demo_results) -> None:
    e = demo_results.detail
    mod = e[e["method"] == "modelled"]
    assert mod["area_code"].str.startswith("E09").all()
    assert mod["source"].str.contains("modelled: Fay-Herriot").all()
    assert (mod["uncertainty"] == "small_area_model").all() and (mod["flag_reason"] == "").all()
    assert mod["value"].notna().all() and (mod["flag"] == "").all()
    assert ((mod["lower_ci"] <= mod["value"]) & (mod["value"] <= mod["upper_ci"])).all()
    gap = mod["unit"] == "percentage points"  # a gap between groups: -100 to 100
    assert ((mod["lower_ci"] >= np.where(gap, -100, 0)) & (mod["upper_ci"] <= 100)).all()
    # a borough whose direct figure is suppressed still has a modelled one
    direct = e[(e["method"] == "direct") & (e["flag"] == "[c]") & (e["breakdown"] == "all")]
    key = ["measure_id", "indicator", "period", "area_code"]
    both = direct[key].merge(mod[key + ["value"]], on=key)
    assert len(both) > 0 and both["value"].notna().all()
    assert set(mod["compared_to_london"]) <= {"higher", "lower", "similar"}


def test_comparison_with_london_uses_the_mse(demo_results) -> None:
    from analysis import survey

    for mdl in demo_results.models[::7]:
        t, d = mdl.table, mdl.direct
        diff = t["eblup"] - 100 * d.london
        z = diff / np.sqrt(t["mse"] + (100 * d.london_se) ** 2)
        p = 2 * survey.normal_sf(np.abs(z))
        assert t["p_vs_london"].to_numpy() == pytest.approx(np.asarray(p))
        assert list(t["compared_to_london"]) == list(compare.verdict(diff, p))


def test_benchmarked_boroughs_add_up_to_the_direct_london_estimate(demo_results) -> None:
    for mdl in demo_results.models:
        t, d = mdl.table, mdl.direct
        have = d.n > 0
        w = d.weighted_n[have] / d.weighted_n[have].sum()
        assert w @ t["eblup"].to_numpy()[have] == pytest.approx(100 * d.benchmark, abs=1e-9)
        if d.kind == "proportion":
            assert d.benchmark == d.london
        assert (t["mse"] > t["mse_before_benchmarking"]).all()


def test_modelled_files_have_the_published_columns(written, demo_results) -> None:
    folder = written / "modelled"
    name = "get_on_well__get_on_well__2018-19"
    table = pd.read_csv(folder / f"{name}.csv")
    assert list(table.columns[: len(boroughs.TABLE_COLUMNS)]) == boroughs.TABLE_COLUMNS
    assert list(table["area_code"]) == geography.borough_codes()
    assert (
        table["shrinkage"].dropna().between(0, 1).all()
    )  # blank where the direct figure is suppressed
    meta = json.loads((folder / f"{name}.json").read_text())
    assert set(meta["coefficients"]) == {"intercept", "x_inner_london", "x_bame_pct"}
    assert meta["area_effect_variance"] > 0 and meta["method"].startswith(("REML", "Li-Lahiri"))
    assert len(list(folder.glob("*.csv"))) == len(demo_results.models)
    # the City's direct PAS figure is suppressed (45 respondents) in estimates.csv, so here too
    city = table.set_index("area_code").loc["E09000001"]
    assert (
        np.isnan(city["direct"])
        and np.isnan(city["direct_variance"])
        and not np.isnan(city["eblup"])
    )
    # nor can it be worked back from the shrinkage, the unbenchmarked EBLUP or the residual
    assert (
        city[["shrinkage", "eblup_before_benchmarking", "standardised_residual", "variance_used"]]
        .isna()
        .all()
    )
    camden = table.set_index("area_code").loc["E09000007"]  # published directly, so shown in full
    assert (
        camden[["direct", "shrinkage", "eblup_before_benchmarking", "standardised_residual"]]
        .notna()
        .all()
    )


def test_modelled_files_blank_direct_figures_by_the_build_rules(demo_inputs, tmp_path) -> None:
    from analysis.sdc import DisclosureRules

    strict = pipeline.compute(
        demo_inputs, [measures.get("get_on_well")], DisclosureRules(396, 1000)
    )
    pipeline.write_results(strict, tmp_path, parquet=False)
    table = pd.read_csv(tmp_path / "modelled" / "get_on_well__get_on_well__2018-19.csv")
    hidden = table["respondents"] < 396
    assert hidden.sum() >= 5 and (~hidden).sum() >= boroughs.MIN_AREAS
    assert table.loc[hidden, "direct"].isna().all() and table["eblup"].notna().all()
    for column in boroughs.REVEAL_DIRECT:
        assert table.loc[hidden, column].isna().all(), column
    # with every borough suppressed there is nothing to fit: no modelled figures, and why
    none = pipeline.compute(demo_inputs, [measures.get("get_on_well")], DisclosureRules(5000, 9000))
    assert not none.models and "publishable direct estimate" in next(
        iter(none.models_failed.values())
    )


def _indicator(demo_results, measure_id: str, indicator: str) -> list[boroughs.Direct]:
    return [
        mdl.direct
        for mdl in demo_results.models
        if (mdl.direct.measure_id, mdl.direct.indicator) == (measure_id, indicator)
    ]


def _published(models: list[boroughs.Model], rules) -> list[tuple[pd.DataFrame, dict]]:
    """What the build publishes of each model: its file's columns (blanked) and JSON."""
    out = []
    for mdl in models:
        t = mdl.table.copy()
        hidden = np.isin(rules.flags(t["respondents"].astype(float)), ["[c]", "[x]"])
        for c in boroughs.REVEAL_DIRECT:
            t.loc[hidden, c] = np.nan
        out.append((t, mdl.meta))
    return out


def test_suppressed_borough_direct_figure_cannot_be_recovered(demo_results) -> None:
    """A borough whose direct figure is [c] is predicted out of sample: change its direct
    estimate (London's, which is published, unchanged) and nothing published changes, in
    any wave, for any borough; its figure is the regression value with MSE A + x'Cx + g4."""
    from analysis.sdc import DisclosureRules

    rules = DisclosureRules()
    items = _indicator(demo_results, "volunteering", "volunteering")
    cov = covariates.demo()
    before, _ = boroughs.fit_indicator(items, cov, rules)
    j = next(i for i, d in enumerate(items) if ((d.n > 0) & (d.n < 50)).any())
    s = int(np.flatnonzero((items[j].n > 0) & (items[j].n < 50))[0])
    changed = [
        boroughs.Direct(**{**d.__dict__})
        if i != j
        else boroughs.Direct(
            **{
                **d.__dict__,
                "estimate": np.where(np.arange(33) == s, 0.97, d.estimate),
                "variance": np.where(np.arange(33) == s, 1e-4, d.variance),
            }
        )
        for i, d in enumerate(items)
    ]
    after, _ = boroughs.fit_indicator(changed, cov, rules)
    assert after[j].table.loc[s, "direct"] == pytest.approx(97)  # the input did change
    for (t0, m0), (t1, m1) in zip(_published(before, rules), _published(after, rules), strict=True):
        pd.testing.assert_frame_equal(t0, t1)
        assert json.dumps(m0, sort_keys=True, default=str) == json.dumps(
            m1, sort_keys=True, default=str
        )
    t, meta = before[j].table, before[j].meta
    assert t.loc[s, "shrinkage"] == 1
    assert t.loc[s, "eblup"] == pytest.approx(
        t.loc[s, "synthetic_estimate"] + 100 * meta["benchmarking"]["adjustment"]
    )
    # while a published borough's figure does move with its own direct estimate
    k = int(np.flatnonzero(items[j].n >= 100)[0]) if (items[j].n >= 100).any() else None
    if k is None:
        k = int(np.flatnonzero(items[j].n >= 50)[0])
    moved = [
        d
        if i != j
        else boroughs.Direct(
            **{**d.__dict__, "estimate": np.where(np.arange(33) == k, 0.97, d.estimate)}
        )
        for i, d in enumerate(items)
    ]
    assert boroughs.fit_indicator(moved, cov, rules)[0][j].table.loc[k, "eblup"] != pytest.approx(
        t.loc[k, "eblup"]
    )


def test_waves_share_the_area_effect_variance(demo_results) -> None:
    items = _indicator(demo_results, "volunteering", "volunteering")
    models = [m for m in demo_results.models if any(m.direct is d for d in items)]
    assert len(models) == 5
    assert len({m.meta["area_effect_variance"] for m in models}) == 1
    assert models[0].meta["area_effect_variance_shared_by_waves"] == [d.period for d in items]
    # each wave keeps its own regression
    assert len({m.meta["coefficients"]["intercept"] for m in models}) == 5
    # one wave alone: its own A
    alone = boroughs.fit_boroughs(items[0], covariates.demo())
    assert alone.meta["area_effect_variance_shared_by_waves"] == [items[0].period]


def test_rewriting_replaces_the_modelled_folder(written, demo_results) -> None:
    stale = written / "modelled" / "old__model__2001.csv"
    stale.write_text("x\n")
    pipeline.write_results(demo_results, written, parquet=False)
    assert not stale.exists()
    assert len(list((written / "modelled").glob("*.json"))) == len(demo_results.models)


def test_ranks_and_changes_use_direct_figures_only(demo_results) -> None:
    r = compare.ranks(demo_results.estimates, "get_on_well", "get_on_well", "2018/19")
    assert len(r) == r["area_code"].nunique() == r["n_ranked"].iloc[0] <= 33
    ch = demo_results.changes
    assert not ch.duplicated(["indicator", "area_code", "breakdown", "group", "period"]).any()
    assert not ((ch["indicator"] == "volunteering") & ch["area_code"].str.startswith("E09")).any()


def test_no_covariates_no_models(demo_inputs) -> None:
    import dataclasses

    inputs = dataclasses.replace(demo_inputs, area_covariates=None)
    results = pipeline.compute(inputs, [measures.get("get_on_well")])
    assert not results.models and (results.estimates["method"] == "direct").all()


def test_waves_added_by_codebook_are_modelled(tmp_path) -> None:
    from test_waves import PERIOD, write_codebook, write_wave

    from analysis.sources import demo, waves

    base = pipeline.Inputs(
        surveys={"ukhls": demo.survey_wave("ukhls", "2015/16")},
        synthetic=True,
        area_covariates=covariates.demo(),
    )
    added = waves.add_waves(base, [(write_wave(tmp_path, ".csv"), write_codebook(tmp_path))])
    results = pipeline.compute(added, [measures.get("social_isolation")])
    assert {mdl.direct.period for mdl in results.models} == {"2015/16", PERIOD}
    assert (results.estimates["method"] == "modelled").sum() == 2 * 33


def test_real_covariates_feed_the_models(demo_inputs, real_data) -> None:
    """A real build's survey waves (added by codebook) are modelled on the Borough Profiles."""
    import dataclasses

    from analysis.sources import published

    profiles = published.load_borough_profiles(
        real_data / "borough_profiles" / "london-borough-profiles.csv"
    )
    inputs = dataclasses.replace(demo_inputs, area_covariates=covariates.from_profiles(profiles))
    results = pipeline.compute(inputs, [measures.get("get_on_well")])
    table = results.models[0].table.set_index("area_code")
    assert table["x_bame_pct"].to_numpy() == pytest.approx(
        profiles.loc[geography.borough_codes(), covariates.PROFILES_COLUMN].to_numpy(dtype=float)
    )


def test_a_borough_without_respondents_gets_the_regression_value(demo_results) -> None:
    """One wave alone (one variance component): the regression value, MSE A + x'cov(beta)x."""
    unsampled = [mdl for mdl in demo_results.models if (mdl.direct.n == 0).any()]
    assert unsampled  # the City of London is often missing from the clustered samples
    for mdl in unsampled[:5]:
        one = boroughs.fit_boroughs(mdl.direct, covariates.demo())
        t, none = one.table, mdl.direct.n == 0
        assert one.meta["method"] != twolevel.METHOD
        assert (t.loc[none, "shrinkage"] == 1).all() and t.loc[none, "direct"].isna().all()
        shift = one.meta["benchmarking"]["adjustment"] * 100
        assert t.loc[none, "eblup"].to_numpy() == pytest.approx(
            t.loc[none, "synthetic_estimate"].to_numpy() + shift
        )
        # its MSE, A + x'cov(beta)x, exceeds the area-effect variance alone
        assert (
            t.loc[none, "mse_before_benchmarking"] > one.meta["area_effect_variance"] * 1e4
        ).all()


def test_waves_together_borrow_a_borough_s_persistent_effect(demo_results) -> None:
    """With a persistent borough effect, a borough with no respondents in one wave is placed
    off the regression line on the side its other waves put it: the sign of
    ``sum_j r_j / (s_v + D_j)`` over its fitted waves (the BLUP of ``u``), and on the line
    when it has no fitted wave at all (a borough suppressed in every wave)."""
    moved = 0
    for mdl in demo_results.models:
        if mdl.meta["method"] != twolevel.METHOD:
            continue
        s_u = mdl.meta["area_effect_variance_components"]["borough_effect"]
        s_v = mdl.meta["area_effect_variance_components"]["wave_effect"]
        same = [
            m.table.set_index("area_code")
            for m in demo_results.models
            if (m.direct.measure_id, m.direct.indicator)
            == (mdl.direct.measure_id, mdl.direct.indicator)
        ]
        t = mdl.table
        for i in np.flatnonzero(mdl.direct.n == 0):
            code = t.loc[i, "area_code"]
            r = np.array([w.loc[code, "standardised_residual"] for w in same])
            D = np.array([w.loc[code, "variance_used"] for w in same]) / 1e4
            use = np.isfinite(r)
            pull = np.sum(r[use] * np.sqrt(s_u + s_v + D[use]) / (s_v + D[use]))
            offset = t.loc[i, "eblup_before_benchmarking"] - t.loc[i, "synthetic_estimate"]
            if not use.any():
                assert offset == pytest.approx(0, abs=1e-9)
            else:
                assert np.sign(offset) == np.sign(pull)
                moved += 1
    assert moved > 0


def test_two_component_mse_is_fay_herriot_without_a_persistent_effect() -> None:
    """The general MSE (g1, g2, g3 by matrices) reduces to the one-component terms when the
    persistent variance is zero and the wave variance's information is FH's."""
    areas = pd.read_csv(FIXTURES / "areas.csv")
    X = np.column_stack([np.ones(len(areas)), areas["inner"], areas["bame"]])
    one = model.fit(areas["spread"], areas["D"], X, remedy=False)
    m = len(areas)
    V = one.A + one.D
    info = np.array([[1.0, 0.0], [0.0, 0.5 * np.sum(V**-2.0)]])
    two = twolevel.Fit2(
        np.array([0.0, one.A]),
        one.beta,
        one.beta_cov,
        info,
        one.y,
        one.D,
        X,
        np.eye(m),
        np.diag(V),
        np.diag(1 / V),
        0,
    )
    est, mse, _, B = two.targets(X, np.eye(m), np.eye(m))
    assert est == pytest.approx(one.eblup, rel=1e-10)
    assert mse == pytest.approx(one.mse, rel=1e-10)
    assert 1 - np.diag(B) == pytest.approx(one.shrinkage, rel=1e-8)


def test_simulation_benchmark_runs(capsys) -> None:
    """A smoke run of benchmarks/bench_sae.py (its real run takes 200 samples)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_sae.py"
    spec = importlib.util.spec_from_file_location("bench_sae", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--samples", "3", "--scale", "0.01"]) == 0
    out = capsys.readouterr().out
    assert "average coverage of 95% intervals" in out and "Barking and Dagenham" in out
