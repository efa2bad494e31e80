"""The report build end to end on a subset: outputs, accessibility basics, caching, failures."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from pypdf import PdfReader

from analysis import build, measures, pipeline
from analysis.build import render, workers

SUBSET = ["london", "measure:get_on_well", "camden"]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, build.BuildResult]:
    out = tmp_path_factory.mktemp("reports")
    result = build.build(out, jobs=2, only=SUBSET, progress=False)
    return out, result


def test_subset_builds_every_output(built) -> None:
    out, result = built
    assert not result.failures, result.failures
    for rel in (
        "index.html",
        "manifest.json",
        "london.html",
        "london.pdf",
        "measures/get_on_well.html",
        "measures/get_on_well.pdf",
        "boroughs/camden.html",
        "boroughs/camden.pdf",
        "data/estimates.csv",
        "data/changes.csv",
        "data/estimates.xlsx",
    ):
        assert (out / rel).is_file(), rel
    assert not (out / "boroughs" / "hackney.html").exists()  # not selected


def test_html_has_no_code_and_is_accessible(built) -> None:
    out, _ = built
    for rel in ("london.html", "measures/get_on_well.html", "boroughs/camden.html"):
        page = (out / rel).read_text()
        assert "from analysis import" not in page and "page.header()" not in page, rel
        assert "jp-InputArea" not in page and "input_area" not in page, rel
        assert '<html lang="en-GB">' in page and "<title>" in page
        assert "Synthetic demonstration data" in page
        images = re.findall(r"<img [^>]*>", page)
        assert images and all(re.search(r"alt=[\"'][^\"']{10,}", img) for img in images), rel
        assert "<caption " in page and re.search(
            r"scope=[\"']col", page
        )  # a data table behind the charts
        assert "Traceback" not in page and "Warning" not in page


def test_every_pdf_opens(built) -> None:
    out, _ = built
    for pdf in out.rglob("*.pdf"):
        reader = PdfReader(pdf)
        assert len(reader.pages) >= 1
        assert "Synthetic demonstration data" in reader.pages[0].extract_text()


def test_index_links_resolve(built) -> None:
    out, _ = built
    index = (out / "index.html").read_text()
    assert "out of date" not in index  # everything built here is from this build's inputs
    links = re.findall(r"href='([^'#]+)'", index)
    assert "boroughs/camden.html" in links and "measures/get_on_well.pdf" in links
    for link in links:
        assert (out / link).exists(), link
    assert "id='filter'" in index and "<label for='filter'>" in index


def test_manifest_records_inputs_versions_and_status(built) -> None:
    out, _ = built
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["inputs"]["synthetic"] is True
    assert set(manifest["inputs"]["files"]) >= {"estimates.csv", "estimates.xlsx"}
    assert manifest["packages"]["pandas"] and manifest["library_version"]
    # what the build was asked for: its BuildConfig
    assert manifest["config"]["only"] == SUBSET and manifest["config"]["jobs"] == 2
    assert manifest["config"]["inputs_key"] == "demo"
    statuses = {r["output"]: r["status"] for r in manifest["reports"]}
    assert statuses == {
        "london": "built",
        "measures/get_on_well": "built",
        "boroughs/camden": "built",
    }
    # the demo's models: 75 of proportions and 24 of gaps; the only ones not fitted are gaps
    # with too few boroughs where both groups have enough respondents, and they say so
    not_fitted = manifest["estimates"]["small_area_models_not_fitted"]
    assert manifest["estimates"]["small_area_models"] == 75 + 24
    assert not_fitted and all(name.startswith("employment_gap__") for name in not_fitted)
    assert all("at least 10 are needed" in why for why in not_fitted.values())
    assert len(list((out / "data" / "modelled").glob("*.json"))) == 75 + 24


def test_estimates_are_the_library_output(built, demo_results, tmp_path) -> None:
    out, _ = built
    pipeline.write_results(demo_results, tmp_path, parquet=False)
    assert (out / "data" / "estimates.csv").read_bytes() == (
        tmp_path / "estimates.csv"
    ).read_bytes()


def test_unchanged_reports_are_not_rebuilt(built) -> None:
    out, _ = built
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.pdf")}
    again = build.build(out, jobs=2, only=SUBSET, progress=False)
    assert {r.status for r in again.results} == {"unchanged"}
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.pdf")} == before


def _borough_notebook_with(tmp_path: Path, source: str) -> tuple[Path, nbformat.NotebookNode]:
    """A copy of the notebooks whose borough notebook ends with a cell of ``source``."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for path in build.NOTEBOOKS.glob("*.ipynb"):
        shutil.copy(path, notebooks / path.name)
    nb = nbformat.read(notebooks / "borough.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(source))
    nbformat.write(nb, notebooks / "borough.ipynb")
    return notebooks, nb


def test_a_report_that_kills_its_worker_fails_alone(built, tmp_path) -> None:
    """A notebook that ends its process (a crash in native code, the memory killer) takes its
    worker with it: the reports that were running or waiting are run again one at a time,
    so only that report fails, with the reason, and the last good copy of it stays."""
    out, _ = built
    good_html = (out / "boroughs" / "camden.html").read_bytes()
    notebooks, _ = _borough_notebook_with(
        tmp_path,
        'import os, signal\nif borough == "E09000007":\n    os.kill(os.getpid(), signal.SIGKILL)',
    )
    chosen = ("camden", "hackney", "islington", "lambeth")
    config = build.BuildConfig(out=out, jobs=2, only=chosen, progress=False)
    result = build.build(config.replace(notebooks=notebooks))
    failed = {f.output: f for f in result.failures}
    assert set(failed) == {"boroughs/camden"}, failed
    assert failed["boroughs/camden"].error == build.driver.WORKER_DIED
    assert (out / "boroughs" / "camden.html").read_bytes() == good_html
    built_now = {r.output for r in result.results if r.status == "built"}
    assert built_now == {"boroughs/hackney", "boroughs/islington", "boroughs/lambeth"}


def test_failing_notebook_keeps_last_good_report_and_others_build(
    built, tmp_path, monkeypatch
) -> None:
    out, _ = built
    good_html = (out / "boroughs" / "camden.html").read_bytes()
    good_pdf = (out / "boroughs" / "camden.pdf").read_bytes()
    notebooks, nb = _borough_notebook_with(
        tmp_path, 'if borough == "E09000007":\n    raise RuntimeError("deliberate failure")'
    )
    config = build.BuildConfig(out=out, jobs=2, only=("camden", "hackney"), progress=False)
    result = build.build(config.replace(notebooks=notebooks))
    failed = {f.output: f for f in result.failures}
    assert set(failed) == {"boroughs/camden"}
    assert "RuntimeError: deliberate failure" in failed["boroughs/camden"].error
    assert failed["boroughs/camden"].cell == len(
        nb.cells
    )  # the appended cell, counted from 1 in the file
    assert (out / "boroughs" / "camden.html").read_bytes() == good_html
    assert (out / "boroughs" / "camden.pdf").read_bytes() == good_pdf
    assert (out / "boroughs" / "hackney.html").exists() and (
        out / "boroughs" / "hackney.pdf"
    ).exists()
    index = (out / "index.html").read_text()
    assert "latest build failed" in index
    manifest = json.loads((out / "manifest.json").read_text())
    status = {r["output"]: r for r in manifest["reports"]}
    assert (
        status["boroughs/camden"]["status"] == "failed"
        and status["boroughs/hackney"]["status"] == "built"
    )


def test_only_selects_reports_and_explains_unknown_terms(tmp_path) -> None:
    from analysis.build.planning import MODEL_ANALYSES

    jobs = build.plan(tmp_path)
    # no small area models in an empty folder: their appendix is left out
    assert len(jobs) == 1 + len(measures.registry()) + 33 + len(
        list(build.NOTEBOOKS.glob("*.ipynb"))
    ) - 3 - len(build.RESEARCH_NOTEBOOKS) - len(MODEL_ANALYSES)
    pick = build.select(jobs, ["Kensington & Chelsea", "measure:volunteering", "london"])
    assert {j.output for j in pick} == {
        "boroughs/kensington-and-chelsea",
        "measures/volunteering",
        "london",
    }
    assert len(build.select(jobs, ["boroughs"])) == 33
    assert (
        len(build.select(jobs, ["measures"]))
        == len(build.select(jobs, ["measure"]))
        == len(measures.registry())
    )
    analyses = {j.output for j in jobs if j.kind == "analysis"}
    assert {j.output for j in build.select(jobs, ["analyses"])} == analyses
    assert {j.output for j in build.select(jobs, ["analysis:strategy_figures"])} == {
        "analysis/strategy_figures"
    }
    assert {j.output for j in build.select(jobs, ["borough:camden"])} == {"boroughs/camden"}
    with pytest.raises(SystemExit, match="matches no report"):
        build.select(jobs, ["narnia"])


def test_run_all_exit_code_on_failure(tmp_path, monkeypatch) -> None:
    import run_all

    monkeypatch.setattr(
        build,
        "build",
        lambda *a, **k: build.BuildResult(
            [build.JobResult("boroughs/camden", "failed", "k", error="boom", cell=3)], {}, 0.1
        ),
    )
    assert run_all.main(["--out", str(tmp_path), "--no-progress"]) == 1


@pytest.mark.parametrize("subsetter, hinted", [("fonttools", True), ("harfbuzz", False)])
def test_run_all_says_when_pdfs_are_made_the_slow_way(
    tmp_path, monkeypatch, capsys, subsetter, hinted
) -> None:
    import run_all

    monkeypatch.setattr(
        build,
        "build",
        lambda *a, **k: build.BuildResult(
            [build.JobResult("boroughs/camden", "built", "k")], {}, 0.1
        ),
    )
    monkeypatch.setattr(build, "pdf_font_subsetter", lambda: subsetter)
    assert run_all.main(["--out", str(tmp_path), "--no-progress"]) == 0
    assert ("libharfbuzz-subset0" in capsys.readouterr().err) == hinted


def test_manifest_records_the_pdf_font_subsetter(built) -> None:
    out, _ = built
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["pdf_font_subsetter"] in ("harfbuzz", "fonttools")


def test_pdfs_are_tagged_for_assistive_technology(built) -> None:
    out, _ = built
    reader = PdfReader(out / "boroughs" / "camden.pdf")
    assert (
        "/StructTreeRoot" in reader.trailer["/Root"]
    )  # PDF/UA structure tree: headings, tables, alt text


def test_workers_that_cannot_start_fail_their_reports_not_the_build(tmp_path, monkeypatch) -> None:
    """If no worker can start (e.g. no Jupyter kernel), every report is listed as failed with
    the reason, the data and the manifest are still written, and the build does not crash."""

    def no_kernel() -> None:
        raise RuntimeError("no kernel here")

    # workers forked from this process (not from the fork server) see it too
    monkeypatch.setattr(workers, "FORK_SERVER", False)
    monkeypatch.setattr(workers, "worker_init", no_kernel)
    result = build.build(tmp_path / "out", jobs=2, only=["camden", "hackney"], progress=False)
    assert {f.output for f in result.failures} == {"boroughs/camden", "boroughs/hackney"}
    assert all(
        "worker" in (f.error or "").lower() or "process" in (f.error or "").lower()
        for f in result.failures
    )
    assert (tmp_path / "out" / "data" / "estimates.xlsx").exists()
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert {r["status"] for r in manifest["reports"]} == {"failed"}
    assert not (tmp_path / "out" / "boroughs" / "camden.html").exists()


def _worker_origin() -> tuple[int, bool]:
    """(a worker's parent process, whether the fork server had readied it): run in a worker."""
    import os
    import sys

    warm = sys.modules.get("analysis.build.warm")
    return os.getppid(), bool(warm is not None and warm.READY)


def test_workers_are_forked_ready_from_the_fork_server(monkeypatch) -> None:
    """Workers come from the fork server, which readied them (imports, templates, shell) before
    forking; with it switched off, or for a main script that would run again in each worker,
    they are forked from this process."""
    import os
    import sys
    import types
    from multiprocessing import forkserver

    assert workers.prepare()
    with workers.start_pool(2) as pool:
        origins = {pool.submit(_worker_origin).result() for _ in range(4)}
    server = forkserver._forkserver._forkserver_pid
    assert server is not None and server != os.getpid()
    assert origins == {(server, True)}

    monkeypatch.setattr(workers, "FORK_SERVER", False)
    assert not workers.prepare()
    with workers.start_pool(1) as pool:
        assert pool.submit(_worker_origin).result()[0] == os.getpid()
    monkeypatch.setattr(workers, "FORK_SERVER", True)

    script = types.ModuleType("__main__")
    monkeypatch.setitem(sys.modules, "__main__", script)
    assert workers._main_can_be_imported()  # no file: a notebook or an interactive session
    script.__file__ = str(Path(__file__).parent / "no_such_script.py")
    assert not workers._main_can_be_imported()  # unreadable: not risked
    unguarded = Path(__file__).parent / "conftest.py"  # a module with no __main__ guard
    assert "__main__" not in unguarded.read_text()
    script.__file__ = str(unguarded)
    assert not workers._main_can_be_imported() and not workers.prepare()
    script.__file__ = str(Path(__file__).parents[1] / "run_all.py")
    assert workers._main_can_be_imported()


def test_pool_broken_while_warming_is_returned_not_raised(monkeypatch) -> None:
    """A worker whose start-up fails can break the pool between two warm-up submissions
    (a race seen on CI); the pool must still be returned so each report fails with the reason."""

    class BreaksAfterFirst:
        def __init__(self, *args, **kwargs) -> None:
            self.submitted = 0

        def submit(self, fn, *args, **kwargs):
            self.submitted += 1
            if self.submitted > 1:
                raise workers.BrokenProcessPool("a child process terminated abruptly")

    monkeypatch.setattr(workers.futures, "ProcessPoolExecutor", BreaksAfterFirst)
    pool = workers.start_pool(4)
    assert pool.submitted == 2  # stopped warming at the first broken submission


def test_a_failed_pdf_replaces_neither_file(tmp_path, monkeypatch) -> None:
    """The HTML and PDF of a report are replaced together or not at all: a PDF step that fails
    must not leave a new HTML page beside the old PDF."""
    import papermill

    out = tmp_path / "out"
    (out / "boroughs").mkdir(parents=True)
    (out / "boroughs" / "camden.html").write_text("old html")
    (out / "boroughs" / "camden.pdf").write_bytes(b"old pdf")
    executed = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# New page")])
    monkeypatch.setattr(papermill, "execute_notebook", lambda *a, **k: executed)

    def broken_pdf(*args, **kwargs) -> None:
        raise RuntimeError("WeasyPrint fell over")

    monkeypatch.setattr(render, "write_pdf", broken_pdf)
    job = next(j for j in build.plan(out / "data") if j.output == "boroughs/camden")
    result = build.run_job(job, str(out), "key")
    assert result.status == "failed" and "WeasyPrint fell over" in result.error
    assert (out / "boroughs" / "camden.html").read_text() == "old html"
    assert (out / "boroughs" / "camden.pdf").read_bytes() == b"old pdf"


def test_run_all_refuses_real_source_options_with_the_demo(tmp_path, capsys) -> None:
    import run_all

    with pytest.raises(SystemExit) as stop:
        run_all.main(["--out", str(tmp_path), "--mirror", str(tmp_path)])
    assert stop.value.code == 2 and "--source real" in capsys.readouterr().err


def test_boundaries_key_follows_the_file_and_its_sidecars(tmp_path) -> None:
    shp = tmp_path / "London_Borough_Excluding_MHW.shp"
    shp.write_bytes(b"shapes")
    (tmp_path / "London_Borough_Excluding_MHW.dbf").write_bytes(b"attributes")
    (tmp_path / "other.shp").write_bytes(b"not ours")
    first = build.boundaries_hash(shp)
    (tmp_path / "other.shp").write_bytes(b"changed, but another layer")
    assert build.boundaries_hash(shp) == first
    (tmp_path / "London_Borough_Excluding_MHW.dbf").write_bytes(b"attributes, edited")
    assert build.boundaries_hash(shp) != first
    from analysis.validate import InputError

    with pytest.raises(InputError, match="boundary file not found"):
        build.boundaries_hash(tmp_path / "missing.geojson")


def test_index_marks_reports_left_from_other_inputs(tmp_path) -> None:
    """After e.g. a demo build, a real build of one report into the same folder leaves the
    other pages from the demo: the index must not pass them off as current."""
    jobs = [
        j
        for j in build.plan(tmp_path / "data")
        if j.output in ("boroughs/camden", "boroughs/hackney")
    ]
    for job in jobs:
        (tmp_path / f"{job.output}.html").parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f"{job.output}.html").write_text("page")
    reports = {
        "boroughs/camden": {"status": "built", "key": "new"},
        "boroughs/hackney": {"status": "unchanged", "key": "old"},
    }
    build.write_index(
        tmp_path,
        jobs,
        reports,
        {"synthetic": False},
        {"boroughs/camden": "new", "boroughs/hackney": "new"},
    )
    items = {
        m.group(1): m.group(0)
        for m in re.finditer(
            r"<li data-search='(\w+)[^']*'>.*?</li>", (tmp_path / "index.html").read_text()
        )
    }
    assert "out of date" in items["hackney"] and "out of date" not in items["camden"]


def test_run_all_says_demo_waves_stay_synthetic(tmp_path, monkeypatch, capsys) -> None:
    import run_all

    monkeypatch.setattr(run_all, "inputs_for", lambda *a, **k: (None, "demo:x", {}))
    monkeypatch.setattr(build, "build", lambda *a, **k: build.BuildResult([], {}, 0.1))
    assert (
        run_all.main(
            ["--out", str(tmp_path), "--no-progress", "--wave", "w.sav", "--codebook", "c.yaml"]
        )
        == 0
    )
    assert "stays labelled synthetic" in capsys.readouterr().err


def test_pdf_images_are_handed_to_weasyprint_by_reference(tmp_path) -> None:
    """The PDF gets the page's embedded charts as decoded images at short addresses; the
    page is otherwise unchanged and the images still reach the PDF."""
    import base64
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 20), "#12436D").save(buf, format="PNG")
    data = base64.b64encode(buf.getvalue()).decode()
    page = (
        f"<html><body><p>Before</p><img alt='first chart' src='data:image/png;base64,{data}'/>"
        f'<img alt="second chart" src="data:image/png;base64,{data}"/><p>After</p></body></html>'
    )
    swapped, images = build.images_by_reference(page)
    assert "base64" not in swapped and "<p>Before</p>" in swapped and "<p>After</p>" in swapped
    assert "src='chart:0'" in swapped and 'src="chart:1"' in swapped
    assert images == {
        "chart:0": ("image/png", buf.getvalue()),
        "chart:1": ("image/png", buf.getvalue()),
    }
    target = tmp_path / "page.pdf"
    build.write_pdf(page, str(target), tmp_path / "page.html")
    reader = PdfReader(target)
    assert len(reader.pages[0].images) == 2
    assert "Before" in reader.pages[0].extract_text()


def _png(image, **options) -> bytes:
    import io

    buf = io.BytesIO()
    image.save(buf, format="PNG", **options)
    return buf.getvalue()


def test_png_pixel_data_only_for_plain_8_bit_pngs() -> None:
    """Only non-interlaced 8-bit RGB or greyscale PNGs have scanlines a PDF can take as they are."""
    import zlib

    import numpy as np
    from PIL import Image

    pixels = np.random.default_rng(1).integers(0, 256, (30, 50, 3), dtype=np.uint8)
    rgb = Image.fromarray(pixels)
    data = build.png_pixel_data(_png(rgb))
    raw = zlib.decompress(data)  # one filter byte, then the row's RGB bytes, for every row
    assert len(raw) == 30 * (1 + 50 * 3)
    assert build.png_pixel_data(_png(rgb.convert("L"))) is not None
    assert build.png_pixel_data(_png(rgb.convert("RGBA"))) is None
    assert build.png_pixel_data(_png(rgb.convert("P"))) is None
    plain = _png(rgb)
    interlaced = plain[:28] + b"\x01" + plain[29:]  # Pillow writes no interlaced PNG: mark one so
    assert build.png_pixel_data(interlaced) is None
    assert (
        build.png_pixel_data(_png(Image.fromarray(pixels[..., 0].astype(np.uint16) * 257))) is None
    )
    assert build.png_pixel_data(b"GIF89a") is None


def test_pdf_images_keep_their_pixels(tmp_path) -> None:
    """Charts reach the PDF pixel for pixel, whether their scanlines are passed through (RGB)
    or WeasyPrint encodes them itself (an image with transparency)."""
    import base64

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(2)
    rgb = Image.fromarray(rng.integers(0, 256, (24, 40, 3), dtype=np.uint8))
    rgba = Image.fromarray(rng.integers(0, 256, (16, 20, 4), dtype=np.uint8))
    page = (
        "<html><body>"
        + "".join(
            f"<img alt='chart {i}' src='data:image/png;base64,{base64.b64encode(_png(im)).decode()}'/>"
            for i, im in enumerate((rgb, rgba))
        )
        + "</body></html>"
    )
    target = tmp_path / "page.pdf"
    build.write_pdf(page, str(target), tmp_path / "page.html")
    embedded = [im.image for im in PdfReader(target).pages[0].images]
    assert len(embedded) == 2
    assert np.array_equal(np.asarray(embedded[0].convert("RGB")), np.asarray(rgb))
    assert np.array_equal(np.asarray(embedded[1].convert("RGBA")), np.asarray(rgba))


def test_pdf_takes_the_page_templates_styles_from_a_parsed_copy(tmp_path) -> None:
    """The template's <style> is parsed once and applied to every PDF: print rules hold
    (A4 pages numbered at the foot, the site header hidden), whatever the page."""
    for i in range(2):
        page = build.render_page(
            f"Report {i}", f"<h2>Section {i}</h2><p>Body text {i}.</p>", depth=1
        )
        target = tmp_path / f"page{i}.pdf"
        build.write_pdf(page, str(target), tmp_path / "page.html")
        first = PdfReader(target).pages[0]
        text = first.extract_text()
        assert f"Body text {i}." in text and "Page 1 of 1" in text
        assert "All reports" not in text  # the site header is for screens
        assert [round(float(v)) for v in first.mediabox[2:]] == [595, 842]
    assert (
        render._pdf_stylesheet.cache_info().currsize == 2
    )  # the template's styles and the fonts' rules


def test_report_body_puts_each_cells_outputs_in_one_element() -> None:
    """The lean template: a cell's outputs sit in one <div class="cell">, not in nbconvert's
    five nested wrappers; markdown is rendered; code never appears."""
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("page.summary()")
    code.outputs = [
        nbformat.v4.new_output(
            "execute_result",
            data={"text/html": "<h2>Summary</h2><p>Better.</p>", "text/plain": "<Section>"},
            execution_count=1,
        )
    ]
    nb.cells = [
        nbformat.v4.new_markdown_cell("Read *this*."),
        nbformat.v4.new_code_cell("x = 1"),
        code,
    ]
    body = build.notebook_html(nb)
    assert body.count("<div") == 2 and body.count('class="cell') == 2
    assert "<h2>Summary</h2><p>Better.</p>" in body and "<em>this</em>" in body
    assert "page.summary()" not in body and "&lt;Section&gt;" not in body
    for wrapper in ("output_wrapper", "output_area", "output_subarea", "inner_cell"):
        assert wrapper not in body


def test_images_without_alt_text_get_a_placeholder() -> None:
    """What nbconvert's HTML exporter does with BeautifulSoup, done with one expression."""
    page = (
        "<p><img src='a.png'/><img alt='Chart of rates' src='b.png'>"
        '<IMG SRC="c.png"><img\nsrc="d.png" alt = "d"><imgx src="e"></p>'
    )
    fixed = build.give_images_alt_text(page)
    assert fixed.count(build.NO_ALT_TEXT) == 2
    assert f"<img alt=\"{build.NO_ALT_TEXT}\" src='a.png'/>" in fixed
    assert "<img alt='Chart of rates' src='b.png'>" in fixed and '<imgx src="e">' in fixed
    assert 'alt = "d"' in fixed and fixed.count("alt") == 4
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("show()")
    code.outputs = [nbformat.v4.new_output("display_data", data={"text/html": "<img src='x.png'>"})]
    nb.cells = [code]
    assert build.NO_ALT_TEXT in build.notebook_html(nb)


def test_report_html_does_not_carry_papermills_random_cell_id() -> None:
    nb = nbformat.v4.new_notebook()
    injected = nbformat.v4.new_code_cell("borough = 'Camden'")
    injected.metadata["tags"] = ["injected-parameters"]
    random_id = injected.id
    nb.cells = [injected, nbformat.v4.new_markdown_cell("# Camden")]
    quiet = build.notebook_html(nb)  # a cell with no output is left out of the page altogether
    assert random_id not in quiet and "injected-parameters" not in quiet and "Camden" in quiet
    injected.outputs = [nbformat.v4.new_output("stream", name="stdout", text="Parameters set\n")]
    nb.cells = [injected]
    shown = build.notebook_html(nb)
    assert "cell-id=injected-parameters" in shown and random_id not in shown
