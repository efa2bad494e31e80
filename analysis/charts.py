"""Charts in the Analysis Function house style, each with the data table behind it.

Every chart function returns a :class:`Chart`: the matplotlib figure, a message title written
from the numbers, alternative text, and the table of exactly what is plotted. ``show`` puts
the figure and its table into a notebook (and so into the HTML and PDF reports). Colours come
from the Analysis Function palettes (``afcharts``); significance is also shown by marker shape,
so no chart depends on colour alone.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import html
import io
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from afcharts.af_colours import get_af_colours
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.path import Path
from matplotlib.text import Text

from analysis import fonts, rules, tables
from analysis.compare import verdict_against_london  # charts mark points by it

CATEGORICAL = get_af_colours("categorical")
SEQUENTIAL = get_af_colours("sequential", number_of_colours=5)
DARK_BLUE, TURQUOISE, DARK_PINK, ORANGE, DARK_GREY, LIGHT_PURPLE = CATEGORICAL
MID_GREY = "#BFBFBF"


def _ramp(colour: str) -> list[str]:
    """Five steps of one hue, darkest first, as the Analysis Function's sequential palette
    steps its dark blue: darker, the colour, then mixed with 35%, 60% and 80% white."""
    from matplotlib.colors import to_hex, to_rgb

    r, g, b = to_rgb(colour)
    darker = to_hex((0.6 * r, 0.6 * g, 0.6 * b))
    return [darker] + [
        to_hex((r + (1 - r) * w, g + (1 - g) * w, b + (1 - b) * w)) for w in (0, 0.35, 0.6, 0.8)
    ]


# a second variable's map beside a first (registration and churn): its own hue, so the two
# maps' classes are never read on one scale
SEQUENTIAL_SECOND = _ramp(CATEGORICAL[2])
# meaningful marks need 3:1 against the white background (WCAG 1.4.11); MID_GREY (1.8:1) and the
# light interval fill (about 1.5:1) are for de-emphasis only
MARK_GREY = "#767676"  # grey marks that carry meaning (not compared, intervals): 4.5:1
INTERVAL_EDGE = SEQUENTIAL[2]  # the limits of an interval band, 4.9:1
BAND_GREY = "#808080"  # the spine chart's middle half of boroughs: 3.2:1 on its light grey bar
# better / worse / similar than London, with shapes that carry the meaning without colour
VERDICT_STYLE = {
    "better": {"color": TURQUOISE, "marker": "^", "label": "Better than London"},
    "worse": {"color": DARK_PINK, "marker": "v", "label": "Worse than London"},
    # a neutral row or a population group: a difference, but neither better nor worse
    "higher": {"color": LIGHT_PURPLE, "marker": "^", "label": "Higher than London"},
    "lower": {"color": DARK_GREY, "marker": "v", "label": "Lower than London"},
    "similar": {"color": DARK_BLUE, "marker": "o", "label": "Similar to London"},
    "not_compared": {"color": MARK_GREY, "marker": "s", "label": "Not compared"},
}
# the printed page: A4 less the page template's side margins (12 mm each) is the widest a chart
# is printed, and the template caps a chart's height at 225 mm; a larger figure is scaled down
PRINT_WIDTH_IN = (210 - 2 * 12) / 25.4
PRINT_HEIGHT_IN = 225 / 25.4
# the tallest a chart can be and still share its printed page with a heading, a paragraph and
# its title (a taller one starts a page of its own and leaves the page before nearly empty)
WITH_TEXT_HEIGHT_IN = 7.4
# no chart text smaller than this once printed (the Analysis Function's and RNIB's floor)
SMALLEST_PRINTED_PT = 9.0
# the size of a chart's small text (row labels, legends, notes) in a figure printed at 0.976
# of its size (7.5 inches wide): 9.5 pt is printed at 9.3 pt
SMALL_PT = 9.5
WIDTH_IN = 7.5  # every chart's width: 720 CSS pixels on screen
# pixels per inch of the charts' PNGs: sharp when zoomed in or printed (at least 200 ppi). The
# <img> is sized to the figure's inches (a CSS pixel is 1/96 inch), and the PDF reads the PNG at
# this resolution (the page template's image-resolution)
DPI = 200
CSS_PX_PER_INCH = 96

# the house style, applied while a chart is made and drawn (never at import, so that importing
# the library changes nothing in a researcher's own plots)
_STYLE_SHEET = "afcharts.afcharts"
_STYLE: dict[str, Any] = {
    "font.size": 11,
    "axes.titlesize": 12,
    "svg.fonttype": "path",  # text as outlines: the shipped font's shapes, on any machine
    "svg.hashsalt": "london-social-integration",  # ids that do not change between builds
    "svg.image_inline": True,
}

P = ParamSpec("P")
R = TypeVar("R")


@contextlib.contextmanager
def style() -> Iterator[None]:
    """The house style (afcharts with the shipped font) while the block runs, then the
    caller's own settings back."""
    with mpl.style.context([_STYLE_SHEET, _STYLE]):
        fonts.use_in_matplotlib()  # the shipped font files, not the machine's "Arial"
        yield


def use_style() -> None:
    """Apply the house style to every plot from now on: an explicit choice for a researcher
    who wants their own charts to match the reports (the library never calls it)."""
    mpl.style.use(_STYLE_SHEET)
    mpl.rcParams.update(_STYLE)
    fonts.use_in_matplotlib()


def styled(function: Callable[P, R]) -> Callable[P, R]:
    """Make a chart function draw in the house style: text, lines and legends take their
    defaults from the style when they are made, so the whole function runs inside it."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with style():
            return function(*args, **kwargs)

    return wrapper


def subplots(nrows: int = 1, ncols: int = 1, **kwargs: Any) -> tuple[Figure, Any]:
    """A figure and its axes on Matplotlib's Agg canvas, laid out by constrained layout.

    Not through ``pyplot``: no backend is selected (a researcher's notebook keeps its own),
    and no figure is kept open in pyplot's list or shown twice by an inline backend.
    """
    figure = Figure(layout="constrained", figsize=kwargs.pop("figsize", None), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.subplots(nrows, ncols, **kwargs)
    return figure, axes


def print_scale(figure: Figure) -> float:
    """How much the printed page shrinks a figure: 1, or less for one wider or taller than
    the page gives a chart (the page template's ``max-width`` and ``max-height``)."""
    width, height = figure.get_size_inches()
    return float(min(1.0, PRINT_WIDTH_IN / width, PRINT_HEIGHT_IN / height))


def printed_text_sizes(figure: Figure, drawn: bool = False) -> list[tuple[str, float]]:
    """Each visible piece of text in the figure with its size in points once printed.

    Tick labels are made when a figure is drawn, so the figure is drawn first (in the house
    style, as it will be rendered) unless it has just been (``drawn``).
    """
    if not drawn:
        with style():
            figure.draw_without_rendering()
    scale = print_scale(figure)
    return [(t.get_text(), float(t.get_fontsize()) * scale) for t in _drawn_text(figure)]


def _drawn_text(figure: Figure) -> list[Text]:
    """The figure's text that is drawn: visible, not empty, and not a tick label that the
    axis skips (outside its limits, or of an axes turned off), which Matplotlib makes but
    does not draw."""
    skipped: set[int] = set()
    for ax in figure.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            span = (high - low) * 1e-6
            for tick in (*axis.get_major_ticks(), *axis.get_minor_ticks()):
                if not ax.axison or not low - span <= tick.get_loc() <= high + span:
                    skipped.update((id(tick.label1), id(tick.label2)))
    return [
        t
        for t in figure.findobj(Text)
        if isinstance(t, Text) and t.get_visible() and t.get_text().strip() and id(t) not in skipped
    ]


def cut_off(figure: Figure) -> list[str]:
    """The figure's visible text that runs past its edges (an axis title too long for its
    axis, a legend below the figure's foot): drawn, it would be cut off."""
    with style():
        figure.draw_without_rendering()
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    page = figure.bbox
    out = []
    for text in _drawn_text(figure):
        box = text.get_window_extent(renderer)
        if (
            box.x0 < page.x0 - 1
            or box.x1 > page.x1 + 1
            or box.y0 < page.y0 - 1
            or box.y1 > page.y1 + 1
        ):
            out.append(text.get_text())
    return out


def too_small(
    figure: Figure, smallest: float = SMALLEST_PRINTED_PT, drawn: bool = False
) -> list[tuple[str, float]]:
    """The figure's text printed smaller than ``smallest`` points (none, for a house chart)."""
    return [
        (t, round(pt, 2)) for t, pt in printed_text_sizes(figure, drawn) if pt < smallest - 1e-6
    ]


@dataclass
class Chart:
    """A chart ready for a report: figure, message title, alt text and its data table."""

    figure: Figure
    title: str
    alt: str
    table: pd.DataFrame | None  # None when the next chart's table holds the same data
    notes: list[str] = field(default_factory=list)

    def png(self) -> bytes:
        """The chart as an opaque RGB PNG at :data:`DPI` pixels per inch: what the pages show.

        The figure is drawn once (constrained layout needs no second "tight" pass). The alpha
        channel is dropped because the background is opaque white: without it the PDF
        writer has one image to re-encode per chart instead of an image and a mask.
        """
        from PIL import Image

        buf = io.BytesIO()
        with style():
            canvas = FigureCanvasAgg(self.figure)
            canvas.draw()
            Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3]).save(
                buf, format="PNG", compress_level=1
            )
        return buf.getvalue()

    def svg(self) -> bytes:
        """The chart as SVG: vector shapes, text as the shipped font's outlines; the same
        figure gives the same bytes (no date; ids hashed with the style's fixed salt).

        Not what the pages embed: measured on five reports, SVG pages were half the size and
        as quick to make, but WeasyPrint took twice as long to draw their PDFs (10.6 s of CPU
        against 5.5 s), about +35% on a whole build. For a researcher's own documents.
        """
        buf = io.BytesIO()
        with style():
            self.figure.savefig(
                buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None}
            )
        return buf.getvalue()

    def _repr_html_(self) -> str:
        return to_html(self)

    def __repr__(self) -> str:  # the table and figure are shown by _repr_html_, not in plain text
        rows = "no table" if self.table is None else f"{len(self.table)}-row table"
        return f"<Chart: {self.title!r}, {rows}>"


def to_html(chart: Chart) -> str:
    """A ``<figure>`` with alt text and caption (the chart as a 200 ppi PNG), then its table.

    Refuses a chart with text that would print under 9 pt: every chart a report shows passes
    here, so no build can publish one. (Checked after drawing, so it costs no second layout.)
    """
    png = chart.png()
    small = too_small(chart.figure, drawn=True)
    if small:
        raise ValueError(
            f"chart {chart.title!r}: text printed under {SMALLEST_PRINTED_PT:g} pt: {small[:5]}"
        )
    width, height = (round(v * CSS_PX_PER_INCH) for v in chart.figure.get_size_inches())
    data = base64.b64encode(png).decode("ascii")
    plt.close(chart.figure)
    notes = "".join(f"<p class='chart-note'>{html.escape(n)}</p>" for n in chart.notes)
    table = (
        ""
        if chart.table is None
        else tables.to_html(chart.table, caption=f"Data for the chart: {chart.title}")
    )
    return (
        f"<figure class='chart'><figcaption><strong>{html.escape(chart.title)}</strong></figcaption>"
        f"<img src='data:image/png;base64,{data}' width='{width}' height='{height}' alt='{html.escape(chart.alt, quote=True)}'/>{notes}</figure>"
        + table
    )


def show(chart: Chart) -> None:
    """Display a chart and its table in a notebook."""
    from IPython.display import HTML, display

    display(HTML(to_html(chart)))


def _shape(periods: pd.Series, values: np.ndarray, unit: str) -> str:
    """The shape of a series in words: where it starts and ends, and its lowest and highest
    points where those are elsewhere (the alt text's summary; the table holds every point)."""
    shown = [(p, v) for p, v in zip(periods, values) if np.isfinite(v)]
    if not shown:
        return "with no figures available"
    suffix = _unit_suffix(unit)
    (p0, v0), (p1, v1) = shown[0], shown[-1]
    text = f"from {tables.fmt(v0)}{suffix} in {p0} to {tables.fmt(v1)}{suffix} in {p1}"
    low, high = min(shown, key=lambda pv: pv[1]), max(shown, key=lambda pv: pv[1])
    inner = [
        f"{word} {tables.fmt(v)}{suffix} in {p}"
        for word, (p, v) in (("lowest", low), ("highest", high))
        if p not in (p0, p1)
    ]
    return text + (f" ({', '.join(inner)})" if inner else "")


def _unit_suffix(unit: str) -> str:
    return "%" if unit == "%" else (" pp" if unit == "percentage points" else "")


def _errorbars(ax, y, values, lower, upper, horizontal: bool, color: str) -> None:
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


def _hbars(
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


def _row_labels(ax, y: np.ndarray, labels: list[str], *, fontsize: float) -> list:
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


def _verdict_points(
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
    alt = f"Line chart of {label.lower()} with its 95% confidence interval as a band, {_shape(rows['period'], v, unit)}. {title}"
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
            _wrap(f"{label} ({_unit_suffix(unit).strip() or unit})", 30),
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


@styled
def dots(rows: pd.DataFrame, *, title: str, unit: str, label_column: str = "group") -> Chart:
    """Latest values of several indicators with their intervals (no comparison implied)."""
    rows = rows.reset_index(drop=True)
    fig, ax = subplots(figsize=(WIDTH_IN, 0.45 * len(rows) + 1.0))
    y = np.arange(len(rows))[::-1]
    v, lo, hi = (rows[c].to_numpy(dtype=float) for c in ("value", "lower_ci", "upper_ci"))
    _errorbars(ax, y, v, lo, hi, True, DARK_GREY)
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
        f"{rows[label_column].iloc[shown[0]]} ({tables.fmt(v[shown[0]])}{_unit_suffix(unit)}) highest "
        f"to {rows[label_column].iloc[shown[-1]]} ({tables.fmt(v[shown[-1]])}{_unit_suffix(unit)}) lowest."
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
        _errorbars(ax, y, v, lo, hi, True, DARK_GREY)
        handles.update(
            _verdict_points(
                ax, v, y, every["compared_to_london"], polarity, 45, population_group=True
            )
        )
        if np.isfinite(london):
            handles["london"] = ax.axvline(
                london,
                color=ORANGE,
                linestyle="--",
                linewidth=1.5,
                label=f"London {tables.fmt(london)}{_unit_suffix(unit)}",
            )
        for r in rules_at[:-1]:
            ax.axhline(r, color="0.75", linewidth=0.8)
        heading_at = set(headings)
        row_labels = _row_labels(ax, np.array(positions), labels, fontsize=SMALL_PT)
        for pos, label in zip(positions, row_labels):
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
        f"Dot charts of {len(blocks)} breakdowns against London ({tables.fmt(london)}{_unit_suffix(unit)}). "
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
    _errorbars(ax, y, v, lo, hi, True, MARK_GREY)
    _verdict_points(ax, v, y, rows["compared_to_london"], polarity, 40)
    ax.axvline(
        london,
        color=ORANGE,
        linestyle="--",
        linewidth=1.5,
        label=f"London {tables.fmt(london)}{_unit_suffix(unit)}",
    )
    _row_labels(
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
        f"({tables.fmt(shown['value'].iloc[-1])}{_unit_suffix(unit)}) to {shown['area_name'].iloc[0]} "
        f"({tables.fmt(shown['value'].iloc[0])}{_unit_suffix(unit)}); London {tables.fmt(london)}{_unit_suffix(unit)}."
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


def _area_path(geometry) -> Path:
    """One compound path for a polygon or multipolygon (holes included) in map units."""
    from shapely.geometry.polygon import orient

    # holes must wind against their outer ring to stay unfilled; shapefiles guarantee that,
    # other sources may not
    parts = [orient(poly, sign=1.0) for poly in getattr(geometry, "geoms", [geometry])]
    rings = [
        Path(np.asarray(ring.coords)[:, :2], closed=True)
        for poly in parts
        for ring in (poly.exterior, *poly.interiors)
    ]
    return Path.make_compound_path(*rings)


def draw_areas(ax, geometries, **style) -> None:
    """Fill polygons as one collection.

    geopandas' ``plot`` also calls ``plt.draw()``, a full extra rendering of the figure per
    layer; a plain collection draws once, when the chart is saved.
    """
    from matplotlib.collections import PathCollection

    paths = [_area_path(g) for g in geometries if g is not None and not g.is_empty]
    if not paths:
        return
    ax.add_collection(PathCollection(paths, **style), autolim=True)
    ax.autoscale_view()


def shade_areas(
    ax,
    geometries,
    values: np.ndarray,
    unit_suffix: str = "",
    *,
    k: int = 5,
    missing_label: str = "Not available",
    palette: list[str] | None = None,
) -> list[tuple[str, str]]:
    """Fill areas in up to ``k`` Fisher-Jenks classes (``mapclassify``) of a sequential
    palette (``palette``, five colours darkest first; the Analysis Function's blue by
    default), hatched grey where the value is missing; returns the legend (colour, label)."""
    import mapclassify

    values = np.asarray(values, dtype=float)
    ok = ~np.isnan(values)
    classes = min(k, max(1, len(np.unique(values[ok]))))
    if palette is not None:  # as many steps as classes, spread over the ramp
        picks = np.round(np.linspace(len(palette) - 1, 0, max(classes, 1))).astype(int)
        colours = [palette[i] for i in picks]
    elif classes == 5:
        colours = SEQUENTIAL[::-1][:5]
    else:
        colours = get_af_colours("sequential", number_of_colours=max(3, classes))[::-1]
    legend = []
    if ok.sum() >= 2:
        with (
            warnings.catch_warnings()
        ):  # without numba it warns that it is slow; for 33 values it is not
            warnings.filterwarnings("ignore", message="Numba not installed")
            scheme = mapclassify.FisherJenks(values[ok], k=classes)
        bins = scheme.bins
        cls = np.full(len(values), -1)
        cls[ok] = scheme.yb
        for c in range(len(bins)):
            colour = colours[c % len(colours)]
            # grey outlines (4.5:1 on white) show every area, also those whose fill is light
            draw_areas(
                ax, geometries[cls == c], facecolor=colour, edgecolor=MARK_GREY, linewidth=0.5
            )
            # a class runs from its smallest value to its upper break: classes never share an end
            members = values[cls == c]
            low = (
                members.min()
                if members.size
                else (np.nanmin(values[ok]) if c == 0 else bins[c - 1])
            )
            legend.append((colour, f"{tables.fmt(low)} to {tables.fmt(bins[c])}{unit_suffix}"))
    if (~ok).any():
        draw_areas(
            ax,
            geometries[~ok],
            facecolor="#F2F2F2",
            edgecolor=MARK_GREY,
            linewidth=0.5,
            hatch="///",
        )
        legend.append(("#F2F2F2", missing_label))
    return legend


@styled
def choropleth(
    rows: pd.DataFrame, shapes, *, title: str, unit: str, k: int = 5, highlight: str | None = None
) -> Chart:
    """Borough map classed with ``mapclassify`` (Fisher-Jenks natural breaks), grey where not shown."""
    data = shapes.merge(
        rows[["area_code", "value", "flag"]], left_on="code", right_on="area_code", how="left"
    )
    fig, ax = subplots(figsize=(WIDTH_IN, 5.6))
    legend = shade_areas(
        ax,
        data.geometry,
        data["value"].to_numpy(dtype=float),
        _unit_suffix(unit),
        k=k,
        missing_label="Not available or suppressed",
    )
    if highlight is not None:
        draw_areas(
            ax,
            data.geometry[data["code"] == highlight],
            facecolor="none",
            edgecolor=ORANGE,
            linewidth=2.5,
        )
    from matplotlib.patches import Patch

    ax.legend(
        handles=[Patch(facecolor=c, edgecolor=MARK_GREY, label=lab) for c, lab in legend],
        loc="lower left",
        bbox_to_anchor=(1.0, 0.0),
        frameon=False,
        fontsize=SMALL_PT,
    )
    ax.set_axis_off()
    ax.set_aspect("equal") if shapes.crs and shapes.crs.is_projected else ax.set_aspect(1.6)
    order = rows.dropna(subset=["value"]).sort_values("value", ascending=False)
    alt = (
        (
            f"Map of London's boroughs shaded in {len(legend)} classes. Highest: "
            + ", ".join(
                f"{n} {tables.fmt(v)}{_unit_suffix(unit)}"
                for n, v in zip(order["area_name"][:3], order["value"][:3])
            )
            + ". Lowest: "
            + ", ".join(
                f"{n} {tables.fmt(v)}{_unit_suffix(unit)}"
                for n, v in zip(order["area_name"][-3:], order["value"][-3:])
            )
            + ". The table below lists every borough."
        )
        if len(order)
        else "Map with no borough figures available."
    )
    table = tables.estimate_table(rows.sort_values("area_name"), ["area_name"])
    return Chart(fig, title, alt, table, notes=["Classes: natural breaks (Fisher-Jenks)."])


@styled
def locator(shapes, code: str, name: str) -> Chart:
    """A small map of London with one borough highlighted."""
    fig, ax = subplots(figsize=(4.2, 3.2))
    draw_areas(ax, shapes.geometry, facecolor="#F2F2F2", edgecolor="#BFBFBF", linewidth=0.5)
    draw_areas(
        ax, shapes.geometry[shapes["code"] == code], facecolor=DARK_BLUE, edgecolor=DARK_BLUE
    )
    ax.set_axis_off()
    ax.set_aspect("equal") if shapes.crs and shapes.crs.is_projected else ax.set_aspect(1.6)
    row = shapes[shapes["code"] == code].iloc[0]
    table = pd.DataFrame(
        {"Borough": [name], "GSS code": [code], "Inner or Outer London": [row["inner_outer"]]}
    )
    return Chart(
        fig,
        f"Where {name} is in London",
        f"Map of London with {name} highlighted ({row['inner_outer']} London).",
        table,
    )


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
    _hbars(ax, y, 0.0, np.ones(n), color="#E6E6E6")
    _hbars(ax, y, q_lo, q_hi - q_lo, color=BAND_GREY)
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
    _row_labels(
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
