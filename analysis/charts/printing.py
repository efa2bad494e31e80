"""Checks on how a chart prints: the size of its text once printed and text cut off at its
edges.

Why: the reports promise no chart text under 9 pt on paper (the Analysis Function's and RNIB's
floor); a figure wider or taller than the page is scaled down when printed, so the check works
on printed sizes, not on the sizes the figure was drawn with.
"""

from __future__ import annotations

from matplotlib.artist import Artist
from matplotlib.axis import Axis
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
    """The figure's text that is drawn: visible, not empty, and not text of an axis that is not
    drawn (an axes turned off) or a tick label the axis skips (outside its limits), which
    Matplotlib makes but does not draw.

    Walks the figure's artists itself rather than with ``findobj``: that would make every tick
    of an axes turned off (a map's), a few milliseconds each, only to leave them out.
    """
    found: list[Text] = []

    def visit(artist: Artist) -> None:
        if isinstance(artist, Axis):
            if artist.axes.axison:
                found.extend(_axis_text(artist))
            return
        if isinstance(artist, Text):
            found.append(artist)
        for child in artist.get_children():
            visit(child)

    visit(figure)
    return [t for t in found if t.get_visible() and t.get_text().strip()]


def _axis_text(axis: Axis) -> list[Text]:
    """An axis's label, its offset text and the labels of the ticks it draws (within its
    limits)."""
    low, high = sorted(axis.get_view_interval())
    span = (high - low) * 1e-6
    texts = [axis.label, axis.offsetText]
    for tick in (*axis.get_major_ticks(), *axis.get_minor_ticks()):
        if low - span <= tick.get_loc() <= high + span:
            texts.extend((tick.label1, tick.label2))
    return texts


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
