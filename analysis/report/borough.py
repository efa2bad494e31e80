"""The report for one borough, written as a briefing: key messages with their numbers first,
then every indicator against London (with its trend, its source and base, its own half of
London and a link to its measure's page), the statistical neighbours, and how to read it all.

The City of London gets a short page of the figures that exist: its survey samples are too
small to publish and the Metropolitan Police do not cover it, which one sentence says.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis import (
    charts,
    geography,
    measures,
    narrative,
    neighbours,
    provenance,
    rules,
    series,
    tables,
)
from analysis import html as h
from analysis.report.base import Page, Section, links, measure_href, raw
from analysis.report.indicators import borough_indicator_rows

CITY = geography.CITY_OF_LONDON_CODE
# the locator map, drawn small: where the borough is, not half of the first page
LOCATOR_INCHES = (2.5, 1.875)  # whole CSS pixels (96 an inch): the print keeps 200 ppi
MIN_SPINE_INCHES = 3.75


def spine_title(area_name: str, verdicts: pd.Series) -> str:
    """A message title for the spine chart: what the tests against London found."""
    better, worse = int((verdicts == "better").sum()), int((verdicts == "worse").sum())
    n = len(verdicts)
    if not better and not worse:
        return (
            f"{area_name} is not significantly better or worse than London on any of {n} indicators"
        )
    parts = []
    if better:
        parts.append(f"better than London on {better}")
    if worse:
        parts.append(f"worse on {worse}" if better else f"worse than London on {worse}")
    return f"{area_name} is significantly {' and '.join(parts)} of {n} indicators"


class BoroughPage(Page):
    """Sections of the report for one borough."""

    def __init__(
        self, borough: str, data_dir: str | Path | None = None, boundaries_path: str | None = None
    ) -> None:
        super().__init__(data_dir, boundaries_path)
        self.code = geography.to_code(borough, allow_aggregates=False)
        self.name = geography.name_of(self.code)
        self.half = f"{geography.inner_outer(self.code)} London"
        self.summary_rows = self._summary_rows()

    @property
    def is_city(self) -> bool:
        """The City of London: a short page of the figures that exist."""
        return self.code == CITY

    def _summary_rows(self) -> pd.DataFrame:
        rows = borough_indicator_rows(self.data)
        rows = rows[rows["area_code"] == self.code].drop(columns="area_code").reset_index(drop=True)
        rows["change"] = [
            self.data.change(i, self.code, p, b, g)
            for i, p, b, g in zip(
                rows["indicator"], rows["period"], rows["breakdown"], rows["group"]
            )
        ]
        rows["trend"] = [
            self.data.trend(i, self.code, p, b, g)
            for i, p, b, g in zip(
                rows["indicator"], rows["period"], rows["breakdown"], rows["group"]
            )
        ]
        return rows

    def header(self) -> Section:
        return self.title(
            self.name,
            h.p(
                f"The state of social integration in {self.name} ({self.half}, {self.code}) "
                f"compared with London, {self.half} and the other boroughs.",
                class_="lede",
            ),
        )

    def tally(self) -> rules.Tally:
        """The page's one count of indicators against London (messages, spine title, alt text)."""
        return rules.tally(self.summary_rows)

    # -- page 1: the briefing ----------------------------------------------------------------

    def city_sentence(self) -> str:
        """Why most of the City's figures do not exist, in one plain sentence (its population
        from the data, never a remembered figure)."""
        residents = series.population(self.data.estimates, self.code)
        size = (
            f"had {residents[1]:,.0f} residents in {residents[0]}"
            if residents
            else "has very few residents"
        )
        reasons = narrative.unavailable_reasons(self.summary_rows)
        counts = [f"{len(labels)} {why}" for why, labels in reasons.items()]
        missing = self.missing_measures("borough")
        if missing:
            counts.append(f"{len(missing)} with no borough figures in this build")
        n = sum(len(labels) for labels in reasons.values()) + len(missing)
        return (
            f"The City of London {size}, so survey samples there are too small to publish, and it "
            f"has its own police force, outside the Metropolitan Police figures: {n} of the "
            f"figures the other boroughs have do not exist for it ({'; '.join(counts)})."
        )

    def key_messages(self) -> list[str]:
        """Three to five messages, each with its numbers: the tested comparisons with London,
        what moved (changes and trends), context, and what is unavailable and why."""
        rows, t = self.summary_rows, self.tally()
        messages = []
        if self.is_city:
            messages.append(self.city_sentence())
        messages += narrative.verdict_messages(t, rows)
        messages.append(narrative.movement_message(rows))
        context = narrative.context_message(t, rows)
        if context:
            messages.append(context)
        if not self.is_city:
            gone = narrative.unavailable_message(rows, self.missing_measures("borough"), self.name)
            if gone:
                messages.append(gone)
        return messages

    def summary(self) -> Section:
        """Key messages (the first section of the page), the proxies' notes, and the compact
        locator map."""
        rows = self.summary_rows
        proxies = [
            h.p(provenance.proxy_note(lab, src, proxy))
            for lab, (src, proxy) in dict(
                zip(rows["label"], zip(rows["source"], rows["proxy"]))
            ).items()
            if proxy
        ]
        locator = self.locator()
        return Section(
            h.join(
                [
                    h.h2("Key messages"),
                    h.ul(self.key_messages(), class_="headline key-messages"),
                    *proxies,
                    raw(locator.html),
                ]
            ),
            locator.charts,
        )

    def locator(self) -> Section:
        """A small map of London with the borough marked (its alt text says where it is)."""
        chart = charts.locator(self.shapes, self.code, self.name)
        chart.figure.set_size_inches(*LOCATOR_INCHES)
        chart.table = None  # the alt text and the page's opening line say the same
        return Section(raw(charts.to_html(chart)), [chart])

    # -- every indicator ---------------------------------------------------------------------

    def spine_rows(self) -> pd.DataFrame:
        """The rows the spine chart draws: every indicator with a direction (context indicators
        stay in the table); on the City's page only those with a figure to place, so the chart
        has no empty rows."""
        rows = self.summary_rows
        directional = rows[rows["polarity"].map(rules.judged)]
        if self.is_city:
            placed = [
                rules.rankable(v, f) for v, f in zip(directional["value"], directional["flag"])
            ]
            directional = directional[placed]
        return directional

    def spine(self) -> Section:
        """The spine chart with a recent-trend marker per indicator; its data table is the full
        table of indicators (interval, base, source, ranks, tests, trends, links)."""
        directional = self.spine_rows()
        t = self.tally()  # every indicator with a direction, drawn or not: the page's one count
        title = spine_title(
            self.name, self.summary_rows["verdict"][self.summary_rows["polarity"].map(rules.judged)]
        )
        if self.is_city:
            title += f"; the {len(directional)} with a published figure are drawn"
        if directional.empty:
            return Section(
                h.h2("Indicators against London")
                + h.p(f"{self.name} has no published figure on an indicator with a direction.")
                + raw(tables.to_html(self._indicator_table(), caption=f"{self.name}'s figures"))
            )
        chart = charts.spine(directional, title=title, area_name=self.name)
        width, height = chart.figure.get_size_inches()
        if height < MIN_SPINE_INCHES:  # a few rows: room for the legend under the axis labels
            chart.figure.set_size_inches(width, MIN_SPINE_INCHES)
        markers = [
            rules.trend_marker(None if t is None else t["direction"], p)
            for t, p in zip(directional["trend"], directional["polarity"])
        ]
        charts.mark_rows(chart, markers, heading="Trend")
        if self.is_city:  # the count is of every indicator, as the key messages give it
            chart.alt = (
                f"Spine chart of {t.judged} indicators for {self.name} against London: "
                f"{len(t.better)} better, {len(t.worse)} worse, {len(t.similar)} similar, "
                f"{t.n_not_compared} not compared; only the {len(directional)} with a published "
                "figure are drawn. Details in the table below."
            )
        chart.alt = chart.alt.replace(
            " Details in the table below.",
            " Recent trends: " + narrative.marker_counts(markers) + ". Details in the table below.",
        )
        # a caveat sits with the chart where its row appears (hate crime per resident)
        chart.notes += [rules.TREND_MARKER_NOTE, rules.RANK_NOTE, *self.caveats()]
        chart.table = self._indicator_table()
        sources = tables.to_html(
            self._sources_table(),
            caption=f"Source and base of each of {self.name}'s figures (base: respondents to a "
            "survey, or the count the rate is taken over)",
        )
        return Section(
            h.h2("All indicators against London") + raw(charts.to_html(chart)) + raw(sources),
            [chart],
        )

    def _indicator_table(self) -> pd.DataFrame:
        rows = self.summary_rows
        if self.is_city:  # the figures that exist
            rows = rows[rows["value"].notna()]
        return pd.DataFrame(
            {
                "Indicator": links(
                    h.link(lab, measure_href(m))
                    for lab, m in zip(rows["label"], rows["measure_id"])
                ).set_axis(rows.index),
                "Period": rows["period"],
                "Unit": rows["unit"],
                self.name: [tables.fmt_value(v, f) for v, f in zip(rows["value"], rows["flag"])],
                "95% CI": [
                    f"{tables.fmt(lo)} to {tables.fmt(hi)}" if pd.notna(lo) else ""
                    for lo, hi in zip(rows["lower_ci"], rows["upper_ci"])
                ],
                "London": rows["london"].map(tables.fmt),
                self.half: rows["half"].map(tables.fmt),
                "Borough range": [
                    rules.range_text(tables.fmt(lo), tables.fmt(hi), 0 if pd.isna(lo) else int(n))
                    for lo, hi, n in zip(rows["min"], rows["max"], rows["n_ranked"])
                ],
                "Rank (1 = best)": [
                    rules.rank_text(r, n, f, p)
                    for r, n, f, p in zip(
                        rows["rank"], rows["n_ranked"], rows["flag"], rows["polarity"]
                    )
                ],
                "Compared with London": [
                    narrative.comparison_phrase(c, p)
                    for c, p in zip(rows["compared_to_london"], rows["polarity"])
                ],
                "Recent trend": [
                    narrative.trend_cell(t, p) for t, p in zip(rows["trend"], rows["polarity"])
                ],
                "Note": [
                    rules.flag_reason_text(f, r, k.startswith("survey"))
                    for f, r, k in zip(rows["flag"], rows["flag_reason"], rows["kind"])
                ],
            }
        )

    def _sources_table(self) -> pd.DataFrame:
        """Each indicator's base (respondents, or the denominator's count) and source: a table
        of its own, as the indicator table would be too wide for a page with them."""
        rows = self.summary_rows
        if self.is_city:
            rows = rows[rows["value"].notna()]
        return pd.DataFrame(
            {
                "Indicator": links(
                    h.link(lab, measure_href(m))
                    for lab, m in zip(rows["label"], rows["measure_id"])
                ).set_axis(rows.index),
                "Period": rows["period"],
                "Base": [f"{int(b):,}" if pd.notna(b) else "" for b in rows["unweighted_base"]],
                "Source": [
                    provenance.source_text(s, p) for s, p in zip(rows["source"], rows["proxy"])
                ],
            }
        )

    def similar(self) -> Section:
        """Similar boroughs: the five statistical neighbours, the method, and the headline
        figures side by side (on the City's page, the indicators it has a figure for)."""
        table = neighbours.read(self.data_dir)
        if table is None or self.code not in set(table["borough"]):
            return Section(
                h.h2("Similar boroughs") + h.p("This build has no statistical neighbours.")
            )
        wide = neighbours.side_by_side(
            borough_indicator_rows(self.data), self.data.estimates, self.code, table
        )
        if self.is_city:
            wide = wide[~wide[self.name].str.startswith("[")]
        return Section(
            h.h2("Similar boroughs")
            + h.join(h.p(t) for t in neighbours.sentences(table, self.code))
            + raw(
                tables.to_html(
                    wide,
                    caption=f"{self.name}'s latest figures beside its neighbours' and "
                    f"{self.half}'s",
                )
            )
        )

    # -- how to read it ----------------------------------------------------------------------

    def caveats(self) -> list[str]:
        """The registry caveat of each measure on the page whose figures are per resident (crimes
        per 1,000 residents: a borough with many visitors, commuters and workers has a high rate
        that does not describe its residents), for the rows the page shows."""
        shown = self.summary_rows[self.summary_rows["value"].notna()]
        out = []
        for measure_id, label in dict(zip(shown["measure_id"], shown["label"])).items():
            m = measures.get(measure_id)
            per_resident = m.denominator == "population" and m.kind == "admin_rate"
            if per_resident and rules.judged(m.polarity) and m.caveats:
                out.append(f"{label}: {m.caveats}")
        return out

    def table(self) -> Section:
        """How to read the page (the full table sits under the spine chart, the caveats with
        it): notes on particular figures, the flag rule of each source the page's figures come from, and the
        uncertainty models behind them, in the rulebook's words."""
        e = self.data.estimates
        rows = self.summary_rows
        shown = e[e["measure_id"].isin(set(rows["measure_id"])) & (e["area_code"] == self.code)]
        methods = (
            rules.method_sentence(rows.loc[rows["uncertainty"] != "", "uncertainty"])
            if len(rows)
            else ""
        )
        return Section(
            h.join(
                [
                    raw(
                        provenance.notes_html(
                            rows.assign(group="all"), f"Notes on {self.name}'s figures"
                        )
                    ),
                    raw(provenance.reading_guide(shown)) if len(shown) else None,
                    h.p(methods) if methods else None,
                ]
            )
        )
