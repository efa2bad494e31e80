"""Report sections of the modelled borough figures: what they show and when."""

from __future__ import annotations

import pytest

from analysis import pipeline, sae_page


@pytest.fixture(scope="module")
def data_dir(demo_results, tmp_path_factory):
    out = tmp_path_factory.mktemp("sae_page")
    pipeline.write_results(demo_results, out, parquet=False)
    return out


def test_measure_page_shows_direct_and_modelled_a_map_and_how_well_each_model_fits(
    data_dir,
) -> None:
    from markupsafe import escape

    from analysis import sae_fit

    section = sae_page.measure_sections("friends_similar", data_dir)
    assert len(section.charts) == 2 * 4  # four indicators: side by side, map
    side, shown_map = section.charts[:2]
    assert list(side.table.columns[:4]) == ["Area", "Respondents", "Direct (%)", "Modelled (%)"]
    assert len(side.table) == 33 and "Shrinkage" in side.table.columns
    assert "2018/19" in side.title and "modelled estimates" in side.title
    assert "modelled estimates by borough" in shown_map.title
    # one table per model: the side-by-side chart's holds what the map plots
    assert {"Standardised residual", "Shrinkage", "Respondents"} <= set(side.table.columns)
    assert shown_map.table is None
    assert "table after the chart of direct and modelled" in shown_map.notes[-1]
    assert "Fay-Herriot" in section.html
    # each model's fit in a sentence (the same numbers as the appendix), and the appendix linked
    models = sae_fit.latest_models("friends_similar", data_dir)
    assert len(models) == 4
    for indicator, _latest, table, meta in models:
        fit = sae_fit.model_fit(
            table, meta, measure_id="friends_similar", indicator=indicator, label="", unit="%"
        )
        assert str(escape(sae_fit.fit_sentence(fit))) in section.html
    assert section.html.count("How well the model fits:") == 4
    assert f'href="../{sae_fit.APPENDIX}.html"' in section.html


def test_measure_page_without_models_is_empty(data_dir) -> None:
    assert sae_page.measure_sections("hate_crime", data_dir).html == ""


def test_borough_page_shows_modelled_figures_only_where_direct_ones_fail(data_dir) -> None:
    city = sae_page.borough_section("City of London", data_dir).html
    camden = sae_page.borough_section("Camden", data_dir).html
    # the City's Public Attitudes Survey figures are suppressed (45 respondents): modelled ones stand in
    assert (
        "Agree people from different backgrounds get on well" in city and "suppressed [c]" in city
    )
    # Camden's are published directly (about 400 respondents), so the page does not repeat them
    assert "Agree people from different backgrounds get on well" not in camden
    assert "All friends of a similar age" in camden and "no borough figure" in camden
    # twelve proportions, and each gap whose pooled direct figure ending in that wave is [c]/[u]
    gaps = camden.count("pooled waves)")
    assert gaps >= 1 and camden.count("(modelled estimate)") == 12 + gaps
    # one Value column: each value carries its unit (a gap is in points)
    assert "percentage points (modelled estimate)" in camden and "% (modelled estimate)" in camden
    assert ">nan<" not in camden


def test_a_build_without_models_shows_nothing(tmp_path, demo_inputs) -> None:
    import dataclasses

    from analysis import measures

    inputs = dataclasses.replace(demo_inputs, area_covariates=None)
    pipeline.write_results(
        pipeline.compute(inputs, [measures.get("get_on_well")]), tmp_path, parquet=False
    )
    assert sae_page.borough_section("City of London", tmp_path).html == ""
    assert sae_page.measure_sections("get_on_well", tmp_path).html == ""


def test_gap_measures_show_modelled_gaps_and_say_what_they_are(data_dir) -> None:
    from markupsafe import escape

    from analysis import measures, rules

    gaps = [m.id for m in measures.registry() if m.kind == "survey_gap"]
    assert gaps
    for measure_id in gaps:
        section = sae_page.measure_sections(measure_id, data_dir)
        assert "Modelled borough estimates" in section.html
        assert str(escape(rules.GAP_MODELLED)) in section.html and section.charts
        assert str(escape(rules.GAP_NOT_MODELLED)) not in section.html
    # the demo's White minus Mixed and White minus Pakistani/Bangladeshi gaps have no model
    html = sae_page.measure_sections("employment_gap", data_dir).html
    sentence = rules.gaps_not_modelled(["White minus Pakistani/Bangladeshi", "White minus Mixed"])
    assert sentence.startswith("No modelled borough figures for the gaps White minus Pakistani")
    assert str(escape(sentence)) in html
    # no page says gaps are never modelled
    assert (
        str(escape(rules.GAP_NOT_MODELLED)) not in sae_page.borough_section("Camden", data_dir).html
    )


def test_a_gap_without_a_model_says_why(data_dir, tmp_path) -> None:
    import shutil

    from markupsafe import escape

    from analysis import rules

    shutil.copytree(data_dir, tmp_path / "d")
    e = pipeline.read_estimates(tmp_path / "d" / "estimates.csv", modelled=True)
    e = e[~((e["method"] == "modelled") & (e["measure_id"] == "employment_gap"))]
    e.to_csv(tmp_path / "d" / "estimates.csv", index=False)
    html = sae_page.measure_sections("employment_gap", tmp_path / "d").html
    assert str(escape(rules.GAP_NOT_MODELLED)) in html
    # a build with no modelled figures at all (published tables, no survey microdata) does not
    # blame the gaps' samples: its pages say nothing of models
    e = e[e["method"] != "modelled"]
    e.to_csv(tmp_path / "d" / "estimates.csv", index=False)
    assert sae_page.measure_sections("employment_gap", tmp_path / "d").html == ""


def test_pages_test_modelled_changes_between_waves(data_dir) -> None:
    from markupsafe import escape

    html = sae_page.borough_section("Kensington and Chelsea", data_dir).html
    assert "Kensington and Chelsea" in html and str(escape(sae_page.CHANGE_NOTE)) in html
    assert "Change since previous wave" in html
    measure = sae_page.measure_sections("volunteering", data_dir).html
    assert str(escape(sae_page.CHANGE_NOTE)) in measure
    assert "the modelled estimate changed significantly in" in measure
    assert "not compared between waves" not in html + measure


def test_change_sentence_uses_the_rulebook_s_words() -> None:
    import pandas as pd

    table = pd.DataFrame(
        {"change_direction": ["increased", "decreased", "no significant change", "increased"]}
    )
    meta = {"change": {"previous_period": "2017/18", "series_break": False}}
    up = sae_page.change_sentence(table, meta, "%", "up")
    assert up == (
        "Since 2017/18 the modelled estimate changed significantly in 3 boroughs "
        "(2 better, 1 worse) and not significantly in 1."
    )
    assert "(2 up, 1 down)" in sae_page.change_sentence(table, meta, "%", "neutral")
    assert sae_page.change_sentence(table, {"change": {"previous_period": None}}, "%", "up") == ""
