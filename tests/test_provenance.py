"""A figure's note and proxy mark in columns of their own: written by the data step, read back
from files written before the columns existed, printed with the same words by pages and the
spreadsheet; and a proxy measure's report titled "(proxy)" everywhere its h1 is."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import (
    briefing,
    estimate,
    geography,
    measures,
    pages,
    pipeline,
    provenance,
    report,
    workbook,
)
from analysis.build import index, planning, render
from analysis.sources import real

BOROUGHS = geography.borough_codes()
CITY = "E09000001"
REGISTRATION, HATE = "electoral_registration", "hate_crime"


def _inputs(proxies: frozenset[str] = real.PROXIES) -> pipeline.Inputs:
    """Electoral registration (a proxy, with the City's denominator doubtful) and hate crime
    for 2016, from small made-up tables: enough for a build's estimates in a second."""
    rng = np.random.default_rng(3)
    adults = rng.uniform(100_000, 250_000, len(BOROUGHS)).round()
    electoral = pd.DataFrame(
        {
            "area_code": BOROUGHS,
            "year": 2016,
            "electors": (adults * rng.uniform(0.8, 0.95, len(BOROUGHS))).round(),
            "adults": adults,
        }
    )
    hate = pd.DataFrame(
        {
            "area_code": BOROUGHS,
            "year": 2016,
            "hate_crimes": rng.integers(300, 900, len(BOROUGHS)).astype(float),
            "population": adults * 1.25,
        }
    )
    doubtful = pd.DataFrame({"area_code": [CITY], "period": ["2016"], "why": ["a made-up reason"]})
    return pipeline.Inputs(
        admin={"electoral": electoral, "hate_crime": hate},
        source_notes={m: real.SOURCE_NOTES[m] for m in (REGISTRATION, HATE)},
        proxies=proxies,
        unreliable={REGISTRATION: doubtful},
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    results = pipeline.compute(_inputs(), [measures.get(REGISTRATION), measures.get(HATE)])
    folder = tmp_path_factory.mktemp("proxy_build") / "data"
    pipeline.write_results(results, folder, parquet=False)
    return folder


# ------------------------------------------------------------------------------------------
# the columns


def test_notes_and_proxy_marks_have_columns_of_their_own(data_dir) -> None:
    e = pipeline.read_estimates(data_dir / "estimates.csv")
    assert list(e.columns) == estimate.ESTIMATE_COLUMNS
    at = estimate.ESTIMATE_COLUMNS.index("source")
    assert estimate.ESTIMATE_COLUMNS[at + 1 : at + 3] == ["note", "proxy"]
    assert e["proxy"].dtype == bool
    assert e.loc[e.measure_id == REGISTRATION, "proxy"].all()
    assert not e.loc[e.measure_id == HATE, "proxy"].any()
    # the source is only the source: no note after it, no "Proxy: " before it
    assert set(e["source"]) == {real.SOURCE_NOTES[REGISTRATION], real.SOURCE_NOTES[HATE]}
    city = e[(e.measure_id == REGISTRATION) & (e.area_code == CITY)].iloc[0]
    assert city["note"].startswith("flagged [u]: denominator unreliable: a made-up reason")
    assert (e.loc[e.area_code != CITY, "note"] == "").all()
    assert provenance.notes(e) == [f"City of London, 2016: {city['note']}"]


def test_a_doubtful_denominator_adds_to_a_note_already_there() -> None:
    rows = pd.DataFrame(
        {
            "area_code": [CITY, "E09000007"],
            "period": ["2016", "2016"],
            "flag": ["[u]", ""],
            "flag_reason": ["", ""],
            "compared_to_london": ["similar", "similar"],
            "p_vs_london": [0.5, 0.5],
            "note": ["an earlier note", ""],
        }
    )
    doubtful = pd.DataFrame({"area_code": [CITY], "period": ["2016"], "why": ["why"]})
    out = estimate.mark_unreliable(rows, doubtful)
    assert out["note"].iloc[0].startswith("an earlier note; flagged [u]: denominator unreliable")
    assert out["note"].iloc[1] == ""


LEGACY_COLUMNS = [c for c in estimate.ESTIMATE_COLUMNS if c not in ("note", "proxy")]


def _legacy_csv(sources: list[str], columns: list[str] = LEGACY_COLUMNS) -> str:
    """An estimates file as builds wrote it before the note and proxy columns."""
    rows = pd.DataFrame(
        {
            "measure_id": REGISTRATION,
            "indicator": REGISTRATION,
            "period": "2016",
            "area_code": [CITY, "E09000007", geography.LONDON_CODE][: len(sources)],
            "area_name": ["City of London", "Camden", "London"][: len(sources)],
            "breakdown": "all",
            "group": "all",
            "value": 90.0,
            "lower_ci": 89.0,
            "upper_ci": 91.0,
            "unweighted_base": 1000,
            "flag": ["[u]", "", ""][: len(sources)],
            "compared_to_london": "not_compared",
            "unit": "%",
            "polarity": "up",
            "source": sources,
            "note": "",
            "proxy": False,
            "synthetic": False,
            "flag_reason": "",
            "uncertainty": "binomial",
            "method": "direct",
        }
    )
    return rows[columns].to_csv(index=False, lineterminator="\n")


def test_an_estimates_file_from_before_the_columns_still_loads(tmp_path) -> None:
    path = tmp_path / "estimates.csv"
    path.write_text(
        _legacy_csv(
            [
                "Proxy: EU referendum electorate | Note: flagged [u]: denominator unreliable: why",
                "Proxy: EU referendum electorate",
                "Proxy: EU referendum electorate",
            ]
        )
    )
    e = pipeline.read_estimates(path)
    assert list(e.columns) == estimate.ESTIMATE_COLUMNS
    assert (e["source"] == "EU referendum electorate").all()
    assert e["proxy"].tolist() == [True, True, True]
    assert e["note"].tolist() == ["flagged [u]: denominator unreliable: why", "", ""]
    # pages read it as they read a new file: the proxy labelled, the note listed
    assert provenance.notes(e) == ["City of London, 2016: flagged [u]: denominator unreliable: why"]
    assert provenance.measure_title(measures.get(REGISTRATION), e).endswith("(proxy)")
    # a source that is not a proxy keeps its text; one with a note column keeps that note too
    plain = pipeline.read_estimates(io.StringIO(_legacy_csv(["ONS | Note: cut at 100%", "ONS"])))
    assert plain["source"].tolist() == ["ONS", "ONS"] and not plain["proxy"].any()
    assert plain["note"].tolist() == ["cut at 100%", ""]
    mixed = pipeline.read_estimates(
        io.StringIO(_legacy_csv(["ONS | Note: old", "ONS"], estimate.ESTIMATE_COLUMNS))
    )
    assert mixed["source"].tolist() == ["ONS", "ONS"] and mixed["note"].tolist() == ["old", ""]


def test_the_current_form_reads_back_unchanged(data_dir) -> None:
    e = pipeline.read_estimates(data_dir / "estimates.csv")
    assert provenance.from_legacy(e) is e


def test_proxy_wording_is_unchanged_on_the_pages(data_dir) -> None:
    """The source of a proxy is printed beginning "Proxy: " and its labels say "(proxy)", as
    when the mark was part of the source's text."""
    source = real.SOURCE_NOTES[REGISTRATION]
    page = report.MeasurePage(REGISTRATION, data_dir)
    header = html.unescape(page.header().html)
    assert f"not the measure itself. Proxy: {source}." in header
    assert page.indicators() == [(REGISTRATION, "Local government electors per adult (proxy)")]
    assert f"Proxy: {source}" in html.unescape(page.about().html)
    borough = report.BoroughPage("Camden", data_dir)
    sources = borough._sources_table()
    assert f"Proxy: {source}" in set(sources["Source"])
    assert "Local government electors per adult (proxy)" in set(borough.summary_rows["label"])
    assert "Source" in sources and f"Proxy: {real.SOURCE_NOTES[HATE]}" not in set(sources["Source"])


def test_the_spreadsheet_has_a_note_column_and_prints_a_proxy_s_source(data_dir, tmp_path) -> None:
    e = pipeline.read_estimates(data_dir / "estimates.csv", modelled=True)
    path = tmp_path / "estimates.xlsx"
    workbook.write(e, path, synthetic=False)
    domains = [n for n in pd.ExcelFile(path).sheet_names if n not in ("Cover", "Contents")]
    raws = {n: pd.read_excel(path, sheet_name=n, header=None) for n in domains}
    sheet = pd.concat(
        [
            pd.read_excel(
                path, sheet_name=n, header=int(np.flatnonzero(raw[0].astype(str) == "Measure")[0])
            )
            for n, raw in raws.items()
        ],
        ignore_index=True,
    )
    assert len(sheet) == len(e)
    city = sheet[(sheet["Indicator"] == REGISTRATION) & (sheet["Area code"] == CITY)].iloc[0]
    assert city["Note"].startswith("flagged [u]: denominator unreliable")
    assert (sheet.loc[sheet["Area code"] != CITY, "Note"] == "none").all()
    text = " ".join(str(v) for raw in raws.values() for v in raw.to_numpy().ravel())
    assert f"Proxy: {real.SOURCE_NOTES[REGISTRATION]}" in text
    assert f"Proxy: {real.SOURCE_NOTES[HATE]}" not in text and real.SOURCE_NOTES[HATE] in text
    assert " | Note: " not in text


def test_revisions_compare_sources_and_notes_across_the_change_of_form(data_dir) -> None:
    """A previous build's estimates in the old form (notes and "Proxy: " in the source) are
    compared with these column by column: a revised figure shows its source unchanged, and its
    note old and new."""
    current = pipeline.read_estimates(data_dir / "estimates.csv")
    old = current.copy()
    camden = (old.area_code == "E09000007") & (old.measure_id == REGISTRATION)
    city = (old.area_code == CITY) & (old.measure_id == REGISTRATION)
    old.loc[camden | city, "value"] += 1.0
    old.loc[camden, "note"] = "an old note"
    old["source"] = [
        f"{provenance.source_text(s, p)}{provenance.NOTE_SEPARATOR + n if n else ''}"
        for s, p, n in zip(old["source"], old["proxy"], old["note"])
    ]
    text = old.drop(columns=["note", "proxy"]).to_csv(index=False, lineterminator="\n")
    out = briefing.revisions(pipeline.read_estimates(io.StringIO(text)), current)
    assert list(out.columns) == briefing.REVISION_COLUMNS
    assert set(out["area_code"]) == {"E09000007", CITY}
    assert (out["source"] == f"Proxy: {real.SOURCE_NOTES[REGISTRATION]}").all()
    assert (out["previous_source"] == out["source"]).all()
    by_area = out.set_index("area_code")
    assert (by_area.loc["E09000007", "previous_note"], by_area.loc["E09000007", "note"]) == (
        "an old note",
        "",
    )
    assert by_area.loc[CITY, "previous_note"] == by_area.loc[CITY, "note"] != ""


# ------------------------------------------------------------------------------------------
# a proxy measure's report says "(proxy)" in its h1, its HTML and PDF titles and the index


def _h1(section_html: str) -> str:
    return html.unescape(re.search(r"<h1>(.*?)</h1>", section_html)[1])


@pytest.mark.parametrize(("measure_id", "proxy"), [(REGISTRATION, True), (HATE, False)])
def test_a_report_s_titles_agree_on_proxy(data_dir, tmp_path, measure_id, proxy) -> None:
    import pikepdf

    page = report.MeasurePage(measure_id, data_dir)
    h1 = _h1(page.header().html)
    assert h1.endswith("(proxy)") is proxy
    assert h1 == page.heading() == provenance.measure_title(page.measure, page.rows)

    (job,) = [j for j in planning.plan(data_dir) if j.output == f"measures/{measure_id}"]
    assert job.title == h1

    site = pages.site_context(False)
    body = page.header().html
    page_html = render.render_report(job.title, body, job.output, site)
    title = html.unescape(re.search(r"<title>(.*?)</title>", page_html)[1])
    assert title == f"{h1} – {site['title']}"

    pdf = tmp_path / "page.pdf"
    render.write_pdf(page_html, str(pdf), tmp_path / "page.html")
    with pikepdf.open(pdf) as doc:
        assert str(doc.docinfo["/Title"]) == title

    (tmp_path / "measures").mkdir()
    (tmp_path / f"{job.output}.html").write_text(page_html)
    listed = index.index_body(tmp_path, planning.plan(data_dir), {}, synthetic=False)
    assert f"<a href='{job.output}.html'>{html.escape(h1)}</a>" in listed


def test_titles_without_estimates_are_the_registry_s(tmp_path) -> None:
    jobs = {j.name: j.title for j in planning.plan(tmp_path) if j.kind == "measure"}
    assert jobs[REGISTRATION] == measures.get(REGISTRATION).title
    assert planning.measure_titles(tmp_path) == {}


def test_a_measure_with_some_proxy_series_says_so_in_every_title() -> None:
    m = measures.get("employment_gap")
    rows = pd.DataFrame(
        {
            "indicator": [m.rate_indicator, m.series[0].indicator],
            "proxy": [False, True],
        }
    )
    assert provenance.measure_title(m, rows) == f"{m.title} (some figures are proxies)"
    assert provenance.measure_title(m, rows.assign(proxy=False)) == m.title
    assert provenance.measure_title(m, rows.iloc[0:0]) == m.title
