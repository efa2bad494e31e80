"""Rows of the estimates table for admin measures: counts over denominators for every
borough, Inner and Outer London and London, and published values with their own aggregates.

Why an aggregate is left out unless every covered borough is present: a London total over
some boroughs would look like London's figure and be wrong.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import compare, geography, overdispersion, rules, survey
from analysis.compare import Compared
from analysis.estimate.intervals import poisson_interval, wilson_interval
from analysis.measures import Measure
from analysis.sdc import NOT_AVAILABLE


def estimate_admin_measure(measure: Measure, table: pd.DataFrame) -> pd.DataFrame:
    """Rows for every borough, Inner/Outer and London, for every year of an admin table."""
    boroughs = geography.borough_codes()
    frames = []
    for year in sorted(table["year"].unique()):
        t = table[table["year"] == year].set_index("area_code").reindex(boroughs)
        num = (
            t[list(measure.numerator)]
            .sum(axis=1, min_count=len(measure.numerator))
            .to_numpy(dtype=float)
        )
        den = t[measure.denominator].to_numpy(dtype=float)
        # a borough the source never covers has no figure, whatever the table holds for it
        excluded = np.isin(boroughs, list(measure.coverage_excludes))
        num, den = np.where(excluded, np.nan, num), np.where(excluded, np.nan, den)
        have = ~np.isnan(num) & ~np.isnan(den)
        inner = np.array([geography.inner_outer(c) == "Inner" for c in boroughs])
        codes = list(boroughs) + [
            geography.INNER_LONDON_CODE,
            geography.OUTER_LONDON_CODE,
            geography.LONDON_CODE,
        ]
        # an aggregate is only published when every borough the source covers is present
        expected = ~excluded
        complete = {
            "inner": bool(have[expected & inner].all()),
            "outer": bool(have[expected & ~inner].all()),
        }
        complete["london"] = complete["inner"] and complete["outer"]
        num_all = np.concatenate(
            [num, [num[have & inner].sum(), num[have & ~inner].sum(), num[have].sum()]]
        )
        den_all = np.concatenate(
            [den, [den[have & inner].sum(), den[have & ~inner].sum(), den[have].sum()]]
        )
        agg_ok = np.array([complete["inner"], complete["outer"], complete["london"]])
        num_all[-3:] = np.where(agg_ok, num_all[-3:], np.nan)
        den_all[-3:] = np.where(agg_ok, den_all[-3:], np.nan)
        mult = measure.multiplier
        with np.errstate(invalid="ignore", divide="ignore"):
            value = num_all / den_all * mult
            as_proportion = (measure.kind == "admin_proportion") & (num_all <= den_all)
            w_lo, w_hi = wilson_interval(num_all, den_all)
            p_lo, p_hi = poisson_interval(num_all)
            lower = np.where(as_proportion, w_lo * mult, p_lo / den_all * mult)
            upper = np.where(as_proportion, w_hi * mult, p_hi / den_all * mult)
            p = num_all / den_all
            se = (
                np.where(as_proportion, np.sqrt(p * (1 - p) / den_all), np.sqrt(num_all) / den_all)
                * mult
            )
        london = value[-1]
        method = np.where(as_proportion, "binomial", "poisson").astype(object)
        p_vs_london = np.full(len(codes), np.nan)
        if measure.uncertainty == "overdispersed":
            lower, upper, se, p_vs_london, method = _overdispersed(
                measure, value, den_all, se, lower, upper, have, inner, london
            )
        verdict = compare.interval_verdict(lower, upper, np.full_like(value, london))
        verdict[-1] = Compared.NOT_COMPARED
        p_vs_london[-1] = np.nan
        flag = np.where(np.concatenate([have, agg_ok]), "", NOT_AVAILABLE)
        not_covered = np.concatenate([excluded, [False, False, False]])
        frames.append(
            pd.DataFrame(
                {
                    "indicator": measure.series[0].indicator,
                    "period": str(year),
                    "area_code": codes,
                    "breakdown": "all",
                    "group": "all",
                    "value": value,
                    "lower_ci": lower,
                    "upper_ci": upper,
                    "se": se,
                    "unweighted_base": den_all,
                    "p_vs_london": p_vs_london,
                    "compared_to_london": verdict,
                    "flag": flag,
                    "flag_reason": np.where(
                        not_covered,
                        rules.NOT_COVERED,
                        np.where(flag == NOT_AVAILABLE, rules.UNAVAILABLE, ""),
                    ),
                    "uncertainty": method,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _overdispersed(
    measure: Measure,
    value: np.ndarray,
    den: np.ndarray,
    se: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    have: np.ndarray,
    inner: np.ndarray,
    london: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(lower, upper, standard error, p-value against London, uncertainty method) of one
    year's rows under the
    overdispersion model estimated from its boroughs (see :mod:`analysis.overdispersion`).

    Rows are the boroughs, then Inner, Outer London and London; an aggregate's variance is
    the denominator-weighted sum of its boroughs' adjusted variances."""
    nb = len(have)
    mult = measure.multiplier
    poisson = measure.kind == "admin_rate" or (np.isfinite(london) and london > mult)
    od = overdispersion.estimate(
        value[:nb][have], den[:nb][have], london, poisson=poisson, multiplier=mult
    )
    if not od.adjusted:
        method = np.where(np.isnan(se), "", od.method).astype(object)
        return lower, upper, se, np.full(len(value), np.nan), method
    shares = []
    for members in (have & inner, have & ~inner, have):
        total = den[:nb][members].sum()
        shares.append(float(((den[:nb][members] / total) ** 2).sum()) if total > 0 else np.nan)
    adjusted = od.se(se, np.concatenate([np.ones(nb), shares]))
    lower = value - survey.Z95 * adjusted
    upper = value + survey.Z95 * adjusted
    lower = np.maximum(lower, 0.0)
    if not poisson:  # a proportion's interval stops at 100%
        upper = np.minimum(upper, mult)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_value = np.where(
            adjusted > 0, 2 * survey.normal_sf(np.abs(value - london) / adjusted), np.nan
        )
    method = np.where(np.isnan(value), "", od.method).astype(object)
    return lower, upper, adjusted, p_value, method


def estimate_admin_value(measure: Measure, table: pd.DataFrame) -> pd.DataFrame:
    """Published values (e.g. percentages from the borough profiles), with their own aggregates.

    The source gives no interval, so nothing is compared with London."""
    column = measure.numerator[0]
    codes = [
        *geography.borough_codes(),
        geography.INNER_LONDON_CODE,
        geography.OUTER_LONDON_CODE,
        geography.LONDON_CODE,
    ]
    frames = []
    for year in sorted(table["year"].unique()):
        values = (
            table[table["year"] == year]
            .set_index("area_code")[column]
            .reindex(codes)
            .to_numpy(dtype=float)
        )
        frames.append(
            pd.DataFrame(
                {
                    "indicator": measure.series[0].indicator,
                    "period": str(year),
                    "area_code": codes,
                    "breakdown": "all",
                    "group": "all",
                    "value": values,
                    "lower_ci": np.nan,
                    "upper_ci": np.nan,
                    "se": np.nan,
                    "unweighted_base": np.nan,
                    "p_vs_london": np.nan,
                    "compared_to_london": Compared.NOT_COMPARED,
                    "flag": np.where(np.isnan(values), NOT_AVAILABLE, ""),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
