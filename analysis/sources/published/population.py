"""ONS population estimates: components of change (MYEB3) and single year of age (MYE2)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.sources.published.readers import (
    BOROUGH_CODES,
    cell_name,
    count_schema,
    is_blank,
    london_code,
    parse_number,
    read_csv_text,
    require_areas,
    require_columns,
    sorted_rows,
    validated_table,
)
from analysis.validate import InputError, closest_hint

FLOWS = ("internal_in", "internal_out", "international_in", "international_out")


def load_population_components(path: str | os.PathLike) -> pd.DataFrame:
    """ONS MYEB3 summary components of change → ``area_code, year, population, internal_in,
    internal_out, international_in, international_out`` for the 33 boroughs.

    ``population`` is the mid-year population of ``year``; the four flows are the moves in
    the year to mid-``year`` (mid-2001 to mid-2002 is year 2002). Years are those of the file
    (2002-2018 in the mid-2018 edition). Internal flows count moves between local
    authorities, so moves between two London boroughs appear in both boroughs' figures.
    """
    path = Path(path)
    source = path.name
    table = read_csv_text(path, source)
    header = list(table.columns)
    code_col = next((c for c in header if re.fullmatch(r"ladcode\d{2}", c)), None)
    name_col = next((c for c in header if re.fullmatch(r"laname\d{2}", c)), None)
    if code_col is None or name_col is None:
        raise InputError(
            source,
            f"expected columns 'ladcodeYY' and 'lanameYY' (e.g. ladcode18), found {header[:4]}",
            row=1,
        )
    years = sorted(
        {int(m.group(1)) for c in header if (m := re.fullmatch(r"internal_in_(\d{4})", c))}
    )
    if not years:
        raise InputError(
            source,
            f"expected columns such as 'internal_in_2016'; found none{closest_hint('internal_in_2016', header)}",
            row=1,
        )
    expected = [
        f"{part}_{y}" for y in range(years[0], years[-1] + 1) for part in (*FLOWS, "population")
    ]
    require_columns(header, expected, source)

    out = []
    for i, (code, name) in enumerate(zip(table[code_col], table[name_col])):
        row = i + 2
        area = london_code(code, name, source, row, code_col, name_col)
        if area is None or area not in BOROUGH_CODES:
            continue
        for year in range(years[0], years[-1] + 1):
            entry: dict[str, Any] = {"area_code": area, "year": year, "_row": row}
            for part in ("population", *FLOWS):
                col = f"{part}_{year}"
                entry[part] = parse_number(
                    table[col].iloc[i], source, row, col, missing=frozenset({""})
                )
            out.append(entry)
    frame = pd.DataFrame(out)
    require_areas(frame.get("area_code", []), BOROUGH_CODES, source, "the 33 London boroughs")
    schema = count_schema("population components", ("population", *FLOWS), positive=("population",))
    return sorted_rows(validated_table(frame, schema, source), ["area_code", "year"])


def load_adults(path: str | os.PathLike) -> pd.DataFrame:
    """ONS mid-year estimates by single year of age (sheet ``MYE2 - Persons``, legacy .xls)
    → ``area_code, year, population, adults`` for the 33 boroughs.

    ``adults`` is the sum of ages 18 to 89 and ``90+``; ``population`` is ``All ages`` (checked
    to equal the sum over single years). ``year`` is read from the sheet title ("mid-2019").
    """
    import xlrd

    path = Path(path)
    source = path.name
    try:
        book = xlrd.open_workbook(path, on_demand=True)
    except Exception as err:  # xlrd.XLRDError for xlsx and other formats
        raise InputError(
            source, f"expected a legacy Excel .xls workbook; xlrd could not read it ({err})"
        ) from None
    try:
        wanted = {"mye2persons", "mye2-persons"}
        sheet_name = next(
            (n for n in book.sheet_names() if re.sub(r"\s+", "", n.lower()) in wanted), None
        )
        if sheet_name is None:
            raise InputError(
                source, f"expected a sheet 'MYE2 - Persons'; found sheets {book.sheet_names()}"
            )
        sheet = book.sheet_by_name(sheet_name)
        where = f"{source}, sheet {sheet_name!r}"
        rows = [sheet.row_values(i) for i in range(sheet.nrows)]
    finally:
        book.release_resources()

    head = next((i for i, r in enumerate(rows[:15]) if r and str(r[0]).strip() == "Code"), None)
    if head is None:
        raise InputError(
            where,
            "expected a header row starting 'Code' in the first 15 rows (row 5 in the "
            f"mid-2019 edition); found {[r[0] for r in rows[:6]]}",
        )
    title = " ".join(str(v) for r in rows[:head] for v in r if isinstance(v, str))
    found_year = re.search(r"mid-(\d{4})", title)
    if found_year is None:
        raise InputError(
            where,
            f"expected a title naming the year (e.g. 'mid-2019') above the header; found {title[:120]!r}",
        )
    year = int(found_year.group(1))
    header = rows[head]
    fixed = [str(v).strip() for v in header[:4]]
    if fixed != ["Code", "Name", "Geography1", "All ages"]:
        raise InputError(
            where,
            f"expected columns ['Code', 'Name', 'Geography1', 'All ages'], found {fixed}",
            row=head + 1,
        )
    ages: dict[int, int] = {}
    for col, label in enumerate(header[4:], start=4):
        if is_blank(label):
            continue
        text = str(label).strip()
        age = (
            90
            if text == "90+"
            else (int(float(text)) if re.fullmatch(r"\d+(\.0)?", text) else None)
        )
        if age is None:
            raise InputError(
                where,
                f"expected single years of age 0 to 89 and '90+' as headers, found {label!r}",
                row=head + 1,
                column=cell_name(col),
            )
        ages[age] = col
    if sorted(ages) != list(range(91)):
        missing = sorted(set(range(91)) - set(ages))
        raise InputError(
            where, f"expected age columns 0 to 89 and '90+'; missing {missing}", row=head + 1
        )

    out = []
    for i in range(head + 1, len(rows)):
        r, row = rows[i], i + 1
        area = london_code(r[0], r[1], where, row, "Code", "Name")
        if area is None or area not in BOROUGH_CODES:
            continue
        counts = {
            a: parse_number(r[c], where, row, cell_name(c, header[c]), missing=frozenset())
            for a, c in ages.items()
        }
        total = parse_number(r[3], where, row, "All ages", missing=frozenset())
        if abs(sum(counts.values()) - total) > 0.5:
            raise InputError(
                where,
                f"expected single years of age to add up to 'All ages' ({total:.0f}), "
                f"found {sum(counts.values()):.0f}",
                row=row,
                column="All ages",
            )
        out.append(
            {
                "area_code": area,
                "year": year,
                "population": total,
                "adults": sum(v for a, v in counts.items() if a >= 18),
                "_row": row,
            }
        )
    frame = pd.DataFrame(out)
    require_areas(frame.get("area_code", []), BOROUGH_CODES, where, "the 33 London boroughs")
    schema = count_schema(
        "population by age",
        ("population", "adults"),
        parts=(("adults", "population"),),
        positive=("population", "adults"),
    )
    return sorted_rows(validated_table(frame, schema, where), ["area_code", "year"])
