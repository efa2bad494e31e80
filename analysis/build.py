"""The report build: estimates once, then every notebook executed, converted to HTML and PDF.

* The data step (:mod:`analysis.pipeline`) runs once and is skipped when its inputs and the
  library are unchanged.
* Notebooks run with papermill in worker processes. Each worker keeps one warm Jupyter
  kernel and reuses it from notebook to notebook (its namespace is reset in between), so the
  cost of starting Python and importing pandas, matplotlib and geopandas is paid once per
  worker, not once per report.
* Each executed notebook becomes accessible HTML with the code hidden (the project's ``lean``
  nbconvert template, ``basic`` without its nested wrappers, inside the page template) and a
  PDF (WeasyPrint: no LaTeX, no browser).
* A report is rebuilt only when its cache key changes: notebook, parameters, inputs and
  library version. Every file is written atomically, so a failing notebook leaves the last
  good report in place; the build lists failures and exits non-zero.
"""

from __future__ import annotations

import concurrent.futures as futures
import datetime as dt
import functools
import glob
import hashlib
import io
import json
import logging
import os
import platform
import re
import struct
import subprocess
import sys
import time
import traceback
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

from analysis import fonts, geography, measures, pages
from analysis.outputs import atomic_write, file_sha256, remove_stale_temporaries

# the page template and the site's own pages, used here and by callers as build.render_page etc.
from analysis.pages import render_page, search_text, site_context, write_index  # noqa: F401

ROOT = geography.PROJECT_ROOT
NOTEBOOKS = ROOT / "notebooks"
PACKAGES = [
    "numpy",
    "pandas",
    "scipy",
    "geopandas",
    "matplotlib",
    "afcharts",
    "papermill",
    "nbconvert",
    "weasyprint",
    "gptables",
    "mapclassify",
    "statsmodels",
]


@dataclass(frozen=True)
class Job:
    """One report: which notebook, with which parameters, written where."""

    kind: str  # london | briefing | measure | borough | analysis
    name: str  # measure id, borough slug, or notebook name
    notebook: str  # file name in notebooks/
    parameters: dict
    output: str  # path under the output folder, without extension
    title: str


@dataclass
class JobResult:
    output: str
    status: str  # built | unchanged | failed
    key: str
    seconds: float = 0.0
    error: str | None = None
    cell: int | None = None
    timings: dict = field(default_factory=dict)


# analyses that run on the project's synthetic demo data whatever the build's source: left out
# of real-data builds, so that no page of a real build shows synthetic figures
DEMO_ONLY_ANALYSES = frozenset({"programme_evaluation"})


def plan(
    data_dir: Path, boundaries: str | None = None, synthetic_analyses: bool = True
) -> list[Job]:
    """Every report the build makes."""
    common = {"data_dir": str(data_dir), "boundaries": boundaries}
    jobs = [
        Job(
            "london",
            "london",
            "london.ipynb",
            dict(common),
            "london",
            "The state of social integration in London",
        ),
        Job(
            "briefing",
            "changes",
            "changes.ipynb",
            dict(common),
            "changes",
            "What changed: significant changes, trends and revisions",
        ),
    ]
    for m in measures.registry():
        jobs.append(
            Job(
                "measure",
                m.id,
                "measure.ipynb",
                {"measure_id": m.id, **common},
                f"measures/{m.id}",
                m.title,
            )
        )
    for b in geography.all_borough_objects():
        jobs.append(
            Job(
                "borough",
                b.slug,
                "borough.ipynb",
                {"borough": b.code, **common},
                f"boroughs/{b.slug}",
                b.name,
            )
        )
    for extra in sorted(NOTEBOOKS.glob("*.ipynb")):
        if extra.stem in DEMO_ONLY_ANALYSES and not synthetic_analyses:
            continue
        if extra.name not in ("london.ipynb", "changes.ipynb", "measure.ipynb", "borough.ipynb"):
            jobs.append(
                Job(
                    "analysis",
                    extra.stem,
                    extra.name,
                    dict(common),
                    f"analysis/{extra.stem}",
                    extra.stem.replace("_", " ").capitalize(),
                )
            )
    return jobs


# what --only accepts for each kind of report: singular and plural
KIND_NAMES = {
    "london": "london",
    "briefing": "briefing",
    "measure": "measure",
    "measures": "measure",
    "borough": "borough",
    "boroughs": "borough",
    "analysis": "analysis",
    "analyses": "analysis",
}


def select(jobs: list[Job], only: list[str] | None) -> list[Job]:
    """Filter by ``--only`` terms: a kind (``boroughs``), a name or slug, an alias, or ``kind:name``."""
    if not only:
        return jobs
    wanted: set[str] = set()
    for term in only:
        kind, _, name = term.partition(":") if ":" in term else ("", "", term)
        kind = KIND_NAMES.get(kind, kind)
        hits = [
            j
            for j in jobs
            if (not kind or j.kind == kind)
            and (
                name in (j.name, j.output)
                or KIND_NAMES.get(name) == j.kind
                or _alias(name) == j.name
            )
        ]
        if not hits:
            known = sorted({j.name for j in jobs})
            raise SystemExit(
                f"--only {term!r} matches no report; try e.g. london, boroughs, measures, camden, "
                f"measure:get_on_well (known names: {', '.join(known[:12])}, ...)"
            )
        wanted |= {j.output for j in hits}
    return [j for j in jobs if j.output in wanted]


def _alias(name: str) -> str | None:
    try:
        return geography.slug_of(name)
    except geography.UnknownAreaError:
        return None


def _hash_files(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(str(p.relative_to(ROOT)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def library_version() -> str:
    """A hash of the library's code and data files (changes whenever analysis/ changes)."""
    files = [
        p
        for p in (ROOT / "analysis").rglob("*")
        if p.is_file() and p.suffix in {".py", ".yaml", ".csv", ".html", ".ttf"}
    ]
    return _hash_files(files + [ROOT / "shapefiles" / "london_boroughs.geojson"])


def boundaries_hash(path: str | Path) -> str:
    """sha256 over a boundary file and its sidecars (a shapefile's .shx, .dbf, .prj, ...)."""
    path = Path(path)
    if not path.exists():
        from analysis.validate import InputError

        raise InputError(str(path), "boundary file not found (--boundaries)")
    h = hashlib.sha256()
    for part in sorted(p for p in path.parent.glob(f"{path.stem}.*") if p.is_file()) or [path]:
        h.update(part.name.encode())
        h.update(file_sha256(part).encode())
    return h.hexdigest()


def check_boundaries(path: str | Path) -> None:
    """Read a ``--boundaries`` file as the maps will, so that a bad one stops the build with one
    error naming it, instead of failing every report that draws a map.

    A shapefile is three files or more: without its ``.shx`` (index) or ``.dbf`` (attributes,
    where the borough codes are) it cannot be used, and the error says which is missing.
    """
    from analysis.validate import InputError

    path = Path(path)
    if path.suffix.lower() == ".shp":
        missing = [
            f"{path.stem}{ext}"
            for ext in (".shx", ".dbf")
            if not any(
                p.suffix.lower() == ext for p in path.parent.glob(f"{glob.escape(path.stem)}.*")
            )
        ]
        if missing:
            raise InputError(
                str(path),
                f"a shapefile needs its sidecar files beside it; not found: {', '.join(missing)} "
                f"(--boundaries)",
            )
    try:
        geography.load_boundaries(path)
    except InputError:
        raise
    except Exception as err:  # GDAL's and pyogrio's errors: not a file the maps can read
        raise InputError(
            str(path), f"cannot be read as borough boundaries (--boundaries): {err}"
        ) from None


def job_key(job: Job, inputs_key: str, lib: str) -> str:
    h = hashlib.sha256()
    h.update((NOTEBOOKS / job.notebook).read_bytes())
    h.update(json.dumps(job.parameters, sort_keys=True).encode())
    h.update(inputs_key.encode())
    h.update(lib.encode())
    return h.hexdigest()


# ------------------------------------------------------------------------------------------
# Worker side: a warm kernel per process


_KERNEL = None
_CLIENT = None


def _kernel():
    """This worker's Jupyter kernel and a connected client, started once (again if it died).

    The client is kept between notebooks: a new one waits for the kernel to be ready and then
    for 0.2 s of quiet on its output channel, a fixed cost on every report otherwise.
    """
    global _KERNEL, _CLIENT
    from jupyter_client.manager import KernelManager

    if _KERNEL is None or not _KERNEL.is_alive():
        if _CLIENT is not None:
            _CLIENT.stop_channels()
        if _KERNEL is not None:
            _KERNEL.cleanup_resources()  # the dead kernel's connection file and ports
        _KERNEL = KernelManager(kernel_name="python3")
        # the kernel's own log (start-up notices) is not the build's output; cell errors come
        # back through the messaging protocol and are reported per report
        _KERNEL.start_kernel(
            cwd=str(NOTEBOOKS),
            stderr=subprocess.DEVNULL,
            env={**os.environ, "MPLBACKEND": "Agg", "PYDEVD_DISABLE_FILE_VALIDATION": "1"},
        )
        _CLIENT = _KERNEL.client()
        _CLIENT.allow_stdin = (
            False  # as nbclient's own clients: input() fails instead of waiting forever
        )
        _CLIENT.start_channels()
        _CLIENT.wait_for_ready(timeout=60)
    return _KERNEL, _CLIENT


# forget the previous notebook's names and output history and close its figures; cheaper than
# %reset -f or the display hook's flush, which both run a full garbage collection
RESET_SOURCE = (
    "for _name in [n for n in list(globals()) if not n.startswith('_') and n not in ('In', 'Out', 'get_ipython', 'exit', 'quit')]:\n"
    "    del globals()[_name]\n"
    "_shell = get_ipython()\n"
    "for _space in (_shell.user_ns, _shell.user_ns_hidden):  # past outputs: _1, _2, ... in both namespaces\n"
    "    for _name in [n for n in list(_space) if n[:1] == '_' and n[1:].isdigit()]:\n"
    "        del _space[_name]\n"
    "Out.clear()\n"
    "_shell.displayhook._ = _shell.displayhook.__ = _shell.displayhook.___ = ''\n"
    "_shell.push({'_': '', '__': '', '___': ''}, interactive=False)\n"
    "import matplotlib.pyplot as _plt\n"
    "_plt.close('all')"
)


def _with_reset(path: Path):
    """The notebook with a first cell that forgets the previous notebook's variables, so a
    warm kernel runs it as if fresh (imported modules and their caches stay warm)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    cell = nbformat.v4.new_code_cell(RESET_SOURCE)
    cell.metadata["tags"] = ["researcher"]  # never shown in reports
    nb.cells.insert(0, cell)
    return nb


WARM_ENGINE = "warm-kernel"


def _register_engine() -> None:
    """Register with papermill an engine that runs notebooks on this worker's warm kernel.

    It is papermill's nbclient engine, except that the notebook client is handed the kernel
    client kept by ``_kernel`` (nbclient only takes a kernel manager and would make a new
    client for every notebook).
    """
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines

    class WarmKernelEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man,
            kernel_name,
            log_output=False,
            stdout_file=None,
            stderr_file=None,
            start_timeout=60,
            execution_timeout=None,
            **kwargs,
        ):
            km, kc = _kernel()
            client = PapermillNotebookClient(
                nb_man,
                km=km,
                kernel_name=kernel_name,
                timeout=execution_timeout,
                startup_timeout=start_timeout,
                log=logging.getLogger("papermill"),
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
            )
            client.kc = kc
            return client.execute()

    papermill_engines.register(WARM_ENGINE, WarmKernelEngine)


def _shutdown_kernel() -> None:
    if _CLIENT is not None:
        _CLIENT.stop_channels()
    if _KERNEL is not None and _KERNEL.is_alive():
        _KERNEL.shutdown_kernel(now=True)


def run_job(job: Job, out_dir: str, key: str, site: dict | None = None) -> JobResult:
    """Execute one notebook and write its HTML and PDF (in a worker process)."""
    import papermill

    start = time.perf_counter()
    timings = {}
    out = Path(out_dir)
    try:
        _register_engine()
        t = time.perf_counter()
        executed = papermill.execute_notebook(
            _with_reset(NOTEBOOKS / job.notebook),
            None,
            parameters=job.parameters,
            kernel_name="python3",
            engine_name=WARM_ENGINE,
            progress_bar=False,
            cwd=str(NOTEBOOKS),
            log_output=False,
        )
        timings["execute"] = time.perf_counter() - t
        t = time.perf_counter()
        body = notebook_html(executed)
        page = render_page(
            job.title,
            body,
            depth=job.output.count("/"),
            pdf=f"{Path(job.output).name}.pdf",
            site=site,
        )
        timings["html"] = time.perf_counter() - t
        # the PDF first: if WeasyPrint fails, neither file is replaced, so the last good HTML
        # and PDF stay together as a pair
        t = time.perf_counter()
        atomic_write(
            out / f"{job.output}.pdf", lambda p: write_pdf(page, p, out / f"{job.output}.html")
        )
        timings["pdf"] = time.perf_counter() - t
        atomic_write(
            out / f"{job.output}.html", lambda p: Path(p).write_text(page, encoding="utf-8")
        )
        return JobResult(job.output, "built", key, time.perf_counter() - start, timings=timings)
    except Exception as err:  # a failing report must not stop the others
        cell, message = _describe_failure(err, NOTEBOOKS / job.notebook)
        return JobResult(
            job.output,
            "failed",
            key,
            time.perf_counter() - start,
            error=message,
            cell=cell,
            timings=timings,
        )


def _describe_failure(err: Exception, notebook: Path) -> tuple[int | None, str]:
    """(cell number in the notebook file, counting from 1; error text)."""
    from papermill.exceptions import PapermillExecutionError

    if isinstance(err, PapermillExecutionError):
        import nbformat

        cells = nbformat.read(notebook, as_version=4).cells
        matches = [i + 1 for i, c in enumerate(cells) if c.source == err.source]
        return (matches[0] if matches else None), f"{err.ename}: {err.evalue}"
    return None, "".join(traceback.format_exception_only(type(err), err)).strip()


def notebook_html(nb) -> str:
    """The executed notebook's outputs as an HTML fragment: no code, no prompts, no stderr."""
    # cells tagged "researcher" speak to people running the notebook, not to report readers
    nb.cells = [c for c in nb.cells if "researcher" not in c.get("metadata", {}).get("tags", [])]
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell["id"] = (
                "injected-parameters"  # papermill gives it a random id: same inputs, same page
            )
        if cell.cell_type == "code":
            cell.outputs = [
                o
                for o in cell.get("outputs", [])
                if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
            ]
    # a code cell that shows nothing (parameters, assignments) would leave an empty element
    nb.cells = [c for c in nb.cells if c.cell_type != "code" or c.outputs]
    body, _ = _html_exporter().from_notebook_node(nb)
    return body


# an <img> element with no alt attribute
_IMG_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\salt\s*=)", re.I)
NO_ALT_TEXT = "No description has been provided for this image"


def give_images_alt_text(page_html: str) -> str:
    """Give every image that has no alt text nbconvert's placeholder (the charts all have their own)."""
    return _IMG_WITHOUT_ALT.sub(f'<img alt="{NO_ALT_TEXT}"', page_html)


@functools.cache
def _html_exporter():
    """nbconvert's exporter for report bodies, made once per process (it loads its templates).

    It is nbconvert's HTML exporter but for one step: after rendering, nbconvert re-parses
    the whole page with BeautifulSoup to give images without alt text a placeholder and
    JupyterLab's cell wrappers a tab stop. The lean template has no such wrappers, so the
    placeholder is given by ``give_images_alt_text`` instead, which spares that parse (about
    half of each report's HTML conversion). Validation runs once, after the preprocessors
    (nbconvert's ``optimistic_validation``), not after each of them.
    """
    from nbconvert import HTMLExporter, TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class LeanHTMLExporter(HTMLExporter):
        def from_notebook_node(self, nb, resources=None, **kw):
            # the filters HTMLExporter.from_notebook_node registers before rendering
            language = nb.metadata.get("language_info", {})
            lexer = language.get("pygments_lexer", language.get("name", None))
            self.register_filter(
                "highlight_code",
                self.filters.get(
                    "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)
                ),
            )
            resources = self._init_resources(resources)
            self.register_filter(
                "filter_data_type",
                WidgetsDataTypeFilter(
                    notebook_metadata=self._nb_metadata, parent=self, resources=resources
                ),
            )
            body, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            return give_images_alt_text(body), resources

    exporter = LeanHTMLExporter(
        template_name="lean",
        extra_template_basedirs=[str(pages.TEMPLATE.parent / "nbconvert")],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_markdown=False,
        optimistic_validation=True,
    )
    exporter.anchor_link_text = ""
    return exporter


@functools.cache
def pdf_font_subsetter() -> str:
    """Which subsetter WeasyPrint will use for the PDFs' fonts: ``harfbuzz`` where the system
    has the HarfBuzz subset library (Debian: ``libharfbuzz-subset0``), else ``fonttools``,
    which WeasyPrint deprecates and which makes each PDF about 0.3 s slower.

    Found the way WeasyPrint finds it (by library name), without importing WeasyPrint.
    """
    import ctypes.util

    return "harfbuzz" if ctypes.util.find_library("harfbuzz-subset") else "fonttools"


SUBSETTER_HINT = (
    "PDF fonts were subset with fontTools, which is slower: install the HarfBuzz subset library "
    "(Debian/Ubuntu: apt-get install libharfbuzz-subset0) for faster PDFs."
)


# a chart embedded in a report page: <img src="data:image/png;base64,...">
_DATA_IMAGE = re.compile(
    r"""src=(["'])data:(image/(?:png|jpeg|gif|svg\+xml));base64,([A-Za-z0-9+/=]+)\1"""
)


def images_by_reference(page_html: str) -> tuple[str, dict[str, tuple[str, bytes]]]:
    """The page with each embedded (base64) image replaced by a short ``chart:N`` address,
    and the images by address.

    The HTML report keeps its images inline so that it is one self-contained file. For the
    PDF, WeasyPrint's pure-Python HTML parser would otherwise read every character of the
    base64 text; handing it the decoded images by address skips that.
    """
    import base64

    images: dict[str, tuple[str, bytes]] = {}

    def swap(match: re.Match) -> str:
        address = f"chart:{len(images)}"
        images[address] = (match[2], base64.b64decode(match[3]))
        return f"src={match[1]}{address}{match[1]}"

    return _DATA_IMAGE.sub(swap, page_html), images


@functools.cache
def _pdf_font_config():
    """One WeasyPrint font configuration per process: fonts found and loaded for one PDF are
    reused by the next (every PDF declares the same @font-face rules, the project's fonts, so
    nothing leaks between pages)."""
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def _url_fetcher(images: dict[str, tuple[str, bytes]]):
    """WeasyPrint's URL fetcher, answering ``chart:N`` addresses from ``images``."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class ChartFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            if url in images:
                mime, data = images[url]
                return URLFetcherResponse(url, data, {"Content-Type": mime})
            return super().fetch(url, headers)

    return ChartFetcher()


def png_pixel_data(png: bytes) -> bytes | None:
    """The compressed scanlines of an 8-bit, non-interlaced RGB or greyscale PNG (its IDAT
    chunks joined), which a PDF image stream takes as they are (FlateDecode with the PNG
    predictors); None for any other PNG.
    """
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        return None
    bit_depth, colour_type, _, _, interlace = struct.unpack("!5B", png[24:29])
    if bit_depth != 8 or colour_type not in (0, 2) or interlace:
        return None
    chunks, at = [], 8
    while at + 8 <= len(png):
        length, kind = struct.unpack("!I4s", png[at : at + 8])
        if kind == b"IDAT":
            chunks.append(png[at + 8 : at + 8 + length])
        elif kind in (b"PLTE", b"tRNS"):  # a palette or a transparent colour: not plain pixels
            return None
        at += 12 + length
    return b"".join(chunks) or None


@functools.cache
def _pdf_png_passthrough() -> None:
    """Let WeasyPrint embed a chart's PNG pixel data as it is.

    WeasyPrint 70 decodes every PNG and encodes it again only to read the compressed
    scanlines back out of its own copy, about a tenth of a measure page's PDF time. For the
    PNGs the charts are (8-bit RGB, not interlaced) the scanlines in the original file are
    the same kind of data, so they are used directly; any other image, or a WeasyPrint
    without this method, goes the usual way.
    """
    from weasyprint.images import RasterImage

    original = getattr(RasterImage, "_get_png_data", None)
    if original is None:
        return

    def png_data(pillow_image) -> bytes:
        source = getattr(pillow_image, "fp", None)
        if (
            pillow_image.format == "PNG"
            and pillow_image.mode in ("RGB", "L")
            and isinstance(source, io.BytesIO)
        ):
            data = png_pixel_data(source.getvalue())
            if data is not None:
                return data
        return original(pillow_image)

    RasterImage._get_png_data = staticmethod(png_data)


@functools.cache
def _pdf_header_scopes() -> None:
    """Give every table header cell of the tagged PDF its /Scope (/Column, or /Row for
    ``<th scope="row">``), as PDF/UA asks (Matterhorn checkpoint 15-003).

    WeasyPrint 70 tags ``<th>`` as TH and links data cells to their headers, but writes no
    /Scope; each TH element's tag is given it once WeasyPrint has built it (its box then holds
    the element as ``mark``). A WeasyPrint without that structure is left as it is.
    """
    from weasyprint.pdf import tags

    original = getattr(tags, "_build_box_tree", None)
    if original is None or getattr(original, "adds_scope", False):
        return

    def build_box_tree(box, *args, **kwargs):
        yield from original(box, *args, **kwargs)
        element = getattr(box, "mark", None)
        if (
            element is not None
            and box.element is not None
            and box.element_tag == "th"
            and "A" in element
        ):
            element["A"]["Scope"] = (
                "/Row" if box.element.attrib.get("scope") == "row" else "/Column"
            )

    build_box_tree.adds_scope = True
    tags._build_box_tree = build_box_tree


# the page template's one style sheet (the reports add none of their own)
_STYLE_ELEMENT = re.compile(r"<style>(.*?)</style>", re.S)


@functools.lru_cache(maxsize=4)
def _pdf_stylesheet(css: str):
    """The page template's styles, parsed once per process for every PDF (WeasyPrint would
    parse the page's ``<style>`` element again for each one)."""
    from weasyprint import CSS

    return CSS(string=css, font_config=_pdf_font_config())


def write_pdf(page_html: str, target: str, html_path: Path) -> None:
    """The report page as a tagged PDF (PDF/UA-1) with WeasyPrint."""
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    _pdf_png_passthrough()
    _pdf_header_scopes()
    page, images = images_by_reference(page_html)
    stylesheets = []
    style = _STYLE_ELEMENT.search(page)
    if style:  # the same author styles, applied from the parsed copy
        page = page[: style.start()] + page[style.end() :]
        stylesheets.append(_pdf_stylesheet(style[1]))
    # the project's font files, not whatever the machine's fontconfig has for "Arial": the
    # same inputs make the same PDF on any machine
    stylesheets.append(_pdf_stylesheet(fonts.pdf_css()))
    # tagged PDF/UA: headings, tables and the charts' alt text survive for screen readers
    HTML(string=page, base_url=str(html_path.parent), url_fetcher=_url_fetcher(images)).write_pdf(
        target, pdf_variant="pdf/ua-1", font_config=_pdf_font_config(), stylesheets=stylesheets
    )


# ------------------------------------------------------------------------------------------
# Driver


@dataclass
class BuildResult:
    results: list[JobResult]
    manifest: dict
    seconds: float

    @property
    def failures(self) -> list[JobResult]:
        return [r for r in self.results if r.status == "failed"]


ESTIMATE_FILES = (
    "estimates.csv",
    "changes.csv",
    "estimates_detail.csv",
    "trends.csv",
    "briefing.csv",
    "revisions.csv",
)


def estimates_current(out: Path, inputs_key: str, manifest: dict) -> bool:
    """Whether the estimates under ``out`` were made from these inputs by this library."""
    data_dir = out / "data"
    return manifest.get("estimates", {}).get("key") == inputs_key and all(
        (data_dir / n).exists() for n in (*ESTIMATE_FILES, "estimates.xlsx")
    )


def estimates_step(
    out: Path, inputs_factory, inputs_key: str, manifest: dict, force: bool, processes: int = 1
):
    """Compute and write the estimates unless the same inputs and library made the files there.

    With ``processes`` of 2 or more the largest survey family is estimated in a forked
    process beside the others (:func:`analysis.pipeline.compute`).

    Returns the manifest entry, the seconds taken, and whether the spreadsheet still has to
    be written (the build writes it in a worker while the notebooks run).
    """
    data_dir = out / "data"
    previous = manifest.get("estimates", {})
    files = [data_dir / n for n in ESTIMATE_FILES]
    if not force and estimates_current(out, inputs_key, manifest):
        return previous, 0.0, False
    start = time.perf_counter()
    from analysis import pipeline  # imported here: a build with nothing to compute stays quick

    inputs = inputs_factory()
    results = pipeline.compute(inputs, processes=processes)
    pipeline.write_results(results, data_dir)
    seconds = time.perf_counter() - start
    return (
        {
            "key": inputs_key,
            "rows": len(results.estimates),
            "synthetic": inputs.synthetic,
            "skipped_measures": results.skipped,
            "small_area_models": len(results.models),
            "small_area_models_not_fitted": results.models_failed,  # model name -> reason
            # the reports depend on these; the spreadsheet and Parquet copies are added when written
            "files": {f.name: file_sha256(f) for f in files},
        },
        seconds,
        True,
    )


def write_workbook(data_dir: str, synthetic: bool, published: str | None = None) -> float:
    """Write ``estimates.xlsx`` from ``estimates.csv`` (run in a worker beside the notebooks)."""
    from analysis import pipeline, workbook

    start = time.perf_counter()
    estimates = pipeline.read_estimates(Path(data_dir) / "estimates.csv", modelled=True)
    workbook.write(
        estimates,
        Path(data_dir) / "estimates.xlsx",
        synthetic=synthetic,
        created=dt.date.fromisoformat(published) if published else None,
    )
    return time.perf_counter() - start


def build(
    out_dir: str | Path = "reports",
    *,
    jobs: int | None = None,
    only: list[str] | None = None,
    force: bool = False,
    progress: bool = True,
    inputs_factory=None,
    inputs_key: str | None = None,
    boundaries: str | None = None,
    input_files: dict[str, str] | None = None,
    synthetic_analyses: bool = True,
    publication_date: str | None = None,
) -> BuildResult:
    """Build the reports under ``out_dir`` (see the module docstring)."""
    start = time.perf_counter()
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    # half-written files of a build that was killed outright (its processes are gone)
    remove_stale_temporaries(out)
    manifest_path = out / "manifest.json"
    old = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    lib = library_version()
    workers = max(1, jobs or os.cpu_count() or 1)
    if inputs_factory is None:
        from analysis import pipeline

        # the demo's largest survey is generated beside the others
        inputs_factory = functools.partial(pipeline.demo_inputs, processes=workers)
        inputs_key = inputs_key or "demo"
    inputs_key = inputs_key or "custom"
    # the maps' file, by content: editing it rebuilds the reports that draw it (checked first,
    # so a wrong path stops the build before any work)
    boundary_key = boundaries_hash(boundaries) if boundaries else None
    if boundaries:  # read once here: a file the maps cannot use stops the build before any report
        check_boundaries(boundaries)
    site_context(None, publication_date)  # likewise a malformed --publication-date
    all_jobs = plan(out / "data", boundaries, synthetic_analyses)
    chosen = select(all_jobs, only)
    pool = None
    if force or not estimates_current(out, inputs_key + lib, old):
        # new estimates mean the chosen reports and the spreadsheet are rebuilt: the workers
        # start their kernels and imports on the other cores while this process computes
        pool = _start_pool(min(workers, len(chosen) + 1))
    try:
        estimates_info, est_seconds, workbook_due = estimates_step(
            out, inputs_factory, inputs_key + lib, old, force, processes=workers
        )
    except BaseException:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        raise
    report_inputs = {k: v for k, v in estimates_info["files"].items() if k.endswith(".csv")}
    if boundary_key:
        report_inputs["boundaries"] = boundary_key
    # every page shows the publication's metadata: another date or status rebuilds them
    site = site_context(estimates_info.get("synthetic"), publication_date)
    report_inputs["site"] = site
    data_key = hashlib.sha256(json.dumps(report_inputs, sort_keys=True).encode()).hexdigest()
    # every report's key for this build: the chosen ones are compared with the manifest, and the
    # index marks any other report left by an earlier build with another key as out of date
    current = {job.output: job_key(job, data_key, lib) for job in all_jobs}

    previous = {r["output"]: r for r in old.get("reports", [])}
    results: dict[str, JobResult] = {}
    pending = []
    for job in chosen:
        key = current[job.output]
        prev = previous.get(job.output)
        done = (out / f"{job.output}.html").exists() and (out / f"{job.output}.pdf").exists()
        if (
            not force
            and prev
            and prev.get("key") == key
            and prev.get("status") in ("built", "unchanged")
            and done
        ):
            results[job.output] = JobResult(job.output, "unchanged", key)
        else:
            pending.append((job, key))

    if pending or workbook_due:
        bar = _progress(len(pending), progress)
        if pool is None:
            pool = _start_pool(max(1, min(workers, len(pending) + int(workbook_due))), warm=False)
        with pool:
            workbook_future = None
            if workbook_due:
                try:  # the spreadsheet is written by a worker while the notebooks run
                    workbook_future = pool.submit(
                        write_workbook,
                        str(out / "data"),
                        bool(estimates_info.get("synthetic")),
                        site["published"],
                    )
                except (
                    BrokenProcessPool
                ):  # no worker could start (see the reports' errors): write it here
                    write_workbook(
                        str(out / "data"), bool(estimates_info.get("synthetic")), site["published"]
                    )
            submitted = {}
            for job, key in _balanced(pending):
                try:
                    submitted[pool.submit(run_job, job, str(out), key, site)] = job
                except BrokenProcessPool as err:  # e.g. a worker's kernel could not start
                    results[job.output] = JobResult(
                        job.output, "failed", key, error=f"worker failed to start: {err}"
                    )
            for fut in futures.as_completed(submitted):
                job = submitted[fut]
                try:
                    res = fut.result()
                except Exception as err:  # the worker process itself died
                    res = JobResult(job.output, "failed", "", error=str(err))
                results[job.output] = res
                bar.update(1)
                if res.status == "failed":
                    bar.write(f"FAILED {job.output}: cell {res.cell}: {res.error}")
            for res in results.values():
                if res.status == "failed" and (res.error or "").startswith(
                    "worker failed to start"
                ):
                    bar.write(f"FAILED {res.output}: {res.error}")
            if workbook_future is not None:
                try:
                    workbook_future.result()  # an error in it is a build error, not a report failure
                except BrokenProcessPool:  # its worker died or never started: write it here
                    write_workbook(
                        str(out / "data"), bool(estimates_info.get("synthetic")), site["published"]
                    )
        bar.close()
    elif pool is not None:
        pool.shutdown()
    if workbook_due:
        for name in ("estimates.xlsx", "estimates.parquet"):
            estimates_info["files"][name] = file_sha256(out / "data" / name)

    # reports not selected this time keep their previous manifest entries
    merged = {**previous, **{k: asdict(v) for k, v in results.items()}}
    for k, v in merged.items():
        if (
            v.get("status") == "failed"
            and k in previous
            and previous[k].get("status") in ("built", "unchanged")
        ):
            v["last_good_key"] = previous[k].get("key")
    write_index(out, all_jobs, merged, estimates_info, current, site=site)
    manifest = {
        "generated_by": "run_all.py",
        "git_commit": _git_commit(),
        "library_version": lib,
        "python": platform.python_version(),
        "packages": {p: _version(p) for p in PACKAGES},
        "inputs": {
            "key": inputs_key,
            "synthetic": estimates_info.get("synthetic"),
            "sources": input_files or {"embedded demo": "generated by analysis/sources/demo.py"},
            "files": estimates_info["files"],
        },
        "estimates": estimates_info,
        "parameters": {
            "jobs": workers,
            "only": only,
            "force": force,
            "boundaries": boundaries,
            "publication_date": site["published"],
        },
        "pdf_font_subsetter": pdf_font_subsetter(),
        "timings": {
            "estimates_seconds": round(est_seconds, 3),
            "total_seconds": round(time.perf_counter() - start, 3),
        },
        "reports": [merged[k] for k in sorted(merged)],
    }
    atomic_write(
        manifest_path, lambda p: Path(p).write_text(json.dumps(manifest, indent=2, default=str))
    )
    return BuildResult(list(results.values()), manifest, time.perf_counter() - start)


def _start_pool(workers: int, warm: bool = True) -> futures.ProcessPoolExecutor:
    """Worker processes, each with a warm kernel (see ``_worker_init``).

    With ``warm`` the workers are started now (the executor otherwise starts them at the first
    submitted job), so their start-up overlaps whatever the caller does next.
    """
    pool = futures.ProcessPoolExecutor(
        max_workers=workers, initializer=_worker_start, initargs=(os.getpid(),)
    )
    if warm:
        for _ in range(workers):
            try:
                pool.submit(_ready)
            except BrokenProcessPool:
                # a worker whose start-up failed has already broken the pool; the caller's
                # submissions meet the same error and fail their reports with its reason
                break
    return pool


def _worker_start(build_pid: int) -> None:
    """A worker's first act: tie its life to the build's process, then ``_worker_init``."""
    _die_with_parent(build_pid)
    _worker_init()


def _die_with_parent(build_pid: int) -> None:
    """End this worker when the build's process ends, however it ends (Linux).

    A build killed outright (SIGKILL) would otherwise leave its workers finishing their reports
    and writing into the output folder while the next build runs. The worker's kernel ends too:
    ipykernel exits when its parent process is gone.
    """
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the workers end when they next look for work
        return
    try:  # the build may have ended before the request above took effect
        os.kill(build_pid, 0)
    except ProcessLookupError:
        os._exit(1)


def _ready() -> None:
    """A no-op job: submitting one per worker makes the pool start them."""


def _balanced(pending):
    """Longest reports first, so the last worker is not left with a long one."""
    weight = {"measure": 0, "london": 1, "briefing": 1, "analysis": 1, "borough": 2}
    return sorted(pending, key=lambda jk: weight.get(jk[0].kind, 3))


# the garbage collector's thresholds in the build's workers and kernels (CPython's default is
# 700, 10, 10): the first generation is collected after 20,000 allocations instead of 700
GC_THRESHOLDS = (20_000, 20, 20)


def _worker_init() -> None:
    """Start this worker's kernel and import what every report needs, once."""
    from multiprocessing import util

    # worker processes end with os._exit, which skips atexit; multiprocessing's finalizers run
    util.Finalize(None, _shutdown_kernel, exitpriority=10)
    # nbformat's jsonschema would import rfc3987_syntax, which compiles an IRI grammar for about
    # a second; the notebook schema has no "format" checks, so the worker goes without it
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]
    import papermill  # noqa: F401  (warm imports: paid once per worker, not per report)
    import weasyprint  # noqa: F401

    _html_exporter()  # loads nbconvert and its templates
    pages._page_template()

    _, kc = _kernel()
    # gc.freeze: the imported libraries' objects live for the whole build, so the collector
    # need not walk them again on every collection while the notebooks run; and collections
    # less often (charts and page layouts allocate hundreds of thousands of short-lived
    # objects), which made drawing and PDF layout about a tenth faster for a little memory
    # mapclassify too: it brings scipy.stats and scikit-learn (about 2.5 s), which the first
    # map would otherwise import while a report waits, in both kernels
    kc.execute_interactive(
        "import analysis.report, analysis.charts, geopandas, mapclassify, gc; gc.collect(); gc.freeze(); "
        f"gc.set_threshold(*{GC_THRESHOLDS})",
        timeout=120,
        output_hook=lambda msg: None,
    )
    import gc

    gc.collect()
    gc.freeze()  # likewise for this worker's own imports (WeasyPrint builds large object graphs)
    gc.set_threshold(*GC_THRESHOLDS)


class _NoBar:
    def update(self, n): ...
    def write(self, s):
        print(s, file=sys.stderr)

    def close(self): ...


def _progress(total: int, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc="reports", unit="report", file=sys.stderr)


def _git_commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None
