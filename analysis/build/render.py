"""Rendering: an executed notebook becomes the report's HTML (code hidden, in the page
template) and a tagged PDF (WeasyPrint: no LaTeX, no browser).

The library internals this relies on are patched in :mod:`analysis.build.patches` only.
"""

from __future__ import annotations

import atexit
import functools
import logging
import re
from pathlib import Path
from typing import Any

from analysis import fonts, pages
from analysis.build import patches


def notebook_html(nb: Any) -> str:
    """The executed notebook's outputs as an HTML fragment: no code, no prompts, no stderr."""
    # cells tagged "researcher" speak to people running the notebook, not to report readers
    nb.cells = [c for c in nb.cells if "researcher" not in c.get("metadata", {}).get("tags", [])]
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            # papermill gives it a random id: same inputs, same page
            cell["id"] = "injected-parameters"
        if cell.cell_type == "code":
            cell.outputs = [
                o
                for o in cell.get("outputs", [])
                if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
            ]
    # a code cell that shows nothing (parameters, assignments) would leave an empty element
    nb.cells = [c for c in nb.cells if c.cell_type != "code" or c.outputs]
    body, _ = html_exporter().from_notebook_node(nb)
    return body


@functools.cache
def html_exporter() -> Any:
    """nbconvert's exporter for report bodies, made once per process (it loads its templates):
    the project's ``lean`` template, inputs and prompts left out, and validation once after the
    preprocessors (nbconvert's ``optimistic_validation``), not after each of them."""
    exporter = patches.html_exporter_class()(
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

    def swap(match: re.Match[str]) -> str:
        address = f"chart:{len(images)}"
        images[address] = (match[2], base64.b64decode(match[3]))
        return f"src={match[1]}{address}{match[1]}"

    return _DATA_IMAGE.sub(swap, page_html), images


@functools.cache
def _pdf_font_config() -> Any:
    """One WeasyPrint font configuration per process: fonts found and loaded for one PDF are
    reused by the next (every PDF declares the same @font-face rules, the project's fonts, so
    nothing leaks between pages)."""
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


@atexit.register
def _release_fonts() -> None:
    """Let the font configuration go while the interpreter is whole: its ``__del__`` calls into
    Pango, and at the very end of the interpreter it would find those functions gone (a
    harmless but noisy "Exception ignored" message)."""
    _pdf_stylesheet.cache_clear()
    _pdf_font_config.cache_clear()
    import gc

    gc.collect()


def _url_fetcher(images: dict[str, tuple[str, bytes]]) -> Any:
    """WeasyPrint's URL fetcher, answering ``chart:N`` addresses from ``images``."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class ChartFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            if url in images:
                mime, data = images[url]
                return URLFetcherResponse(url, data, {"Content-Type": mime})
            return super().fetch(url, headers)

    return ChartFetcher()


# the page template's one style sheet (the reports add none of their own)
_STYLE_ELEMENT = re.compile(r"<style>(.*?)</style>", re.S)
# a link to another page (a measure's, from a borough or the London page) is plain text in the
# PDF: WeasyPrint would resolve it against the output folder, so each PDF would carry the
# build's own path, and two builds in two folders would differ
_PAGE_LINK = re.compile(r'<a href="(?!#)[^"]*">(.*?)</a>', re.S)


@functools.lru_cache(maxsize=4)
def _pdf_stylesheet(css: str) -> Any:
    """The page template's styles, parsed once per process for every PDF (WeasyPrint would
    parse the page's ``<style>`` element again for each one)."""
    from weasyprint import CSS

    return CSS(string=css, font_config=_pdf_font_config())


def pdf_source(page_html: str) -> tuple[str, dict[str, tuple[str, bytes]], str | None]:
    """The page as WeasyPrint is given it: links to other pages as plain text, the charts
    by address (:func:`images_by_reference`) and the ``<style>`` element taken out; with the
    images by address and the styles taken out (None if it had none)."""
    page, images = images_by_reference(_PAGE_LINK.sub(r"\1", page_html))
    style = _STYLE_ELEMENT.search(page)
    if style is None:
        return page, images, None
    return page[: style.start()] + page[style.end() :], images, style[1]


def write_pdf(page_html: str, target: str, html_path: Path) -> None:
    """The report page as a tagged PDF (PDF/UA-1) with WeasyPrint."""
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    patches.pdf_png_passthrough()
    patches.pdf_header_scopes()
    patches.pdf_page_references()
    patches.pdf_html_parser()
    patches.pdf_text_fonts_once()
    page, images, css = pdf_source(page_html)
    stylesheets = []
    if css is not None:  # the same author styles, applied from the parsed copy
        stylesheets.append(_pdf_stylesheet(css))
    # the project's font files, not whatever the machine's fontconfig has for "Arial": the
    # same inputs make the same PDF on any machine
    stylesheets.append(_pdf_stylesheet(fonts.pdf_css()))
    # tagged PDF/UA: headings, tables and the charts' alt text survive for screen readers;
    # WeasyPrint's user-agent styles without those of footnotes and notes, which the reports
    # never have (patches.pdf_html_class)
    html_class = patches.pdf_html_class(page + (css or ""))
    document = html_class(
        string=page, base_url=str(html_path.parent), url_fetcher=_url_fetcher(images)
    )
    document.write_pdf(
        target, pdf_variant="pdf/ua-1", font_config=_pdf_font_config(), stylesheets=stylesheets
    )


def render_report(title: str, body: str, output: str, site: dict[str, Any] | None) -> str:
    """A report body in the page template, for the report written at ``output``."""
    return pages.render_page(
        title, body, depth=output.count("/"), pdf=f"{Path(output).name}.pdf", site=site
    )
