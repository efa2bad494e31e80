"""Drawing helpers the row charts share: interval bars, horizontal bars as one collection,
row labels as plain text and points marked by their verdict against London.

Why these exist instead of Matplotlib's ``barh`` and y ticks: each builds one artist (or one per
row) where the usual calls build several, which made the borough and spine charts several
times faster to lay out and draw.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from analysis.charts.palette import VERDICT_STYLE
from analysis.compare import verdict_against_london  # charts mark points by it


def errorbars(ax, y, values, lower, upper, horizontal: bool, color: str) -> None:
    ok = ~np.isnan(values)
    if not ok.any():
        return
    err = np.vstack([values[ok] - lower[ok], upper[ok] - values[ok]])
    if horizontal:
        ax.errorbar(
            values[ok], y[ok], xerr=err, fmt="none", ecolor=color, elinewidth=1.5, capsize=3
        )
    else:
        ax.errorbar(
            y[ok], values[ok], yerr=err, fmt="none", ecolor=color, elinewidth=1.5, capsize=3
        )


def hbars(
    ax: Axes,
    y: np.ndarray,
    left: np.ndarray | float,
    width: np.ndarray | float,
    *,
    color: str,
    height: float = 0.6,
) -> None:
    """Horizontal bars as one collection: a single artist to build and draw, where ``barh``
    makes and lays out one rectangle per bar. Bars with a missing end are left out."""
    from matplotlib.collections import PolyCollection

    left, width, y = (
        np.broadcast_to(np.asarray(a, dtype=float), np.shape(y)) for a in (left, width, y)
    )
    ok = np.isfinite(left) & np.isfinite(width)
    x0, x1, y0, y1 = left[ok], left[ok] + width[ok], y[ok] - height / 2, y[ok] + height / 2
    corners = np.stack([np.c_[x0, y0], np.c_[x0, y1], np.c_[x1, y1], np.c_[x1, y0]], axis=1)
    ax.add_collection(
        PolyCollection(list(corners), facecolors=color, edgecolors="none", linewidths=0),
        autolim=True,
    )
    ax.autoscale_view()


def row_labels(ax, y: np.ndarray, labels: list[str], *, fontsize: float) -> list:
    """Labels of the rows of a horizontal chart, placed as y tick labels would be.

    One text per row instead of a tick (a tick is five artists: two marks, a grid line and
    two labels, each built, copied and laid out); the y axis keeps no ticks.
    """
    from matplotlib.transforms import ScaledTranslation, blended_transform_factory

    ax.set_yticks([])
    gap = (
        plt.rcParams["ytick.major.size"] + plt.rcParams["ytick.major.pad"]
    ) / 72  # inches, as a tick label's
    place = blended_transform_factory(ax.transAxes, ax.transData) + ScaledTranslation(
        -gap, 0, ax.figure.dpi_scale_trans
    )
    colour = plt.rcParams["ytick.labelcolor"]
    colour = plt.rcParams["ytick.color"] if colour == "inherit" else colour
    return [
        ax.text(
            0,
            yy,
            label,
            transform=place,
            ha="right",
            va="center_baseline",
            fontsize=fontsize,
            color=colour,
        )
        for yy, label in zip(y, labels)
    ]


def verdict_points(
    ax,
    x: np.ndarray,
    y: np.ndarray,
    compared,
    polarity: str,
    size: float,
    population_group: bool = False,
) -> dict:
    """Points marked by the rulebook's verdict against London (better/worse only where the
    row has a direction and is not a population group): colour and shape both carry it."""
    verdicts = np.array([verdict_against_london(c, polarity, population_group) for c in compared])
    handles = {}
    for key, style in VERDICT_STYLE.items():
        mask = (verdicts == key) & ~np.isnan(x)
        if mask.any():
            handles[key] = ax.scatter(
                x[mask],
                y[mask],
                color=style["color"],
                marker=style["marker"],
                s=size,
                zorder=3,
                label=style["label"],
            )
    return handles
