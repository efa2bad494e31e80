"""Dot charts of figures with their 95% intervals: several indicators, every population-group
breakdown of one indicator, and the boroughs ranked.

Why colour and shape together: the verdict against London is carried by marker shape as well
as colour, so no chart depends on colour alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis import tables
from analysis.charts.alt_text import unit_suffix
from analysis.charts.axes import errorbars, row_labels, verdict_points
from analysis.charts.chart import Chart
from analysis.charts.house_style import PRINT_HEIGHT_IN, SMALL_PT, WIDTH_IN, styled, subplots
from analysis.charts.palette import DARK_BLUE, DARK_GREY, MARK_GREY, ORANGE
from analysis.compare import verdict_against_london  # charts mark points by it


@styled
def dots(rows: pd.DataFrame, *, title: str, unit: str, label_column: str = "group") -> Chart:
    """Latest values of several indicators with their intervals (no comparison implied)."""
    rows = rows.reset_index(drop=True)
    fig, ax = subplots(figsize=(WIDTH_IN, 0.45 * len(rows) + 1.0))
    y = np.arange(len(rows))[::-1]
    v, lo, hi = (rows[c].to_numpy(dtype=float) for c in ("value", "lower_ci", "upper_ci"))
    errorbars(ax, y, v, lo, hi, True, DARK_GREY)
    ax.scatter(v, y, color=DARK_BLUE, s=50, zorder=3)
    ax.set_yticks(y, rows[label_column].tolist())
    ax.set_xlabel(unit)
    ax.set_xlim(0, 100) if unit == "%" else None
    ax.grid(axis="x", color="0.85")
    ax.grid(axis="y", visible=False)
    order = np.argsort(-np.nan_to_num(v, nan=-np.inf))
    shown = [i for i in order if np.isfinite(v[i])]
    alt = (
        f"Dot chart of {len(rows)} figures with their 95% confidence intervals, from "
        f"{rows[label_column].iloc[shown[0]]} ({tables.fmt(v[shown[0]])}{unit_suffix(unit)}) highest "
        f"to {rows[label_column].iloc[shown[-1]]} ({tables.fmt(v[shown[-1]])}{unit_suffix(unit)}) lowest."
        if shown
        else "Dot chart with no figures available."
    )
    return Chart(fig, title, alt, tables.estimate_table(rows, [label_column]))


def _split_blocks(
    blocks: list[tuple[str, pd.DataFrame]], columns: int
) -> list[list[tuple[str, pd.DataFrame]]]:
    """Blocks in reading order, cut into ``columns`` runs of about equal rows (a heading and the
    gap after a block count as two rows)."""
    weights = [len(rows) + 2 for _, rows in blocks]
    target = sum(weights) / columns
    runs: list[list[tuple[str, pd.DataFrame]]] = [[]]
    filled = 0.0
    for block, weight in zip(blocks, weights):
        if runs[-1] and len(runs) < columns and filled + weight / 2 > target * len(runs):
            runs.append([])
        runs[-1].append(block)
        filled += weight
    return runs


GROUP_ROW_IN = 0.32  # a group's row in the group panels: room for 9.5 pt text and its marker
GROUP_BLOCK_IN = 0.55  # a breakdown's heading and the gap after it


@styled
def group_panels(
    blocks: list[tuple[str, pd.DataFrame]], *, title: str, london: float, unit: str, polarity: str
) -> Chart:
    """Every population-group breakdown of one indicator, stacked in blocks on one scale.

    One axes holds a column of blocks (a bold heading row, then its groups, a rule between
    blocks): it reads like stacked panels, but lays out and draws in a fraction of the time
    that one axes per breakdown takes under constrained layout. Where one column would be
    taller than a printed page holds (so that the page would shrink its text under 9 pt), the
    blocks are set in two or three columns side by side, sharing one scale.
    """

    def height(runs: list[list[tuple[str, pd.DataFrame]]]) -> float:
        return 1.0 + max(
            GROUP_ROW_IN * sum(len(r) for _, r in run) + GROUP_BLOCK_IN * len(run) for run in runs
        )

    runs = [blocks]
    for columns in (2, 3):
        if height(runs) <= PRINT_HEIGHT_IN or len(blocks) < columns:
            break
        runs = _split_blocks(blocks, columns)
    fig, axes = subplots(
        1, len(runs), figsize=(WIDTH_IN, min(height(runs), PRINT_HEIGHT_IN)), sharex=True
    )
    axes = np.atleast_1d(axes)
    handles: dict[str, Any] = {}
    alt_parts, tables_ = [], []
    for ax, run in zip(axes, runs):
        positions: list[float] = []
        labels: list[str] = []
        headings: list[float] = []
        rules_at: list[float] = []
        frames = []
        cursor = 0.0
        for name, rows in run:
            rows = rows.reset_index(drop=True)
            headings.append(cursor)
            positions.append(cursor)
            labels.append(name)
            ys = cursor - 1 - np.arange(len(rows))
            positions.extend(ys)
            labels.extend(
                f"{g} {f}".strip() for g, f in zip(rows["group"], rows["flag"].fillna(""))
            )
            frames.append(rows.assign(_y=ys))
            cursor = ys[-1] - 1.4 if len(rows) else cursor - 1.4
            rules_at.append(cursor + 0.7)
            # population groups are higher or lower than London as a whole, never better or worse
            verdicts = [
                verdict_against_london(c, polarity, True) for c in rows["compared_to_london"]
            ]
            differing = [
                f"{g} {vv}" for g, vv in zip(rows["group"], verdicts) if vv in ("higher", "lower")
            ]
            alt_parts.append(f"{name}: " + (", ".join(differing) or "no group differs from London"))
            t = tables.estimate_table(rows, ["group"])
            t.insert(1, "Breakdown", name)  # the group stays first: it heads each row
            tables_.append(t)
        every = pd.concat(frames, ignore_index=True)
        y = every["_y"].to_numpy(dtype=float)
        v, lo, hi = (every[c].to_numpy(dtype=float) for c in ("value", "lower_ci", "upper_ci"))
        errorbars(ax, y, v, lo, hi, True, DARK_GREY)
        handles.update(
            verdict_points(
                ax, v, y, every["compared_to_london"], polarity, 45, population_group=True
            )
        )
        if np.isfinite(london):
            handles["london"] = ax.axvline(
                london,
                color=ORANGE,
                linestyle="--",
                linewidth=1.5,
                label=f"London {tables.fmt(london)}{unit_suffix(unit)}",
            )
        for r in rules_at[:-1]:
            ax.axhline(r, color="0.75", linewidth=0.8)
        heading_at = set(headings)
        drawn_labels = row_labels(ax, np.array(positions), labels, fontsize=SMALL_PT)
        for pos, label in zip(positions, drawn_labels):
            if pos in heading_at:
                label.set_fontweight("bold")
                label.set_fontsize(SMALL_PT + 1)
        # every column on the same vertical scale, so a row is as tall in each
        ax.set_ylim(min(-_run_rows(r) for r in runs), 0.6)
        ax.set_xlabel(unit)
        ax.grid(axis="x", color="0.85")
        ax.grid(axis="y", visible=False)
    fig.legend(
        handles=list(handles.values()),
        loc="outside lower center",
        ncol=3,
        fontsize=SMALL_PT,
        frameon=False,
    )
    alt = (
        f"Dot charts of {len(blocks)} breakdowns against London ({tables.fmt(london)}{unit_suffix(unit)}). "
        + "; ".join(alt_parts)
        + "."
    )
    return Chart(fig, title, alt, pd.concat(tables_, ignore_index=True))


def _run_rows(run: list[tuple[str, pd.DataFrame]]) -> float:
    """How far down a column of blocks runs, in rows (as ``group_panels`` places them)."""
    return sum(len(rows) + 1.4 for _, rows in run) - 0.7


@styled
def ranked_boroughs(
    rows: pd.DataFrame, *, title: str, london: float, unit: str, polarity: str
) -> Chart:
    """The 33 boroughs ranked, each with its interval, marked by their test against London.

    Low-reliability figures (``[u]``) are drawn below the ranked boroughs, not at their value's
    place in the order: a figure too unreliable to rank must not look first (or last)."""
    unranked = rows["flag"].fillna("").eq("[u]") | rows["value"].isna()
    rows = pd.concat(
        [
            rows[unranked].sort_values("value", na_position="first"),
            rows[~unranked].sort_values("value", ascending=True),
        ]
    ).reset_index(drop=True)
    fig, ax = subplots(figsize=(WIDTH_IN, 8.5))
    y = np.arange(len(rows))
    v, lo, hi = (rows[c].to_numpy(dtype=float) for c in ("value", "lower_ci", "upper_ci"))
    errorbars(ax, y, v, lo, hi, True, MARK_GREY)
    verdict_points(ax, v, y, rows["compared_to_london"], polarity, 40)
    ax.axvline(
        london,
        color=ORANGE,
        linestyle="--",
        linewidth=1.5,
        label=f"London {tables.fmt(london)}{unit_suffix(unit)}",
    )
    row_labels(
        ax,
        y,
        [f"{n} {f}".strip() for n, f in zip(rows["area_name"], rows["flag"].fillna(""))],
        fontsize=SMALL_PT,
    )
    ax.set_xlabel(unit)
    ax.grid(axis="x", color="0.85")
    ax.grid(axis="y", visible=False)
    ax.legend(loc="upper left", bbox_to_anchor=(0, -0.05), ncol=2)
    shown = rows[~rows["flag"].fillna("").eq("[u]")].dropna(subset=["value"])
    below = int((rows["flag"].fillna("").eq("[u]") & rows["value"].notna()).sum())
    alt = (
        f"Dot chart ranking {len(shown)} boroughs from {shown['area_name'].iloc[-1]} "
        f"({tables.fmt(shown['value'].iloc[-1])}{unit_suffix(unit)}) to {shown['area_name'].iloc[0]} "
        f"({tables.fmt(shown['value'].iloc[0])}{unit_suffix(unit)}); London {tables.fmt(london)}{unit_suffix(unit)}."
        + (f" {below} more, marked [u], are drawn below them, unranked." if below else "")
        if len(shown)
        else "No borough figures can be ranked."
    )
    table = tables.estimate_table(rows.iloc[::-1], ["area_name"])
    notes = (
        [
            "Boroughs marked [u] are shown below the others, unranked: their figures are too unreliable to rank."
        ]
        if rows["flag"].fillna("").eq("[u]").any()
        else []
    )
    return Chart(fig, title, alt, table, notes=notes)
