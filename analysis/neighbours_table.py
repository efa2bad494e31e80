"""What a borough page shows of its statistical neighbours (:mod:`analysis.neighbours`): who
they are and how they were chosen, in words, and the borough's latest figures beside theirs
and its half of London's."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import geography


def sentences(table: pd.DataFrame, code: str) -> list[str]:
    """What a page says of ``code``'s neighbours: who they are, the method, and any looseness."""
    near = table[table["borough"] == code].sort_values("rank")
    name = geography.name_of(code)
    out = [
        f"The five boroughs most like {name}: "
        + ", ".join(near["neighbour_name"])
        + ". "
        + str(near["method"].iloc[0])
    ]
    from analysis.neighbours import looseness

    loose = looseness(table, code)
    return out + [loose] if loose else out


def side_by_side(
    rows: pd.DataFrame, estimates: pd.DataFrame, code: str, table: pd.DataFrame
) -> pd.DataFrame:
    """The page's table: one row per indicator (its latest period in brackets), the borough,
    its neighbours and its half of London as formatted figures (flags such as [c] kept)."""
    from analysis import tables

    cmp = comparison(rows, estimates, code, table)
    cmp["shown"] = [tables.fmt_value(v, f) for v, f in zip(cmp["value"], cmp["flag"])]
    cmp["Indicator (period)"] = (
        cmp["label"] + " (" + cmp["period"].astype(str) + ")"
    )  # one column: compact
    wide = cmp.pivot_table(
        index="Indicator (period)", columns="area_name", values="shown", aggfunc="first", sort=False
    )
    wide = (
        wide[list(cmp.drop_duplicates("area_name")["area_name"])]
        .fillna("")
        .rename_axis(columns=None)
    )
    return wide.reset_index()


COMPARISON_COLUMNS = [
    "indicator",
    "label",
    "period",
    "unit",
    "area_code",
    "area_name",
    "role",
    "value",
    "flag",
]


def comparison(
    rows: pd.DataFrame, estimates: pd.DataFrame, code: str, neighbours: pd.DataFrame
) -> pd.DataFrame:
    """The borough's headline figures beside its neighbours' and its Inner or Outer London figure.

    ``rows`` are the latest borough rows of every indicator (``report.borough_indicator_rows``),
    ``estimates`` the build's estimates (for the Inner/Outer figure of the same period).
    Tidy: one row per indicator and area, with ``role`` borough, neighbour or half; for each
    of the borough's indicators in turn, the borough, its neighbours by rank, then its half.
    Joined, not looked up row by row: a borough page makes it in a few milliseconds.
    """
    near = neighbours[neighbours["borough"] == code].sort_values("rank")
    codes = [code, *near["neighbour"]]
    half = (
        geography.INNER_LONDON_CODE
        if geography.inner_outer(code) == "Inner"
        else geography.OUTER_LONDON_CODE
    )
    names = {**geography.names_by_code(), **geography.AGGREGATES}
    keys = ["indicator", "breakdown", "group"]
    mine = rows.loc[rows["area_code"] == code, [*keys, "label", "period", "unit"]]
    # a missing breakdown or group matches nothing, as in a comparison with ==
    mine = mine.dropna(subset=keys).reset_index(drop=True)
    mine["_row"] = np.arange(len(mine))
    order = pd.DataFrame(
        {
            "area_code": codes,
            "role": ["borough"] + ["neighbour"] * (len(codes) - 1),
            "_area": np.arange(len(codes)),
        }
    )
    theirs = rows.loc[rows["area_code"].isin(codes), [*keys, "area_code", "value", "flag"]]
    found = mine.merge(theirs.drop_duplicates([*keys, "area_code"]), on=keys).merge(
        order, on="area_code"
    )
    halves = estimates.loc[estimates["area_code"] == half, [*keys, "period", "value", "flag"]]
    halves = halves.drop_duplicates([*keys, "period"]).astype({"period": mine["period"].dtype})
    own_half = mine.merge(halves, on=[*keys, "period"]).assign(
        area_code=half, role="half", _area=len(codes)
    )
    out = pd.concat([found, own_half], ignore_index=True).sort_values(
        ["_row", "_area"], kind="stable"
    )
    out["area_name"] = out["area_code"].map(names)
    return out[COMPARISON_COLUMNS].reset_index(drop=True)


__all__ = ["COMPARISON_COLUMNS", "comparison", "sentences", "side_by_side"]
