"""The page template and the site's own pages: the index of reports and the accessibility statement.

Every report page, the index and the statement share one accessible template
(``templates/report.html``): site navigation, skip link, the publication's details
(:mod:`analysis.publication`) and print rules for the PDFs. The index lists every report with a
filter that finds a borough by name, alias or GSS code and a measure by title or id.
"""

from __future__ import annotations

import functools
import html
import re
from pathlib import Path
from typing import TYPE_CHECKING

from analysis import geography, measures
from analysis.outputs import SYNTHETIC_NOTICE, atomic_write

if TYPE_CHECKING:
    from analysis.build import Job

TEMPLATE = Path(__file__).parent / "templates" / "report.html"


def site_context(synthetic: bool | None = None, published: str | None = None) -> dict:
    """What every page says about the publication (``analysis.publication``): producer,
    contact, dates and the status of a build from demo (``synthetic``) or real data. Plain
    values, so that it can be hashed into the reports' keys and sent to the workers."""
    from analysis import publication

    pub = publication.current().with_date(published)
    return {
        "title": pub.title,
        "producer": pub.producer,
        "contact_text": pub.contact_text,
        "contact_email": pub.contact_email,
        "published": pub.published.isoformat(),
        "published_long": publication.long_date(pub.published),
        "next_update": pub.next_update,
        "status": pub.status(synthetic is not False),
    }


def render_page(
    title: str, body: str, depth: int = 0, *, pdf: str | None = None, site: dict | None = None
) -> str:
    """Wrap a report body in the accessible page template.

    ``depth`` is how many folders below the site's root the page is (for its links), ``pdf``
    the address of the page's own PDF, relative to it, and ``site`` the publication's
    metadata (``site_context``; a demo build's when not given).
    """
    return _page_template().render(
        title=title,
        body=body,
        root="../" * depth,
        pdf=pdf,
        site=site if site is not None else site_context(),
    )


@functools.cache
def _page_template():
    from jinja2 import Template

    return Template(TEMPLATE.read_text(encoding="utf-8"))


def search_text(*texts: str) -> str:
    """What the index's filter matches a report against: its names folded as the filter folds
    what is typed (``fold`` in ``FILTER_SCRIPT``): lower case, '&' as 'and', anything
    but letters and digits as one space. So "Kensington & Chelsea", "kensington and chelsea",
    "E09000020" and "chelsea kensington" all find the same report."""
    folded = " ".join(texts).lower().replace("&", " and ")
    return " ".join(re.sub(r"[^0-9a-z]+", " ", folded).split())


# the filter: every word typed must appear in a report's search text; sections with no match
# are hidden with their heading; the count is announced (role=status)
FILTER_SCRIPT = """<script>
(function () {
  var box = document.getElementById('filter'), count = document.getElementById('count');
  function fold(text) { return text.toLowerCase().replace(/&/g, ' and ').replace(/[^0-9a-z]+/g, ' ').trim(); }
  function apply() {
    var words = fold(box.value).split(' ').filter(Boolean), shown = 0;
    document.querySelectorAll('section.reports').forEach(function (section) {
      var inSection = 0;
      section.querySelectorAll('li[data-search]').forEach(function (li) {
        var key = ' ' + li.getAttribute('data-search') + ' ';
        var match = words.every(function (w) { return key.indexOf(' ' + w) >= 0; });
        li.hidden = !match;
        if (match) { inSection++; }
      });
      section.hidden = inSection === 0;
      shown += inSection;
    });
    count.textContent = !words.length ? '' : shown === 0 ? 'No reports match' : shown === 1 ? '1 report matches'
      : shown + ' reports match';
  }
  box.addEventListener('input', apply);
  apply();
})();
</script>"""


def _search_terms(job: Job) -> list[str]:
    """A report's names for the filter: title and name, and for a borough its GSS code, slug,
    aliases and Inner/Outer London; for a measure its id and domain."""
    terms = [job.title, job.name]
    if job.kind == "borough":
        row = geography.boroughs().set_index("slug").loc[job.name]
        terms += [row["code"], row["name"], *row["aliases"], f"{row['inner_outer']} London"]
    elif job.kind == "measure":
        m = measures.get(job.name)
        terms += [m.id.replace("_", " "), m.domain]
    return terms


def write_index(
    out: Path,
    jobs: list[Job],
    reports: dict,
    estimates_info: dict,
    current_keys: dict[str, str] | None = None,
    site: dict | None = None,
) -> None:
    """``index.html``: every report, filterable by borough and measure; and the accessibility
    statement, ``accessibility.html``.

    A report whose key is not ``current_keys``' (built earlier from other inputs, parameters or
    code, and not rebuilt since) is marked out of date.
    """
    site = site if site is not None else site_context(estimates_info.get("synthetic"))

    def entry(job: Job) -> str:
        record = reports.get(job.output, {})
        state = record.get("status", "not built")
        exists = (out / f"{job.output}.html").exists()
        search = html.escape(search_text(*_search_terms(job)), quote=True)
        if not exists:
            return f"<li data-search='{search}'>{html.escape(job.title)} (not built)</li>"
        note = ""
        if state == "failed":
            note = (
                " <span class='failed'>(latest build failed: showing the last good version)</span>"
            )
        elif current_keys is not None and record.get("key") != current_keys.get(job.output):
            note = (
                " <span class='failed'>(out of date: built from other inputs or an earlier version; "
                "not rebuilt in this build)</span>"
            )
        return (
            f"<li data-search='{search}'><a href='{job.output}.html'>"
            f"{html.escape(job.title)}</a> (<a href='{job.output}.pdf'>PDF<span class='visually-hidden'>: "
            f"{html.escape(job.title)}</span></a>){note}</li>"
        )

    groups = [
        ("Overview", ("london", "briefing")),
        ("Measures", ("measure",)),
        ("Boroughs", ("borough",)),
        ("Analyses", ("analysis",)),
    ]
    sections = []
    for heading, kinds in groups:
        kind = kinds[0]
        items = [entry(j) for j in jobs if j.kind in kinds]
        if items:
            sections.append(
                f"<section class='reports' aria-labelledby='{kind}-heading'><h2 id='{kind}-heading'>{heading}</h2>"
                f"<ul class='reports' data-kind='{kind}'>{''.join(items)}</ul></section>"
            )
    data = (
        "<section aria-labelledby='data'><h2 id='data'>Data</h2><ul><li><a href='data/estimates.csv'>estimates.csv</a> (every figure, tidy)</li>"
        "<li><a href='data/estimates.xlsx'>estimates.xlsx</a> (accessible spreadsheet)</li>"
        "<li><a href='data/changes.csv'>changes.csv</a> (change since the previous period, tested)</li>"
        "<li><a href='data/neighbours.csv'>neighbours.csv</a> (each borough's five statistical neighbours)</li>"
        "<li><a href='data/trends.csv'>trends.csv</a> (recent trend over up to five comparable points, tested)</li>"
        "<li><a href='data/briefing.csv'>briefing.csv</a> and <a href='data/revisions.csv'>revisions.csv</a> "
        "(what changed: the findings after false-discovery control, and figures revised since the previous "
        + (
            "build, whose estimates are kept in <a href='data/previous/estimates.csv'>previous/estimates.csv</a>)</li>"
            if (out / "data" / "previous" / "estimates.csv").exists()
            else "build)</li>"
        )
        + "<li><a href='manifest.json'>manifest.json</a> (inputs, versions, timings)</li></ul></section>"
    )
    filter_box = (
        "<p><label for='filter'>Filter reports by borough (name or GSS code) or measure</label><br>"
        "<input id='filter' type='search' placeholder='e.g. Camden or volunteering' aria-describedby='count'></p>"
        "<p id='count' role='status'></p>"
    )
    banner = (
        f"<div class='notice synthetic' role='note'><strong>{html.escape(SYNTHETIC_NOTICE)}</strong></div>"
        if estimates_info.get("synthetic")
        else ""
    )
    body = (
        "<h1>The state of social integration in London: reports</h1>"
        + banner
        + filter_box
        + "".join(sections)
        + data
        + FILTER_SCRIPT
    )
    page = render_page("All reports", body, depth=0, site=site)
    atomic_write(out / "index.html", lambda p: Path(p).write_text(page, encoding="utf-8"))
    statement = render_page(
        "Accessibility statement", accessibility_statement(site), depth=0, site=site
    )
    atomic_write(
        out / "accessibility.html", lambda p: Path(p).write_text(statement, encoding="utf-8")
    )


def accessibility_statement(site: dict) -> str:
    """The accessibility statement's body (the form public sector websites publish), from
    ``analysis/data/publication.yaml``: what was tested, how, and what is known not to meet
    the standard."""
    from analysis import publication

    pub = publication.current()
    issues = "".join(f"<li>{html.escape(i)}</li>" for i in pub.known_issues)
    contact = (
        f"<a href='mailto:{html.escape(site['contact_email'], quote=True)}'>{html.escape(site['contact_email'])}</a>"
        if site["contact_email"]
        else html.escape(site["contact_text"])
    )
    return (
        "<h1>Accessibility statement</h1>"
        f"<p class='lede'>This statement applies to the reports of {html.escape(site['title'])}: the web pages, "
        "their PDFs and the data downloads.</p>"
        "<p>We want as many people as possible to be able to use these reports. You should be able to zoom in up "
        "to 400% without text spilling off the screen, read every page on a phone, move through every page with a "
        "keyboard alone, and use a screen reader: every chart has a text description and the table of its "
        "figures, and every table has a caption and column and row headers.</p>"
        "<h2>How accessible the reports are</h2>"
        "<p>The reports partially meet the Web Content Accessibility Guidelines (WCAG) version 2.2 AA standard, "
        "because of the issues listed below.</p>"
        f"<ul>{issues}</ul>"
        "<h2>How we tested the reports</h2>"
        f"<p>{html.escape(pub.tested_with)}</p>"
        f"<p>This statement was prepared on <time datetime='{pub.accessibility_prepared.isoformat()}'>"
        f"{publication.long_date(pub.accessibility_prepared)}</time>.</p>"
        "<h2>Feedback and contact</h2>"
        f"<p>If you need a report in another format, or find a problem not listed here: {contact}.</p>"
        "<h2>Enforcement procedure</h2>"
        "<p>The Equality and Human Rights Commission (EHRC) is responsible for enforcing the Public Sector Bodies "
        "(Websites and Mobile Applications) (No. 2) Accessibility Regulations 2018. If you are not happy with how "
        "we respond to your complaint, contact the Equality Advisory and Support Service (EASS).</p>"
    )
