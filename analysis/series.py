"""Selecting one series from the estimates table: the rows a chart, table or sentence describes.

A *series* is one measure's indicator for one population (``breakdown`` and ``group``) over
areas and periods. Pages must never filter on the indicator alone: an indicator can hold
several series (the employment rate for eight population groups, with or without an
all-persons rate), and a chart over all of them would pool different populations into one
map or ranking ("12 of the 243 boroughs"). Every page selects through :func:`select`, which
refuses a selection that still holds more than one row for an area and period.

Which population a page shows for an indicator is :func:`headline_key`: the whole population
where the source has it, else the indicator's only population (a gap is one series: its
breakdown is the variable the gap is between), else none: a page then says so instead of
pooling the groups.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from analysis import compare

__all__ = [
    "ALL",
    "AmbiguousSeries",
    "SeriesKey",
    "headline_key",
    "keys",
    "population",
    "select",
]

ALL = "all"


@dataclass(frozen=True)
class SeriesKey:
    """What identifies one series (areas and periods vary within it)."""

    indicator: str
    breakdown: str = ALL
    group: str = ALL
    measure_id: str | None = None

    def describe(self) -> str:
        who = (
            "the whole population"
            if (self.breakdown, self.group) == (ALL, ALL)
            else f"{self.breakdown} = {self.group}"
        )
        return f"{self.measure_id + '/' if self.measure_id else ''}{self.indicator} for {who}"


class AmbiguousSeries(ValueError):
    """A selection that would mix several series (or repeat one) in one chart or sentence."""


def keys(estimates: pd.DataFrame, indicator: str, measure_id: str | None = None) -> list[SeriesKey]:
    """Every series of ``indicator`` in the table, whole population first."""
    rows = _rows_of(estimates, indicator, measure_id)
    pairs = list(dict.fromkeys(zip(rows["breakdown"], rows["group"])))
    pairs.sort(key=lambda p: p != (ALL, ALL))
    return [SeriesKey(indicator, b, g, measure_id) for b, g in pairs]


def headline_key(
    estimates: pd.DataFrame, indicator: str, measure_id: str | None = None
) -> SeriesKey | None:
    """The series a page shows for ``indicator``: the whole population if the table has it,
    else the only series there is (a gap), else ``None`` (several group series and no total:
    no single series describes the indicator, so nothing may be charted as if one did)."""
    found = keys(estimates, indicator, measure_id)
    if not found:
        return None
    if (found[0].breakdown, found[0].group) == (ALL, ALL) or len(found) == 1:
        return found[0]
    return None


def select(
    estimates: pd.DataFrame,
    key: SeriesKey,
    *,
    period: str | None = None,
    areas: Iterable[str] | None = None,
    boroughs: bool = False,
    single_periods: bool = False,
) -> pd.DataFrame:
    """The rows of one series, optionally one period, some areas (``areas``, or the 33
    ``boroughs``) and single (not pooled) periods only.

    Raises :class:`AmbiguousSeries` if the result has two rows for the same area and period,
    which means the table holds something the key does not tell apart (never a wrong chart).
    """
    rows = _rows_of(estimates, key.indicator, key.measure_id)
    mask = (rows["breakdown"] == key.breakdown) & (rows["group"] == key.group)
    if period is not None:
        mask &= rows["period"] == period
    if areas is not None:
        mask &= rows["area_code"].isin(list(areas))
    if boroughs:
        mask &= rows["area_code"].str.startswith("E09")
    if single_periods:
        mask &= ~compare.is_pooled(rows["period"])
    out = rows[mask]
    repeated = out.duplicated(["area_code", "period"])
    if repeated.any():
        first = out[repeated].iloc[0]
        raise AmbiguousSeries(
            f"{key.describe()} has more than one row for {first['area_code']} in {first['period']}: "
            "the selection mixes series"
        )
    return out


def _rows_of(estimates: pd.DataFrame, indicator: str, measure_id: str | None) -> pd.DataFrame:
    mask = estimates["indicator"] == indicator
    if measure_id is not None:
        mask &= estimates["measure_id"] == measure_id
    rows = estimates[mask]
    missing = {c: ALL for c in ("breakdown", "group") if c not in rows}
    return rows.assign(**missing) if missing else rows  # a table without them holds one population


def population(
    estimates: pd.DataFrame, area_code: str, period: str | None = None
) -> tuple[str, float] | None:
    """(period, residents) of an area from the data: the denominator of a figure per resident
    (the registry's admin measures whose denominator is ``population``) in ``period``, or the
    latest, so a page never quotes a remembered population. ``None`` if the build has none."""
    from analysis import measures

    per_resident = [
        m.id
        for m in measures.registry()
        if m.kind.startswith("admin") and m.denominator == "population"
    ]
    rows = estimates[
        estimates["measure_id"].isin(per_resident)
        & (estimates["area_code"] == area_code)
        & (estimates["breakdown"] == ALL)
        & estimates["unweighted_base"].notna()
    ]
    rows = rows[~compare.is_pooled(rows["period"])]
    if period is not None:
        rows = rows[rows["period"] == period]
    if rows.empty:
        return None
    latest = rows.sort_values("period").iloc[-1]
    return str(latest["period"]), float(latest["unweighted_base"])
