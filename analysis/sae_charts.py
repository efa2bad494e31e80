"""Charts of the modelled borough figures: the direct and modelled figures side by side (on
measure pages, :mod:`analysis.sae_page`), every model's residuals and the diagnostics pooled
over the models (on the appendix page, :mod:`analysis.sae_diagnostics_page`), and one model's
four diagnostic panels (for researchers; no page draws them)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import charts, geography, narrative, tables
from analysis.charts.axes import row_labels
from analysis.sae_fit import (
    RESIDUAL_LIMIT,
    ModelFit,
    explained_words,
    model_fit,
    normality_words,
)


@charts.styled
def side_by_side(table: pd.DataFrame, *, title: str, unit: str, london: float) -> charts.Chart:
    """Each borough's direct figure (where published) beside its modelled one, with intervals."""
    t = table.sort_values("eblup").reset_index(drop=True)
    names = t["area_code"].map(geography.names_by_code())
    # 8 inches: with its heading and a few lines before it, it fits a printed page (at 8.8 the
    # page before was left nearly empty)
    fig, ax = charts.subplots(figsize=(7.5, 8.0))
    y = np.arange(len(t))
    direct = t["direct"].to_numpy(dtype=float)
    half = 1.96 * np.sqrt(t["direct_variance"].to_numpy(dtype=float))
    ax.errorbar(
        direct,
        y + 0.18,
        xerr=half,
        fmt="o",
        color=charts.DARK_GREY,
        markersize=4,
        linewidth=1,
        label="Direct survey estimate",
    )
    v = t["eblup"].to_numpy(dtype=float)
    ax.errorbar(
        v,
        y - 0.18,
        xerr=[v - t["lower_ci"], t["upper_ci"] - v],
        fmt="s",
        color=charts.DARK_BLUE,
        markersize=4,
        linewidth=1.2,
        label="Modelled estimate",
    )
    ax.axvline(
        london,
        color=charts.ORANGE,
        linestyle="--",
        linewidth=1.3,
        label=f"London {narrative.unit_text(london, unit)}",
    )
    row_labels(ax, y, list(names), fontsize=charts.SMALL_PT)
    ax.set_xlabel(unit)
    ax.grid(axis="x", color="0.85")
    ax.grid(axis="y", visible=False)
    ax.legend(loc="upper left", bbox_to_anchor=(0, -0.05), ncol=2, fontsize=charts.SMALL_PT)
    published = np.isfinite(direct)
    moved = np.nanmean(np.abs(v - direct)) if published.any() else float("nan")
    narrower = int(((t["upper_ci"] - t["lower_ci"]).to_numpy() < 2 * half)[published].sum())
    alt = (
        f"Dot chart of {len(t)} boroughs, each with its modelled estimate and 95% interval, and its direct survey "
        f"estimate where one is published ({int(published.sum())} boroughs)."
        + (
            f" Where both are shown, the modelled estimate lies on average {tables.fmt(moved)} points from the direct "
            f"one, and its interval is the narrower in {narrower} of {int(published.sum())} boroughs."
            if published.any()
            else ""
        )
        + " The table below lists both."
    )
    out = pd.DataFrame(
        {
            "Area": names,
            "Respondents": t["respondents"].astype(int).map("{:,}".format),
            f"Direct ({unit})": [tables.fmt(d) if pd.notna(d) else "[c]" for d in t["direct"]],
            f"Modelled ({unit})": v.round(1).astype(str),
            "95% CI lower": [tables.fmt(x) for x in t["lower_ci"]],
            "95% CI upper": [tables.fmt(x) for x in t["upper_ci"]],
            "Shrinkage": [tables.fmt(s, 2) for s in t["shrinkage"]],
            "Standardised residual": [
                tables.fmt(r, 2) if pd.notna(r) else ("[c]" if pd.isna(d) else "")
                for r, d in zip(t["standardised_residual"], t["direct"])
            ],
            "Compared with London": t["compared_to_london"].str.replace("_", " "),
        }
    ).iloc[::-1]
    return charts.Chart(
        fig,
        title,
        alt,
        out,
        notes=[
            "Shrinkage: the weight the model puts on the prediction (from the borough's characteristics and its "
            "other waves) rather than its own survey estimate in this wave (0 = survey only, 1 = prediction "
            "only). [c]: too few respondents to publish the direct estimate; the modelled estimate then leaves "
            "that sample out."
        ],
    )


@charts.styled
def diagnostics(table: pd.DataFrame, meta: dict, *, title: str, unit: str = "%") -> charts.Chart:
    """One model's four panels: standardised residuals, their normal plot, shrinkage against
    respondents, and direct against modelled (``unit``: % for a proportion, percentage points
    for a gap). For a researcher looking at one model; the pages show every model's residuals
    and the pooled diagnostics instead (:func:`residuals_by_model`, :func:`pooled`)."""
    from scipy import stats

    t = table[np.isfinite(table["standardised_residual"])].reset_index(drop=True)
    r = t["standardised_residual"].to_numpy(dtype=float)
    fig, axes = charts.subplots(2, 2, figsize=(7.5, 6.6))
    ax = axes[0, 0]
    ax.scatter(t["synthetic_estimate"], r, s=14, color=charts.DARK_BLUE)
    ax.axhline(0, color="0.5", linewidth=0.8)
    for lim in (-1.96, 1.96):
        ax.axhline(lim, color=charts.ORANGE, linestyle="--", linewidth=0.8)
    ax.set_title("Standardised residuals", fontsize=10)
    ax.set_xlabel(f"Prediction from characteristics ({unit})", fontsize=charts.SMALL_PT)
    ax = axes[0, 1]
    theoretical = stats.norm.ppf((np.arange(1, len(r) + 1) - 0.5) / len(r))
    ax.scatter(theoretical, np.sort(r), s=14, color=charts.DARK_BLUE)
    ax.plot([-2.5, 2.5], [-2.5, 2.5], color="0.5", linewidth=0.8)
    ax.set_title("Normal plot of the residuals", fontsize=10)
    ax.set_xlabel("Normal quantile", fontsize=charts.SMALL_PT)
    ax = axes[1, 0]
    ax.scatter(table["respondents"], table["shrinkage"], s=14, color=charts.DARK_BLUE)
    ax.set_title("Shrinkage by respondents", fontsize=10)
    ax.set_xlabel("Respondents", fontsize=charts.SMALL_PT)
    ax.set_ylim(0, 1.02)
    ax = axes[1, 1]
    ax.scatter(table["direct"], table["eblup"], s=14, color=charts.DARK_BLUE)
    both = pd.concat([table["direct"], table["eblup"]]).dropna()
    if len(both):
        ax.plot([both.min(), both.max()], [both.min(), both.max()], color="0.5", linewidth=0.8)
    ax.set_title(f"Direct against modelled ({unit})", fontsize=10)
    ax.set_xlabel("Direct", fontsize=charts.SMALL_PT)
    ax.set_ylabel("Modelled", fontsize=charts.SMALL_PT)
    # the same numbers and words as the pages' fit sentences (analysis.sae_fit)
    fit = model_fit(table, meta, measure_id="", indicator="", label="", unit=unit)
    sized = table[["respondents", "shrinkage"]].dropna()
    rho = stats.spearmanr(sized["respondents"], sized["shrinkage"])
    alt = (
        f"Four diagnostic charts of the model. {fit.beyond} of {fit.boroughs} boroughs have a standardised "
        f"residual beyond plus or minus {RESIDUAL_LIMIT}; {normality_words(fit.shapiro_p)}. Shrinkage ranges "
        f"from {tables.fmt(fit.shrinkage_min, 2)} to {tables.fmt(fit.shrinkage_max, 2)}; "
        f"{shrinkage_words(rho.statistic, rho.pvalue)}. Every borough's values are in the model's table."
    )
    notes = [
        f"Method: {meta['method']}; area-effect variance {meta['area_effect_variance']:.3g} "
        f"(proportion scale); {explained_words(fit)}."
    ]
    return charts.Chart(fig, title, alt, None, notes=notes)


@charts.styled
def residuals_by_model(fits: list[ModelFit], *, table: pd.DataFrame) -> charts.Chart:
    """Each model's standardised residuals on one row, against the +/- 1.96 limits; ``table``
    is the models' table (one row per model, in the same order), the chart's data table."""
    k = len(fits)
    # 0.3 inch a row: with 20 models it still shares its printed page with its heading
    fig, ax = charts.subplots(figsize=(charts.WIDTH_IN, 1.2 + 0.3 * k))
    y = np.arange(k)[::-1].astype(float)
    inside_x, inside_y, out_x, out_y = [], [], [], []
    for row, fit in zip(y, fits):
        r = np.asarray(fit.residuals)
        far = np.abs(r) > RESIDUAL_LIMIT
        inside_x += list(r[~far])
        inside_y += [row] * int((~far).sum())
        out_x += list(r[far])
        out_y += [row] * int(far.sum())
    ax.scatter(inside_x, inside_y, s=14, color=charts.DARK_BLUE, label="Within \u00b11.96")
    if out_x:
        ax.scatter(out_x, out_y, s=30, marker="^", color=charts.ORANGE, label="Beyond \u00b11.96")
    for lim in (-RESIDUAL_LIMIT, RESIDUAL_LIMIT):
        ax.axvline(lim, color=charts.DARK_GREY, linestyle="--", linewidth=0.9)
    ax.axvline(0, color="0.6", linewidth=0.8)
    ax.set_ylim(-0.7, k - 0.3)
    row_labels(ax, y, [f"{f.label}, {f.period}" for f in fits], fontsize=charts.SMALL_PT)
    ax.set_xlabel("Standardised residual")
    ax.grid(axis="y", visible=False)
    ax.legend(loc="upper left", bbox_to_anchor=(0, -0.12), ncol=2, fontsize=charts.SMALL_PT)
    n = sum(f.boroughs for f in fits)
    beyond = sum(f.beyond for f in fits)
    with_some = sum(1 for f in fits if f.beyond)
    title = (
        f"{beyond} of {n} standardised residuals lie beyond \u00b1{RESIDUAL_LIMIT} across the {k} models "
        f"(about {0.05 * n:.0f} would by chance)"
    )
    alt = (
        f"Dot chart of the standardised residuals of {k} small area models, one row per model and one dot "
        f"per borough with a direct figure. {beyond} of {n} lie beyond plus or minus 1.96, in {with_some} "
        "of the models. The table below gives each model's count, smallest and largest residual."
    )
    return charts.Chart(fig, title, alt, table)


@charts.styled
def pooled(fits: list[ModelFit], model_tables: list[pd.DataFrame]) -> charts.Chart:
    """Three panels pooled over the models: the normal plot of every standardised residual,
    shrinkage against respondents, and direct against modelled figures."""
    from scipy import stats

    r = np.sort(np.concatenate([np.asarray(f.residuals) for f in fits]))
    both = pd.concat(model_tables, ignore_index=True)
    fig, axes = charts.subplots(1, 3, figsize=(charts.WIDTH_IN, 3.6))
    ax = axes[0]
    theoretical = stats.norm.ppf((np.arange(1, len(r) + 1) - 0.5) / len(r))
    ax.scatter(theoretical, r, s=8, color=charts.DARK_BLUE)
    ends = [min(theoretical[0], r[0]), max(theoretical[-1], r[-1])]
    ax.plot(ends, ends, color=charts.DARK_GREY, linewidth=0.9)
    ax.set_title("Normal plot of residuals", fontsize=10)
    ax.set_xlabel("Normal quantile", fontsize=charts.SMALL_PT)
    ax = axes[1]
    ax.scatter(both["respondents"], both["shrinkage"], s=8, color=charts.DARK_BLUE)
    ax.set_title("Shrinkage by respondents", fontsize=10)
    ax.set_xlabel("Respondents", fontsize=charts.SMALL_PT)
    ax.set_ylim(0, 1.02)
    ax = axes[2]
    ax.scatter(both["direct"], both["eblup"], s=8, color=charts.DARK_BLUE)
    pair = pd.concat([both["direct"], both["eblup"]]).dropna()
    ax.plot(
        [pair.min(), pair.max()], [pair.min(), pair.max()], color=charts.DARK_GREY, linewidth=0.9
    )
    ax.set_title("Direct against modelled", fontsize=10)
    ax.set_xlabel("Direct", fontsize=charts.SMALL_PT)
    ax.set_ylabel("Modelled", fontsize=charts.SMALL_PT)
    for a in axes:
        a.tick_params(labelsize=charts.SMALL_PT)
    normal = stats.shapiro(r).pvalue if len(r) >= 3 else float("nan")
    sized = both[["respondents", "shrinkage"]].dropna()
    rho = stats.spearmanr(sized["respondents"], sized["shrinkage"])
    title = f"Pooled over the {len(fits)} models: {shrinkage_words(rho.statistic, rho.pvalue)}"
    alt = (
        f"Three scatter plots pooling the {len(fits)} models' {len(r)} boroughs with a direct figure. "
        f"Normal plot: the Shapiro-Wilk test of the pooled residuals gives p = {tables.fmt(normal, 3)}. "
        f"Shrinkage against respondents: Spearman's rank correlation {tables.fmt(rho.statistic, 2)}. "
        f"Direct against modelled: the modelled figures are less spread out than the direct ones in "
        f"{narrower_spread(model_tables)} of the {len(fits)} models. Each model's figures are in its "
        "table on its measure page."
    )
    notes = [
        "The residuals of different models are pooled here; each model's own test is in the table "
        "after the next chart. Direct and modelled figures are in % for proportions and in percentage points for "
        "gaps. Each borough's respondents, shrinkage, residual and figures are in its model's table "
        "on the measure page and in the build's modelled/ data files."
    ]
    return charts.Chart(fig, title, alt, None, notes=notes)


def narrower_spread(model_tables: list[pd.DataFrame]) -> int:
    """In how many models the modelled figures of the boroughs with a direct figure vary less
    (standard deviation) than their direct figures: what shrinkage should do."""
    count = 0
    for t in model_tables:
        both = t[["direct", "eblup"]].dropna()
        count += int(len(both) > 1 and both["eblup"].std() < both["direct"].std())
    return count


def shrinkage_words(rho: float, p_value: float) -> str:
    """What the rank correlation of shrinkage with respondents says, at the 5% level."""
    if not np.isfinite(p_value) or p_value >= 0.05:
        return "shrinkage shows no clear relation with the number of respondents"
    way = "falls" if rho < 0 else "rises"
    return f"shrinkage {way} as the number of respondents rises (Spearman {tables.fmt(rho, 2)})"


__all__ = [
    "diagnostics",
    "narrower_spread",
    "pooled",
    "residuals_by_model",
    "shrinkage_words",
    "side_by_side",
]
