"""The Fingertips-style spine chart: every indicator of an area against London and the range
of boroughs, with markers (the recent trend) written beside its rows.

Why right is always better: values are placed on a scale from the worst borough to the best,
so that a reader compares indicators whose polarity differs at a glance; a neutral (context)
indicator has no worst or best end and is refused.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.artist import Artist

from analysis import rules, tables
from analysis.charts.axes import hbars, row_labels
from analysis.charts.chart import Chart
from analysis.charts.house_style import SMALL_PT, WIDTH_IN, styled, subplots
from analysis.charts.palette import BAND_GREY, VERDICT_STYLE


@styled
def spine(rows: pd.DataFrame, *, title: str, area_name: str) -> Chart:
    """Fingertips-style spine chart: every indicator against London and the range of boroughs.

    ``rows`` has one row per indicator with columns ``label``, ``value``, ``london``,
    ``min``, ``q25``, ``q75``, ``max``, ``verdict`` (better/worse/similar/not_compared),
    ``polarity``, ``unit``, ``flag``. Values are placed on a common scale centred on London:
    the worst borough at the left end and the best at the right, so right is always better.
    A neutral (context) row has no worst or best end and is refused; a low-reliability ``[u]``
    figure is listed but not placed (the rulebook gives it no rank, and a position between
    worst and best is a rank).
    """
    rows = rows.reset_index(drop=True)
    if not rows["polarity"].map(rules.judged).all():
        raise ValueError(
            "spine: context (neutral) indicators have no worst or best end: "
            f"{rows.loc[~rows['polarity'].map(rules.judged), 'label'].tolist()}"
        )
    n = len(rows)
    fig, ax = subplots(figsize=(WIDTH_IN, 0.38 * n + 1.4))
    y = np.arange(n)[::-1]
    q_lo, q_hi, point = np.empty(n), np.empty(n), np.empty(n)
    for i, r in rows.iterrows():
        lo_end, hi_end = (r["max"], r["min"]) if r["polarity"] == "down" else (r["min"], r["max"])

        def pos(v, lo_end=lo_end, hi_end=hi_end, centre=r["london"]):
            if np.isnan(v):
                return np.nan
            if (v - centre) * (hi_end - centre) >= 0 and hi_end != centre:
                return 0.5 + 0.5 * (v - centre) / (hi_end - centre)
            return 0.5 - 0.5 * (v - centre) / (lo_end - centre) if lo_end != centre else 0.5

        q_lo[i], q_hi[i] = sorted([pos(r["q25"]), pos(r["q75"])])
        point[i] = pos(r["value"]) if rules.rankable(r["value"], r["flag"]) else np.nan
    # one call per layer rather than per row: far fewer artists to build and draw
    hbars(ax, y, 0.0, np.ones(n), color="#E6E6E6")
    hbars(ax, y, q_lo, q_hi - q_lo, color=BAND_GREY)
    for verdict, style in VERDICT_STYLE.items():
        shown = (rows["verdict"].to_numpy() == verdict) & ~np.isnan(point)
        if shown.any():
            ax.scatter(
                point[shown],
                y[shown],
                color=style["color"],
                marker=style["marker"],
                s=70,
                zorder=3,
                edgecolor="black",
                linewidth=0.4,
            )
    ax.axvline(0.5, color="black", linewidth=1.2)
    row_labels(
        ax,
        y,
        [f"{lab} {f}".strip() for lab, f in zip(rows["label"], rows["flag"].fillna(""))],
        fontsize=SMALL_PT,
    )
    ax.set_xlim(
        -0.03, 1.03
    )  # room for a marker at either end (a borough that is the best or worst)
    ax.set_xticks([0, 0.5, 1], ["Worst borough", "London", "Best borough"])
    ax.grid(False)
    from matplotlib.lines import Line2D

    handles: list[Artist] = [
        Line2D(
            [],
            [],
            linestyle="",
            marker=s["marker"],
            color=s["color"],
            markeredgecolor="black",
            markersize=8,
            label=s["label"],
        )
        for k, s in VERDICT_STYLE.items()
        if k not in ("higher", "lower")
    ]  # the spine holds rows with a direction only
    handles.append(plt.Rectangle((0, 0), 1, 1, color=BAND_GREY, label="Middle half of boroughs"))
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(0, -0.06), ncol=2, fontsize=SMALL_PT
    )
    counts = pd.Series([r for r in rows["verdict"]]).value_counts()
    unplaced = int(np.isnan(point).sum())
    alt = (
        f"Spine chart of {n} indicators for {area_name} against London: "
        f"{counts.get('better', 0)} better, {counts.get('worse', 0)} worse, {counts.get('similar', 0)} similar, "
        f"{counts.get('not_compared', 0)} not compared"
        + (
            f"; {unplaced} not placed (suppressed, not available or of low reliability)"
            if unplaced
            else ""
        )
        + ". Details in the table below."
    )
    table = pd.DataFrame(
        {
            "Indicator": rows["label"],
            "Period": rows["period"],
            area_name: [tables.fmt_value(v, f) for v, f in zip(rows["value"], rows["flag"])],
            "London": rows["london"].map(tables.fmt),
            "Lowest borough": rows["min"].map(tables.fmt),
            "Highest borough": rows["max"].map(tables.fmt),
            "Compared with London": rows["verdict"].str.replace("_", " "),
        }
    )
    return Chart(fig, title, alt, table)


def mark_rows(chart: Chart, markers: list[str], *, heading: str) -> Chart:
    """Write a short marker at the right of each row of a row chart drawn top row first at
    y = n - 1 ... 0 (the spine chart: its recent-trend markers), under a heading. The layout
    keeps them inside the figure, as it keeps the row labels on the left."""
    from matplotlib.transforms import blended_transform_factory

    ax = chart.figure.axes[0]
    place = blended_transform_factory(ax.transAxes, ax.transData)
    n = len(markers)
    for yy, marker in zip(np.arange(n)[::-1], markers):
        ax.text(
            1.02, yy, marker, transform=place, ha="left", va="center_baseline", fontsize=SMALL_PT
        )
    ax.text(
        1.02,
        n - 0.45,
        heading,
        transform=place,
        ha="left",
        va="bottom",
        fontsize=SMALL_PT,
        fontweight="bold",
    )
    return chart
