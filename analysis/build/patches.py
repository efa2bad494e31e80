"""The build's changes to nbconvert and WeasyPrint internals, in one place, behind a version
check.

Each one makes the build faster or its PDFs more accessible by reaching into a library's
private code, which can change in any release. They were written against the versions pinned
in ``pyproject.toml`` (``PATCHED_FOR``). With another version installed the build takes the
library's own, unpatched path (the same HTML; PDFs without the speed-ups and without header
scopes) and logs once which package and what is lost, so a version bump never silently
changes what the patches do.
"""

from __future__ import annotations

import functools
import io
import logging
import re
import struct
from importlib import metadata
from typing import Any

log = logging.getLogger(__name__)

# what a patch replaced, by name: for the tests that compare the patched and unpatched output
UNPATCHED: dict[str, Any] = {}

#: the versions the patches below were written against and tested with
PATCHED_FOR = {"nbconvert": "7.17.2", "weasyprint": "70.0", "pydyf": "0.13.0", "lxml": "6.1.3"}


def installed(package: str) -> str | None:
    """The installed version of ``package`` (None when it is not installed)."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


@functools.cache
def patchable(package: str) -> bool:
    """Whether the installed ``package`` is the version the patches were written for; if not,
    say once (in the log) that the build uses the unpatched path."""
    found = installed(package)
    if found == PATCHED_FOR[package]:
        return True
    log.warning(
        "%s %s is installed, but the build's patches to it were written for %s: using %s's own "
        "code instead (see analysis/build/patches.py)",
        package,
        found,
        PATCHED_FOR[package],
        package,
    )
    return False


# ------------------------------------------------------------------------------------------
# nbconvert: the HTML of a report body

# an <img> element with no alt attribute
_IMG_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\salt\s*=)", re.I)
NO_ALT_TEXT = "No description has been provided for this image"


def give_images_alt_text(page_html: str) -> str:
    """Give every image that has no alt text nbconvert's placeholder (the charts all have their own)."""
    return _IMG_WITHOUT_ALT.sub(f'<img alt="{NO_ALT_TEXT}"', page_html)


def html_exporter_class() -> type:
    """nbconvert's HTML exporter, or, with the pinned nbconvert, the same but for one step.

    After rendering, nbconvert re-parses the whole page with BeautifulSoup to give images
    without alt text a placeholder and JupyterLab's cell wrappers a tab stop. The lean
    template has no such wrappers, so the placeholder is given by ``give_images_alt_text``
    instead, which spares that parse (about half of each report's HTML conversion). This
    re-implements ``HTMLExporter.from_notebook_node`` without the parse, hence the check.
    """
    from nbconvert import HTMLExporter, TemplateExporter

    if not patchable("nbconvert"):
        return HTMLExporter

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

    return LeanHTMLExporter


# ------------------------------------------------------------------------------------------
# WeasyPrint: the PDFs


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
def pdf_png_passthrough() -> bool:
    """Let WeasyPrint embed a chart's PNG pixel data as it is; whether it was patched.

    WeasyPrint 70 decodes every PNG and encodes it again only to read the compressed
    scanlines back out of its own copy, about a tenth of a measure page's PDF time. For the
    PNGs the charts are (8-bit RGB, not interlaced) the scanlines in the original file are
    the same kind of data, so they are used directly; any other image goes the usual way.
    """
    if not patchable("weasyprint"):
        return False
    from weasyprint.images import RasterImage

    original = RasterImage._get_png_data

    def png_data(pillow_image: Any) -> bytes:
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
    return True


@functools.cache
def pdf_header_scopes() -> bool:
    """Give every table header cell of the tagged PDF its /Scope (/Column, or /Row for
    ``<th scope="row">``), as PDF/UA asks (Matterhorn checkpoint 15-003); whether it was
    patched.

    WeasyPrint 70 tags ``<th>`` as TH and links data cells to their headers, but writes no
    /Scope; each TH element's tag is given it once WeasyPrint has built it (its box then holds
    the element as ``mark``).
    """
    if not patchable("weasyprint"):
        return False
    from weasyprint.pdf import tags

    original = tags._build_box_tree

    def build_box_tree(box: Any, *args: Any, **kwargs: Any) -> Any:
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

    tags._build_box_tree = build_box_tree
    return True


@functools.cache
def pdf_page_references() -> bool:
    """Let the PDF writer list its pages' references once instead of for every tagged element;
    whether it was patched.

    pydyf 0.13's ``PDF.page_references`` makes a new tuple of every page's reference each
    time it is read, and WeasyPrint 70 reads it for each element of the tagged structure
    tree and each link: on a measure page of 28 pages about 3% of the PDF's time. The patched
    property keeps the tuple until a page is added (the same references, so the same PDF).
    """
    if not patchable("pydyf"):
        return False
    import pydyf

    def page_references(self: Any) -> tuple[bytes, ...]:
        kids = self.pages["Kids"]
        cached = self.__dict__.get("_page_references")
        if cached is None or cached[0] != len(kids):
            cached = (len(kids), tuple(f"{n} 0 R".encode("ascii") for n in kids[::3]))
            self._page_references = cached
        return cached[1]

    UNPATCHED["pydyf.PDF.page_references"] = pydyf.PDF.__dict__["page_references"]
    pydyf.PDF.page_references = property(page_references)
    return True


def parse_page(text: str) -> Any:
    """A report page as the element tree WeasyPrint's HTML5 parser (tinyhtml5) makes of it,
    parsed by libxml2 (lxml) in C; None when lxml cannot parse it.

    The two parsers build the same tree from the pages the build writes (tested on the
    published reports in tests/test_build_package.py; every demo and real PDF was the same)
    but for where whitespace outside ``<body>`` goes: HTML5 drops it before ``<head>`` and
    moves it after ``</body>`` into the body, as here.
    """
    import xml.etree.ElementTree as ElementTree

    import lxml.etree
    import lxml.html

    try:
        document = lxml.html.document_fromstring(text)
    except (lxml.etree.ParserError, ValueError):
        return None
    root = ElementTree.fromstring(lxml.etree.tostring(document, encoding="unicode"))
    if root.tag != "html":
        return None
    if root.text is not None and not root.text.strip():
        root.text = None
    body = root.find("body")
    if body is not None and body.tail is not None and not body.tail.strip():
        if len(body):
            body[-1].tail = (body[-1].tail or "") + body.tail
        else:
            body.text = (body.text or "") + body.tail
        body.tail = None
    return root


@functools.cache
def pdf_html_parser() -> bool:
    """Let WeasyPrint read the report pages with libxml2 instead of its pure-Python HTML5
    parser, which reads the page one character at a time (about 25 ms a page, 1.5 s of CPU a
    build); whether it was patched. A page lxml cannot parse goes to the HTML5 parser."""
    if not (patchable("weasyprint") and patchable("lxml")):
        return False
    import weasyprint

    html5 = weasyprint.tinyhtml5

    class Parser:
        """Stands in for the ``tinyhtml5`` module in WeasyPrint: only ``parse`` is used."""

        @staticmethod
        def parse(document: Any, **options: Any) -> Any:
            if isinstance(document, io.StringIO) and options == {"namespace_html_elements": False}:
                root = parse_page(document.getvalue())
                if root is not None:
                    return root
                document.seek(0)
            return html5.parse(document, **options)

    UNPATCHED["weasyprint.tinyhtml5"] = html5
    weasyprint.tinyhtml5 = Parser
    return True


# ------------------------------------------------------------------------------------------
# WeasyPrint: its user-agent stylesheet

# what in a page's HTML or CSS would need the rules the lean stylesheet leaves out: a footnote
# (float: footnote), a note (position: note()) or a list item other than <li>
_NEEDS_FULL_UA_SHEET = re.compile(r"footnote|note\s*\(|list-item", re.I)
# the rules left out: the pseudo-elements of footnotes and notes
_UA_NOTE_RULES = re.compile(r"^::(?:footnote|note)-[a-z]+ *\{[^}\n]*\}$", re.M)


@functools.cache
def _lean_user_agent_stylesheet() -> Any | None:
    """WeasyPrint's HTML5 user-agent stylesheet without the rules a report page never uses
    (None if the stylesheet is not what the patch was written for)."""
    from weasyprint import CSS
    from weasyprint.html import UA

    text, notes = _UA_NOTE_RULES.subn("", UA)
    text, markers = re.subn(r"^::marker \{", "li::marker {", text, flags=re.M)
    if (notes, markers) != (5, 1):
        return None
    return CSS(string=text, counter_style={})


def pdf_html_class(page: str) -> type:
    """WeasyPrint's ``HTML`` class for a report page: with the pinned WeasyPrint and a page
    that has no footnote, note or list item other than ``<li>``, one whose user-agent
    stylesheet leaves out the rules that only those would use.

    The stock stylesheet gives every element of the page the ``::marker``,
    ``::footnote-call``, ``::footnote-marker``, ``::note-call``, ``::note-marker`` and
    ``::note-callback`` pseudo-elements, each cascaded and given a computed style of its own,
    although WeasyPrint only draws a marker for a list item and the others for footnotes and
    notes. With those rules for ``<li>`` markers only, the PDFs took about a tenth less CPU
    (49.5 s against 55.6 s for the 60 demo PDFs, in separate processes) and are the same byte
    for byte (tested on the published reports).
    """
    from weasyprint import HTML

    if not patchable("weasyprint") or _NEEDS_FULL_UA_SHEET.search(page):
        return HTML
    lean = _lean_user_agent_stylesheet()
    if lean is None:
        return HTML
    return _lean_html_class(lean)


@functools.cache
def _lean_html_class(lean: Any) -> type:
    from weasyprint import HTML

    class LeanHTML(HTML):
        """HTML with the lean user-agent stylesheet (see ``pdf_html_class``)."""

        def _ua_stylesheets(self, forms: bool = False) -> list[Any]:
            return [lean, *super()._ua_stylesheets(forms)[1:]]

    return LeanHTML


# ------------------------------------------------------------------------------------------
# WeasyPrint: the fonts of each piece of text

_FONT_KEYS = (
    "font_family",
    "font_style",
    "font_stretch",
    "font_weight",
    "font_size",
    "font_variant_caps",
    "font_variation_settings",
)


@functools.cache
def pdf_text_fonts_once() -> bool:
    """Let WeasyPrint work out each distinct font description and set of OpenType features
    once per process instead of once per piece of text; whether it was patched.

    WeasyPrint 70 makes a new Pango font description and a new features table for every text
    box it lays out (every table cell, every line), from the same few styles: about 5% of a
    borough page's PDF time. Both are pure functions of the style's font properties, and Pango
    copies the description it is given, so one per distinct set of properties gives the same
    layout and the same PDF (tested on the published reports).
    """
    if not patchable("weasyprint"):
        return False
    from weasyprint.text import line_break

    describe, features = line_break.get_font_description, line_break.font_features
    descriptions: dict[tuple[Any, ...], Any] = {}

    def font_description(style: Any) -> Any:
        try:
            key = tuple(style[k] for k in _FONT_KEYS)
            found = descriptions.get(key)
        except TypeError:  # a property value that cannot be a key: made afresh
            return describe(style)
        if found is None:
            found = descriptions[key] = describe(style)
        return found

    known_features = functools.lru_cache(maxsize=1024)(features)

    def font_features(*properties: Any) -> dict[str, int]:
        try:
            return known_features(*properties)
        except TypeError:  # a property value that cannot be a key: worked out afresh
            return features(*properties)

    UNPATCHED["weasyprint.text.line_break.get_font_description"] = describe
    UNPATCHED["weasyprint.text.line_break.font_features"] = features
    line_break.get_font_description = font_description
    line_break.font_features = font_features
    return True
