"""Modelled borough figures for every survey proportion: direct inputs in, models and rows out.

One Fay-Herriot model (:mod:`analysis.sae.model`) per survey measure and indicator, its waves
fitted together, on the proportion scale (0-1), for the 33 boroughs:

1. direct estimates, design-based variances and respondent counts per borough, from the
   survey estimator (the whole design kept; boroughs as domains), with London's direct
   estimate from the same pass;
2. a borough whose direct figure the disclosure rules suppress (``[c]``) is left out of the
   fit and predicted out of sample, as a borough without respondents is, so that nothing
   published depends on its direct estimate;
3. sampling variances smoothed by the GVF (:mod:`analysis.sae.variance`), in two fits;
4. one REML fit over the stacked waves: each wave its own coefficients, one area-effect
   variance for all (see :func:`fit_indicator`); EBLUP and MSE (Prasad-Rao, Datta-Lahiri),
   a borough out of sample getting the regression value with MSE ``A + x'cov(beta)x``;
5. each wave benchmarked to its London direct estimate (:mod:`analysis.sae.benchmarking`),
   the variance of the adjustment added to every MSE;
6. 95% intervals ``eblup +/- 1.96 sqrt(mse)``, with bounds held on the raw scale: the
   intervals, and in the rare case it strays there the estimate itself, are cut at 0% and
   100% (the benchmark then holds only approximately);
7. the comparison with London: a z test of the modelled figure minus London's direct
   estimate, on ``sqrt(mse_i + se_London^2)``. Both contain the borough's own sample, so
   their covariance is positive and leaving it out makes the test conservative.

Modelled figures are not compared between waves: the model treats each wave's area effects
as independent, while real borough differences persist from wave to wave, so these models do
not give the mean squared error of a change (and shrinkage pulls a borough's own change
towards the regression's). Changes are tested on the direct figures.

Gap measures (differences between groups) are not modelled (``rules.GAP_NOT_MODELLED``):
their borough figures pool three waves of the largest survey and are direct.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from analysis import compare, geography, survey
from analysis.measures import Measure
from analysis.outputs import _umask
from analysis.sae import benchmarking, covariates, model, twolevel, variance
from analysis.sdc import NOT_AVAILABLE, SUPPRESSED, DisclosureRules

METHOD_DIRECT = "direct"
METHOD_MODELLED = "modelled"
UNCERTAINTY = "small_area_model"  # the row's uncertainty model (analysis.rules.APPLIED_METHODS)
METHOD_LABEL = (
    "modelled: Fay-Herriot small area estimate (area-level model on Inner London and the "
    "BAME share, REML, benchmarked to the London direct estimate)"
)
MIN_AREAS = 10  # fewer boroughs with respondents than this: no model (too little to fit A)
TABLE_COLUMNS = [
    "area_code",
    "direct",
    "direct_variance",
    "variance_used",
    *[f"x_{c}" for c in covariates.COVARIATES],
    "eblup",
    "mse",
    "lower_ci",
    "upper_ci",
    "shrinkage",
]


@dataclass
class Direct:
    """Direct borough estimates of one indicator in one wave (proportions on the 0-1 scale)."""

    measure_id: str
    indicator: str
    period: str
    estimate: np.ndarray  # 33 boroughs in geography.borough_codes() order; NaN without respondents
    variance: np.ndarray
    n: np.ndarray
    weighted_n: np.ndarray
    london: float
    london_se: float


@dataclass
class Model:
    """One fitted model's published table and its description (for the JSON file)."""

    direct: Direct
    table: pd.DataFrame  # TABLE_COLUMNS and more, one row per borough
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.direct.measure_id}__{self.direct.indicator}__{self.direct.period.replace('/', '-')}"


def directs(measure: Measure, waves: dict[str, Any]) -> list[Direct]:
    """Direct borough inputs of every indicator and wave of a survey proportion measure."""
    if measure.kind != "survey_proportion":
        return []
    out = []
    for period, wave in waves.items():
        part = [wave.codes("borough")]
        for s in measure.series:
            y = wave.item(s.item, measure.universe)
            if hasattr(wave, "covers") and not wave.covers(
                y
            ):  # a wave that lacks the item: no model
                continue
            res = survey.domain_means(wave.design, y, part)
            se = res.se
            out.append(
                Direct(
                    measure.id,
                    s.indicator,
                    period,
                    res.estimate[1:],
                    se[1:] ** 2,
                    res.n[1:].astype(float),
                    res.weighted_n[1:],
                    float(res.estimate[0]),
                    float(se[0]),
                )
            )
    return out


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
    items: list[Direct], cov: pd.DataFrame, rules: DisclosureRules | None = None
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
    published anyway)."""
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
            if not np.isfinite(d.london):
                raise model.ModelError("no direct London estimate to benchmark to")
            deff = variance.london_deff(d.london_se**2, d.london, d.n[have].sum())
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
    D1 = stack([variance.gvf(d.n[f], np.full(f.sum(), d.london), deff) for d, _, f, deff in usable])
    try:
        first = model.fit(Y, D1, Xs)
        D_all = [
            variance.gvf(np.where(have, d.n, 0), Xb @ first.beta[j * p : (j + 1) * p], deff)
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
    models, at = [], 0
    for j, (d, have, fitted, deff) in enumerate(usable):
        rows_j = slice(at, at + int(fitted.sum()))
        at += int(fitted.sum())
        models.append(
            _wave_model(
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
        )
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
) -> Model:
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
    adjust = benchmarking.adjustment(direct.london, w, eblup[have])
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
        eblup, mse, M, B = two.targets(_blocks(Xb, j, waves), np.eye(len(codes)), ST)
        shrink = np.ones(len(codes))
        shrink[fitted] = 1 - B[rows, np.arange(rows_j.start, rows_j.stop)]
        adjust = benchmarking.adjustment(direct.london, w, eblup[have])
        g4 = twolevel.benchmark_variance(
            two,
            M[fitted],
            ST[fitted],
            w_full[fitted],
            M[suppressed],
            np.eye(len(codes))[suppressed],
            w_full[suppressed],
            D_all[suppressed],
        )
        resid[fitted] = (two.y - two.X @ two.beta)[rows_j] / np.sqrt(np.diag(two.V)[rows_j])
        method, A, iterations = twolevel.METHOD, float(two.s.sum()), two.iterations
        components = {"borough_effect": float(two.s[0]), "wave_effect": float(two.s[1])}
    synthetic = Xb @ beta
    # a proportion stays in 0-1 (bounds, step 5)
    final, final_mse = np.clip(eblup + adjust, 0, 1), mse + g4
    root = np.sqrt(final_mse)
    lower, upper = (
        np.clip(final - survey.Z95 * root, 0, 1),
        np.clip(final + survey.Z95 * root, 0, 1),
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
    meta = {
        "measure_id": direct.measure_id,
        "indicator": direct.indicator,
        "period": direct.period,
        "model": "Fay-Herriot area-level model (EBLUP), fitted on the proportion scale; figures in %",
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
            "boroughs_pooled_design_effect": variance.pooled_deff(
                v[fitted],
                n[fitted],
                np.clip(Xb[fitted] @ first.beta[j * p : (j + 1) * p], *variance.P_BOUNDS),
            ),
        },
        "benchmarking": {
            "target_london_direct": direct.london,
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
    return Model(direct, table, meta)


def fit_all(
    items: list[Direct], cov: pd.DataFrame, rules: DisclosureRules | None = None
) -> tuple[list[Model], dict[str, str]]:
    """Every model that can be fitted, and the reason for each that cannot (by model name).

    The waves of each indicator are fitted together (:func:`fit_indicator`)."""
    groups: dict[tuple[str, str], list[Direct]] = {}
    for d in items:
        groups.setdefault((d.measure_id, d.indicator), []).append(d)
    models: list[Model] = []
    failed: dict[str, str] = {}
    # one BLAS thread: the matrices are small (165 x 165 for five waves), and threads that
    # spin waiting for work cost twenty times the CPU of the work on a busy machine
    with threadpool_limits(limits=1, user_api="blas"):
        for group in groups.values():
            got, lost = fit_indicator(group, cov, rules)
            models += got
            failed.update(lost)
    return models, failed


def rows(
    models: list[Model],
    registry: dict[str, Measure],
    source_label: Callable[[Measure], str],
    synthetic: bool,
    proxies: Collection[str] = (),
) -> pd.DataFrame:
    """Rows of the estimates table (detail columns) for the modelled borough figures
    (``proxies``: the ids of measures whose figures are a proxy in this build)."""
    if not models:
        return pd.DataFrame()
    t = pd.concat([mdl.table for mdl in models], ignore_index=True)
    size = len(models[0].table)
    measure = [registry[mdl.direct.measure_id] for mdl in models]
    each = lambda values: np.repeat(np.asarray(values, dtype=object), size)  # noqa: E731
    return pd.DataFrame(
        {
            "measure_id": each([m.id for m in measure]),
            "indicator": each([mdl.direct.indicator for mdl in models]),
            "period": each([mdl.direct.period for mdl in models]),
            "area_code": t["area_code"],
            "area_name": t["area_code"].map(geography.names_by_code()),
            "breakdown": "all",
            "group": "all",
            "value": t["eblup"],
            "lower_ci": t["lower_ci"],
            "upper_ci": t["upper_ci"],
            "unweighted_base": pd.array(t["respondents"], dtype="Int64"),
            "flag": "",
            "compared_to_london": t["compared_to_london"],
            "unit": each([m.unit for m in measure]),
            "polarity": each([m.polarity for m in measure]),
            "source": each([f"{source_label(m)}; {METHOD_LABEL}" for m in measure]),
            "note": "",
            "proxy": each([m.id in proxies for m in measure]).astype(bool),
            "synthetic": bool(synthetic),
            "flag_reason": "",
            "uncertainty": UNCERTAINTY,
            "method": METHOD_MODELLED,
            "se": np.sqrt(t["mse"]),
            "p_vs_london": t["p_vs_london"],
        }
    )


def _plain(value: Any) -> Any:
    """JSON-ready: numpy numbers as Python ones, NaN as null (JSON has no NaN)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (float, np.floating)):
        return None if value != value else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _csv(columns: dict[str, np.ndarray]) -> str:
    """Columns as CSV text (numbers to 10 significant digits, blanks for missing), written
    directly: pandas' writer costs more than the models for tables this small."""
    cells = []
    for values in columns.values():
        if values.dtype.kind == "f":
            cells.append(["" if v != v else f"{v:.10g}" for v in values.tolist()])
        else:
            cells.append([str(v) for v in values.tolist()])
    return "\n".join([",".join(columns), *(",".join(row) for row in zip(*cells))]) + "\n"


# the columns that give a borough's direct figure back, blanked where it is suppressed
REVEAL_DIRECT = (
    "direct",
    "direct_variance",
    "variance_used",
    "shrinkage",
    "eblup_before_benchmarking",
    "mse_before_benchmarking",
    "standardised_residual",
)


def write(models: list[Model], folder: Path, rules: DisclosureRules) -> list[Path]:
    """``<measure>__<indicator>__<period>.csv`` and ``.json`` per model (period '/' as '-').

    The folder is written whole beside the old one and renamed into place, so it never mixes
    two builds' models and readers never see half of it. For a borough whose direct estimate
    the disclosure rules suppress, the direct figure and its variance are blanked, as
    ``estimates.csv`` blanks them, and so is every column from which the direct figure could be
    worked back exactly (the EBLUP before benchmarking is the shrinkage-weighted mean of the
    direct figure and the regression value, and the standardised residual is the direct figure
    less the regression value, over a known scale)."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        written = []
        for mdl in models:
            t = mdl.table
            columns = {
                c: t[c].to_numpy()
                for c in [*TABLE_COLUMNS, *(c for c in t.columns if c not in TABLE_COLUMNS)]
            }
            hidden = np.isin(
                rules.flags(columns["respondents"].astype(float)), [SUPPRESSED, NOT_AVAILABLE]
            )
            for c in REVEAL_DIRECT:
                columns[c] = np.where(hidden, np.nan, columns[c])
            (fresh / f"{mdl.name}.csv").write_text(_csv(columns), encoding="utf-8")
            (fresh / f"{mdl.name}.json").write_text(
                json.dumps(_plain(mdl.meta), indent=2) + "\n", encoding="utf-8"
            )
            written += [folder / f"{mdl.name}.csv", folder / f"{mdl.name}.json"]
        os.chmod(fresh, 0o777 & ~_umask())  # mkdtemp makes it private; reports are published
        old = folder.parent / f".{folder.name}.old"
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            folder.rename(old)
        fresh.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    return written
