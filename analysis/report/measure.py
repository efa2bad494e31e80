"""The report for one measure: London's headline and trend, population groups, boroughs,
Inner and Outer London, and what the measure is."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis import (
    charts,
    compare,
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
from analysis.report.base import EMPTY, Page, Section, raw
from analysis.report.indicators import latest_period


class MeasurePage(Page):
    """Sections of the report for one measure."""

    def __init__(
        self,
        measure_id: str,
        data_dir: str | Path | None = None,
        boundaries_path: str | None = None,
    ) -> None:
        super().__init__(data_dir, boundaries_path)
        self.measure: Measure = measures.get(measure_id)
        e = self.data.estimates
        self.rows = e[e.measure_id == measure_id]
        self.available = not self.rows.empty  # a real-data build may have no source for a measure

    def indicators(self) -> list[tuple[str, str]]:
        """(indicator, label) pairs shown on the page, registry order; a proxy's label says so."""
        m = self.measure
        pairs = [(s.indicator, s.label) for s in m.series]
        if m.rate_indicator:
            pairs.insert(0, (m.rate_indicator, m.rate_label or m.rate_indicator))
        proxies = self._proxies()
        return [(i, provenance.label(lab, proxies[i])) for i, lab in pairs if i in proxies]

    def _proxies(self) -> dict[str, bool]:
        """Indicator -> whether its figures are a proxy (its last row's ``proxy``)."""
        return dict(zip(self.rows.indicator, self.rows.proxy.astype(bool)))

    def series_key(self, indicator: str) -> series.SeriesKey | None:
        """The one series this page shows for ``indicator`` (None: the source has group series only)."""
        return series.headline_key(self.rows, indicator, self.measure.id)

    def _london(self, indicator: str) -> pd.DataFrame:
        key = self.series_key(indicator)
        if key is None:
            return self.rows.iloc[0:0]
        return series.select(self.rows, key, areas=[geography.LONDON_CODE], single_periods=True)

    def header(self) -> Section:
        m = self.measure
        missing = (
            None
            if self.available
            else h.element(
                "div",
                h.element("strong", "No figures: this build has no source for this measure."),
                f" Its source ({m.source}) is survey microdata released under licence or not yet "
                "loaded. Add survey waves with a codebook (see the README) to report it.",
                class_="notice",
                role="note",
            )
        )
        sources = dict(zip(self.rows.indicator, self.rows.source))
        is_proxy = self._proxies()
        proxies = [
            h.element(
                "div",
                provenance.proxy_note(lab, sources[i], is_proxy[i]),
                class_="notice",
                role="note",
            )
            for i, lab in self.indicators()
            if is_proxy[i]
        ]
        return self.title(
            self.heading(),
            missing,
            *proxies,
            h.p(m.definition, class_="lede"),
            h.p(
                f"Domain: {m.domain.title()}. Unit: {m.unit}. {self.direction_text()}",
                class_="meta",
            ),
            self.method_html(),
        )

    def heading(self) -> str:
        """The page's h1: the measure's title, marked "(proxy)" when its figures are a proxy.

        :func:`analysis.provenance.measure_title` makes it, as it makes the page's HTML and PDF
        title and its entry in the index (the build's :class:`~analysis.build.planning.Job`)."""
        return provenance.measure_title(self.measure, self.rows)

    def direction_text(self) -> str:
        """Which way is better, for each polarity among the page's rows (the rulebook's words);
        a gap measure's group rates have their own polarity."""
        m = self.measure
        if not (m.rate_indicator and m.rate_polarity != m.polarity):
            return rules.polarity_sentence(m.polarity)
        rate = rules.polarity_sentence(m.rate_polarity)
        gaps = rules.polarity_sentence(m.polarity)
        return f"{m.rates_title}: {rate[0].lower()}{rate[1:]} Gaps: {gaps[0].lower()}{gaps[1:]}"

    def method_html(self) -> h.Markup:
        """One sentence from the rulebook on the uncertainty model behind the page's figures."""
        if not self.available or "uncertainty" not in self.rows:
            return h.Markup("")
        text = rules.method_sentence(self.rows["uncertainty"][self.rows["uncertainty"] != ""])
        return h.p(text) if text else h.Markup("")

    def headline(self) -> Section:
        if not self.available:
            return EMPTY
        items = []
        for indicator, label in self.indicators():
            london = self._london(indicator)
            if london.empty:
                continue
            latest = london.sort_values("period").iloc[-1]
            change = self.data.change(
                indicator,
                geography.LONDON_CODE,
                latest["period"],
                latest["breakdown"],
                latest["group"],
            )
            text = narrative.headline(label, latest, change)
            trend = narrative.trend_phrase(
                self.data.trend(
                    indicator,
                    geography.LONDON_CODE,
                    latest["period"],
                    latest["breakdown"],
                    latest["group"],
                ),
                latest["polarity"],
            )
            if trend and not pd.isna(latest["value"]):
                text += f" Recent trend: {trend}."
            items.append(text)
        return Section(h.h2("Headline") + h.ul(items, class_="headline"))

    def trends(self) -> Section:
        if not self.available:
            return EMPTY
        out: list = [h.h2("Trend in London")]
        series: list = []
        for indicator, label in self.indicators():
            london = self._london(indicator).sort_values("period")
            if london.empty:
                continue
            latest = london.iloc[-1]
            change = self.data.change(
                indicator,
                geography.LONDON_CODE,
                latest["period"],
                latest["breakdown"],
                latest["group"],
            )
            trend = self.data.trend(
                indicator,
                geography.LONDON_CODE,
                latest["period"],
                latest["breakdown"],
                latest["group"],
            )
            series.append((label, london, narrative.trend_title(label, latest, change, trend)))
        # one chart per series, or small multiples for a measure with many
        made = charts.trends(series, breaks=self.measure.series_breaks)
        out += [raw(charts.to_html(chart)) for chart in made]
        return Section(h.join(out), made)

    def groups(self) -> Section:
        """One panel chart per indicator with every population-group breakdown."""
        if not self.available:
            return EMPTY
        m = self.measure
        if not m.breakdowns:
            return EMPTY  # counts by area only: no population groups to show
        out, made = [h.h2("Population groups")], []
        group_indicators = [
            (i, lab)
            for i, lab in self.indicators()
            if not (m.kind == "survey_gap" and i != m.rate_indicator)
        ]
        for indicator, label in group_indicators:
            london = self._london(indicator)
            if london.empty:
                continue
            period = london["period"].max()
            r = self.rows
            at = r[
                (r.indicator == indicator)
                & (r.period == period)
                & (r.area_code == geography.LONDON_CODE)
            ]
            london_value = float(london[london.period == period]["value"].iloc[0])
            blocks, sentences = [], []
            for breakdown in [b for b in schemas.LEVELS if b in set(at.breakdown)]:
                rows = at[at.breakdown == breakdown].copy()
                rows["order"] = rows["group"].map(schemas.LEVELS[breakdown].index)
                rows = rows.sort_values("order")
                name = schemas.BREAKDOWN_LABELS[breakdown]
                blocks.append((name, rows))
                sentences.append(narrative.groups_sentence(rows, name, m.polarity))
            if not blocks:
                continue
            differing = sum(
                1
                for _, rows in blocks
                for c in rows["compared_to_london"]
                if c in ("higher", "lower")
            )
            tested = any(
                c != "not_compared" for _, rows in blocks for c in rows["compared_to_london"]
            )
            title = (
                f"{label}, {period}: {differing} population groups differ significantly from London as a whole"
                if differing
                else f"{label}, {period}: no population group differs significantly from London"
                if tested
                else f"{label}, {period}, by population group (not tested against London as a whole)"
            )
            unit = at["unit"].iloc[0]
            polarity = at["polarity"].iloc[0]
            chart = charts.group_panels(
                blocks, title=title, london=london_value, unit=unit, polarity=polarity
            )
            made.append(chart)
            out.append(h.h3(label) + h.ul(sentences) + raw(charts.to_html(chart)))
        if m.kind == "survey_gap":
            out.append(self._gap_table())
        return Section(h.join(out), made)

    def _gap_table(self) -> h.Markup:
        m = self.measure
        r = self.rows
        gaps = r[
            r.indicator.isin([s.indicator for s in m.series])
            & (r.area_code == geography.LONDON_CODE)
            & ~compare.is_pooled(r.period)
        ]
        period = gaps["period"].max()
        latest = gaps[gaps.period == period].copy()
        labels = {s.indicator: s.label for s in m.series}
        latest["group"] = latest["indicator"].map(labels)
        table = tables.estimate_table(latest, ["group"]).rename(columns={"Group": "Gap"})
        return h.h3("Gaps in London") + raw(
            tables.to_html(table, caption=f"{m.title} in London, {period} (percentage points)")
        )

    def boroughs(self) -> Section:
        if not self.available:
            return EMPTY
        m = self.measure
        if "borough" not in m.geographies:
            return Section(
                h.h2("Boroughs")
                + h.p(
                    "This measure comes from a survey whose sample is too small for borough figures; it is reported for "
                    "London and its population groups only."
                )
            )
        r = self.rows
        out, made = [h.h2("Boroughs")], []
        shapes = self.shapes
        charted = self.indicators()
        if m.kind == "survey_gap":  # borough gaps are mostly too uncertain to map; they get a table
            charted = [(i, lab) for i, lab in charted if i == m.rate_indicator]
            out.append(self._borough_gap_table())
        for indicator, label in charted:
            key = self.series_key(indicator)
            if (
                key is None
            ):  # e.g. published employment rates by group only: no one series to map or rank
                out.append(
                    h.h3(label)
                    + h.p(
                        "The source publishes this figure for population groups only, with no figure for all people, so "
                        "there is no single borough map or ranking of it; the groups' gaps are in the table above."
                    )
                )
                continue
            at = series.select(r, key, boroughs=True)
            if at.empty:
                continue
            period = latest_period(at, pooled=m.kind == "survey_gap")
            if period is None:
                continue
            pooled = bool(compare.is_pooled(pd.Series([period])).iloc[0])
            rows = at[at.period == period]
            london_row = series.select(r, key, period=period, areas=[geography.LONDON_CODE])
            london = float(london_row["value"].iloc[0]) if len(london_row) else np.nan
            sentence = narrative.boroughs_sentence(rows, rows["polarity"].iloc[0], period)
            unit, polarity = rows["unit"].iloc[0], rows["polarity"].iloc[0]
            map_chart = charts.choropleth(
                rows, shapes, title=f"{label} by borough, {period}", unit=unit
            )
            map_chart.table = None  # the ranked chart below carries the same borough table
            map_chart.notes.append(
                "The figures for every borough are in the table after the next chart."
            )
            ranked = charts.ranked_boroughs(
                rows,
                title=f"{label}, {period}: {sentence.split(', ', 1)[-1]}",
                london=london,
                unit=unit,
                polarity=polarity,
            )
            made += [map_chart, ranked]
            pooled_note = (
                h.p(f"Borough figures pool the survey waves {period} to give large enough samples.")
                if pooled
                else None
            )
            out.append(
                h.join(
                    [
                        h.h3(label),
                        h.p(sentence),
                        pooled_note,
                        raw(charts.to_html(map_chart)),
                        raw(charts.to_html(ranked)),
                        raw(provenance.notes_html(rows, f"Notes on the figures for {period}")),
                    ]
                )
            )
        return Section(h.join(out), made)

    def _borough_gap_table(self) -> h.Markup:
        m = self.measure
        r = self.rows
        gaps = r[
            r.indicator.isin([s.indicator for s in m.series]) & r.area_code.str.startswith("E09")
        ]
        if gaps.empty:
            return h.Markup("")
        period = latest_period(gaps, pooled=True) or gaps["period"].max()
        pooled = bool(compare.is_pooled(pd.Series([period])).iloc[0])
        latest = gaps[gaps.period == period]
        labels = {s.indicator: s.short for s in m.series}
        wide = latest.assign(
            cell=[
                tables.fmt_value(v, f) + ("" if c in ("similar", "not_compared") else f" ({c})")
                for v, f, c in zip(latest.value, latest.flag, latest.compared_to_london)
            ]
        )
        table = wide.pivot(index="area_name", columns="indicator", values="cell")
        table = table[[s.indicator for s in m.series if s.indicator in table.columns]].rename(
            columns=labels
        )
        table = table.reset_index().rename(columns={"area_name": "Borough"})
        return (
            h.h3(f"{m.title} by borough")
            + h.p(
                (
                    "Percentage-point gaps pooled over the survey waves "
                    if pooled
                    else "Percentage-point gaps in "
                )
                + f"{period}; '(higher)' or '(lower)' marks a gap significantly different from London's. Most "
                "borough gaps rest on small samples."
            )
            + raw(
                tables.to_html(table, caption=f"{m.title} by borough, {period} (percentage points)")
            )
            + raw(provenance.notes_html(latest, f"Notes on the borough gaps, {period}"))
        )

    def inner_outer(self) -> Section:
        if not self.available:
            return EMPTY
        r = self.rows
        out = [h.h2("Inner and Outer London")]
        for indicator, label in self.indicators():
            key = self.series_key(indicator)
            if key is None:
                continue
            io = series.select(
                r, key, areas=[geography.INNER_LONDON_CODE, geography.OUTER_LONDON_CODE]
            )
            if io.empty:
                continue
            period = io["period"].max()
            rows = io[io.period == period]
            # each statement is judged with the polarity of the row it describes (an employment
            # rate row inside the employment-gap measure is higher-is-better)
            sentence = "; ".join(
                f"{a}: {narrative.unit_text(v, u)}, {narrative.comparison_phrase(c, p)}"
                for a, v, u, c, p in zip(
                    rows.area_name, rows.value, rows.unit, rows.compared_to_london, rows.polarity
                )
                if pd.notna(v)
            )
            out.append(
                h.p(f"{label}, {period}. {sentence}.")
                + raw(
                    tables.to_html(
                        tables.estimate_table(rows, ["area_name"]),
                        caption=f"{label}: Inner and Outer London, {period}",
                    )
                )
            )
        return Section(h.join(out))

    def about(self) -> Section:
        m = self.measure
        refs = [
            f"{s.label}: {narrative.unit_text(s.reference.value, m.unit)} ({s.reference.period})"
            for s in m.series
            if s.reference
        ]
        source = (
            provenance.source_text(self.rows["source"].iloc[0], self.rows["proxy"].iloc[0])
            if self.available
            else m.source
        )
        terms: list[tuple[str, h.Child]] = [
            ("Definition", m.definition),
            ("Why it matters", m.rationale),
            ("Source", source),
        ]
        if m.caveats:
            terms.append(("Caveats", m.caveats))
        if refs:
            terms.append(("Figures quoted in the strategy", h.ul(refs)))
        listing = h.join(h.element("dt", term) + h.element("dd", text) for term, text in terms)
        return Section(
            h.h2("About this measure")
            + h.element("dl", listing)
            + (
                raw(provenance.reading_guide(self.rows)) + self.method_html()
                if self.available
                else h.Markup("")
            )
            + h.p(rules.RANK_NOTE)
        )
