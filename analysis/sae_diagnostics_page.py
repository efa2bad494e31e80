"""The appendix page of small area diagnostics: how well every model a measure page shows fits.

Why one page for all models: the diagnostics are for the statisticians who check the models,
not for the policy reader of a measure page, and side by side they show at a glance which
model, if any, fits badly. Each measure page says in one sentence how well its models fit and
links here (:mod:`analysis.sae_page`). The numbers and words come from :mod:`analysis.sae_fit`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis import charts, tables
from analysis import html as h
from analysis.report import Page, Section
from analysis.report.base import links, measure_href
from analysis.sae_charts import pooled, residuals_by_model
from analysis.sae_fit import (
    APPENDIX_TITLE,
    RESIDUAL_LIMIT,
    SHAPIRO_ALPHA,
    ModelFit,
    all_latest_fits,
)

NO_MODELS = (
    "This build has no small area models: it has no survey microdata to give direct borough "
    "estimates (a build from the published tables), so there is nothing to check here."
)


class SmallAreaDiagnosticsPage(Page):
    """Every shown model's fit: the diagnostics pooled over the models (first: they fit under
    the key messages on the first printed page), then each model's residuals and its table."""

    def __init__(
        self, data_dir: str | Path | None = None, boundaries_path: str | None = None
    ) -> None:
        super().__init__(data_dir, boundaries_path)
        pairs = all_latest_fits(self.data_dir)
        self.fits: list[ModelFit] = [f for f, _ in pairs]
        self.model_tables: list[pd.DataFrame] = [t for _, t in pairs]

    def header(self) -> Section:
        if not self.fits:
            return self.title(APPENDIX_TITLE, h.p(NO_MODELS, class_="lede"))
        return self.title(
            APPENDIX_TITLE,
            h.p(
                f"The modelled borough figures on the measure pages come from {len(self.fits)} "
                "Fay-Herriot small area models, one for the latest wave of each indicator. This "
                "page checks whether each model's assumptions hold.",
                class_="lede",
            ),
            h.ul(self.key_messages()),
        )

    def key_messages(self) -> list[str]:
        """The findings, each with its numbers."""
        n = sum(f.boroughs for f in self.fits)
        beyond = sum(f.beyond for f in self.fits)
        tested = [f for f in self.fits if pd.notna(f.shapiro_p)]
        rejected = [f for f in tested if f.shapiro_p < SHAPIRO_ALPHA]
        explained = [f.explained for f in self.fits if f.explained is not None]
        messages = [
            f"{beyond} of {n} boroughs' standardised residuals lie beyond \u00b1{RESIDUAL_LIMIT}; "
            f"about {0.05 * n:.0f} would by chance if every model held.",
            f"The Shapiro-Wilk test finds residuals that depart from a normal distribution in "
            f"{len(rejected)} of {len(tested)} models at the 5% level (about 1 in 20 would by "
            "chance)"
            + (": " + ", ".join(f"{f.label}, {f.period}" for f in rejected) if rejected else "")
            + ".",
        ]
        if explained:
            messages.append(
                f"The covariates explain between {100 * min(explained):.0f}% and "
                f"{100 * max(explained):.0f}% of the between-borough variance in the "
                f"{len(explained)} models where there is such variance to explain"
                + (
                    f"; in the other {len(self.fits) - len(explained)} the boroughs differ no more "
                    "than their sampling error allows."
                    if len(explained) < len(self.fits)
                    else "."
                )
            )
        return messages

    def table(self) -> pd.DataFrame:
        """One row per model: what the residuals chart plots and the fit around it."""
        return pd.DataFrame(
            {
                # each model links to the measure page that shows its figures
                "Model": links(
                    h.link(f"{f.label}, {f.period}", measure_href(f.measure_id)) for f in self.fits
                ),
                "Boroughs with a residual": [f.boroughs for f in self.fits],
                f"Beyond \u00b1{RESIDUAL_LIMIT}": [f.beyond for f in self.fits],
                "Lowest residual": [tables.fmt(min(f.residuals), 2) for f in self.fits],
                "Highest residual": [tables.fmt(max(f.residuals), 2) for f in self.fits],
                "Shapiro-Wilk p": [tables.fmt(f.shapiro_p, 3) for f in self.fits],
                "Covariates explain (%)": [
                    "[z]" if f.explained is None else f"{100 * f.explained:.0f}" for f in self.fits
                ],
                "Shrinkage": [
                    f"{tables.fmt(f.shrinkage_min, 2)} to {tables.fmt(f.shrinkage_max, 2)}"
                    for f in self.fits
                ],
                # a proportion's difference and a gap's are both in percentage points
                "Mean |modelled \u2212 direct| (points)": [
                    tables.fmt(f.mean_shift) for f in self.fits
                ],
            }
        )

    def residuals(self) -> Section:
        if not self.fits:
            return Section("")
        chart = residuals_by_model(self.fits, table=self.table())
        chart.notes.append(
            "[z]: not applicable, because without the covariates the boroughs differ no more "
            "than their sampling error allows. Shrinkage: the weight on the prediction from the "
            "borough's characteristics and other waves rather than its own survey estimate (0 = "
            "survey only, 1 = prediction only)."
        )
        return Section(
            h.join([h.h2("Each model's residuals"), h.Markup(charts.to_html(chart))]), [chart]
        )

    def pooled(self) -> Section:
        if not self.fits:
            return Section("")
        chart = pooled(self.fits, self.model_tables)
        return Section(
            h.join([h.h2("All models together"), h.Markup(charts.to_html(chart))]), [chart]
        )

    def about(self) -> Section:
        if not self.fits:
            return Section("")
        return Section(
            h.join(
                [
                    h.h2("What the diagnostics check"),
                    h.p(
                        "A standardised residual is a borough's direct survey estimate less the "
                        "model's prediction from its characteristics, divided by the standard "
                        "deviation the model expects for it (sampling variance plus area-effect "
                        "variance). If the model holds they behave like draws from a standard "
                        "normal distribution: about 5% beyond \u00b11.96, and a straight normal "
                        "plot. Shrinkage should fall as a borough's respondents rise, since a "
                        "larger sample earns its own estimate more weight. Modelled figures should "
                        "be less spread out than direct ones, and close to them where samples are "
                        "large."
                    ),
                    h.p(
                        "Only the latest wave of each indicator is shown, as on the measure pages; "
                        "every model's inputs, estimates and description, earlier waves included, "
                        "are in the build's modelled/ data files. The share of the "
                        "between-borough variance the covariates explain is metafor's pseudo R "
                        "squared: one less the ratio of the area-effect variance with the "
                        "covariates to that without them."
                    ),
                ]
            )
        )


__all__ = ["NO_MODELS", "SmallAreaDiagnosticsPage"]
