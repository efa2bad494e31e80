"""Electoral registration against population churn across the 33 local authorities: the
statistics. The borough pair read from the estimates, the regressions (least squares with
classical and HC3 errors, Huber, without the City of London, with an Inner London term),
influence measures, and the interpretation written from the fitted numbers. The charts are in
:mod:`analysis.thematic.registration_churn_charts`, the page in
:mod:`analysis.thematic.registration_churn_page`.

The regression is across places: it describes boroughs, not people, and does not show that
moving home makes any individual less likely to register.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis import geography, series

CITY = geography.CITY_OF_LONDON_CODE
X, Y = "population_churn", "electoral_registration"
X_LABEL = "Population churn (moves in and out per 100 residents)"
Y_LABEL = "Electoral registration (electors per 100 adults)"
Y_LABEL_PROXY = "Electoral registration, proxy (referendum electors per 100 adults)"
STRATEGY = "Greater London Authority (2018), All of Us: The Mayor's Strategy for Social Integration"


def _num(v: float, d: int = 2) -> str:
    return f"{v:.{d}f}"


def signed(v: float, d: int = 2) -> str:
    return f"{v:+.{d}f}"


# ------------------------------------------------------------------------------------------
# Data: the two indicators for the 33 local authorities


def borough_pair(estimates: pd.DataFrame, period: str | None = None) -> tuple[pd.DataFrame, str]:
    """Borough rows (E09*) of churn and registration in ``period`` (default: the latest single
    period both have), with the period used.

    One row per borough: area_code, area_name, inner_outer, then for each of ``churn`` and
    ``registration`` the value and its ``_lower``, ``_upper`` and ``_flag``.
    """
    x, y = X, Y
    # each indicator's whole-population series (one row per borough and period, or an error)
    e = pd.concat(
        [
            series.select(estimates, series.SeriesKey(i), boroughs=True, single_periods=True)
            for i in (x, y)
        ]
    )
    periods = set(e.loc[e.indicator == x, "period"]) & set(e.loc[e.indicator == y, "period"])
    if not periods:
        raise ValueError(
            f"The estimates have no single period with borough figures for both {x!r} and {y!r}"
        )
    if period is None:
        period = max(periods)
    elif period not in periods:
        raise ValueError(
            f"Period {period!r} not available for both indicators; choose from {sorted(periods)}"
        )
    names = {x: "churn", y: "registration"}
    parts = []
    for ind, short in names.items():
        r = e[(e.indicator == ind) & (e.period == period)].set_index("area_code")
        parts.append(
            r[["value", "lower_ci", "upper_ci", "flag"]].rename(
                columns={
                    "value": short,
                    "lower_ci": f"{short}_lower",
                    "upper_ci": f"{short}_upper",
                    "flag": f"{short}_flag",
                }
            )
        )
    frame = pd.concat(parts, axis=1, join="inner").reset_index()
    meta = geography.boroughs().set_index("code")[["name", "inner_outer"]]
    frame = frame.join(meta, on="area_code").rename(columns={"name": "area_name"})
    return frame.sort_values("area_code").reset_index(drop=True), period


def planted_boroughs(
    slope: float = -1.5, intercept: float = 100.0, noise: float = 1.2, label: str = "planted"
) -> pd.DataFrame:
    """A generated borough table with a known slope of registration on churn (for tests).

    Churn is drawn as in the demo (Inner 9-17, Outer 5-10, the City 15 per 100 residents) and
    registration = intercept + slope x churn + normal noise with SD ``noise``.
    """
    from analysis.sources.demo import seeded_rng

    rng = seeded_rng("planted-regression", label, slope, intercept, noise)
    b = geography.boroughs()
    inner = (b["inner_outer"] == "Inner").to_numpy()
    churn = np.where(inner, rng.uniform(9, 17, len(b)), rng.uniform(5, 10, len(b)))
    churn[b["code"].to_numpy() == CITY] = 15.0
    registration = intercept + slope * churn + rng.normal(0, noise, len(b))
    return pd.DataFrame(
        {
            "area_code": b["code"],
            "area_name": b["name"],
            "inner_outer": b["inner_outer"],
            "churn": churn,
            "registration": registration,
        }
    )


# ------------------------------------------------------------------------------------------
# Regression


@dataclass(frozen=True)
class Fit:
    """One fitted slope with its 95% interval."""

    label: str
    slope: float
    lower: float
    upper: float
    se: float
    pvalue: float
    intercept: float
    r2: float
    n: int


@dataclass
class Regression:
    frame: pd.DataFrame  # the input with fitted, residual, leverage, cooks_d, student_resid
    # statsmodels results (an untyped library: Any)
    ols: Any  # classical OLS results
    hc3: Any  # OLS with HC3 errors
    rlm: Any  # Huber M-estimator
    no_city: Any | None  # OLS (HC3) without the City of London
    with_inner: Any  # OLS (HC3) with an Inner London term
    fits: list[Fit]
    inner_no_city: Any | None = None  # OLS (HC3) with an Inner London term, without the City

    @property
    def main(self) -> Fit:
        return self.fits[1]

    def fit(self, label_start: str) -> Fit:
        """The fit whose label starts so; a LookupError if it was not made (the refit without
        the City is made only where the City is in the data: see :attr:`without_city`)."""
        found = next((f for f in self.fits if f.label.startswith(label_start)), None)
        if found is None:
            raise LookupError(f"no fit {label_start!r} among {[f.label for f in self.fits]}")
        return found

    @property
    def without_city(self) -> Fit | None:
        """The least squares refit without the City of London, where the City was in the data."""
        return self.fit("OLS without") if self.no_city is not None else None

    @property
    def n(self) -> int:
        return len(self.frame)

    @property
    def leverage_guide(self) -> float:
        return 2 * 2 / self.n  # 2p/n with p = 2 parameters

    @property
    def cooks_guide(self) -> float:
        return 4 / self.n

    def city(self) -> pd.Series | None:
        hit = self.frame[self.frame.area_code == CITY]
        return hit.iloc[0] if len(hit) else None

    def city_drives(self) -> bool | None:
        """Whether the conclusion depends on the City: without it the slope's significance at 5%
        changes, or its 95% interval no longer contains the full-sample slope."""
        if self.no_city is None:
            return None
        alt, main = self.fit("OLS without"), self.main
        return bool(
            (alt.pvalue < 0.05) != (main.pvalue < 0.05) or not alt.lower <= main.slope <= alt.upper
        )


def _fit_row(label: str, result, x: str, r2: float | None = None) -> Fit:
    """A :class:`Fit` from a statsmodels formula result (OLS or RLM)."""
    ci = result.conf_int().loc[x]
    return Fit(
        label,
        float(result.params[x]),
        float(ci.iloc[0]),
        float(ci.iloc[1]),
        float(result.bse[x]),
        float(result.pvalues[x]),
        float(result.params["Intercept"]),
        float("nan") if r2 is None else float(r2),
        int(result.nobs),
    )


def regress(frame: pd.DataFrame, x: str = "churn", y: str = "registration") -> Regression:
    """OLS of ``y`` on ``x`` (classical and HC3 errors), a Huber robust fit, influence measures,
    a refit without the City of London and a fit with an Inner London term."""
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    data = frame.dropna(subset=[x, y]).reset_index(drop=True).copy()
    formula = f"{y} ~ {x}"
    ols = smf.ols(formula, data).fit()
    hc3 = smf.ols(formula, data).fit(cov_type="HC3")
    rlm = smf.rlm(formula, data, M=sm.robust.norms.HuberT()).fit()
    influence = ols.get_influence()
    data["fitted"] = ols.fittedvalues
    data["residual"] = ols.resid
    data["leverage"] = influence.hat_matrix_diag
    data["cooks_d"] = influence.cooks_distance[0]
    data["student_resid"] = influence.resid_studentized_external
    data["huber_weight"] = rlm.weights
    data["slope_change"] = -influence.dfbeta[:, 1]  # slope without the borough minus slope with it
    fits = [
        _fit_row("OLS, classical errors", ols, x, ols.rsquared),
        _fit_row("OLS, HC3 robust errors", hc3, x, hc3.rsquared),
        _fit_row("Huber robust regression (M-estimator)", rlm, x),
    ]
    no_city = None
    if (data.area_code == CITY).any():
        no_city = smf.ols(formula, data[data.area_code != CITY]).fit(cov_type="HC3")
        fits.append(
            _fit_row("OLS without the City of London, HC3 errors", no_city, x, no_city.rsquared)
        )
    data["inner"] = (data["inner_outer"] == "Inner").astype(float)
    with_inner = smf.ols(f"{formula} + inner", data).fit(cov_type="HC3")
    fits.append(
        _fit_row("OLS with an Inner London term, HC3 errors", with_inner, x, with_inner.rsquared)
    )
    inner_no_city = None
    if (
        no_city is not None
    ):  # the Inner/Outer model too can rest on the City, an Inner London outlier
        inner_no_city = smf.ols(f"{formula} + inner", data[data.area_code != CITY]).fit(
            cov_type="HC3"
        )
        fits.append(
            _fit_row(
                "OLS with an Inner London term, without the City of London, HC3 errors",
                inner_no_city,
                x,
                inner_no_city.rsquared,
            )
        )
    return Regression(data, ols, hc3, rlm, no_city, with_inner, fits, inner_no_city)


def _drive_reason(alt: Fit, main: Fit) -> str:
    reasons = []
    if (alt.pvalue < 0.05) != (main.pvalue < 0.05):
        reasons.append(
            "the slope is significant at 5% "
            + ("only without" if alt.pvalue < 0.05 else "only with")
            + " it"
        )
    if not alt.lower <= main.slope <= alt.upper:
        reasons.append("the interval without it excludes the full-sample slope")
    text = " and ".join(reasons)
    return text[0].upper() + text[1:]


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def rests_on_city(reg: Regression) -> bool:
    """Whether the full-sample verdict (related or not) is the City's: without it the slope's
    significance at 5% changes."""
    alt = reg.without_city
    return alt is not None and (alt.pvalue < 0.05) != (reg.main.pvalue < 0.05)


def headline(reg: Regression, period: str) -> str:
    """The one-sentence finding, saying so when it rests on the City of London."""
    m = reg.main
    if not rests_on_city(reg):
        return interpretation(reg, period)[0]
    alt = reg.fit("OLS without")
    way = "lower" if alt.slope < 0 else "higher"
    if m.pvalue >= 0.05:
        return (
            f"In {period}, across all {m.n} local authorities, registration was not significantly related to churn "
            f"(slope {signed(m.slope)} points per point of churn, 95% CI {signed(m.lower)} to {signed(m.upper)}, "
            f"HC3 robust errors), but that rests on one area, the City of London: without it, registration was "
            f"{abs(alt.slope):.2f} points {way} for each extra move per 100 residents across the other {alt.n} "
            f"boroughs (95% CI {signed(alt.lower)} to {signed(alt.upper)}, {_p_text(alt.pvalue)}, R-squared "
            f"{alt.r2:.2f})."
        )
    way_all = "lower" if m.slope < 0 else "higher"
    return (
        f"In {period}, across all {m.n} local authorities, registration was {way_all} where churn was higher (slope "
        f"{signed(m.slope)}, 95% CI {signed(m.lower)} to {signed(m.upper)}, HC3 robust errors), but that rests on "
        f"one area, the City of London: without it the slope is {signed(alt.slope)} (95% CI {signed(alt.lower)} to "
        f"{signed(alt.upper)}), not significant at 5%."
    )


def interpretation(reg: Regression, period: str) -> list[str]:
    """Sentences written from the fitted numbers."""
    m, huber = reg.main, reg.fit("Huber")
    out = []
    if rests_on_city(reg):
        out.append(headline(reg, period))
    elif m.pvalue < 0.05:
        way = "lower" if m.slope < 0 else "higher"
        out.append(
            f"In {period}, across London's {m.n} local authorities, electoral registration was {way} where population "
            f"churn was higher: each extra move per 100 residents went with registration {abs(m.slope):.2f} points {way} "
            f"(95% confidence interval {signed(m.lower)} to {signed(m.upper)} points per point of churn, HC3 robust "
            f"errors, p {'< 0.001' if m.pvalue < 0.001 else '= ' + _num(m.pvalue, 3)})."
        )
    else:
        out.append(
            f"In {period}, across London's {m.n} local authorities, registration was not significantly related to churn: "
            f"the slope was {signed(m.slope)} points per point of churn (95% confidence interval {signed(m.lower)} to "
            f"{signed(m.upper)}, HC3 robust errors)."
        )
    out.append(
        f"Churn alone accounts for {100 * m.r2:.0f}% of the variation in registration between boroughs "
        f"(R-squared {m.r2:.2f})."
    )
    agree = huber.lower <= m.slope <= huber.upper
    out.append(
        f"The Huber robust regression, which gives less weight to boroughs far from the line, estimates "
        f"{signed(huber.slope)} (95% CI {signed(huber.lower)} to {signed(huber.upper)}), "
        + (
            "an interval that contains the least squares slope, so a few unusual boroughs do not make the result."
            if agree
            else "an interval that excludes the least squares slope, so a few unusual boroughs pull the least "
            "squares line."
        )
    )
    city = reg.city()
    if city is not None and reg.no_city is not None:
        alt = reg.fit("OLS without")
        drives = reg.city_drives()
        lev = "above" if city["leverage"] > reg.leverage_guide else "below"
        cook = "above" if city["cooks_d"] > reg.cooks_guide else "below"
        out.append(
            f"The City of London has leverage {city['leverage']:.2f} ({lev} the 2p/n guide of {reg.leverage_guide:.2f}) and "
            f"Cook's distance {city['cooks_d']:.2f} ({cook} the 4/n guide of {reg.cooks_guide:.2f}). Without it the slope is "
            f"{signed(alt.slope)} (95% CI {signed(alt.lower)} to {signed(alt.upper)}), a change of "
            f"{signed(alt.slope - m.slope)}. "
            + (
                f"{_drive_reason(alt, m)}, so the City does drive the result, which should be reported with and "
                "without it."
                if drives
                else (
                    "The City is influential by the usual guide, but that interval still contains the full-sample slope and "
                    "its significance is unchanged, so the City does not drive the relationship."
                    if city["cooks_d"] > reg.cooks_guide
                    else "That interval still contains the full-sample slope, so the City does not drive the relationship."
                )
            )
        )
    top = reg.frame.sort_values("cooks_d", ascending=False).iloc[0]
    if top["area_code"] != CITY:
        out.append(
            f"The most influential borough is {top['area_name']} (Cook's distance {top['cooks_d']:.2f}, studentised "
            f"residual {top['student_resid']:+.1f})."
        )
    inner = reg.fit("OLS with an Inner")
    inner_term = reg.with_inner.params.get("inner", np.nan)
    inner_p = reg.with_inner.pvalues.get("inner", np.nan)
    out.append(
        f"Allowing for whether a borough is in Inner or Outer London, the slope is {signed(inner.slope)} "
        f"(95% CI {signed(inner.lower)} to {signed(inner.upper)}); the Inner London term is {signed(inner_term)} points "
        f"({'significant' if inner_p < 0.05 else 'not significant'} at 5%)."
    )
    if reg.inner_no_city is not None:
        inner_nc = reg.fit("OLS with an Inner London term, without")
        term = reg.inner_no_city.params.get("inner", np.nan)
        term_p = reg.inner_no_city.pvalues.get("inner", np.nan)
        out.append(
            f"The same model without the City of London gives a slope of {signed(inner_nc.slope)} (95% CI "
            f"{signed(inner_nc.lower)} to {signed(inner_nc.upper)}, {_p_text(inner_nc.pvalue)}) and an Inner London "
            f"term of {signed(term)} points ({'significant' if term_p < 0.05 else 'not significant'} at 5%)."
        )
    out.append(
        "This is an association between places, not evidence that moving home stops any individual registering. "
        "High-churn boroughs also have younger populations, more private renting and more residents who are not "
        "eligible to register (the rate's denominator is all adults), and any of these could lie behind both figures."
    )
    return out


def aggregate_figures(estimates: pd.DataFrame, period: str) -> pd.DataFrame:
    """Inner and Outer London's churn and registration in ``period``: the aggregates the
    measure pages show (all moves over all residents, all electors over all adults of the
    area), not an unweighted average of its boroughs. Indexed by 'Inner'/'Outer'."""
    codes = {geography.INNER_LONDON_CODE: "Inner", geography.OUTER_LONDON_CODE: "Outer"}
    e = estimates[
        (estimates["breakdown"] == "all")
        & estimates["area_code"].isin(list(codes))
        & (estimates["period"] == period)
        & estimates["indicator"].isin([X, Y])
    ]
    wide = e.pivot(index="area_code", columns="indicator", values="value").rename(
        index=codes, columns={X: "churn", Y: "registration"}
    )
    return wide.reindex(index=["Inner", "Outer"], columns=["churn", "registration"])


def fits_table(reg: Regression) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Model": [f.label for f in reg.fits],
            "Slope (points per point of churn)": [signed(f.slope) for f in reg.fits],
            "95% CI lower": [signed(f.lower) for f in reg.fits],
            "95% CI upper": [signed(f.upper) for f in reg.fits],
            "Standard error": [_num(f.se, 3) for f in reg.fits],
            "p-value": ["< 0.001" if f.pvalue < 0.001 else _num(f.pvalue, 3) for f in reg.fits],
            "Intercept": [_num(f.intercept, 1) for f in reg.fits],
            "R-squared": ["" if np.isnan(f.r2) else _num(f.r2, 2) for f in reg.fits],
            "Boroughs": [f.n for f in reg.fits],
        }
    )


def residual_correlation(
    reg: Regression, estimates: pd.DataFrame, indicator: str = "born_abroad"
) -> tuple[float, int, str] | None:
    """Pearson correlation of the boroughs' residuals with another borough indicator (its
    latest single period), with the number of boroughs and the period; None without it."""
    key = series.headline_key(estimates, indicator)
    if key is None:
        return None
    rows = series.select(estimates, key, boroughs=True, single_periods=True).dropna(
        subset=["value"]
    )
    if rows.empty:
        return None
    period = rows["period"].max()
    other = rows[rows["period"] == period].set_index("area_code")["value"]
    both = (
        reg.frame.set_index("area_code")[["residual"]]
        .join(other.rename("other"), how="inner")
        .dropna()
    )
    if len(both) < 3:
        return None
    return float(np.corrcoef(both["residual"], both["other"])[0, 1]), len(both), str(period)


def residual_reading(reg: Regression, estimates: pd.DataFrame, proxy: bool) -> str:
    """What the residual map can and cannot say: residuals are what churn leaves unexplained,
    not a registration shortfall, and with the proxy they follow who the proxy leaves out."""
    text = (
        "Boroughs below the line have fewer electors per adult than their churn alone predicts. That is not in itself "
        "a shortfall to act on: the residual also holds everything else that differs between boroughs, such as age, "
        "tenure and how many adults are not eligible to register."
    )
    corr = residual_correlation(reg, estimates)
    if corr is not None:
        r, n, period = corr
        text += (
            f" Across {n} boroughs the residuals correlate {r:+.2f} with the share of residents born abroad "
            f"({period})"
        )
        if proxy and r < 0:
            text += (
                ", which is what this proxy produces by itself: the referendum electorate leaves out resident EU "
                "citizens, who can register locally, so boroughs with more residents born abroad sit lower whatever "
                "their registration. The map is not a guide to where registration drives should look."
            )
        else:
            text += "."
    return text
