"""APS employment rates (London Datastore): by ethnicity, by sex and disability, all people."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

from analysis import geography, schemas
from analysis.sources.published.aps import (
    aps_areas,
    aps_block,
    calendar_year,
    employment_table,
)
from analysis.sources.published.readers import (
    cell_name,
    is_blank,
    normalised,
    open_xlsx,
    sheet_rows,
)
from analysis.validate import InputError, closest_hint

ETHNIC_HEADINGS: dict[str, str | None] = {
    "working age employment rate - white": "White",
    "working age employment rate - ethnic minority": None,  # BAME total: not a canonical level
    "working age employment rate for all mixed ethnic group": "Mixed",
    "working age employment rate for all indians": "Indian",
    "working age employment rate for all pakistanis/bangladeshis": "Pakistani/Bangladeshi",
    "working age employment rate for all black or black british": "Black",
    "working age employment rate for all other ethnic group": "Other",
}
DISABILITY_HEADINGS: dict[str, dict[str, str]] = {
    # current definition (Equality Act 2010 core or work-limiting), 2013/2014 onwards
    "current": {
        "equality act core or work-limiting disabled": "Disabled",
        "not ea core or work-limiting disabled": "Not disabled",
    },
    # previous definition (Disability Discrimination Act or work-limiting), to 2012
    "previous": {"all disabled": "Disabled", "not disabled": "Not disabled"},
}


def load_employment_by_ethnicity(path: str | os.PathLike) -> pd.DataFrame:
    """APS employment rates by ethnic group (London Datastore) → ``area_code, year, variable,
    group, rate, ci_half_width, numerator, denominator, marker`` with ``variable`` =
    ``ethnic_group``.

    One sheet per calendar year (``2004`` … ``2020``; Jan-Dec APS). Working-age (16-64)
    employment rate in % (``rate``), the published 95% confidence interval half-width in
    percentage points (``ci_half_width``), people in employment (``numerator``) and the
    working-age population of the group (``denominator``). Groups are the canonical levels:
    White, Mixed, Indian, Pakistani/Bangladeshi, Black, Other; the published "ethnic
    minority" (BAME) total is left out. Rows: the 33 boroughs, Inner and Outer London and
    London. Markers are kept in ``marker`` (any of ``! * ~ # -``, see :data:`APS_MARKERS`)
    with the marked cells NaN: ``!`` rows have no rate; ``*`` rows keep the published rate,
    which is unreliable; ``-`` is usually an interval not computed for a 100% rate.
    """
    path = Path(path)
    source = path.name
    book = open_xlsx(path, source)
    try:
        sheets = [n for n in book.sheetnames if re.fullmatch(r"\d{4}", n.strip())]
        if not sheets:
            raise InputError(
                source,
                f"expected one sheet per calendar year named like '2016'; found sheets {book.sheetnames}",
            )
        out = []
        for name in sheets:
            out.extend(
                _ethnic_sheet(sheet_rows(book, name, source), f"{source}, sheet {name!r}", name)
            )
    finally:
        book.close()
    return employment_table(out, source)


def _ethnic_sheet(rows: list[tuple], where: str, name: str) -> list[dict[str, Any]]:
    year = int(name)
    if len(rows) < 4:
        raise InputError(
            where, f"expected two header rows, a blank row and data rows; found {len(rows)} rows"
        )
    top, sub = rows[0], rows[1]
    if [normalised(v) for v in sub[:2]] != ["code", "area"]:
        raise InputError(
            where, f"expected 'Code' and 'Area' in columns A and B, found {list(sub[:2])}", row=2
        )
    blocks: dict[str, int] = {}
    for col, heading in enumerate(top):
        if is_blank(heading):
            continue
        key = normalised(heading)
        if key not in ETHNIC_HEADINGS:
            raise InputError(
                where,
                f"expected a group heading such as 'working age employment rate - white', "
                f"found {heading!r}{closest_hint(key, ETHNIC_HEADINGS)}",
                row=1,
                column=cell_name(col),
            )
        want = ["number", "denominator", "percent", "confidence"]
        got = [normalised(v) for v in sub[col : col + 4]]
        if got != want:
            raise InputError(
                where,
                f"expected sub-headings {want} under {heading!r}, found {got}",
                row=2,
                column=cell_name(col),
            )
        group = ETHNIC_HEADINGS[key]
        if group is not None:
            blocks[group] = col
    missing = [g for g in schemas.LEVELS["ethnic_group"] if g not in blocks]
    if missing:
        raise InputError(
            where, f"expected a block of columns for each ethnic group; missing {missing}", row=1
        )
    out = []
    for row, area, r in aps_areas(rows, 3, where):
        for group, col in blocks.items():
            labels = [cell_name(col + k, f"{group} {sub[col + k]}") for k in range(4)]
            block = aps_block(r[col : col + 4], labels, where, row)
            if block is not None:
                out.append(
                    {
                        "area_code": area,
                        "year": year,
                        "variable": "ethnic_group",
                        "group": group,
                        **block,
                        "_row": row,
                        "_sheet": name,
                    }
                )
    return out


def load_employment_by_sex_disability(
    path: str | os.PathLike, *, include_previous_definition: bool = False
) -> pd.DataFrame:
    """APS employment rates by sex and disability (London Datastore) → ``area_code, year,
    variable, group, rate, ci_half_width, numerator, denominator, marker``.

    * ``variable = "sex"`` (``Male``/``Female``) from sheets ``Males`` and ``Females``: the 33
      boroughs, Inner and Outer London and London, calendar years 2004-2020, with numerator,
      denominator, rate and published 95% interval half-width, markers as in
      :func:`load_employment_by_ethnicity`.
    * ``variable = "disability"`` (``Disabled``/``Not disabled``) from sheet ``Emp Disabled``:
      **London only** (the file has no borough figures), number employed and rate, no
      denominator or interval. ``Disabled`` is "Equality Act core or work-limiting disabled"
      and ``Not disabled`` "Not EA core or work-limiting disabled" (2014 onwards). The earlier
      series (DDA or work-limiting, "All disabled" / "Not disabled", 2004-2012) is a different
      definition and is only included with ``include_previous_definition=True``; 2013 is in
      neither.

    The ``Persons`` sheet (all people) and the age sheets are not read.
    """
    path = Path(path)
    source = path.name
    book = open_xlsx(path, source)
    try:
        for name in ("Males", "Females", "Emp Disabled"):
            if name not in book.sheetnames:
                raise InputError(
                    source, f"expected a sheet named {name!r}; found sheets {book.sheetnames}"
                )
        out = []
        for name, group in (("Males", "Male"), ("Females", "Female")):
            out.extend(
                _sex_sheet(sheet_rows(book, name, source), f"{source}, sheet {name!r}", name, group)
            )
        out.extend(
            _disability_sheet(
                sheet_rows(book, "Emp Disabled", source),
                f"{source}, sheet 'Emp Disabled'",
                include_previous_definition,
            )
        )
    finally:
        book.close()
    return employment_table(out, source)


def load_employment_all_persons(path: str | os.PathLike) -> pd.DataFrame:
    """APS employment rates of all people aged 16-64 (sheet ``Persons`` of the file read by
    :func:`load_employment_by_sex_disability`) → the same columns with ``variable`` and
    ``group`` both ``"all"``: the 33 boroughs, Inner and Outer London and London, calendar
    years 2004-2020, markers as in :func:`load_employment_by_ethnicity`.

    It is the whole-population series the group rates sit beside, so a page can map and rank
    the employment rate without pooling the groups.
    """
    path = Path(path)
    source = path.name
    book = open_xlsx(path, source)
    try:
        if "Persons" not in book.sheetnames:
            raise InputError(
                source, f"expected a sheet named 'Persons'; found sheets {book.sheetnames}"
            )
        out = _sex_sheet(
            sheet_rows(book, "Persons", source),
            f"{source}, sheet 'Persons'",
            "Persons",
            "all",
            variable="all",
        )
    finally:
        book.close()
    return employment_table(out, source)


def _sex_sheet(
    rows: list[tuple], where: str, name: str, group: str, variable: str = "sex"
) -> list[dict[str, Any]]:
    if len(rows) < 4:
        raise InputError(
            where, f"expected two header rows, a blank row and data rows; found {len(rows)} rows"
        )
    top, sub = rows[0], rows[1]
    if [normalised(v) for v in sub[:2]] != ["code", "area"]:
        raise InputError(
            where, f"expected 'Code' and 'Area' in columns A and B, found {list(sub[:2])}", row=2
        )
    blocks: dict[int, int] = {}
    for col in range(2, len(top)):
        if is_blank(top[col]):
            continue
        year = calendar_year(top[col], where, 1, cell_name(col))
        want = ["numerator", "denominator", "percent", "conf"]
        got = [normalised(v) for v in sub[col : col + 4]]
        if got != want:
            raise InputError(
                where,
                f"expected sub-headings {want} under {top[col]!r}, found {got}",
                row=2,
                column=cell_name(col),
            )
        blocks[year] = col
    if not blocks:
        raise InputError(
            where, "expected periods such as 'Jan 2016-Dec 2016' across row 1, found none", row=1
        )
    out = []
    for row, area, r in aps_areas(rows, 3, where):
        for year, col in blocks.items():
            labels = [cell_name(col + k, f"{year} {sub[col + k]}") for k in range(4)]
            block = aps_block(r[col : col + 4], labels, where, row)
            if block is not None:
                out.append(
                    {
                        "area_code": area,
                        "year": year,
                        "variable": variable,
                        "group": group,
                        **block,
                        "_row": row,
                        "_sheet": name,
                    }
                )
    return out


def _disability_sheet(
    rows: list[tuple], where: str, include_previous: bool
) -> list[dict[str, Any]]:
    """The London block of 'Emp Disabled': headings rows, a 'London | Number | Rate' row, then years."""
    out: list[dict[str, Any]] = []
    columns: dict[str, int] | None = None  # group -> column of 'Number' (London block)
    definition = None
    seen = set()
    for i, r in enumerate(rows):
        row = i + 1
        first = normalised(r[0]) if not is_blank(r[0]) else ""
        cells: dict[str, int] = {}
        for col, v in enumerate(r):
            if col > 0 and not is_blank(v):
                cells.setdefault(normalised(v), col)  # first occurrence: the London block
        for name, headings in DISABILITY_HEADINGS.items():
            if all(h in cells for h in headings):
                # the first occurrence of each heading is the London block (UK repeats it to the right)
                columns = {group: cells[h] for h, group in headings.items()}
                definition = name
                seen.add(name)
        if first == "london" and columns is not None:
            for group, col in columns.items():
                got = [normalised(r[col]), normalised(r[col + 1])]
                if got != ["number", "rate"]:
                    raise InputError(
                        where,
                        f"expected 'Number' and 'Rate' under {group!r}, found {got}",
                        row=row,
                        column=cell_name(col),
                    )
        if first.startswith("jan") and columns is not None:
            year = calendar_year(r[0], where, row, "A")
            if definition == "previous" and not include_previous:
                continue
            for group, col in columns.items():
                block = aps_block(
                    (r[col], None, r[col + 1], None),
                    [
                        cell_name(col, f"{group} Number"),
                        "",
                        cell_name(col + 1, f"{group} Rate"),
                        "",
                    ],
                    where,
                    row,
                )
                if block is not None:
                    out.append(
                        {
                            "area_code": geography.LONDON_CODE,
                            "year": year,
                            "variable": "disability",
                            "group": group,
                            **block,
                            "_row": row,
                            "_sheet": "Emp Disabled",
                        }
                    )
    if "current" not in seen:
        raise InputError(
            where,
            "expected headings 'Equality Act core or work-limiting disabled' and "
            "'Not EA core or work-limiting disabled' over the London columns; found none",
        )
    return out
