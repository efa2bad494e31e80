"""The build package's parts on their own: its configuration, the order reports are handed
out, the index template, the version check around the library patches, and the per-kernel
cache that lets 33 borough pages share one computation."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
from pathlib import Path

import pytest

from analysis import build, report
from analysis.build import index, keys, manifest, patches, planning


def test_build_config_is_frozen_normalised_and_recorded(tmp_path) -> None:
    config = build.BuildConfig(out=str(tmp_path), only=["camden"], jobs=2, input_files={"a": "1"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.jobs = 3  # type: ignore[misc]
    assert config.out == tmp_path and config.only == ("camden",)
    assert config == build.BuildConfig(
        out=tmp_path, only=("camden",), jobs=2, input_files={"a": "1"}
    )
    assert config.replace(force=True).force and not config.force
    assert config.key == "demo" and config.replace(inputs_factory=lambda: None).key == "custom"
    record = config.record()
    assert json.loads(json.dumps(record)) == record  # plain JSON: the manifest records it
    assert record["only"] == ["camden"] and record["jobs"] == 2
    with pytest.raises(TypeError, match="list of --only terms"):
        build.BuildConfig(only="camden")  # type: ignore[arg-type]


def test_manifest_records_the_build_config(tmp_path) -> None:
    config = build.BuildConfig(out=tmp_path, only=("camden",), jobs=1, publication_date=None)
    written = manifest.compose(
        config,
        library="lib",
        estimates_info={"synthetic": True, "files": {}},
        site={"published": "2027-03-01"},
        reports=[],
        timings={"total_seconds": 1.23456},
        pdf_font_subsetter="harfbuzz",
    )
    assert written["config"]["only"] == ["camden"]
    assert written["config"]["publication_date"] == "2027-03-01"  # as the pages show it
    assert written["inputs"]["key"] == "demo" and written["timings"]["total_seconds"] == 1.235


def test_build_takes_a_config_or_its_fields(monkeypatch, tmp_path) -> None:
    seen = []
    monkeypatch.setattr(build.driver, "_build", lambda config: seen.append(config))
    build.build(tmp_path, only=["camden"], progress=False)
    base = build.BuildConfig(out=tmp_path, only=("camden",), progress=False)
    build.build(base)
    build.build(base, jobs=3)
    assert seen[0] == seen[1] == base and seen[2] == base.replace(jobs=3)


def _job(kind: str, output: str) -> planning.Job:
    return planning.Job(kind, output, f"{kind}.ipynb", {}, output, output)


def test_longest_reports_are_handed_out_first() -> None:
    pending = [
        (_job("borough", "boroughs/a"), "k"),
        (_job("measure", "measures/short"), "k"),
        (_job("briefing", "changes"), "k"),
        (_job("measure", "measures/long"), "k"),
    ]
    assert [j.output for j, _ in planning.balanced(pending)] == [
        "measures/short",
        "measures/long",
        "changes",
        "boroughs/a",
    ]
    timed = {"measures/short": 10.0, "measures/long": 45.0}
    assert [j.output for j, _ in planning.balanced(pending, timed)] == [
        "measures/long",
        "measures/short",
        "changes",
        "boroughs/a",
    ]


def test_index_escapes_text_and_keeps_its_script(tmp_path) -> None:
    job = planning.Job("analysis", "x", "x.ipynb", {}, "analysis/x", "Fish & <chips>")
    (tmp_path / "analysis").mkdir()
    (tmp_path / "analysis" / "x.html").write_text("page")
    body = index.index_body(tmp_path, [job], {"analysis/x": {"status": "failed"}}, True)
    assert "Fish &amp; &lt;chips&gt;" in body and "<chips>" not in body
    assert "data-search='fish and chips x'" in body
    assert "latest build failed" in body and "not rebuilt" not in body
    assert "Synthetic demonstration data" in body
    script = (index.TEMPLATES / "index_filter.js").read_text()
    assert f"<script>\n{script}</script>" in body  # as written, not escaped
    assert "previous/estimates.csv" not in body  # no earlier figures kept here


def test_library_version_follows_the_index_template(monkeypatch) -> None:
    hashed: list[Path] = []
    monkeypatch.setattr(keys, "_hash_files", lambda paths: hashed.extend(paths) or "h")
    keys.library_version()
    assert {index.TEMPLATES / "index.html", index.TEMPLATES / "index_filter.js"} <= set(hashed)


def test_patches_fall_back_when_the_library_version_changes(monkeypatch, caplog) -> None:
    from nbconvert import HTMLExporter

    assert patches.patchable("nbconvert") and patches.patchable("weasyprint")  # as pinned
    assert patches.html_exporter_class() is not HTMLExporter
    patches.patchable.cache_clear()
    monkeypatch.setitem(patches.PATCHED_FOR, "nbconvert", "0.0.1")
    try:
        with caplog.at_level(logging.WARNING, logger=patches.__name__):
            assert patches.html_exporter_class() is HTMLExporter
        assert re.search(r"nbconvert 7\.\S+ is installed.*written for 0\.0\.1", caplog.text)
        import weasyprint

        monkeypatch.setitem(patches.PATCHED_FOR, "weasyprint", "0.0.1")
        assert patches.pdf_html_class("<p>A page</p>") is weasyprint.HTML  # the stock stylesheet
    finally:
        patches.patchable.cache_clear()


def test_unpatched_html_is_the_same_page(monkeypatch) -> None:
    """nbconvert's own exporter and the lean one give the same report body."""
    import nbformat

    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Title\n\nText & more"),
            nbformat.v4.new_code_cell(
                "x",
                outputs=[
                    nbformat.v4.new_output(
                        "display_data",
                        {"text/html": "<p>Table</p><img src='a.png'>", "text/plain": "t"},
                    )
                ],
            ),
        ]
    )
    lean = build.render.html_exporter().from_notebook_node(nbformat.from_dict(nb))[0]
    patches.patchable.cache_clear()
    monkeypatch.setitem(patches.PATCHED_FOR, "nbconvert", "0.0.1")
    build.render.html_exporter.cache_clear()
    try:
        plain = build.render.html_exporter().from_notebook_node(nbformat.from_dict(nb))[0]
    finally:
        patches.patchable.cache_clear()
        build.render.html_exporter.cache_clear()
    assert patches.NO_ALT_TEXT in lean and patches.NO_ALT_TEXT in plain
    assert _document(lean) == _document(plain)


def _document(html: str) -> list[tuple[str, list[tuple[str, str]], str]]:
    """An HTML fragment's elements in order, each with its attributes (sorted) and own text:
    the same document whatever the quotes, attribute order or white space."""
    from bs4 import BeautifulSoup

    return [
        (
            tag.name,
            sorted((k, " ".join(v) if isinstance(v, list) else v) for k, v in tag.attrs.items()),
            " ".join(tag.find_all(string=True, recursive=False)).strip(),
        )
        for tag in BeautifulSoup(html, "html.parser").find_all(True)
    ]


def test_borough_rows_are_computed_once_per_builds_data(demo_results, tmp_path) -> None:
    """Every borough page needs the latest figures, ranks and verdicts of all 33 boroughs;
    a warm kernel computes them for the first borough page and reuses them for the others."""
    from analysis import pipeline

    pipeline.write_results(demo_results, tmp_path, parquet=False)
    data = report.load(tmp_path)
    first = report.borough_indicator_rows(data)
    assert report.borough_indicator_rows(data) is first
    assert report.borough_indicator_rows(report.load(tmp_path)) is first  # the next page
    os.utime(tmp_path / "estimates.csv", ns=(1, 1))  # another build's data: computed again
    assert report.borough_indicator_rows(report.load(tmp_path)) is not first


def test_pdf_page_references_are_kept_until_a_page_is_added(tmp_path, monkeypatch) -> None:
    """The patched page references (listed once, not for every tagged element) are those
    pydyf lists, kept only until a page is added, and the PDF is the same byte for byte."""
    import pydyf

    from analysis import pages as site_pages
    from analysis.build import render

    assert patches.pdf_page_references()
    pdf = pydyf.PDF()
    refs = []
    for _ in range(3):
        pdf.add_page(pydyf.Dictionary({"Type": "/Page"}))
        refs.append(pdf.page_references)
    assert [len(r) for r in refs] == [1, 2, 3]
    assert refs[-1] == tuple(f"{n} 0 R".encode() for n in pdf.pages["Kids"][::3])
    assert pdf.page_references is refs[-1]  # kept while no page is added

    rows = "".join(f"<tr><th scope='row'>Row {i}</th><td>{i}</td></tr>" for i in range(150))
    body = (
        "<h2 id='top'>A long table</h2><p><a href='#end'>To the end</a></p>"
        f"<table><caption>Rows</caption><thead><tr><th scope='col'>Row</th>"
        f"<th scope='col'>Value</th></tr></thead><tbody>{rows}</tbody></table>"
        "<h2 id='end'>End</h2><p><a href='#top'>Back</a></p>"
    )
    page = site_pages.render_page("Test", body, depth=0, pdf="test.pdf", site=None)
    render.write_pdf(page, str(tmp_path / "patched.pdf"), tmp_path / "test.html")
    monkeypatch.setattr(
        pydyf.PDF, "page_references", patches.UNPATCHED["pydyf.PDF.page_references"]
    )
    render.write_pdf(page, str(tmp_path / "plain.pdf"), tmp_path / "test.html")
    patched, plain = (tmp_path / "patched.pdf").read_bytes(), (tmp_path / "plain.pdf").read_bytes()
    import io

    from pypdf import PdfReader

    assert len(PdfReader(io.BytesIO(patched)).pages) >= 3  # references to several pages
    assert patched == plain


def _tree(element) -> list:
    """An element tree as a list: each element's tag, attributes, text and tail, in order
    (None and "" alike: neither makes a box)."""
    out = [(element.tag, sorted(element.attrib.items()), element.text or "", element.tail or "")]
    for child in element:
        out.extend(_tree(child))
    return out


def test_pdf_pages_are_parsed_to_the_html5_parsers_tree(
    published_site, tmp_path, monkeypatch
) -> None:
    """libxml2 (lxml) reads each page of the published reports into the same tree as
    WeasyPrint's HTML5 parser does, and so into the same PDF; a page it cannot read goes to
    the HTML5 parser."""
    import tinyhtml5

    from analysis.build import render

    assert patches.pdf_html_parser()
    pages = sorted(p for p in published_site.rglob("*.html") if "data" not in p.parts)
    assert len(pages) >= 5
    for path in pages:
        source, _, _ = render.pdf_source(path.read_text(encoding="utf-8"))
        fast = patches.parse_page(source)
        assert fast is not None, path
        assert _tree(fast) == _tree(tinyhtml5.parse(source, namespace_html_elements=False)), path
    assert patches.parse_page("") is None  # nothing to parse: left to the HTML5 parser

    camden = (published_site / "boroughs" / "camden.html").read_text(encoding="utf-8")
    render.write_pdf(camden, str(tmp_path / "fast.pdf"), tmp_path / "camden.html")
    import weasyprint

    monkeypatch.setattr(weasyprint, "tinyhtml5", patches.UNPATCHED["weasyprint.tinyhtml5"])
    render.write_pdf(camden, str(tmp_path / "html5.pdf"), tmp_path / "camden.html")
    assert (tmp_path / "fast.pdf").read_bytes() == (tmp_path / "html5.pdf").read_bytes()


def test_pdfs_from_the_lean_user_agent_stylesheet_are_the_same(
    published_site, tmp_path, monkeypatch
) -> None:
    """The user-agent stylesheet without the footnote and note rules, with markers for <li>
    only, gives each published report the same PDF as WeasyPrint's own stylesheet; a page
    with a footnote, a note or a list item of another element gets WeasyPrint's own."""
    import weasyprint

    from analysis.build import render

    lean = patches.pdf_html_class("<p>A page</p>")
    assert lean is not weasyprint.HTML and issubclass(lean, weasyprint.HTML)
    ua = lean(string="<p>A page</p>")._ua_stylesheets()
    assert len(ua) == 1 and ua[0] is not weasyprint.html.UA_STYLESHEET
    for page in (
        "<style>aside { float: footnote }</style>",
        "<style>aside { position: NOTE (x) }</style>",
        "<p style='display: list-item'>An item</p>",
    ):
        assert patches.pdf_html_class(page) is weasyprint.HTML, page

    pages = sorted(p for p in published_site.rglob("*.html") if "data" not in p.parts)
    written = {}
    for path in pages:
        text = path.read_text(encoding="utf-8")
        render.write_pdf(text, str(tmp_path / f"{path.stem}-lean.pdf"), path)
        written[path] = text
    assert len(written) >= 5 and all("<li" in t for t in written.values())  # markers drawn
    monkeypatch.setattr(patches, "pdf_html_class", lambda page: weasyprint.HTML)
    for path, text in written.items():
        render.write_pdf(text, str(tmp_path / f"{path.stem}-stock.pdf"), path)
        lean_pdf = (tmp_path / f"{path.stem}-lean.pdf").read_bytes()
        assert lean_pdf == (tmp_path / f"{path.stem}-stock.pdf").read_bytes(), path


def test_pdf_fonts_worked_out_once_give_the_same_pdfs(
    published_site, tmp_path, monkeypatch
) -> None:
    """Font descriptions and OpenType features made once per distinct style (not once per
    piece of text) give the same PDFs; a property that cannot be a key is worked out afresh."""
    from weasyprint.text import line_break

    from analysis.build import render

    assert patches.pdf_text_fonts_once()
    original = patches.UNPATCHED["weasyprint.text.line_break.font_features"]
    tabular = ("normal", "normal", "normal", "normal", ("tabular-nums",))
    assert line_break.font_features(*tabular) == original(*tabular) == {"kern": 1, "tnum": 1}
    unhashable = (*["normal"] * 7, [("tnum", 1)])  # a list cannot be a key
    assert line_break.font_features(*unhashable) == original(*unhashable)

    pages = ("boroughs/camden.html", "measures/employment_gap.html")
    for name in pages:
        path = published_site / name
        render.write_pdf(
            path.read_text(encoding="utf-8"), str(tmp_path / f"{path.stem}-once.pdf"), path
        )
    for attribute in ("get_font_description", "font_features"):
        monkeypatch.setattr(
            line_break, attribute, patches.UNPATCHED[f"weasyprint.text.line_break.{attribute}"]
        )
    for name in pages:
        path = published_site / name
        render.write_pdf(
            path.read_text(encoding="utf-8"), str(tmp_path / f"{path.stem}-each.pdf"), path
        )
        once = (tmp_path / f"{path.stem}-once.pdf").read_bytes()
        assert once == (tmp_path / f"{path.stem}-each.pdf").read_bytes(), name
