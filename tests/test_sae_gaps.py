"""Modelled borough gaps (a difference between two groups of a borough) and modelled changes
between waves in the demo build (analysis.sae)."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import compare, estimate, geography, measures, survey
from analysis.sae import data as sae_data

GAP_MEASURE = "employment_gap"


def _gap_models(demo_results):
    return [m for m in demo_results.models if m.direct.kind == sae_data.GAP]


def test_gap_directs_are_the_published_estimator_s_gaps(demo_inputs, demo_results) -> None:
    """On a pooled window the direct inputs equal the pooled borough gaps of estimates.csv
    (value and standard error): the same joint estimate, the groups' covariance included."""
    m = measures.get(GAP_MEASURE)
    arrays = estimate.SurveyArrays.from_frame(
        demo_inputs.surveys[m.source_family],
        items=m.items(),
        source="test",
        lonely_psu=demo_inputs.lonely_psu,
    )
    window = arrays.periods[-3:]
    label = f"{window[0]}-{window[-1]}"
    got = sae_data.gap_directs(m, {label: arrays.wave(window, label)})
    d = demo_results.detail
    assert len(got) == len(m.series)
    for direct in got:
        rows = d[
            (d["indicator"] == direct.indicator)
            & (d["period"] == label)
            & (d["method"] == "direct")
            & d["area_code"].str.startswith("E09")
        ].set_index("area_code")
        rows = rows.reindex(geography.borough_codes())
        # where estimates.csv publishes the gap (a suppressed one is blank there)
        have = np.isfinite(direct.estimate) & rows["value"].notna().to_numpy()
        assert have.sum() >= 10
        assert 100 * direct.estimate[have] == pytest.approx(
            rows["value"].to_numpy()[have], abs=1e-8
        )
        assert 100 * np.sqrt(direct.variance[have]) == pytest.approx(
            rows["se"].to_numpy()[have], abs=1e-8
        )
        assert direct.n == pytest.approx(rows["unweighted_base"].to_numpy(dtype=float), abs=0)


def test_gaps_are_modelled_or_say_why(demo_results) -> None:
    m = measures.get(GAP_MEASURE)
    fitted = {mdl.direct.indicator for mdl in _gap_models(demo_results)}
    failed = {k.split("__")[1] for k in demo_results.models_failed}
    assert fitted, "no gap was modelled in the demo"
    assert fitted | failed == set(m.indicators)
    for name, why in demo_results.models_failed.items():
        assert name.startswith(GAP_MEASURE) and "publishable direct estimate" in why


def test_modelled_gap_rows_are_labelled_like_the_direct_gaps(demo_results) -> None:
    e = demo_results.detail
    mod = e[(e["method"] == "modelled") & (e["measure_id"] == GAP_MEASURE)]
    assert len(mod) > 0
    series = {s.indicator: s for s in measures.get(GAP_MEASURE).series}
    for indicator, rows in mod.groupby("indicator"):
        s = series[indicator]
        assert (rows["breakdown"] == s.variable).all()
        assert (rows["group"] == f"{s.reference_group} minus {s.comparison_group}").all()
    assert (mod["unit"] == "percentage points").all()
    assert ((mod["lower_ci"] <= mod["value"]) & (mod["value"] <= mod["upper_ci"])).all()
    assert ((mod["lower_ci"] >= -100) & (mod["upper_ci"] <= 100)).all()
    assert (mod["uncertainty"] == "small_area_model").all()
    # single waves, not the pooled windows of the direct borough gaps
    assert not compare.is_pooled(mod["period"]).any()


def test_gap_benchmark_is_the_direct_london_gap_within_boroughs(demo_results) -> None:
    for mdl in _gap_models(demo_results):
        t, d = mdl.table, mdl.direct
        have = np.isfinite(d.estimate)
        w = d.weighted_n[have] / d.weighted_n[have].sum()
        assert d.target == pytest.approx(w @ d.estimate[have], abs=1e-12)
        assert w @ t["eblup"].to_numpy()[have] == pytest.approx(100 * d.target, abs=1e-9)
        bench = mdl.meta["benchmarking"]
        assert bench["composition"] == pytest.approx(d.london - d.target)
        assert bench["london_direct"] == d.london
        # compared with London's own direct gap, on the MSE and London's standard error
        diff = t["eblup"] - 100 * d.london
        p = 2 * survey.normal_sf(np.abs(diff / np.sqrt(t["mse"] + (100 * d.london_se) ** 2)))
        assert t["p_vs_london"].to_numpy() == pytest.approx(np.asarray(p))


def test_gap_gvf_uses_london_s_design_effect_of_the_gap(demo_results) -> None:
    from analysis.sae import variance

    for mdl in _gap_models(demo_results)[:3]:
        d = mdl.direct
        assert d.london_groups is not None and d.n_groups is not None
        deff = mdl.meta["variance_smoothing"]["design_effect"]
        assert deff == pytest.approx(variance.london_deff_gap(d.london_se**2, *d.london_groups))
        fitted = np.isfinite(mdl.table["variance_used"].to_numpy())
        expected = variance.gvf_gap(
            d.n_groups[:, 0], d.n_groups[:, 1], d.london_groups[0], d.london_groups[1], deff
        )
        assert mdl.table["variance_used"].to_numpy()[fitted] == pytest.approx(
            1e4 * expected[fitted]
        )


def test_modelled_changes_are_tested_on_their_mse(demo_results) -> None:
    by_indicator: dict[tuple[str, str], list] = {}
    for mdl in demo_results.models:
        by_indicator.setdefault((mdl.direct.measure_id, mdl.direct.indicator), []).append(mdl)
    checked = 0
    for group in list(by_indicator.values())[::4]:
        first = group[0].table
        assert first["change_since_previous"].isna().all()
        assert group[0].meta["change"]["previous_period"] is None
        for prev, cur in zip(group, group[1:], strict=False):
            t = cur.table
            assert cur.meta["change"]["previous_period"] == prev.direct.period
            change = t["eblup"] - prev.table["eblup"]
            assert t["change_since_previous"].to_numpy() == pytest.approx(change.to_numpy())
            assert (t["change_mse"] > 0).all()
            p = 2 * survey.normal_sf(np.abs(change / np.sqrt(t["change_mse"])))
            if not cur.meta["change"]["series_break"]:
                assert t["p_change"].to_numpy() == pytest.approx(np.asarray(p))
            assert list(t["change_direction"]) == list(
                compare.change_direction(change, t["p_change"])
            )
            checked += 1
    assert checked > 10


def test_change_mse_is_below_the_sum_of_the_levels_with_a_persistent_effect(demo_results) -> None:
    """Where the persistent effect is there, the two waves' errors are positively correlated."""
    two = [
        m
        for m in demo_results.models
        if m.meta["area_effect_variance_components"] and m.meta["change"]["previous_period"]
    ]
    assert two
    by_name = {(m.direct.indicator, m.direct.period): m for m in demo_results.models}
    below = 0
    for mdl in two:
        prev = by_name[(mdl.direct.indicator, mdl.meta["change"]["previous_period"])]
        total = mdl.table["mse"] + prev.table["mse"]
        below += int((mdl.table["change_mse"] < total).sum())
        assert (mdl.table["change_mse"] < 1.01 * total).all()
    assert below > 0.9 * 33 * len(two)


def test_simulation_benchmark_runs_for_a_gap(capsys) -> None:
    """A smoke run of benchmarks/bench_sae.py on a gap (its real run takes 100 samples)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_sae.py"
    spec = importlib.util.spec_from_file_location("bench_sae", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    args = ["--family", "ukhls", "--item", "employed", "--period", "2018/19"]
    args += ["--gap", "sex:Male:Female", "--n", "12000", "--samples", "2", "--scale", "0.01"]
    assert bench.main(args) == 0
    out = capsys.readouterr().out
    assert "mean RMSE (points)" in out and "gap sex:Male:Female" in out
