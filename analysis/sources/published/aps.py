"""What the Annual Population Survey employment workbooks share: markers, cells, the table.

The GLA publishes APS employment rates in several workbooks (by ethnicity; by sex, age and
disability) with the same cell blocks (numerator, denominator, percent, interval), the same
ONS markers and the same output table, so those are read here once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis import geography, schemas
from analysis.sources.published.readers import (
    BOROUGH_CODES,
    LONDON_CODES,
    area_column,
    is_blank,
    london_code,
    normalised,
    parse_number,
    require_areas,
    validated_table,
)
from analysis.validate import Column, InputError, Schema

APS_MARKERS: dict[str, str] = {
    "!": "estimate and interval not available: group sample size zero or disclosive (0-2)",
    "*": "estimate and interval unreliable: group sample size small (3-9)",
    "~": "estimate is less than 500",
    "#": "count not shown (undocumented; used where '~', estimate less than 500, would be)",
    "-": "figure missing",
}
MARKER_ORDER = "!*~#-"

EMPLOYMENT_COLUMNS = (
    "area_code",
    "year",
    "variable",
    "group",
    "rate",
    "ci_half_width",
    "numerator",
    "denominator",
    "marker",
)


def employment_schema() -> Schema:
    levels = {v: schemas.LEVELS[v] for v in ("ethnic_group", "sex", "disability")}
    levels["all"] = ("all",)  # all people of working age (the 'Persons' sheet)

    def rule(frame: pd.DataFrame, source: str, row_offset: int) -> None:
        for i, (var, group) in enumerate(zip(frame["variable"], frame["group"])):
            if group not in levels[var]:
                raise InputError(
                    source,
                    f"group {group!r} is not a level of {var}: {list(levels[var])}",
                    row=i + row_offset,
                    column="group",
                )
        both = frame["numerator"].notna() & frame["denominator"].notna()
        bad = (both & (frame["numerator"] > frame["denominator"])).to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                source,
                f"numerator ({frame['numerator'].iloc[i]}) exceeds denominator "
                f"({frame['denominator'].iloc[i]})",
                row=i + row_offset,
                column="numerator",
            )
        bad_marker = ~frame["marker"].map(lambda m: set(m) <= set(MARKER_ORDER)).to_numpy(
            dtype=bool
        )
        if bad_marker.any():
            i = int(np.flatnonzero(bad_marker)[0])
            raise InputError(
                source,
                f"unknown marker {frame['marker'].iloc[i]!r}",
                row=i + row_offset,
                column="marker",
            )

    return Schema(
        "employment rates",
        (
            area_column(LONDON_CODES),
            Column("year", "int", minimum=1990, maximum=2100),
            Column("variable", "code", allowed=frozenset(levels)),
            Column("group", "code", allowed=frozenset(g for v in levels.values() for g in v)),
            Column("rate", "float", nullable=True, minimum=0, maximum=100),
            Column("ci_half_width", "float", nullable=True, minimum=0),
            Column("numerator", "float", nullable=True, minimum=0),
            Column("denominator", "float", nullable=True, minimum=0),
            Column("marker", "str"),
        ),
        keys=("area_code", "year", "variable", "group"),
        extra_columns_allowed=False,
        rules=(rule,),
    )


def aps_block(
    cells: Sequence[Any], labels: Sequence[str], where: str, row: int
) -> dict[str, Any] | None:
    """Numerator, denominator, percent, interval cells → values and the markers found."""
    if all(is_blank(v) for v in cells):
        return None
    values, markers = [], set()
    for value, label in zip(cells, labels):
        if isinstance(value, str) and value.strip() in APS_MARKERS:
            markers.add(value.strip())
            values.append(np.nan)
        else:
            values.append(
                parse_number(
                    value,
                    where,
                    row,
                    label,
                    missing=frozenset({""}),
                    what="a number or one of the markers ! * ~ # -",
                )
            )
    numerator, denominator, rate, ci = values
    return {
        "rate": rate,
        "ci_half_width": ci,
        "numerator": numerator,
        "denominator": denominator,
        "marker": "".join(m for m in MARKER_ORDER if m in markers),
    }


def aps_areas(rows: list[tuple], first: int, where: str) -> list[tuple[int, str, tuple]]:
    """(row number, code, row) for the London rows (boroughs, Inner/Outer London, London)."""
    out = []
    for i in range(first, len(rows)):
        area = london_code(rows[i][0], rows[i][1], where, i + 1, "Code", "Area")
        if area is not None:
            out.append((i + 1, area, rows[i]))
    require_areas(
        [a for _, a, _ in out],
        BOROUGH_CODES | {geography.LONDON_CODE},
        where,
        "the 33 London boroughs and London",
    )
    return out


def calendar_year(label: Any, where: str, row: int, column: str) -> int:
    m = re.fullmatch(r"jan\s*(\d{4})\s*-\s*dec\s*(\d{4})", normalised(label))
    if m is None or m.group(1) != m.group(2):
        raise InputError(
            where,
            f"expected a calendar-year period such as 'Jan 2016-Dec 2016', found {label!r}",
            row=row,
            column=column,
        )
    return int(m.group(1))


def employment_table(records: list[dict[str, Any]], source: str) -> pd.DataFrame:
    frame = pd.DataFrame(records, columns=[*EMPLOYMENT_COLUMNS, "_row", "_sheet"])
    frame = frame.sort_values(["variable", "year", "area_code", "group"], kind="stable")
    checked = validated_table(frame, employment_schema(), source)
    order = {
        v: {g: i for i, g in enumerate(schemas.LEVELS[v])}
        for v in ("ethnic_group", "sex", "disability")
    }
    order["all"] = {"all": 0}
    checked["_g"] = [order[v][g] for v, g in zip(checked["variable"], checked["group"])]
    checked = checked.sort_values(["variable", "year", "area_code", "_g"], kind="stable").drop(
        columns="_g"
    )
    return checked.reset_index(drop=True)[list(EMPLOYMENT_COLUMNS)]
