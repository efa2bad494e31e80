"""The appendix page of small area diagnostics, and the fit sentence on measure pages: every
number and word follows from the models' files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import measures, pipeline, sae_fit, sae_page
from analysis.sae_charts import narrower_spread, shrinkage_words
from analysis.sae_diagnostics_page import NO_MODELS, SmallAreaDiagnosticsPage


@pytest.fixture(scope="module")
def data_dir(demo_results, tmp_path_factory):
    out = tmp_path_factory.mktemp("sae_diagnostics")
    pipeline.write_results(demo_results, out, parquet=False)
    return out


@pytest.fixture(scope="module")
def page(data_dir):
    return SmallAreaDiagnosticsPage(data_dir)


def test_the_appendix_covers_every_model_the_measure_pages_show(page, data_dir) -> None:
    shown = [
        (m.id, indicator)
        for m in measures.registry()
        for indicator, *_ in sae_fit.latest_models(m.id, data_dir)
    ]
    assert [(f.measure_id, f.indicator) for f in page.fits] == shown
    assert len(shown) >= 15
    # each measure page shows two charts per model: the same models
    drawn = sum(len(sae_page.measure_sections(m.id, data_dir).charts) for m in measures.registry())
    assert drawn == 2 * len(shown)


def test_fit_numbers_follow_from_the_model_files(page) -> None:
    from scipy import stats

    for fit, table in zip(page.fits, page.model_tables):
        r = table["standardised_residual"].dropna().to_numpy()
        assert fit.boroughs == len(r) and fit.beyond == int((np.abs(r) > 1.96).sum())
        assert fit.shapiro_p == pytest.approx(stats.shapiro(r).pvalue)
        assert fit.shrinkage_min == table["shrinkage"].min()
        assert fit.mean_shift == pytest.approx((table["eblup"] - table["direct"]).abs().mean())


def test_key_messages_and_table_agree_with_the_fits(page) -> None:
    text = " ".join(page.key_messages())
    n = sum(f.boroughs for f in page.fits)
    beyond = sum(f.beyond for f in page.fits)
    assert f"{beyond} of {n} boroughs' standardised residuals lie beyond ±1.96" in text
    rejected = [f for f in page.fits if f.shapiro_p < 0.05]
    assert f"in {len(rejected)} of {len(page.fits)} models" in text
    for f in rejected:
        assert f"{f.label}, {f.period}" in text
    table = page.table()
    assert len(table) == len(page.fits)
    assert all("../measures/" in str(cell) for cell in table["Model"])
    assert list(table["Beyond ±1.96"]) == [f.beyond for f in page.fits]
    unexplained = [f for f in page.fits if f.explained is None]
    assert (table["Covariates explain (%)"] == "[z]").sum() == len(unexplained)


def test_charts_say_what_their_numbers_show(page) -> None:
    from scipy import stats

    residuals = page.residuals()
    (chart,) = residuals.charts
    n = sum(f.boroughs for f in page.fits)
    beyond = sum(f.beyond for f in page.fits)
    assert chart.title.startswith(f"{beyond} of {n} standardised residuals")
    assert chart.table is not None and len(chart.table) == len(page.fits)
    assert "[z]" in residuals.html and "not applicable" in residuals.html
    (pooled,) = page.pooled().charts
    both = pd.concat(page.model_tables)[["respondents", "shrinkage"]].dropna()
    rho = stats.spearmanr(both["respondents"], both["shrinkage"])
    assert shrinkage_words(rho.statistic, rho.pvalue) in pooled.title
    assert f"in {narrower_spread(page.model_tables)} of the {len(page.fits)} models" in pooled.alt


def test_words_for_each_outcome() -> None:
    assert "no clear relation" in shrinkage_words(-0.1, 0.4)
    assert "falls as the number" in shrinkage_words(-0.6, 0.001)
    assert "rises as the number" in shrinkage_words(0.6, 0.001)
    assert sae_fit.normality_words(0.01).startswith("they depart")
    assert sae_fit.normality_words(0.2).startswith("no evidence")
    fit = sae_fit.ModelFit(
        "m", "i", "Label", "2018", "%", (0.1, 2.5, -0.3), 1, 0.5, None, 0.0, 0.2, 0.9, 1.0
    )
    sentence = sae_fit.fit_sentence(fit)
    assert sentence.startswith("How well the model fits: 1 of 3 boroughs'")
    assert "no between-borough variance for them to explain" in sentence
    explained = sae_fit.fit_sentence(
        sae_fit.ModelFit(
            "m", "i", "Label", "2018", "%", (0.1, 2.5, -0.3), 1, 0.5, 0.634, 0.0, 0.2, 0.9, 1.0
        )
    )
    assert "the covariates explain 63% of the between-borough variance" in explained


def test_a_build_without_models_has_no_appendix(tmp_path, demo_inputs) -> None:
    import dataclasses

    from analysis import build
    from analysis.build.planning import ANALYSIS_TITLES

    inputs = dataclasses.replace(demo_inputs, area_covariates=None)
    pipeline.write_results(
        pipeline.compute(inputs, [measures.get("get_on_well")]), tmp_path, parquet=False
    )
    page = SmallAreaDiagnosticsPage(tmp_path)
    assert page.fits == [] and NO_MODELS in page.header().html
    assert page.residuals().html == page.pooled().html == ""
    outputs = {j.output for j in build.plan(tmp_path)}
    assert sae_fit.APPENDIX not in outputs and "analysis/registration_vs_churn" in outputs
    # before the data step the plan cannot know, and keeps it
    assert sae_fit.APPENDIX in {j.output for j in build.plan(tmp_path, titles=False)}
    assert ANALYSIS_TITLES["small_area_diagnostics"] == sae_fit.APPENDIX_TITLE


def test_one_models_four_panels_say_what_the_page_says(page) -> None:
    """The researcher's chart of one model takes its numbers and words from the same place."""
    from analysis import sae_fit
    from analysis.sae_charts import diagnostics

    fit, table = page.fits[0], page.model_tables[0]
    meta = sae_fit.latest_models(fit.measure_id, page.data_dir)[0][3]
    chart = diagnostics(table, meta, title="One model", unit=fit.unit)
    assert f"{fit.beyond} of {fit.boroughs} boroughs" in chart.alt
    assert sae_fit.normality_words(fit.shapiro_p) in chart.alt
    assert sae_fit.explained_words(fit) in chart.notes[0]
