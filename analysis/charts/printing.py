"""Checks on how a chart prints: the size of its text once printed and text cut off at its
edges.

Why: the reports promise no chart text under 9 pt on paper (the Analysis Function's and RNIB's
floor); a figure wider or taller than the page is scaled down when printed, so the check works
on printed sizes, not on the sizes the figure was drawn with.
"""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.text import Text

from analysis.charts.house_style import (
    PRINT_HEIGHT_IN,
    PRINT_WIDTH_IN,
    SMALLEST_PRINTED_PT,
    style,
)


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
