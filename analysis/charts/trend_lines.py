"""Trends over time: one series' line with its interval band, or small multiples of many.

Why small multiples from five series up: a measure with a dozen series would otherwise fill a
half-empty printed page with each chart.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import tables
from analysis.charts.alt_text import series_shape, unit_suffix
from analysis.charts.chart import Chart
from analysis.charts.house_style import SMALL_PT, WIDTH_IN, styled, subplots
from analysis.charts.palette import DARK_BLUE, DARK_GREY, INTERVAL_EDGE, SEQUENTIAL


@styled
def trend(
    rows: pd.DataFrame, *, title: str, label: str, unit: str, breaks: tuple[str, ...] = ()
) -> Chart:
    """Line of a series over periods with its 95% intervals (one area, one group).

    The line and its band are not joined across a series break (a period in ``breaks``, where
    the definition changed): a dashed rule marks the break instead.
    """
    rows = rows.sort_values("period")
    fig, ax = subplots(figsize=(WIDTH_IN, 3.6))
    x = np.arange(len(rows))
    v, lo, hi = (rows[c].to_numpy(dtype=float) for c in ("value", "lower_ci", "upper_ci"))
    labels = rows["period"].tolist()
    cuts = [i for i, p in enumerate(labels) if i and p in set(breaks)]
    for k, (a, b) in enumerate(zip([0, *cuts], [*cuts, len(x)])):
        ax.fill_between(
            x[a:b],
            lo[a:b],
            hi[a:b],
            color=SEQUENTIAL[3],
            alpha=0.5,
            linewidth=0,
            label="95% confidence interval" if k == 0 else None,
        )
        for limit in (
            lo[a:b],
            hi[a:b],
        ):  # the band's edges, visible against the page where its fill is not
            ax.plot(x[a:b], limit, color=INTERVAL_EDGE, linewidth=0.8)
        ax.plot(x[a:b], v[a:b], color=DARK_BLUE, marker="o", label=label if k == 0 else None)
        if (
            b - a == 1
        ):  # a period alone between breaks: its interval as a bar (a band needs two points)
            ax.vlines(x[a], lo[a], hi[a], color=SEQUENTIAL[3], alpha=0.8, linewidth=6, zorder=1)
    for k, i in enumerate(cuts):
        ax.axvline(
            i - 0.5,
            color=DARK_GREY,
            linestyle="--",
            linewidth=1,
            label="series break" if k == 0 else None,
        )
    if len(labels) > 8:  # long series: label every other period, upright labels stay readable
        ax.set_xticks(x[::2], labels[::2], rotation=45, ha="right")
    else:
        ax.set_xticks(x, labels)
    ax.set_ylabel(unit)
    finite = np.concatenate([v[np.isfinite(v)], lo[np.isfinite(lo)], hi[np.isfinite(hi)]])
    if finite.size:
        span = max(finite.max() - finite.min(), 1.0)
        bottom = finite.min() - span
        ax.set_ylim(
            max(0, bottom) if finite.min() >= 0 else bottom, finite.max() + span
        )  # gaps can be negative
    # two columns side by side only while both labels fit the chart's width
    ax.legend(loc="upper left", bbox_to_anchor=(0, -0.12), ncol=2 if len(label) <= 45 else 1)
    alt = f"Line chart of {label.lower()} with its 95% confidence interval as a band, {series_shape(rows['period'], v, unit)}. {title}"
    if cuts:
        changed = [labels[i] for i in cuts]
        when = changed[0] if len(changed) == 1 else ", ".join(changed[:-1]) + " and " + changed[-1]
        alt += (
            f". The definition changed in {when}, so the line is not joined across the series break"
        )
        alt += "s" if len(changed) > 1 else ""
    return Chart(fig, title, alt.rstrip(".") + ".", tables.estimate_table(rows, ["period"]))


# a measure with more series than this shows them as small multiples, not one chart each
PANELS_FROM = 5
PANEL_COLUMNS = 3
PANEL_ROWS_PER_CHART = 4  # a chart of 4 rows of panels fits a printed page with its title


def trends(
    series: list[tuple[str, pd.DataFrame, str]], *, breaks: tuple[str, ...] = ()
) -> list[Chart]:
    """The London trend of each (label, rows, message title) series: one chart each for a
    few series, small multiples (:func:`trend_panels`) for many, so that a measure with a
    dozen series fills about two printed pages instead of a half-empty page each."""
    if len(series) < PANELS_FROM:
        return [
            trend(rows, title=title, label=label, unit=rows["unit"].iloc[0], breaks=breaks)
            for label, rows, title in series
        ]
    per_chart = PANEL_COLUMNS * PANEL_ROWS_PER_CHART
    parts = [series[i : i + per_chart] for i in range(0, len(series), per_chart)]
    return [
        trend_panels(part, breaks=breaks, part=(k + 1, len(parts)) if len(parts) > 1 else None)
        for k, part in enumerate(parts)
    ]


@styled
def trend_panels(
    series: list[tuple[str, pd.DataFrame, str]],
    *,
    breaks: tuple[str, ...] = (),
    part: tuple[int, int] | None = None,
) -> Chart:
    """Small multiples: each series' line and 95% interval band in its own panel, three
    across, each on its own vertical scale (rates and gaps have different units and ranges),
    not joined across a series break. The alt text gives each panel's message (the page's
    trend titles, in the rulebook's words); the table holds every point."""
    n = len(series)
    rows_n = -(-n // PANEL_COLUMNS)
    fig, axes = subplots(
        rows_n, PANEL_COLUMNS, figsize=(WIDTH_IN, 2.0 * rows_n + 0.5), squeeze=False
    )
    cut_at = set(breaks)
    for ax, (label, rows, _) in zip(axes.flat, series):
        rows = rows.sort_values("period")
        x = np.arange(len(rows))
        v, lo, hi = (rows[c].to_numpy(dtype=float) for c in ("value", "lower_ci", "upper_ci"))
        periods = rows["period"].tolist()
        cuts = [i for i, p in enumerate(periods) if i and p in cut_at]
        for a, b in zip([0, *cuts], [*cuts, len(x)]):
            ax.fill_between(x[a:b], lo[a:b], hi[a:b], color=SEQUENTIAL[3], alpha=0.5, linewidth=0)
            for limit in (lo[a:b], hi[a:b]):
                ax.plot(x[a:b], limit, color=INTERVAL_EDGE, linewidth=0.6)
            ax.plot(x[a:b], v[a:b], color=DARK_BLUE, marker="o", markersize=3, linewidth=1.5)
        for i in cuts:
            ax.axvline(i - 0.5, color=DARK_GREY, linestyle="--", linewidth=1)
        ends = sorted({0, len(x) - 1}) if len(x) else []
        ax.set_xticks(ends, [periods[i] for i in ends])
        ax.tick_params(labelsize=SMALL_PT)
        unit = rows["unit"].iloc[0] if len(rows) else ""
        ax.set_title(
            _wrap(f"{label} ({unit_suffix(unit).strip() or unit})", 30),
            fontsize=SMALL_PT,
            loc="left",
        )
        if len(x):
            ax.set_xlim(-0.4, len(x) - 0.6)
    for ax in list(axes.flat)[n:]:
        ax.set_axis_off()
    periods_all = sorted({p for _, rows, _ in series for p in rows["period"]})
    title = f"Trend in London for each of {n} series, {periods_all[0]} to {periods_all[-1]}" + (
        f" (part {part[0]} of {part[1]})" if part else ""
    )
    alt = (
        f"Small multiples: {n} line charts, one per series, each with its 95% confidence "
        "interval as a band"
        + (", not joined across the series break" if cut_at & set(periods_all) else "")
        + ". "
        + " ".join(message.rstrip(".") + "." for _, _, message in series)
    )
    tables_ = []
    for label, rows, _ in series:
        t = tables.estimate_table(rows.sort_values("period"), ["period"])
        t.insert(0, "Series", label)
        tables_.append(t)
    # each panel's message, in the rulebook's words, under the chart for every reader
    notes = [message.rstrip(".") + "." for _, _, message in series]
    notes.append("Each panel has its own vertical scale.")
    if cut_at & set(periods_all):
        notes.append("A dashed line marks a series break: the definition changed.")
    return Chart(fig, title, alt, pd.concat(tables_, ignore_index=True), notes=notes)


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) or text
