"""Thematic analyses: electoral registration against population churn, and the strategy's figures.

Two report pages, each read from the build's estimates (``estimates.csv``) and nothing else:

* :class:`RegistrationChurnPage`: the strategy observes that boroughs with high population
  churn have lower electoral registration (GLA 2018, *All of Us*, "London's data",
  Participation, and Figure 3). The page maps both, plots the 33 local authorities, fits an
  ordinary least squares line with classical and HC3 errors and a Huber robust regression,
  examines leverage and Cook's distance (the City of London above all: very few residents and
  very high churn), refits without the City, maps the residuals and writes the interpretation
  from the fitted numbers.
* :class:`StrategyFiguresPage`: Figures 2 to 5 of the strategy rebuilt from the estimates
  (relationships, the registration map, volunteering by group and employment gaps), each with
  a message title, 95% intervals, the strategy's own figure where it quotes one, and the table.

The regression is across places: it describes boroughs, not people, and does not show that
moving home makes any individual less likely to register.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import charts, compare, geography, measures, provenance, schemas, series, tables
from analysis.report import Section, boundaries, load, main_rows, notice

CITY = "E09000001"
X, Y = "population_churn", "electoral_registration"
X_LABEL = "Population churn (moves in and out per 100 residents)"
Y_LABEL = "Electoral registration (electors per 100 adults)"
Y_LABEL_PROXY = "Electoral registration, proxy (referendum electors per 100 adults)"
STRATEGY = "Greater London Authority (2018), All of Us: The Mayor's Strategy for Social Integration"


def _p(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"


def _num(v: float, d: int = 2) -> str:
    return f"{v:.{d}f}"


def _signed(v: float, d: int = 2) -> str:
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
    from analysis.sources.demo import _rng

    rng = _rng("planted-regression", label, slope, intercept, noise)
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
    ols: object  # classical OLS results
    hc3: object  # OLS with HC3 errors
    rlm: object  # Huber M-estimator
    no_city: object | None  # OLS (HC3) without the City of London
    with_inner: object  # OLS (HC3) with an Inner London term
    fits: list[Fit]
    inner_no_city: object | None = None  # OLS (HC3) with an Inner London term, without the City

    @property
    def main(self) -> Fit:
        return self.fits[1]

    def fit(self, label_start: str) -> Fit | None:
        return next((f for f in self.fits if f.label.startswith(label_start)), None)

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
    alt = reg.fit("OLS without")
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
            f"(slope {_signed(m.slope)} points per point of churn, 95% CI {_signed(m.lower)} to {_signed(m.upper)}, "
            f"HC3 robust errors), but that rests on one area, the City of London: without it, registration was "
            f"{abs(alt.slope):.2f} points {way} for each extra move per 100 residents across the other {alt.n} "
            f"boroughs (95% CI {_signed(alt.lower)} to {_signed(alt.upper)}, {_p_text(alt.pvalue)}, R-squared "
            f"{alt.r2:.2f})."
        )
    way_all = "lower" if m.slope < 0 else "higher"
    return (
        f"In {period}, across all {m.n} local authorities, registration was {way_all} where churn was higher (slope "
        f"{_signed(m.slope)}, 95% CI {_signed(m.lower)} to {_signed(m.upper)}, HC3 robust errors), but that rests on "
        f"one area, the City of London: without it the slope is {_signed(alt.slope)} (95% CI {_signed(alt.lower)} to "
        f"{_signed(alt.upper)}), not significant at 5%."
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
            f"(95% confidence interval {_signed(m.lower)} to {_signed(m.upper)} points per point of churn, HC3 robust "
            f"errors, p {'< 0.001' if m.pvalue < 0.001 else '= ' + _num(m.pvalue, 3)})."
        )
    else:
        out.append(
            f"In {period}, across London's {m.n} local authorities, registration was not significantly related to churn: "
            f"the slope was {_signed(m.slope)} points per point of churn (95% confidence interval {_signed(m.lower)} to "
            f"{_signed(m.upper)}, HC3 robust errors)."
        )
    out.append(
        f"Churn alone accounts for {100 * m.r2:.0f}% of the variation in registration between boroughs "
        f"(R-squared {m.r2:.2f})."
    )
    agree = huber.lower <= m.slope <= huber.upper
    out.append(
        f"The Huber robust regression, which gives less weight to boroughs far from the line, estimates "
        f"{_signed(huber.slope)} (95% CI {_signed(huber.lower)} to {_signed(huber.upper)}), "
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
            f"{_signed(alt.slope)} (95% CI {_signed(alt.lower)} to {_signed(alt.upper)}), a change of "
            f"{_signed(alt.slope - m.slope)}. "
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
        f"Allowing for whether a borough is in Inner or Outer London, the slope is {_signed(inner.slope)} "
        f"(95% CI {_signed(inner.lower)} to {_signed(inner.upper)}); the Inner London term is {_signed(inner_term)} points "
        f"({'significant' if inner_p < 0.05 else 'not significant'} at 5%)."
    )
    if reg.inner_no_city is not None:
        inner_nc = reg.fit("OLS with an Inner London term, without")
        term = reg.inner_no_city.params.get("inner", np.nan)
        term_p = reg.inner_no_city.pvalues.get("inner", np.nan)
        out.append(
            f"The same model without the City of London gives a slope of {_signed(inner_nc.slope)} (95% CI "
            f"{_signed(inner_nc.lower)} to {_signed(inner_nc.upper)}, {_p_text(inner_nc.pvalue)}) and an Inner London "
            f"term of {_signed(term)} points ({'significant' if term_p < 0.05 else 'not significant'} at 5%)."
        )
    out.append(
        "This is an association between places, not evidence that moving home stops any individual registering. "
        "High-churn boroughs also have younger populations, more private renting and more residents who are not "
        "eligible to register (the rate's denominator is all adults), and any of these could lie behind both figures."
    )
    return out


# ------------------------------------------------------------------------------------------
# Charts


def _aspect(ax, shapes) -> None:
    ax.set_aspect("equal") if shapes.crs and shapes.crs.is_projected else ax.set_aspect(1.6)


def _shade(
    ax, shapes, values: pd.Series, unit_suffix: str, k: int = 5, palette: list[str] | None = None
) -> list[tuple[str, str]]:
    """Fisher-Jenks classes of ``values`` (indexed by GSS code) on ``ax``; returns legend entries."""
    legend = charts.shade_areas(
        ax,
        shapes.geometry,
        shapes["code"].map(values).to_numpy(dtype=float),
        unit_suffix,
        k=k,
        palette=palette,
    )
    ax.set_axis_off()
    _aspect(ax, shapes)
    return legend


def _legend(ax, entries, title: str) -> None:
    from matplotlib.patches import Patch

    ax.legend(
        handles=[Patch(facecolor=c, edgecolor=charts.MARK_GREY, label=lab) for c, lab in entries],
        title=title,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        frameon=False,
        fontsize=charts.SMALL_PT,
        title_fontsize=charts.SMALL_PT,
        ncol=1,
    )


@charts.styled
def paired_maps(pair: pd.DataFrame, shapes, *, period: str, title: str) -> charts.Chart:
    """Registration and churn maps side by side, each in its own natural-breaks classes, its
    own colour ramp (blue, then plum) and its own legend: two variables, never one scale."""

    fig, axes = charts.subplots(1, 2, figsize=(charts.WIDTH_IN, 4.9))
    reg = pair.set_index("area_code")["registration"]
    churn = pair.set_index("area_code")["churn"]
    _legend(axes[0], _shade(axes[0], shapes, reg, "%"), "Registration (%)")
    axes[0].set_title(f"Electoral registration, {period}", fontsize=10)
    _legend(
        axes[1],
        _shade(axes[1], shapes, churn, "", palette=charts.SEQUENTIAL_SECOND),
        "Churn (moves per 100 residents)",
    )
    axes[1].set_title(f"Population churn, {period}", fontsize=10)
    lo_reg = pair.nsmallest(3, "registration")
    hi_churn = pair.nlargest(3, "churn")
    alt = (
        "Two maps of London's 33 local authorities side by side, each shaded darker for higher values on its own "
        "scale (blue for registration, plum for churn). Left, electoral "
        "registration: lowest in "
        + ", ".join(f"{n} ({v:.1f}%)" for n, v in zip(lo_reg.area_name, lo_reg.registration))
        + ". Right, population churn: highest in "
        + ", ".join(f"{n} ({v:.1f})" for n, v in zip(hi_churn.area_name, hi_churn.churn))
        + ". The table below lists every borough."
    )
    table = (
        pd.DataFrame(
            {
                "Area": pair["area_name"],
                "Inner or Outer": pair["inner_outer"],
                "Registration (%)": [
                    tables.fmt_value(v, f)
                    for v, f in zip(pair.registration, pair.registration_flag)
                ],
                "Registration 95% CI": [
                    f"{tables.fmt(a)} to {tables.fmt(b)}"
                    for a, b in zip(pair.registration_lower, pair.registration_upper)
                ],
                "Churn (per 100)": [
                    tables.fmt_value(v, f) for v, f in zip(pair.churn, pair.churn_flag)
                ],
                "Churn 95% CI": [
                    f"{tables.fmt(a)} to {tables.fmt(b)}"
                    for a, b in zip(pair.churn_lower, pair.churn_upper)
                ],
            }
        )
        .sort_values("Area")
        .reset_index(drop=True)
    )
    return charts.Chart(
        fig,
        title,
        alt,
        table,
        notes=["Classes: natural breaks (Fisher-Jenks), set separately for each map."],
    )


def _obstacles(ax, renderer) -> tuple[list, np.ndarray]:
    """What a label must not cover, in display units: a box round every marker (its own size)
    and points along every line drawn in the axes (fitted lines, band edges), closely spaced."""
    from matplotlib.collections import PathCollection
    from matplotlib.transforms import Bbox

    boxes = []
    for collection in ax.collections:
        if not isinstance(collection, PathCollection):
            continue
        sizes = collection.get_sizes()
        for k, (px, py) in enumerate(
            collection.get_offset_transform().transform(collection.get_offsets())
        ):
            # a marker of area s points² spans about sqrt(s) points
            half = np.sqrt(sizes[k % len(sizes)]) / 2 * ax.figure.dpi / 72 + 1
            boxes.append(Bbox([[px - half, py - half], [px + half, py + half]]))
    points = []
    for line in ax.get_lines():
        xy = line.get_xydata()
        if len(xy) < 2 or not line.get_visible():
            continue
        xs = np.asarray(xy[:, 0], dtype=float)
        dense = np.linspace(xs.min(), xs.max(), 600)
        ys = np.interp(dense, xs, np.asarray(xy[:, 1], dtype=float))
        points.append(line.get_transform().transform(np.c_[dense, ys]))
    return boxes, (np.vstack(points) if points else np.empty((0, 2)))


def _place_labels(ax, xs, ys, names, fontsize: float = charts.SMALL_PT) -> list:
    """Label every point without covering another label, any marker or any line drawn in the
    axes (greedy search over positions round each point, the most crowded points first);
    labels set away from their point get a leader line. Returns the labels."""
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    taken, line_points = _obstacles(ax, renderer)
    # beside the point first, then further out in every direction (points of offset)
    offsets = [(5, 2), (5, -10), (-5, 2), (-5, -10), (6, 10), (-6, 10), (6, -18), (-6, -18)]
    offsets += [
        (round(r * np.cos(a)) or 1, round(r * np.sin(a)) - 4)
        for r in (16, 26, 38, 52, 68, 86, 110)
        for a in np.linspace(0, 2 * np.pi, 24, endpoint=False)
    ]
    style = dict(textcoords="offset points", fontsize=fontsize, va="bottom", color=charts.DARK_GREY)

    def clashes(box) -> int:
        inside = (
            frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
        )
        on_line = bool(
            len(line_points)
            and (
                (line_points[:, 0] >= box.x0)
                & (line_points[:, 0] <= box.x1)
                & (line_points[:, 1] >= box.y0)
                & (line_points[:, 1] <= box.y1)
            ).any()
        )
        return (not inside) * 100 + on_line * 10 + sum(box.overlaps(b) for b in taken)

    made = []
    for i in np.argsort(-np.asarray(ys)):
        best = None
        for dx, dy in offsets:
            t = ax.annotate(
                names[i], (xs[i], ys[i]), xytext=(dx, dy), ha="left" if dx > 0 else "right", **style
            )
            box = t.get_window_extent(renderer).expanded(1.04, 1.1)
            t.remove()
            score = clashes(box)
            if best is None or score < best[0]:
                best = (score, dx, dy, box)
            if score == 0:
                break
        assert best is not None
        _, dx, dy, box = best
        far = abs(dx) > 8 or abs(dy) > 12
        t = ax.annotate(
            names[i],
            (xs[i], ys[i]),
            xytext=(dx, dy),
            ha="left" if dx > 0 else "right",
            arrowprops=dict(arrowstyle="-", color=charts.MARK_GREY, lw=0.6, shrinkA=0, shrinkB=4)
            if far
            else None,
            **style,
        )
        taken.append(box)
        made.append(t)
    return made


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


@charts.styled
def scatter(
    reg: Regression,
    *,
    period: str,
    title: str,
    aggregates: pd.DataFrame | None = None,
    y_label: str = Y_LABEL,
) -> charts.Chart:
    """The 33 boroughs: churn against registration, Inner/Outer marked, all labelled, OLS line
    with its 95% band (HC3) and the Huber line."""

    d = reg.frame
    fig, ax = charts.subplots(figsize=(charts.WIDTH_IN, 8.4))
    styles = {
        "Inner": (charts.DARK_BLUE, "o", "Inner London"),
        "Outer": (charts.ORANGE, "^", "Outer London"),
    }
    for key, (colour, marker, label) in styles.items():
        s = d[d.inner_outer == key]
        if "churn_lower" in s and "registration_lower" in s:  # each borough's own 95% intervals
            ax.errorbar(
                s.churn,
                s.registration,
                xerr=[s.churn - s.churn_lower, s.churn_upper - s.churn],
                yerr=[s.registration - s.registration_lower, s.registration_upper - s.registration],
                fmt="none",
                ecolor=charts.MARK_GREY,  # a borough's interval is data: 4.5:1 on white
                elinewidth=0.6,
                capsize=0,
                zorder=1,
            )
        ax.scatter(
            s.churn,
            s.registration,
            color=colour,
            marker=marker,
            s=40,
            zorder=3,
            label=label,
            edgecolor="white",
            linewidth=0.5,
        )
    city = d[d.area_code == CITY]
    if len(city):
        ax.scatter(
            city.churn,
            city.registration,
            facecolor="none",
            edgecolor=charts.DARK_PINK,
            s=150,
            linewidth=1.8,
            zorder=4,
            label="City of London",
        )
    grid = np.linspace(d.churn.min() - 0.3, d.churn.max() + 0.3, 100)
    pred = reg.hc3.get_prediction(pd.DataFrame({"churn": grid})).summary_frame(alpha=0.05)
    ax.fill_between(
        grid,
        pred["mean_ci_lower"],
        pred["mean_ci_upper"],
        color=charts.SEQUENTIAL[4],
        alpha=0.6,
        linewidth=0,
        label="95% confidence band (HC3)",
    )
    for limit in ("mean_ci_lower", "mean_ci_upper"):  # the band's edges, 3:1 where its fill is not
        ax.plot(grid, pred[limit], color=charts.INTERVAL_EDGE, linewidth=0.6)
    m, huber = reg.main, reg.fit("Huber")
    ax.plot(
        grid,
        pred["mean"],
        color=charts.DARK_BLUE,
        linewidth=1.8,
        label=f"Least squares: {m.slope:+.2f} per point",
    )
    ax.plot(
        grid,
        huber.intercept + huber.slope * grid,
        color=charts.TURQUOISE,
        linestyle="--",
        linewidth=1.5,
        label=f"Huber robust: {huber.slope:+.2f} per point",
    )
    no_city = reg.fit("OLS without")
    if no_city is not None:
        ax.plot(
            grid,
            no_city.intercept + no_city.slope * grid,
            color=charts.DARK_PINK,
            linestyle=":",
            linewidth=1.6,
            label=f"Least squares without the City: {no_city.slope:+.2f}",
        )
    ax.set_xlabel(X_LABEL)
    ax.set_ylabel(y_label)
    ax.grid(color="0.9")
    ax.legend(loc="upper left", bbox_to_anchor=(0, -0.1), ncol=1, fontsize=charts.SMALL_PT)
    fig.canvas.draw()  # settle the constrained layout, then freeze it so label positions stay true
    fig.set_layout_engine("none")
    _place_labels(ax, d.churn.to_numpy(), d.registration.to_numpy(), d.area_name.tolist())
    far = d.nlargest(3, "churn")
    # Inner and Outer London as a whole (the aggregates of the measure pages), one definition
    io = aggregates if aggregates is not None else pd.DataFrame()
    alt = (
        f"Scatter plot of {len(d)} local authorities, population churn across and registration up, Inner London as "
        f"circles and Outer London as triangles, each named. The least squares line has a slope of {m.slope:+.2f} "
        f"points per point of churn. Inner London as a whole: {io.loc['Inner', 'churn']:.1f} churn and "
        f"{io.loc['Inner', 'registration']:.1f}% registration; Outer London {io.loc['Outer', 'churn']:.1f} and "
        f"{io.loc['Outer', 'registration']:.1f}%. Highest churn: "
        + ", ".join(
            f"{n} ({c:.1f}, {r:.1f}%)"
            for n, c, r in zip(far.area_name, far.churn, far.registration)
        )
        + "."
        if {"Inner", "Outer"} <= set(io.index) and io.notna().all().all()
        else f"Scatter plot of {len(d)} local authorities, churn across and registration up; least squares slope {m.slope:+.2f}."
    )
    table = (
        pd.DataFrame(
            {
                "Area": d.area_name,
                "Inner or Outer": d.inner_outer,
                "Churn (per 100)": d.churn.map(tables.fmt),
                "Registration (%)": d.registration.map(tables.fmt),
                "Fitted registration (%)": d.fitted.map(tables.fmt),
                "Residual (points)": d.residual.map(lambda v: f"{v:+.1f}"),
            }
        )
        .sort_values("Area")
        .reset_index(drop=True)
    )
    return charts.Chart(fig, title, alt, table)


@charts.styled
def influence_chart(reg: Regression, *, title: str) -> charts.Chart:
    """Leverage against studentised residual, marker area by Cook's distance, guides marked."""

    d = reg.frame
    fig, ax = charts.subplots(figsize=(charts.WIDTH_IN, 4.8))
    size = 30 + 900 * d.cooks_d / max(d.cooks_d.max(), 1e-9)
    flagged = (
        (d.cooks_d > reg.cooks_guide)
        | (d.leverage > reg.leverage_guide)
        | (d.student_resid.abs() > 2)
    )
    ax.scatter(
        d.leverage[~flagged],
        d.student_resid[~flagged],
        s=size[~flagged],
        color=charts.DARK_BLUE,
        alpha=0.6,
        edgecolor="white",
    )
    ax.scatter(
        d.leverage[flagged],
        d.student_resid[flagged],
        s=size[flagged],
        color=charts.DARK_PINK,
        marker="D",
        alpha=0.8,
        edgecolor="white",
    )
    ax.axvline(reg.leverage_guide, color=charts.ORANGE, linestyle="--", linewidth=1.2)
    for yv in (-2, 2):
        ax.axhline(yv, color=charts.DARK_GREY, linestyle=":", linewidth=1)
    ax.axhline(0, color="black", linewidth=0.8)
    named = d[flagged | (d.area_code == CITY)]
    for _, r in named.iterrows():
        ax.annotate(
            f"{r.area_name} (D = {r.cooks_d:.2f})",
            (r.leverage, r.student_resid),
            xytext=(6, 4),
            textcoords="offset points",
            fontsize=charts.SMALL_PT,
        )
    ax.set_xlabel("Leverage (hat value)")
    ax.set_ylabel("Studentised residual")
    ax.grid(color="0.9")
    low, high = d.student_resid.min(), d.student_resid.max()
    ax.set_ylim(min(-2.5, low - 0.6), max(2.5, high + 0.6))
    ax.set_xlim(0, max(d.leverage.max(), reg.leverage_guide) * 1.3)
    from matplotlib.lines import Line2D

    handles = [
        Line2D(
            [],
            [],
            linestyle="",
            marker="o",
            color=charts.DARK_BLUE,
            alpha=0.6,
            markersize=7,
            label="Borough within the guides",
        ),
        Line2D(
            [],
            [],
            linestyle="",
            marker="D",
            color=charts.DARK_PINK,
            markersize=7,
            label="Beyond a guide (named)",
        ),
        Line2D(
            [],
            [],
            color=charts.ORANGE,
            linestyle="--",
            label=f"Leverage guide 2p/n = {reg.leverage_guide:.2f}",
        ),
        Line2D(
            [],
            [],
            color=charts.DARK_GREY,
            linestyle=":",
            label="Studentised residual of plus or minus 2",
        ),
    ]
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0, -0.14),
        ncol=2,
        fontsize=charts.SMALL_PT,
        title="Marker area shows Cook's distance",
        title_fontsize=charts.SMALL_PT,
    )
    alt = (
        f"Scatter of leverage against studentised residual for {len(d)} boroughs, marker size by Cook's distance. "
        + (
            "Beyond a guide: "
            + "; ".join(
                f"{r.area_name} leverage {r.leverage:.2f}, residual {r.student_resid:+.1f}, "
                f"Cook's distance {r.cooks_d:.2f}"
                for _, r in d[flagged].iterrows()
            )
            if flagged.any()
            else "No borough is beyond the guides."
        )
        + "."
    )
    table = (
        pd.DataFrame(
            {
                "Area": d.area_name,
                "Leverage": d.leverage.map(lambda v: f"{v:.3f}"),
                "Studentised residual": d.student_resid.map(lambda v: f"{v:+.2f}"),
                "Cook's distance": d.cooks_d.map(lambda v: f"{v:.3f}"),
                "Slope without it minus slope with it": d.slope_change.map(lambda v: f"{v:+.3f}"),
                "Huber weight": d.huber_weight.map(lambda v: f"{v:.2f}"),
                "Beyond a guide": np.where(flagged, "yes", "no"),
            }
        )
        .iloc[np.argsort(-d.cooks_d.to_numpy())]
        .reset_index(drop=True)
    )
    return charts.Chart(
        fig,
        title,
        alt,
        table,
        notes=[
            f"Guides: leverage above 2p/n = {reg.leverage_guide:.2f}, Cook's distance above 4/n = {reg.cooks_guide:.2f}, "
            "studentised residual beyond plus or minus 2."
        ],
    )


@charts.styled
def residual_map(reg: Regression, shapes, *, period: str, title: str) -> charts.Chart:
    """Boroughs shaded by how far registration sits above or below the fitted line."""
    from matplotlib.colors import to_hex, to_rgb
    from matplotlib.patches import Patch

    def light(colour: str) -> str:
        return to_hex(0.45 * np.array(to_rgb(colour)) + 0.55)

    d = reg.frame
    sd = float(np.sqrt(reg.ols.scale))
    bands = [
        (-np.inf, -sd, charts.DARK_PINK, f"More than {sd:.1f} points below the line"),
        (-sd, 0, light(charts.DARK_PINK), f"Up to {sd:.1f} points below"),
        (0, sd, light(charts.DARK_BLUE), f"Up to {sd:.1f} points above"),
        (sd, np.inf, charts.DARK_BLUE, f"More than {sd:.1f} points above"),
    ]
    data = shapes.merge(
        d[["area_code", "residual"]], left_on="code", right_on="area_code", how="left"
    )
    fig, ax = charts.subplots(figsize=(charts.WIDTH_IN, 5.8))
    handles = []
    for lo, hi, colour, label in bands:
        part = data[(data.residual > lo) & (data.residual <= hi)]
        if len(part):
            charts.draw_areas(
                ax, part.geometry, facecolor=colour, edgecolor=charts.MARK_GREY, linewidth=0.5
            )
        handles.append(Patch(facecolor=colour, edgecolor=charts.MARK_GREY, label=label))
    missing = data[data.residual.isna()]
    if len(missing):
        charts.draw_areas(
            ax, missing.geometry, facecolor="#F2F2F2", edgecolor=charts.MARK_GREY, hatch="///"
        )
        handles.append(
            Patch(
                facecolor="#F2F2F2", edgecolor=charts.MARK_GREY, hatch="///", label="Not in the fit"
            )
        )
    extremes = d.reindex(d.residual.abs().sort_values(ascending=False).index[:4])
    points = data.set_index("code").geometry.representative_point()
    x0, y0, x1, y1 = data.total_bounds
    centre = (x0 + x1) / 2
    sides = {"left": [], "right": []}
    for _, r in extremes.iterrows():
        sides["left" if points[r.area_code].x < centre else "right"].append(r)
    for side, items in sides.items():  # labels stacked beside the map, joined to their borough
        items.sort(key=lambda r: -points[r.area_code].y)
        for j, r in enumerate(items):
            pt = points[r.area_code]
            tx = x0 - 0.04 * (x1 - x0) if side == "left" else x1 + 0.04 * (x1 - x0)
            ty = y1 - (j + 0.5) * (y1 - y0) / max(3, len(items) + 1)
            ax.annotate(
                f"{r.area_name}\n{r.residual:+.1f} points",
                (pt.x, pt.y),
                xytext=(tx, ty),
                textcoords="data",
                ha="right" if side == "left" else "left",
                va="center",
                fontsize=charts.SMALL_PT,
                arrowprops=dict(
                    arrowstyle="-", color=charts.DARK_GREY, lw=0.7, shrinkA=2, shrinkB=0
                ),
            )
            ax.plot(pt.x, pt.y, marker="o", color="black", markersize=2.5)
    ax.set_axis_off()
    _aspect(ax, shapes)
    ax.set_xlim(x0 - 0.35 * (x1 - x0), x1 + 0.35 * (x1 - x0))
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        frameon=False,
        fontsize=charts.SMALL_PT,
        ncol=2,
        title="Registration compared with the line fitted on churn",
        title_fontsize=charts.SMALL_PT,
    )
    low, high = d.nsmallest(3, "residual"), d.nlargest(3, "residual")
    alt = (
        f"Map of the boroughs shaded by residual from the least squares line of registration on churn, {period}, in four "
        f"bands split at zero and at the residual standard deviation ({sd:.1f} points). Furthest below: "
        + ", ".join(f"{n} ({v:+.1f})" for n, v in zip(low.area_name, low.residual))
        + ". Furthest above: "
        + ", ".join(f"{n} ({v:+.1f})" for n, v in zip(high.area_name, high.residual))
        + "."
    )
    table = (
        pd.DataFrame(
            {
                "Area": d.area_name,
                "Registration (%)": d.registration.map(tables.fmt),
                "Expected from churn (%)": d.fitted.map(tables.fmt),
                "Residual (points)": d.residual.map(lambda v: f"{v:+.1f}"),
            }
        )
        .iloc[np.argsort(d.residual.to_numpy())]
        .reset_index(drop=True)
    )
    return charts.Chart(
        fig,
        title,
        alt,
        table,
        notes=[
            "Residual: registration minus the value the least squares line predicts from churn."
        ],
    )


def fits_table(reg: Regression) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Model": [f.label for f in reg.fits],
            "Slope (points per point of churn)": [_signed(f.slope) for f in reg.fits],
            "95% CI lower": [_signed(f.lower) for f in reg.fits],
            "95% CI upper": [_signed(f.upper) for f in reg.fits],
            "Standard error": [_num(f.se, 3) for f in reg.fits],
            "p-value": ["< 0.001" if f.pvalue < 0.001 else _num(f.pvalue, 3) for f in reg.fits],
            "Intercept": [_num(f.intercept, 1) for f in reg.fits],
            "R-squared": ["" if np.isnan(f.r2) else _num(f.r2, 2) for f in reg.fits],
            "Boroughs": [f.n for f in reg.fits],
        }
    )


# ------------------------------------------------------------------------------------------
# Page: registration against churn


class RegistrationChurnPage:
    def __init__(
        self,
        data_dir: str | Path | None = None,
        boundaries_path: str | None = None,
        period: str | None = None,
    ):
        self.data = load(data_dir)
        self.boundaries_path = boundaries_path
        self.pair, self.period = borough_pair(self.data.estimates, period)
        self.reg = regress(self.pair)
        e = self.data.estimates
        self.sources = {
            ind: e.loc[
                (e.indicator == ind)
                & (e.period == self.period)
                & (e.area_code == geography.LONDON_CODE),
                "source",
            ].iloc[0]
            for ind in (X, Y)
        }
        self.proxy = provenance.is_proxy(self.sources[Y])

    def header(self) -> Section:
        return Section(
            "<h1>Electoral registration and population churn</h1>"
            + notice(self.data).html
            + "<p class='lede'>Do boroughs where more people move in and out each year have fewer adults on the electoral "
            "register?</p>"
            + _p(
                "The strategy notes that registration is high across London but lower in boroughs with high population "
                "churn, where people may struggle to put down roots, naming Westminster, Kensington and Chelsea, Tower "
                f'Hamlets and Camden ({STRATEGY}, "London\'s data", Participation, and Figure 3). This page tests that '
                f"observation across all 33 local authorities in {self.period}."
            )
            + (
                f"<div class='notice' role='note'>{html.escape(provenance.proxy_note('Electoral registration', self.sources[Y]))}"
                "</div>"
                if self.proxy
                else ""
            )
            + f"<p class='lede'>{html.escape(headline(self.reg, self.period))}</p>"
        )

    def maps(self) -> Section:
        p = self.pair
        low = p.nsmallest(1, "registration").iloc[0]
        high = p.nlargest(1, "churn").iloc[0]
        title = (
            f"{self.period}: registration was lowest in {low.area_name} ({low.registration:.1f}%) and churn highest "
            f"in {high.area_name} ({high.churn:.1f} moves per 100 residents)"
        )
        chart = paired_maps(p, boundaries(self.boundaries_path), period=self.period, title=title)
        return Section(
            "<h2>Where registration is low and churn is high</h2>" + charts.to_html(chart), [chart]
        )

    def scatter(self) -> Section:
        m = self.reg.main
        alt_fit = self.reg.fit("OLS without")
        if rests_on_city(self.reg) and alt_fit.pvalue < 0.05:
            way = "lower" if alt_fit.slope < 0 else "higher"
            title = (
                f"{self.period}: without the City of London, each extra point of churn went with registration "
                f"{abs(alt_fit.slope):.1f} points {way} (95% CI {alt_fit.lower:+.2f} to {alt_fit.upper:+.2f}; "
                f"R-squared {alt_fit.r2:.2f}); with the City the slope is not significant ({m.slope:+.2f}, "
                f"{m.lower:+.2f} to {m.upper:+.2f})"
            )
        elif m.pvalue < 0.05 and m.slope < 0:
            title = (
                f"{self.period}: each extra point of churn went with registration {abs(m.slope):.1f} points lower "
                f"(95% CI {abs(m.upper):.1f} to {abs(m.lower):.1f}); R-squared {m.r2:.2f}"
            )
        elif m.pvalue < 0.05:
            title = (
                f"{self.period}: each extra point of churn went with registration {m.slope:.1f} points higher "
                f"(95% CI {m.lower:.1f} to {m.upper:.1f}); R-squared {m.r2:.2f}"
            )
        else:
            title = (
                f"{self.period}: registration was not significantly related to churn across all 33 areas (slope "
                f"{m.slope:+.2f}, 95% CI {m.lower:+.2f} to {m.upper:+.2f})"
            )
        if self.reg.city_drives() and not (rests_on_city(self.reg) and alt_fit.pvalue < 0.05):
            title += f"; without the City of London the slope is {alt_fit.slope:+.2f} ({alt_fit.lower:+.2f} to {alt_fit.upper:+.2f})"
        io = aggregate_figures(self.data.estimates, self.period)
        chart = scatter(
            self.reg,
            period=self.period,
            title=title,
            aggregates=io,
            y_label=Y_LABEL_PROXY if self.proxy else Y_LABEL,
        )
        # one definition of Inner and Outer London's figures on every page: the aggregate
        text = (
            f"Inner London as a whole had {io.loc['Inner', 'churn']:.1f} moves per 100 residents and "
            f"{io.loc['Inner', 'registration']:.1f}% registration; Outer London {io.loc['Outer', 'churn']:.1f} and "
            f"{io.loc['Outer', 'registration']:.1f}% (all moves over all residents and all electors over all "
            f"adults of the area, as on the measure pages, not an average of its boroughs)."
            if io.notna().all().all()
            else ""
        )
        return Section(
            "<h2>The 33 local authorities</h2>" + _p(text) + charts.to_html(chart), [chart]
        )

    def regression(self) -> Section:
        m = self.reg.main
        body = (
            "<h2>The fitted relationship</h2>"
            + _p(
                "Registration is regressed on churn by ordinary least squares, once with classical standard errors "
                "and once with HC3 heteroskedasticity-robust errors (the main estimate: borough sizes differ widely, "
                "so equal error variance is doubtful). A Huber M-estimator checks that a few boroughs far from the "
                "line do not set the slope. Further fits drop the City of London, add an Inner London term, and "
                "do both, since the City is an Inner London outlier."
            )
            + tables.to_html(
                fits_table(self.reg),
                caption=f"Electoral registration on population churn, {self.period}: "
                f"slope {_signed(m.slope)} points per point of churn (HC3)",
            )
        )
        return Section(body)

    def influence(self) -> Section:
        city = self.reg.city()
        if city is not None:
            alt = self.reg.fit("OLS without")
            title = (
                f"The City of London has leverage {city.leverage:.2f} and Cook's distance {city.cooks_d:.2f}; "
                f"without it the slope is {alt.slope:+.2f} rather than {self.reg.main.slope:+.2f}"
                + (
                    ", enough to change the conclusion"
                    if self.reg.city_drives()
                    else ", which leaves the conclusion unchanged"
                )
            )
        else:
            title = "Leverage and influence of each borough"
        chart = influence_chart(self.reg, title=title)
        residents = series.population(self.data.estimates, CITY, self.period) or series.population(
            self.data.estimates, CITY
        )
        size = (
            f"With {residents[1]:,.0f} residents in {residents[0]}"
            if residents
            else "With very few residents"
        )
        text = (
            f"{size}, the City of London has very high churn and a population unlike any borough's; "
            "a point far along the churn axis has high leverage and can tilt a line fitted to 33 points. Leverage "
            "says how far a borough's churn sits from the rest; Cook's distance says how much the fitted line would "
            "move without it."
        )
        e = self.data.estimates
        city_rows = e[
            (e.indicator == Y)
            & (e.period == self.period)
            & (e.area_code == CITY)
            & (e.breakdown == "all")
        ]
        if len(city_rows) and provenance.note_of(city_rows["source"].iloc[0]):
            text += f" The City's registration figure is itself doubtful: {provenance.note_of(city_rows['source'].iloc[0])}."
        return Section(
            "<h2>Does the City of London drive the result?</h2>" + _p(text) + charts.to_html(chart),
            [chart],
        )

    def residual_map(self) -> Section:
        d = self.reg.frame
        low, high = d.nsmallest(1, "residual").iloc[0], d.nlargest(1, "residual").iloc[0]
        title = (
            f"Given its churn, {low.area_name} had the lowest registration ({low.residual:+.1f} points against the line) "
            f"and {high.area_name} the highest ({high.residual:+.1f})"
        )
        chart = residual_map(
            self.reg, boundaries(self.boundaries_path), period=self.period, title=title
        )
        return Section(
            "<h2>Registration beyond what churn predicts</h2>"
            + _p(residual_reading(self.reg, self.data.estimates, self.proxy))
            + charts.to_html(chart),
            [chart],
        )

    def interpretation(self) -> Section:
        items = "".join(f"<li>{html.escape(s)}</li>" for s in interpretation(self.reg, self.period))
        return Section("<h2>What the numbers say</h2><ul class='headline'>" + items + "</ul>")

    def about(self) -> Section:
        reg_m, churn_m = measures.get(Y), measures.get(X)
        sources = {ind: provenance.base_source(v) for ind, v in self.sources.items()}
        body = (
            "<h2>About this analysis</h2><dl>"
            f"<dt>Electoral registration</dt><dd>{html.escape(reg_m.definition)} Source: {html.escape(sources[Y])}.</dd>"
            f"<dt>Population churn</dt><dd>{html.escape(churn_m.definition)} Source: {html.escape(sources[X])}.</dd>"
            f"<dt>Caveats</dt><dd>{html.escape(reg_m.caveats or '')} {html.escape(churn_m.caveats or '')}</dd></dl>"
            + _p(
                "With real data (a build with --source real), churn comes from the ONS mid-year estimates' components "
                "of change (MYEB3) and registration from the documented electorate proxy over residents aged 18 and "
                "over; this page reads whichever the build produced. That proxy leaves out resident EU citizens, "
                "who are more numerous in high-churn inner boroughs, so with real data part of any relationship "
                "can come from the proxy itself."
            )
            + _p(
                "Methods: statsmodels OLS (classical and HC3 errors), RLM with Huber's T norm, influence from the "
                "OLS fit (hat values, Cook's distance, externally studentised residuals). Periods are single years; "
                "the latest year with borough figures for both indicators is used."
            )
        )
        return Section(body)


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


# ------------------------------------------------------------------------------------------
# Page: the strategy's Figures 2 to 5


def _reference(indicator: str):
    for m in measures.registry():
        for s in m.series:
            if s.indicator == indicator:
                return s, m
    raise KeyError(indicator)


def _london(e: pd.DataFrame, indicator: str, period: str | None) -> pd.DataFrame:
    rows = main_rows(e)
    rows = rows[
        (rows.indicator == indicator)
        & (rows.area_code == geography.LONDON_CODE)
        & ~compare.is_pooled(rows.period)
    ]
    if period is not None:
        rows = rows[rows.period == period]
    return rows


def _period_for(e: pd.DataFrame, indicators: list[str], mode: str) -> str:
    """The London period for a figure. 'latest': the latest single period all ``indicators``
    share; 'strategy': the period the strategy quotes (the registry's reference), where the
    estimates have it, else the latest."""
    sets = [set(_london(e, i, None).period) for i in indicators]
    common = set.intersection(*sets) if sets else set()
    if not common:
        raise ValueError(f"No common London period for {indicators}")
    if mode == "strategy":
        quoted = [
            s.reference.period for s, _ in map(_reference, indicators) if s.reference is not None
        ]
        if quoted and quoted[0] in common:
            return quoted[0]
    return max(common)


@charts.styled
def reference_dots(
    rows: pd.DataFrame,
    *,
    label_column: str,
    unit: str,
    title: str,
    alt_intro: str,
    references: list[float | None],
    ref_period: list[str | None],
    xlabel: str,
) -> charts.Chart:
    """Dots with 95% intervals and, where the strategy quotes one, its figure as a hollow diamond."""

    rows = rows.reset_index(drop=True)
    n = len(rows)
    fig, ax = charts.subplots(figsize=(charts.WIDTH_IN, 0.5 * n + 1.6))
    y = np.arange(n)[::-1]
    v, lo, hi = (rows[c].to_numpy(dtype=float) for c in ("value", "lower_ci", "upper_ci"))
    ax.errorbar(
        v,
        y,
        xerr=np.vstack([v - lo, hi - v]),
        fmt="none",
        ecolor=charts.DARK_GREY,
        elinewidth=1.5,
        capsize=3,
    )
    ax.scatter(
        v, y, color=charts.DARK_BLUE, s=55, zorder=3, label="Estimate with 95% confidence interval"
    )
    refs = np.array([np.nan if r is None else r for r in references], dtype=float)
    if np.isfinite(refs).any():
        ax.scatter(
            refs,
            y,
            facecolor="none",
            edgecolor=charts.ORANGE,
            marker="D",
            s=60,
            linewidth=1.6,
            zorder=4,
            label="Figure quoted in the strategy",
        )
    for yi, val in zip(y, v):
        if np.isfinite(val):
            ax.annotate(
                f"{val:.1f}",
                (val, yi),
                xytext=(0, 7),
                textcoords="offset points",
                ha="center",
                fontsize=charts.SMALL_PT,
            )
    ax.set_yticks(y, rows[label_column].tolist())
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", color="0.85")
    ax.grid(axis="y", visible=False)
    ax.set_xlim(0, max(np.nanmax(hi), np.nanmax(refs) if np.isfinite(refs).any() else 0) * 1.15)
    ax.legend(
        loc="upper left",
        bbox_to_anchor=(0, -0.12 if n > 4 else -0.2),
        ncol=1,
        fontsize=charts.SMALL_PT,
    )
    suffix = "%" if unit == "%" else " points"
    alt = (
        alt_intro
        + "; ".join(
            f"{g} {val:.1f}{suffix} (95% CI {a:.1f} to {b:.1f})"
            + (f", strategy {r:g}" if np.isfinite(r) else "")
            for g, val, a, b, r in zip(rows[label_column], v, lo, hi, refs)
        )
        + "."
    )
    table = tables.estimate_table(rows, [label_column]).rename(columns={label_column: "Indicator"})
    table = table.drop(columns="Compared with London")  # London's own figures
    table.insert(len(table.columns), "Period", rows["period"].to_numpy())
    table["Strategy figure"] = [
        f"{r:g} ({p})" if r is not None else "[x]" for r, p in zip(references, ref_period)
    ]
    return charts.Chart(fig, title, alt, table)


@charts.styled
def grouped_dots(
    rows: pd.DataFrame, *, london: float, unit: str, polarity: str, title: str, alt_intro: str
) -> charts.Chart:
    """Groups from several breakdowns in one chart, headed by breakdown, against the London line."""

    rows = rows.reset_index(drop=True)
    ys, pos, heads = [], 0.0, []
    for breakdown, part in rows.groupby("breakdown", sort=False):
        heads.append((pos, schemas.BREAKDOWN_LABELS.get(breakdown, breakdown)))
        pos += 1
        for _ in range(len(part)):
            ys.append(pos)
            pos += 1
        pos += 0.4
    ys = -np.array(ys)
    # no taller than a printed page holds (a taller one would be printed smaller, its text
    # under 9 pt): rows close up instead, down to 17 pt apart for 9.5 pt labels
    fig, ax = charts.subplots(
        figsize=(charts.WIDTH_IN, min(0.33 * pos + 1.6, charts.PRINT_HEIGHT_IN))
    )
    v, lo, hi = (rows[c].to_numpy(dtype=float) for c in ("value", "lower_ci", "upper_ci"))
    ax.errorbar(
        v,
        ys,
        xerr=np.vstack([v - lo, hi - v]),
        fmt="none",
        ecolor=charts.DARK_GREY,
        elinewidth=1.3,
        capsize=2.5,
    )
    # population groups against London as a whole: higher or lower, never better or worse
    verdicts = [
        charts.verdict_against_london(c, polarity, population_group=True)
        for c in rows["compared_to_london"]
    ]
    for key, style in charts.VERDICT_STYLE.items():
        mask = np.array([vv == key for vv in verdicts])
        if mask.any():
            ax.scatter(
                v[mask],
                ys[mask],
                color=style["color"],
                marker=style["marker"],
                s=50,
                zorder=3,
                label=style["label"],
            )
    ax.axvline(
        london, color=charts.ORANGE, linestyle="--", linewidth=1.5, label=f"London {london:.1f}%"
    )
    labels = [f"{g} {f}".strip() for g, f in zip(rows["group"], rows["flag"].fillna(""))]
    ax.set_yticks(ys, labels, fontsize=charts.SMALL_PT)
    for p, text in heads:  # breakdown headings in the label column
        ax.annotate(
            text,
            xy=(0, -p),
            xycoords=("axes fraction", "data"),
            xytext=(-4, 0),
            textcoords="offset points",
            ha="right",
            va="center",
            fontsize=charts.SMALL_PT,
            fontweight="bold",
        )
    ax.set_xlabel(unit)
    ax.grid(axis="x", color="0.85")
    ax.grid(axis="y", visible=False)
    ax.legend(loc="upper left", bbox_to_anchor=(0, -0.05), ncol=2, fontsize=charts.SMALL_PT)
    alt = (
        alt_intro
        + "; ".join(
            f"{g} {val:.1f}% ({vv.replace('_', ' ')})"
            for g, val, vv in zip(rows["group"], v, verdicts)
        )
        + "."
    )
    table = tables.estimate_table(rows, ["group"])
    table.insert(0, "Breakdown", [schemas.BREAKDOWN_LABELS.get(b, b) for b in rows["breakdown"]])
    return charts.Chart(fig, title, alt, table)


@charts.styled
def gap_bars(
    rows: pd.DataFrame, *, title: str, references: list[float | None], alt_intro: str
) -> charts.Chart:
    """Horizontal bars of employment gaps (percentage points) with 95% intervals and the strategy's figures."""

    rows = rows.reset_index(drop=True)
    n = len(rows)
    fig, ax = charts.subplots(figsize=(charts.WIDTH_IN, 0.5 * n + 1.6))
    y = np.arange(n)[::-1]
    v, lo, hi = (rows[c].to_numpy(dtype=float) for c in ("value", "lower_ci", "upper_ci"))
    colours = [
        charts.DARK_BLUE
        if b == "ethnic_group"
        else (charts.TURQUOISE if b == "disability" else charts.LIGHT_PURPLE)
        for b in rows["breakdown"]
    ]
    ax.barh(y, v, color=colours, height=0.6)
    ax.errorbar(
        v,
        y,
        xerr=np.vstack([v - lo, hi - v]),
        fmt="none",
        ecolor="black",
        elinewidth=1.2,
        capsize=3,
        label="95% confidence interval",
    )
    refs = np.array([np.nan if r is None else r for r in references], dtype=float)
    if np.isfinite(refs).any():
        ax.scatter(
            refs,
            y,
            facecolor="white",
            edgecolor=charts.ORANGE,
            marker="D",
            s=55,
            linewidth=1.6,
            zorder=4,
            label="Gap quoted in the strategy (2016)",
        )
    ax.set_yticks(y, rows["gap_label"].tolist(), fontsize=charts.SMALL_PT)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("Gap in employment rate (percentage points)")
    ax.grid(axis="x", color="0.85")
    ax.grid(axis="y", visible=False)
    from matplotlib.patches import Patch

    handles, _ = ax.get_legend_handles_labels()
    handles += [
        Patch(color=charts.TURQUOISE, label="Disability"),
        Patch(color=charts.LIGHT_PURPLE, label="Sex"),
        Patch(color=charts.DARK_BLUE, label="Ethnic group"),
    ]
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0, -0.12),
        ncol=3,
        fontsize=charts.SMALL_PT,
    )
    alt = (
        alt_intro
        + "; ".join(
            f"{g} {val:.1f} points (95% CI {a:.1f} to {b:.1f})"
            for g, val, a, b in zip(rows["gap_label"], v, lo, hi)
        )
        + "."
    )
    table = tables.estimate_table(rows, ["gap_label"]).rename(columns={"gap_label": "Gap"})
    table = table.drop(columns="Compared with London")  # London's own figures
    table.insert(1, "Period", rows["period"].to_numpy())
    table["Strategy figure (2016)"] = [f"{r:g}" if r is not None else "[x]" for r in references]
    return charts.Chart(fig, title, alt, table)


def _unavailable(heading: str, what: str) -> Section:
    return Section(
        f"<h2>{html.escape(heading)}</h2>"
        + _p(
            f"This build has no London estimates for {what}, so the figure cannot be drawn. Survey microdata are released "
            "under licence; add the waves with a codebook (docs/codebook.md) to include them."
        )
    )


def _between(gap_label: str) -> str:
    """'Not disabled minus Disabled' -> 'between non-disabled and disabled people'."""
    words = {
        "Not disabled": "non-disabled",
        "Disabled": "disabled",
        "Male": "men",
        "Female": "women",
    }
    first, _, second = gap_label.partition(" minus ")
    a, b = words.get(first, first), words.get(second, second)
    return f"between {a} and {b}" + ("" if {a, b} == {"men", "women"} else " people")


class StrategyFiguresPage:
    """Figures 2 to 5 of the strategy from the build's estimates.

    ``period``: "latest" (each figure's latest period in the estimates) or "strategy" (the
    periods the strategy quotes, where the estimates have them).
    """

    RELATIONSHIPS = [
        "friends_similar_age",
        "friends_similar_ethnicity",
        "friends_similar_income",
        "friends_similar_education",
        "social_isolation",
    ]

    def __init__(
        self,
        data_dir: str | Path | None = None,
        boundaries_path: str | None = None,
        period: str = "latest",
    ):
        if period not in ("latest", "strategy"):
            raise ValueError("period must be 'latest' or 'strategy'")
        self.data = load(data_dir)
        self.boundaries_path = boundaries_path
        self.mode = period
        self.e = self.data.estimates

    def header(self) -> Section:
        which = (
            "the latest period in the estimates"
            if self.mode == "latest"
            else "the periods the strategy quotes"
        )
        return Section(
            "<h1>The strategy's figures, rebuilt</h1>"
            + notice(self.data).html
            + "<p class='lede'>Figures 2 to 5 of the Mayor's social integration strategy, recomputed from this "
            "project's estimates with their 95% confidence intervals.</p>"
            + _p(
                f"The strategy's section \"London's data\" illustrates relationships (Figure 2), electoral "
                f"registration by borough (Figure 3), volunteering by group (Figure 4) and employment gaps "
                f"(Figure 5) ({STRATEGY}). Each figure below uses {which}; where the strategy quotes a figure, "
                "it is shown beside the estimate."
            )
        )

    def figure2(self) -> Section:
        available = [i for i in self.RELATIONSHIPS if not _london(self.e, i, None).empty]
        if not available:
            return _unavailable(
                "Figure 2: Relationships in London",
                "the relationship measures (Understanding Society)",
            )
        period = _period_for(self.e, available, self.mode)
        rows, refs, ref_periods = [], [], []
        for ind in available:
            r = _london(self.e, ind, period)
            if r.empty:
                continue
            s, _ = _reference(ind)
            rows.append(r.iloc[0].to_dict() | {"label": s.label})
            refs.append(s.reference.value if s.reference else None)
            ref_periods.append(s.reference.period if s.reference else None)
        frame = pd.DataFrame(rows)
        by = frame.set_index("indicator")["value"]
        parts = []
        if "friends_similar_age" in by:
            parts.append(
                f"{by['friends_similar_age']:.0f}% of Londoners said all their friends were a similar age"
            )
        if "friends_similar_ethnicity" in by:
            parts.append(
                f"{by['friends_similar_ethnicity']:.0f}% that all were of their ethnic group"
            )
        if "social_isolation" in by:
            parts.append(f"{by['social_isolation']:.0f}% had no one to rely on a lot")
        text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        title = f"Figure 2. Relationships, {period}: " + text
        chart = reference_dots(
            frame,
            label_column="label",
            unit="%",
            title=title,
            alt_intro=f"Dot chart of five relationship indicators for London, {period}: ",
            references=refs,
            ref_period=ref_periods,
            xlabel="% of adults",
        )
        return Section(
            "<h2>Figure 2: Relationships in London</h2>"
            + _p(
                "The strategy's Figure 2 shows how many Londoners have friends only from a similar background "
                "and how many have no one to rely on (Understanding Society)."
            )
            + charts.to_html(chart),
            [chart],
        )

    def figure3(self) -> Section:
        b = self.e[
            (self.e.indicator == Y)
            & (self.e.breakdown == "all")
            & self.e.area_code.str.startswith("E09")
            & ~compare.is_pooled(self.e.period)
        ]
        if b.empty or _london(self.e, Y, None).empty:
            return _unavailable(
                "Figure 3: Electoral registration by borough", "electoral registration"
            )
        period = _period_for(self.e, [Y], self.mode)
        if period not in set(b.period):
            period = b.period.max()
        rows = b[b.period == period]
        london = _london(self.e, Y, period)
        lv = float(london.value.iloc[0]) if len(london) else np.nan
        low = rows.nsmallest(2, "value")
        higher = int((rows.compared_to_london == "higher").sum())
        lower = int((rows.compared_to_london == "lower").sum())
        source = rows["source"].iloc[0]
        name = "Registration, proxy," if provenance.is_proxy(source) else "Registration,"
        title = (
            f"Figure 3. {name} {period}: {lv:.1f}% of adults in London, lowest in {low.area_name.iloc[0]} "
            f"({low.value.iloc[0]:.1f}%) and {low.area_name.iloc[1]} ({low.value.iloc[1]:.1f}%)"
        )
        import warnings

        with warnings.catch_warnings():  # mapclassify notes that numba would be faster
            warnings.simplefilter("ignore")
            chart = charts.choropleth(rows, boundaries(self.boundaries_path), title=title, unit="%")
        s, _ = _reference(Y)
        quoted = (
            f"The strategy quotes {s.reference.value:g}% for London in {s.reference.period}, and "
            if s.reference
            else "The strategy quotes "
        )
        text = (
            f"{lower} local authorities were significantly below London's rate and {higher} significantly above it. "
            + quoted
            + "68% to 78% for Westminster, Kensington and Chelsea, Tower Hamlets and Camden."
        )
        proxy = (
            _p(provenance.proxy_note("Electoral registration", source))
            if provenance.is_proxy(source)
            else ""
        )
        return Section(
            "<h2>Figure 3: Electoral registration by borough</h2>"
            + proxy
            + _p(text)
            + charts.to_html(chart)
            + provenance.notes_html(rows),
            [chart],
        )

    def figure4(self) -> Section:
        ind = "volunteering"
        if _london(self.e, ind, None).empty:
            return _unavailable("Figure 4: Volunteering by group", "volunteering (Taking Part)")
        period = _period_for(self.e, [ind], self.mode)
        at = self.e[
            (self.e.indicator == ind)
            & (self.e.area_code == geography.LONDON_CODE)
            & (self.e.period == period)
        ]
        london = float(at[at.breakdown == "all"].value.iloc[0])
        parts = []
        for breakdown in [b for b in schemas.LEVELS if b in set(at.breakdown)]:
            part = at[at.breakdown == breakdown].copy()
            part["order"] = part["group"].map(schemas.LEVELS[breakdown].index)
            parts.append(part.sort_values("order"))
        rows = pd.concat(parts)
        ages = rows[rows.breakdown == "age_band"]
        cls = rows[rows.breakdown == "nssec"]
        bits = []
        if len(ages):
            top, bottom = ages.loc[ages.value.idxmax()], ages.loc[ages.value.idxmin()]
            # point estimates only: the markers, not this title, say which groups differ significantly
            bits.append(
                f"estimates range from {bottom.value:.0f}% (ages {bottom.group}) to {top.value:.0f}% (ages {top.group})"
            )
        rm = cls[cls.group == "Routine and manual"]
        if len(rm):
            bits.append(f"{rm.value.iloc[0]:.0f}% of routine and manual workers")
        title = f"Figure 4. Volunteering, {period}: {london:.0f}% of Londoners; " + ", ".join(bits)
        chart = grouped_dots(
            rows,
            london=london,
            unit="% who volunteered in the last 12 months",
            polarity="up",
            title=title,
            alt_intro=f"Dot chart of volunteering in London by population group, {period}, against London's "
            f"{london:.1f}%: ",
        )
        s, _ = _reference(ind)
        ref = (
            (
                f" The strategy quotes {s.reference.value:g}% for London ({s.reference.period}) and describes the highest rates "
                "among people aged 55 and over and lower rates among people in routine and manual occupations."
            )
            if s.reference
            else ""
        )
        return Section(
            "<h2>Figure 4: Volunteering by group</h2>"
            + _p(
                "Markers show whether each group differs significantly from London as a whole (95% test)."
                + ref
            )
            + charts.to_html(chart),
            [chart],
        )

    def figure5(self) -> Section:
        m = measures.get("employment_gap")
        gap_ids = [s.indicator for s in m.series if not _london(self.e, s.indicator, None).empty]
        if not gap_ids:
            return _unavailable("Figure 5: Employment gaps", "employment gaps")
        period = _period_for(self.e, gap_ids, self.mode)
        rows, refs = [], []
        for s in m.series:
            r = _london(self.e, s.indicator, period)
            if r.empty:
                continue
            row = r.iloc[0].to_dict()
            group = row.get("group")
            if (
                not isinstance(group, str) or group == "all"
            ):  # older builds: gap rows carried all/all
                group = f"{s.reference_group} minus {s.comparison_group}"
                row["breakdown"] = s.variable
            row["gap_label"] = group
            rows.append(row)
            refs.append(s.reference.value if s.reference else None)
        frame = pd.DataFrame(rows)
        order = np.argsort(-frame.value.to_numpy())
        frame = frame.iloc[order].reset_index(drop=True)
        refs = [refs[i] for i in order]
        wide, narrow = frame.iloc[0], frame.iloc[-1]
        title = (
            f"Figure 5. Employment gaps, {period}: estimates range from {narrow.value:.1f} points "
            f"{_between(narrow.gap_label)} to {wide.value:.1f} points {_between(wide.gap_label)}"
        )
        chart = gap_bars(
            frame,
            title=title,
            references=refs,
            alt_intro=f"Bar chart of employment rate gaps for people aged 16 to 64 in London, {period}: ",
        )
        quoted = [
            f"{s.reference.value:g} points {_between(f'{s.reference_group} minus {s.comparison_group}')}"
            for s in m.series
            if s.reference
        ]
        published = provenance.source_kind(m.id, frame) == "published"
        how = (
            "its 95% interval combining the two published rates' intervals as independent estimates"
            if published
            else "its 95% interval from the same survey (the covariance of the two rates included)"
        )
        no_interval = frame[frame["lower_ci"].isna()]["gap_label"].tolist()
        text = (
            "Each gap is the employment rate of the first group minus that of the second, in percentage points, with "
            f"{how}"
            + (
                f"; the source gives no interval for the gap {' or '.join(_between(g) for g in no_interval)}"
                if no_interval
                else ""
            )
            + ". The gaps are not tested against each other here, and overlapping intervals do not show that two gaps "
            "are alike."
            + (
                f" The strategy quotes {'; '.join(quoted)} ({m.series[0].reference.period})."
                if quoted
                else ""
            )
        )
        return Section(
            "<h2>Figure 5: Employment gaps</h2>" + _p(text) + charts.to_html(chart), [chart]
        )

    FIGURE_MEASURES = {
        2: ("friends_similar", "social_isolation"),
        3: ("electoral_registration",),
        4: ("volunteering",),
        5: ("employment_gap",),
    }
    KIND_TEXT = {
        "survey": "design-based survey estimates from the microdata",
        "published": "the publisher's own estimates and intervals (ONS Annual Population Survey)",
        "admin": "administrative counts over denominators",
        "values": "published values with no interval",
    }

    def about(self) -> Section:
        """Where each figure's numbers come from, as this build made them (survey microdata,
        published estimates or administrative counts), not as one build would."""
        parts = []
        for number, ids in self.FIGURE_MEASURES.items():
            kinds = {
                provenance.source_kind(i, self.e[self.e.measure_id == i])
                for i in ids
                if (self.e.measure_id == i).any()
            }
            if kinds:
                parts.append(
                    f"Figure {number}: " + " and ".join(self.KIND_TEXT[k] for k in sorted(kinds))
                )
        made = (
            (
                "Figures come from the build's estimates table, each with its 95% confidence interval where the source "
                "gives one. " + "; ".join(parts) + "."
            )
            if parts
            else "This build has no figures for them."
        )
        return Section(
            "<h2>About these figures</h2>"
            + _p(
                made
                + (
                    " Group markers in Figure 4 use the build's tests against London."
                    if any(p.startswith("Figure 4") for p in parts)
                    else ""
                )
                + " The strategy's own figures are shown as published; they may come from different waves or pooled years "
                "than the estimates beside them."
            )
            + _p(f'Reference: {STRATEGY}, "London\'s data", Figures 2 to 5.')
        )
