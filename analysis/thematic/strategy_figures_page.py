"""The strategy figures report page: Figures 2 to 5 of the strategy (relationships, the
registration map, volunteering by group and employment gaps), each with a message title, 95%
intervals, the strategy's own figure where it quotes one, and the table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis import charts, compare, geography, measures, provenance, schemas
from analysis import html as h
from analysis.html import Markup
from analysis.report import Section, boundaries, load, notice
from analysis.thematic.registration_churn import STRATEGY, Y
from analysis.thematic.strategy_figures_charts import (
    gap_bars,
    grouped_dots,
    london_rows,
    period_for,
    reference_dots,
    reference_of,
)


def _section(heading: str, *parts: str | None, charts_: list | None = None) -> Section:
    """A section: its heading, then paragraphs (text, escaped) and already-made HTML
    (:class:`~markupsafe.Markup`: a chart or a table)."""
    body = h.join(
        [h.h2(heading), *(p if isinstance(p, Markup) or p is None else h.p(p) for p in parts)]
    )
    return Section(body, charts_ or [])


def _unavailable(heading: str, what: str) -> Section:
    return _section(
        heading,
        f"This build has no London estimates for {what}, so the figure cannot be drawn. Survey microdata are released "
        "under licence; add the waves with a codebook (docs/codebook.md) to include them.",
    )


def _between(gap_label: str) -> str:
    """'Not disabled minus Disabled' -> 'between non-disabled and disabled people'."""
    words = {
        "Not disabled": "non-disabled",
        "Disabled": "disabled",
        "Male": "men",
        "Female": "women",
    }
    first, _, second = gap_label.partition(" minus ")
    a, b = words.get(first, first), words.get(second, second)
    return f"between {a} and {b}" + ("" if {a, b} == {"men", "women"} else " people")


class StrategyFiguresPage:
    """Figures 2 to 5 of the strategy from the build's estimates.

    ``period``: "latest" (each figure's latest period in the estimates) or "strategy" (the
    periods the strategy quotes, where the estimates have them).
    """

    RELATIONSHIPS = [
        "friends_similar_age",
        "friends_similar_ethnicity",
        "friends_similar_income",
        "friends_similar_education",
        "social_isolation",
    ]

    def __init__(
        self,
        data_dir: str | Path | None = None,
        boundaries_path: str | None = None,
        period: str = "latest",
    ):
        if period not in ("latest", "strategy"):
            raise ValueError("period must be 'latest' or 'strategy'")
        self.data = load(data_dir)
        self.boundaries_path = boundaries_path
        self.mode = period
        self.e = self.data.estimates

    def header(self) -> Section:
        which = (
            "the latest period in the estimates"
            if self.mode == "latest"
            else "the periods the strategy quotes"
        )
        return Section(
            h.join(
                [
                    h.element("h1", "The strategy's figures, rebuilt"),
                    Markup(notice(self.data).html),
                    h.p(
                        "Figures 2 to 5 of the Mayor's social integration strategy, recomputed from "
                        "this project's estimates with their 95% confidence intervals.",
                        class_="lede",
                    ),
                    h.p(
                        f"The strategy's section \"London's data\" illustrates relationships (Figure 2), electoral "
                        f"registration by borough (Figure 3), volunteering by group (Figure 4) and employment gaps "
                        f"(Figure 5) ({STRATEGY}). Each figure below uses {which}; where the strategy quotes a figure, "
                        "it is shown beside the estimate."
                    ),
                ]
            )
        )

    def figure2(self) -> Section:
        available = [i for i in self.RELATIONSHIPS if not london_rows(self.e, i, None).empty]
        if not available:
            return _unavailable(
                "Figure 2: Relationships in London",
                "the relationship measures (Understanding Society)",
            )
        period = period_for(self.e, available, self.mode)
        rows, refs, ref_periods = [], [], []
        for ind in available:
            r = london_rows(self.e, ind, period)
            if r.empty:
                continue
            s, _ = reference_of(ind)
            rows.append(r.iloc[0].to_dict() | {"label": s.label})
            refs.append(s.reference.value if s.reference else None)
            ref_periods.append(s.reference.period if s.reference else None)
        frame = pd.DataFrame(rows)
        by = frame.set_index("indicator")["value"]
        parts = []
        if "friends_similar_age" in by:
            parts.append(
                f"{by['friends_similar_age']:.0f}% of Londoners said all their friends were a similar age"
            )
        if "friends_similar_ethnicity" in by:
            parts.append(
                f"{by['friends_similar_ethnicity']:.0f}% that all were of their ethnic group"
            )
        if "social_isolation" in by:
            parts.append(f"{by['social_isolation']:.0f}% had no one to rely on a lot")
        text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        title = f"Figure 2. Relationships, {period}: " + text
        chart = reference_dots(
            frame,
            label_column="label",
            unit="%",
            title=title,
            alt_intro=f"Dot chart of five relationship indicators for London, {period}: ",
            references=refs,
            ref_period=ref_periods,
            xlabel="% of adults",
        )
        return _section(
            "Figure 2: Relationships in London",
            "The strategy's Figure 2 shows how many Londoners have friends only from a similar background "
            "and how many have no one to rely on (Understanding Society).",
            Markup(charts.to_html(chart)),
            charts_=[chart],
        )

    def figure3(self) -> Section:
        b = self.e[
            (self.e.indicator == Y)
            & (self.e.breakdown == "all")
            & self.e.area_code.str.startswith("E09")
            & ~compare.is_pooled(self.e.period)
        ]
        if b.empty or london_rows(self.e, Y, None).empty:
            return _unavailable(
                "Figure 3: Electoral registration by borough", "electoral registration"
            )
        period = period_for(self.e, [Y], self.mode)
        if period not in set(b.period):
            period = b.period.max()
        rows = b[b.period == period]
        london = london_rows(self.e, Y, period)
        lv = float(london.value.iloc[0]) if len(london) else np.nan
        low = rows.nsmallest(2, "value")
        higher = int((rows.compared_to_london == "higher").sum())
        lower = int((rows.compared_to_london == "lower").sum())
        source, proxy = rows["source"].iloc[0], bool(rows["proxy"].iloc[0])
        name = "Registration, proxy," if proxy else "Registration,"
        title = (
            f"Figure 3. {name} {period}: {lv:.1f}% of adults in London, lowest in {low.area_name.iloc[0]} "
            f"({low.value.iloc[0]:.1f}%) and {low.area_name.iloc[1]} ({low.value.iloc[1]:.1f}%)"
        )
        import warnings

        with warnings.catch_warnings():  # mapclassify notes that numba would be faster
            warnings.simplefilter("ignore")
            chart = charts.choropleth(rows, boundaries(self.boundaries_path), title=title, unit="%")
        s, _ = reference_of(Y)
        quoted = (
            f"The strategy quotes {s.reference.value:g}% for London in {s.reference.period}, and "
            if s.reference
            else "The strategy quotes "
        )
        text = (
            f"{lower} local authorities were significantly below London's rate and {higher} significantly above it. "
            + quoted
            + "68% to 78% for Westminster, Kensington and Chelsea, Tower Hamlets and Camden."
        )
        return _section(
            "Figure 3: Electoral registration by borough",
            provenance.proxy_note("Electoral registration", source, proxy) if proxy else None,
            text,
            Markup(charts.to_html(chart)),
            Markup(provenance.notes_html(rows)),
            charts_=[chart],
        )

    def figure4(self) -> Section:
        ind = "volunteering"
        if london_rows(self.e, ind, None).empty:
            return _unavailable("Figure 4: Volunteering by group", "volunteering (Taking Part)")
        period = period_for(self.e, [ind], self.mode)
        at = self.e[
            (self.e.indicator == ind)
            & (self.e.area_code == geography.LONDON_CODE)
            & (self.e.period == period)
        ]
        london = float(at[at.breakdown == "all"].value.iloc[0])
        parts = []
        for breakdown in [b for b in schemas.LEVELS if b in set(at.breakdown)]:
            part = at[at.breakdown == breakdown].copy()
            part["order"] = part["group"].map(schemas.LEVELS[breakdown].index)
            parts.append(part.sort_values("order"))
        rows = pd.concat(parts)
        ages = rows[rows.breakdown == "age_band"]
        cls = rows[rows.breakdown == "nssec"]
        bits = []
        if len(ages):
            top, bottom = ages.loc[ages.value.idxmax()], ages.loc[ages.value.idxmin()]
            # point estimates only: the markers, not this title, say which groups differ significantly
            bits.append(
                f"estimates range from {bottom.value:.0f}% (ages {bottom.group}) to {top.value:.0f}% (ages {top.group})"
            )
        rm = cls[cls.group == "Routine and manual"]
        if len(rm):
            bits.append(f"{rm.value.iloc[0]:.0f}% of routine and manual workers")
        title = f"Figure 4. Volunteering, {period}: {london:.0f}% of Londoners; " + ", ".join(bits)
        chart = grouped_dots(
            rows,
            london=london,
            unit="% who volunteered in the last 12 months",
            polarity="up",
            title=title,
            alt_intro=f"Dot chart of volunteering in London by population group, {period}, against London's "
            f"{london:.1f}%: ",
        )
        s, _ = reference_of(ind)
        ref = (
            (
                f" The strategy quotes {s.reference.value:g}% for London ({s.reference.period}) and describes the highest rates "
                "among people aged 55 and over and lower rates among people in routine and manual occupations."
            )
            if s.reference
            else ""
        )
        return _section(
            "Figure 4: Volunteering by group",
            "Markers show whether each group differs significantly from London as a whole (95% test)."
            + ref,
            Markup(charts.to_html(chart)),
            charts_=[chart],
        )

    def figure5(self) -> Section:
        m = measures.get("employment_gap")
        gap_ids = [
            s.indicator for s in m.series if not london_rows(self.e, s.indicator, None).empty
        ]
        if not gap_ids:
            return _unavailable("Figure 5: Employment gaps", "employment gaps")
        period = period_for(self.e, gap_ids, self.mode)
        rows, refs = [], []
        for s in m.series:
            r = london_rows(self.e, s.indicator, period)
            if r.empty:
                continue
            row = r.iloc[0].to_dict()
            group = row.get("group")
            if (
                not isinstance(group, str) or group == "all"
            ):  # older builds: gap rows carried all/all
                group = f"{s.reference_group} minus {s.comparison_group}"
                row["breakdown"] = s.variable
            row["gap_label"] = group
            rows.append(row)
            refs.append(s.reference.value if s.reference else None)
        frame = pd.DataFrame(rows)
        order = np.argsort(-frame.value.to_numpy())
        frame = frame.iloc[order].reset_index(drop=True)
        refs = [refs[i] for i in order]
        wide, narrow = frame.iloc[0], frame.iloc[-1]
        title = (
            f"Figure 5. Employment gaps, {period}: estimates range from {narrow.value:.1f} points "
            f"{_between(narrow.gap_label)} to {wide.value:.1f} points {_between(wide.gap_label)}"
        )
        chart = gap_bars(
            frame,
            title=title,
            references=refs,
            alt_intro=f"Bar chart of employment rate gaps for people aged 16 to 64 in London, {period}: ",
        )
        quoted = [
            f"{s.reference.value:g} points {_between(f'{s.reference_group} minus {s.comparison_group}')}"
            for s in m.series
            if s.reference
        ]
        published = provenance.source_kind(m.id, frame) == "published"
        how = (
            "its 95% interval combining the two published rates' intervals as independent estimates"
            if published
            else "its 95% interval from the same survey (the covariance of the two rates included)"
        )
        no_interval = frame[frame["lower_ci"].isna()]["gap_label"].tolist()
        text = (
            "Each gap is the employment rate of the first group minus that of the second, in percentage points, with "
            f"{how}"
            + (
                f"; the source gives no interval for the gap {' or '.join(_between(g) for g in no_interval)}"
                if no_interval
                else ""
            )
            + ". The gaps are not tested against each other here, and overlapping intervals do not show that two gaps "
            "are alike."
            + (
                f" The strategy quotes {'; '.join(quoted)} ({reference.period})."
                if quoted and (reference := m.series[0].reference) is not None
                else ""
            )
        )
        return _section(
            "Figure 5: Employment gaps", text, Markup(charts.to_html(chart)), charts_=[chart]
        )

    FIGURE_MEASURES = {
        2: ("friends_similar", "social_isolation"),
        3: ("electoral_registration",),
        4: ("volunteering",),
        5: ("employment_gap",),
    }
    KIND_TEXT = {
        "survey": "design-based survey estimates from the microdata",
        "published": "the publisher's own estimates and intervals (ONS Annual Population Survey)",
        "admin": "administrative counts over denominators",
        "values": "published values with no interval",
    }

    def about(self) -> Section:
        """Where each figure's numbers come from, as this build made them (survey microdata,
        published estimates or administrative counts), not as one build would."""
        parts = []
        for number, ids in self.FIGURE_MEASURES.items():
            kinds = {
                provenance.source_kind(i, self.e[self.e.measure_id == i])
                for i in ids
                if (self.e.measure_id == i).any()
            }
            if kinds:
                parts.append(
                    f"Figure {number}: " + " and ".join(self.KIND_TEXT[k] for k in sorted(kinds))
                )
        made = (
            (
                "Figures come from the build's estimates table, each with its 95% confidence interval where the source "
                "gives one. " + "; ".join(parts) + "."
            )
            if parts
            else "This build has no figures for them."
        )
        return _section(
            "About these figures",
            (
                made
                + (
                    " Group markers in Figure 4 use the build's tests against London."
                    if any(p.startswith("Figure 4") for p in parts)
                    else ""
                )
                + " The strategy's own figures are shown as published; they may come from different waves or pooled years "
                "than the estimates beside them."
            ),
            f'Reference: {STRATEGY}, "London\'s data", Figures 2 to 5.',
        )
