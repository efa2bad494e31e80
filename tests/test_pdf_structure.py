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
    assert len(pdfs) == 4
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
        for group in (e for e in _kids(table) if isinstance(e, pikepdf.Dictionary) and e.get("/S") in groups):
            rows = [r for r in _kids(group) if isinstance(r, pikepdf.Dictionary) and r.get("/S") == "/TR"]
            groups[str(group.S)] += len(rows)
            pages |= {page_of[c.Pg.objgen] for r in rows for c in _kids(r) if isinstance(c, pikepdf.Dictionary)}
        captions = [page_of[e.Pg.objgen] for e in inner if e.S == "/Caption"]
        out.append({"pages": pages, "caption": captions[0] if captions else None,
                    "head": groups["/THead"], "body": groups["/TBody"]})
    return out


def test_pdfs_identify_as_pdf_ua_with_a_meaningful_title(published_site) -> None:
    pub = publication.current()
    for path in _pdfs(published_site):
        with pikepdf.open(path) as pdf:
            assert pdf.open_metadata().get("pdfuaid:part") == "1", path
            assert bool(pdf.Root.MarkInfo.Marked) and str(pdf.Root.Lang) == "en-GB"
            assert bool(pdf.Root.ViewerPreferences.DisplayDocTitle)  # viewers show the title, not the file name
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
            tables: list[list[dict]] = []  # a caption starts a table; a part without one continues it
            for part in fragments:
                if part["caption"] is not None or not tables:
                    tables.append([])
                tables[-1].append(part)
            for parts in tables:
                first = parts[0]
                assert first["caption"] is not None and first["caption"] == min(first["pages"]), (path, first)
                rows = sum(p["body"] for p in parts)
                for part in parts:
                    assert part["head"] == 1, (path, part)  # the header row, repeated on every page
                    assert part["body"] >= min(2, rows), (path, part)  # never a caption or one row alone
                split += len(parts) > 1
    assert split >= 1  # the employment gaps have tables that run over a page: the rules above were exercised
