"""Agreement with R's survey package (fixtures made by tests/fixtures/r_survey/reference.R)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rcheck import assert_rerun_matches, read_expected

from analysis import schemas, survey

FIXTURES = Path(__file__).parent / "fixtures" / "r_survey"
TOL = 1e-6


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "design_sample.csv")


@pytest.fixture(scope="module")
def expected() -> pd.DataFrame:
    return read_expected(FIXTURES / "expected.csv")


@pytest.fixture(scope="module")
def expected_domain_df() -> pd.DataFrame:
    """R's svyby(..., svyciprop) with its default per-domain degrees of freedom."""
    return read_expected(FIXTURES / "expected_domain_df.csv")


@pytest.fixture(scope="module")
def design(sample: pd.DataFrame) -> survey.Design:
    return survey.Design.from_frame(sample, weight="weight", strata="stratum", psu="psu")


def _row(
    expected: pd.DataFrame, quantity: str, variable: str, domain_var: str, value: str
) -> pd.Series:
    hit = expected[
        (expected.quantity == quantity)
        & (expected.variable == variable)
        & (expected.domain_var == domain_var)
        & (expected.domain_value == value)
    ]
    assert len(hit) == 1, (quantity, variable, domain_var, value)
    return hit.iloc[0]


def test_design_degrees_of_freedom(design: survey.Design, expected: pd.DataFrame) -> None:
    assert design.df == int(expected["df"].dropna().iloc[0]) == 25


@pytest.mark.parametrize("variable", ["y", "y_na"])
def test_proportions_overall_and_by_domain(
    sample, design, expected, expected_domain_df, variable
) -> None:
    codes, levels = pd.factorize(sample["group"], sort=True)
    res = survey.domain_means(design, sample[variable].to_numpy(float), [(codes, len(levels))])
    lo, hi = survey.logit_ci(res.estimate, res.se, res.df)
    overall = _row(expected, "proportion", variable, "all", "all")
    assert (res.estimate[0], res.se[0], lo[0], hi[0], res.df[0]) == pytest.approx(
        (overall.estimate, overall.se, overall.lower, overall.upper, overall.df), abs=TOL
    )
    for k, label in enumerate(levels, start=1):
        row = _row(expected_domain_df, "proportion", variable, "group", label)
        assert res.df[k] == row.df  # PSUs with members minus strata with members, as R's degf
        assert (res.estimate[k], res.se[k], lo[k], hi[k]) == pytest.approx(
            (row.estimate, row.se, row.lower, row.upper), abs=TOL
        )


def test_domain_degrees_of_freedom_differ_for_rare_groups(sample, design) -> None:
    codes, levels = pd.factorize(sample["group"], sort=True)
    res = survey.domain_means(design, sample["y"].to_numpy(float), [(codes, len(levels))])
    assert list(res.df) == [25, 25, 25, 24, 14]


def test_all_zero_domain_gets_an_exact_interval(sample, design) -> None:
    y = sample["y"].to_numpy(float).copy()
    codes, levels = pd.factorize(sample["group"], sort=True)
    y[codes == list(levels).index("D")] = 0.0
    res = survey.domain_means(design, y, [(codes, len(levels))])
    lo, hi = survey.logit_ci(res.estimate, res.se, res.df, n=res.n)
    d = 1 + list(levels).index("D")
    assert res.estimate[d] == 0 and lo[d] == 0
    assert hi[d] == pytest.approx(1 - 0.025 ** (1 / res.n[d]))  # Clopper-Pearson upper limit at 0


def test_proportion_by_area(sample, design, expected_domain_df) -> None:
    codes, levels = pd.factorize(sample["area"], sort=True)
    res = survey.domain_means(design, sample["y"].to_numpy(float), [(codes, 2)], include_all=False)
    lo, hi = survey.logit_ci(res.estimate, res.se, res.df)
    for k, label in enumerate(levels):
        row = _row(expected_domain_df, "proportion", "y", "area", label)
        assert (res.estimate[k], res.se[k], lo[k], hi[k]) == pytest.approx(
            (row.estimate, row.se, row.lower, row.upper), abs=TOL
        )


def test_means_with_t_intervals(sample, design, expected) -> None:
    codes, levels = pd.factorize(sample["group"], sort=True)
    res = survey.domain_means(design, sample["x"].to_numpy(float), [(codes, len(levels))])
    # the fixture's mean intervals use the full design's degrees of freedom
    lo, hi = survey.wald_ci(res.estimate, res.se, design.df)
    for k, label in enumerate(["all", *levels]):
        row = _row(expected, "mean", "x", "all" if label == "all" else "group", label)
        assert (res.estimate[k], res.se[k], lo[k], hi[k]) == pytest.approx(
            (row.estimate, row.se, row.lower, row.upper), abs=TOL
        )


@pytest.mark.parametrize("pair", ["A-B", "A-C", "B-D"])
def test_differences_between_domains_use_covariance(sample, design, expected, pair) -> None:
    codes, levels = pd.factorize(sample["group"], sort=True)
    res = survey.domain_means(
        design, sample["y"].to_numpy(float), [(codes, len(levels))], include_all=False
    )
    a, b = pair.split("-")
    diff, se = res.contrast(list(levels).index(a), list(levels).index(b))
    lo, hi = survey.wald_ci(diff, se, design.df)
    row = _row(expected, "difference", "y", "group", pair)
    assert (diff, se, float(lo), float(hi)) == pytest.approx(
        (row.estimate, row.se, row.lower, row.upper), abs=TOL
    )


def test_part_whole_difference(sample, design, expected) -> None:
    codes, levels = pd.factorize(sample["area"], sort=True)
    res = survey.domain_means(design, sample["y"].to_numpy(float), [(codes, 2)])
    diff, se = res.contrast(1 + list(levels).index("north"), 0)
    row = _row(expected, "difference", "y", "area_vs_all", "north-all")
    assert (diff, se) == pytest.approx((row.estimate, row.se), abs=TOL)


def test_total(sample, design, expected) -> None:
    est, se = survey.total(design, sample["y"].to_numpy(float))
    row = _row(expected, "total", "y", "all", "all")
    assert est == pytest.approx(row.estimate, rel=1e-12)
    assert se == pytest.approx(row.se, abs=TOL)


def test_single_psu_stratum_is_a_clear_error(sample) -> None:
    broken = sample[
        ~((sample.stratum == 1) & (sample.psu != sample[sample.stratum == 1].psu.min()))
    ]
    with pytest.raises(ValueError, match="single PSU"):
        survey.Design.from_frame(broken, source="broken.csv")
    adjusted = survey.Design.from_frame(broken, lonely_psu="adjust")
    res = survey.domain_means(adjusted, broken["y"].to_numpy(float))
    assert np.isfinite(res.se[0]) and res.se[0] > 0


def test_non_positive_weight_names_row_and_column(sample) -> None:
    bad = sample.copy()
    bad.loc[5, "weight"] = 0
    with pytest.raises(ValueError, match=r"wave\.csv, row 7, column 'weight'"):
        survey.Design.from_frame(bad, source="wave.csv")


def test_pooling_keeps_waves_as_separate_strata(sample) -> None:
    from analysis.estimate import SurveyArrays

    wave = sample.assign(
        borough="E09000007",
        stratum=sample["stratum"].astype(str),
        psu=sample["psu"].astype(str),
        **{v: levels[0] for v, levels in schemas.LEVELS.items()},
    )
    two = pd.concat([wave.assign(period="2015"), wave.assign(period="2016")], ignore_index=True)
    data = SurveyArrays.from_frame(two, items=["y"], source="test")
    pooled = data.wave(["2015", "2016"], "2015-2016")
    assert pooled.design.n_strata == 16 and pooled.design.df == 50
    res = survey.domain_means(pooled.design, pooled.item("y", None))
    single = survey.domain_means(survey.Design.from_frame(sample), sample["y"].to_numpy(float))
    # two identical independent waves: same mean, variance halved, weights averaged
    assert res.estimate[0] == pytest.approx(single.estimate[0])
    assert res.se[0] == pytest.approx(single.se[0] / np.sqrt(2))
    assert pooled.design.weights.sum() == pytest.approx(sample["weight"].sum())


def test_fixtures_are_what_r_computes(tmp_path) -> None:
    """Where R and its survey package are installed, rerun the reference script and compare."""
    assert_rerun_matches(
        FIXTURES,
        tmp_path,
        inputs=["design_sample.csv"],
        outputs=["expected.csv", "expected_domain_df.csv"],
        packages=["survey"],
    )
