"""Maps of the boroughs: a choropleth in natural-break classes, and a locator map.

Why polygons are drawn as one collection rather than by geopandas' ``plot``: that calls
``plt.draw()``, a full extra rendering of the figure per layer.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from afcharts.af_colours import get_af_colours
from matplotlib.path import Path

from analysis import tables
from analysis.charts.alt_text import unit_suffix
from analysis.charts.chart import Chart
from analysis.charts.house_style import SMALL_PT, WIDTH_IN, styled, subplots
from analysis.charts.palette import DARK_BLUE, MARK_GREY, ORANGE, SEQUENTIAL


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
    rows: pd.DataFrame,
    shapes,
    *,
    title: str,
    unit: str,
    k: int = 5,
    highlight: str | None = None,
    where_listed: str = "The table below lists every borough.",
) -> Chart:
    """Borough map classed with ``mapclassify`` (Fisher-Jenks natural breaks), grey where not shown.

    ``where_listed`` ends the alt text: where the page lists every borough's figure (a page that
    drops the map's own table points to the table that holds the same figures)."""
    data = shapes.merge(
        rows[["area_code", "value", "flag"]], left_on="code", right_on="area_code", how="left"
    )
    fig, ax = subplots(figsize=(WIDTH_IN, 5.6))
    legend = shade_areas(
        ax,
        data.geometry,
        data["value"].to_numpy(dtype=float),
        unit_suffix(unit),
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
                f"{n} {tables.fmt(v)}{unit_suffix(unit)}"
                for n, v in zip(order["area_name"][:3], order["value"][:3])
            )
            + ". Lowest: "
            + ", ".join(
                f"{n} {tables.fmt(v)}{unit_suffix(unit)}"
                for n, v in zip(order["area_name"][-3:], order["value"][-3:])
            )
            + ". "
            + where_listed
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
