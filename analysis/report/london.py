"""The London report: key messages first (what changed, the widest differences between
population groups, the spread between boroughs), then every measure of the strategy by domain,
each figure given once in one table that links to its measure's page.

Charts never put measures of opposite direction on one axis: a domain's figures are drawn in
one chart per direction (higher is better, lower is better, context), each with a message
title from the tested changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

from analysis import (
    charts,
    geography,
    measures,
    narrative,
    provenance,
    rules,
    schemas,
    series,
    tables,
)
from analysis import html as h
from analysis.measures import Measure
from analysis.report.base import EMPTY, Page, Section, links, measure_href, raw
from analysis.report.indicators import borough_indicator_rows, main_rows

# how many items each key message names
TOP = 3
DIRECTIONS = {"up": "higher is better", "down": "lower is better", "neutral": "context"}


@dataclass(frozen=True)
class Figure:
    """London's latest figure of one series, with its tested change and recent trend."""

    measure: Measure
    label: str
    row: pd.Series
    change: pd.Series | None
    trend: pd.Series | None


class LondonPage(Page):
    """The state of social integration across all measures, by domain."""

    def __init__(self, data_dir: str | Path | None = None) -> None:
        super().__init__(data_dir)

    def header(self) -> Section:
        missing = self.missing_measures()
        total = len(measures.strategy_measures())
        shown = total - len(missing)
        gap = (
            h.element(
                "div",
                f"This build has no source for {len(missing)} of the {total} measures: "
                f"{', '.join(missing)}. Their survey microdata are released under licence; add "
                "the waves with a codebook to report them.",
                class_="notice",
                role="note",
            )
            if missing
            else None
        )
        return self.title(
            "The state of social integration in London",
            gap,
            h.p(
                f"{shown} of the {total} measures of the Mayor's social integration strategy: the key "
                "messages, then each domain's latest London figures with their 95% confidence "
                "intervals, tested changes and recent trends. Each measure's own page has its "
                "population groups and boroughs.",
                class_="lede",
            ),
        )

    @cached_property
    def figures(self) -> list[Figure]:
        """London's latest figure of every series of the registry, in registry order."""
        e = main_rows(self.data.estimates)
        out = []
        for m in measures.registry():
            for s in m.series:
                key = series.headline_key(e, s.indicator, m.id)
                if key is None:
                    continue
                london = series.select(e, key, areas=[geography.LONDON_CODE], single_periods=True)
                if london.empty:
                    continue
                latest = london.sort_values("period").iloc[-1]
                where = (
                    s.indicator,
                    geography.LONDON_CODE,
                    latest["period"],
                    latest["breakdown"],
                    latest["group"],
                )
                out.append(
                    Figure(
                        m,
                        provenance.label(s.label, latest["proxy"]),
                        latest,
                        self.data.change(*where),
                        self.data.trend(*where),
                    )
                )
        return out

    # -- key messages ------------------------------------------------------------------------

    def movement_message(self) -> str:
        """Significant changes since the previous period and significant recent trends."""
        rows = pd.DataFrame(
            {
                "label": [f.label for f in self.figures],
                "value": [f.row["value"] for f in self.figures],
                "polarity": [f.row["polarity"] for f in self.figures],
                "change": [f.change for f in self.figures],
                "trend": [f.trend for f in self.figures],
            }
        )
        return "In London: " + narrative.lower_first(narrative.movement_message(rows))

    def group_gaps(self) -> list[str]:
        """The widest differences between population groups in London's latest figures: for
        each series and breakdown, its highest and lowest group where the first is significantly
        above London as a whole and the second significantly below (so the difference is
        supported), widest first; published figures only, none of low reliability."""
        e = self.data.estimates
        found = []
        for f in self.figures:
            if f.row["unit"] != "%" or not f.measure.breakdowns:
                continue
            at = e[
                (e["indicator"] == f.row["indicator"])
                & (e["area_code"] == geography.LONDON_CODE)
                & (e["period"] == f.row["period"])
                & e["breakdown"].isin(list(schemas.LEVELS))
                & e["value"].notna()
                & ~e["flag"].isin([rules.LOW_RELIABILITY])
            ]
            for breakdown, rows in at.groupby("breakdown", sort=False):
                top, bottom = rows.loc[rows["value"].idxmax()], rows.loc[rows["value"].idxmin()]
                if (
                    top["compared_to_london"] == "higher"
                    and bottom["compared_to_london"] == "lower"
                ):
                    found.append(
                        (float(top["value"] - bottom["value"]), f, str(breakdown), top, bottom)
                    )
        found.sort(key=lambda x: -x[0])
        return [
            f"{f.label}, {f.row['period']}, by {narrative.lower_first(schemas.BREAKDOWN_LABELS[b])}: "
            f"{narrative.unit_text(top['value'], '%')} ({top['group']}) against "
            f"{narrative.unit_text(bottom['value'], '%')} ({bottom['group']})"
            for _, f, b, top, bottom in found[:TOP]
        ]

    def borough_spread(self) -> list[str]:
        """The indicators on which most boroughs differ significantly from London (the
        rulebook's verdicts), with how many each way and the range of the boroughs' figures."""
        rows = borough_indicator_rows(self.data)
        if rows.empty:
            return []
        found = []
        for _, part in rows.groupby(["measure_id", "indicator"], sort=False):
            first = part.iloc[0]
            judged = rules.judged(str(first["polarity"]))
            up, down = ("better", "worse") if judged else ("higher", "lower")
            n_up, n_down = int((part["verdict"] == up).sum()), int((part["verdict"] == down).sum())
            shown = int(part["value"].notna().sum())
            if n_up + n_down:
                found.append((n_up + n_down, first, up, down, n_up, n_down, shown))
        found.sort(key=lambda x: -x[0])
        return [
            f"{r['label']} ({r['period']}): {n_up} of {shown} boroughs significantly {up} than "
            f"London and {n_down} significantly {down}" + _spread_tail(r)
            for _, r, up, down, n_up, n_down, shown in found[:TOP]
        ]

    def key_messages(self) -> Section:
        """The page's first section: three or four messages, each with its numbers."""
        items = [self.movement_message()]
        gaps = self.group_gaps()
        if gaps:
            items.append(
                "The widest differences between population groups (each group significantly "
                "above or below London as a whole): " + "; ".join(gaps) + "."
            )
        spread = self.borough_spread()
        if spread:
            items.append("The boroughs differ most from London on " + "; ".join(spread) + ".")
        missing = self.missing_measures()
        if missing:
            items.append(
                f"{len(missing)} of the {len(measures.strategy_measures())} measures have no figures in this build: "
                + ", ".join(missing)
                + "."
            )
        return Section(h.h2("Key messages") + h.ul(items, class_="headline key-messages"))

    # -- domains -----------------------------------------------------------------------------

    def domain(self, domain: str) -> Section:
        """A domain's latest London figures: one chart per direction (message titles from the
        tested changes), then one table that gives each figure once and links each measure."""
        figures = [f for f in self.figures if f.measure.domain == domain]
        if not figures:
            return EMPTY
        made = []
        for polarity, words in DIRECTIONS.items():
            drawn = [
                f
                for f in figures
                if f.row["polarity"] == polarity
                and f.row["unit"] == "%"
                and pd.notna(f.row["value"])
            ]
            if not drawn:
                continue
            frame = pd.DataFrame([{**f.row.to_dict(), "group": f.label} for f in drawn])
            chart = charts.dots(
                frame,
                title=narrative.domain_title(
                    domain, words, [f.change for f in drawn], rules.judged(polarity)
                ),
                unit="%",
            )
            _fit_axis(chart, frame)
            chart.table = None  # the domain's table below gives every figure once
            chart.notes.append("Each figure, its interval and its tests are in the table below.")
            made.append(chart)
        table = pd.DataFrame(
            {
                "Indicator": links(h.link(f.label, measure_href(f.measure.id, 0)) for f in figures),
                "Period": [f.row["period"] for f in figures],
                "London": [tables.fmt_value(f.row["value"], f.row["flag"]) for f in figures],
                "Unit": [f.row["unit"] for f in figures],
                "95% CI": [
                    f"{tables.fmt(f.row['lower_ci'])} to {tables.fmt(f.row['upper_ci'])}"
                    if pd.notna(f.row["lower_ci"])
                    else "[z]"
                    for f in figures
                ],
                "Change since previous period": [narrative.change_cell(f.change) for f in figures],
                "Recent trend": [narrative.trend_cell(f.trend, f.row["polarity"]) for f in figures],
            }
        )
        methods = rules.method_sentence(str(f.row.get("uncertainty", "")) for f in figures)
        return Section(
            h.join(
                [
                    h.h2(domain.title()),
                    *(raw(charts.to_html(c)) for c in made),
                    raw(tables.to_html(table, caption=f"{domain.title()} measures: London")),
                    h.p(methods) if methods else None,
                ]
            ),
            made,
        )


def _fit_axis(chart: charts.Chart, frame: pd.DataFrame) -> None:
    """Zoom a dot chart's axis to its figures and intervals, so the intervals can be seen (a
    dot chart, unlike a bar, needs no zero)."""
    ends = pd.concat([frame["value"], frame["lower_ci"], frame["upper_ci"]]).dropna()
    lo, hi = float(ends.min()), float(ends.max())
    pad = max((hi - lo) * 0.08, 1.0)
    chart.figure.axes[0].set_xlim(max(0.0, lo - pad), min(100.0, hi + pad))


def _spread_tail(row: pd.Series) -> str:
    """', from 12.0 to 31.5' after a spread message: the range of the boroughs' reliable
    figures, in the rulebook's words (also when only one borough has one)."""
    figures = int(row["n_ranked"])
    if figures == 0:
        return ""
    text = rules.range_text(
        narrative.unit_text(row["min"], row["unit"]),
        narrative.unit_text(row["max"], row["unit"]),
        figures,
    )
    return (", from " if figures > 1 else ", ") + text
