"""Charts of the modelled borough figures (:mod:`analysis.sae_page` places them): the direct
and modelled figures side by side, and the model's diagnostics."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import charts, geography, narrative, tables


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
    ax.set_yticks(y, names, fontsize=charts.SMALL_PT)
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
    """Four panels: standardised residuals, their normal plot, shrinkage against respondents,
    and direct against modelled (``unit``: % for a proportion, percentage points for a gap)."""
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
    outside = int((np.abs(r) > 1.96).sum())
    shapiro = stats.shapiro(r).pvalue if len(r) >= 3 else float("nan")
    alt = (
        f"Four diagnostic charts of the model. {outside} of {len(r)} boroughs have a standardised residual "
        f"beyond plus or minus 1.96; the Shapiro-Wilk test of normality gives p = {tables.fmt(shapiro, 3)}. "
        f"Shrinkage ranges from {tables.fmt(table['shrinkage'].min(), 2)} to {tables.fmt(table['shrinkage'].max(), 2)} "
        "and falls as respondents rise. The values are in the table after the chart of direct and "
        "modelled estimates above."
    )
    explained = meta.get("variance_explained")
    notes = [
        f"Method: {meta['method']}; area-effect variance {meta['area_effect_variance']:.3g} (proportion scale); "
        + (
            "the covariates explain "
            + (f"{100 * explained:.0f}%" if explained is not None else "an unknown share")
            + " of the between-borough variance."
        )
    ]
    # no table of its own: every value it plots but the prediction is in the side-by-side
    # chart's table (one table per model, not three holding the same 33 boroughs)
    notes.append(
        "Respondents, shrinkage, standardised residuals and the direct and modelled figures for "
        "every borough are in the table after the chart of direct and modelled estimates above."
    )
    return charts.Chart(fig, title, alt, None, notes=notes)


__all__ = ["diagnostics", "side_by_side"]
