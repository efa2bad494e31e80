"""Rows of the estimates table for survey measures: proportions for London, each population
group, Inner and Outer London and the boroughs, and percentage-point gaps between groups.

Why one joint linearisation per wave: each "compared with London" test then uses the
covariance of the part with the whole, and a gap's standard error the covariance of its two
groups.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis import compare, geography, schemas, survey
from analysis.compare import Compared
from analysis.estimate.survey_data import SurveyArrays, Wave
from analysis.measures import Measure, Series


@dataclass(frozen=True)
class Column:
    """What one column of a joint domain estimate stands for."""

    area_code: str
    breakdown: str = "all"
    group: str = "all"


def _partition_columns(var: str) -> list[Column]:
    """Columns a partition adds, in code order."""
    if var == "borough":
        return [Column(c) for c in geography.borough_codes()]
    if var == "inner_outer":
        return [Column(geography.INNER_LONDON_CODE), Column(geography.OUTER_LONDON_CODE)]
    return [Column(geography.LONDON_CODE, var, level) for level in schemas.LEVELS[var]]


def _proportion_rows(
    res: survey.DomainEstimates, columns: list[Column], indicator: str, period: str
) -> list[dict]:
    """Rows for every column of a joint estimate; column 0 must be London as a whole."""
    se = res.se
    lo, hi = survey.logit_ci(res.estimate, se, res.df, n=res.n)
    diff, diff_se = res.versus_first()
    p_values = survey.t_test_p(diff, diff_se, res.df)
    verdicts = compare.verdict(diff, p_values)
    p_values[0], verdicts[0] = np.nan, Compared.NOT_COMPARED
    verdicts = np.where(res.n > 0, verdicts, Compared.NOT_COMPARED)
    return [
        {
            "indicator": indicator,
            "period": period,
            "area_code": col.area_code,
            "breakdown": col.breakdown,
            "group": col.group,
            "value": 100 * res.estimate[k],
            "lower_ci": 100 * lo[k],
            "upper_ci": 100 * hi[k],
            "se": 100 * se[k],
            "unweighted_base": int(res.n[k]),
            "p_vs_london": float(p_values[k]),
            "compared_to_london": str(verdicts[k]),
        }
        for k, col in enumerate(columns)
    ]


def gap_group(series: Series) -> str:
    """The ``group`` label of a gap row, e.g. 'Not disabled minus Disabled'."""
    return f"{series.reference_group} minus {series.comparison_group}"


def _declared(value: str | None, measure: Measure, field: str) -> str:
    """A registry field that is optional in general but that this kind of measure must have.

    Why: :func:`analysis.measures.check` already refuses a survey measure without its item, or
    a gap series without its variable and groups; this narrows the optional type for the
    estimators and keeps a measure made by hand (a test, a notebook) from failing obscurely.
    """
    if value is None:
        raise ValueError(f"measure {measure.id!r} ({measure.kind}) declares no {field}")
    return value


def _difference_row(est: float, se: float, df: float, base: int, **fields: object) -> dict:
    lo, hi = survey.wald_ci(est, se, df)
    return {
        **fields,
        "value": 100 * est,
        "se": 100 * se,
        "lower_ci": 100 * float(lo),
        "upper_ci": 100 * float(hi),
        "unweighted_base": int(base),
    }


def _london_gap_row(
    res: survey.DomainEstimates, a: int, b: int, series: Series, variable: str, period: str
) -> dict:
    """London's gap between the groups in columns ``a`` and ``b`` of a joint estimate.

    The gap is London's own figure, so it is not compared with London; its degrees of freedom
    and base are those of the smaller group.
    """
    est, se = res.contrast(a, b)
    return _difference_row(
        est,
        se,
        min(res.df[a], res.df[b]),
        min(res.n[a], res.n[b]),
        indicator=series.indicator,
        period=period,
        area_code=geography.LONDON_CODE,
        breakdown=variable,
        group=gap_group(series),
        p_vs_london=np.nan,
        compared_to_london=Compared.NOT_COMPARED,
    )


def _windows(periods: list[str], size: int) -> list[list[str]]:
    return [periods[i - size + 1 : i + 1] for i in range(size - 1, len(periods))]


def pooled_label(periods: list[str]) -> str:
    """'2014-2016' for calendar years, '2014/15-2016/17' for survey years."""
    return f"{periods[0]}-{periods[-1]}"


def survey_proportion_rows(measure: Measure, waves: dict[str, Wave]) -> list[dict]:
    """London, groups, Inner/Outer and (if the registry allows) boroughs, for every wave."""
    parts = list(measure.breakdowns) + ["inner_outer"]
    if "borough" in measure.geographies:
        parts.append("borough")
    columns = [Column(geography.LONDON_CODE)] + [
        c for var in parts for c in _partition_columns(var)
    ]
    rows = []
    for period, wave in waves.items():
        # a breakdown the wave lacks (nobody has a level) has no rows at all for that wave
        lacks = {v for v in measure.breakdowns if not wave.has_breakdown(v)}
        shown = [k for k, col in enumerate(columns) if col.breakdown not in lacks]
        for s in measure.series:
            y = wave.item(_declared(s.item, measure, "item"), measure.universe)
            if not wave.covers(y):  # an item the wave lacks: no figure for that wave
                continue
            res = survey.domain_means(wave.design, y, [wave.codes(v) for v in parts])
            made = _proportion_rows(res, columns, s.indicator, period)
            rows += [made[k] for k in shown]
    return rows


def survey_gap_rows(
    measure: Measure, waves: dict[str, Wave], pooled: dict[str, Wave]
) -> list[dict]:
    """Group rates and percentage-point gaps for London; pooled-wave gaps for boroughs."""
    item = _declared(measure.item, measure, "item")
    variables = list(
        dict.fromkeys(_declared(s.variable, measure, "variable") for s in measure.series)
    )
    parts = list(dict.fromkeys([*variables, *measure.breakdowns])) + ["inner_outer"]
    columns = [Column(geography.LONDON_CODE)] + [
        c for var in parts for c in _partition_columns(var)
    ]
    where = {(c.breakdown, c.group): k for k, c in enumerate(columns)}
    rows = []
    for period, wave in waves.items():
        y = wave.item(item, measure.universe)
        if not wave.covers(y):  # the wave lacks the item: no figure for that wave
            continue
        res = survey.domain_means(wave.design, y, [wave.codes(v) for v in parts])
        made = _proportion_rows(res, columns, measure.rate_indicator or measure.id, period)
        lacks = {v for v in parts if not wave.has_breakdown(v)}
        rows += [r for r, col in zip(made, columns) if col.breakdown not in lacks]
        for s in measure.series:
            variable = _declared(s.variable, measure, "variable")
            if not wave.has_breakdown(variable):  # no gap between groups the wave does not record
                continue
            reference = _declared(s.reference_group, measure, "reference_group")
            comparison = _declared(s.comparison_group, measure, "comparison_group")
            a, b = where[(variable, reference)], where[(variable, comparison)]
            rows.append(_london_gap_row(res, a, b, s, variable, period))
    boroughs = geography.borough_codes()
    for period, wave in pooled.items():
        y = wave.item(item, measure.universe)
        if not wave.covers(y):  # a pooled window needs the item in every one of its waves
            continue
        # employment rate by borough, compared with London over the same pooled period
        res = survey.domain_means(wave.design, y, [wave.codes("borough")])
        cols = [Column(geography.LONDON_CODE)] + _partition_columns("borough")
        rows += _proportion_rows(res, cols, measure.rate_indicator or measure.id, period)
        for var in variables:
            if not wave.has_breakdown(var):  # ... and the variable in every one of them
                continue
            var_codes, n_levels = wave.codes(var)
            b_codes, n_b = wave.codes("borough")
            crossed = np.where(
                (var_codes >= 0) & (b_codes >= 0), b_codes * n_levels + var_codes, -1
            )
            res = survey.domain_means(
                wave.design, y, [(var_codes, n_levels), (crossed, n_b * n_levels)]
            )
            levels = schemas.LEVELS[var]
            for s in (s for s in measure.series if s.variable == var):
                ra = levels.index(_declared(s.reference_group, measure, "reference_group"))
                rb = levels.index(_declared(s.comparison_group, measure, "comparison_group"))
                la, lb = 1 + ra, 1 + rb  # London columns (after the 'all' column)
                rows.append(_london_gap_row(res, la, lb, s, var, period))
                # every borough at once: its gap, and its gap minus London's with their covariance
                first = 1 + n_levels + np.arange(n_b) * n_levels
                ba, bb = first + ra, first + rb
                base = np.minimum(res.n[ba], res.n[bb])
                b_est, b_se = res.combinations(np.c_[ba, bb], [1.0, -1.0])
                london = np.broadcast_to([la, lb], (n_b, 2))
                diff, dse = res.combinations(np.c_[ba, bb, london], [1.0, -1.0, -1.0, 1.0])
                df = np.minimum(res.df[ba], res.df[bb])
                p_values = np.where(base > 0, survey.t_test_p(diff, dse, df), np.nan)
                verdicts = compare.verdict(diff, p_values)
                for i, code in enumerate(boroughs):
                    rows.append(
                        _difference_row(
                            b_est[i],
                            b_se[i],
                            df[i],
                            base[i],
                            indicator=s.indicator,
                            period=period,
                            area_code=code,
                            breakdown=var,
                            group=gap_group(s),
                            p_vs_london=float(p_values[i]),
                            compared_to_london=str(verdicts[i]),
                        )
                    )
    return rows


def estimate_survey_measure(
    measure: Measure, data: SurveyArrays, waves: dict[str, Wave] | None = None
) -> pd.DataFrame:
    """All rows of one survey measure from its family's microdata (all waves).

    ``waves`` lets a build prepare each wave's design once and share it between measures.
    """
    if waves is None:
        waves = {p: data.wave(p) for p in data.periods}
    if measure.kind == "survey_gap":
        pooled = {}
        if "borough" in measure.geographies and measure.borough_pool_waves > 1:
            for window in _windows(data.periods, measure.borough_pool_waves):
                label = pooled_label(window)
                pooled[label] = data.wave(window, label)
        rows = survey_gap_rows(measure, waves, pooled)
    else:
        rows = survey_proportion_rows(measure, waves)
    return pd.DataFrame(rows)
