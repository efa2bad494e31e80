"""What a small area model takes in (direct borough estimates) and gives out (its table).

Two kinds of direct input, both on the 0-1 scale:

* a survey proportion: each borough's weighted share, its design-based variance, and London's
  (:func:`directs`);
* a gap between two groups of the same borough (e.g. the employment rate of non-disabled
  minus disabled people): each borough's difference of the two groups' rates in one wave, with
  the design-based variance of the difference, the two groups' covariance included (they share
  the borough's PSUs), from one joint pass of the estimator (:func:`gap_directs`). The direct
  borough gaps that ``estimates.csv`` publishes pool three waves; the models work on single
  waves, so that their waves are independent samples, as the stacked model assumes.

A gap's benchmark target is the direct London gap *within boroughs*: the boroughs' direct
gaps weighted by their weighted population in the two groups (``Direct.target``). London's
own direct gap (``Direct.london``) also differs from it by a composition term, ``sum_i (a_i -
b_i) (p_ai + p_bi) / 2`` with ``a_i, b_i`` borough ``i``'s shares of London's two groups:
where the two groups live in different boroughs, London's gap mixes the boroughs' gaps with the
difference between the boroughs' levels. No borough's gap contains that term, so moving every
borough by it would bias them all; the target leaves it out and the JSON reports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis import schemas, survey
from analysis.measures import Measure
from analysis.sae import covariates

METHOD_DIRECT = "direct"
METHOD_MODELLED = "modelled"
UNCERTAINTY = "small_area_model"  # the row's uncertainty model (analysis.rules.APPLIED_METHODS)
METHOD_LABEL = (
    "modelled: Fay-Herriot small area estimate (area-level model on Inner London and the "
    "BAME share, REML, benchmarked to the London direct estimate)"
)
PROPORTION, GAP = "proportion", "gap"
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
    """Direct borough estimates of one indicator in one wave (proportions on the 0-1 scale).

    For a gap (``kind`` :data:`GAP`) ``n`` is the smaller group's respondents (the base the
    disclosure rules read, as for the published gaps), ``n_groups`` both groups' (33 x 2),
    ``london_groups`` London's two rates and respondents ``(p_a, p_b, n_a, n_b)`` (for the
    GVF), ``weighted_n`` the two groups' weighted population and ``target`` the benchmark
    (module docstring)."""

    measure_id: str
    indicator: str
    period: str
    estimate: np.ndarray  # 33 boroughs in geography.borough_codes() order; NaN without respondents
    variance: np.ndarray
    n: np.ndarray
    weighted_n: np.ndarray
    london: float
    london_se: float
    kind: str = PROPORTION
    n_groups: np.ndarray | None = None
    london_groups: tuple[float, float, float, float] | None = None
    target: float | None = None
    breakdown: str = "all"
    group: str = "all"

    @property
    def benchmark(self) -> float:
        """What the boroughs' weighted modelled figures add up to."""
        return self.london if self.target is None else self.target

    @property
    def bounds(self) -> tuple[float, float]:
        """A proportion stays in 0-1, a difference of two in -1 to 1."""
        return (0.0, 1.0) if self.kind == PROPORTION else (-1.0, 1.0)


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
    """Direct borough inputs of every indicator and wave of a survey measure."""
    if measure.kind == "survey_gap":
        return gap_directs(measure, waves)
    if measure.kind != "survey_proportion":
        return []
    out = []
    for period, wave in waves.items():
        part = [wave.codes("borough")]
        for s in measure.series:
            y = wave.item(s.item, measure.universe)
            if hasattr(wave, "covers") and not wave.covers(y):  # the wave lacks the item
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


def gap_directs(measure: Measure, waves: dict[str, Any]) -> list[Direct]:
    """Direct borough gaps of every series and single wave of a gap measure: each borough's
    two group rates estimated jointly with London's (one pass per grouping variable), the
    gap's variance that of the difference, with the groups' covariance."""
    if not measure.item:
        return []
    out = []
    for period, wave in waves.items():
        y = wave.item(measure.item, measure.universe)
        if not wave.covers(y):
            continue
        variables = [
            v
            for v in dict.fromkeys(s.variable for s in measure.series if s.variable)
            if wave.has_breakdown(v)
        ]
        if not variables:
            continue
        # one joint pass per wave: each variable's levels for London, then borough by level
        b_codes, n_b = wave.codes("borough")
        parts, at, where = [], 1, {}
        for var in variables:
            var_codes, k = wave.codes(var)
            crossed = np.where((var_codes >= 0) & (b_codes >= 0), b_codes * k + var_codes, -1)
            parts += [(var_codes, k), (crossed, n_b * k)]
            where[var] = (at, at + k, k)  # London's level columns, the first borough column
            at += k + n_b * k
        res = survey.domain_means(wave.design, y, parts, with_df=False)
        series = [s for s in measure.series if s.variable in where]
        cols = []
        for s in series:
            london_at, borough_at, k = where[str(s.variable)]
            levels = schemas.LEVELS[str(s.variable)]
            ra, rb = levels.index(str(s.reference_group)), levels.index(str(s.comparison_group))
            cols.append((london_at + ra, london_at + rb, borough_at + np.arange(n_b) * k, ra, rb))
        london, london_se = res.combinations(np.array([[c[0], c[1]] for c in cols]), [1.0, -1.0])
        for j, (s, (la, lb, first, ra, rb)) in enumerate(zip(series, cols, strict=True)):
            ba, bb = first + ra, first + rb
            gap, se = res.combinations(np.c_[ba, bb], [1.0, -1.0])
            na, nb = res.n[ba].astype(float), res.n[bb].astype(float)
            both = (na > 0) & (nb > 0) & np.isfinite(gap)
            wn = np.where(both, res.weighted_n[ba] + res.weighted_n[bb], 0.0)
            target = (
                float(np.dot(wn, np.where(both, gap, 0.0)) / wn.sum()) if both.any() else np.nan
            )
            out.append(
                Direct(
                    measure.id,
                    s.indicator,
                    period,
                    np.where(both, gap, np.nan),
                    np.where(both, se**2, np.nan),
                    np.where(both, np.minimum(na, nb), 0.0),
                    wn,
                    float(london[j]),
                    float(london_se[j]),
                    kind=GAP,
                    n_groups=np.c_[na, nb],
                    london_groups=(
                        float(res.estimate[la]),
                        float(res.estimate[lb]),
                        float(res.n[la]),
                        float(res.n[lb]),
                    ),
                    target=target,
                    breakdown=str(s.variable),
                    group=f"{s.reference_group} minus {s.comparison_group}",
                )
            )
    return out


__all__ = ["Direct", "Model", "directs", "gap_directs"]
