"""The London report: every measure of the strategy, by domain."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis import charts, geography, measures, narrative, provenance, rules, series, tables
from analysis import html as h
from analysis.report.base import EMPTY, Page, Section, raw
from analysis.report.indicators import main_rows


class LondonPage(Page):
    """The state of social integration across all measures, by domain."""

    def __init__(self, data_dir: str | Path | None = None) -> None:
        super().__init__(data_dir)

    def header(self) -> Section:
        missing = self.missing_measures()
        shown = len(measures.strategy_measures()) - len(missing)
        gap = (
            h.element(
                "div",
                f"This build has no source for {len(missing)} of the 18 measures: "
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
                f"{shown} of the 18 measures of the Mayor's social integration strategy, by "
                "domain, with the latest London figure, its 95% confidence interval and the tested "
                "change since the previous period.",
                class_="lede",
            ),
        )

    def domain(self, domain: str) -> Section:
        e = main_rows(self.data.estimates)
        rows, made = [], []
        for m in measures.by_domain().get(domain, []):
            for s in m.series:
                key = series.headline_key(e, s.indicator, m.id)
                if key is None:
                    continue
                london = series.select(e, key, areas=[geography.LONDON_CODE], single_periods=True)
                if london.empty:
                    continue
                latest = london.sort_values("period").iloc[-1]
                change = self.data.change(
                    s.indicator,
                    geography.LONDON_CODE,
                    latest["period"],
                    latest["breakdown"],
                    latest["group"],
                )
                trend = narrative.trend_phrase(
                    self.data.trend(
                        s.indicator,
                        geography.LONDON_CODE,
                        latest["period"],
                        latest["breakdown"],
                        latest["group"],
                    ),
                    latest["polarity"],
                )
                rows.append(
                    {
                        "label": provenance.label(s.label, latest["source"]),
                        "row": latest,
                        "change": change,
                        "measure": m,
                        "trend": trend,
                    }
                )
        if not rows:
            return EMPTY
        table = pd.DataFrame(
            {
                "Indicator": [r["label"] for r in rows],
                "Period": [r["row"]["period"] for r in rows],
                "London": [tables.fmt_value(r["row"]["value"], r["row"]["flag"]) for r in rows],
                "Unit": [r["row"]["unit"] for r in rows],
                "95% CI": [
                    f"{tables.fmt(r['row']['lower_ci'])} to {tables.fmt(r['row']['upper_ci'])}"
                    if pd.notna(r["row"]["lower_ci"])
                    else "[z]"
                    for r in rows
                ],
                "Change since previous period": [narrative.short_change(r["change"]) for r in rows],
                "Assessment": [
                    str(r["change"]["assessment"]).replace("_", " ")
                    if r["change"] is not None
                    else "not compared"
                    for r in rows
                ],
                "Recent trend": [r["trend"] or "not tested" for r in rows],
            }
        )
        sentences = [
            narrative.headline(r["label"], r["row"], r["change"])
            + (
                f" Recent trend: {r['trend']}."
                if r["trend"] and pd.notna(r["row"]["value"])
                else ""
            )
            for r in rows
        ]
        pct = [r for r in rows if r["row"]["unit"] == "%" and pd.notna(r["row"]["value"])]
        html_chart = h.Markup("")
        if pct:
            frame = pd.DataFrame([{**r["row"].to_dict(), "group": r["label"]} for r in pct])
            chart = charts.dots(frame, title=f"{domain.title()}: latest London figures", unit="%")
            made.append(chart)
            html_chart = raw(charts.to_html(chart))
        methods = rules.method_sentence(str(r["row"].get("uncertainty", "")) for r in rows)
        return Section(
            h.h2(domain.title())
            + h.ul(sentences, class_="headline")
            + html_chart
            + raw(tables.to_html(table, caption=f"{domain.title()} measures: London"))
            + (h.p(methods) if methods else h.Markup("")),
            made,
        )
