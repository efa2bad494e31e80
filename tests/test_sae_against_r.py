"""Agreement of the Fay-Herriot fit with R's metafor (fixtures made by tests/fixtures/r_sae/reference.R).

``rma(yi, vi, mods = ~ inner + bame, method = "REML")`` fits the same model as
:func:`analysis.sae.model.fit`, and ``blup()`` gives its EBLUPs with standard errors
``sqrt(g1 + g2)`` (metafor leaves out g3, the term for estimating A).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rcheck import assert_rerun_matches

from analysis.sae import model

FIXTURES = Path(__file__).parent / "fixtures" / "r_sae"
TOL = 1e-6


@pytest.fixture(scope="module")
def areas() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "areas.csv")


@pytest.fixture(scope="module")
def expected() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "expected.csv")


def _fit(areas: pd.DataFrame, dataset: str) -> model.Fit:
    X = np.column_stack([np.ones(len(areas)), areas["inner"], areas["bame"]])
    return model.fit(areas[dataset], areas["D"], X, remedy=False)


@pytest.mark.parametrize("dataset", ["spread", "flat"])
def test_reml_variance_coefficients_and_eblups_equal_metafor(areas, expected, dataset) -> None:
    fit = _fit(areas, dataset)
    r = expected[expected["dataset"] == dataset].reset_index(drop=True)
    assert pytest.approx(r["tau2"].iloc[0], abs=TOL) == fit.A
    assert fit.beta == pytest.approx(r[["b0", "b_inner", "b_bame"]].iloc[0].to_numpy(), abs=TOL)
    assert fit.eblup == pytest.approx(r["blup"].to_numpy(), abs=TOL)
    assert fit.synthetic == pytest.approx(r["fitted"].to_numpy(), abs=TOL)
    terms = fit.mse_terms()
    assert np.sqrt(terms["g1"] + terms["g2"]) == pytest.approx(r["blup_se"].to_numpy(), abs=TOL)


def test_the_boundary_case_is_a_boundary(areas, expected) -> None:
    """The "flat" data put metafor's REML estimate at zero: the EBLUPs are the regression values."""
    assert (expected.loc[expected["dataset"] == "flat", "tau2"] == 0).all()
    assert (expected.loc[expected["dataset"] == "spread", "tau2"] > 1e-3).all()
    fit = _fit(areas, "flat")
    assert fit.A == 0 and fit.method == model.REML
    assert fit.eblup == pytest.approx(fit.synthetic, abs=1e-12)


def test_fixtures_are_what_r_computes(tmp_path) -> None:
    """Where R and metafor are installed, rerun the reference script and compare."""
    # REML is fitted iteratively: two runs agree to the optimiser's tolerance, not to 1e-12
    assert_rerun_matches(
        FIXTURES,
        tmp_path,
        inputs=["areas.csv"],
        outputs=["expected.csv"],
        packages=["metafor"],
        rtol=1e-9,
        atol=1e-12,
    )


# ----------------------------------------------------------------------------------------
# Two variance components (waves fitted together): metafor's rma.mv


def _two_level():
    from analysis.sae import twolevel

    d = pd.read_csv(FIXTURES / "waves.csv")
    waves = int(d["wave"].max())
    Xb = np.column_stack([np.ones(len(d)), d["inner"], d["bame"]])
    X = np.zeros((len(d), 3 * waves))
    for i, w in enumerate(d["wave"]):
        X[i, 3 * (w - 1) : 3 * w] = Xb[i]
    Z = (d["area"].to_numpy()[:, None] == np.unique(d["area"])[None, :]).astype(float)
    return twolevel.fit(d["y"].to_numpy(), d["D"].to_numpy(), X, Z), X, Z


def test_two_component_reml_and_eblups_equal_metafor() -> None:
    fit, X, Z = _two_level()
    r = pd.read_csv(FIXTURES / "expected_twolevel.csv")
    assert fit.s == pytest.approx([r["s_u"].iloc[0], r["s_v"].iloc[0]], abs=TOL)
    assert (fit.s > 1e-4).all()  # both components are there to estimate
    est, mse, _, _ = fit.targets(X, Z, np.eye(len(r)))
    assert est == pytest.approx(r["eblup"].to_numpy(), abs=TOL)
    assert X @ fit.beta == pytest.approx(r["fitted"].to_numpy(), abs=TOL)
    assert (mse > 0).all()


def test_two_component_fixtures_are_what_r_computes(tmp_path) -> None:
    assert_rerun_matches(
        FIXTURES,
        tmp_path,
        script="reference_twolevel.R",
        inputs=["waves.csv"],
        outputs=["expected_twolevel.csv"],
        packages=["metafor"],
        rtol=1e-9,
        atol=1e-12,
    )


def test_two_component_fit_says_when_it_has_not_converged() -> None:
    """The build falls back to the one-component model then (analysis.sae.boroughs)."""
    from analysis.sae import twolevel

    fit, X, Z = _two_level()
    assert fit.converged and fit.iterations > 1
    short = twolevel.fit(fit.y, fit.D, X, Z, max_iter=1)
    assert not short.converged


# ----------------------------------------------------------------------------------------
# Gaps between two groups of a borough: the GVF of a difference and the two-component fit


def _gaps():
    from analysis.sae import twolevel, variance

    d = pd.read_csv(FIXTURES / "gaps.csv")
    waves = int(d["wave"].max())
    Xb = np.column_stack([np.ones(len(d)), d["inner"], d["bame"]])
    X = np.zeros((len(d), 3 * waves))
    for i, w in enumerate(d["wave"]):
        X[i, 3 * (w - 1) : 3 * w] = Xb[i]
    Z = (d["area"].to_numpy()[:, None] == np.unique(d["area"])[None, :]).astype(float)
    D = variance.gvf_gap(d["n_a"], d["n_b"], d["p_a"].iloc[0], d["p_b"].iloc[0], d["deff"].iloc[0])
    return d, twolevel.fit(d["y"].to_numpy(), D, X, Z), X, Z, D


def test_gap_gvf_is_the_documented_variance_of_a_difference() -> None:
    d, _, _, _, smoothed = _gaps()
    assert smoothed == pytest.approx(d["D"].to_numpy(), rel=1e-12)


def test_gap_model_reml_and_eblups_equal_metafor() -> None:
    d, fit, X, Z, _ = _gaps()
    r = pd.read_csv(FIXTURES / "expected_gaps.csv")
    assert fit.s == pytest.approx([r["s_u"].iloc[0], r["s_v"].iloc[0]], abs=TOL)
    assert (fit.s > 1e-5).all()
    est, mse, _, _ = fit.targets(X, Z, np.eye(len(r)))
    assert est == pytest.approx(r["eblup"].to_numpy(), abs=TOL)
    assert X @ fit.beta == pytest.approx(r["fitted"].to_numpy(), abs=TOL)
    assert (d["y"] < 0).any() and (mse > 0).all()  # gaps on the raw scale, some negative


def test_gap_fixtures_are_what_r_computes(tmp_path) -> None:
    assert_rerun_matches(
        FIXTURES,
        tmp_path,
        script="reference_gaps.R",
        inputs=["gaps.csv"],
        outputs=["expected_gaps.csv"],
        packages=["metafor"],
        rtol=1e-9,
        atol=1e-12,
    )
