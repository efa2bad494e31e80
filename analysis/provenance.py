"""What a figure is and how far to trust it, in words the pages take from the data.

Three things a page must say wherever a figure appears, decided here once:

* **Proxies.** A source label that starts with :data:`PROXY_PREFIX` (``"Proxy: "``) marks a
  figure that stands in for the measure (the real build's electoral registration: the EU
  referendum electorate over adults). :func:`label` adds "(proxy)" to its name and
  :func:`proxy_note` gives the source and method to print beside it.
* **Row notes.** A figure with something particular about it (a published interval cut at
  100%, a rate of 100% with no interval, a denominator known to be unreliable) carries the
  note in its own ``source`` after :data:`NOTE_SEPARATOR`, so the estimates table itself says
  which figures and why; :func:`notes` lists them for a page.
* **The reading guide.** What ``[c]``, ``[u]`` and ``[x]`` mean depends on where the figures
  came from (survey respondents, admin denominators, a publisher's own markers);
  :func:`reading_guide` states the rule of the sources on the page, not one rule for all.
"""

from __future__ import annotations

import html

import pandas as pd

from analysis import measures
from analysis.sdc import DisclosureRules

__all__ = [
    "BUILT_ON",
    "FLAGGED_U",
    "INTERVAL_CUT",
    "NOTE_SEPARATOR",
    "NO_INTERVAL_AT_100",
    "PROXY_PREFIX",
    "UNRELIABLE_DENOMINATOR",
    "base_source",
    "is_proxy",
    "label",
    "note_of",
    "notes",
    "notes_html",
    "proxy_note",
    "reading_guide",
    "source_kind",
    "with_note",
]

PROXY_PREFIX = "Proxy: "
NOTE_SEPARATOR = " | Note: "

# wording of row notes (one wording, so pages and tests find them)
FLAGGED_U = "flagged [u]: {reason}"
INTERVAL_CUT = (
    "published 95% interval {lower:.1f} to {upper:.1f} goes beyond 0-100%, "
    "cut here to {cut_lower:.1f} to {cut_upper:.1f}"
)
NO_INTERVAL_AT_100 = "rate of 100% published with no interval, from a tiny sample"
BUILT_ON = "built on the {group} rate: {reason}"
UNRELIABLE_DENOMINATOR = "denominator unreliable: {why}; not compared with London or ranked"


def with_note(source: str, note: str) -> str:
    """``source`` with a note about this figure (nothing added for an empty note)."""
    return f"{source}{NOTE_SEPARATOR}{note}" if note else source


def base_source(source: str) -> str:
    """The source without any row note: what the whole series comes from."""
    return str(source).split(NOTE_SEPARATOR, 1)[0]


def note_of(source: str) -> str:
    """The row note of a figure's source ('' if none)."""
    parts = str(source).split(NOTE_SEPARATOR, 1)
    return parts[1] if len(parts) == 2 else ""


def is_proxy(source: str) -> bool:
    return str(source).startswith(PROXY_PREFIX)


def label(name: str, source: str) -> str:
    """A series name as pages print it: marked "(proxy)" when the figures are a proxy."""
    return f"{name} (proxy)" if is_proxy(source) and "(proxy)" not in name else name


def proxy_note(name: str, source: str) -> str:
    """The sentence printed beside a proxy ('' for a figure that is not one)."""
    if not is_proxy(source):
        return ""
    return f"{label(name, source)}: these figures are a proxy, not the measure itself. {base_source(source)}."


def notes(rows: pd.DataFrame) -> list[str]:
    """One line per figure of ``rows`` that carries a note: area, group, period and the note."""
    out = []
    for _, r in rows.iterrows():
        note = note_of(r["source"])
        if note:
            who = "" if r.get("group", "all") == "all" else f", {r['group']}"
            out.append(f"{r['area_name']}{who}, {r['period']}: {note}")
    return out


# ------------------------------------------------------------------------------------------
# The reading guide: the flag rule of each kind of source


def source_kind(measure_id: str, rows: pd.DataFrame) -> str:
    """How the figures of one measure were made: ``survey`` (from respondents), ``published``
    (a publisher's estimates and markers), ``admin`` (counts over denominators) or ``values``
    (published values with no interval)."""
    m = measures.get(measure_id)
    if m.kind == "admin_value":
        return "values"
    if m.is_survey:
        return "survey" if rows["unweighted_base"].notna().any() else "published"
    return "admin"


def _rule_text(kind: str, rules: DisclosureRules) -> str:
    s, f = rules.suppress_below, rules.flag_below
    if kind == "survey":
        return (
            f"Survey figures: <code>[c]</code> marks a figure suppressed because fewer than {s} people answered, "
            f"<code>[u]</code> one based on {s} to {f - 1} people."
        )
    if kind == "admin":
        return (
            f"Administrative figures: <code>[c]</code> marks a figure whose denominator (people, pupils or residents) "
            f"is below {s}, or a borough suppressed so that it cannot be worked out from the Inner or Outer London "
            f"total; <code>[u]</code> one whose denominator is {s} to {f - 1}, or whose denominator is known to be "
            "unreliable (its note says why)."
        )
    if kind == "published":
        return (
            "Published survey estimates keep their publisher's own markers (ONS Annual Population Survey): "
            "<code>[c]</code> where the publisher shows no estimate (marked <code>!</code>: a group sample of 0 "
            "to 2, or disclosive); <code>[u]</code> where it marks the estimate unreliable (<code>*</code>: a "
            "group sample of 3 to 9), gives a rate of 100% with no interval, or gives an interval that goes beyond "
            "100% (cut at 100% here); a gap is <code>[c]</code> or <code>[u]</code> when either of its rates is. "
            "These figures come with no count of respondents."
        )
    return "Published values: no interval is given, so nothing is compared or tested."


def reading_guide(rows: pd.DataFrame, rules: DisclosureRules | None = None) -> str:
    """HTML: how to read the page, with the flag rule of every source kind in ``rows``."""
    rules = rules or DisclosureRules()
    kinds = []
    for measure_id, part in rows.groupby("measure_id", sort=False):
        kind = source_kind(str(measure_id), part)
        if kind not in kinds:
            kinds.append(kind)
    order = ["survey", "published", "admin", "values"]
    rule_html = " ".join(_rule_text(k, rules) for k in sorted(kinds, key=order.index))
    return (
        "<h3>How to read this page</h3><p>Ranges are 95% confidence intervals. A figure is called higher or lower "
        "than London, or said to have changed, only when a statistical test at the 95% level supports it. "
        + rule_html
        + " <code>[x]</code> marks a figure the source does not provide. Strategy reference: Greater "
        "London Authority (2018), <em>All of Us: The Mayor's Strategy for Social Integration</em>, Part 4.</p>"
    )


def notes_html(
    rows: pd.DataFrame, heading: str = "Notes on particular figures", limit: int = 12
) -> str:
    """The row notes of ``rows`` as a short list (the first ``limit``, then how many more)."""
    lines = notes(rows)
    if not lines:
        return ""
    shown = "".join(f"<li>{html.escape(t)}</li>" for t in lines[:limit])
    more = (
        f"<li>and {len(lines) - limit} more (see the source column of estimates.csv)</li>"
        if len(lines) > limit
        else ""
    )
    return f"<h3>{html.escape(heading)}</h3><ul>{shown}{more}</ul>"
