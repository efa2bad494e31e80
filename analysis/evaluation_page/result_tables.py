"""The evaluation page's data tables: every estimate behind the page as one tidy table, and
the participants at the start beside London's latest figures.

Why the London figures are only context: they come from weighted surveys of all adults, and
the participants were not sampled to represent London.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis import evaluation_stats as es
from analysis import geography, tables


def results_table(
    initiative_id: str, paired: list[es.PairedChange], dids: list[es.DiD]
) -> pd.DataFrame:
    """Every estimate behind the page as one tidy table (one row per success measure and analysis)."""
    rows = []
    for pc, d in zip(paired, dids):
        for analysis, est, n, inf, verdict, robust in (
            (
                "change among participants",
                pc.change,
                pc.n,
                pc.clustered,
                pc.verdict,
                pc.robustness,
            ),
            (
                "difference-in-differences",
                d.estimate,
                d.n_participants,
                d.clustered,
                d.verdict,
                d.robustness,
            ),
        ):
            rows.append(
                {
                    "initiative": initiative_id,
                    "outcome": pc.outcome.code,
                    "analysis": analysis,
                    "n": n,
                    "sites": inf.n_clusters,
                    "estimate": est,
                    "lower_ci": inf.lower,
                    "upper_ci": inf.upper,
                    "p_value": inf.p,
                    "method": inf.method_name,
                    "df": inf.df,
                    "p_cr2": inf.p_cr2,
                    "p_bootstrap": inf.p_boot,
                    "p_cr1": inf.p_cr1,
                    "p_ignoring_sites": pc.test.pvalue
                    if analysis.startswith("change")
                    else d.by_participant.p_cr2,
                    "verdict": verdict,
                    "robust": robust.robust,
                    "robustness": robust.text,
                }
            )
    return pd.DataFrame(rows)


def london_context(
    paired: list[es.PairedChange], data_dir: str | Path | None
) -> pd.DataFrame | None:
    """The participants' shares before taking part beside London's latest figures, from the
    build's estimates in ``data_dir``; None without a build (the table is optional)."""
    try:
        from analysis import report

        e = report.main_rows(report.load(data_dir).estimates)
    except Exception:  # the context table is optional: no build, no context
        return None
    rows = []
    for pc in paired:
        o = pc.outcome
        london = (
            e[
                (e.indicator == o.london_indicator)
                & (e.area_code == geography.LONDON_CODE)
                & (e.breakdown == "all")
                & ~e.period.astype(str).str.contains("-")
            ]
            if o.london_indicator
            else e.iloc[0:0]
        )
        if london.empty:
            continue
        latest = london.sort_values("period").iloc[-1]
        value, lo, hi = latest["value"], latest["lower_ci"], latest["upper_ci"]
        if o.london_complement:
            value, lo, hi = 100 - value, 100 - hi, 100 - lo
        rows.append(
            {
                "Success measure": o.label,
                "Participants before (%)": tables.fmt(pc.pre),
                "London (%)": tables.fmt(value),
                "London 95% CI": f"{tables.fmt(lo)} to {tables.fmt(hi)}",
                "London period": latest["period"],
                "Note": o.london_note or "",
            }
        )
    return pd.DataFrame(rows) if rows else None
