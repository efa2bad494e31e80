"""Programme evaluation statistics against R (fixtures made by tests/fixtures/r_evaluation/reference.R).

clubSandwich's CR2 with Bell-McCaffrey (Satterthwaite) degrees of freedom, sandwich + lmtest's
CR1, survey's svymean with sites as clusters (Obuchowski's clustered McNemar test) and the
mid-p McNemar test, each to 1e-6; the R script reruns live where R and its packages are
installed and is skipped cleanly otherwise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rcheck import assert_rerun_matches, read_expected

from analysis import cluster_robust, evaluation
from analysis import evaluation_stats as es

FIXTURES = Path(__file__).parent / "fixtures" / "r_evaluation"
TOL = 1e-6
OUTCOME = evaluation.initiative("london_family_fund").outcome("someone_to_rely_on")


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "evaluation_sample.csv")


@pytest.fixture(scope="module")
def long(sample) -> pd.DataFrame:
    """The sample in the documented long format (one row per person per wave)."""
    frame = sample.melt(
        id_vars=["participant_id", "site", "group"],
        value_vars=["pre", "post"],
        var_name="wave",
        value_name=OUTCOME.code,
    )
    return frame.assign(initiative="london_family_fund")


@pytest.fixture(scope="module")
def expected() -> pd.DataFrame:
    return read_expected(FIXTURES / "expected.csv").set_index("quantity")


def _cr2(inf: cluster_robust.Inference) -> tuple[float, ...]:
    """Estimate, standard error, df, p and interval with CR2 errors and Bell-McCaffrey df."""
    return (inf.estimate, inf.se_cr2, inf.df_bm, inf.p_cr2, inf.lower_cr2, inf.upper_cr2)


def _cr1(inf: cluster_robust.Inference) -> tuple[float, ...]:
    """The same with CR1 errors on clusters minus one degrees of freedom."""
    return (inf.estimate, inf.se_cr1, inf.df_cr1, inf.p_cr1, inf.lower_cr1, inf.upper_cr1)


def _check(got: tuple[float, ...], row: pd.Series) -> None:
    """``got`` equals R's row (estimate, se, df, p, lower, upper) to 1e-6."""
    assert got == pytest.approx(
        (row.estimate, row.se, row.df, row.p, row.lower, row.upper), abs=TOL
    )


def test_paired_change_clustered_by_site(long, expected) -> None:
    pc = es.paired_change(long, OUTCOME)
    _check(_cr2(pc.clustered), expected.loc["paired_cr2"])
    _check(_cr1(pc.clustered), expected.loc["paired_cr1"])
    assert pc.change == pytest.approx(expected.loc["paired_cr2"].estimate, abs=1e-9)


def test_obuchowski_clustered_mcnemar(sample, expected) -> None:
    prog = sample[sample.group == "programme"]
    est, se, p = es.obuchowski_test(
        100 * (prog.post - prog.pre).to_numpy(float), prog.site.to_numpy()
    )
    row = expected.loc["paired_obuchowski"]
    assert (est, se, p) == pytest.approx((row.estimate, row.se, row.p), abs=TOL)


def test_difference_in_differences_cr2_cr1_and_by_participant(long, expected) -> None:
    d = es.did(long, OUTCOME)
    inf = d.clustered
    _check(_cr2(inf), expected.loc["did_cr2"])
    _check(_cr1(inf), expected.loc["did_cr1"])
    _check(_cr2(d.by_participant), expected.loc["did_participant_hc2"])
    # 9 sites: the rule reports the wild bootstrap with Webb weights, on sites minus one df for the MDE
    assert inf.method == "bootstrap" and inf.boot_weights == "Webb" and inf.df == 8
    assert "Webb" in inf.method_name and inf.p == inf.p_boot


@pytest.mark.parametrize(
    "quantity",
    [
        "midp_15_5",
        "midp_5_15",
        "midp_15_15",
        "midp_30_12",
        "midp_1_0",
        "midp_40_41",
        "midp_7_7",
        "midp_3_11",
    ],
)
def test_mid_p_mcnemar(expected, quantity) -> None:
    b, c = (int(x) for x in quantity.split("_")[1:])
    assert es.mcnemar_midp(b, c).pvalue == pytest.approx(expected.loc[quantity].estimate, abs=TOL)


def test_fixtures_are_what_r_computes(tmp_path) -> None:
    """Where R and its packages are installed, rerun the reference script and compare."""
    assert_rerun_matches(
        FIXTURES,
        tmp_path,
        inputs=["evaluation_sample.csv"],
        outputs=["expected.csv"],
        packages=["survey", "clubSandwich", "sandwich", "lmtest"],
    )


def test_bootstrap_is_seeded_and_matches_a_brute_force_refit(sample) -> None:
    """The per-cluster shortcut equals refitting OLS on every bootstrap sample (a few draws, by brute force)."""
    X = np.column_stack([np.ones(len(sample)), (sample.group == "programme").to_numpy(float)])
    y = 100.0 * (sample.post - sample.pre).to_numpy(float)
    fit = cluster_robust.ClusteredOLS(X, y, sample.site.to_numpy())
    V = fit.weights(25, seed=7)
    assert np.array_equal(V, fit.weights(25, seed=7)) and set(np.round(np.abs(V).ravel(), 6)) <= {
        0.707107,
        1.0,
        1.224745,
    }
    theta = 3.0
    p = fit.bootstrap_p(1, theta, V)
    # brute force: restricted fit, wild draws, full refit and CR1 t statistic on each
    target = fit.y - theta * fit.X[:, 1]
    restricted = target - target.mean()
    fitted = fit.y - restricted
    t_obs = (fit.beta[1] - theta) / fit.cr1_se(1)
    exceed = 0
    for v in V:
        ystar = fitted + v[fit.codes] * restricted
        refit = cluster_robust.ClusteredOLS(fit.X, ystar, fit.codes)
        exceed += abs((refit.beta[1] - theta) / refit.cr1_se(1)) >= abs(t_obs) - 1e-12
    assert p == pytest.approx(exceed / len(V), abs=1e-12)
    lo, hi = fit.bootstrap_interval(1, fit.weights(999, seed=3), scale=10.0)
    assert lo < fit.beta[1] < hi
    assert (
        fit.bootstrap_p(1, lo - 0.5, fit.weights(999, seed=3))
        <= 0.05
        < fit.bootstrap_p(1, lo + 0.5, fit.weights(999, seed=3))
    )


def test_rule_names_the_method_by_number_of_sites() -> None:
    assert cluster_robust.choose_method(5) == cluster_robust.choose_method(11) == "bootstrap"
    assert cluster_robust.choose_method(12) == cluster_robust.choose_method(30) == "CR2"
    assert "Webb" in cluster_robust.bootstrap_name(
        11
    ) and "Rademacher" in cluster_robust.bootstrap_name(12)


def test_intervals_are_cut_to_the_values_a_change_can_take(sample) -> None:
    prog = sample[sample.group == "programme"]
    fit = cluster_robust.ClusteredOLS(
        np.ones(len(prog)), 100.0 * (prog.post - prog.pre).to_numpy(float), prog.site.to_numpy()
    )
    free = fit.infer(0, seed=1)
    cut = fit.infer(0, seed=1, bounds=(5.0, 20.0))
    assert (
        free.lower_cr2 < 5 < 20 < free.upper_cr2
    )  # the uncut CR2 interval (1.8 to 30.5) passes both bounds
    assert (cut.lower_cr2, cut.upper_cr2, cut.lower_boot, cut.upper_boot) == (5.0, 20.0, 5.0, 20.0)
    assert cut.p_cr2 == free.p_cr2 and cut.p_boot == free.p_boot


def _cr2_by_the_book(fit: cluster_robust.ClusteredOLS, j: int) -> float:
    """CR2's standard error straight from its definition: (I - H_gg)^(-1/2) of each cluster by
    its own eigendecomposition, as clubSandwich computes it."""
    total = 0.0
    for a, b in zip(fit.starts[:-1], fit.starts[1:]):
        Xg = fit.X[a:b]
        vals, vecs = np.linalg.eigh(np.eye(b - a) - Xg @ fit.M @ Xg.T)
        A = vecs @ np.diag(vals**-0.5) @ vecs.T
        total += float((A @ Xg @ fit.M[:, j]) @ fit.resid[a:b]) ** 2
    return float(np.sqrt(total))


@pytest.mark.parametrize("k", [1, 2, 4])
def test_cr2_through_k_by_k_problems_equals_the_definition(k) -> None:
    """The fit works with each cluster's k x k cross-products instead of its n_g x n_g hat
    matrix: the same standard errors as the definition, clusters of unequal sizes, one with
    fewer rows than regressors."""
    rng = np.random.default_rng(k)
    n = 300
    X = np.column_stack([np.ones(n), *(rng.normal(size=n) for _ in range(k - 1))])
    clusters = rng.integers(0, 15, n)
    clusters[:2] = 99  # a cluster of two rows
    y = X @ np.arange(k) + rng.normal(size=n) + rng.normal(size=100)[clusters % 100]
    fit = cluster_robust.ClusteredOLS(X, y, clusters)
    for j in range(k):
        assert fit.cr2(j)[0] == pytest.approx(_cr2_by_the_book(fit, j), rel=1e-10)


def test_cr2_refuses_a_regressor_that_identifies_one_cluster() -> None:
    X = np.column_stack([np.ones(20), np.r_[np.ones(4), np.zeros(16)]])
    clusters = np.repeat(np.arange(5), 4)
    fit = cluster_robust.ClusteredOLS(X, np.arange(20.0), clusters)
    with pytest.raises(ValueError, match="CR2 is undefined"):
        fit.cr2(1)
