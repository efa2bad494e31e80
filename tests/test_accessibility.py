"""The pages in a real browser: axe-core, phones, keyboard focus, the index's filter, and what
every page says about the publication.

The browser tests run headless Chromium through Playwright for Python (dev extra) with the
system's Chromium (``/usr/bin/chromium``, or ``$CHROMIUM``) and axe-core's script vendored in
``tests/vendor/axe-core`` (or ``$AXE_CORE_JS``). They skip cleanly where either is missing.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from pathlib import Path

import pytest
from pypdf import PdfReader

from analysis import build, publication
from analysis.validate import InputError

AXE = Path(
    os.environ.get("AXE_CORE_JS", Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js")
)
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# the rule sets the issue was found with: WCAG 2.0-2.2 A and AA, and best practice
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@pytest.fixture(scope="module")
def site(published_site) -> Path:
    return published_site


def _pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html"))


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    if not AXE.exists():
        pytest.skip(f"axe-core's script not found at {AXE}")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        yield chromium
        chromium.close()


def _axe_violations(browser, site: Path, width: int) -> dict[str, list[str]]:
    """axe-core's violations on every page of ``site`` at ``width`` pixels, by page, in one
    browser page (one session for the whole site)."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    found = {}
    for path in _pages(site):
        page.goto(path.as_uri())
        page.add_script_tag(path=str(AXE))
        violations = page.evaluate(
            "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations"
            ".map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))",
            AXE_TAGS,
        )
        if violations:
            found[str(path.relative_to(site))] = violations
    page.close()
    return found


@pytest.mark.parametrize("width", [1280, 390])
def test_axe_finds_no_violation_on_any_page(site, browser, width) -> None:
    found = _axe_violations(browser, site, width)
    assert len(_pages(site)) == 7  # five reports, the index and the accessibility statement
    assert not found, found


# every page of a whole build: a full demo build takes a minute or more of two cores, so this
# runs on a build already made, named by $LSI_FULL_SITE (e.g. LSI_FULL_SITE=reports after
# `make reports`), and is skipped without one
FULL_SITE = os.environ.get("LSI_FULL_SITE")


@pytest.mark.skipif(not FULL_SITE, reason="set LSI_FULL_SITE to a full build's folder")
@pytest.mark.parametrize("width", [1280, 390])
def test_axe_finds_no_violation_on_every_page_of_a_full_build(browser, width) -> None:
    site = Path(str(FULL_SITE))
    assert len(_pages(site)) >= 60, "not a full build"
    found = _axe_violations(browser, site, width)
    assert not found, found


@pytest.mark.parametrize("width", [320, 390])
def test_no_page_scrolls_sideways_on_a_phone(site, browser, width) -> None:
    """WCAG 1.4.10: only the tables scroll sideways, inside their own boxes, and their
    captions stay within the screen."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    for path in _pages(site):
        page.goto(path.as_uri())
        assert page.evaluate("document.documentElement.scrollWidth") <= width, path
        # a caption keeps to the screen while its table scrolls, even scrolled to the end
        page.evaluate(
            "document.querySelectorAll('.table-wrap').forEach(w => { w.scrollLeft = w.scrollWidth; })"
        )
        cut = page.evaluate(
            f"[...document.querySelectorAll('caption')]"
            f".filter(c => c.getBoundingClientRect().left < 0 || c.getBoundingClientRect().right > {width})"
            ".map(c => c.textContent)"
        )
        assert not cut, (path, cut)
    page.close()


def test_tables_scroll_in_named_focusable_regions(site) -> None:
    page = (site / "measures" / "employment_gap.html").read_text()
    regions = re.findall(
        r"<div class='table-wrap' ([^>]*)><table class='sized'><caption id='([^']+)'>", page
    )
    assert len(regions) == page.count("<table")  # every table
    for attributes, ident in regions:
        assert "role='region'" in attributes and "tabindex='0'" in attributes
        assert f"aria-labelledby='{ident}'" in attributes  # named by its caption
    assert len({ident for _, ident in regions}) == len(regions)


def _luminance(rgb: str) -> float:
    values = [int(v) / 255 for v in re.findall(r"\d+", rgb)[:3]]
    linear = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in values]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_verdict_marks_stand_out_from_the_page() -> None:
    """Better, worse, similar and not compared are meaningful marks: 3:1 or more against the
    white chart background (WCAG 1.4.11), as is the London reference line."""
    from matplotlib.colors import to_rgb

    from analysis import charts

    def rgb(colour: str) -> str:
        return "rgb({}, {}, {})".format(*(round(255 * v) for v in to_rgb(colour)))

    for verdict, style in charts.VERDICT_STYLE.items():
        assert _contrast(rgb(style["color"]), "rgb(255, 255, 255)") >= 3, verdict
    assert _contrast(rgb(charts.ORANGE), "rgb(255, 255, 255)") >= 3


def test_focused_links_and_controls_are_visible_and_legible(site, browser) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto((site / "index.html").as_uri())
    header_background = page.evaluate(
        "getComputedStyle(document.querySelector('header.site')).backgroundColor"
    )
    for selector, background in (
        ("header.site a", header_background),
        ("main a", "rgb(255, 255, 255)"),
    ):
        page.focus(selector)
        style = page.evaluate(
            f"(() => {{ const s = getComputedStyle(document.querySelector('{selector}')); "
            "return [s.color, s.backgroundColor, s.boxShadow]; })()"
        )
        text, fill, shadow = style
        assert _contrast(text, fill) >= 4.5, (
            selector,
            style,
        )  # the focused link's text on its highlight
        assert (
            _contrast(fill, background) >= 3
            or _contrast(re.findall(r"rgb\([^)]*\)", shadow)[-1], background) >= 3
        )
    page.focus("#filter")
    outline = page.evaluate("getComputedStyle(document.querySelector('#filter')).boxShadow")
    assert "rgb(11, 12, 12)" in outline  # a black ring, 19:1 against the white page
    page.close()


@pytest.mark.parametrize(
    "query, expected",
    [
        ("Kensington & Chelsea", ["Kensington and Chelsea"]),
        ("kensington and chelsea", ["Kensington and Chelsea"]),
        ("E09000007", ["Camden"]),
        ("chelsea kensington", ["Kensington and Chelsea"]),
        ("hate crime", ["Hate crimes per 1,000 residents"]),
        ("tower ham", ["Tower Hamlets"]),
    ],
)
def test_index_filter_finds_names_codes_and_several_words(site, browser, query, expected) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto((site / "index.html").as_uri())
    page.fill("#filter", query)
    shown = page.evaluate(
        "[...document.querySelectorAll('ul.reports li')].filter(li => !li.hidden && "
        "!li.closest('section').hidden).map(li => (li.querySelector('a') || li).textContent)"
    )
    assert [re.sub(r" \(not built\)$", "", s) for s in shown] == expected
    assert page.text_content("#count") == (
        "1 report matches" if len(expected) == 1 else f"{len(expected)} reports match"
    )
    # sections left without a match are hidden with their heading
    visible = page.evaluate(
        "[...document.querySelectorAll('section.reports')].filter(s => !s.hidden)"
        ".map(s => s.querySelector('h2').textContent)"
    )
    assert len(visible) == 1
    page.fill("#filter", "no such report")
    assert page.text_content("#count") == "No reports match"
    assert page.evaluate("[...document.querySelectorAll('section.reports')].every(s => s.hidden)")
    page.fill("#filter", "")
    assert page.text_content("#count") == ""
    assert page.evaluate("[...document.querySelectorAll('ul.reports li')].every(li => !li.hidden)")
    page.close()


def test_search_text_folds_as_the_filter_does() -> None:
    assert (
        build.search_text("Kensington & Chelsea", "E09000020") == "kensington and chelsea e09000020"
    )
    assert (
        build.search_text("hate_crime", "Pakistani/Bangladeshi")
        == "hate crime pakistani bangladeshi"
    )


def test_every_page_says_when_who_and_what_and_links_its_pdf_and_data(site) -> None:
    pub = publication.current()
    for path in _pages(site):
        page = path.read_text()
        rel = path.relative_to(site)
        title = re.search(r"<title>(.*?)</title>", page)[1]
        assert title.endswith(" – " + pub.title) or (
            path.stem == "london" and title == pub.title
        ), rel
        assert (
            f'<time datetime="{pub.published.isoformat()}">{publication.long_date(pub.published)}</time>'
            in page
        )
        for words in (
            "Next update",
            "Statistical status",
            "Produced by",
            "Contact",
            pub.status_demo[:40],
        ):
            assert words in page, (rel, words)
        root = "../" * (len(rel.parts) - 1)
        assert (
            f'href="{root}data/estimates.csv"' in page
            and f'href="{root}accessibility.html"' in page
        )
        if path.stem not in ("index", "accessibility"):
            assert (
                f'<a href="{path.stem}.pdf">This report as a PDF</a>' in page
                and path.with_suffix(".pdf").exists()
            )
    assert "Accessibility statement" in (site / "accessibility.html").read_text()
    for issue in pub.known_issues:
        assert issue[:50] in (site / "accessibility.html").read_text()


def test_pdf_metadata_title_and_dates(site) -> None:
    pub = publication.current()
    for pdf in site.rglob("*.pdf"):
        info = PdfReader(pdf).metadata
        # the page's title with the site's (London's report is the site's own title)
        assert info["/Title"].endswith(" – " + pub.title) or (
            pdf.stem == "london" and info["/Title"] == pub.title
        ), pdf
        assert info["/Author"] == pub.producer
        # the publication's date, not the build's: the same inputs give the same file
        assert str(info["/CreationDate"]).startswith("D:" + pub.published.strftime("%Y%m%d"))


def test_publication_date_is_an_input_with_a_clear_error(tmp_path) -> None:
    assert build.site_context(True, "2027-03-01")["published_long"] == "1 March 2027"
    assert build.site_context(False)["status"] == publication.current().status_real
    with pytest.raises(InputError, match="--publication-date.*YYYY-MM-DD.*'1/3/2027'"):
        build.build(tmp_path, only=["camden"], publication_date="1/3/2027", progress=False)
    assert not list(tmp_path.rglob("*.html"))
    assert isinstance(publication.current().published, dt.date)


def test_chart_marks_stand_out_from_the_page(demo_results) -> None:
    """Every line and mark that carries data in the trend and ranked charts (values, interval
    limits and bars, verdict markers, London's line) is 3:1 or more against white; grid lines
    and the interval's light fill are decoration."""
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection, PathCollection
    from matplotlib.colors import to_hex

    from analysis import charts

    est = demo_results.estimates
    series = est[
        (est.indicator == "get_on_well") & (est.area_code == "E12000007") & (est.breakdown == "all")
    ]
    latest = series["period"].max()
    boroughs = est[
        (est.indicator == "get_on_well")
        & (est.period == latest)
        & (est.breakdown == "all")
        & est.area_code.str.startswith("E09")
    ]
    made = [
        charts.trend(series, title="t", label="Agree", unit="%"),
        charts.ranked_boroughs(boroughs, title="t", london=70.0, unit="%", polarity="up"),
    ]
    for chart in made:
        ax = chart.figure.axes[0]
        grid = set(ax.get_xgridlines()) | set(ax.get_ygridlines())
        colours = [to_hex(line.get_color()) for line in ax.lines if line not in grid]
        for collection in ax.collections:
            if isinstance(collection, (LineCollection, PathCollection)):
                colours += [
                    to_hex(c)
                    for c in (
                        collection.get_edgecolor()
                        if isinstance(collection, LineCollection)
                        else collection.get_facecolor()
                    )
                ]
        assert colours
        for colour in colours:
            r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
            assert _contrast(f"rgb({r}, {g}, {b})", "rgb(255, 255, 255)") >= 3, (
                chart.alt[:40],
                colour,
            )
        plt.close(chart.figure)


def test_spine_band_stands_out_from_its_bar() -> None:
    """The middle half of boroughs is read against the light bar of the whole range: 3:1."""
    import matplotlib.pyplot as plt
    import pandas as pd
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import to_hex

    from analysis import charts

    rows = pd.DataFrame(
        {
            "label": ["A", "B"],
            "period": ["2018", "2018"],
            "value": [60.0, 40.0],
            "london": [50.0, 50.0],
            "min": [30.0, 30.0],
            "q25": [45.0, 45.0],
            "q75": [55.0, 55.0],
            "max": [70.0, 70.0],
            "verdict": ["better", "worse"],
            "polarity": ["up", "up"],
            "unit": ["%", "%"],
            "flag": ["", ""],
        }
    )
    chart = charts.spine(rows, title="t", area_name="Camden")
    bar, band = [c for c in chart.figure.axes[0].collections if isinstance(c, PolyCollection)][:2]

    def rgb(collection) -> str:
        colour = to_hex(collection.get_facecolor()[0])
        return "rgb({}, {}, {})".format(*(int(colour[i : i + 2], 16) for i in (1, 3, 5)))

    assert _contrast(rgb(band), rgb(bar)) >= 3
    plt.close(chart.figure)


def test_every_map_area_is_outlined_against_the_page(demo_results) -> None:
    """A borough whose class colour is light (1.6:1 on white for the lightest) is still seen:
    every area, and every legend swatch, has an outline of 3:1 or more."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_hex

    from analysis import charts, geography

    est = demo_results.estimates
    rows = est[
        (est.indicator == "electoral_registration")
        & (est.breakdown == "all")
        & est.area_code.str.startswith("E09")
    ]
    rows = rows[rows.period == rows.period.max()].copy()
    rows.loc[rows.index[0], "value"] = float("nan")  # one area without a figure: hatched
    chart = charts.choropleth(rows, geography.load_boundaries(), title="t", unit="%")
    ax = chart.figure.axes[0]

    def rgb(colour) -> str:
        hexa = to_hex(colour)
        return "rgb({}, {}, {})".format(*(int(hexa[i : i + 2], 16) for i in (1, 3, 5)))

    areas = [c for c in ax.collections if len(c.get_facecolor())]
    assert len(areas) >= 3
    for collection in areas:
        for edge in collection.get_edgecolor():
            assert _contrast(rgb(edge), "rgb(255, 255, 255)") >= 3, to_hex(edge)
    for patch in ax.get_legend().get_patches():
        assert _contrast(rgb(patch.get_edgecolor()), "rgb(255, 255, 255)") >= 3
    # the classes' ranges in the legend do not share their ends ("70.8 to 72.6%", "72.6 to ...")
    ranges = [
        re.findall(r"[\d.]+", t.get_text())
        for t in ax.get_legend().get_texts()
        if " to " in t.get_text()
    ]
    ends = [(float(low), float(high)) for low, high in ranges]
    assert len(ends) >= 3 and all(
        high < next_low for (_, high), (next_low, _) in zip(ends, ends[1:])
    ), ends
    plt.close(chart.figure)


def test_charts_are_200_pixels_per_inch_at_their_size_on_the_page(site) -> None:
    """Sharp when zoomed in: each chart's PNG has 200 pixels or more for each inch (96 CSS
    pixels) of the width the page gives it; and the PDF reads it at the same resolution."""
    import base64
    import struct

    from analysis import charts

    images = re.findall(
        r"<img src='data:image/png;base64,([^']+)' width='(\d+)' height='(\d+)'",
        (site / "measures" / "employment_gap.html").read_text(),
    )
    assert images
    for data, width, height in images:
        pixels_wide, pixels_high = struct.unpack("!II", base64.b64decode(data[:44])[16:24])
        assert pixels_wide / (int(width) / 96) >= 200 and pixels_high / (int(height) / 96) >= 199
    css = build.pages.TEMPLATE.read_text()
    assert f"image-resolution: {charts.DPI}dpi" in css and charts.DPI >= 200
