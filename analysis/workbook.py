"""The accessible spreadsheet of the estimates, written with ``gptables`` (Analysis Function
guidance for releasing statistics in spreadsheets): a cover sheet, a contents sheet, one table
per domain, shorthand in place of blank cells, units and notes (each figure's own note, from
the estimates' ``note`` column, in a column of its own; each table's sources below it).

Modelled borough figures (small area estimates, :mod:`analysis.sae`; ``method`` =
``modelled``), when the estimates hold them, go to a sheet of their own, never mixed with the
direct survey estimates of the domain sheets: each row says it is modelled and gives its 95%
interval and root mean squared error."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from analysis import measures, provenance, publication, rules, tables
from analysis.outputs import atomic_write
from analysis.sdc import FLAG_MEANINGS
from analysis.survey import Z95


def _sheet(rows: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "Measure": rows["measure_id"],
            "Indicator": rows["indicator"],
            "Period": rows["period"],
            "Area code": rows["area_code"],
            "Area": rows["area_name"],
            "Breakdown": rows["breakdown"],
            "Group": rows["group"],
            "Value": [
                v if pd.notna(v) else (f if f else "[x]")
                for v, f in zip(rows["value"].round(2), rows["flag"])
            ],
            "Lower 95% CI": [
                v if pd.notna(v) else (f or "[x]")
                for v, f in zip(rows["lower_ci"].round(2), rows["flag"])
            ],
            "Upper 95% CI": [
                v if pd.notna(v) else (f or "[x]")
                for v, f in zip(rows["upper_ci"].round(2), rows["flag"])
            ],
            "Unweighted base": [int(b) if pd.notna(b) else "[x]" for b in rows["unweighted_base"]],
            "Reliability": [f if f else "standard" for f in rows["flag"]],
            # the rulebook's reason for each flag (e.g. not covered by the source, secondary suppression)
            "Reason for flag": [
                rules.flag_reason_text(f, r, measures.get(m).is_survey) or "none"
                for f, r, m in zip(
                    rows["flag"],
                    rows.get("flag_reason", pd.Series("", index=rows.index)),
                    rows["measure_id"],
                )
            ],
            # what is particular about a figure (estimates.csv's note column)
            "Note": [n if isinstance(n, str) and n else "none" for n in _notes(rows)],
            "Compared with London": rows["compared_to_london"].str.replace("_", " "),
            "Unit": rows["unit"].replace({"%": "per cent"}),
        }
    )
    return out.reset_index(drop=True)


def _notes(rows: pd.DataFrame) -> pd.Series:
    return rows["note"] if "note" in rows else pd.Series("", index=rows.index)


def _sources(rows: pd.DataFrame) -> str:
    """A sheet's source line: each source of its rows once, a proxy's as pages print it."""
    proxy = rows["proxy"] if "proxy" in rows else pd.Series(False, index=rows.index)
    return "; ".join(
        sorted({provenance.source_text(s, bool(p)) for s, p in zip(rows["source"], proxy)})
    )


MODELLED = "modelled"  # analysis.sae.boroughs.METHOD_MODELLED (not imported: keeps this light)


def _rmse(rows: pd.DataFrame) -> pd.Series:
    """The root mean squared error: ``se`` where the rows carry it (the detail table), else
    the wider half of the interval over 1.96 (``estimates.csv``; an interval is cut at 0% or
    100% on one side at most, so its other half is whole)."""
    if "se" in rows:
        return rows["se"]
    half = pd.concat([rows["upper_ci"] - rows["value"], rows["value"] - rows["lower_ci"]], axis=1)
    return half.max(axis=1) / Z95


def _modelled_sheet(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per modelled borough figure, marked as modelled, with its interval and RMSE."""
    return pd.DataFrame(
        {
            "Measure": rows["measure_id"],
            "Indicator": rows["indicator"],
            "Period": rows["period"],
            "Area code": rows["area_code"],
            "Area": rows["area_name"],
            "Estimate type": "modelled (small area estimate)",
            "Value": rows["value"].round(2),
            "Lower 95% CI": rows["lower_ci"].round(2),
            "Upper 95% CI": rows["upper_ci"].round(2),
            "Root mean squared error": _rmse(rows).round(3),
            "Survey respondents": [
                int(b) if pd.notna(b) else "[x]" for b in rows["unweighted_base"]
            ],
            "Compared with London": rows["compared_to_london"].str.replace("_", " "),
            "Unit": rows["unit"].replace({"%": "per cent"}),
        }
    ).reset_index(drop=True)


def write(
    estimates: pd.DataFrame, path: str | Path, *, synthetic: bool, created: dt.date | None = None
) -> None:
    """Write ``estimates.xlsx`` atomically.

    ``created`` is the date the workbook's properties give (the publication's date, see
    :mod:`analysis.publication`): without it the spreadsheet library stamps the clock's time,
    and the same estimates would give a different file on every build.
    """
    import gptables as gpt

    sheets = {}
    is_modelled = (
        estimates["method"] == MODELLED
        if "method" in estimates
        else pd.Series(False, index=estimates.index)
    )
    modelled, estimates = estimates[is_modelled], estimates[~is_modelled]
    for domain, ms in measures.by_domain().items():
        rows = estimates[estimates["measure_id"].isin([m.id for m in ms])]
        if rows.empty:
            continue
        sheets[domain.title()] = gpt.GPTable(
            table=_sheet(rows),
            table_name=f"{domain}_estimates",
            title=f"{domain.title()}: estimates by period, area and population group"
            + (" (synthetic demonstration data)" if synthetic else ""),
            subtitles=[
                "Values with 95% confidence intervals; comparisons with London tested at the 95% level."
            ],
            instructions="This worksheet contains one table. Some cells contain shorthand explained in the notes.",
            source=_sources(rows),
            legend=[f"{k} = {v}" for k, v in FLAG_MEANINGS.items()],
        )
    if not modelled.empty:
        sheets["Modelled"] = gpt.GPTable(
            table=_modelled_sheet(modelled),
            table_name="modelled_borough_estimates",
            title="Modelled borough estimates (small area estimation), by period"
            + (" (synthetic demonstration data)" if synthetic else ""),
            subtitles=[
                "Modelled estimates, not survey estimates: a Fay-Herriot small area model combines each "
                "borough's survey estimate with a prediction from its characteristics. Intervals are the "
                "estimate plus or minus 1.96 root mean squared errors; comparisons with London use the "
                "root mean squared error. Not compared between periods."
            ],
            instructions="This worksheet contains one table. Some cells contain shorthand explained in the notes.",
            source=_sources(modelled),
            legend=["[x] = not available from the source"],
        )
    cover = gpt.Cover(
        cover_label="Cover",
        title="The state of social integration in London: estimates",
        intro=[
            "Estimates for the measures of the Mayor's Strategy for Social Integration, All of Us (GLA, 2018), Part 4."
        ]
        + (
            [
                "Synthetic demonstration data: generated by the project's own code, not real statistics."
            ]
            if synthetic
            else []
        ),
        about=["Shorthand: " + "; ".join(f"{k} {v}" for k, v in FLAG_MEANINGS.items()) + "."],
    )
    import warnings

    with warnings.catch_warnings():
        # the shorthand is explained on the cover and in each table's legend, not a notes sheet
        warnings.filterwarnings("ignore", message="No note text provided")
        # gptables 2.0 sets header rows in a way pandas 4 will refuse; the workbook is right today
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"gptables\.")
        atomic_write(
            Path(path),
            lambda p: _write_workbook(p, sheets, cover, created or publication.current().published),
        )


def _write_workbook(path: str, sheets: dict, cover, created: dt.date) -> None:
    """gptables' ``write_workbook``, with the document's dates set before it is closed."""
    import gptables as gpt

    workbook = gpt.produce_workbook(
        filename=path, sheets=sheets, cover=cover, contentsheet_options={}
    )
    workbook.set_properties({"created": dt.datetime.combine(created, dt.time(), tzinfo=dt.UTC)})
    workbook.close()


__all__ = ["write", "tables"]
