"""Report sections for the modelled borough figures (small area estimates, :mod:`analysis.sae`).

Kept apart from :mod:`analysis.report` so the pages that show direct figures need only a
one-line hook. Nothing is estimated here: the figures come from ``estimates.csv`` (rows with
``method`` = ``modelled``) and the model files under ``modelled/`` written by the build.

* Measure pages: for the latest wave of each indicator, direct and modelled figures side by
  side for every borough (the shrinkage visible), a map of the modelled figures, and the
  model's diagnostics (standardised residuals, their normal plot, shrinkage against
  respondents, direct against modelled, and the share of variance the covariates explain).
* Borough pages: the modelled figure of every survey indicator whose direct figure is
  ``[c]``, ``[u]`` or missing, marked "modelled estimate", with its interval and its test
  against London.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import charts, compare, geography, measures, pipeline, rules, tables
from analysis.html import Markup, h2, h3, join, p
from analysis.report import DEFAULT_DATA_DIR, Section, boundaries
from analysis.sae.boroughs import METHOD_MODELLED

LABEL = "modelled estimate"
METHOD_NOTE = (
    "Modelled estimates come from a Fay-Herriot small area model: each borough's survey estimate is "
    "combined with a prediction from its characteristics (Inner London, and the share of residents "
    "from Black, Asian and minority ethnic groups) and with its survey estimates in the other waves, "
    "each weighted by how precise it is, and the boroughs are adjusted to add up to the London survey "
    "estimate. Where a borough's survey estimate is suppressed, its own sample is left out of its "
    "modelled figure. They are not survey estimates; the interval shows their uncertainty (root mean "
    "squared error)."
)
CHANGE_NOTE = (
    "Modelled estimates are shown for the latest wave only and are not compared between waves: "
    "changes over time are tested on the direct survey estimates."
)


def _folder(data_dir: str | Path | None) -> Path:
    return Path(data_dir) if data_dir else DEFAULT_DATA_DIR


@lru_cache(maxsize=4)
def _modelled_rows(path: str, mtime: float) -> pd.DataFrame:
    e = pipeline.read_estimates(Path(path), modelled=True)
    if "method" not in e:  # written before modelled figures existed
        return e.iloc[0:0]
    return e[e["method"] == METHOD_MODELLED].reset_index(drop=True)


def modelled_rows(data_dir: str | Path | None = None) -> pd.DataFrame:
    """The modelled rows of a build's ``estimates.csv`` (empty if it has none)."""
    target = _folder(data_dir) / "estimates.csv"
    if not target.exists():
        return pd.DataFrame(columns=["measure_id", "indicator", "period", "area_code", "method"])
    return _modelled_rows(str(target.resolve()), target.stat().st_mtime)


def model_files(
    data_dir: str | Path | None, measure_id: str, indicator: str, period: str
) -> tuple[pd.DataFrame, dict] | None:
    """One model's table and description, or None when the build wrote none."""
    stem = _folder(data_dir) / "modelled" / f"{measure_id}__{indicator}__{period.replace('/', '-')}"
    csv, meta = stem.with_suffix(".csv"), stem.with_suffix(".json")
    if not csv.exists() or not meta.exists():
        return None
    table = pd.read_csv(csv, dtype={"area_code": str})
    return table, json.loads(meta.read_text(encoding="utf-8"))


def _verdict_counts(rows: pd.DataFrame, polarity: str) -> str:
    verdicts = [compare.verdict_against_london(c, polarity) for c in rows["compared_to_london"]]
    if polarity == "neutral":
        higher = int((rows["compared_to_london"] == "higher").sum())
        lower = int((rows["compared_to_london"] == "lower").sum())
        return f"{higher} boroughs higher than London and {lower} lower"
    better, worse = verdicts.count("better"), verdicts.count("worse")
    return f"{better} boroughs significantly better than London and {worse} worse"


@charts.styled
def side_by_side(table: pd.DataFrame, *, title: str, unit: str, london: float) -> charts.Chart:
    """Each borough's direct figure (where published) beside its modelled one, with intervals."""
    t = table.sort_values("eblup").reset_index(drop=True)
    names = t["area_code"].map(geography.names_by_code())
    # 8 inches: with its heading and a few lines before it, it fits a printed page (at 8.8 the
    # page before was left nearly empty)
    fig, ax = charts.subplots(figsize=(7.5, 8.0))
    y = np.arange(len(t))
    direct = t["direct"].to_numpy(dtype=float)
    half = 1.96 * np.sqrt(t["direct_variance"].to_numpy(dtype=float))
    ax.errorbar(
        direct,
        y + 0.18,
        xerr=half,
        fmt="o",
        color=charts.DARK_GREY,
        markersize=4,
        linewidth=1,
        label="Direct survey estimate",
    )
    v = t["eblup"].to_numpy(dtype=float)
    ax.errorbar(
        v,
        y - 0.18,
        xerr=[v - t["lower_ci"], t["upper_ci"] - v],
        fmt="s",
        color=charts.DARK_BLUE,
        markersize=4,
        linewidth=1.2,
        label="Modelled estimate",
    )
    ax.axvline(
        london,
        color=charts.ORANGE,
        linestyle="--",
        linewidth=1.3,
        label=f"London {tables.fmt(london)}%",
    )
    ax.set_yticks(y, names, fontsize=charts.SMALL_PT)
    ax.set_xlabel(unit)
    ax.grid(axis="x", color="0.85")
    ax.grid(axis="y", visible=False)
    ax.legend(loc="upper left", bbox_to_anchor=(0, -0.05), ncol=3, fontsize=charts.SMALL_PT)
    published = np.isfinite(direct)
    moved = np.nanmean(np.abs(v - direct)) if published.any() else float("nan")
    narrower = int(((t["upper_ci"] - t["lower_ci"]).to_numpy() < 2 * half)[published].sum())
    alt = (
        f"Dot chart of {len(t)} boroughs, each with its modelled estimate and 95% interval, and its direct survey "
        f"estimate where one is published ({int(published.sum())} boroughs)."
        + (
            f" Where both are shown, the modelled estimate lies on average {tables.fmt(moved)} points from the direct "
            f"one, and its interval is the narrower in {narrower} of {int(published.sum())} boroughs."
            if published.any()
            else ""
        )
        + " The table below lists both."
    )
    out = pd.DataFrame(
        {
            "Area": names,
            "Respondents": t["respondents"].astype(int).map("{:,}".format),
            f"Direct ({unit})": [tables.fmt(d) if pd.notna(d) else "[c]" for d in t["direct"]],
            f"Modelled ({unit})": v.round(1).astype(str),
            "95% CI lower": [tables.fmt(x) for x in t["lower_ci"]],
            "95% CI upper": [tables.fmt(x) for x in t["upper_ci"]],
            "Shrinkage": [tables.fmt(s, 2) for s in t["shrinkage"]],
            "Compared with London": t["compared_to_london"].str.replace("_", " "),
        }
    ).iloc[::-1]
    return charts.Chart(
        fig,
        title,
        alt,
        out,
        notes=[
            "Shrinkage: the weight the model puts on the prediction (from the borough's characteristics and its "
            "other waves) rather than its own survey estimate in this wave (0 = survey only, 1 = prediction "
            "only). [c]: too few respondents to publish the direct estimate; the modelled estimate then leaves "
            "that sample out."
        ],
    )


@charts.styled
def diagnostics(table: pd.DataFrame, meta: dict, *, title: str) -> charts.Chart:
    """Four panels: standardised residuals, their normal plot, shrinkage against respondents,
    and direct against modelled."""
    from scipy import stats

    t = table[np.isfinite(table["standardised_residual"])].reset_index(drop=True)
    r = t["standardised_residual"].to_numpy(dtype=float)
    fig, axes = charts.subplots(2, 2, figsize=(7.5, 6.6))
    ax = axes[0, 0]
    ax.scatter(t["synthetic_estimate"], r, s=14, color=charts.DARK_BLUE)
    ax.axhline(0, color="0.5", linewidth=0.8)
    for lim in (-1.96, 1.96):
        ax.axhline(lim, color=charts.ORANGE, linestyle="--", linewidth=0.8)
    ax.set_title("Standardised residuals", fontsize=10)
    ax.set_xlabel("Prediction from characteristics (%)", fontsize=charts.SMALL_PT)
    ax = axes[0, 1]
    theoretical = stats.norm.ppf((np.arange(1, len(r) + 1) - 0.5) / len(r))
    ax.scatter(theoretical, np.sort(r), s=14, color=charts.DARK_BLUE)
    ax.plot([-2.5, 2.5], [-2.5, 2.5], color="0.5", linewidth=0.8)
    ax.set_title("Normal plot of the residuals", fontsize=10)
    ax.set_xlabel("Normal quantile", fontsize=charts.SMALL_PT)
    ax = axes[1, 0]
    ax.scatter(table["respondents"], table["shrinkage"], s=14, color=charts.DARK_BLUE)
    ax.set_title("Shrinkage by respondents", fontsize=10)
    ax.set_xlabel("Respondents", fontsize=charts.SMALL_PT)
    ax.set_ylim(0, 1.02)
    ax = axes[1, 1]
    ax.scatter(table["direct"], table["eblup"], s=14, color=charts.DARK_BLUE)
    both = pd.concat([table["direct"], table["eblup"]]).dropna()
    if len(both):
        ax.plot([both.min(), both.max()], [both.min(), both.max()], color="0.5", linewidth=0.8)
    ax.set_title("Direct against modelled (%)", fontsize=10)
    ax.set_xlabel("Direct", fontsize=charts.SMALL_PT)
    ax.set_ylabel("Modelled", fontsize=charts.SMALL_PT)
    outside = int((np.abs(r) > 1.96).sum())
    shapiro = stats.shapiro(r).pvalue if len(r) >= 3 else float("nan")
    alt = (
        f"Four diagnostic charts of the model. {outside} of {len(r)} boroughs have a standardised residual "
        f"beyond plus or minus 1.96; the Shapiro-Wilk test of normality gives p = {tables.fmt(shapiro, 3)}. "
        f"Shrinkage ranges from {tables.fmt(table['shrinkage'].min(), 2)} to {tables.fmt(table['shrinkage'].max(), 2)} "
        "and falls as respondents rise. The table below lists the values."
    )
    out = pd.DataFrame(
        {
            "Area": table["area_code"].map(geography.names_by_code()),
            "Respondents": table["respondents"].astype(int),
            "Standardised residual": [tables.fmt(x, 2) for x in table["standardised_residual"]],
            "Shrinkage": [tables.fmt(x, 2) for x in table["shrinkage"]],
            "Direct (%)": [tables.fmt(x) if pd.notna(x) else "[c]" for x in table["direct"]],
            "Modelled (%)": [tables.fmt(x) for x in table["eblup"]],
        }
    )
    explained = meta.get("variance_explained")
    notes = [
        f"Method: {meta['method']}; area-effect variance {meta['area_effect_variance']:.3g} (proportion scale); "
        + (
            "the covariates explain "
            + (f"{100 * explained:.0f}%" if explained is not None else "an unknown share")
            + " of the between-borough variance."
        )
    ]
    return charts.Chart(fig, title, alt, out, notes=notes)


def measure_sections(
    measure_id: str, data_dir: str | Path | None = None, boundaries_path: str | None = None
) -> Section:
    """Direct and modelled borough figures side by side, a map and the diagnostics, for the
    latest wave of each indicator of a measure (empty for a measure with no models)."""
    m = measures.get(measure_id)
    if m.kind == "survey_gap":  # say why there is no modelled figure (the rulebook's words)
        return Section(str(join([h2("Modelled borough estimates"), p(rules.GAP_NOT_MODELLED)])))
    rows = modelled_rows(data_dir)
    rows = rows[rows["measure_id"] == measure_id]
    if rows.empty:
        return Section("")
    labels = {s.indicator: s.label for s in m.series}
    out: list[Markup] = [h2("Modelled borough estimates"), p(METHOD_NOTE), p(CHANGE_NOTE)]
    made: list[charts.Chart] = []
    shapes = boundaries(boundaries_path)
    for indicator in [s.indicator for s in m.series if s.indicator in set(rows["indicator"])]:
        at = rows[rows["indicator"] == indicator]
        period = max(at["period"])
        files = model_files(data_dir, measure_id, indicator, period)
        if files is None:
            continue
        table, meta = files
        latest = at[at["period"] == period]
        label = labels[indicator]
        london = 100 * meta["benchmarking"]["target_london_direct"]
        unit = latest["unit"].iloc[0]
        title = f"{label}, {period}, {LABEL}s: {_verdict_counts(latest, m.polarity)}"
        chart = side_by_side(table, title=title, unit=unit, london=london)
        shown = latest.assign(flag="")
        map_chart = charts.choropleth(
            shown, shapes, title=f"{label}, {period}: {LABEL}s by borough", unit=unit
        )
        diag = diagnostics(
            table, meta, title=f"{label}, {period}: how well the small area model fits"
        )
        made += [chart, map_chart, diag]
        out += [h3(label), *(Markup(charts.to_html(c)) for c in (chart, map_chart, diag))]
    return Section(str(join(out)), made)


def borough_section(borough: str, data_dir: str | Path | None = None) -> Section:
    """The modelled figure of each survey indicator whose direct figure is [c], [u] or
    missing for this borough (latest wave), marked "modelled estimate"."""
    code = geography.to_code(borough, allow_aggregates=False)
    rows = modelled_rows(data_dir)
    rows = rows[rows["area_code"] == code]
    if rows.empty:
        return Section("")
    direct = pipeline.read_estimates(_folder(data_dir) / "estimates.csv")
    direct = direct[(direct["area_code"] == code) & (direct["breakdown"] == "all")]
    flags = {
        (i, p): f
        for i, p, f in zip(direct["indicator"], direct["period"], direct["flag"].fillna(""))
    }
    labels = {s.indicator: (s.label, m) for m in measures.registry() for s in m.series}
    shown = []
    for indicator, at in rows.groupby("indicator", sort=False):
        latest = at[at["period"] == max(at["period"])].iloc[0]
        flag = flags.get((indicator, latest["period"]), "missing")
        if flag not in ("[c]", "[u]", "[x]", "missing"):
            continue  # a reliable direct figure is on the page already
        label, m = labels[indicator]
        verdict = compare.verdict_against_london(latest["compared_to_london"], m.polarity)
        shown.append(
            {
                "Indicator": label,
                "Period": latest["period"],
                f"Value ({latest['unit']})": f"{tables.fmt(latest['value'])} ({LABEL})",
                "95% CI lower": tables.fmt(latest["lower_ci"]),
                "95% CI upper": tables.fmt(latest["upper_ci"]),
                "Direct survey figure": {
                    "missing": "no borough figure",
                    "[u]": "low reliability [u]",
                    "[c]": "suppressed [c]",
                    "[x]": "not available [x]",
                }[flag],
                "Compared with London": verdict.replace("_", " "),
            }
        )
    if not shown:
        return Section("")
    name = geography.name_of(code)
    table = pd.DataFrame(shown)
    better = sum(r["Compared with London"] == "better" for r in shown)
    worse = sum(r["Compared with London"] == "worse" for r in shown)
    intro = (
        f"{len(shown)} survey indicators have no reliable direct figure for {name}. Their {LABEL}s are below: "
        f"{better} significantly better than London, {worse} worse, the rest not significantly different."
    )
    return Section(
        str(
            join(
                [
                    h2("Modelled estimates"),
                    p(intro),
                    p(METHOD_NOTE),
                    p(CHANGE_NOTE),
                    p(rules.GAP_NOT_MODELLED),
                    Markup(
                        tables.to_html(
                            table, caption=f"Modelled estimates for {name} (latest wave)"
                        )
                    ),
                ]
            )
        )
    )


__all__ = ["borough_section", "measure_sections", "model_files", "modelled_rows"]
