"""The house style while a chart is drawn, and the sizes every chart is made to.

Why a context and a decorator rather than setting Matplotlib's defaults at import: importing
the library must change nothing in a researcher's own plots, so the style (afcharts with the
shipped font) is applied only while a chart is made and drawn. The sizes are those of the
printed page, so that no chart text is printed under 9 pt.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any, ParamSpec, TypeVar

import matplotlib as mpl
import matplotlib.style
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from analysis import fonts

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
