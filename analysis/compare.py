"""Comparisons that back every "higher", "lower" or "changed" the reports say.

* against London: a test of the difference at 95% (survey measures: the part-whole
  contrast with its covariance from the same survey; admin counts: the area's 95% interval
  against London's value, as Public Health England's Fingertips does);
* against the previous wave: a test of the change between independent samples;
* ranks of the 33 boroughs.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from analysis import rules
from analysis.survey import Z95, normal_sf

__all__ = [
    "ALPHA",
    "KEY",
    "Change",
    "Compared",
    "changes",
    "direction_verdict",
    "interval_verdict",
    "is_pooled",
    "ranks",
    "verdict",
    "verdict_against_london",
]

ALPHA = 0.05
KEY = ["measure_id", "indicator", "area_code", "breakdown", "group"]


class Compared(StrEnum):
    """A figure against London (the ``compared_to_london`` column), as tested at 95%.

    Why an enum: these words are written by the estimators, the disclosure control and this
    module and read by the rulebook and the pages; members equal their text, so the tables
    hold the same strings as before while a misspelling in the code is an error.
    """

    HIGHER = "higher"
    LOWER = "lower"
    SIMILAR = "similar"
    NOT_COMPARED = "not_compared"


class Change(StrEnum):
    """The direction of a change since the previous period (``changes.csv``)."""

    INCREASED = "increased"
    DECREASED = "decreased"
    NO_CHANGE = "no significant change"
    NOT_COMPARED = "not_compared"


# the change since the previous period is the comparison of a figure with its predecessor
_CHANGE_OF = {
    Compared.HIGHER: Change.INCREASED,
    Compared.LOWER: Change.DECREASED,
    Compared.SIMILAR: Change.NO_CHANGE,
    Compared.NOT_COMPARED: Change.NOT_COMPARED,
}


def verdict(diff: ArrayLike, p_value: ArrayLike, alpha: float = ALPHA) -> np.ndarray:
    """Higher, lower or similar (:class:`Compared`) from a difference and its two-sided p-value."""
    diff = np.asarray(diff, dtype=float)
    p_value = np.asarray(p_value, dtype=float)
    out = np.where(
        p_value < alpha, np.where(diff > 0, Compared.HIGHER, Compared.LOWER), Compared.SIMILAR
    )
    return np.where(np.isnan(diff) | np.isnan(p_value), Compared.NOT_COMPARED, out)


def change_direction(change: ArrayLike, p_value: ArrayLike, alpha: float = ALPHA) -> np.ndarray:
    """'increased', 'decreased', 'no significant change' or 'not_compared' (:class:`Change`):
    the direction of a change from its size and two-sided p-value, as ``changes.csv`` words it."""
    return np.array(
        [_CHANGE_OF[Compared(v)].value for v in verdict(change, p_value, alpha)], dtype=object
    )


def verdict_against_london(compared: str, polarity: str, population_group: bool = False) -> str:
    """'better', 'worse', 'higher', 'lower', 'similar' or 'not_compared': the rulebook's
    :func:`analysis.rules.verdict` (a neutral row or a population group stays higher/lower)."""
    return rules.verdict(compared, polarity, population_group)


def direction_verdict(direction: str, polarity: str) -> str:
    """The rulebook's word for a significant change or trend ('increased'/'increasing',
    'decreased'/'decreasing'): :func:`analysis.rules.change_assessment` by the polarity of the
    row it describes ('better', 'worse', or 'not_judged' for a context indicator); any other
    direction is returned as it is."""
    from analysis.trends import Trend  # imported here: trends builds on this module

    as_change: dict[str, str] = {
        Trend.INCREASING: Change.INCREASED,
        Trend.DECREASING: Change.DECREASED,
    }
    change = as_change.get(direction, direction)
    if change not in (Change.INCREASED, Change.DECREASED):
        return direction
    return rules.change_assessment(change, polarity)


def interval_verdict(lower: ArrayLike, upper: ArrayLike, benchmark: ArrayLike) -> np.ndarray:
    """Fingertips rule: higher when the whole 95% interval lies above the benchmark value."""
    lo, hi, bench = (np.asarray(a, dtype=float) for a in (lower, upper, benchmark))
    out = np.where(
        lo > bench, Compared.HIGHER, np.where(hi < bench, Compared.LOWER, Compared.SIMILAR)
    )
    return np.where(np.isnan(lo) | np.isnan(hi) | np.isnan(bench), Compared.NOT_COMPARED, out)


def is_pooled(period: pd.Series) -> pd.Series:
    """Pooled periods are labelled 'first-last' (e.g. '2014-2016')."""
    return period.astype(str).str.contains("-", regex=False)


def changes(
    detail: pd.DataFrame, alpha: float = ALPHA, breaks: dict[str, set[str]] | None = None
) -> pd.DataFrame:
    """Change since the previous period for every series, with a test at 95%.

    ``detail`` needs the estimates columns plus ``se``. Consecutive single-wave periods are
    compared as independent samples (z test on the difference, standard errors combined in
    quadrature). For a panel such as Understanding Society, or the APS whose households stay
    for several waves, the samples overlap; positive correlation between waves makes this
    test conservative. Pooled periods are not compared (consecutive pooled periods share
    waves). A suppressed or missing value on either side, or a period in ``breaks`` (measure
    id -> periods where its definition changed), gives ``not_compared``; ``flag`` is ``[u]``
    when either period is of low reliability.
    """
    rows = detail[~is_pooled(detail["period"])].sort_values([*KEY, "period"])
    prev = rows.groupby(KEY, sort=False)[["period", "value", "se"]].shift(1)
    prev = prev.join(rows.groupby(KEY, sort=False)[["flag"]].shift(1))
    out = rows[[*KEY, "period", "value", "se", "unit", "polarity", "flag"]].copy()
    out["previous_period"] = prev["period"]
    out["previous_value"] = prev["value"]
    out = out[out["previous_period"].notna()]
    prev_se = prev.loc[out.index, "se"]
    out["change"] = out["value"] - out["previous_value"]
    out["change_se"] = np.sqrt(out["se"] ** 2 + prev_se**2)
    z = Z95
    out["change_lower_ci"] = out["change"] - z * out["change_se"]
    out["change_upper_ci"] = out["change"] + z * out["change_se"]
    with np.errstate(invalid="ignore", divide="ignore"):
        p = 2 * normal_sf(np.abs(out["change"] / out["change_se"]))
    p = np.where(out["change_se"] > 0, p, np.where(out["change"] == 0, 1.0, 0.0))
    # without a standard error on either side there is no test, so nothing is claimed; nor is
    # there across a break in the series (the definition changed in that period)
    broken = np.array(
        [p in (breaks or {}).get(m, ()) for m, p in zip(out["measure_id"], out["period"])],
        dtype=bool,
    )
    out["p_value"] = np.where(out["change"].isna() | out["change_se"].isna() | broken, np.nan, p)
    direction = verdict(out["change"], out["p_value"], alpha)
    out["direction"] = pd.Series(direction, index=out.index).map(
        {k.value: v.value for k, v in _CHANGE_OF.items()}  # plain text in the table
    )
    # better or worse by the polarity of the row itself; a context indicator's change is not judged
    out["assessment"] = [
        rules.change_assessment(d, p) for d, p in zip(out["direction"], out["polarity"])
    ]
    # the weaker reliability flag of the two periods travels with the change
    prev_flag = prev.loc[out.index, "flag"].fillna("")
    low = rules.LOW_RELIABILITY
    out["flag"] = np.where((out["flag"] == low) | (prev_flag == low), low, "")
    cols = [
        *KEY,
        "previous_period",
        "period",
        "previous_value",
        "value",
        "change",
        "change_lower_ci",
        "change_upper_ci",
        "p_value",
        "direction",
        "assessment",
        "unit",
        "flag",
    ]
    return out[cols].reset_index(drop=True)


def ranks(
    estimates: pd.DataFrame,
    measure_id: str,
    indicator: str,
    period: str,
    polarity: str | None = None,
    breakdown: str | None = None,
    group: str | None = None,
) -> pd.DataFrame:
    """Rank the boroughs with a reliable published value (1 = highest value, and 1 = best by
    polarity; no best rank for a neutral indicator).

    One series is ranked: ``breakdown`` and ``group`` name it, and by default it is the
    indicator's headline series (:func:`analysis.series.headline_key`); an indicator with
    only group series and no total has none, and is refused rather than ranked as a pool.
    Ties share the lower rank. Suppressed, unavailable and low-reliability (``[u]``) boroughs
    are left out, so ``n_ranked`` (the rank's denominator) counts the boroughs with a figure
    fit to rank (:func:`analysis.rules.rankable`). Ranks ignore uncertainty: neighbouring
    ranks are rarely significantly different, which reports say beside them. Direct figures
    only: modelled borough figures (``method`` = ``modelled``) are never ranked with them.
    """
    if "method" in estimates:
        estimates = estimates[estimates["method"] != "modelled"]
    from analysis import series

    if not (
        (estimates["measure_id"] == measure_id)
        & (estimates["indicator"] == indicator)
        & (estimates["period"] == period)
    ).any():
        raise KeyError(f"no estimates for {measure_id}/{indicator} in {period}")
    if breakdown is None or group is None:
        key = series.headline_key(estimates, indicator, measure_id)
        if key is None:
            raise series.AmbiguousSeries(
                f"{measure_id}/{indicator} has only group series; name the breakdown and group"
            )
    else:
        key = series.SeriesKey(indicator, breakdown, group, measure_id)
    sel = series.select(estimates, key, period=period, boroughs=True)
    # a low-reliability figure ([u]) is shown with its flag but given no place in a ranking
    fit = sel["value"].notna() & ~sel["flag"].fillna("").isin(
        [rules.LOW_RELIABILITY, rules.SUPPRESSED, rules.NOT_AVAILABLE]
    )
    sel = sel[fit][["area_code", "area_name", "value", "polarity", "flag"]].copy()
    polarity = polarity or (sel["polarity"].iloc[0] if len(sel) else "up")
    sel["rank_highest"] = sel["value"].rank(ascending=False, method="min").astype(int)
    if rules.judged(polarity):
        sel["rank_best"] = (
            sel["value"].rank(ascending=(polarity == "down"), method="min").astype(int)
        )
    else:  # a context indicator has no best end
        sel["rank_best"] = pd.array([pd.NA] * len(sel), dtype="Int64")
    sel["n_ranked"] = len(sel)
    return sel.sort_values("rank_highest").reset_index(drop=True)
