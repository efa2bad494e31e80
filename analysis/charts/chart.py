"""A chart ready for a report (:class:`Chart`), and its HTML: the figure as a PNG with alt
text and caption, then the table of exactly what is plotted.

Why every chart carries its table and alt text: a reader who cannot see the figure, or who
wants the numbers, gets the same content in words and in a table.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from analysis import tables
from analysis.charts.house_style import CSS_PX_PER_INCH, SMALLEST_PRINTED_PT, style
from analysis.charts.png import encode_rgb
from analysis.charts.printing import too_small


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
        writer has one image to re-encode per chart instead of an image and a mask. The file
        is written by :func:`analysis.charts.png.encode_rgb` (unfiltered rows, quicker than
        Pillow for flat-colour charts).
        """
        with style():
            canvas = FigureCanvasAgg(self.figure)
            canvas.draw()
            return encode_rgb(np.asarray(canvas.buffer_rgba()))

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
