"""The MSE of a modelled change between two waves (analysis.sae.twolevel.Fit2.change and
analysis.sae.changes), by hand on a small example and by Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.sae import twolevel


def _small(areas: int = 5, waves: int = 2, seed: int = 1):
    """A small stacked design: ``areas`` boroughs in ``waves`` waves, an intercept and one
    covariate per wave, unequal sampling variances."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, areas)
    X = np.zeros((areas * waves, 2 * waves))
    for w in range(waves):
        X[w * areas : (w + 1) * areas, 2 * w] = 1
        X[w * areas : (w + 1) * areas, 2 * w + 1] = x
    Z = np.tile(np.eye(areas), (waves, 1))
    D = rng.uniform(0.5, 2.0, areas * waves) * 1e-3
    beta = np.tile([0.5, 0.1], waves)
    return X, Z, D, beta


def _targets(areas: int, waves: int, X: np.ndarray, wave: int):
    rows = np.arange(wave * areas, (wave + 1) * areas)
    ST = np.zeros((areas, areas * waves))
    ST[np.arange(areas), rows] = 1.0
    return X[rows], np.eye(areas), ST


def test_change_mse_equals_a_hand_computed_blup_error_variance() -> None:
    """Known (s_u, s_v): the BLUP of each theta written from first principles (GLS beta,
    cov(theta, y) V^-1 residual), and the variance of the change's error taken from the
    joint covariance of (y, theta_T, theta_S)."""
    areas, waves = 4, 2
    X, Z, D, beta = _small(areas, waves)
    s = np.array([2e-3, 1e-3])
    y = X @ beta  # the first-order MSE does not depend on y
    fit = twolevel.at(s, y, D, X, Z)
    T, S = _targets(areas, waves, X, 1), _targets(areas, waves, X, 0)
    _, _, g12 = fit.change(T, S)
    V = s[0] * Z @ Z.T + np.diag(s[1] + D)
    Vi = np.linalg.inv(V)
    C = np.linalg.inv(X.T @ Vi @ X)
    H = C @ X.T @ Vi
    for i in range(areas):
        t, r = areas + i, i  # rows of borough i in waves 2 and 1
        # cov(y, theta_t) and cov(y, theta_r): the persistent effect in every row of borough i,
        # the wave effect in its own row only
        g_t = s[0] * Z[:, i] + s[1] * (np.arange(areas * waves) == t)
        g_r = s[0] * Z[:, i] + s[1] * (np.arange(areas * waves) == r)
        m_t = X[t] @ H + g_t @ Vi @ (np.eye(len(y)) - X @ H)
        m_r = X[r] @ H + g_r @ Vi @ (np.eye(len(y)) - X @ H)
        # error = (m_t - m_r) y - (theta_t - theta_r); var(theta_t - theta_r) = 2 s_v
        ell = m_t - m_r
        by_hand = ell @ V @ ell - 2 * ell @ (g_t - g_r) + 2 * s[1]
        assert g12[i] == pytest.approx(by_hand, rel=1e-10)
    # the change's MSE is below the sum of the two waves' MSEs: their errors share u_i
    _, mse_t, _, _ = fit.targets(*T)
    _, mse_s, _, _ = fit.targets(*S)
    assert (g12 < mse_t + mse_s).all()


def test_change_mse_agrees_with_monte_carlo() -> None:
    """Simulate the model at known (s_u, s_v); the empirical variance of the BLUP change's
    error matches g12 (seeded; 20,000 draws, so about 1% noise on a variance)."""
    areas, waves = 6, 3
    X, Z, D, beta = _small(areas, waves, seed=7)
    s = np.array([3e-3, 5e-4])
    rng = np.random.default_rng(20261203)
    reps = 20_000
    u = rng.normal(0, np.sqrt(s[0]), (reps, areas))
    v = rng.normal(0, np.sqrt(s[1]), (reps, areas * waves))
    theta = X @ beta + u @ Z.T + v
    Y = theta + rng.normal(0, np.sqrt(D), (reps, areas * waves))
    fit = twolevel.at(s, Y[0], D, X, Z)
    T, S = _targets(areas, waves, X, 2), _targets(areas, waves, X, 1)
    _, _, g12 = fit.change(T, S)
    _, _, MT, _ = fit.targets(*T)
    _, _, MS, _ = fit.targets(*S)
    err = Y @ (MT - MS).T - (theta[:, 2 * areas :] - theta[:, areas : 2 * areas])
    assert np.abs(err.mean(axis=0)).max() < 4 * np.sqrt(g12.max() / reps)  # unbiased
    assert err.var(axis=0) == pytest.approx(g12, rel=0.05)
    # and the naive sum of the two levels' MSEs is far off (the errors are correlated)
    naive = fit.targets(*T)[1] + fit.targets(*S)[1]
    assert (naive > 1.2 * err.var(axis=0)).all()


def test_change_estimate_is_the_difference_of_the_two_eblups() -> None:
    areas, waves = 5, 2
    X, Z, D, beta = _small(areas, waves, seed=3)
    rng = np.random.default_rng(5)
    y = X @ beta + rng.normal(0, 0.05, areas) @ Z.T + rng.normal(0, np.sqrt(D))
    fit = twolevel.at(np.array([2e-3, 4e-4]), y, D, X, Z)
    T, S = _targets(areas, waves, X, 1), _targets(areas, waves, X, 0)
    est, mse, g12 = fit.change(T, S)
    assert est == pytest.approx(fit.targets(*T)[0] - fit.targets(*S)[0], abs=1e-14)
    assert (mse >= g12).all()  # 2 g3 for estimating (s_u, s_v) on top


def test_adjustment_covariance_of_a_wave_with_itself_is_its_variance() -> None:
    """With a suppressed borough (out of sample) in each wave: a wave's adjustment
    covariance with itself is benchmark_variance, and two waves' adjustments are correlated
    through the persistent effects."""
    areas, waves = 5, 2
    X, Z, D, beta = _small(areas, waves, seed=4)
    keep = np.r_[np.arange(1, areas), areas + np.arange(1, areas)]  # borough 0 suppressed
    Xk, Zk, Dk = X[keep], Z[keep], D[keep]
    fit = twolevel.at(np.array([2e-3, 4e-4]), Xk @ beta, Dk, Xk, Zk)
    w = np.full(areas, 1 / areas)
    forms, variances = [], []
    for wave in range(waves):
        ST = np.zeros((areas, keep.size))
        ST[np.arange(1, areas), wave * (areas - 1) + np.arange(areas - 1)] = 1.0
        rows = slice(wave * areas, (wave + 1) * areas)
        _, _, M, _ = fit.targets(X[rows], np.eye(areas), ST)
        args = (M[1:], ST[1:], w[1:], M[:1], np.eye(areas)[:1], w[:1], D[rows][:1])
        forms.append(twolevel.adjustment(fit, *args, wave))
        variances.append(twolevel.benchmark_variance(fit, *args))
    for form, var in zip(forms, variances, strict=True):
        assert twolevel.adjustment_cov(fit, form, form) == pytest.approx(var, rel=1e-12)
    cov = twolevel.adjustment_cov(fit, forms[0], forms[1])
    assert cov == pytest.approx(twolevel.adjustment_cov(fit, forms[1], forms[0]), rel=1e-12)
    assert abs(cov) < np.sqrt(variances[0] * variances[1])
