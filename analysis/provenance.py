"""What a figure is and how far to trust it, in words the pages take from the data.

Three things a page must say wherever a figure appears, decided here once:

* **Proxies.** A row whose ``proxy`` column is true is a figure that stands in for the measure
  (the real build's electoral registration: the EU referendum electorate over adults; a source
  declares it in :attr:`analysis.sources.inputs.Inputs.proxies`). :func:`label` adds "(proxy)"
  to its name, :func:`measure_title` to its page's title, and :func:`proxy_note` gives the
  source and method to print beside it; :func:`source_text` prints the source of such a row
  beginning :data:`PROXY_PREFIX` (``"Proxy: "``).
* **Row notes.** A figure with something particular about it (a published interval cut at
  100%, a rate of 100% with no interval, a denominator known to be unreliable) carries the
  note in its own ``note`` column, so the estimates table itself says which figures and why;
  :func:`notes` lists them for a page.
* **The reading guide.** What ``[c]``, ``[u]`` and ``[x]`` mean depends on where the figures
  came from (survey respondents, admin denominators, a publisher's own markers);
  :func:`reading_guide` states the rule of the sources on the page, not one rule for all.

Estimates files written before the ``note`` and ``proxy`` columns carried both in ``source``
(``"Proxy: <source> | Note: <note>"``); :func:`from_legacy` splits that form into the columns
when such a file is read (:func:`analysis.pipeline.read_estimates`).
"""

from __future__ import annotations

import html
from collections.abc import Iterable

import pandas as pd

from analysis import measures
from analysis.measures import Measure
from analysis.sdc import DisclosureRules

__all__ = [
    "BUILT_ON",
    "FLAGGED_U",
    "INTERVAL_CUT",
    "NOTE_SEPARATOR",
    "NO_INTERVAL_AT_100",
    "PROXY_PREFIX",
    "UNRELIABLE_DENOMINATOR",
    "add_note",
    "from_legacy",
    "label",
    "measure_title",
    "notes",
    "notes_html",
    "proxy_note",
    "reading_guide",
    "source_kind",
    "source_text",
    "titled",
]

# how a proxy's source is printed (and how estimates files before the ``proxy`` column marked one)
PROXY_PREFIX = "Proxy: "
# how estimates files before the ``note`` column carried a row's note after its source
NOTE_SEPARATOR = " | Note: "
# between two notes of one figure (a flagged rate whose denominator is also doubtful)
NOTES_JOINED = "; "

# wording of row notes (one wording, so pages and tests find them)
FLAGGED_U = "flagged [u]: {reason}"
INTERVAL_CUT = (
    "published 95% interval {lower:.1f} to {upper:.1f} goes beyond 0-100%, "
    "cut here to {cut_lower:.1f} to {cut_upper:.1f}"
)
NO_INTERVAL_AT_100 = "rate of 100% published with no interval, from a tiny sample"
BUILT_ON = "built on the {group} rate: {reason}"
UNRELIABLE_DENOMINATOR = "denominator unreliable: {why}; not compared with London or ranked"


def add_note(note: str, more: str) -> str:
    """A figure's note with another added (either may be empty)."""
    return NOTES_JOINED.join(n for n in (note, more) if n)


def from_legacy(frame: pd.DataFrame) -> pd.DataFrame:
    """Estimates rows with their notes and proxy marks in the ``note`` and ``proxy`` columns.

    A file written before those columns (or by hand in the old form) carries a row's note in
    its ``source`` after :data:`NOTE_SEPARATOR` and marks a proxy by a ``source`` beginning
    :data:`PROXY_PREFIX`: both are split off into the columns, placed after ``source``. Rows
    already in the current form are returned as they are.
    """
    if "source" not in frame:
        return frame
    source = frame["source"].fillna("").astype(str)
    legacy = source.str.contains(NOTE_SEPARATOR, regex=False)
    if "note" in frame and "proxy" in frame and not legacy.any():
        if frame["proxy"].dtype != bool:  # e.g. read from a file as text
            frame = frame.assign(proxy=frame["proxy"].astype(str).str.lower().eq("true"))
        return frame
    out = frame.copy()
    note = (
        out["note"].fillna("").astype(str)
        if "note" in out
        else pd.Series("", index=out.index, dtype=object)
    )
    if legacy.any():
        split = source[legacy].str.split(NOTE_SEPARATOR, n=1, regex=False)
        note, source = note.copy(), source.copy()
        note[legacy] = [add_note(old, n) for old, n in zip(split.str[1], note[legacy])]
        source[legacy] = split.str[0]
    if "proxy" in out:
        proxy = out["proxy"].astype(str).str.lower().eq("true")
    else:  # the old mark: a source beginning "Proxy: ", taken off the source it prints
        proxy = source.str.startswith(PROXY_PREFIX)
        source = source.where(~proxy, source.str[len(PROXY_PREFIX) :])
    out["source"] = source
    columns = [c for c in out.columns if c not in ("note", "proxy")]
    at = columns.index("source") + 1
    out = out[columns]
    out.insert(at, "proxy", proxy.to_numpy(dtype=bool))
    out.insert(at, "note", note.to_numpy(dtype=object))
    return out


def source_text(source: str, proxy: bool) -> str:
    """A figure's source as pages and the spreadsheet print it: a proxy's begins "Proxy: "."""
    return f"{PROXY_PREFIX}{source}" if proxy else str(source)


def label(name: str, proxy: bool) -> str:
    """A series name as pages print it: marked "(proxy)" when the figures are a proxy."""
    return f"{name} (proxy)" if proxy and "(proxy)" not in name else name


def titled(title: str, proxies: Iterable[bool]) -> str:
    """A page's title from whether each series it shows is a proxy: marked "(proxy)" when all
    are, "(some figures are proxies)" when some are."""
    marks = [bool(p) for p in proxies]
    if marks and all(marks):
        return label(title, True)
    if any(marks):
        return f"{title} (some figures are proxies)"
    return title


def measure_title(measure: Measure, rows: pd.DataFrame) -> str:
    """The title of a measure's report, from its rows of a build's estimates (direct figures,
    as :func:`analysis.pipeline.read_estimates` gives them): the page's h1, its HTML ``<title>``
    and PDF title, and its entry in the index of reports (:mod:`analysis.build.planning`) all
    come from here, so that each says "(proxy)" exactly when the others do.

    A series counts as a proxy when its last row is (the series the page shows, registry
    order); a measure with no rows in this build is titled as the registry has it.
    """
    shown = {s.indicator for s in measure.series} | (
        {measure.rate_indicator} if measure.rate_indicator else set()
    )
    if rows.empty or "proxy" not in rows:
        return measure.title
    proxies: dict[str, bool] = {}
    for indicator, proxy in zip(rows["indicator"], rows["proxy"]):
        if indicator in shown:
            proxies[indicator] = bool(proxy)
    return titled(measure.title, proxies.values())


def proxy_note(name: str, source: str, proxy: bool) -> str:
    """The sentence printed beside a proxy ('' for a figure that is not one)."""
    if not proxy:
        return ""
    return (
        f"{label(name, proxy)}: these figures are a proxy, not the measure itself. "
        f"{source_text(source, proxy)}."
    )


def notes(rows: pd.DataFrame) -> list[str]:
    """One line per figure of ``rows`` that carries a note: area, group, period and the note."""
    if "note" not in rows:
        return []
    out = []
    for _, r in rows.iterrows():
        note = r["note"]
        if isinstance(note, str) and note:
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
        f"<li>and {len(lines) - limit} more (see the note column of estimates.csv)</li>"
        if len(lines) > limit
        else ""
    )
    return f"<h3>{html.escape(heading)}</h3><ul>{shown}{more}</ul>"
