"""Recent trends: is a series increasing or decreasing over its last few comparable points?

The change since the previous period (:func:`analysis.compare.changes`) compares two
neighbouring periods only, so a steady rise of a few tenths a year is "no significant change"
every year while it adds up to a clear change over five. Public Health England's Fingertips
marks such recent trends over the last five points; this module is the equivalent for
estimates that come with a standard error.

**Method.** Over up to the last :data:`MAX_POINTS` comparable points of a series, the slope
of the value on the year is fitted by weighted least squares with inverse-variance weights
(``1 / se**2``), and the slope is tested with a z test using those known variances:

    b = sum w (x - xw) y / sum w (x - xw)**2,   se(b) = 1 / sqrt(sum w (x - xw)**2),
    z = b / se(b),  p = 2 (1 - Phi(|z|)),

where ``xw`` is the weighted mean year. This is a fixed-effect meta-regression on the year
(R's ``metafor::rma(yi, sei = se, mods = ~ year, method = "FE")``, the cross-check in
``tests/fixtures/r_trends``). Fingertips uses the chi-squared test for trend for proportions
from counts; for design-based survey estimates and for rates whose standard errors are known
(and, for administrative rows, overdispersion-adjusted where the registry says so), the
inverse-variance weighted slope is its natural equivalent: with binomial standard errors the
two agree closely (within 0.0001, or a tenth of the p-value, on the fixture's counts). Only
the row's ``se`` is used, so whatever uncertainty model the estimate carries, the trend test
inherits it.

**Comparable points.** Counting back from a series' latest period, points are taken while
they are single periods (pooled periods such as ``2014-2016`` share waves with their
neighbours, so they are never tested), of the same kind of label (``2016`` or ``2016/17``),
one year apart, with a value and a positive standard error, and not across a declared series
break (a break at period P means P is not comparable with what came before it). Fewer than
:data:`MIN_POINTS` such points, or a latest figure without a value, give ``not tested`` with
the reason in ``method``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum

import numpy as np
import pandas as pd

from analysis.compare import ALPHA, KEY, is_pooled
from analysis.survey import normal_sf

__all__ = ["COLUMNS", "MAX_POINTS", "METHOD", "MIN_POINTS", "Trend", "slope_test", "trends"]

MAX_POINTS = 5  # Fingertips' recent trend looks at the last five points
MIN_POINTS = 3  # two points are the change since the previous period, tested in changes.csv

COLUMNS = [
    "measure_id",
    "indicator",
    "area_code",
    "breakdown",
    "group",
    "from_period",
    "to_period",
    "points",
    "direction",
    "p_value",
    "method",
]
METHOD = "weighted least squares slope on the year (inverse-variance weights), z test"


class Trend(StrEnum):
    """The ``direction`` of a recent trend in ``trends.csv``; members equal their text."""

    INCREASING = "increasing"
    DECREASING = "decreasing"
    NO_TREND = "no significant trend"
    NOT_TESTED = "not tested"


_PERIOD = re.compile(r"^(\d{4})(/\d{2})?$")


def slope_test(years: np.ndarray, values: np.ndarray, se: np.ndarray) -> tuple[float, float, float]:
    """(slope per year, its standard error, two-sided p-value) of the inverse-variance weighted
    least-squares fit of ``values`` on ``years`` with known standard errors ``se``."""
    x, y, w = (
        np.asarray(a, dtype=float) for a in (years, values, 1.0 / np.asarray(se, dtype=float) ** 2)
    )
    xw = np.sum(w * x) / np.sum(w)
    sxx = np.sum(w * (x - xw) ** 2)
    slope = float(np.sum(w * (x - xw) * y) / sxx)
    slope_se = float(1.0 / np.sqrt(sxx))
    return slope, slope_se, float(2 * normal_sf(abs(slope / slope_se)))


def _year(period: str) -> tuple[int, bool] | None:
    """(first year, whether it is a two-year label like 2016/17), or None for another label."""
    m = _PERIOD.match(period)
    return (int(m.group(1)), m.group(2) is not None) if m else None


def _first_year(period: str) -> int:
    """The first year of a period that :func:`_comparable_run` counted as a point.

    Why: only periods with a year label (``2016`` or ``2016/17``) are ever counted as
    comparable, so a label without one here would be a bug in the run, not bad input.
    """
    parsed = _year(period)
    if parsed is None:
        raise ValueError(f"period {period!r} has no year yet was counted as a trend point")
    return parsed[0]


def _comparable_run(
    periods: list[str], values: np.ndarray, se: np.ndarray, breaks: set[str]
) -> tuple[int, str]:
    """How many of the last points (periods sorted, latest last) are comparable, and, when the
    run stops before :data:`MAX_POINTS`, why."""
    last = len(periods) - 1
    if not (np.isfinite(values[last])):
        return 0, f"the latest figure ({periods[last]}) is suppressed or not available"
    if not (np.isfinite(se[last]) and se[last] > 0):
        return 0, "no standard error (e.g. a published value without an interval)"
    n, reason = 1, f"only {len(periods)} period{'s' if len(periods) > 1 else ''} in the series"
    for i in range(last, 0, -1):
        if n == MAX_POINTS:
            return n, ""
        here, before = _year(periods[i]), _year(periods[i - 1])
        if periods[i] in breaks:
            return n, f"series break in {periods[i]}"
        if here is None or before is None or here[1] != before[1] or here[0] - before[0] != 1:
            return n, f"{periods[i - 1]} and {periods[i]} are not consecutive comparable periods"
        if not np.isfinite(values[i - 1]):
            return n, f"no figure for {periods[i - 1]} (suppressed or not available)"
        if not (np.isfinite(se[i - 1]) and se[i - 1] > 0):
            return n, f"no standard error for {periods[i - 1]}"
        n += 1
    return n, reason if n < MAX_POINTS else ""


def _keys(frame: pd.DataFrame) -> list[tuple]:
    """The series key of each row (column lists zipped: quicker than iterating rows)."""
    return list(zip(*(frame[k].tolist() for k in KEY)))


def trends(
    detail: pd.DataFrame, breaks: Mapping[str, set[str]] | None = None, alpha: float = ALPHA
) -> pd.DataFrame:
    """One row per series of ``detail`` (the estimates with ``se``): its recent trend.

    ``breaks`` maps a measure id to the periods where its definition changed (the registry's
    ``series_breaks``). Columns: :data:`COLUMNS`; ``direction`` is ``increasing``,
    ``decreasing``, ``no significant trend`` (tested at ``alpha``) or ``not tested``, and
    ``method`` names the test, or says why there is none.
    """
    breaks = breaks or {}
    pooled = is_pooled(detail["period"])
    out: list[dict] = []
    # series that only have pooled periods (borough gaps): listed, with the reason they are not tested
    single_keys = set(_keys(detail.loc[~pooled]))
    pooled_rows = detail.loc[pooled]
    spans: dict[tuple, list[str]] = {}
    for key, period in zip(_keys(pooled_rows), pooled_rows["period"].astype(str).tolist()):
        spans.setdefault(key, []).append(period)
    for key, span in spans.items():
        if key not in single_keys:
            span = sorted(span)
            out.append(
                dict(
                    zip(KEY, key),
                    from_period=span[0],
                    to_period=span[-1],
                    points=len(span),
                    direction=Trend.NOT_TESTED.value,
                    p_value=np.nan,
                    method="not tested: pooled periods share survey waves, so they are not independent points",
                )
            )
    rows = detail.loc[~pooled, [*KEY, "period", "value", "se"]]
    rows = rows.sort_values([*KEY, "period"], kind="stable")
    keys = _keys(rows)
    periods = rows["period"].astype(str).tolist()
    values = rows["value"].to_numpy(dtype=float)
    ses = rows["se"].to_numpy(dtype=float)
    starts = (
        ([0] + [i for i in range(1, len(keys)) if keys[i] != keys[i - 1]] + [len(keys)])
        if keys
        else [0]
    )
    for a, b in zip(starts[:-1], starts[1:]):
        key = keys[a]
        p, v, s = periods[a:b], values[a:b], ses[a:b]
        n, reason = _comparable_run(p, v, s, set(breaks.get(key[0], ())))
        record = dict(zip(KEY, key), from_period=p[b - a - max(n, 1)], to_period=p[-1], points=n)
        if n < MIN_POINTS:
            why = reason or "too few points"
            if n and n < MIN_POINTS and not reason.startswith(("the latest", "no standard")):
                why = f"{n} comparable point{'s' if n > 1 else ''} ({reason}); at least {MIN_POINTS} needed"
            out.append(
                {
                    **record,
                    "direction": Trend.NOT_TESTED.value,
                    "p_value": np.nan,
                    "method": f"not tested: {why}",
                }
            )
            continue
        years = np.array([_first_year(x) for x in p[-n:]], dtype=float)
        slope, _, p_value = slope_test(years, v[-n:], s[-n:])
        rising = Trend.INCREASING if slope > 0 else Trend.DECREASING
        direction = rising if p_value < alpha else Trend.NO_TREND
        out.append({**record, "direction": direction.value, "p_value": p_value, "method": METHOD})
    frame = pd.DataFrame(out, columns=COLUMNS)
    frame["points"] = frame["points"].astype(int)
    # the order of the estimates table (registry order, London first), not alphabetical
    first = {k: i for i, k in reversed(list(enumerate(_keys(detail))))}
    order = [first[k] for k in _keys(frame)]
    return frame.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)
