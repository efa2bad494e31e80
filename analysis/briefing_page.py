"""The "what changed" briefing page (``notebooks/changes.ipynb``): reads the tables the data
step wrote (``briefing.csv``, ``revisions.csv``; see :mod:`analysis.briefing`) and returns
HTML sections. Nothing is tested or estimated here.

The sections are built with :mod:`analysis.html`, so every piece of text (an indicator's label,
a borough's name, a source) is escaped unless it is markup another builder made.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis import briefing, narrative, report, tables
from analysis import html as h
from analysis.html import Markup
from analysis.report import Section

__all__ = ["LEVEL_NOTES", "ChangesPage", "finding_sentence"]

# only these assessments are words a reader sees; the rest (context indicators) are not judged
_JUDGED = ("better", "worse")


def _section(body: Markup) -> Section:
    """A section of plain ``str`` HTML: ``Markup`` would escape any text a caller appends."""
    return Section(str(body))


LEVEL_NOTES = {
    "London": "London as a whole, whole population.",
    "Inner and Outer London": "Inner and Outer London (ONS statistical definition), whole population, or a group "
    "where the source gives only group figures there.",
    "Population groups": "Population groups in London, and the gaps between them (a change in a group is a change "
    "over time in that group, not a comparison with London).",
    "Boroughs": "The 33 boroughs: whole population first, then gaps; in each row the boroughs with the strongest "
    "evidence come first.",
}


def _value(value: float, unit: str) -> str:
    return narrative.unit_text(value, unit) if pd.notna(value) else "[x]"


def finding_sentence(row: pd.Series) -> str:
    """One finding in words, e.g. 'Employment rate, London: increasing from 72.3% in 2014 to
    74.7% in 2018 (5 points, p < 0.001, q < 0.001), better.'"""
    where = row["area_name"] + ("" if row["breakdown"] == "all" else f", {row['group']}")
    if row["test"] == briefing.TREND:
        what = (
            f"{row['direction']} from {_value(row['from_value'], row['unit'])} in {row['from_period']} to "
            f"{_value(row['to_value'], row['unit'])} in {row['to_period']} ({int(row['points'])} points, "
            f"{narrative.p_text(row['p_value'])}, q {narrative.p_text(row['q_value'])[2:]})"
        )
    else:
        size = narrative.unit_text(
            abs(row["change"]), "percentage points" if row["unit"] == "%" else row["unit"]
        )
        what = (
            f"{'up' if row['direction'] == 'increased' else 'down'} {size} since {row['from_period']}, "
            f"from {_value(row['from_value'], row['unit'])} to {_value(row['to_value'], row['unit'])} in "
            f"{row['to_period']} ({narrative.p_text(row['p_value'])}, q {narrative.p_text(row['q_value'])[2:]})"
        )
    judged = "" if row["assessment"] not in _JUDGED else f", {row['assessment']}"
    flag = " [u]" if row.get("flag") == "[u]" else ""
    return f"{row['label']}, {where}: {what}{judged}{flag}."


def _provenance(r: pd.DataFrame, prefix: str = "") -> list[str]:
    """Each revised figure's source with its note, as the table prints them (a revisions file
    written before notes had their own column has none)."""
    notes = r.get(f"{prefix}note", pd.Series("", index=r.index)).fillna("")
    return [
        f"{s} (note: {n})" if n else str(s) for s, n in zip(r[f"{prefix}source"].fillna(""), notes)
    ]


def _areas(rows: pd.DataFrame, *, in_list: bool = False) -> list[str]:
    """Each row's area with its population group where it has one: 'Camden: Women', or
    'Camden (Women)' where the areas are listed after a colon."""
    return [
        a if b == "all" else (f"{a} ({g})" if in_list else f"{a}: {g}")
        for a, b, g in zip(rows["area_name"], rows["breakdown"], rows["group"])
    ]


def _decimals(unit: str) -> int:
    """Revisions are often small, so one more decimal than the pages use: 2 for percentages,
    3 for rates per 1,000."""
    return 2 if unit in ("%", "percentage points") else 3


class ChangesPage:
    """Sections of the briefing: findings by level, then revisions."""

    def __init__(self, data_dir: str | Path | None = None):
        self.folder = Path(data_dir) if data_dir else report.DEFAULT_DATA_DIR
        self.data = report.load(self.folder)  # also computes the demo tables where none exist yet
        read = dict(
            dtype={
                "from_period": str,
                "to_period": str,
                "period": str,
                "group": str,
                "breakdown": str,
                "flag": str,
                "previous_flag": str,
            },
            keep_default_na=False,
            na_values={
                c: [""]
                for c in (
                    "from_value",
                    "to_value",
                    "change",
                    "p_value",
                    "q_value",
                    "previous_value",
                    "value",
                    "difference",
                )
            },
        )
        missing = [n for n in ("briefing.csv", "revisions.csv") if not (self.folder / n).exists()]
        if missing:  # a folder written before the briefing existed
            raise FileNotFoundError(
                f"{self.folder}: no {' or '.join(missing)}; rerun the data step "
                f"(python -m analysis estimates --out {self.folder}) or the build"
            )
        self.findings = pd.read_csv(self.folder / "briefing.csv", **read)
        self.revisions = pd.read_csv(self.folder / "revisions.csv", **read)
        self.has_previous = (self.folder / briefing.PREVIOUS).exists()
        self.comparable = not self.has_previous or briefing.comparable_builds(
            pd.read_csv(self.folder / briefing.PREVIOUS, usecols=["synthetic"]), self.data.estimates
        )

    def header(self) -> Section:
        f = self.findings
        n_change = int((f["test"] == briefing.CHANGE).sum())
        n_trend = int((f["test"] == briefing.TREND).sum())
        tested = self.data.changes[self.data.changes["p_value"].notna()]
        latest = sorted(set(tested.groupby("measure_id")["period"].max().astype(str)))
        lede = (
            f"The statistically significant changes since the previous period and recent trends for London, Inner "
            f"and Outer London, population groups and boroughs: {n_change} change{'s' if n_change != 1 else ''} "
            f"and {n_trend} trend{'s' if n_trend != 1 else ''}, most important first, then the figures revised "
            "since the previous build. Each change is from a series' previous period to its latest"
            + (f" ({narrative._join(latest)} in this build)." if latest else ".")
        )
        method = Markup(
            "<h2>How these were chosen</h2><p>A build tests hundreds of changes and trends, and at the 5% level some "
            "would look significant by chance alone. All of them are therefore treated as one family: each series' "
            "change since its previous period (a z test of the difference) and its recent trend (a weighted "
            "least-squares slope over up to the last five comparable points, inverse-variance weights, z test). "
            "The Benjamini&ndash;Hochberg procedure controls the false discovery rate at q = {}: the "
            "listed findings are those whose adjusted p-value (q) is at most 0.05, so on average no more than 5% of "
            "them are expected to be false discoveries. Nothing is tested across a break in a series, and pooled "
            "periods are not tested.</p><p>Order: London first, then Inner and Outer London, London's population "
            "groups and the boroughs; within each, the strongest evidence (smallest q) first. Better or worse "
            "follows the indicator's direction (higher is better, or lower is better); context indicators are "
            "never called better or worse. <code>[u]</code> marks a figure based on a small sample.</p>"
        ).format(briefing.FDR_Q)
        return _section(
            h.join(
                [
                    h.element("h1", "What changed"),
                    Markup(report.notice(self.data).html),
                    h.p(lede, class_="lede"),
                    method,
                ]
            )
        )

    def level(self, name: str) -> Section:
        """The findings of one of :data:`analysis.briefing.LEVELS`: sentences (London and Inner
        and Outer London) or a table (groups and boroughs, which can be many)."""
        rows = self.findings[self.findings["level"] == name]
        head = h.h2(name) + h.p(LEVEL_NOTES[name])
        if rows.empty:
            return _section(
                head
                + h.p("No change or trend at this level survives the false discovery rate control.")
            )
        if name == "Boroughs":
            return _section(head + self._boroughs_table(rows))
        body = Markup("")
        if name in ("London", "Inner and Outer London"):
            body = h.ul((finding_sentence(r) for _, r in rows.iterrows()), class_="headline")
        table = pd.DataFrame(
            {
                "Indicator": rows["label"],
                "Area": _areas(rows),
                "Test": rows["test"],
                "From": [
                    f"{p}: {tables.fmt_value(v, '')}"
                    for p, v in zip(rows["from_period"], rows["from_value"])
                ],
                "To": [
                    f"{p}: {tables.fmt_value(v, f)}"
                    for p, v, f in zip(rows["to_period"], rows["to_value"], rows["flag"])
                ],
                "Unit": rows["unit"],
                "Direction": rows["direction"],
                "Better or worse": [
                    a if a in _JUDGED else "not judged" for a in rows["assessment"]
                ],
                "p": rows["p_value"].map(
                    lambda p: narrative.p_text(p)[4:] if p >= 0.001 else "< 0.001"
                ),
                "q": rows["q_value"].map(
                    lambda p: narrative.p_text(p)[4:] if p >= 0.001 else "< 0.001"
                ),
            }
        )
        return _section(
            head
            + body
            + Markup(tables.to_html(table, caption=f"Significant changes and trends: {name}"))
        )

    @staticmethod
    def _boroughs_table(rows: pd.DataFrame) -> Markup:
        """Boroughs' findings, one row per indicator, test and direction with the boroughs
        listed; rows and boroughs keep the briefing's order (whole population before gaps, the
        strongest evidence first): a row per borough would be a table of hundreds
        of rows that no one reads, and slow to lay out as a PDF. Values are in briefing.csv."""
        rows = rows.assign(where=_areas(rows, in_list=True))
        rows = rows.assign(
            where=rows["where"] + rows["flag"].map(lambda f: " [u]" if f == "[u]" else "")
        )
        grouped = rows.groupby(["label", "test", "direction", "assessment"], sort=False)
        table = pd.DataFrame(
            [
                {
                    "Indicator": label,
                    "Test": test,
                    "Direction": direction,
                    "Better or worse": assessment if assessment in _JUDGED else "not judged",
                    "Boroughs": f"{len(g)}: " + ", ".join(g["where"]),
                }
                for (label, test, direction, assessment), g in grouped
            ]
        )
        return Markup(  # tables.to_html escapes every cell and the caption itself
            tables.to_html(
                table,
                caption="Significant changes and trends: boroughs (each borough's figures are "
                "in data/briefing.csv)",
            )
        )

    def levels(self) -> Section:
        return _section(h.join(Markup(self.level(name).html) for name in briefing.LEVELS))

    def revised(self) -> Section:
        """Figures of the same period that differ from the previous build, old and new."""
        head = h.h2("Revisions since the previous build")
        if not self.has_previous:
            return _section(
                head
                + h.p(
                    "This is the first build in this folder, so there is no previous build "
                    "to compare with. A later build whose figures differ keeps these "
                    "estimates in data/previous/estimates.csv and lists every figure of the "
                    "same period that changed."
                )
            )
        r = self.revisions
        if not self.comparable:
            return _section(
                head
                + h.p(
                    "The previous build in this folder used "
                    + ("real" if self.data.synthetic else "synthetic demonstration")
                    + " data and this one does not, so their figures are not compared."
                )
            )
        if r.empty:
            return _section(
                head
                + h.p("No figure of a period published before differs from the previous build.")
            )
        withdrawn = int((r["status"] == "withdrawn").sum())
        lede = h.p(
            f"{len(r)} figure{'s' if len(r) != 1 else ''} of periods already published differ from the "
            "previous build (for example after a new edition of a source), old and new side by side"
            + (f"; {withdrawn} of them are no longer published (withdrawn)." if withdrawn else ".")
        )
        table = pd.DataFrame(
            {
                "Indicator": r["label"],
                "Area": _areas(r),
                "Period": r["period"],
                "Previous build": [
                    tables.fmt_value(v, f, _decimals(u))
                    for v, f, u in zip(r["previous_value"], r["previous_flag"], r["unit"])
                ],
                "This build": [
                    ("withdrawn" if st == "withdrawn" else tables.fmt_value(v, f, _decimals(u)))
                    for st, v, f, u in zip(r["status"], r["value"], r["flag"], r["unit"])
                ],
                "Difference": [
                    tables.fmt(d, _decimals(u)) for d, u in zip(r["difference"], r["unit"])
                ],
                "Unit": r["unit"],
                "Source": [
                    "unchanged" if old == new or st == "withdrawn" else f"was: {old}; now: {new}"
                    for st, old, new in zip(
                        r["status"], _provenance(r, "previous_"), _provenance(r)
                    )
                ],
            }
        )
        return _section(
            head
            + lede
            + Markup(tables.to_html(table, caption="Revised figures: previous and this build"))
        )
