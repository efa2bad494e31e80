"""The evaluation's answers laid out for the analyses: each person's change between the
surveys, the programme group's pairs, the balanced panel for the logit check, and a stable
seed per analysis.

Why only people answering at both waves: change is measured within a person; someone who
answered once says nothing about how their answer moved.
"""

from __future__ import annotations

import zlib

import pandas as pd

WAVES = ("pre", "post")


def changes(frame: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """One row per person (both groups) answering ``outcome`` at both waves: group, site, pre, post, change."""
    rows = frame[frame[outcome].notna()]
    wide = rows.pivot_table(
        index=["participant_id", "group", "site"],
        columns="wave",
        values=outcome,
        aggfunc="first",
        observed=True,
    )
    wide = wide.reindex(columns=list(WAVES)).dropna().reset_index()
    wide = wide.astype({"pre": int, "post": int})
    wide["change"] = wide["post"] - wide["pre"]
    return wide


def paired_table(frame: pd.DataFrame, outcome: str, group: str = "programme") -> pd.DataFrame:
    """One row per member of ``group`` answering ``outcome`` at both waves: pre, post, site."""
    w = changes(frame, outcome)
    return w[w["group"] == group].reset_index(drop=True)


def balanced_panel(frame: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """Long rows of everyone (both groups) who answered ``outcome`` at both waves (for the logit check)."""
    rows = frame[frame[outcome].notna()]
    both = rows.groupby("participant_id")["wave"].nunique()
    keep = both[both == 2].index
    panel = rows[rows["participant_id"].isin(keep)].copy()
    panel["y"] = panel[outcome].astype(float)
    panel["treated"] = (panel["group"] == "programme").astype(float)
    panel["post"] = (panel["wave"] == "post").astype(float)
    return panel.reset_index(drop=True)


def analysis_seed(*parts: str) -> int:
    """A stable seed for an analysis (the same draws at every build)."""
    return zlib.crc32("|".join(parts).encode())
