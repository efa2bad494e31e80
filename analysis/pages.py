"""The page template, the publication's details every page shows, and the accessibility statement.

Every report page, the index (:mod:`analysis.build.index`) and the statement share one
accessible template (``templates/report.html``): site navigation, skip link, the publication's
details (:mod:`analysis.publication`) and print rules for the PDFs.
"""

from __future__ import annotations

import functools
import html
from pathlib import Path

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
