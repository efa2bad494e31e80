"""The strategy's Figures 2 to 5 rebuilt from the estimates: the London figures beside the
strategy's own (reference dots), groups of several breakdowns against London, and the
employment gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import charts, compare, geography, measures, schemas, tables
from analysis.report import main_rows


def reference_of(indicator: str):
    for m in measures.registry():
        for s in m.series:
            if s.indicator == indicator:
                return s, m
    raise KeyError(indicator)


def london_rows(e: pd.DataFrame, indicator: str, period: str | None) -> pd.DataFrame:
    rows = main_rows(e)
    rows = rows[
        (rows.indicator == indicator)
        & (rows.area_code == geography.LONDON_CODE)
        & ~compare.is_pooled(rows.period)
    ]
    if period is not None:
        rows = rows[rows.period == period]
    return rows


def period_for(e: pd.DataFrame, indicators: list[str], mode: str) -> str:
    """The London period for a figure. 'latest': the latest single period all ``indicators``
    share; 'strategy': the period the strategy quotes (the registry's reference), where the
    estimates have it, else the latest."""
    sets = [set(london_rows(e, i, None).period) for i in indicators]
    common = set.intersection(*sets) if sets else set()
    if not common:
        raise ValueError(f"No common London period for {indicators}")
    if mode == "strategy":
        quoted = [
            s.reference.period for s, _ in map(reference_of, indicators) if s.reference is not None
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
    at: list[float] = []
    pos, heads = 0.0, []
    for breakdown, part in rows.groupby("breakdown", sort=False):
        heads.append((pos, schemas.BREAKDOWN_LABELS.get(breakdown, breakdown)))
        pos += 1
        for _ in range(len(part)):
            at.append(pos)
            pos += 1
        pos += 0.4
    ys = -np.array(at)
    # no taller than fits a printed page with the heading and paragraph before it (a taller one
    # would be printed smaller, its text under 9 pt, or leave the page before nearly empty):
    # rows close up instead, down to about 13 pt apart for 9.5 pt labels
    fig, ax = charts.subplots(
        figsize=(charts.WIDTH_IN, min(0.33 * pos + 1.6, charts.WITH_TEXT_HEIGHT_IN))
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
