"""Charts of electoral registration against population churn: the two maps side by side
(each its own classes, colours and legend), the scatter with every borough named clear of the
markers and lines, the influence chart and the map of residuals."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.transforms import Bbox

from analysis import charts, tables
from analysis.thematic.registration_churn import CITY, X_LABEL, Y_LABEL, Regression


def _aspect(ax, shapes) -> None:
    ax.set_aspect("equal") if shapes.crs and shapes.crs.is_projected else ax.set_aspect(1.6)


def _shade(
    ax, shapes, values: pd.Series, unit_suffix: str, k: int = 5, palette: list[str] | None = None
) -> list[tuple[str, str]]:
    """Fisher-Jenks classes of ``values`` (indexed by GSS code) on ``ax``; returns legend entries."""
    legend = charts.shade_areas(
        ax,
        shapes.geometry,
        shapes["code"].map(values).to_numpy(dtype=float),
        unit_suffix,
        k=k,
        palette=palette,
    )
    ax.set_axis_off()
    _aspect(ax, shapes)
    return legend


def _legend(ax, entries, title: str) -> None:
    from matplotlib.patches import Patch

    ax.legend(
        handles=[Patch(facecolor=c, edgecolor=charts.MARK_GREY, label=lab) for c, lab in entries],
        title=title,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        frameon=False,
        fontsize=charts.SMALL_PT,
        title_fontsize=charts.SMALL_PT,
        ncol=1,
    )


@charts.styled
def paired_maps(pair: pd.DataFrame, shapes, *, period: str, title: str) -> charts.Chart:
    """Registration and churn maps side by side, each in its own natural-breaks classes, its
    own colour ramp (blue, then plum) and its own legend: two variables, never one scale."""

    fig, axes = charts.subplots(1, 2, figsize=(charts.WIDTH_IN, 4.9))
    reg = pair.set_index("area_code")["registration"]
    churn = pair.set_index("area_code")["churn"]
    _legend(axes[0], _shade(axes[0], shapes, reg, "%"), "Registration (%)")
    axes[0].set_title(f"Electoral registration, {period}", fontsize=10)
    _legend(
        axes[1],
        _shade(axes[1], shapes, churn, "", palette=charts.SEQUENTIAL_SECOND),
        "Churn (moves per 100 residents)",
    )
    axes[1].set_title(f"Population churn, {period}", fontsize=10)
    lo_reg = pair.nsmallest(3, "registration")
    hi_churn = pair.nlargest(3, "churn")
    alt = (
        "Two maps of London's 33 local authorities side by side, each shaded darker for higher values on its own "
        "scale (blue for registration, plum for churn). Left, electoral "
        "registration: lowest in "
        + ", ".join(f"{n} ({v:.1f}%)" for n, v in zip(lo_reg.area_name, lo_reg.registration))
        + ". Right, population churn: highest in "
        + ", ".join(f"{n} ({v:.1f})" for n, v in zip(hi_churn.area_name, hi_churn.churn))
        + ". The table below lists every borough."
    )
    table = (
        pd.DataFrame(
            {
                "Area": pair["area_name"],
                "Inner or Outer": pair["inner_outer"],
                "Registration (%)": [
                    tables.fmt_value(v, f)
                    for v, f in zip(pair.registration, pair.registration_flag)
                ],
                "Registration 95% CI": [
                    f"{tables.fmt(a)} to {tables.fmt(b)}"
                    for a, b in zip(pair.registration_lower, pair.registration_upper)
                ],
                "Churn (per 100)": [
                    tables.fmt_value(v, f) for v, f in zip(pair.churn, pair.churn_flag)
                ],
                "Churn 95% CI": [
                    f"{tables.fmt(a)} to {tables.fmt(b)}"
                    for a, b in zip(pair.churn_lower, pair.churn_upper)
                ],
            }
        )
        .sort_values("Area")
        .reset_index(drop=True)
    )
    return charts.Chart(
        fig,
        title,
        alt,
        table,
        notes=["Classes: natural breaks (Fisher-Jenks), set separately for each map."],
    )


def _obstacles(ax, renderer) -> tuple[list, np.ndarray]:
    """What a label must not cover, in display units: a box round every marker (its own size)
    and points along every line drawn in the axes (fitted lines, band edges), closely spaced."""
    from matplotlib.collections import PathCollection
    from matplotlib.transforms import Bbox

    boxes = []
    for collection in ax.collections:
        if not isinstance(collection, PathCollection):
            continue
        sizes = collection.get_sizes()
        for k, (px, py) in enumerate(
            collection.get_offset_transform().transform(collection.get_offsets())
        ):
            # a marker of area s points² spans about sqrt(s) points
            half = np.sqrt(sizes[k % len(sizes)]) / 2 * ax.figure.dpi / 72 + 1
            boxes.append(Bbox([[px - half, py - half], [px + half, py + half]]))
    points = []
    for line in ax.get_lines():
        xy = line.get_xydata()
        if len(xy) < 2 or not line.get_visible():
            continue
        xs = np.asarray(xy[:, 0], dtype=float)
        dense = np.linspace(xs.min(), xs.max(), 600)
        ys = np.interp(dense, xs, np.asarray(xy[:, 1], dtype=float))
        points.append(line.get_transform().transform(np.c_[dense, ys]))
    return boxes, (np.vstack(points) if points else np.empty((0, 2)))


def _place_labels(ax, xs, ys, names, fontsize: float = charts.SMALL_PT) -> list:
    """Label every point without covering another label, any marker or any line drawn in the
    axes (greedy search over positions round each point, the most crowded points first);
    labels set away from their point get a leader line. Returns the labels."""
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    taken, line_points = _obstacles(ax, renderer)
    # beside the point first, then further out in every direction (points of offset)
    offsets = [(5, 2), (5, -10), (-5, 2), (-5, -10), (6, 10), (-6, 10), (6, -18), (-6, -18)]
    offsets += [
        (round(r * np.cos(a)) or 1, round(r * np.sin(a)) - 4)
        for r in (16, 26, 38, 52, 68, 86, 110)
        for a in np.linspace(0, 2 * np.pi, 24, endpoint=False)
    ]
    style = dict(textcoords="offset points", fontsize=fontsize, va="bottom", color=charts.DARK_GREY)

    def clashes(box) -> int:
        inside = (
            frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
        )
        on_line = bool(
            len(line_points)
            and (
                (line_points[:, 0] >= box.x0)
                & (line_points[:, 0] <= box.x1)
                & (line_points[:, 1] >= box.y0)
                & (line_points[:, 1] <= box.y1)
            ).any()
        )
        return (not inside) * 100 + on_line * 10 + sum(box.overlaps(b) for b in taken)

    made = []
    points_px = fig.dpi / 72  # offset points to display pixels
    for i in np.argsort(-np.asarray(ys)):
        # the label's size is the same wherever it goes: measured once, then each candidate
        # box is the anchor moved by the offset (as the annotation would place it)
        probe = ax.annotate(names[i], (xs[i], ys[i]), xytext=(5, 2), ha="left", **style)
        size = probe.get_window_extent(renderer)
        probe.remove()
        x, y = ax.transData.transform((xs[i], ys[i]))
        best = None
        for dx, dy in offsets:
            left = x + dx * points_px - (size.width if dx < 0 else 0)
            bottom = y + dy * points_px
            box = Bbox.from_bounds(left, bottom, size.width, size.height).expanded(1.04, 1.1)
            score = clashes(box)
            if best is None or score < best[0]:
                best = (score, dx, dy, box)
            if score == 0:
                break
        assert best is not None
        _, dx, dy, box = best
        far = abs(dx) > 8 or abs(dy) > 12
        t = ax.annotate(
            names[i],
            (xs[i], ys[i]),
            xytext=(dx, dy),
            ha="left" if dx > 0 else "right",
            arrowprops=dict(arrowstyle="-", color=charts.MARK_GREY, lw=0.6, shrinkA=0, shrinkB=4)
            if far
            else None,
            **style,
        )
        taken.append(box)
        made.append(t)
    return made


@charts.styled
def scatter(
    reg: Regression,
    *,
    period: str,
    title: str,
    aggregates: pd.DataFrame | None = None,
    y_label: str = Y_LABEL,
) -> charts.Chart:
    """The 33 boroughs: churn against registration, Inner/Outer marked, all labelled, OLS line
    with its 95% band (HC3) and the Huber line."""

    d = reg.frame
    fig, ax = charts.subplots(figsize=(charts.WIDTH_IN, 8.4))
    styles = {
        "Inner": (charts.DARK_BLUE, "o", "Inner London"),
        "Outer": (charts.ORANGE, "^", "Outer London"),
    }
    for key, (colour, marker, label) in styles.items():
        s = d[d.inner_outer == key]
        if "churn_lower" in s and "registration_lower" in s:  # each borough's own 95% intervals
            ax.errorbar(
                s.churn,
                s.registration,
                xerr=[s.churn - s.churn_lower, s.churn_upper - s.churn],
                yerr=[s.registration - s.registration_lower, s.registration_upper - s.registration],
                fmt="none",
                ecolor=charts.MARK_GREY,  # a borough's interval is data: 4.5:1 on white
                elinewidth=0.6,
                capsize=0,
                zorder=1,
            )
        ax.scatter(
            s.churn,
            s.registration,
            color=colour,
            marker=marker,
            s=40,
            zorder=3,
            label=label,
            edgecolor="white",
            linewidth=0.5,
        )
    city = d[d.area_code == CITY]
    if len(city):
        ax.scatter(
            city.churn,
            city.registration,
            facecolor="none",
            edgecolor=charts.DARK_PINK,
            s=150,
            linewidth=1.8,
            zorder=4,
            label="City of London",
        )
    grid = np.linspace(d.churn.min() - 0.3, d.churn.max() + 0.3, 100)
    pred = reg.hc3.get_prediction(pd.DataFrame({"churn": grid})).summary_frame(alpha=0.05)
    ax.fill_between(
        grid,
        pred["mean_ci_lower"],
        pred["mean_ci_upper"],
        color=charts.SEQUENTIAL[4],
        alpha=0.6,
        linewidth=0,
        label="95% confidence band (HC3)",
    )
    for limit in ("mean_ci_lower", "mean_ci_upper"):  # the band's edges, 3:1 where its fill is not
        ax.plot(grid, pred[limit], color=charts.INTERVAL_EDGE, linewidth=0.6)
    m, huber = reg.main, reg.fit("Huber")
    ax.plot(
        grid,
        pred["mean"],
        color=charts.DARK_BLUE,
        linewidth=1.8,
        label=f"Least squares: {m.slope:+.2f} per point",
    )
    ax.plot(
        grid,
        huber.intercept + huber.slope * grid,
        color=charts.TURQUOISE,
        linestyle="--",
        linewidth=1.5,
        label=f"Huber robust: {huber.slope:+.2f} per point",
    )
    no_city = reg.without_city
    if no_city is not None:
        ax.plot(
            grid,
            no_city.intercept + no_city.slope * grid,
            color=charts.DARK_PINK,
            linestyle=":",
            linewidth=1.6,
            label=f"Least squares without the City: {no_city.slope:+.2f}",
        )
    ax.set_xlabel(X_LABEL)
    ax.set_ylabel(y_label)
    ax.grid(color="0.9")
    ax.legend(loc="upper left", bbox_to_anchor=(0, -0.1), ncol=1, fontsize=charts.SMALL_PT)
    fig.canvas.draw()  # settle the constrained layout, then freeze it so label positions stay true
    fig.set_layout_engine("none")
    _place_labels(ax, d.churn.to_numpy(), d.registration.to_numpy(), d.area_name.tolist())
    far = d.nlargest(3, "churn")
    # Inner and Outer London as a whole (the aggregates of the measure pages), one definition
    io = aggregates if aggregates is not None else pd.DataFrame()
    alt = (
        f"Scatter plot of {len(d)} local authorities, population churn across and registration up, Inner London as "
        f"circles and Outer London as triangles, each named. The least squares line has a slope of {m.slope:+.2f} "
        f"points per point of churn. Inner London as a whole: {io.loc['Inner', 'churn']:.1f} churn and "
        f"{io.loc['Inner', 'registration']:.1f}% registration; Outer London {io.loc['Outer', 'churn']:.1f} and "
        f"{io.loc['Outer', 'registration']:.1f}%. Highest churn: "
        + ", ".join(
            f"{n} ({c:.1f}, {r:.1f}%)"
            for n, c, r in zip(far.area_name, far.churn, far.registration)
        )
        + "."
        if {"Inner", "Outer"} <= set(io.index) and io.notna().all().all()
        else f"Scatter plot of {len(d)} local authorities, churn across and registration up; least squares slope {m.slope:+.2f}."
    )
    table = (
        pd.DataFrame(
            {
                "Area": d.area_name,
                "Inner or Outer": d.inner_outer,
                "Churn (per 100)": d.churn.map(tables.fmt),
                "Registration (%)": d.registration.map(tables.fmt),
                "Fitted registration (%)": d.fitted.map(tables.fmt),
                "Residual (points)": d.residual.map(lambda v: f"{v:+.1f}"),
            }
        )
        .sort_values("Area")
        .reset_index(drop=True)
    )
    return charts.Chart(fig, title, alt, table)


@charts.styled
def influence_chart(reg: Regression, *, title: str) -> charts.Chart:
    """Leverage against studentised residual, marker area by Cook's distance, guides marked."""

    d = reg.frame
    fig, ax = charts.subplots(figsize=(charts.WIDTH_IN, 4.8))
    size = 30 + 900 * d.cooks_d / max(d.cooks_d.max(), 1e-9)
    flagged = (
        (d.cooks_d > reg.cooks_guide)
        | (d.leverage > reg.leverage_guide)
        | (d.student_resid.abs() > 2)
    )
    ax.scatter(
        d.leverage[~flagged],
        d.student_resid[~flagged],
        s=size[~flagged],
        color=charts.DARK_BLUE,
        alpha=0.6,
        edgecolor="white",
    )
    ax.scatter(
        d.leverage[flagged],
        d.student_resid[flagged],
        s=size[flagged],
        color=charts.DARK_PINK,
        marker="D",
        alpha=0.8,
        edgecolor="white",
    )
    ax.axvline(reg.leverage_guide, color=charts.ORANGE, linestyle="--", linewidth=1.2)
    for yv in (-2, 2):
        ax.axhline(yv, color=charts.DARK_GREY, linestyle=":", linewidth=1)
    ax.axhline(0, color="black", linewidth=0.8)
    named = d[flagged | (d.area_code == CITY)]
    for _, r in named.iterrows():
        ax.annotate(
            f"{r.area_name} (D = {r.cooks_d:.2f})",
            (r.leverage, r.student_resid),
            xytext=(6, 4),
            textcoords="offset points",
            fontsize=charts.SMALL_PT,
        )
    ax.set_xlabel("Leverage (hat value)")
    ax.set_ylabel("Studentised residual")
    ax.grid(color="0.9")
    low, high = d.student_resid.min(), d.student_resid.max()
    ax.set_ylim(min(-2.5, low - 0.6), max(2.5, high + 0.6))
    ax.set_xlim(0, max(d.leverage.max(), reg.leverage_guide) * 1.3)
    from matplotlib.lines import Line2D

    handles = [
        Line2D(
            [],
            [],
            linestyle="",
            marker="o",
            color=charts.DARK_BLUE,
            alpha=0.6,
            markersize=7,
            label="Borough within the guides",
        ),
        Line2D(
            [],
            [],
            linestyle="",
            marker="D",
            color=charts.DARK_PINK,
            markersize=7,
            label="Beyond a guide (named)",
        ),
        Line2D(
            [],
            [],
            color=charts.ORANGE,
            linestyle="--",
            label=f"Leverage guide 2p/n = {reg.leverage_guide:.2f}",
        ),
        Line2D(
            [],
            [],
            color=charts.DARK_GREY,
            linestyle=":",
            label="Studentised residual of plus or minus 2",
        ),
    ]
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0, -0.14),
        ncol=2,
        fontsize=charts.SMALL_PT,
        title="Marker area shows Cook's distance",
        title_fontsize=charts.SMALL_PT,
    )
    alt = (
        f"Scatter of leverage against studentised residual for {len(d)} boroughs, marker size by Cook's distance. "
        + (
            "Beyond a guide: "
            + "; ".join(
                f"{r.area_name} leverage {r.leverage:.2f}, residual {r.student_resid:+.1f}, "
                f"Cook's distance {r.cooks_d:.2f}"
                for _, r in d[flagged].iterrows()
            )
            if flagged.any()
            else "No borough is beyond the guides."
        )
        + "."
    )
    table = (
        pd.DataFrame(
            {
                "Area": d.area_name,
                "Leverage": d.leverage.map(lambda v: f"{v:.3f}"),
                "Studentised residual": d.student_resid.map(lambda v: f"{v:+.2f}"),
                "Cook's distance": d.cooks_d.map(lambda v: f"{v:.3f}"),
                "Slope without it minus slope with it": d.slope_change.map(lambda v: f"{v:+.3f}"),
                "Huber weight": d.huber_weight.map(lambda v: f"{v:.2f}"),
                "Beyond a guide": np.where(flagged, "yes", "no"),
            }
        )
        .iloc[np.argsort(-d.cooks_d.to_numpy())]
        .reset_index(drop=True)
    )
    return charts.Chart(
        fig,
        title,
        alt,
        table,
        notes=[
            f"Guides: leverage above 2p/n = {reg.leverage_guide:.2f}, Cook's distance above 4/n = {reg.cooks_guide:.2f}, "
            "studentised residual beyond plus or minus 2."
        ],
    )


@charts.styled
def residual_map(reg: Regression, shapes, *, period: str, title: str) -> charts.Chart:
    """Boroughs shaded by how far registration sits above or below the fitted line."""
    from matplotlib.colors import to_hex, to_rgb
    from matplotlib.patches import Patch

    def light(colour: str) -> str:
        r, g, b = to_rgb(colour)
        return to_hex((0.45 * r + 0.55, 0.45 * g + 0.55, 0.45 * b + 0.55))

    d = reg.frame
    sd = float(np.sqrt(reg.ols.scale))
    bands = [
        (-np.inf, -sd, charts.DARK_PINK, f"More than {sd:.1f} points below the line"),
        (-sd, 0, light(charts.DARK_PINK), f"Up to {sd:.1f} points below"),
        (0, sd, light(charts.DARK_BLUE), f"Up to {sd:.1f} points above"),
        (sd, np.inf, charts.DARK_BLUE, f"More than {sd:.1f} points above"),
    ]
    data = shapes.merge(
        d[["area_code", "residual"]], left_on="code", right_on="area_code", how="left"
    )
    fig, ax = charts.subplots(figsize=(charts.WIDTH_IN, 5.8))
    handles = []
    for lo, hi, colour, label in bands:
        part = data[(data.residual > lo) & (data.residual <= hi)]
        if len(part):
            charts.draw_areas(
                ax, part.geometry, facecolor=colour, edgecolor=charts.MARK_GREY, linewidth=0.5
            )
        handles.append(Patch(facecolor=colour, edgecolor=charts.MARK_GREY, label=label))
    missing = data[data.residual.isna()]
    if len(missing):
        charts.draw_areas(
            ax, missing.geometry, facecolor="#F2F2F2", edgecolor=charts.MARK_GREY, hatch="///"
        )
        handles.append(
            Patch(
                facecolor="#F2F2F2", edgecolor=charts.MARK_GREY, hatch="///", label="Not in the fit"
            )
        )
    extremes = d.reindex(d.residual.abs().sort_values(ascending=False).index[:4])
    points = data.set_index("code").geometry.representative_point()
    x0, y0, x1, y1 = data.total_bounds
    centre = (x0 + x1) / 2
    sides: dict[str, list[pd.Series]] = {"left": [], "right": []}
    for _, r in extremes.iterrows():
        sides["left" if points[r.area_code].x < centre else "right"].append(r)
    for side, items in sides.items():  # labels stacked beside the map, joined to their borough
        items.sort(key=lambda r: -points[r.area_code].y)
        for j, r in enumerate(items):
            pt = points[r.area_code]
            tx = x0 - 0.04 * (x1 - x0) if side == "left" else x1 + 0.04 * (x1 - x0)
            ty = y1 - (j + 0.5) * (y1 - y0) / max(3, len(items) + 1)
            ax.annotate(
                f"{r.area_name}\n{r.residual:+.1f} points",
                (pt.x, pt.y),
                xytext=(tx, ty),
                textcoords="data",
                ha="right" if side == "left" else "left",
                va="center",
                fontsize=charts.SMALL_PT,
                arrowprops=dict(
                    arrowstyle="-", color=charts.DARK_GREY, lw=0.7, shrinkA=2, shrinkB=0
                ),
            )
            ax.plot(pt.x, pt.y, marker="o", color="black", markersize=2.5)
    ax.set_axis_off()
    _aspect(ax, shapes)
    ax.set_xlim(x0 - 0.35 * (x1 - x0), x1 + 0.35 * (x1 - x0))
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        frameon=False,
        fontsize=charts.SMALL_PT,
        ncol=2,
        title="Registration compared with the line fitted on churn",
        title_fontsize=charts.SMALL_PT,
    )
    low, high = d.nsmallest(3, "residual"), d.nlargest(3, "residual")
    alt = (
        f"Map of the boroughs shaded by residual from the least squares line of registration on churn, {period}, in four "
        f"bands split at zero and at the residual standard deviation ({sd:.1f} points). Furthest below: "
        + ", ".join(f"{n} ({v:+.1f})" for n, v in zip(low.area_name, low.residual))
        + ". Furthest above: "
        + ", ".join(f"{n} ({v:+.1f})" for n, v in zip(high.area_name, high.residual))
        + "."
    )
    table = (
        pd.DataFrame(
            {
                "Area": d.area_name,
                "Registration (%)": d.registration.map(tables.fmt),
                "Expected from churn (%)": d.fitted.map(tables.fmt),
                "Residual (points)": d.residual.map(lambda v: f"{v:+.1f}"),
            }
        )
        .iloc[np.argsort(d.residual.to_numpy())]
        .reset_index(drop=True)
    )
    return charts.Chart(
        fig,
        title,
        alt,
        table,
        notes=[
            "Residual: registration minus the value the least squares line predicts from churn."
        ],
    )
