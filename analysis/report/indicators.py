"""The rows pages select from the build's estimates: headline series, latest periods, and every
borough indicator at its latest period with London's value, the borough spread, the verdict
and the rank (worked out once per build's data for all 33 boroughs)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import compare, geography, measures, provenance, rules, series
from analysis.measures import Measure
from analysis.report.base import ReportData


def main_rows(estimates: pd.DataFrame) -> pd.DataFrame:
    """Whole-population rows, and the rows of gap indicators (whose breakdown is the
    variable the gap is between)."""
    gaps = {s.indicator for m in measures.registry() if m.kind == "survey_gap" for s in m.series}
    return estimates[(estimates["breakdown"] == "all") | estimates["indicator"].isin(gaps)]


def latest_period(rows: pd.DataFrame, pooled: bool = False) -> str | None:
    """Latest period, preferring pooled ones when asked (survey borough gaps) and falling back
    to single periods (published gaps come by single year)."""
    pooled_mask = compare.is_pooled(rows["period"])
    periods = rows.loc[pooled_mask == pooled, "period"]
    if not len(periods) and pooled:
        periods = rows.loc[~pooled_mask, "period"]
    return max(periods) if len(periods) else None


def headline_indicators() -> list[tuple[Measure, str, str]]:
    """(measure, indicator, label) for every series of the registry, in order. A gap measure's
    group rates are not series (its gaps are), so they are not listed."""
    return [(m, s.indicator, s.label) for m in measures.registry() for s in m.series]


_BOROUGH_ROWS: dict[tuple, pd.DataFrame] = {}

_COLUMNS = [
    "area_code",
    "area_name",
    "indicator",
    "breakdown",
    "group",
    "value",
    "lower_ci",
    "upper_ci",
    "unweighted_base",
    "flag",
    "flag_reason",
    "uncertainty",
    "compared_to_london",
    "unit",
    "polarity",
    "source",
    "note",
    "proxy",
]


def borough_indicator_rows(data: ReportData) -> pd.DataFrame:
    """Every borough-level indicator at its latest period, for all 33 boroughs at once, with
    London's value, the borough's own half of London (``half``: Inner or Outer London's value
    for the same series and period), the spread of boroughs, the verdict against London and
    the rank.

    Computed once per build's data and kept, so each borough page only picks its rows.
    """
    cache_key = data.key or (id(data.estimates),)
    if cache_key in _BOROUGH_ROWS:
        return _BOROUGH_ROWS[cache_key]
    e = main_rows(data.estimates)
    frames = []
    for m, indicator, label in headline_indicators():
        if "borough" not in m.geographies:
            continue
        key = series.headline_key(e, indicator, m.id)
        if key is None:
            continue
        at = series.select(e, key, boroughs=True)
        period = latest_period(at, pooled=m.kind == "survey_gap") if len(at) else None
        if period is None:
            continue
        boroughs = at[at.period == period]
        london = series.select(e, key, period=period, areas=[geography.LONDON_CODE])
        if london.empty:
            continue
        half_rows = series.select(
            e, key, period=period, areas=[geography.INNER_LONDON_CODE, geography.OUTER_LONDON_CODE]
        )
        half_values = dict(zip(half_rows["area_code"], half_rows["value"]))
        polarity = str(boroughs["polarity"].iloc[0])  # the polarity of the rows described
        # the borough range and the ranks use the same figures: published and not [u]
        ranks = compare.ranks(
            e, m.id, indicator, period, polarity, key.breakdown, key.group
        ).set_index("area_code")
        values = ranks["value"]
        frame = boroughs[[c for c in _COLUMNS if c in boroughs.columns]].copy()
        frame = frame.assign(
            measure_id=m.id,
            domain=m.domain,
            label=provenance.label(label, boroughs["proxy"].iloc[0]),
            period=period,
            kind=m.kind,
            london=float(london["value"].iloc[0]),
            half=[
                half_values.get(geography.sub_region_code(c), np.nan) for c in frame["area_code"]
            ],
            min=values.min() if len(values) else np.nan,
            max=values.max() if len(values) else np.nan,
            q25=values.quantile(0.25) if len(values) else np.nan,
            q75=values.quantile(0.75) if len(values) else np.nan,
            verdict=rules.verdicts(frame).to_numpy(),
            # no rank for a [u] figure, nor for a neutral indicator (no best end)
            rank=[
                ranks.loc[c, "rank_best"] if c in ranks.index else None for c in frame["area_code"]
            ],
            n_ranked=len(ranks),
        )
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    _BOROUGH_ROWS.clear()  # one build's data at a time
    _BOROUGH_ROWS[cache_key] = out
    return out
