"""Same inputs, same bytes: the reports do not depend on the machine's fonts or the clock.

Two builds of the same reports, the second under a fontconfig configuration that gives
another family (DejaVu Serif) for Arial, Helvetica, Liberation Sans and sans-serif, as a
machine with other fonts installed would, must give byte-identical HTML and PDF.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, run_all_command, run_all_env
from pypdf import PdfReader

from analysis import build, fonts
from analysis.build import keys

SUBSTITUTED = ["Arial", "Helvetica", "Liberation Sans", "DejaVu Sans", "sans-serif"]


def _other_fontconfig(folder: Path) -> Path:
    """A fontconfig file: the system's configuration, then every sans family swapped for DejaVu Serif."""
    rules = "".join(
        f'<match target="pattern"><test name="family" qual="any"><string>{family}</string></test>'
        f'<edit name="family" mode="prepend" binding="strong"><string>DejaVu Serif</string></edit></match>\n'
        for family in SUBSTITUTED
    )
    path = folder / "fonts.conf"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n<fontconfig>\n'
        '<include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n'
        + rules
        + "</fontconfig>\n"
    )
    return path


@pytest.fixture(scope="module")
def two_builds(clean_build, tmp_path_factory) -> tuple[Path, Path, Path]:
    """The clean build, and the same build under a fontconfig that swaps every sans-serif font."""
    base = tmp_path_factory.mktemp("reproducible")
    config = _other_fontconfig(base)
    done = subprocess.run(
        run_all_command(base / "b"),
        cwd=ROOT,
        env={**run_all_env(), "FONTCONFIG_FILE": str(config)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return clean_build, base / "b", config


def test_the_other_fontconfig_really_gives_other_fonts(two_builds) -> None:
    """Without this, the comparison below could pass on a machine where nothing was swapped."""
    _, _, config = two_builds
    if not shutil.which("fc-match"):
        pytest.skip("fc-match (fontconfig's tools) is not installed")
    here = subprocess.run(
        ["fc-match", "-f", "%{family}", "Arial"], capture_output=True, text=True
    ).stdout
    there = subprocess.run(
        ["fc-match", "-f", "%{family}", "Arial"],
        capture_output=True,
        text=True,
        env={**os.environ, "FONTCONFIG_FILE": str(config)},
    ).stdout
    assert "DejaVu Serif" in there and there != here


def test_two_builds_give_byte_identical_html_and_pdf(two_builds) -> None:
    a, b, _ = two_builds
    pages = sorted(p.relative_to(a) for p in a.rglob("*") if p.suffix in (".html", ".pdf"))
    assert len(pages) == 4  # the report as HTML and PDF, the index and the accessibility statement
    for rel in pages:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_two_builds_give_byte_identical_data(two_builds) -> None:
    """The downloads too: CSV, Parquet and the spreadsheet (whose properties carry the
    publication's date, not the time it was written)."""
    a, b, _ = two_builds
    files = sorted(p.relative_to(a) for p in (a / "data").rglob("*") if p.is_file())
    assert {".csv", ".parquet", ".xlsx"} <= {f.suffix for f in files}
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_pdfs_embed_only_the_projects_font(two_builds) -> None:
    a, b, _ = two_builds
    for pdf in [*a.rglob("*.pdf"), *b.rglob("*.pdf")]:
        names = set()
        for page in PdfReader(pdf).pages:
            for font in (page.get("/Resources", {}).get("/Font") or {}).values():
                names.add(str(font.get_object()["/BaseFont"]))
        families = {re.sub(r"^/[A-Z]{6}\+", "", n) for n in names}
        assert families and families <= {
            "LSI-Report-Sans",
            "LSI-Report-Sans-Bold",
            "LSI-Report-Sans-Italic",
            "LSI-Report-Sans-BoldItalic",
        }, (pdf, names)


def test_every_character_of_the_reports_is_in_the_shipped_font(two_builds) -> None:
    """A character the font lacks would be drawn from some installed font: not reproducible."""
    from fontTools.ttLib import TTFont

    a, _, _ = two_builds
    for weight, style in fonts.FACES:
        cmap = TTFont(fonts.path(weight, style), lazy=True).getBestCmap()
        for page in a.rglob("*.html"):
            text = re.sub(r"<(script|style)\b.*?</\1>|<[^>]+>", " ", page.read_text(), flags=re.S)
            missing = {
                ch
                for ch in html.unescape(text)
                if ch.isprintable() and not ch.isspace() and ord(ch) not in cmap
            }
            assert not missing, (page, weight, style, sorted(missing))


def test_charts_and_table_widths_use_the_shipped_font() -> None:
    from matplotlib import font_manager

    from analysis import charts, tables

    charts.use_style()
    found = Path(font_manager.findfont(font_manager.FontProperties(family=fonts.FAMILY)))
    assert found == fonts.path()
    bold = Path(
        font_manager.findfont(font_manager.FontProperties(family=fonts.FAMILY, weight="bold"))
    )
    assert bold == fonts.path("bold")
    import matplotlib as mpl

    assert mpl.rcParams["font.family"] == [fonts.FAMILY]
    # Liberation Sans has Helvetica's advance widths: 'n' is 556/1000 em, 'W' 944/1000, bold 'W' 944/1000
    assert tables.text_width("n") == pytest.approx(0.556, abs=5e-4)
    assert tables.text_width("W") == pytest.approx(0.944, abs=5e-4)
    assert tables.text_width("m", bold=True) == pytest.approx(0.889, abs=5e-4)
    # characters beyond Latin-1 have the font's own widths (an en dash is 556/1000 em, not a guess)
    assert tables.text_width("\u2013") == pytest.approx(0.556, abs=5e-4)


def test_library_version_follows_the_font_files(monkeypatch) -> None:
    """A new font changes every report's key, so the reports are rebuilt with it."""
    hashed: list[Path] = []
    monkeypatch.setattr(keys, "_hash_files", lambda paths: hashed.extend(paths) or "h")
    build.library_version()
    assert sorted(p for p in hashed if p.suffix == ".ttf") == sorted(
        fonts.path(w, s) for w, s in fonts.FACES
    )
    assert "SIL OPEN FONT LICENSE Version 1.1" in (fonts.FOLDER / "OFL.txt").read_text()


PDF_SCRIPT = """
import shutil, sys
from pathlib import Path
from analysis import build, fonts
fonts.FOLDER = Path(shutil.copytree(fonts.FOLDER, Path(sys.argv[1]) / "fonts"))
page = build.render_page("Camden", "<h1>Camden</h1><p>Body text – <strong>bold</strong> and <em>italic</em>.</p>", depth=1)
build.write_pdf(page, sys.argv[2], Path(sys.argv[1]) / "page.html")
"""


def test_pdf_does_not_depend_on_where_the_font_files_are(tmp_path) -> None:
    """The fonts are read from the project's folder, wherever it is checked out: the PDF
    must not carry that path (WeasyPrint names its copies of @font-face files after it)."""
    pdfs = []
    for place in ("here", "somewhere/else"):
        folder = tmp_path / place
        folder.mkdir(parents=True)
        done = subprocess.run(
            [sys.executable, "-c", PDF_SCRIPT, str(folder), str(folder / "page.pdf")],
            cwd=ROOT,
            env=run_all_env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        pdfs.append((folder / "page.pdf").read_bytes())
    assert pdfs[0] == pdfs[1]
    assert b"somewhere" not in pdfs[1]
