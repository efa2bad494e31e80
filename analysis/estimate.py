"""From canonical inputs to the tidy estimates table: one row per figure the reports show.

Survey measures: design-based proportions for London, each population group (domains),
Inner and Outer London and, where the registry allows, every borough, all from one joint
linearisation per wave so that each "compared with London" test uses the covariance of the
part with the whole. Gaps are differences of domain proportions with their covariance.
Admin measures: counts over denominators, with Wilson (proportions) or exact Poisson
(rates) intervals.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis import compare, geography, overdispersion, provenance, rules, schemas, survey
from analysis.compare import Compared
from analysis.measures import Measure, Series
from analysis.sdc import LOW_RELIABILITY, NOT_AVAILABLE, SUPPRESSED, DisclosureRules
from analysis.validate import InputError

__all__ = [
    "Column",
    "DETAIL_COLUMNS",
    "ESTIMATE_COLUMNS",
    "SurveyArrays",
    "Wave",
    "Z95",
    "estimate_admin_measure",
    "estimate_admin_value",
    "estimate_published_gap",
    "estimate_survey_measure",
    "finish",
    "gap_group",
    "level_codes",
    "mark_unreliable",
    "poisson_interval",
    "published_rate_flags",
    "sort_rows",
    "survey_gap_rows",
    "survey_proportion_rows",
    "wilson_interval",
]

ESTIMATE_COLUMNS = [
    "measure_id",
    "indicator",
    "period",
    "area_code",
    "area_name",
    "breakdown",
    "group",
    "value",
    "lower_ci",
    "upper_ci",
    "unweighted_base",
    "flag",
    "compared_to_london",
    "unit",
    "polarity",
    "source",
    "note",
    "proxy",
    "synthetic",
    "flag_reason",
    "uncertainty",
    "method",
]
DETAIL_COLUMNS = [*ESTIMATE_COLUMNS, "se", "p_vs_london"]
Z95 = survey.Z95


@dataclass(frozen=True)
class Column:
    """What one column of a joint domain estimate stands for."""

    area_code: str
    breakdown: str = "all"
    group: str = "all"


def level_codes(values: pd.Series, levels: Iterable[str]) -> np.ndarray:
    """Codes 0..k-1 of ``values`` in ``levels`` order (-1 for anything else), fast on strings."""
    levels = list(levels)
    codes, uniques = pd.factorize(values)
    lookup = np.array(
        [levels.index(u) if u in levels else -1 for u in uniques] + [-1], dtype=np.int64
    )
    return lookup[codes]  # factorize marks missing as -1, which picks the trailing -1


@dataclass
class SurveyArrays:
    """A survey family's microdata coded once into numpy arrays (every wave together)."""

    periods: list[str]
    period: np.ndarray
    weight: np.ndarray
    stratum: np.ndarray
    psu: np.ndarray
    stratum_labels: np.ndarray
    codes: dict[str, tuple[np.ndarray, int]]
    items: dict[str, np.ndarray]
    source: str
    lonely_psu: str = "fail"

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, *, items: Iterable[str], source: str, lonely_psu: str = "fail"
    ) -> SurveyArrays:
        periods = sorted(frame["period"].astype(str).unique())
        period = level_codes(frame["period"].astype(str), periods)
        # strata and PSUs are wave-specific: the same label in two waves is two units
        stratum_raw, stratum_labels = pd.factorize(
            frame["period"].astype(str) + "|" + frame["stratum"].astype(str)
        )
        psu_raw, _ = pd.factorize(frame["psu"].astype(str))
        codes = {
            var: (level_codes(frame[var], levels), len(levels))
            for var, levels in schemas.LEVELS.items()
        }
        boroughs = geography.borough_codes()
        b = level_codes(frame["borough"], boroughs)
        codes["borough"] = (b, len(boroughs))
        inner = geography.boroughs()["inner_outer"].to_numpy() == "Inner"
        codes["inner_outer"] = (np.where(b < 0, -1, np.where(inner[b], 0, 1)).astype(np.int64), 2)
        missing = [i for i in items if i not in frame.columns]
        if missing:
            raise InputError(source, f"missing survey item column(s) {missing}")
        items = {c: pd.to_numeric(frame[c], errors="raise").to_numpy(dtype=float) for c in items}
        return cls(
            periods,
            period,
            frame["weight"].to_numpy(dtype=float),
            stratum_raw.astype(np.int64),
            psu_raw.astype(np.int64),
            np.asarray(stratum_labels),
            codes,
            items,
            source,
            lonely_psu,
        )

    def wave(self, periods: str | list[str], label: str | None = None) -> Wave:
        """One wave, or several pooled (weights divided by the number of waves)."""
        periods = [periods] if isinstance(periods, str) else list(periods)
        missing = [p for p in periods if p not in self.periods]
        if missing:
            raise ValueError(f"{self.source}: no wave {missing}; have {self.periods}")
        wanted = np.isin(self.period, [self.periods.index(p) for p in periods])
        rows = np.flatnonzero(wanted)
        design = survey.Design.from_codes(
            self.weight[rows] / len(periods),
            self.stratum[rows],
            self.psu[rows],
            stratum_labels=self.stratum_labels,
            lonely_psu=self.lonely_psu,
            source=self.source,
        )
        return Wave(label or periods[0], rows, design, self, len(periods))


@dataclass
class Wave:
    """One wave (or pooled set of waves): its rows and design, prepared once per build."""

    period: str
    rows: np.ndarray
    design: survey.Design
    data: SurveyArrays
    n_periods: int = 1
    _breakdowns: dict[str, bool] = field(default_factory=dict, repr=False)

    def codes(self, var: str) -> tuple[np.ndarray, int]:
        codes, k = self.data.codes[var]
        return codes[self.rows], k

    def covers(self, values: np.ndarray) -> bool:
        """Whether every wave pooled here (or the one wave) has someone with a value in
        ``values`` (a demographic's codes, -1 where missing, or an item's answers, NaN where
        missing). A wave whose file lacks a variable or an item has no one, and so no figure."""
        present = (values >= 0) if values.dtype.kind in "iu" else ~np.isnan(values)
        if self.n_periods == 1:
            return bool(present.any())
        waves = self.data.period[self.rows]
        return np.unique(waves[present]).size == self.n_periods

    def has_breakdown(self, var: str) -> bool:
        """Whether this wave can be broken down by ``var`` (see :meth:`covers`); worked out
        once per wave and variable."""
        if var in ("borough", "inner_outer"):
            return True
        if var not in self._breakdowns:
            self._breakdowns[var] = self.covers(self.codes(var)[0])
        return self._breakdowns[var]

    def item(self, name: str, universe: dict | None) -> np.ndarray:
        """An item's 0/1 answers with respondents outside the measure's universe set missing."""
        if name not in self.data.items:
            raise KeyError(f"{self.data.source}: no column {name!r} for this measure")
        y = self.data.items[name][self.rows].copy()
        if universe:
            var = universe["variable"]
            allowed = [schemas.LEVELS[var].index(v) for v in universe["values"]]
            y[~np.isin(self.data.codes[var][0][self.rows], allowed)] = np.nan
        return y


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


def _pooled_label(periods: list[str]) -> str:
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
                label = _pooled_label(window)
                pooled[label] = data.wave(window, label)
        rows = survey_gap_rows(measure, waves, pooled)
    else:
        rows = survey_proportion_rows(measure, waves)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# Admin measures


def wilson_interval(x: np.ndarray, n: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for x successes out of n (Fingertips' method for proportions)."""
    x, n = np.asarray(x, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return centre - half, centre + half


def poisson_interval(count: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) interval for a Poisson count, from chi-squared quantiles."""
    count = np.asarray(count, dtype=float)
    a = 1 - level
    with np.errstate(invalid="ignore"):
        lower = np.where(count > 0, survey.chi2_ppf(a / 2, 2 * count) / 2, 0.0)
        upper = survey.chi2_ppf(1 - a / 2, 2 * count + 2) / 2
    return np.where(np.isnan(count), np.nan, lower), np.where(np.isnan(count), np.nan, upper)


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


def published_rate_flags(table: pd.DataFrame) -> tuple[np.ndarray, list[str], pd.Series, pd.Series]:
    """Flags, the reason for each ``[u]`` the publisher did not mark, and interval ends of published rates (percentages with a published
    interval half-width and the publisher's ``marker``), by the publisher's rule.

    ``!`` (or no rate) is ``[c]`` and ``*`` is ``[u]``, as published. Two things the publisher
    leaves unmarked are ``[u]`` too, each with a note saying which: a rate of exactly 100%
    with no interval (a sample so small that every member was employed), and an interval that
    goes beyond 0-100% (the normal approximation fails where a rate is near its limit on a
    small sample), whose impossible ends are cut at 0 and 100.
    """
    marker = table["marker"].fillna("").astype(str)
    rate, half = table["rate"].astype(float), table["ci_half_width"].astype(float)
    lower, upper = rate - half, rate + half
    beyond = ((upper > 100) | (lower < 0)).to_numpy()
    no_interval_at_100 = ((rate == 100) & half.isna()).to_numpy()
    suppressed = (marker.str.contains("!", regex=False) | rate.isna()).to_numpy()
    unreliable = marker.str.contains("*", regex=False).to_numpy() | beyond | no_interval_at_100
    flags = np.where(suppressed, SUPPRESSED, np.where(unreliable, LOW_RELIABILITY, ""))
    cut_lower, cut_upper = lower.clip(0, 100), upper.clip(0, 100)
    reasons = [
        ""
        if f == SUPPRESSED
        else provenance.INTERVAL_CUT.format(lower=lo, upper=hi, cut_lower=clo, cut_upper=chi)
        if b
        else provenance.NO_INTERVAL_AT_100
        if n
        else ""
        for f, b, n, lo, hi, clo, chi in zip(
            flags, beyond, no_interval_at_100, lower, upper, cut_lower, cut_upper
        )
    ]
    return flags, reasons, cut_lower, cut_upper


def estimate_published_gap(measure: Measure, table: pd.DataFrame) -> pd.DataFrame:
    """Group rates and gaps from published rates with confidence intervals (e.g. APS tables).

    The publisher's markers carry its disclosure control: ``!`` (too few to publish) becomes
    ``[c]`` and ``*`` (unreliable) ``[u]``, and rates the publisher leaves unmarked but whose
    interval is missing at 100% or passes 100% are ``[u]`` with a note
    (:func:`published_rate_flags`); ``[u]`` figures are not compared with London. A gap is
    ``[c]`` or ``[u]`` when either of its rates is. A gap's standard error combines the two groups'
    published intervals as independent estimates (different people); a borough's gap is
    compared with London's by a z test on the difference of the gaps. Borough rates are
    compared with London by whether the borough's interval excludes London's value.
    """
    t = table.copy()
    t["flag"], t["reason"], t["lower"], t["upper"] = published_rate_flags(t)
    t["note"] = [provenance.FLAGGED_U.format(reason=r) if r else "" for r in t["reason"]]
    # the publisher's marker, or our own reason where the publisher left the figure unmarked
    t["flag_reason"] = np.where(
        t["flag"] == "", "", np.where(t["reason"] != "", rules.UNUSABLE_INTERVAL, rules.PUBLISHER)
    )
    t["se"] = t["ci_half_width"] / Z95
    t["period"] = t["year"].astype(str)
    london = t[t["area_code"] == geography.LONDON_CODE].set_index(["period", "variable", "group"])
    rate = t.join(
        london[["rate"]].rename(columns={"rate": "london"}), on=["period", "variable", "group"]
    )
    verdict = compare.interval_verdict(rate["lower"], rate["upper"], rate["london"])
    rows = [
        pd.DataFrame(
            {
                "indicator": measure.rate_indicator,
                "period": rate["period"],
                "area_code": rate["area_code"],
                "breakdown": rate["variable"],
                "group": rate["group"],
                "value": rate["rate"],
                "lower_ci": rate["lower"],
                "upper_ci": rate["upper"],
                "se": rate["se"],
                "unweighted_base": np.nan,
                "p_vs_london": np.nan,
                "compared_to_london": np.where(
                    (rate["area_code"] == geography.LONDON_CODE)
                    | (rate["flag"] == LOW_RELIABILITY),
                    Compared.NOT_COMPARED,
                    verdict,
                ),
                "flag": rate["flag"],
                "note": rate["note"],
                "flag_reason": rate["flag_reason"],
            }
        )
    ]
    keyed = t.set_index(["period", "area_code", "variable", "group"])
    for s in measure.series:
        try:
            ref = keyed.xs((s.variable, s.reference_group), level=("variable", "group"))
            comp = keyed.xs((s.variable, s.comparison_group), level=("variable", "group"))
        except KeyError:
            continue
        both = ref[["rate", "se", "flag", "reason"]].join(
            comp[["rate", "se", "flag", "reason"]], suffixes=("_ref", "_comp"), how="inner"
        )
        gap = both["rate_ref"] - both["rate_comp"]
        se = np.sqrt(both["se_ref"] ** 2 + both["se_comp"] ** 2)
        flags = np.where(
            (both["flag_ref"] == SUPPRESSED) | (both["flag_comp"] == SUPPRESSED),
            SUPPRESSED,
            np.where(
                (both["flag_ref"] == LOW_RELIABILITY) | (both["flag_comp"] == LOW_RELIABILITY),
                LOW_RELIABILITY,
                "",
            ),
        )
        why = [
            "; ".join(
                provenance.BUILT_ON.format(group=g, reason=r)
                for g, r in ((s.reference_group, a), (s.comparison_group, b))
                if r
            )
            for a, b in zip(both["reason_ref"], both["reason_comp"])
        ]
        notes = [
            provenance.FLAGGED_U.format(reason=w) if w and f == LOW_RELIABILITY else ""
            for w, f in zip(why, flags)
        ]
        reasons = np.where(
            flags == "",
            "",
            np.where(
                np.array([bool(n) for n in notes], dtype=bool),
                rules.UNUSABLE_INTERVAL,
                rules.PUBLISHER,
            ),
        )
        frame = pd.DataFrame(
            {"gap": gap, "se": se, "flag": flags, "note": notes, "flag_reason": reasons}
        ).reset_index()
        lon = frame[frame["area_code"] == geography.LONDON_CODE].set_index("period")
        frame = frame.join(
            lon[["gap", "se"]].rename(columns={"gap": "l_gap", "se": "l_se"}), on="period"
        )
        diff = frame["gap"] - frame["l_gap"]
        p_value = survey.t_test_p(diff, np.sqrt(frame["se"] ** 2 + frame["l_se"] ** 2), np.inf)
        is_london = frame["area_code"] == geography.LONDON_CODE
        rows.append(
            pd.DataFrame(
                {
                    "indicator": s.indicator,
                    "period": frame["period"],
                    "area_code": frame["area_code"],
                    "breakdown": s.variable,
                    "group": gap_group(s),
                    "value": frame["gap"],
                    "lower_ci": frame["gap"] - Z95 * frame["se"],
                    "upper_ci": frame["gap"] + Z95 * frame["se"],
                    "se": frame["se"],
                    "unweighted_base": np.nan,
                    "p_vs_london": np.where(is_london, np.nan, p_value),
                    "compared_to_london": np.where(
                        is_london | (frame["flag"] == LOW_RELIABILITY).to_numpy(),
                        Compared.NOT_COMPARED,
                        compare.verdict(diff, p_value),
                    ),
                    "flag": frame["flag"],
                    "note": frame["note"],
                    "flag_reason": frame["flag_reason"],
                }
            )
        )
    out = pd.concat(rows, ignore_index=True)
    return out[out["area_code"].isin([*geography.borough_codes(), *geography.AGGREGATES])]


def finish(
    rows: pd.DataFrame,
    measure: Measure,
    *,
    source: str,
    synthetic: bool,
    rules: DisclosureRules,
    flags_from_source: bool = False,
    proxy: bool = False,
) -> pd.DataFrame:
    """Add the measure's labels, names and flags, apply disclosure control, order columns.

    ``proxy``: the source's figures stand in for the measure (the rows' ``proxy`` column)."""
    rows = rows.copy()
    rows["measure_id"] = measure.id
    rows["area_name"] = rows["area_code"].map(geography.names_by_code())
    if rows["area_name"].isna().any():  # an unknown code: name_of says which
        geography.name_of(rows.loc[rows["area_name"].isna(), "area_code"].iloc[0])
    rows["unit"] = measure.unit
    rows["polarity"] = measure.polarity
    if measure.rate_indicator:  # the rate behind a gap measure is a percentage, higher is better
        is_rate = rows["indicator"] == measure.rate_indicator
        rows.loc[is_rate, "unit"] = measure.rate_unit
        rows.loc[is_rate, "polarity"] = measure.rate_polarity
    rows["source"] = source
    # a figure with something particular about it says so in its own note
    rows["note"] = rows["note"].fillna("").astype(str) if "note" in rows else ""
    rows["proxy"] = bool(proxy)
    rows["synthetic"] = bool(synthetic)
    rows["method"] = "direct"  # modelled borough figures (analysis.sae) say "modelled"
    if "flag" not in rows:
        rows["flag"] = ""
    if (
        "uncertainty" not in rows
    ):  # the model applied: the design, the publisher's intervals, or none
        applied = "survey_design" if measure.is_survey else "none"
        if measure.is_survey and flags_from_source:
            applied = "published_interval"
        rows["uncertainty"] = applied
    if flags_from_source:  # published tables carry their publisher's own disclosure control
        rows = rules.hide_flagged(rows)
    else:
        rows = rules.apply(rows)
        if measure.kind.startswith("admin"):
            rows = rules.protect_aggregates(rows)
    base = rows["unweighted_base"].astype(float)
    rows["unweighted_base"] = pd.array(
        np.where(np.isnan(base), pd.NA, np.round(base)), dtype="Int64"
    )
    rows["flag_reason"] = rows["flag_reason"].fillna("")
    rows["uncertainty"] = np.where(rows["value"].isna(), "", rows["uncertainty"].fillna(""))
    return rows[DETAIL_COLUMNS]


def mark_unreliable(rows: pd.DataFrame, unreliable: pd.DataFrame) -> pd.DataFrame:
    """Flag ``[u]`` the figures whose denominator the source knows to be unreliable.

    ``unreliable`` has ``area_code``, ``period`` and ``why``. Each such figure keeps its value
    but is not compared with London (its interval reflects only sampling, not the doubtful
    denominator) and says why in its note. Suppressed or unavailable figures stay as they are.
    """
    rows = rows.copy()
    why = {
        (a, str(p)): w
        for a, p, w in zip(unreliable["area_code"], unreliable["period"], unreliable["why"])
    }
    reason = [why.get((a, p), "") for a, p in zip(rows["area_code"], rows["period"])]
    hit = (
        np.array([bool(r) for r in reason])
        & ~rows["flag"].isin([SUPPRESSED, NOT_AVAILABLE]).to_numpy()
    )
    rows.loc[hit, "flag"] = LOW_RELIABILITY
    rows.loc[hit, "flag_reason"] = rules.DOUBTFUL_DENOMINATOR
    rows.loc[hit, "compared_to_london"] = Compared.NOT_COMPARED
    rows.loc[hit, "p_vs_london"] = np.nan
    rows.loc[hit, "note"] = [
        provenance.add_note(
            n, provenance.FLAGGED_U.format(reason=provenance.UNRELIABLE_DENOMINATOR.format(why=r))
        )
        for n, r in zip(rows.loc[hit, "note"], np.array(reason, dtype=object)[hit])
    ]
    return rows


def sort_rows(rows: pd.DataFrame, order: Iterable[str]) -> pd.DataFrame:
    """Stable, meaningful order: registry order, indicator, period, area, breakdown, group."""
    rank = {m: i for i, m in enumerate(order)}
    area_rank = {
        geography.LONDON_CODE: 0,
        geography.INNER_LONDON_CODE: 1,
        geography.OUTER_LONDON_CODE: 2,
    }
    group_pos = [
        schemas.LEVELS[b].index(g) if b in schemas.LEVELS and g in schemas.LEVELS[b] else -1
        for b, g in zip(rows["breakdown"], rows["group"])
    ]
    key = pd.DataFrame(
        {
            "m": rows["measure_id"].map(rank).to_numpy(),
            "i": rows["indicator"].to_numpy(),
            "p": rows["period"].to_numpy(),
            "ar": rows["area_code"].map(lambda c: area_rank.get(c, 3)).to_numpy(),
            "a": rows["area_code"].to_numpy(),
            "bn": (rows["breakdown"] != "all").to_numpy(),
            "b": rows["breakdown"].to_numpy(),
            "g": group_pos,
            "gl": rows["group"].to_numpy(),
            "mm": (rows["method"] == "modelled").to_numpy() if "method" in rows else False,
        }
    )
    order_idx = key.sort_values(list(key.columns), kind="stable").index
    return rows.iloc[order_idx].reset_index(drop=True)
