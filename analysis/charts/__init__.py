"""Charts in the Analysis Function house style, each with the data table behind it.

Every chart function returns a :class:`Chart`: the matplotlib figure, a message title written
from the numbers, alternative text, and the table of exactly what is plotted. ``show`` puts
the figure and its table into a notebook (and so into the HTML and PDF reports). Colours come
from the Analysis Function palettes (``afcharts``); significance is also shown by marker shape,
so no chart depends on colour alone.

One module per concern; every public name is available here, as ``charts.X``:

* :mod:`~analysis.charts.palette`: the house colours and the verdict markers;
* :mod:`~analysis.charts.house_style`: the style while a chart is drawn, printed sizes, figures;
* :mod:`~analysis.charts.printing`: checks on printed text size and text cut off at the edges;
* :mod:`~analysis.charts.chart`: :class:`Chart` and its HTML (PNG, alt text, caption, table);
* :mod:`~analysis.charts.alt_text`: the words alt texts share;
* :mod:`~analysis.charts.axes`: drawing helpers of the row charts;
* :mod:`~analysis.charts.trend_lines`: a series over time, and small multiples of many;
* :mod:`~analysis.charts.intervals`: dot charts with intervals (indicators, groups, boroughs);
* :mod:`~analysis.charts.maps`: the choropleth and the locator map;
* :mod:`~analysis.charts.spine_chart`: the spine chart of an area's indicators.
"""

from __future__ import annotations

from analysis.charts.chart import Chart, show, to_html
from analysis.charts.house_style import (
    CSS_PX_PER_INCH,
    DPI,
    PRINT_HEIGHT_IN,
    PRINT_WIDTH_IN,
    SMALL_PT,
    SMALLEST_PRINTED_PT,
    WIDTH_IN,
    WITH_TEXT_HEIGHT_IN,
    style,
    styled,
    subplots,
    use_style,
)
from analysis.charts.intervals import (
    GROUP_BLOCK_IN,
    GROUP_ROW_IN,
    dots,
    group_panels,
    ranked_boroughs,
)
from analysis.charts.maps import choropleth, draw_areas, locator, shade_areas
from analysis.charts.palette import (
    BAND_GREY,
    CATEGORICAL,
    DARK_BLUE,
    DARK_GREY,
    DARK_PINK,
    INTERVAL_EDGE,
    LIGHT_PURPLE,
    MARK_GREY,
    MID_GREY,
    ORANGE,
    SEQUENTIAL,
    SEQUENTIAL_SECOND,
    TURQUOISE,
    VERDICT_STYLE,
)
from analysis.charts.printing import cut_off, print_scale, printed_text_sizes, too_small
from analysis.charts.spine_chart import mark_rows, spine
from analysis.charts.trend_lines import (
    PANEL_COLUMNS,
    PANEL_ROWS_PER_CHART,
    PANELS_FROM,
    trend,
    trend_panels,
    trends,
)
from analysis.compare import verdict_against_london  # charts mark points by it

__all__ = [
    "BAND_GREY",
    "CATEGORICAL",
    "CSS_PX_PER_INCH",
    "Chart",
    "DARK_BLUE",
    "DARK_GREY",
    "DARK_PINK",
    "DPI",
    "GROUP_BLOCK_IN",
    "GROUP_ROW_IN",
    "INTERVAL_EDGE",
    "LIGHT_PURPLE",
    "MARK_GREY",
    "MID_GREY",
    "ORANGE",
    "PANELS_FROM",
    "PANEL_COLUMNS",
    "PANEL_ROWS_PER_CHART",
    "PRINT_HEIGHT_IN",
    "PRINT_WIDTH_IN",
    "SEQUENTIAL",
    "SEQUENTIAL_SECOND",
    "SMALLEST_PRINTED_PT",
    "SMALL_PT",
    "TURQUOISE",
    "VERDICT_STYLE",
    "WIDTH_IN",
    "WITH_TEXT_HEIGHT_IN",
    "choropleth",
    "cut_off",
    "dots",
    "draw_areas",
    "group_panels",
    "locator",
    "mark_rows",
    "print_scale",
    "printed_text_sizes",
    "ranked_boroughs",
    "shade_areas",
    "show",
    "spine",
    "style",
    "styled",
    "subplots",
    "to_html",
    "too_small",
    "trend",
    "trend_panels",
    "trends",
    "use_style",
    "verdict_against_london",
]
