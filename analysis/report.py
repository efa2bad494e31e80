"""Report pages: what the notebooks call. Each section reads the build's estimates and
returns HTML (charts, tables and sentences) for the notebook to display.

Nothing here estimates anything: the numbers come from ``estimates.csv`` and ``changes.csv``
written once per build by :mod:`analysis.pipeline`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import (
    charts,
    compare,
    geography,
    measures,
    narrative,
    neighbours,
    pipeline,
    provenance,
    rules,
    schemas,
    series,
    tables,
)
from analysis.measures import Measure
from analysis.outputs import SYNTHETIC_NOTICE

DEFAULT_DATA_DIR = geography.PROJECT_ROOT / "reports" / "data"


@dataclass
class Section:
    """A block of report HTML (and the charts in it, for researchers to reuse)."""

    html: str
    charts: list[charts.Chart] = field(default_factory=list)

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        # short on purpose: a notebook stores this plain-text form beside the HTML of every
        # output, and the default (the whole HTML and every chart's table) doubled each report
        return f"<Section: {len(self.html):,} characters of HTML, {len(self.charts)} chart(s)>"


@dataclass(frozen=True)
class ReportData:
    estimates: pd.DataFrame
    changes: pd.DataFrame
    key: tuple = ()  # (folder, modification time) of the files read: identifies this build's data
    trends: pd.DataFrame | None = None  # trends.csv: each series' recent trend (None: not written)

    @property
    def synthetic(self) -> bool:
        return bool(self.estimates["synthetic"].astype(str).str.lower().eq("true").any())

    @cached_property
    def _change_rows(self) -> dict[tuple, int]:
        """Row position in ``changes`` of each (indicator, area, period, breakdown, group); the
        first row wins, as a filter's first match would."""
        keys = zip(
            *(
                self.changes[c].tolist()
                for c in ("indicator", "area_code", "period", "breakdown", "group")
            )
        )
        index: dict[tuple, int] = {}
        for position, key in enumerate(keys):
            index.setdefault(key, position)
        return index

    def change(
        self, indicator: str, area: str, period: str, breakdown: str = "all", group: str = "all"
    ) -> pd.Series | None:
        """The tested change of one figure since the previous period (None if there is none).

        Looked up in an index made once per build's data: a report asks for dozens of these.
        """
        position = self._change_rows.get((indicator, area, period, breakdown, group))
        return None if position is None else self.changes.iloc[position]

    @cached_property
    def _trend_rows(self) -> dict[tuple, int]:
        if self.trends is None:
            return {}
        keys = zip(
            *(
                self.trends[c].tolist()
                for c in ("indicator", "area_code", "breakdown", "group", "to_period")
            )
        )
        return {key: position for position, key in enumerate(keys)}

    def trend(
        self, indicator: str, area: str, period: str, breakdown: str = "all", group: str = "all"
    ) -> pd.Series | None:
        """The recent trend of a series ending at ``period`` (a row of ``trends.csv``), or None."""
        position = self._trend_rows.get((indicator, area, breakdown, group, period))
        return None if position is None else self.trends.iloc[position]


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> ReportData:
    folder = Path(path)
    estimates = pipeline.read_estimates(folder / "estimates.csv")
    changes = pd.read_csv(folder / "changes.csv", dtype={"period": str, "previous_period": str})
    trends = (
        pd.read_csv(
            folder / "trends.csv",
            dtype={"from_period": str, "to_period": str, "group": str, "breakdown": str},
            keep_default_na=False,
            na_values={"p_value": [""]},
        )
        if (folder / "trends.csv").exists()
        else None
    )
    return ReportData(estimates, changes, (path, mtime), trends)


def load(data_dir: str | Path | None = None) -> ReportData:
    """The build's estimates (cached per file version). Computes the demo ones if absent."""
    folder = Path(data_dir) if data_dir else DEFAULT_DATA_DIR
    target = folder / "estimates.csv"
    if not target.exists():  # a researcher opening a notebook before any build
        pipeline.write_results(pipeline.compute(pipeline.demo_inputs()), folder, parquet=False)
    return _load(str(folder.resolve()), target.stat().st_mtime)


@lru_cache(maxsize=2)
def boundaries(path: str | None = None):
    return geography.load_boundaries(path)


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


def notice(data: ReportData) -> Section:
    """The synthetic-data banner (empty for real data)."""
    if not data.synthetic:
        return Section("")
    return Section(
        f"<div class='notice synthetic' role='note'><strong>{html.escape(SYNTHETIC_NOTICE)}</strong></div>"
    )


def _p(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"


def main_rows(estimates: pd.DataFrame) -> pd.DataFrame:
    """Whole-population rows, and the rows of gap indicators (whose breakdown is the
    variable the gap is between)."""
    gaps = {s.indicator for m in measures.registry() if m.kind == "survey_gap" for s in m.series}
    return estimates[(estimates["breakdown"] == "all") | estimates["indicator"].isin(gaps)]


def _latest_period(rows: pd.DataFrame, pooled: bool = False) -> str | None:
    """Latest period, preferring pooled ones when asked (survey borough gaps) and falling back
    to single periods (published gaps come by single year)."""
    pooled_mask = compare.is_pooled(rows["period"])
    periods = rows.loc[pooled_mask == pooled, "period"]
    if not len(periods) and pooled:
        periods = rows.loc[~pooled_mask, "period"]
    return max(periods) if len(periods) else None


class MeasurePage:
    """Sections of the report for one measure."""

    def __init__(
        self,
        measure_id: str,
        data_dir: str | Path | None = None,
        boundaries_path: str | None = None,
    ):
        self.measure: Measure = measures.get(measure_id)
        self.data = load(data_dir)
        self.boundaries_path = boundaries_path
        e = self.data.estimates
        self.rows = e[e.measure_id == measure_id]
        self.available = not self.rows.empty  # a real-data build may have no source for a measure

    def indicators(self) -> list[tuple[str, str]]:
        """(indicator, label) pairs shown on the page, registry order; a proxy's label says so."""
        m = self.measure
        pairs = [(s.indicator, s.label) for s in m.series]
        if m.rate_indicator:
            pairs.insert(0, (m.rate_indicator, m.rate_label or m.rate_indicator))
        sources = dict(zip(self.rows.indicator, self.rows.source))
        return [(i, provenance.label(lab, sources[i])) for i, lab in pairs if i in sources]

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
            ""
            if self.available
            else (
                "<div class='notice' role='note'><strong>No figures: this build has no source for this measure.</strong> "
                f"Its source ({html.escape(m.source)}) is survey microdata released under licence or not yet loaded. "
                "Add survey waves with a codebook (see the README) to report it.</div>"
            )
        )
        sources = dict(zip(self.rows.indicator, self.rows.source))
        proxies = "".join(
            f"<div class='notice' role='note'>{html.escape(provenance.proxy_note(lab, sources[i]))}</div>"
            for i, lab in self.indicators()
            if provenance.is_proxy(sources[i])
        )
        body = (
            f"<h1>{html.escape(m.title)}</h1>"
            + notice(self.data).html
            + missing
            + proxies
            + f"<p class='lede'>{html.escape(m.definition)}</p>"
            + f"<p class='meta'>Domain: {html.escape(m.domain.title())}. Unit: {html.escape(m.unit)}. "
            + html.escape(self.direction_text())
            + "</p>"
            + self.method_html()
        )
        return Section(body)

    def direction_text(self) -> str:
        """Which way is better, for each polarity among the page's rows (the rulebook's words);
        a gap measure's group rates have their own polarity."""
        m = self.measure
        if not (m.rate_indicator and m.rate_polarity != m.polarity):
            return rules.polarity_sentence(m.polarity)
        rate = rules.polarity_sentence(m.rate_polarity)
        gaps = rules.polarity_sentence(m.polarity)
        return f"{m.rates_title}: {rate[0].lower()}{rate[1:]} Gaps: {gaps[0].lower()}{gaps[1:]}"

    def method_html(self) -> str:
        """One sentence from the rulebook on the uncertainty model behind the page's figures."""
        if not self.available or "uncertainty" not in self.rows:
            return ""
        text = rules.method_sentence(self.rows["uncertainty"][self.rows["uncertainty"] != ""])
        return _p(text) if text else ""

    def headline(self) -> Section:
        if not self.available:
            return Section("")
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
            items.append(f"<li>{html.escape(text)}</li>")
        return Section("<h2>Headline</h2><ul class='headline'>" + "".join(items) + "</ul>")

    def trends(self) -> Section:
        if not self.available:
            return Section("")
        out, made = ["<h2>Trend in London</h2>"], []
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
            made.append((label, london, narrative.trend_title(label, latest, change, trend)))
        # one chart per series, or small multiples for a measure with many
        made = charts.trends(made, breaks=self.measure.series_breaks)
        out += [charts.to_html(chart) for chart in made]
        return Section("".join(out), made)

    def groups(self) -> Section:
        """One panel chart per indicator with every population-group breakdown."""
        if not self.available:
            return Section("")
        m = self.measure
        if not m.breakdowns:
            return Section("")  # counts by area only: no population groups to show
        out, made = ["<h2>Population groups</h2>"], []
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
            out.append(
                f"<h3>{html.escape(label)}</h3><ul>"
                + "".join(f"<li>{html.escape(t)}</li>" for t in sentences)
                + "</ul>"
                + charts.to_html(chart)
            )
        if m.kind == "survey_gap":
            out.append(self._gap_table())
        return Section("".join(out), made)

    def _gap_table(self) -> str:
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
        return "<h3>Gaps in London</h3>" + tables.to_html(
            table, caption=f"{m.title} in London, {period} (percentage points)"
        )

    def boroughs(self) -> Section:
        if not self.available:
            return Section("")
        m = self.measure
        if "borough" not in m.geographies:
            return Section(
                "<h2>Boroughs</h2>"
                + _p(
                    "This measure comes from a survey whose sample is too small for borough figures; it is reported for "
                    "London and its population groups only."
                )
            )
        r = self.rows
        out, made = ["<h2>Boroughs</h2>"], []
        shapes = boundaries(self.boundaries_path)
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
                    f"<h3>{html.escape(label)}</h3>"
                    + _p(
                        "The source publishes this figure for population groups only, with no figure for all people, so "
                        "there is no single borough map or ranking of it; the groups' gaps are in the table above."
                    )
                )
                continue
            at = series.select(r, key, boroughs=True)
            if at.empty:
                continue
            period = _latest_period(at, pooled=m.kind == "survey_gap")
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
                _p(f"Borough figures pool the survey waves {period} to give large enough samples.")
                if pooled
                else ""
            )
            out.append(
                f"<h3>{html.escape(label)}</h3>"
                + _p(sentence)
                + pooled_note
                + charts.to_html(map_chart)
                + charts.to_html(ranked)
                + provenance.notes_html(rows, f"Notes on the figures for {period}")
            )
        return Section("".join(out), made)

    def _borough_gap_table(self) -> str:
        m = self.measure
        r = self.rows
        gaps = r[
            r.indicator.isin([s.indicator for s in m.series]) & r.area_code.str.startswith("E09")
        ]
        if gaps.empty:
            return ""
        period = _latest_period(gaps, pooled=True) or gaps["period"].max()
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
            f"<h3>{html.escape(m.title)} by borough</h3>"
            + _p(
                (
                    "Percentage-point gaps pooled over the survey waves "
                    if pooled
                    else "Percentage-point gaps in "
                )
                + f"{period}; '(higher)' or '(lower)' marks a gap significantly different from London's. Most "
                "borough gaps rest on small samples."
            )
            + tables.to_html(table, caption=f"{m.title} by borough, {period} (percentage points)")
            + provenance.notes_html(latest, f"Notes on the borough gaps, {period}")
        )

    def inner_outer(self) -> Section:
        if not self.available:
            return Section("")
        r = self.rows
        out = ["<h2>Inner and Outer London</h2>"]
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
                _p(f"{label}, {period}. {sentence}.")
                + tables.to_html(
                    tables.estimate_table(rows, ["area_name"]),
                    caption=f"{label}: Inner and Outer London, {period}",
                )
            )
        return Section("".join(out))

    def about(self) -> Section:
        m = self.measure
        refs = "".join(
            f"<li>{html.escape(s.label)}: {narrative.unit_text(s.reference.value, m.unit)} ({html.escape(s.reference.period)})</li>"
            for s in m.series
            if s.reference
        )
        source = provenance.base_source(self.rows["source"].iloc[0]) if self.available else m.source
        body = (
            "<h2>About this measure</h2>"
            f"<dl><dt>Definition</dt><dd>{html.escape(m.definition)}</dd>"
            f"<dt>Why it matters</dt><dd>{html.escape(m.rationale)}</dd>"
            f"<dt>Source</dt><dd>{html.escape(source)}</dd>"
            + (f"<dt>Caveats</dt><dd>{html.escape(m.caveats)}</dd>" if m.caveats else "")
            + (f"<dt>Figures quoted in the strategy</dt><dd><ul>{refs}</ul></dd>" if refs else "")
            + "</dl>"
            + (provenance.reading_guide(self.rows) + self.method_html() if self.available else "")
            + _p(rules.RANK_NOTE)
        )
        return Section(body)


def headline_indicators() -> list[tuple[Measure, str, str]]:
    """(measure, indicator, label) for every series of the registry, in order. A gap measure's
    group rates are not series (its gaps are), so they are not listed."""
    return [(m, s.indicator, s.label) for m in measures.registry() for s in m.series]


_BOROUGH_ROWS: dict[tuple, pd.DataFrame] = {}


def borough_indicator_rows(data: ReportData) -> pd.DataFrame:
    """Every borough-level indicator at its latest period, for all 33 boroughs at once, with
    London's value, the spread of boroughs, the verdict against London and the rank.

    Computed once per build's data and kept, so each borough page only picks its rows.
    """
    cache_key = data.key or (id(data.estimates),)
    if cache_key in _BOROUGH_ROWS:
        return _BOROUGH_ROWS[cache_key]
    e = main_rows(data.estimates)
    frames = []
    for m, indicator, label in headline_indicators():
        if "borough" not in m.geographies:
            continue
        key = series.headline_key(e, indicator, m.id)
        if key is None:
            continue
        at = series.select(e, key, boroughs=True)
        period = _latest_period(at, pooled=m.kind == "survey_gap") if len(at) else None
        if period is None:
            continue
        boroughs = at[at.period == period]
        london = series.select(e, key, period=period, areas=[geography.LONDON_CODE])
        if london.empty:
            continue
        polarity = str(boroughs["polarity"].iloc[0])  # the polarity of the rows described
        # the borough range and the ranks use the same figures: published and not [u]
        ranks = compare.ranks(
            e, m.id, indicator, period, polarity, key.breakdown, key.group
        ).set_index("area_code")
        values = ranks["value"]
        frame = boroughs[
            [
                "area_code",
                "area_name",
                "indicator",
                "breakdown",
                "group",
                "value",
                "lower_ci",
                "upper_ci",
                "flag",
                "flag_reason",
                "uncertainty",
                "compared_to_london",
                "unit",
                "polarity",
                "source",
            ]
        ].copy()
        frame = frame.assign(
            measure_id=m.id,
            domain=m.domain,
            label=provenance.label(label, boroughs["source"].iloc[0]),
            period=period,
            kind=m.kind,
            london=float(london["value"].iloc[0]),
            min=values.min() if len(values) else np.nan,
            max=values.max() if len(values) else np.nan,
            q25=values.quantile(0.25) if len(values) else np.nan,
            q75=values.quantile(0.75) if len(values) else np.nan,
            verdict=rules.verdicts(frame).to_numpy(),
            # no rank for a [u] figure, nor for a neutral indicator (no best end)
            rank=[
                ranks.loc[c, "rank_best"] if c in ranks.index else None for c in frame["area_code"]
            ],
            n_ranked=len(ranks),
        )
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    _BOROUGH_ROWS.clear()  # one build's data at a time
    _BOROUGH_ROWS[cache_key] = out
    return out


def missing_measures(data: ReportData, geography_level: str = "london") -> list[str]:
    """Titles of the strategy's measures that this build has no figures for (at that level)."""
    have = set(data.estimates["measure_id"])
    return [
        m.title
        for m in measures.strategy_measures()
        if geography_level in m.geographies and m.id not in have
    ]


class BoroughPage:
    """Sections of the report for one borough."""

    def __init__(
        self, borough: str, data_dir: str | Path | None = None, boundaries_path: str | None = None
    ):
        self.code = geography.to_code(borough, allow_aggregates=False)
        self.name = geography.name_of(self.code)
        self.data = load(data_dir)
        self.data_dir = Path(data_dir) if data_dir else DEFAULT_DATA_DIR
        self.boundaries_path = boundaries_path
        self.summary_rows = self._summary_rows()

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
        io = geography.inner_outer(self.code)
        return Section(
            f"<h1>{html.escape(self.name)}</h1>"
            + notice(self.data).html
            + f"<p class='lede'>The state of social integration in {html.escape(self.name)} "
            f"({io} London, {self.code}) compared with London and the other boroughs.</p>"
        )

    def tally(self) -> rules.Tally:
        """The page's one count of indicators against London (summary, spine title, alt text)."""
        return rules.tally(self.summary_rows)

    def summary(self) -> Section:
        rows = self.summary_rows
        t = self.tally()
        items = []
        items.append(
            f"Significantly better than London on {len(t.better)} of {t.judged} indicators"
            + (f": {', '.join(t.better)}." if t.better else ".")
        )
        items.append(
            f"Significantly worse than London on {len(t.worse)}"
            + (f": {', '.join(t.worse)}." if t.worse else ".")
        )
        items.append(
            f"Not significantly different from London on {len(t.similar)}"
            + (
                f"; not compared on {t.n_not_compared}: "
                + "; ".join(
                    f"{len(labels)} {reason} ({', '.join(labels)})"
                    for reason, labels in t.not_compared.items()
                )
                + "."
                if t.n_not_compared
                else "."
            )
        )
        if t.context:
            items.append(
                "Context indicators, described but not judged better or worse: "
                + "; ".join(
                    f"{lab} {narrative.comparison_phrase(v, 'neutral')}"
                    + (f" ({why})" if why else "")
                    for lab, v, why in t.context
                )
                + "."
            )
        changed = [
            (r["label"], r["change"])
            for _, r in rows.iterrows()
            if r["change"] is not None and r["change"]["direction"] in ("increased", "decreased")
        ]
        if changed:
            items.append(
                "Changed significantly since the previous period: "
                + "; ".join(
                    f"{lab} ({narrative.short_change(ch)}"
                    + (f", {ch['assessment']})" if ch["assessment"] in ("better", "worse") else ")")
                    for lab, ch in changed
                )
                + "."
            )
        else:
            items.append("No indicator changed significantly since the previous period.")
        trending = [
            (r["label"], narrative.trend_phrase(r["trend"], r["polarity"]))
            for _, r in rows.iterrows()
            if r["trend"] is not None and r["trend"]["direction"] in ("increasing", "decreasing")
        ]
        if trending:
            items.append(
                "Significant recent trends (over up to five comparable periods): "
                + "; ".join(f"{lab}: {text}" for lab, text in trending)
                + "."
            )
        missing = missing_measures(self.data, "borough")
        if missing:
            items.append(
                f"{len(missing)} measures have no borough figures in this build: "
                + ", ".join(missing)
                + "."
            )
        note = ""
        if self.code == geography.CITY_OF_LONDON_CODE:
            residents = series.population(self.data.estimates, self.code)
            size = (
                f"had {residents[1]:,.0f} residents in {residents[0]}"
                if residents
                else "has very few residents"
            )
            note = _p(
                f"The City of London {size}, so survey samples there are very small and "
                "most survey figures are suppressed; the City also has its own police force, so Metropolitan "
                "Police figures do not cover it."
            )
        proxies = "".join(
            _p(provenance.proxy_note(lab, src))
            for lab, src in dict(zip(rows["label"], rows["source"])).items()
            if provenance.is_proxy(src)
        )
        return Section(
            "<h2>Summary</h2><ul class='headline'>"
            + "".join(f"<li>{html.escape(i)}</li>" for i in items)
            + "</ul>"
            + note
            + proxies
            + provenance.notes_html(rows.assign(group="all"), f"Notes on {self.name}'s figures")
        )

    def spine(self) -> Section:
        """The spine chart; its data table is the full table of indicators (interval, rank, test)."""
        # indicators with no better or worse direction (e.g. residents born abroad) stay in the table only
        directional = self.summary_rows[self.summary_rows["polarity"].map(rules.judged)]
        chart = charts.spine(
            directional, title=spine_title(self.name, directional["verdict"]), area_name=self.name
        )
        chart.notes.append(rules.RANK_NOTE)
        chart.table = self._indicator_table()
        return Section("<h2>All indicators against London</h2>" + charts.to_html(chart), [chart])

    def similar(self) -> Section:
        """Similar boroughs: the five statistical neighbours, the method, and the headline figures side by side."""
        table = neighbours.read(self.data_dir)
        if table is None or self.code not in set(table["borough"]):
            return Section(
                "<h2>Similar boroughs</h2>" + _p("This build has no statistical neighbours.")
            )
        wide = neighbours.side_by_side(
            borough_indicator_rows(self.data), self.data.estimates, self.code, table
        )
        return Section(
            "<h2>Similar boroughs</h2>"
            + "".join(_p(t) for t in neighbours.sentences(table, self.code))
            + tables.to_html(
                wide,
                caption=f"{self.name}'s latest figures beside its neighbours' and "
                f"{geography.inner_outer(self.code)} London's",
            )
        )

    def locator(self) -> Section:
        chart = charts.locator(boundaries(self.boundaries_path), self.code, self.name)
        return Section(charts.to_html(chart), [chart])

    def _indicator_table(self) -> pd.DataFrame:
        rows = self.summary_rows
        return pd.DataFrame(
            {
                "Indicator": rows["label"],
                "Period": rows["period"],
                "Unit": rows["unit"],
                self.name: [tables.fmt_value(v, f) for v, f in zip(rows["value"], rows["flag"])],
                "95% CI": [
                    f"{tables.fmt(lo)} to {tables.fmt(hi)}" if pd.notna(lo) else ""
                    for lo, hi in zip(rows["lower_ci"], rows["upper_ci"])
                ],
                "London": rows["london"].map(tables.fmt),
                "Borough range": [
                    f"{tables.fmt(lo)} to {tables.fmt(hi)}"
                    for lo, hi in zip(rows["min"], rows["max"])
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

    def table(self) -> Section:
        """How to read the page (the full table sits under the spine chart): the flag rule of each
        source the page's figures come from, and the uncertainty models behind them, in the
        rulebook's words."""
        e = self.data.estimates
        shown = e[
            e["measure_id"].isin(set(self.summary_rows["measure_id"]))
            & (e["area_code"] == self.code)
        ]
        rows = self.summary_rows
        methods = (
            rules.method_sentence(rows.loc[rows["uncertainty"] != "", "uncertainty"])
            if len(rows)
            else ""
        )
        return Section(
            (provenance.reading_guide(shown) if len(shown) else "")
            + (_p(methods) if methods else "")
        )


class LondonPage:
    """The state of social integration across all measures, by domain."""

    def __init__(self, data_dir: str | Path | None = None):
        self.data = load(data_dir)

    def header(self) -> Section:
        missing = missing_measures(self.data)
        total = len(measures.strategy_measures())
        shown = total - len(missing)
        gap = (
            (
                f"<div class='notice' role='note'>This build has no source for {len(missing)} of the {total} measures: "
                f"{html.escape(', '.join(missing))}. Their survey microdata are released under licence; add the waves "
                "with a codebook to report them.</div>"
            )
            if missing
            else ""
        )
        return Section(
            "<h1>The state of social integration in London</h1>"
            + notice(self.data).html
            + gap
            + f"<p class='lede'>{shown} of the {total} measures of the Mayor's social integration strategy, by "
            "domain, with the latest London figure, its 95% confidence interval and the tested change "
            "since the previous period.</p>"
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
            return Section("")
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
        sentences = "".join(
            f"<li>{html.escape(narrative.headline(r['label'], r['row'], r['change']))}"
            + (
                html.escape(f" Recent trend: {r['trend']}.")
                if r["trend"] and pd.notna(r["row"]["value"])
                else ""
            )
            + "</li>"
            for r in rows
        )
        pct = [r for r in rows if r["row"]["unit"] == "%" and pd.notna(r["row"]["value"])]
        html_chart = ""
        if pct:
            frame = pd.DataFrame([{**r["row"].to_dict(), "group": r["label"]} for r in pct])
            chart = charts.dots(frame, title=f"{domain.title()}: latest London figures", unit="%")
            made.append(chart)
            html_chart = charts.to_html(chart)
        methods = rules.method_sentence(str(r["row"].get("uncertainty", "")) for r in rows)
        return Section(
            f"<h2>{html.escape(domain.title())}</h2><ul class='headline'>{sentences}</ul>"
            + html_chart
            + tables.to_html(table, caption=f"{domain.title()} measures: London")
            + (_p(methods) if methods else ""),
            made,
        )
