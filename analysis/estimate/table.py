"""The estimates table itself: its columns, and the last steps every measure's rows go through
(labels, names, flags and disclosure control, figures with a doubtful denominator, order).

Why one place: whatever the source, every row leaves here with the same columns in the same
order, so the table a build writes does not depend on which loader made a row.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from analysis import geography, provenance, rules, schemas
from analysis.compare import Compared
from analysis.measures import Measure
from analysis.sdc import LOW_RELIABILITY, NOT_AVAILABLE, SUPPRESSED, DisclosureRules

ESTIMATE_COLUMNS = [
    "measure_id",
    "indicator",
    "period",
    "area_code",
    "area_name",
    "breakdown",
    "group",
    "value",
    "lower_ci",
    "upper_ci",
    "unweighted_base",
    "flag",
    "compared_to_london",
    "unit",
    "polarity",
    "source",
    "note",
    "proxy",
    "synthetic",
    "flag_reason",
    "uncertainty",
    "method",
]
DETAIL_COLUMNS = [*ESTIMATE_COLUMNS, "se", "p_vs_london"]


def finish(
    rows: pd.DataFrame,
    measure: Measure,
    *,
    source: str,
    synthetic: bool,
    rules: DisclosureRules,
    flags_from_source: bool = False,
    proxy: bool = False,
) -> pd.DataFrame:
    """Add the measure's labels, names and flags, apply disclosure control, order columns.

    ``proxy``: the source's figures stand in for the measure (the rows' ``proxy`` column)."""
    rows = rows.copy()
    rows["measure_id"] = measure.id
    rows["area_name"] = rows["area_code"].map(geography.names_by_code())
    if rows["area_name"].isna().any():  # an unknown code: name_of says which
        geography.name_of(rows.loc[rows["area_name"].isna(), "area_code"].iloc[0])
    rows["unit"] = measure.unit
    rows["polarity"] = measure.polarity
    if measure.rate_indicator:  # the rate behind a gap measure is a percentage, higher is better
        is_rate = rows["indicator"] == measure.rate_indicator
        rows.loc[is_rate, "unit"] = measure.rate_unit
        rows.loc[is_rate, "polarity"] = measure.rate_polarity
    rows["source"] = source
    # a figure with something particular about it says so in its own note
    rows["note"] = rows["note"].fillna("").astype(str) if "note" in rows else ""
    rows["proxy"] = bool(proxy)
    rows["synthetic"] = bool(synthetic)
    rows["method"] = "direct"  # modelled borough figures (analysis.sae) say "modelled"
    if "flag" not in rows:
        rows["flag"] = ""
    if (
        "uncertainty" not in rows
    ):  # the model applied: the design, the publisher's intervals, or none
        applied = "survey_design" if measure.is_survey else "none"
        if measure.is_survey and flags_from_source:
            applied = "published_interval"
        rows["uncertainty"] = applied
    if flags_from_source:  # published tables carry their publisher's own disclosure control
        rows = rules.hide_flagged(rows)
    else:
        rows = rules.apply(rows)
        if measure.kind.startswith("admin"):
            rows = rules.protect_aggregates(rows)
    base = rows["unweighted_base"].astype(float)
    rows["unweighted_base"] = pd.array(
        np.where(np.isnan(base), pd.NA, np.round(base)), dtype="Int64"
    )
    rows["flag_reason"] = rows["flag_reason"].fillna("")
    rows["uncertainty"] = np.where(rows["value"].isna(), "", rows["uncertainty"].fillna(""))
    return rows[DETAIL_COLUMNS]


def mark_unreliable(rows: pd.DataFrame, unreliable: pd.DataFrame) -> pd.DataFrame:
    """Flag ``[u]`` the figures whose denominator the source knows to be unreliable.

    ``unreliable`` has ``area_code``, ``period`` and ``why``. Each such figure keeps its value
    but is not compared with London (its interval reflects only sampling, not the doubtful
    denominator) and says why in its note. Suppressed or unavailable figures stay as they are.
    """
    rows = rows.copy()
    why = {
        (a, str(p)): w
        for a, p, w in zip(unreliable["area_code"], unreliable["period"], unreliable["why"])
    }
    reason = [why.get((a, p), "") for a, p in zip(rows["area_code"], rows["period"])]
    hit = (
        np.array([bool(r) for r in reason])
        & ~rows["flag"].isin([SUPPRESSED, NOT_AVAILABLE]).to_numpy()
    )
    rows.loc[hit, "flag"] = LOW_RELIABILITY
    rows.loc[hit, "flag_reason"] = rules.DOUBTFUL_DENOMINATOR
    rows.loc[hit, "compared_to_london"] = Compared.NOT_COMPARED
    rows.loc[hit, "p_vs_london"] = np.nan
    rows.loc[hit, "note"] = [
        provenance.add_note(
            n, provenance.FLAGGED_U.format(reason=provenance.UNRELIABLE_DENOMINATOR.format(why=r))
        )
        for n, r in zip(rows.loc[hit, "note"], np.array(reason, dtype=object)[hit])
    ]
    return rows


def sort_rows(rows: pd.DataFrame, order: Iterable[str]) -> pd.DataFrame:
    """Stable, meaningful order: registry order, indicator, period, area, breakdown, group."""
    rank = {m: i for i, m in enumerate(order)}
    area_rank = {
        geography.LONDON_CODE: 0,
        geography.INNER_LONDON_CODE: 1,
        geography.OUTER_LONDON_CODE: 2,
    }
    group_pos = [
        schemas.LEVELS[b].index(g) if b in schemas.LEVELS and g in schemas.LEVELS[b] else -1
        for b, g in zip(rows["breakdown"], rows["group"])
    ]
    key = pd.DataFrame(
        {
            "m": rows["measure_id"].map(rank).to_numpy(),
            "i": rows["indicator"].to_numpy(),
            "p": rows["period"].to_numpy(),
            "ar": rows["area_code"].map(lambda c: area_rank.get(c, 3)).to_numpy(),
            "a": rows["area_code"].to_numpy(),
            "bn": (rows["breakdown"] != "all").to_numpy(),
            "b": rows["breakdown"].to_numpy(),
            "g": group_pos,
            "gl": rows["group"].to_numpy(),
            "mm": (rows["method"] == "modelled").to_numpy() if "method" in rows else False,
        }
    )
    order_idx = key.sort_values(list(key.columns), kind="stable").index
    return rows.iloc[order_idx].reset_index(drop=True)
