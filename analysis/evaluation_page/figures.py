"""The evaluation page's charts: each success measure's effect with its interval (a forest of
dots marked by verdict), the two groups' answers before and after, and how the detectable
effect falls with more sites.

Why verdicts by colour and shape: as in every report chart, no result depends on colour alone.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis import charts, tables
from analysis import evaluation_stats as es
from analysis.evaluation import WAVES
from analysis.evaluation_page.words import fmt_points, group_share

Verdict = es.Verdict

EVAL_STYLE: dict[Verdict, dict[str, str]] = {
    Verdict.IMPROVED: {
        "color": charts.TURQUOISE,
        "marker": "^",
        "label": "Improved (significant at 5%)",
    },
    Verdict.WORSENED: {
        "color": charts.DARK_PINK,
        "marker": "v",
        "label": "Worsened (significant at 5%)",
    },
    Verdict.NO_CHANGE: {
        "color": charts.DARK_BLUE,
        "marker": "o",
        "label": "No significant change",
    },
    Verdict.NO_DIFFERENCE: {
        "color": charts.DARK_BLUE,
        "marker": "o",
        "label": "No significant difference",
    },
}


@charts.styled
def forest(
    results: Sequence[es.SiteClusteredEffect],
    *,
    xlabel: str,
    title: str,
    alt_lead: str,
    table: pd.DataFrame,
    notes: list[str] | None = None,
) -> charts.Chart:
    """A dot chart of each success measure's effect with its 95% interval, marked by verdict;
    its alternative text is ``alt_lead`` followed by every effect and verdict."""

    labels = [r.outcome.label for r in results]
    verdicts = [r.verdict for r in results]
    alt = (
        alt_lead
        + "; ".join(
            f"{r.outcome.label} {fmt_points(r.effect)} points ({r.verdict})" for r in results
        )
        + "."
    )
    n = len(labels)
    fig, ax = charts.subplots(figsize=(7.5, 0.55 * n + 1.4))
    y = np.arange(n)[::-1]
    v = np.array([r.effect for r in results], dtype=float)
    lo = np.array([r.lower for r in results], dtype=float)
    hi = np.array([r.upper for r in results], dtype=float)
    ax.errorbar(
        v,
        y,
        xerr=np.vstack([v - lo, hi - v]),
        fmt="none",
        ecolor=charts.DARK_GREY,
        elinewidth=1.5,
        capsize=3,
    )
    for key, style in EVAL_STYLE.items():
        mask = np.array([vv == key for vv in verdicts])
        if mask.any():
            ax.scatter(
                v[mask],
                y[mask],
                color=style["color"],
                marker=style["marker"],
                s=70,
                zorder=3,
                label=style["label"],
            )
    ax.axvline(0, color="black", linewidth=1)
    ax.set_yticks(y, [textwrap.fill(label, 30) for label in labels])
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", color="0.85")
    ax.grid(axis="y", visible=False)
    fig.legend(loc="outside lower center", ncol=2, fontsize=charts.SMALL_PT)
    return charts.Chart(fig, title, alt, table, notes=notes or [])


@charts.styled
def trend_chart(ds: list[es.DiD]) -> charts.Chart:
    """Small multiples on one shared y-axis, so slopes compare across panels."""

    k = len(ds)
    cols = min(k, 3)
    rows_n = math.ceil(k / cols)
    fig, axes = charts.subplots(
        rows_n, cols, figsize=(7.5, 2.6 * rows_n + 0.6), squeeze=False, sharey=True
    )
    styles = {
        "programme": (charts.DARK_BLUE, "o", "-", "Programme participants"),
        "comparison": (charts.ORANGE, "s", "--", "Comparison group"),
    }
    records = []
    for ax, d in zip(axes.flat, ds):
        for group, (colour, marker, line, label) in styles.items():
            m = d.means[d.means.group == group].set_index("wave").reindex(list(WAVES))
            shares, ns = m["share"].to_numpy(float), m["n"].to_numpy(float)
            ci = np.array([es.wilson(s / 100 * n, n) for s, n in zip(shares, ns)]) * 100
            ax.errorbar(
                [0, 1],
                shares,
                yerr=np.vstack([shares - ci[:, 0], ci[:, 1] - shares]),
                color=colour,
                marker=marker,
                linestyle=line,
                capsize=3,
                label=label,
            )
            for wave, s, (lo, hi), n in zip(WAVES, shares, ci, ns):
                records.append(
                    {
                        "Success measure": d.outcome.label,
                        "Group": label,
                        "Wave": wave,
                        "Yes (%)": tables.fmt(s),
                        "95% CI lower": tables.fmt(lo),
                        "95% CI upper": tables.fmt(hi),
                        "People": int(n),
                    }
                )
        ax.set_xticks([0, 1], ["Before", "After"])
        ax.set_xlim(-0.3, 1.3)
        ax.set_title(textwrap.fill(d.outcome.label, 24), fontsize=charts.SMALL_PT)
    axes[0, 0].set_ylim(0, 100)  # shared by every panel: the full scale, so no slope is exaggerated
    for row in axes:
        row[0].set_ylabel("% answering yes")
    for ax in list(axes.flat)[k:]:
        ax.set_axis_off()
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2)
    gaps = [d for d in ds if d.significant]
    title = (
        f"Participants' answers moved away from the comparison group's on {len(gaps)} of {k} measures between "
        "the two surveys"
    )
    alt = (
        "Small line charts on one shared 0 to 100% scale, one per success measure, of the percentage answering "
        "yes before and after for programme participants and the comparison group: "
        + "; ".join(
            f"{d.outcome.label}: participants {group_share(d, 'programme', 'pre')}% to {group_share(d, 'programme', 'post')}%, "
            f"comparison {group_share(d, 'comparison', 'pre')}% to {group_share(d, 'comparison', 'post')}%"
            for d in ds
        )
        + "."
    )
    return charts.Chart(
        fig,
        title,
        alt,
        pd.DataFrame(records),
        notes=[
            "Every panel uses the same vertical scale, 0 to 100%. People answering that measure "
            "at both waves; Wilson 95% intervals."
        ],
    )


@charts.styled
def mde_curve(dids: list[es.DiD]) -> charts.Chart:

    G = dids[0].n_clusters
    sites = sorted({max(3, G // 2), G, 2 * G, 3 * G, 4 * G})
    fig, ax = charts.subplots(figsize=(7.5, 3.8))
    records = []
    colours = charts.CATEGORICAL
    for i, d in enumerate(dids):
        values = [es.mde_more_sites(d, g) for g in sites]
        ax.plot(
            sites,
            values,
            marker="o",
            color=colours[i % len(colours)],
            label=textwrap.fill(d.outcome.label, 28),
        )
        records += [
            {
                "Success measure": d.outcome.label,
                "Project sites": g,
                "MDE, difference from comparison group (points)": tables.fmt(v),
            }
            for g, v in zip(sites, values)
        ]
    ax.axvline(G, color=charts.DARK_GREY, linestyle=":", linewidth=1.2, label="Present sites")
    ax.set_xlabel("Project sites (each like the present ones)")
    ax.set_ylabel("Percentage points")
    ax.set_ylim(bottom=0)
    ax.grid(color="0.9")
    fig.legend(loc="outside right upper", fontsize=charts.SMALL_PT, frameon=False)
    first = dids[0]
    now, double = es.mde_more_sites(first, G), es.mde_more_sites(first, 2 * G)
    title = (
        f"Twice as many sites would cut the detectable difference for '{first.outcome.label.lower()}' from "
        f"{now:.1f} to {double:.1f} points"
    )
    alt = (
        f"Line chart of the minimum detectable difference from the comparison group against the number of project "
        f"sites, from {sites[0]} to {sites[-1]}, one line per success measure; every line falls as sites are "
        f"added. At the present {G} sites the first measure's is {now:.1f} points."
    )
    return charts.Chart(
        fig,
        title,
        alt,
        pd.DataFrame(records),
        notes=[
            "Sites added with the same numbers of people as the present ones, so the standard "
            "error falls with the square root of the number of sites; t on sites minus one "
            "degrees of freedom."
        ],
    )
