"""Built demo pages say only what the estimates support.

A few reports are built as the build makes them (notebooks run, HTML written); their words,
alt texts, tables and counts are then checked against the build's own ``estimates.csv``
through the rulebook: no sentence, label or count may contradict a figure, the counts of a
borough page agree with each other, and context pages carry no judgement.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd
import pytest

from analysis import build, geography, measures, pipeline, report, rules

PAGES = [
    "measure:employment_gap",
    "measure:born_abroad",
    "measure:population_churn",
    "measure:electoral_registration",
    "kensington-and-chelsea",
    "city-of-london",
    "london",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("claims")
    result = build.build(out, jobs=2, only=PAGES, progress=False)
    assert not result.failures, [(r.name, r.error) for r in result.failures]
    return out


@pytest.fixture(scope="module")
def estimates(site) -> pd.DataFrame:
    return pipeline.read_estimates(site / "data" / "estimates.csv")


def page_text(path: Path) -> str:
    """The words a reader meets: text, alt texts and table cells (cells separated by ' | ')."""
    s = path.read_text(encoding="utf-8")
    s = re.sub(r"<style.*?</style>", "", s, flags=re.S)
    s = re.sub(r"<img[^>]*alt='([^']*)'[^>]*>", lambda m: "\n" + m.group(1) + "\n", s)
    s = re.sub(r"<t[dh][^>]*>(.*?)</t[dh]>", lambda m: m.group(1) + " | ", s, flags=re.S)
    s = re.sub(r"</?tr[^>]*>", "\n", s)
    s = re.sub(r"<[^>]+>", "", s)
    return html.unescape(s)


@pytest.mark.parametrize("measure_id", ["born_abroad", "population_churn"])
def test_context_pages_carry_no_judgement(site, measure_id) -> None:
    text = page_text(site / "measures" / f"{measure_id}.html")
    assert rules.polarity_sentence("neutral") in text  # the page says it is a context indicator
    judged = text.replace(rules.polarity_sentence("neutral"), "")
    found = re.findall(r"\b(better|worse|best|worst)\b", judged, flags=re.I)
    assert not found, f"{measure_id}: judgement words {found}"


def test_inner_outer_sentences_use_the_polarity_of_their_row(site, estimates) -> None:
    text = page_text(site / "measures" / "employment_gap.html")
    rows = estimates[
        (estimates.indicator == "employment_rate")
        & estimates.area_code.isin([geography.INNER_LONDON_CODE, geography.OUTER_LONDON_CODE])
    ]
    latest = rows[rows.period == rows.period.max()]
    assert len(latest) == 2
    for _, r in latest.iterrows():
        phrase = rules.comparison_phrase(r.compared_to_london, r.polarity)
        assert f"{r.area_name}: {r.value:.1f}%, {phrase}" in text
    # a group is higher or lower than London as a whole, in sentences and alt texts alike
    groups = text[text.index("Population groups") : text.index("Boroughs")]
    assert not re.findall(r"\b(better|worse)\b", groups, flags=re.I)


def test_borough_counts_match_the_estimates(site, estimates) -> None:
    text = page_text(site / "measures" / "electoral_registration.html")
    rows = estimates[
        (estimates.indicator == "electoral_registration")
        & estimates.area_code.str.startswith("E09")
    ]
    latest = rows[rows.period == rows.period.max()]
    higher, lower = (int((latest.compared_to_london == c).sum()) for c in ("higher", "lower"))
    shown = int(latest.value.notna().sum())
    assert (
        f"{higher} of the {shown} boroughs with a published figure were significantly higher than London "
        f"and {lower} significantly lower"
    ) in text
    assert higher + lower < shown / 2  # overdispersion-adjusted limits: not most boroughs
    assert "Spiegelhalter" in text  # the page names its method


def test_borough_page_counts_agree_and_every_row_matches_the_estimates(site, estimates) -> None:
    name = "Kensington and Chelsea"
    text = page_text(site / "boroughs" / "kensington-and-chelsea.html")
    summary = re.search(r"better than London on (\d+) of (\d+) indicators", text)
    spine_alt = re.search(
        r"Spine chart of (\d+) indicators for "
        + name
        + r" against London: (\d+) better, (\d+) worse",
        text,
    )
    assert summary and spine_alt
    n = int(summary.group(2))
    assert int(spine_alt.group(1)) == n
    assert int(spine_alt.group(2)) == int(summary.group(1))
    worse = re.search(r"Significantly worse than London on (\d+)", text)
    assert int(worse.group(1)) == int(spine_alt.group(3))
    # the indicator table: each row's words from the rulebook applied to estimates.csv
    mine = estimates[estimates.area_code == geography.to_code(name)]
    table = [line.split(" | ") for line in text.splitlines() if line.count(" | ") >= 9]
    header = table[0]
    assert header[:2] == ["Indicator", "Period"]
    col = {h: i for i, h in enumerate(header)}
    judged = 0
    labels = {label: indicator for _, indicator, label in report.headline_indicators()}
    for cells in table[1:]:
        indicator = labels[cells[0]]
        row = mine[(mine.indicator == indicator) & (mine.period == cells[col["Period"]])].iloc[0]
        assert cells[col["Compared with London"]] == rules.comparison_phrase(
            row.compared_to_london, row.polarity
        )
        survey = measures.get(row.measure_id).is_survey
        assert cells[col["Note"]] == rules.flag_reason_text(row.flag, row.flag_reason, survey)
        rank = cells[col["Rank (1 = best)"]]
        if row.flag == "[u]":
            assert rank == "not ranked [u]"
        if row.polarity == "neutral":
            assert rank == "not ranked (context indicator)"
        else:
            judged += 1
    assert judged == n
    # Kensington and Chelsea's early-education figure is withheld to protect the City's, and says so
    assert "secondary suppression" in text
    assert "too small to publish reliably" not in text


def _first_section(path: Path) -> str:
    """The page's first section after its title: from the first h2 to the next."""
    s = path.read_text(encoding="utf-8")
    start = s.index("<h2>")
    end = s.find("<h2>", start + 4)
    return s[start:end]


@pytest.mark.parametrize("slug", ["kensington-and-chelsea", "city-of-london"])
def test_borough_pages_open_with_key_messages_with_numbers(site, slug) -> None:
    first = _first_section(site / "boroughs" / f"{slug}.html")
    assert first.startswith("<h2>Key messages</h2>")
    items = re.findall(r"<li>(.*?)</li>", first, re.S)
    assert 3 <= len(items) <= 5
    assert all(re.search(r"\d", i) for i in items)
    # the locator map is small and after the messages, not half of the first page
    width = re.search(r"<img [^>]*width='(\d+)'", first)
    assert width and int(width.group(1)) < 300


@pytest.mark.parametrize("slug", ["kensington-and-chelsea", "city-of-london"])
def test_every_indicator_a_borough_page_shows_links_its_measure_page(site, slug) -> None:
    s = (site / "boroughs" / f"{slug}.html").read_text(encoding="utf-8")
    measure_of = {html.unescape(label): m.id for m, _, label in report.headline_indicators()}
    spine = s[s.index("All indicators against London") : s.index("<h2>Similar boroughs")]
    rows = re.findall(r"<tr><th scope='row'>(.*?)</th>", spine)
    linked = [re.match(r'<a href="([^"]+)">(.*)</a>$', r) for r in rows]
    assert rows and all(linked), rows
    for m in linked:
        assert m.group(1) == f"../measures/{measure_of[html.unescape(m.group(2))]}.html"
    # and the neighbours are named, with the method
    text = page_text(site / "boroughs" / f"{slug}.html")
    names = re.search(r"The five boroughs most like .*?: (.*?)\. ", text)
    assert names and len(names.group(1).split(", ")) == 5
    assert "standardised (z-score) Euclidean distance" in text


def test_the_city_page_has_no_empty_chart_rows(site) -> None:
    text = page_text(site / "boroughs" / "city-of-london.html")
    alt = re.search(r"Spine chart of (\d+) indicators .*?only the (\d+) with a published", text)
    assert alt
    drawn = int(alt.group(2))
    assert drawn < int(alt.group(1))
    # the spine table (the chart's data) holds only figures that exist: no [c] or [x] cell
    section = text[text.index("All indicators against London") : text.index("Similar boroughs")]
    table = [line.split(" | ") for line in section.splitlines() if line.count(" | ") >= 9]
    col = table[0].index("City of London")
    assert all(not cells[col].startswith("[") for cells in table[1:])
    page = report.BoroughPage("E09000001", site / "data")
    assert len(table) - 1 == int(page.summary_rows["value"].notna().sum())


def test_the_london_page_opens_with_key_messages_and_links_every_measure(site, estimates) -> None:
    s = (site / "london.html").read_text(encoding="utf-8")
    first = _first_section(site / "london.html")
    assert first.startswith("<h2>Key messages</h2>")
    assert all(re.search(r"\d", i) for i in re.findall(r"<li>(.*?)</li>", first, re.S))
    for m in measures.registry():
        if m.id in set(estimates.measure_id):
            assert f'href="measures/{m.id}.html"' in s, m.id
    text = page_text(site / "london.html")
    assert "not compared" not in text  # London is never compared with itself
    # a London figure appears in its domain's table, not again in a chart's table or a bullet
    row = (
        estimates[
            (estimates.indicator == "get_on_well")
            & (estimates.area_code == geography.LONDON_CODE)
            & (estimates.breakdown == "all")
        ]
        .sort_values("period")
        .iloc[-1]
    )
    ci = f"{row.lower_ci:.1f} to {row.upper_ci:.1f}"
    assert text.count(ci) == 1
