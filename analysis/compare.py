"""Comparisons that back every "higher", "lower" or "changed" the reports say.

* against London: a test of the difference at 95% (survey measures: the part-whole
  contrast with its covariance from the same survey; admin counts: the area's 95% interval
  against London's value, as Public Health England's Fingertips does);
* against the previous wave: a test of the change between independent samples;
* ranks of the 33 boroughs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.survey import Z95, normal_sf

ALPHA = 0.05
KEY = ["measure_id", "indicator", "area_code", "breakdown", "group"]


def verdict(diff: np.ndarray, p_value: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """'higher', 'lower' or 'similar' from a difference and its two-sided p-value."""
    diff = np.asarray(diff, dtype=float)
    p_value = np.asarray(p_value, dtype=float)
    out = np.where(p_value < alpha, np.where(diff > 0, "higher", "lower"), "similar")
    return np.where(np.isnan(diff) | np.isnan(p_value), "not_compared", out)


def verdict_against_london(compared: str, polarity: str) -> str:
    """'better', 'worse', 'similar' or 'not_compared' from a higher/lower test and polarity
    ('not_compared' for a neutral indicator, which has no better or worse direction)."""
    if compared in ("similar", "not_compared"):
        return compared
    if polarity == "neutral":  # e.g. residents born abroad: higher is neither better nor worse
        return "not_compared"
    up = compared == "higher"
    return "better" if up == (polarity == "up") else "worse"


def direction_verdict(direction: str, polarity: str) -> str:
    """'better' or 'worse' for a significant change or trend ('increased'/'increasing',
    'decreased'/'decreasing') by the polarity of the row it describes; 'not_compared' for a
    neutral indicator (a change in it is neither); any other direction is returned as it is."""
    if direction not in ("increased", "increasing", "decreased", "decreasing"):
        return direction
    if polarity == "neutral":
        return "not_compared"
    up = direction.startswith("increas")
    return "better" if up == (polarity == "up") else "worse"


def interval_verdict(lower: np.ndarray, upper: np.ndarray, benchmark: np.ndarray) -> np.ndarray:
    """Fingertips rule: higher when the whole 95% interval lies above the benchmark value."""
    lower, upper, benchmark = (np.asarray(a, dtype=float) for a in (lower, upper, benchmark))
    out = np.where(lower > benchmark, "higher", np.where(upper < benchmark, "lower", "similar"))
    return np.where(np.isnan(lower) | np.isnan(upper) | np.isnan(benchmark), "not_compared", out)


def is_pooled(period: pd.Series) -> pd.Series:
    """Pooled periods are labelled 'first-last' (e.g. '2014-2016')."""
    return period.astype(str).str.contains("-", regex=False)


def changes(detail: pd.DataFrame, alpha: float = ALPHA, breaks: dict[str, set[str]] | None = None) -> pd.DataFrame:
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
    broken = np.array([p in (breaks or {}).get(m, ()) for m, p in zip(out["measure_id"], out["period"])], dtype=bool)
    out["p_value"] = np.where(out["change"].isna() | out["change_se"].isna() | broken, np.nan, p)
    direction = verdict(out["change"], out["p_value"], alpha)
    out["direction"] = pd.Series(direction, index=out.index).map(
        {"higher": "increased", "lower": "decreased", "similar": "no significant change", "not_compared": "not_compared"}
    )
    better = np.where(out["polarity"] == "up", "better", "worse")
    worse = np.where(out["polarity"] == "up", "worse", "better")
    out["assessment"] = np.select(
        [out["direction"] == "increased", out["direction"] == "decreased", out["direction"] == "no significant change"],
        [better, worse, "no significant change"],
        default="not_compared",
    )
    # the weaker reliability flag of the two periods travels with the change
    prev_flag = prev.loc[out.index, "flag"].fillna("")
    out["flag"] = np.where((out["flag"] == "[u]") | (prev_flag == "[u]"), "[u]", "")
    cols = [*KEY, "previous_period", "period", "previous_value", "value", "change", "change_lower_ci",
            "change_upper_ci", "p_value", "direction", "assessment", "unit", "flag"]
    return out[cols].reset_index(drop=True)


def ranks(estimates: pd.DataFrame, measure_id: str, indicator: str, period: str, polarity: str | None = None) -> pd.DataFrame:
    """Rank the boroughs with a published value (1 = highest value, and 1 = best by polarity).

    Ties share the lower rank. Suppressed and unavailable boroughs are left out of the count;
    low-reliability ones keep their ``[u]`` flag. Ranks ignore uncertainty: neighbouring ranks
    are rarely significantly different, which reports should say beside them.
    """
    sel = estimates[
        (estimates["measure_id"] == measure_id)
        & (estimates["indicator"] == indicator)
        & (estimates["period"] == period)
        & estimates["area_code"].str.startswith("E09")  # borough rows are whole-population (or gap) rows
        & estimates["value"].notna()
    ][["area_code", "area_name", "value", "polarity", "flag"]].copy()
    if sel.empty and not ((estimates["measure_id"] == measure_id) & (estimates["indicator"] == indicator)
                          & (estimates["period"] == period)).any():
        raise KeyError(f"no estimates for {measure_id}/{indicator} in {period}")
    polarity = polarity or (sel["polarity"].iloc[0] if len(sel) else "up")
    sel["rank_highest"] = sel["value"].rank(ascending=False, method="min").astype(int)
    sel["rank_best"] = sel["value"].rank(ascending=(polarity == "down"), method="min").astype(int)
    sel["n_ranked"] = len(sel)
    return sel.sort_values("rank_highest").reset_index(drop=True)
