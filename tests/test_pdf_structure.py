"""The PDFs as a reader and a screen reader meet them: PDF/UA identification, a meaningful
title, table header cells with their scope, and tables that break across pages properly.

Read with pikepdf (dev extra) from the tagged structure WeasyPrint writes: each page's part of
a table is one Table element, whose cells name their page (/Pg).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pikepdf = pytest.importorskip("pikepdf")

from analysis import publication  # noqa: E402


def _kids(node) -> list:
    k = node.get("/K")
    if k is None:
        return []
    return list(k) if isinstance(k, pikepdf.Array) else [k]


def _elements(node) -> list:
    """Every structure element below ``node``, in document order."""
    found = []
    for kid in _kids(node):
        if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
            found.append(kid)
            found.extend(_elements(kid))
    return found


def _pdfs(site: Path) -> list[Path]:
    pdfs = sorted(site.rglob("*.pdf"))
    assert len(pdfs) == 5
    return pdfs


def _fragments(pdf) -> list[dict]:
    """Each page's part of each table: its page, whether it has the caption, its header rows
    and body rows."""
    page_of = {p.objgen: i + 1 for i, p in enumerate(pdf.pages)}
    out = []
    for table in (e for e in _elements(pdf.Root.StructTreeRoot) if e.S == "/Table"):
        inner = _elements(table)
        groups = {"/THead": 0, "/TBody": 0}
        pages = set()
        for group in (
            e for e in _kids(table) if isinstance(e, pikepdf.Dictionary) and e.get("/S") in groups
        ):
            rows = [
                r
                for r in _kids(group)
                if isinstance(r, pikepdf.Dictionary) and r.get("/S") == "/TR"
            ]
            groups[str(group.S)] += len(rows)
            pages |= {
                page_of[c.Pg.objgen]
                for r in rows
                for c in _kids(r)
                if isinstance(c, pikepdf.Dictionary)
            }
        captions = [page_of[e.Pg.objgen] for e in inner if e.S == "/Caption"]
        out.append(
            {
                "pages": pages,
                "caption": captions[0] if captions else None,
                "head": groups["/THead"],
                "body": groups["/TBody"],
            }
        )
    return out


def test_pdfs_identify_as_pdf_ua_with_a_meaningful_title(published_site) -> None:
    pub = publication.current()
    for path in _pdfs(published_site):
        with pikepdf.open(path) as pdf:
            assert pdf.open_metadata().get("pdfuaid:part") == "1", path
            assert bool(pdf.Root.MarkInfo.Marked) and str(pdf.Root.Lang) == "en-GB"
            assert bool(
                pdf.Root.ViewerPreferences.DisplayDocTitle
            )  # viewers show the title, not the file name
            title = str(pdf.docinfo["/Title"])
            assert title == pub.title or title.endswith(" – " + pub.title), title


def test_every_table_header_cell_has_its_scope(published_site) -> None:
    for path in _pdfs(published_site):
        with pikepdf.open(path) as pdf:
            headers = [e for e in _elements(pdf.Root.StructTreeRoot) if e.S == "/TH"]
            assert headers, path
            for th in headers:
                group = th.P.P.S  # TH -> TR -> THead or TBody
                # column headers in the header row; the first cell of a body row heads its row
                assert th.A.Scope == ("/Column" if group == "/THead" else "/Row"), (path, group)


def test_tables_break_across_pages_properly(published_site) -> None:
    """A caption is on the page of its table's first rows; no page holds fewer than two of a
    table's body rows; each page's part repeats the header row."""
    split = 0
    for path in _pdfs(published_site):
        with pikepdf.open(path) as pdf:
            fragments = _fragments(pdf)
            assert fragments, path
            tables: list[
                list[dict]
            ] = []  # a caption starts a table; a part without one continues it
            for part in fragments:
                if part["caption"] is not None or not tables:
                    tables.append([])
                tables[-1].append(part)
            for parts in tables:
                first = parts[0]
                assert first["caption"] is not None and first["caption"] == min(first["pages"]), (
                    path,
                    first,
                )
                rows = sum(p["body"] for p in parts)
                for part in parts:
                    assert part["head"] == 1, (path, part)  # the header row, repeated on every page
                    assert part["body"] >= min(2, rows), (
                        path,
                        part,
                    )  # never a caption or one row alone
                split += len(parts) > 1
    assert (
        split >= 1
    )  # the employment gaps have tables that run over a page: the rules above were exercised


def _image_resolutions(pdf) -> list[float]:
    """Pixels per inch of every image drawn on every page (the image's pixel width over the
    width it is drawn at), following the content streams' transformations (q, Q, cm), also
    inside form XObjects."""
    import numpy as np

    found = []

    def walk(stream_owner, resources, ctm):
        stack = []
        for operands, operator in pikepdf.parse_content_stream(stream_owner):
            op = str(operator)
            if op == "q":
                stack.append(ctm)
            elif op == "Q":
                ctm = stack.pop()
            elif op == "cm":
                a, b, c, d, e, f = (float(v) for v in operands)
                ctm = np.array([[a, b, 0], [c, d, 0], [e, f, 1]]) @ ctm
            elif op == "Do":
                xobject = resources.XObject[operands[0]]
                if xobject.Subtype == "/Image":
                    drawn = float(np.hypot(ctm[0, 0], ctm[0, 1]))  # points
                    found.append(int(xobject.Width) / (drawn / 72))
                elif xobject.Subtype == "/Form":
                    matrix = [float(v) for v in xobject.get("/Matrix", [1, 0, 0, 1, 0, 0])]
                    inner = np.array(
                        [
                            [matrix[0], matrix[1], 0],
                            [matrix[2], matrix[3], 0],
                            [matrix[4], matrix[5], 1],
                        ]
                    )
                    walk(xobject, xobject.get("/Resources", resources), inner @ ctm)

    for page in pdf.pages:
        walk(page, page.Resources, np.eye(3))
    return found


def test_charts_are_printed_at_200_pixels_per_inch_or_more(published_site) -> None:
    drawn = []
    for path in _pdfs(published_site):
        with pikepdf.open(path) as pdf:
            drawn += _image_resolutions(pdf)
    assert len(drawn) >= 10
    assert min(drawn) >= 200, sorted(drawn)[:5]


def _page_fill(pdf: Path) -> list[float]:
    """How far down its text area each page is used (0 to 1): the lowest drawn row between
    the page's top and bottom margins (14 mm and 16 mm of an A4 page, portrait or landscape),
    read from a grey rendering by poppler's ``pdftoppm``."""
    import subprocess
    import tempfile

    import numpy as np
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["pdftoppm", "-r", "24", "-gray", "-png", str(pdf), f"{tmp}/p"], check=True)
        pages = sorted(Path(tmp).glob("p-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
        fills = []
        for image in pages:
            grey = np.asarray(Image.open(image))
            height = 297 if len(grey) > grey.shape[1] else 210  # mm: portrait or landscape
            top, bottom = round(len(grey) * 14 / height), round(len(grey) * (height - 16) / height)
            inked = np.flatnonzero((grey[top:bottom] < 200).any(axis=1))
            fills.append(0.0 if inked.size == 0 else (inked[-1] + 1) / (bottom - top))
    return fills


def test_no_page_but_the_last_is_nearly_empty(published_site) -> None:
    """A page left with a line or two, because the chart after them needs a whole page, reads
    as a mistake: every page but a report's last is used at least a fifth of the way down."""
    import shutil

    if shutil.which("pdftoppm") is None:
        pytest.skip("poppler's pdftoppm is not installed")
    sparse = {}
    for path in _pdfs(published_site):
        fills = _page_fill(path)
        assert len(fills) >= 2
        low = [(n + 1, round(f, 2)) for n, f in enumerate(fills[:-1]) if f < 0.2]
        if low:
            sparse[path.name] = low
    assert not sparse, sparse


def test_tables_too_wide_for_a_portrait_page_are_printed_on_landscape_pages(
    published_site,
) -> None:
    """The borough page's data table for its spine chart has a dozen columns: across a portrait
    page its words were broken ('Camde-n'); it is printed on landscape pages of its own, laid
    out for their longer line, and the pages around it stay portrait."""
    import re

    from analysis import tables

    page = (published_site / "boroughs" / "camden.html").read_text()
    wide = re.findall(r"<div class='table-block wide'>.*?<caption id='[^']*'>(.*?)</caption>", page)
    assert len(wide) == 1 and wide[0].startswith("Data for the chart"), wide
    # the stated widths are those of the landscape line: every column holds its widest word
    block = page[page.index("<div class='table-block wide'>") :]
    block = block[: block.index("</table>")]
    widths = [int(w) for w in re.findall(r"<col style='width:(\d+)%'>", block)]
    assert sum(widths) == 100 and len(widths) >= 10
    headers = re.findall(r"<th scope='col'>(.*?)</th>", block)
    for header, width in zip(headers, widths):
        widest = max(tables.text_width(w, True) for w in tables._BREAKS.split(header))
        assert width / 100 * tables.LANDSCAPE_LINE >= widest, (header, width)
    with pikepdf.open(published_site / "boroughs" / "camden.pdf") as pdf:
        shapes = ["landscape" if p.mediabox[2] > p.mediabox[3] else "portrait" for p in pdf.pages]
    assert shapes[0] == shapes[-1] == "portrait" and "landscape" in shapes, shapes
    # the landscape pages come together: the table, and only the table, is on them
    first, last = shapes.index("landscape"), len(shapes) - 1 - shapes[::-1].index("landscape")
    assert set(shapes[first : last + 1]) == {"landscape"}
    from pypdf import PdfReader

    text = [p.extract_text() for p in PdfReader(published_site / "boroughs" / "camden.pdf").pages]
    assert text[first].lstrip().startswith("Data for the chart"), text[first][:80]
    assert "Source and base" not in "".join(text[first : last + 1])
    # a table that fits across a portrait page is not moved (the spine table of the City of
    # London, with few rows, or any measure page's)
    measure = (published_site / "measures" / "employment_gap.html").read_text()
    assert "table-block wide" not in measure
