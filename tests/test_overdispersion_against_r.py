"""Agreement with an independent R computation of Spiegelhalter's overdispersion
(fixtures made by tests/fixtures/r_overdispersion/reference.R, which also checks its
unwinsorised tau^2 against metafor's DerSimonian-Laird estimate)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rcheck import assert_rerun_matches

from analysis import estimate, geography, measures, overdispersion

FIXTURES = Path(__file__).parent / "fixtures" / "r_overdispersion"
TOL = 1e-6
BOROUGHS = geography.borough_codes()
# each fixture data set as a registry measure (every borough covered)
MEASURES = {
    "register": dataclasses.replace(measures.get("electoral_registration"), coverage_excludes=()),
    "rate": dataclasses.replace(measures.get("hate_crime"), coverage_excludes=()),
    "chance": dataclasses.replace(measures.get("electoral_registration"), coverage_excludes=()),
}


@pytest.fixture(scope="module")
def areas() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "areas.csv")


@pytest.fixture(scope="module")
def expected_summary() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "expected_summary.csv").set_index("dataset")


def _table(areas: pd.DataFrame, name: str) -> pd.DataFrame:
    m = MEASURES[name]
    x = areas[areas.dataset == name].sort_values("area")
    return pd.DataFrame(
        {
            "area_code": [BOROUGHS[i - 1] for i in x.area],
            "year": 2018,
            m.numerator[0]: x.numerator.to_numpy(float),
            m.denominator: x.denominator.to_numpy(float),
        }
    )


@pytest.mark.parametrize("name", ["register", "rate", "chance"])
def test_overdispersion_matches_r(areas, expected_summary, name) -> None:
    exp = expected_summary.loc[name]
    m = MEASURES[name]
    x = areas[areas.dataset == name]
    values = x.numerator / x.denominator * m.multiplier
    poisson = m.kind == "admin_rate"
    od = overdispersion.estimate(
        values, x.denominator, exp.target, poisson=poisson, multiplier=m.multiplier
    )
    assert od.method == exp.method
    assert (od.phi, od.tau2) == pytest.approx((exp.phi, exp.tau2), rel=TOL, abs=TOL)
    # without winsorising the additive variance is metafor's DerSimonian-Laird tau^2
    raw = overdispersion.estimate(
        values,
        x.denominator,
        exp.target,
        poisson=poisson,
        multiplier=m.multiplier,
        winsor=None,
        spread=0.0,
    )
    if raw.method == "overdispersed_additive":
        assert raw.tau2 == pytest.approx(exp.tau2_dl_unwinsorised, rel=TOL)


@pytest.mark.parametrize("name", ["register", "rate", "chance"])
def test_estimates_carry_the_adjusted_standard_errors(areas, expected_summary, name) -> None:
    """Through the library's admin estimator: each borough's and London's adjusted standard
    error and each borough's p-value against London are R's."""
    exp = pd.read_csv(FIXTURES / "expected_areas.csv")
    exp = exp[exp.dataset == name].sort_values("area")
    rows = estimate.estimate_admin_measure(MEASURES[name], _table(areas, name)).set_index(
        "area_code"
    )
    b = rows.loc[BOROUGHS]
    assert b.value.to_numpy() == pytest.approx(exp.value.to_numpy(), rel=TOL)
    assert b.se.to_numpy() == pytest.approx(exp.se.to_numpy(), rel=TOL)
    london = rows.loc[geography.LONDON_CODE]
    assert london.value == pytest.approx(expected_summary.loc[name].target, rel=TOL)
    assert london.se == pytest.approx(expected_summary.loc[name].total_se, rel=TOL)
    if expected_summary.loc[name].method.startswith("overdispersed"):
        assert b.p_vs_london.to_numpy() == pytest.approx(exp.p_value.to_numpy(), rel=TOL, abs=1e-12)
        lower = np.maximum(exp.value - 1.959963984540054 * exp.se, 0)
        assert b.lower_ci.to_numpy() == pytest.approx(lower.to_numpy(), rel=TOL)


def test_fixtures_are_what_r_computes(tmp_path) -> None:
    """Where R and metafor are installed, rerun the reference script and compare."""
    assert_rerun_matches(
        FIXTURES,
        tmp_path,
        inputs=["areas.csv"],
        outputs=["expected_summary.csv", "expected_areas.csv"],
        packages=["metafor"],
    )
