"""Modelled borough figures for every survey proportion and gap: direct inputs in, models out.

One Fay-Herriot model (:mod:`analysis.sae.model`) per survey measure and indicator, its waves
fitted together, for the 33 boroughs, on the proportion scale (0-1) for a proportion and the
raw difference (-1 to 1) for a gap between two groups (:mod:`analysis.sae.data`):

1. direct estimates, design-based variances and respondent counts per borough, from the
   survey estimator (the whole design kept; boroughs as domains), with London's direct
   estimate from the same pass;
2. a borough whose direct figure the disclosure rules suppress (``[c]``) is left out of the
   fit and predicted out of sample, as a borough without respondents is, so that nothing
   published depends on its direct estimate;
3. sampling variances smoothed by the GVF (:mod:`analysis.sae.variance`), in two fits;
4. one REML fit over the stacked waves, each wave with its own coefficients: a persistent
   borough effect and a wave effect (:mod:`analysis.sae.twolevel`), or one area-effect
   variance for all waves when nothing persists; EBLUP and MSE (Prasad-Rao, Datta-Lahiri),
   a borough out of sample getting its prediction from the regression and its other waves;
5. each wave benchmarked to its London direct estimate (:mod:`analysis.sae.benchmarking`),
   the variance of the adjustment added to every MSE;
6. 95% intervals ``eblup +/- 1.96 sqrt(mse)``, with bounds held on the raw scale: the
   intervals, and in the rare case it strays there the estimate itself, are cut at 0% and
   100% (-100 and 100 points for a gap; the benchmark then holds only approximately);
7. the comparison with London: a z test of the modelled figure minus London's direct
   estimate, on ``sqrt(mse_i + se_London^2)``. Both contain the borough's own sample, so
   their covariance is positive and leaving it out makes the test conservative;
8. the change since the previous wave: a z test on the MSE of the change
   (:mod:`analysis.sae.changes`).

A gap needs no transformation: a difference of two proportions is on an unbounded-looking
scale far from its bounds (-1 and 1), and its sampling distribution is closer to normal than
either rate's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from analysis import compare, geography, survey
from analysis.sae import benchmarking, changes, covariates, model, twolevel, variance
from analysis.sae.data import (
    GAP,
    METHOD_DIRECT,
    METHOD_LABEL,
    METHOD_MODELLED,
    TABLE_COLUMNS,
    UNCERTAINTY,
    Direct,
    Model,
    directs,
    gap_directs,
)
from analysis.sae.publish import REVEAL_DIRECT, rows, write
from analysis.sdc import SUPPRESSED, DisclosureRules

__all__ = [
    "METHOD_DIRECT",
    "METHOD_LABEL",
    "METHOD_MODELLED",
    "MIN_AREAS",
    "REVEAL_DIRECT",
    "TABLE_COLUMNS",
    "UNCERTAINTY",
    "Direct",
    "Model",
    "directs",
    "fit_all",
    "fit_boroughs",
    "fit_indicator",
    "gap_directs",
    "rows",
    "write",
]

MIN_AREAS = 10  # fewer boroughs with respondents than this: no model (too little to fit A)


def _blocks(X: np.ndarray, wave: int, waves: int) -> np.ndarray:
    """Rows of ``X`` placed in wave ``wave``'s block of the stacked design (one set of
    coefficients per wave)."""
    out = np.zeros((X.shape[0], X.shape[1] * waves))
    out[:, wave * X.shape[1] : (wave + 1) * X.shape[1]] = X
    return out


def fit_boroughs(direct: Direct, cov: pd.DataFrame, rules: DisclosureRules | None = None) -> Model:
    """One indicator-wave on its own (its area-effect variance from this wave alone)."""
    models, failed = fit_indicator([direct], cov, rules)
    if failed:
        raise model.ModelError(next(iter(failed.values())))
    return models[0]


def fit_indicator(
    items: list[Direct],
    cov: pd.DataFrame,
    rules: DisclosureRules | None = None,
    breaks: set[str] | frozenset[str] = frozenset(),
) -> tuple[list[Model], dict[str, str]]:
    """Fit, predict, benchmark and compare every wave of one indicator (module docstring).

    The waves share one area-effect variance ``A`` (one REML fit over the stacked waves,
    each wave with its own coefficients): 33 boroughs give ``A`` too noisily when the
    borough differences are small beside the sampling error (REML at zero in a third of
    the demo's models, and intervals too wide or too narrow as a result), and the spread of
    boroughs around the regression changes far less between waves than the direct
    estimates do. Each wave keeps its own regression, EBLUPs, benchmark and MSE.

    A borough whose direct figure the disclosure ``rules`` suppress is predicted out of
    sample, like a borough without respondents: its own sample does not enter the fit, so
    no published figure depends on its direct estimate (beyond London's, which is
    published anyway).

    Each wave after the first gets its change since the previous one, tested with the
    change's MSE (:mod:`analysis.sae.changes`), except across a series break (``breaks``:
    the periods where the measure's definition changed)."""
    rules = rules or DisclosureRules()
    codes = np.asarray(geography.borough_codes())
    Xb = np.column_stack(
        [np.ones(len(codes)), cov.reindex(codes)[list(covariates.COVARIATES)].to_numpy(dtype=float)]
    )
    p = Xb.shape[1]
    failed: dict[str, str] = {}
    usable: list[tuple[Direct, np.ndarray, np.ndarray, float]] = []
    for d in items:
        name = f"{d.measure_id}__{d.indicator}__{d.period}"
        have = (d.n > 0) & np.isfinite(d.estimate)
        fitted = have & (rules.flags(d.n) != SUPPRESSED)
        try:
            if fitted.sum() < MIN_AREAS:
                raise model.ModelError(
                    f"{int(fitted.sum())} boroughs with a publishable direct estimate; "
                    f"at least {MIN_AREAS} are needed"
                )
            if not (np.isfinite(d.london) and np.isfinite(d.benchmark)):
                raise model.ModelError("no direct London estimate to benchmark to")
            deff = variance.design_effect(d, have)
        except (model.ModelError, ValueError) as err:
            failed[name] = str(err)
            continue
        usable.append((d, have, fitted, deff))
    if not usable:
        return [], failed
    W = len(usable)
    stack = lambda parts: np.concatenate(parts)  # noqa: E731
    Y = stack([d.estimate[f] for d, _, f, _ in usable])
    Xs = stack([_blocks(Xb[f], j, W) for j, (_, _, f, _) in enumerate(usable)])
    # variance smoothing: each wave's London design effect; London's level first, then the
    # first fit's regression values
    D1 = stack(
        [variance.smoothed(d, f, np.full(f.size, d.london), deff)[f] for d, _, f, deff in usable]
    )
    try:
        first = model.fit(Y, D1, Xs)
        D_all = [
            variance.smoothed(d, have, Xb @ first.beta[j * p : (j + 1) * p], deff)
            for j, (d, have, _, deff) in enumerate(usable)
        ]
        fit = model.fit(
            Y, stack([D[f] for D, (_, _, f, _) in zip(D_all, usable)]), Xs, start=first.A_reml
        )
        null = np.column_stack([(Xs[:, j * p] == 1).astype(float) for j in range(W)])
        explained = fit.variance_explained(null)
        two: twolevel.Fit2 | None = None
        if W >= 2:  # a persistent borough effect can be told apart from the wave's
            Z = stack([np.eye(len(codes))[f] for _, _, f, _ in usable])
            two = twolevel.fit(Y, fit.D, Xs, Z)
            if two.s[0] <= 0 or not two.converged:  # nothing persists: one component
                two = None
    except (model.ModelError, ValueError, np.linalg.LinAlgError) as err:
        for d, *_ in usable:
            failed[f"{d.measure_id}__{d.indicator}__{d.period}"] = str(err)
        return [], failed
    periods = [d.period for d, *_ in usable]
    models: list[Model] = []
    parts: list[changes.Wave] = []
    at = 0
    for j, (d, have, fitted, deff) in enumerate(usable):
        rows_j = slice(at, at + int(fitted.sum()))
        at += int(fitted.sum())
        made, part = _wave_model(
            d,
            fit,
            j,
            W,
            rows_j,
            Xb,
            have,
            fitted,
            D_all[j],
            deff,
            first,
            explained,
            periods,
            two,
        )
        models.append(made)
        parts.append(part)
    changes.add(models, parts, two, breaks)
    return models, failed


def _wave_model(
    direct: Direct,
    fit: model.Fit,
    j: int,
    waves: int,
    rows_j: slice,
    Xb: np.ndarray,
    have: np.ndarray,
    fitted: np.ndarray,
    D_all: np.ndarray,
    deff: float,
    first: model.Fit,
    explained: float,
    periods: list[str],
    two: twolevel.Fit2 | None = None,
) -> tuple[Model, changes.Wave]:
    """One wave's table and description from the joint fit (``two``: the two-component
    fit, used when there is one)."""
    codes = np.asarray(geography.borough_codes())
    p = Xb.shape[1]
    beta = fit.beta[j * p : (j + 1) * p]
    beta_cov = fit.beta_cov[j * p : (j + 1) * p, j * p : (j + 1) * p]
    y, v, n = direct.estimate, direct.variance, direct.n
    out = ~fitted
    eblup = np.empty(len(codes))
    mse = np.empty(len(codes))
    shrink = np.ones(len(codes))
    eblup[fitted], mse[fitted], shrink[fitted] = (
        fit.eblup[rows_j],
        fit.mse[rows_j],
        fit.shrinkage[rows_j],
    )
    X_out = _blocks(Xb[out], j, waves)
    if out.any():
        eblup[out], mse[out] = fit.predict_unsampled(X_out)
    # benchmark: every borough in London's direct estimate (suppressed ones at their
    # out-of-sample prediction) weighted by its weighted population
    w = benchmarking.weights(direct.weighted_n[have])
    adjust = benchmarking.adjustment(direct.benchmark, w, eblup[have])
    w_full = np.zeros(len(codes))
    w_full[have] = w
    w_fit = np.zeros(fit.y.size)
    w_fit[rows_j] = w_full[fitted]
    suppressed = have & ~fitted
    g4 = benchmarking.g4(
        fit,
        w_fit,
        _blocks(Xb[suppressed], j, waves),
        w_full[suppressed],
        fit.A + D_all[suppressed],
    )
    targets: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    form: twolevel.Adjustment | None = None
    parts: tuple[np.ndarray, np.ndarray, list[np.ndarray], np.ndarray] | None = None
    resid = np.full(len(codes), np.nan)
    resid[fitted] = fit.standardised_residuals()[rows_j]
    method, A, A_reml, iterations = fit.method, fit.A, fit.A_reml, fit.iterations
    components: dict[str, float] = {}
    if two is not None:
        beta = two.beta[j * p : (j + 1) * p]
        beta_cov = two.beta_cov[j * p : (j + 1) * p, j * p : (j + 1) * p]
        rows = np.flatnonzero(fitted)
        ST = np.zeros((len(codes), two.y.size))
        ST[rows, np.arange(rows_j.start, rows_j.stop)] = 1.0
        targets = (_blocks(Xb, j, waves), np.eye(len(codes)), ST)
        parts = two.parts(*targets)
        eblup, mse, M, B = two.targets(*targets, parts)
        shrink = np.ones(len(codes))
        shrink[fitted] = 1 - B[rows, np.arange(rows_j.start, rows_j.stop)]
        adjust = benchmarking.adjustment(direct.benchmark, w, eblup[have])
        form = twolevel.adjustment(
            two,
            M[fitted],
            ST[fitted],
            w_full[fitted],
            M[suppressed],
            np.eye(len(codes))[suppressed],
            w_full[suppressed],
            D_all[suppressed],
            j,
        )
        g4 = twolevel.adjustment_cov(two, form, form)
        resid[fitted] = (two.y - two.X @ two.beta)[rows_j] / np.sqrt(np.diag(two.V)[rows_j])
        method, A, iterations = twolevel.METHOD, float(two.s.sum()), two.iterations
        components = {"borough_effect": float(two.s[0]), "wave_effect": float(two.s[1])}
    synthetic = Xb @ beta
    # a proportion stays in 0-1, a gap in -1 to 1 (bounds, step 6)
    low, high = direct.bounds
    final, final_mse = np.clip(eblup + adjust, low, high), mse + g4
    root = np.sqrt(final_mse)
    lower, upper = (
        np.clip(final - survey.Z95 * root, low, high),
        np.clip(final + survey.Z95 * root, low, high),
    )
    diff = final - direct.london
    diff_se = np.sqrt(final_mse + direct.london_se**2)
    p_value = 2 * survey.normal_sf(np.abs(diff / diff_se))

    pct, pct2 = 100.0, 100.0**2
    table = pd.DataFrame(
        {
            "area_code": codes,
            "direct": np.where(have, y, np.nan) * pct,
            "direct_variance": np.where(have, v, np.nan) * pct2,
            "variance_used": np.where(fitted, D_all, np.nan) * pct2,
            **{f"x_{c}": Xb[:, k + 1] for k, c in enumerate(covariates.COVARIATES)},
            "eblup": final * pct,
            "mse": final_mse * pct2,
            "lower_ci": lower * pct,
            "upper_ci": upper * pct,
            "shrinkage": shrink,
            "respondents": n.astype(int),
            "synthetic_estimate": synthetic * pct,
            "eblup_before_benchmarking": eblup * pct,
            "mse_before_benchmarking": mse * pct2,
            "standardised_residual": resid,
            "p_vs_london": p_value,
            "compared_to_london": compare.verdict(diff, p_value),
        }
    )
    names = ["intercept", *(f"x_{c}" for c in covariates.COVARIATES)]
    meta: dict[str, Any] = {
        "measure_id": direct.measure_id,
        "indicator": direct.indicator,
        "period": direct.period,
        "model": (
            "Fay-Herriot area-level model (EBLUP), fitted on the proportion scale; figures in %"
            if direct.kind != GAP
            else "Fay-Herriot area-level model (EBLUP) of the gap between two groups' rates, fitted "
            "on the raw difference (proportion scale); figures in percentage points"
        ),
        "method": method,
        "area_effect_variance": A,
        "area_effect_variance_reml": A_reml,
        "area_effect_variance_components": components,
        "area_effect_variance_shared_by_waves": periods,
        "coefficients": {k: float(b) for k, b in zip(names, beta, strict=True)},
        "coefficient_se": {
            k: float(s) for k, s in zip(names, np.sqrt(np.diag(beta_cov)), strict=True)
        },
        "covariates": {f"x_{c}": covariates.LABELS[c] for c in covariates.COVARIATES},
        "variance_explained": explained,
        "mse": "Prasad-Rao g1 + g2 + 2 g3 (Datta-Lahiri for REML), plus g4 for benchmarking",
        "variance_smoothing": {
            "method": "GVF: deff * p (1 - p) / n, p the first fit's regression value, deff London's",
            "design_effect": deff,
            "boroughs_pooled_design_effect": variance.boroughs_deff(
                direct,
                fitted,
                np.clip(Xb @ first.beta[j * p : (j + 1) * p], *variance.P_BOUNDS),
            ),
        },
        "benchmarking": {
            "target_london_direct": direct.benchmark,
            "london_direct": direct.london,
            "london_direct_se": direct.london_se,
            "adjustment": adjust,
            "g4": g4,
            "weights": "survey weighted population of each borough",
        },
        "boroughs_fitted": int(fitted.sum()),
        "boroughs_predicted_out_of_sample_suppressed": int(suppressed.sum()),
        "boroughs_predicted_without_respondents": int((~have).sum()),
        "reml_iterations": iterations,
    }
    if direct.kind == GAP:
        meta["variance_smoothing"]["method"] = (
            "GVF of a difference: deff * (P_a (1 - P_a) / n_a + P_b (1 - P_b) / n_b), P London's "
            "two rates, deff London's gap's"
        )
        meta["benchmarking"]["target"] = (
            "the direct London gap within boroughs: the boroughs' direct gaps weighted by their "
            "weighted population in the two groups"
        )
        meta["benchmarking"]["composition"] = direct.london - direct.benchmark
        meta["groups"] = {"variable": direct.breakdown, "gap": direct.group}
    return Model(direct, table, meta), changes.Wave(final, final_mse, targets, form, parts)


def fit_all(
    items: list[Direct],
    cov: pd.DataFrame,
    rules: DisclosureRules | None = None,
    breaks: dict[str, set[str]] | None = None,
) -> tuple[list[Model], dict[str, str]]:
    """Every model that can be fitted, and the reason for each that cannot (by model name).

    The waves of each indicator are fitted together (:func:`fit_indicator`); ``breaks``:
    measure id -> periods where its definition changed (no change is tested across one)."""
    groups: dict[tuple[str, str], list[Direct]] = {}
    for d in items:
        groups.setdefault((d.measure_id, d.indicator), []).append(d)
    models: list[Model] = []
    failed: dict[str, str] = {}
    # one BLAS thread: the matrices are small (165 x 165 for five waves), and threads that
    # spin waiting for work cost twenty times the CPU of the work on a busy machine
    with threadpool_limits(limits=1, user_api="blas"):
        for group in groups.values():
            got, lost = fit_indicator(
                group, cov, rules, frozenset((breaks or {}).get(group[0].measure_id, ()))
            )
            models += got
            failed.update(lost)
    return models, failed
