"""About this publication: producer, contact, dates and statistical status, from one data file.

``data/publication.yaml`` is the release's own metadata, as a statistical release states it:
who produces the reports, how to reach them, when this edition was published and when the
next is due, and what kind of statistics they are. The build shows it on every page, puts
it in the PDFs' metadata and writes the accessibility statement from it. The publication
date comes from that file (or ``run_all.py --publication-date``), never from the clock: the
same inputs give byte-identical pages.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from importlib import resources

import yaml

from analysis.validate import InputError

SOURCE = "analysis/data/publication.yaml"


@dataclass(frozen=True)
class Publication:
    """One edition's metadata (see the module docstring)."""

    title: str
    producer: str
    contact_text: str
    contact_email: str
    published: dt.date
    next_update: str
    status_demo: str
    status_real: str
    accessibility_prepared: dt.date
    tested_with: str
    known_issues: tuple[str, ...]

    def status(self, synthetic: bool) -> str:
        """The statistical status of a build from demo (``synthetic``) or real data."""
        return self.status_demo if synthetic else self.status_real

    def with_date(self, published: str | dt.date | None) -> Publication:
        """This metadata with another publication date (``--publication-date``)."""
        if published is None:
            return self
        import dataclasses

        return dataclasses.replace(self, published=parse_date(published, "--publication-date"))


def parse_date(value, where: str, column: str | None = None) -> dt.date:
    """An ISO date (``2026-12-02``), or an error naming where it came from."""
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(
            where, f"expected a date as YYYY-MM-DD; found {value!r}", column=column
        ) from None


def long_date(day: dt.date) -> str:
    """``2 December 2026``, as GOV.UK writes dates."""
    return f"{day.day} {day:%B %Y}"


@functools.cache
def current() -> Publication:
    """The metadata in ``data/publication.yaml``, checked."""
    text = resources.files("analysis.data").joinpath("publication.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text) or {}
    expected = {
        "title",
        "producer",
        "contact",
        "published",
        "next_update",
        "status",
        "accessibility",
    }
    if set(raw) != expected:
        raise InputError(
            SOURCE,
            f"expected the keys {sorted(expected)}; missing {sorted(expected - set(raw))}, "
            f"unknown {sorted(set(raw) - expected)}",
        )
    try:
        return Publication(
            title=str(raw["title"]),
            producer=str(raw["producer"]),
            contact_text=str(raw["contact"]["text"]),
            contact_email=str(raw["contact"].get("email") or ""),
            published=parse_date(raw["published"], SOURCE, "published"),
            next_update=str(raw["next_update"]),
            status_demo=str(raw["status"]["demo"]).strip(),
            status_real=str(raw["status"]["real"]).strip(),
            accessibility_prepared=parse_date(
                raw["accessibility"]["prepared"], SOURCE, "accessibility.prepared"
            ),
            tested_with=str(raw["accessibility"]["tested_with"]).strip(),
            known_issues=tuple(str(i).strip() for i in raw["accessibility"]["known_issues"]),
        )
    except (KeyError, TypeError) as err:
        raise InputError(SOURCE, f"missing or malformed entry: {err}") from None
