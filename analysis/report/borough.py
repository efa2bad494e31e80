"""The report for one borough: its figures against London, its own half of London and the
other boroughs, its statistical neighbours, and how to read them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis import charts, geography, narrative, neighbours, provenance, rules, series, tables
from analysis import html as h
from analysis.report.base import Page, Section, raw
from analysis.report.indicators import borough_indicator_rows


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
        return self.title(
            self.name,
            h.p(
                f"The state of social integration in {self.name} ({io} London, {self.code}) "
                "compared with London and the other boroughs.",
                class_="lede",
            ),
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
        missing = self.missing_measures("borough")
        if missing:
            items.append(
                f"{len(missing)} measures have no borough figures in this build: "
                + ", ".join(missing)
                + "."
            )
        note: h.Markup | None = None
        if self.code == "E09000001":
            residents = series.population(self.data.estimates, self.code)
            size = (
                f"had {residents[1]:,.0f} residents in {residents[0]}"
                if residents
                else "has very few residents"
            )
            note = h.p(
                f"The City of London {size}, so survey samples there are very small and "
                "most survey figures are suppressed; the City also has its own police force, so Metropolitan "
                "Police figures do not cover it."
            )
        proxies = h.join(
            h.p(provenance.proxy_note(lab, src))
            for lab, src in dict(zip(rows["label"], rows["source"])).items()
            if provenance.is_proxy(src)
        )
        return Section(
            h.h2("Summary")
            + h.ul(items, class_="headline")
            + h.join([note])
            + proxies
            + raw(
                provenance.notes_html(rows.assign(group="all"), f"Notes on {self.name}'s figures")
            )
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
        return Section(h.h2("All indicators against London") + raw(charts.to_html(chart)), [chart])

    def similar(self) -> Section:
        """Similar boroughs: the five statistical neighbours, the method, and the headline figures side by side."""
        table = neighbours.read(self.data_dir)
        if table is None or self.code not in set(table["borough"]):
            return Section(
                h.h2("Similar boroughs") + h.p("This build has no statistical neighbours.")
            )
        wide = neighbours.side_by_side(
            borough_indicator_rows(self.data), self.data.estimates, self.code, table
        )
        return Section(
            h.h2("Similar boroughs")
            + h.join(h.p(t) for t in neighbours.sentences(table, self.code))
            + raw(
                tables.to_html(
                    wide,
                    caption=f"{self.name}'s latest figures beside its neighbours' and "
                    f"{geography.inner_outer(self.code)} London's",
                )
            )
        )

    def locator(self) -> Section:
        chart = charts.locator(self.shapes, self.code, self.name)
        return Section(raw(charts.to_html(chart)), [chart])

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
            (raw(provenance.reading_guide(shown)) if len(shown) else h.Markup(""))
            + (h.p(methods) if methods else h.Markup(""))
        )
