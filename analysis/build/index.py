"""The site's index of reports (``index.html``) and its accessibility statement.

The index lists every report the build plans, with a filter that finds a borough by name,
alias or GSS code and a measure by title or id. Its HTML is the template
``templates/index.html`` (text escaped by default) and its script ``templates/index_filter.js``;
both are package data. A report built earlier from other inputs or code, and not rebuilt, is
marked out of date; one whose latest build failed shows its last good version.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from analysis import geography, measures, pages
from analysis.build.planning import Job
from analysis.outputs import SYNTHETIC_NOTICE, atomic_write

TEMPLATES = Path(__file__).parent / "templates"

# the index's sections: heading, and the kinds of report listed under it
GROUPS = (
    ("Overview", ("london", "briefing")),
    ("Measures", ("measure",)),
    ("Boroughs", ("borough",)),
    ("Analyses", ("analysis",)),
)


def search_text(*texts: str) -> str:
    """What the index's filter matches a report against: its names folded as the filter folds
    what is typed (``fold`` in ``index_filter.js``): lower case, '&' as 'and', anything
    but letters and digits as one space. So "Kensington & Chelsea", "kensington and chelsea",
    "E09000020" and "chelsea kensington" all find the same report."""
    folded = " ".join(texts).lower().replace("&", " and ")
    return " ".join(re.sub(r"[^0-9a-z]+", " ", folded).split())


def search_terms(job: Job) -> list[str]:
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


@functools.cache
def _template() -> Any:
    from jinja2 import Environment, FileSystemLoader

    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=True, keep_trailing_newline=False
    )
    return env.get_template("index.html")


def index_body(
    out: Path,
    jobs: list[Job],
    reports: dict[str, dict[str, Any]],
    synthetic: bool,
    current_keys: dict[str, str] | None = None,
) -> str:
    """The index page's body: one entry per planned report, by section."""
    from markupsafe import Markup

    def entry(job: Job) -> dict[str, Any]:
        record = reports.get(job.output, {})
        note = None
        if record.get("status", "not built") == "failed":
            note = "failed"
        elif current_keys is not None and record.get("key") != current_keys.get(job.output):
            note = "out of date"
        return {
            "output": job.output,
            "title": job.title,
            "search": search_text(*search_terms(job)),
            "exists": (out / f"{job.output}.html").exists(),
            "note": note,
        }

    sections = []
    for heading, kinds in GROUPS:
        listed = [entry(j) for j in jobs if j.kind in kinds]
        if listed:
            sections.append({"heading": heading, "kind": kinds[0], "reports": listed})
    script = (TEMPLATES / "index_filter.js").read_text(encoding="utf-8")
    return _template().render(
        synthetic=synthetic,
        notice=SYNTHETIC_NOTICE,
        sections=sections,
        previous=(out / "data" / "previous" / "estimates.csv").exists(),
        script=Markup(script),
    )


def write_index(
    out: Path,
    jobs: list[Job],
    reports: dict[str, dict[str, Any]],
    estimates_info: dict[str, Any],
    current_keys: dict[str, str] | None = None,
    site: dict[str, Any] | None = None,
) -> None:
    """``index.html``: every report, filterable by borough and measure; and the accessibility
    statement, ``accessibility.html``.

    A report whose key is not ``current_keys``' (built earlier from other inputs, parameters or
    code, and not rebuilt since) is marked out of date.
    """
    site = site if site is not None else pages.site_context(estimates_info.get("synthetic"))
    body = index_body(out, jobs, reports, bool(estimates_info.get("synthetic")), current_keys)
    page = pages.render_page("All reports", body, depth=0, site=site)
    atomic_write(out / "index.html", lambda p: Path(p).write_text(page, encoding="utf-8"))
    statement = pages.render_page(
        "Accessibility statement", pages.accessibility_statement(site), depth=0, site=site
    )
    atomic_write(
        out / "accessibility.html", lambda p: Path(p).write_text(statement, encoding="utf-8")
    )
