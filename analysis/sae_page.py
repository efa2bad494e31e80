"""Report sections for the modelled borough figures (small area estimates, :mod:`analysis.sae`).

Kept apart from :mod:`analysis.report` so the pages that show direct figures need only a
one-line hook. Nothing is estimated here: the figures come from ``estimates.csv`` (rows with
``method`` = ``modelled``) and the model files under ``modelled/`` written by the build.

* Measure pages: for the latest wave of each indicator, direct and modelled figures side by
  side for every borough (the shrinkage visible), a map of the modelled figures, and a
  sentence on how well the model fits (:mod:`analysis.sae_fit`); every model's diagnostic
  charts are on one appendix page (:mod:`analysis.sae_diagnostics_page`).
* Borough pages: the modelled figure of every survey indicator whose direct figure is
  ``[c]``, ``[u]`` or missing, marked "modelled estimate", with its interval, its test
  against London and its change since the previous wave (a gap's direct figure is the pooled
  one that ends in the modelled wave).
* Both say how many boroughs' modelled figures changed significantly since the previous wave,
  tested on the MSE of the change (:mod:`analysis.sae.changes`), in the rulebook's words.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from analysis import (
    charts,
    compare,
    geography,
    measures,
    narrative,
    rules,
    sae_fit,
    tables,
)
from analysis.html import Markup, h2, h3, join, link, p
from analysis.report import Section, boundaries, load
from analysis.sae_charts import side_by_side
from analysis.sae_files import data_folder, model_files, model_row, modelled_rows

LABEL = "modelled estimate"
METHOD_NOTE = (
    "Modelled estimates come from a Fay-Herriot small area model: each borough's survey estimate is "
    "combined with a prediction from its characteristics (Inner London, and the share of residents "
    "from Black, Asian and minority ethnic groups) and with its survey estimates in the other waves, "
    "each weighted by how precise it is, and the boroughs are adjusted to add up to the London survey "
    "estimate. Where a borough's survey estimate is suppressed, its own sample is left out of its "
    "modelled figure. They are not survey estimates; the interval shows their uncertainty (root mean "
    "squared error)."
)
CHANGE_NOTE = (
    "A modelled estimate's change since the previous wave is tested with the model's error of "
    "the change, which allows for both waves drawing on the same borough effect and the same "
    "fit; other changes on the page are tested on the direct survey estimates."
)


def _change(row: pd.Series | dict, meta: dict, unit: str, polarity: str) -> pd.Series | None:
    """A model table's row as a change row (``changes.csv``'s columns) for the narrative's
    wording, or None for a first wave."""
    previous = meta.get("change", {}).get("previous_period")
    if not previous or pd.isna(row.get("change_since_previous")):
        return None
    direction = str(row["change_direction"])
    return pd.Series(
        {
            "change": row["change_since_previous"],
            "direction": direction,
            "assessment": rules.change_assessment(direction, polarity),
            "previous_period": previous,
            "previous_value": row["eblup"] - row["change_since_previous"],
            "unit": unit,
        }
    )


def change_sentence(table: pd.DataFrame, meta: dict, unit: str, polarity: str) -> str:
    """'Since 2017/18 the modelled estimate changed significantly in 3 boroughs (2 better,
    1 worse) and not significantly in 30.' (empty for a first wave)."""
    previous = meta.get("change", {}).get("previous_period")
    if not previous or "change_direction" not in table:
        return ""
    if meta["change"].get("series_break"):
        return f"Modelled estimates are not compared with {previous}: the measure changed then."
    d = table["change_direction"].astype(str)
    moved = d.isin(["increased", "decreased"])
    words = [rules.change_assessment(x, polarity) for x in d[moved]]
    if rules.judged(polarity):
        detail = f"{words.count('better')} better, {words.count('worse')} worse"
    else:
        detail = f"{int((d == 'increased').sum())} up, {int((d == 'decreased').sum())} down"
    same = int((d == "no significant change").sum())
    return (
        f"Since {previous} the {LABEL} changed significantly in {int(moved.sum())} boroughs "
        f"({detail}) and not significantly in {same}."
    )


def _verdict_counts(rows: pd.DataFrame, polarity: str) -> str:
    verdicts = [compare.verdict_against_london(c, polarity) for c in rows["compared_to_london"]]
    if polarity == "neutral":
        higher = int((rows["compared_to_london"] == "higher").sum())
        lower = int((rows["compared_to_london"] == "lower").sum())
        return f"{higher} boroughs higher than London and {lower} lower"
    better, worse = verdicts.count("better"), verdicts.count("worse")
    return f"{better} boroughs significantly better than London and {worse} worse"


def measure_sections(
    measure_id: str, data_dir: str | Path | None = None, boundaries_path: str | None = None
) -> Section:
    """Direct and modelled borough figures side by side, a map and the diagnostics, for the
    latest wave of each indicator of a measure (empty for a measure with no models)."""
    m = measures.get(measure_id)
    modelled = modelled_rows(data_dir)
    rows = modelled[modelled["measure_id"] == measure_id]
    if rows.empty:
        # a gap measure says why it has none (the rulebook's words) where the build models
        # survey figures at all; a build without survey microdata models nothing
        if m.kind == "survey_gap" and not modelled.empty:
            return Section(str(join([h2("Modelled borough estimates"), p(rules.GAP_NOT_MODELLED)])))
        return Section("")
    labels = {s.indicator: s.label for s in m.series}
    out: list[Markup] = [h2("Modelled borough estimates"), p(METHOD_NOTE), p(CHANGE_NOTE)]
    if m.kind == "survey_gap":
        out.append(p(rules.GAP_MODELLED))
        missing = [s.short for s in m.series if s.indicator not in set(rows["indicator"])]
        if missing:
            out.append(p(rules.gaps_not_modelled(missing)))
    made: list[charts.Chart] = []
    shapes = boundaries(boundaries_path)
    for indicator, latest, table, meta in sae_fit.latest_models(measure_id, data_dir):
        period = str(meta["period"])
        label = labels[indicator]
        bench = meta["benchmarking"]
        london = 100 * bench.get("london_direct", bench["target_london_direct"])
        unit = latest["unit"].iloc[0]
        title = f"{label}, {period}, {LABEL}s: {_verdict_counts(latest, m.polarity)}"
        chart = side_by_side(table, title=title, unit=unit, london=london)
        shown = latest.assign(flag="")
        listed = (
            "The modelled figure for every borough is in the table after the chart of direct and "
            "modelled estimates above."
        )
        map_chart = charts.choropleth(
            shown,
            shapes,
            title=f"{label}, {period}: {LABEL}s by borough",
            unit=unit,
            where_listed=listed,
        )
        map_chart.table = None  # the side-by-side chart's table holds the same figures
        map_chart.notes.append(listed)
        made += [chart, map_chart]
        fit = sae_fit.model_fit(
            table, meta, measure_id=measure_id, indicator=indicator, label=label, unit=unit
        )
        moved = change_sentence(table, meta, unit, m.polarity)
        out += [h3(label), *([p(moved)] if moved else [])]
        out += [Markup(charts.to_html(c)) for c in (chart, map_chart)]
        out.append(p(sae_fit.fit_sentence(fit)))
    # every model's diagnostic charts are on one appendix page, for the statisticians
    out.append(
        p(
            Markup("The diagnostic charts of every model are on the page {}.").format(
                link(sae_fit.APPENDIX_TITLE, f"../{sae_fit.APPENDIX}.html")
            )
        )
    )
    return Section(str(join(out)), made)


def borough_section(borough: str, data_dir: str | Path | None = None) -> Section:
    """The modelled figure of each survey indicator whose direct figure is [c], [u] or
    missing for this borough (latest wave), marked "modelled estimate"."""
    code = geography.to_code(borough, allow_aggregates=False)
    if modelled_rows(data_dir).empty:
        return Section("")
    latest_rows, flags_by_area = _by_borough(data_dir)
    if code not in latest_rows:
        return Section("")
    flags = flags_by_area.get(code, {})
    gaps = rules.gap_indicators()
    labels = {s.indicator: (s.label, m) for m in measures.registry() for s in m.series}
    shown = []
    shown_indicators: list[str] = []
    for latest in latest_rows[code]:
        indicator = latest["indicator"]
        flag, pooled = _direct_flag(flags, str(indicator), latest["period"])
        if flag not in ("[c]", "[u]", "[x]", "missing"):
            continue  # a reliable direct figure is on the page already
        label, m = labels[indicator]
        verdict = compare.verdict_against_london(latest["compared_to_london"], m.polarity)
        found = model_row(data_dir, m.id, str(indicator), latest["period"], code)
        change = None
        if found is not None:
            change = _change(found[0], found[1], latest["unit"], m.polarity)
        shown_indicators.append(str(indicator))
        shown.append(
            {
                "Indicator": label,
                "Period": latest["period"],
                # a proportion in %, a gap in points: the unit goes with each value
                "Value": f"{narrative.unit_text(latest['value'], latest['unit'])} ({LABEL})",
                "95% CI lower": tables.fmt(latest["lower_ci"]),
                "95% CI upper": tables.fmt(latest["upper_ci"]),
                "Direct survey figure": {
                    "missing": "no borough figure",
                    "[u]": "low reliability [u]",
                    "[c]": "suppressed [c]",
                    "[x]": "not available [x]",
                }[flag]
                + (f" ({pooled}, pooled waves)" if pooled else ""),
                "Compared with London": verdict.replace("_", " "),
                "Change since previous wave": narrative.change_cell(change),
            }
        )
    if not shown:
        return Section("")
    name = geography.name_of(code)
    table = pd.DataFrame(shown)
    better = sum(r["Compared with London"] == "better" for r in shown)
    worse = sum(r["Compared with London"] == "worse" for r in shown)
    intro = (
        f"{len(shown)} survey indicators have no reliable direct figure for {name}. Their {LABEL}s are below: "
        f"{better} significantly better than London, {worse} worse, the rest not significantly different."
    )
    return Section(
        str(
            join(
                [
                    h2("Modelled estimates"),
                    p(intro),
                    p(METHOD_NOTE),
                    p(CHANGE_NOTE),
                    *([p(rules.GAP_MODELLED)] if any(i in gaps for i in shown_indicators) else []),
                    Markup(
                        tables.to_html(
                            table, caption=f"Modelled estimates for {name} (latest wave)"
                        )
                    ),
                ]
            )
        )
    )


def _by_borough(
    data_dir: str | Path | None,
) -> tuple[dict[str, list[dict]], dict[str, dict[tuple[str, str], str]]]:
    """For every borough at once (each borough page needs its own): the latest modelled row of
    each indicator, in the order the indicators first appear in the file, and the flags of the
    direct figures the pages show, by (indicator, period). Worked out once per build's file:
    filtering the whole table again for each borough and indicator took most of the section's
    time."""
    target = data_folder(data_dir) / "estimates.csv"
    return _by_borough_of(str(target.resolve()), target.stat().st_mtime, str(data_dir or ""))


@lru_cache(maxsize=2)
def _by_borough_of(
    path: str, mtime: float, data_dir: str
) -> tuple[dict[str, list[dict]], dict[str, dict[tuple[str, str], str]]]:
    rows = modelled_rows(data_dir or None)
    keys = ["area_code", "indicator"]
    first = {k: i for i, k in enumerate(zip(rows["area_code"], rows["indicator"]))}
    latest = rows[rows["period"] == rows.groupby(keys, sort=False)["period"].transform("max")]
    latest = latest.drop_duplicates(keys)  # the first row of the latest period
    by_area: dict[str, list[dict]] = {}
    for row in sorted(
        latest.to_dict("records"), key=lambda r: first[(r["area_code"], r["indicator"])]
    ):
        by_area.setdefault(row["area_code"], []).append(row)
    direct = load(data_dir or None).estimates
    direct = direct[
        (direct["breakdown"] == "all") | direct["indicator"].isin(rules.gap_indicators())
    ]
    flags: dict[str, dict[tuple[str, str], str]] = {}
    for a, i, period, f in zip(
        direct["area_code"], direct["indicator"], direct["period"], direct["flag"].fillna("")
    ):
        flags.setdefault(a, {})[(i, period)] = f
    return by_area, flags


def _direct_flag(flags: dict[tuple[str, str], str], indicator: str, period: str) -> tuple[str, str]:
    """The flag of the direct figure a page shows for a modelled one (``missing`` without one)
    and, for a gap, the pooled period it covers (its borough figures pool waves ending in
    the modelled one)."""
    if (indicator, period) in flags:
        return flags[(indicator, period)], ""
    pooled = sorted(p for i, p in flags if i == indicator and p.endswith(f"-{period}"))
    return (flags[(indicator, pooled[-1])], pooled[-1]) if pooled else ("missing", "")


__all__ = [
    "borough_section",
    "change_sentence",
    "measure_sections",
    "model_files",
    "modelled_rows",
]
