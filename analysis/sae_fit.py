"""How well each small area model fits, in numbers and in one sentence.

The measure pages give each model's fit in a sentence under its charts, and the appendix page
of small area diagnostics (:mod:`analysis.sae_diagnostics_page`) tabulates and charts every
model's. Both take the numbers and the words from here, so the two never disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import measures, tables
from analysis.sae_files import model_files, modelled_rows

# a standardised residual beyond this is unusual at the 5% level, if the model holds
RESIDUAL_LIMIT = 1.96
SHAPIRO_ALPHA = 0.05
APPENDIX = "analysis/small_area_diagnostics"
APPENDIX_TITLE = "Small area models: how well they fit"


@dataclass(frozen=True)
class ModelFit:
    """One model's fit: the numbers its diagnostics show."""

    measure_id: str
    indicator: str
    label: str  # the indicator's label on its measure page
    period: str
    unit: str
    residuals: tuple[float, ...]  # standardised residuals of the boroughs with a direct figure
    beyond: int  # how many lie beyond +/- RESIDUAL_LIMIT
    shapiro_p: float  # Shapiro-Wilk test of their normality (nan under 3 residuals)
    explained: float | None  # share of the between-borough variance the covariates explain
    area_variance: float  # the area-effect variance (proportion scale)
    shrinkage_min: float
    shrinkage_max: float
    mean_shift: float  # mean absolute difference between modelled and direct figures

    @property
    def boroughs(self) -> int:
        return len(self.residuals)


def model_fit(
    table: pd.DataFrame, meta: dict, *, measure_id: str, indicator: str, label: str, unit: str
) -> ModelFit:
    """The fit of one model from its table and description (the files the build wrote)."""
    from scipy import stats

    r = table["standardised_residual"].to_numpy(dtype=float)
    r = r[np.isfinite(r)]
    shift = (table["eblup"] - table["direct"]).abs().dropna()
    explained = meta.get("variance_explained")
    return ModelFit(
        measure_id=measure_id,
        indicator=indicator,
        label=label,
        period=str(meta["period"]),
        unit=unit,
        residuals=tuple(float(x) for x in r),
        beyond=int((np.abs(r) > RESIDUAL_LIMIT).sum()),
        shapiro_p=float(stats.shapiro(r).pvalue) if len(r) >= 3 else float("nan"),
        explained=None if explained is None or not math.isfinite(explained) else float(explained),
        area_variance=float(meta["area_effect_variance"]),
        shrinkage_min=float(table["shrinkage"].min()),
        shrinkage_max=float(table["shrinkage"].max()),
        mean_shift=float(shift.mean()) if len(shift) else float("nan"),
    )


def latest_models(
    measure_id: str, data_dir: str | Path | None = None
) -> list[tuple[str, pd.DataFrame, pd.DataFrame, dict]]:
    """The model of each indicator's latest modelled wave, in the registry's order of series:
    (indicator, its modelled rows of ``estimates.csv``, the model's table, its description).
    These are the models a measure page shows."""
    m = measures.get(measure_id)
    modelled = modelled_rows(data_dir)
    rows = modelled[modelled["measure_id"] == measure_id]
    out = []
    for indicator in [s.indicator for s in m.series if s.indicator in set(rows["indicator"])]:
        at = rows[rows["indicator"] == indicator]
        period = max(at["period"])
        files = model_files(data_dir, measure_id, indicator, period)
        if files is not None:
            out.append((indicator, at[at["period"] == period], *files))
    return out


def all_latest_fits(data_dir: str | Path | None = None) -> list[tuple[ModelFit, pd.DataFrame]]:
    """The fit and table of every model a measure page shows, measure by measure in the
    registry's order."""
    fits = []
    for m in measures.registry():
        labels = {s.indicator: s.label for s in m.series}
        for indicator, latest, table, meta in latest_models(m.id, data_dir):
            fit = model_fit(
                table,
                meta,
                measure_id=m.id,
                indicator=indicator,
                label=labels[indicator],
                unit=str(latest["unit"].iloc[0]),
            )
            fits.append((fit, table))
    return fits


def normality_words(p_value: float) -> str:
    """What a Shapiro-Wilk p-value says of the residuals, at the 5% level."""
    if not math.isfinite(p_value):
        return "too few residuals to test their normality"
    if p_value < SHAPIRO_ALPHA:
        return f"they depart from a normal distribution (Shapiro-Wilk p = {tables.fmt(p_value, 3)})"
    return (
        "no evidence that they depart from a normal distribution "
        f"(Shapiro-Wilk p = {tables.fmt(p_value, 3)})"
    )


def explained_words(fit: ModelFit) -> str:
    if fit.explained is None:
        return (
            "without the covariates the boroughs differ no more than their sampling error "
            "allows, so there is no between-borough variance for them to explain"
        )
    return f"the covariates explain {100 * fit.explained:.0f}% of the between-borough variance"


def fit_sentence(fit: ModelFit) -> str:
    """'How well the model fits: 2 of 29 boroughs' standardised residuals lie beyond ±1.96
    (5% would by chance); no evidence that ...; the covariates explain 63% of ...'"""
    return (
        f"How well the model fits: {fit.beyond} of {fit.boroughs} boroughs' standardised "
        f"residuals lie beyond \u00b1{RESIDUAL_LIMIT} (about 5% would by chance); "
        f"{normality_words(fit.shapiro_p)}; {explained_words(fit)}."
    )


__all__ = [
    "APPENDIX",
    "APPENDIX_TITLE",
    "ModelFit",
    "all_latest_fits",
    "explained_words",
    "fit_sentence",
    "latest_models",
    "model_fit",
    "normality_words",
]
