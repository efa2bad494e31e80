"""London Borough Profiles (GLA, London Datastore): the CSV and the workbook, read alike."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.sources.published.readers import (
    LONDON_CODES,
    MISSING_TEXT,
    area_column,
    is_blank,
    london_code,
    open_xlsx,
    parse_number,
    read_csv_text,
    require_areas,
    require_columns,
    sheet_rows,
    validated_table,
)
from analysis.validate import Column, InputError, Schema

# columns of the profiles that hold text, not numbers (snake_case names)
PROFILE_TEXT_COLUMNS = frozenset(
    {
        "area_name",
        "inner_outer_london",
        "largest_migrant_population_by_country_of_birth_2011",
        "second_largest_migrant_population_by_country_of_birth_2011",
        "third_largest_migrant_population_by_country_of_birth_2011",
        "largest_migrant_population_arrived_during_2015_16",
        "second_largest_migrant_population_arrived_during_2015_16",
        "third_largest_migrant_population_arrived_during_2015_16",
        "political_control_in_council",
    }
)
PROFILE_REQUIRED = (
    "code",
    "area_name",
    "inner_outer_london",
    "gla_population_estimate_2017",
    "pct_of_resident_population_born_abroad_2015",
    "pct_of_population_from_bame_groups_2016",
    "employment_rate_pct_2015",
    "turnout_at_2014_local_elections",
)


def snake_case(header: Any) -> str:
    """Profile header → snake_case: ``'%_of_resident_..._(2015)'`` → ``'pct_of_resident_..._2015'``.

    The CSV (underscores) and the workbook (spaces) headers map to the same names.
    """
    text = str(header).strip().lower()
    text = text.replace("%", " pct ").replace("£", " gbp ").replace("+", " plus ")
    text = re.sub(r"[^0-9a-z]+", "_", text)
    return text.strip("_")


def load_borough_profiles(path: str | os.PathLike) -> pd.DataFrame:
    """London Borough Profiles (GLA, 2017 edition) as a wide table indexed by ``area_code``.

    Reads either ``london-borough-profiles.csv`` (UTF-8 with BOM or cp1252; missing values
    ``.``, ``-``, ``n/a``; numbers such as ``"3,611"`` and ``"£29,420"``) or the workbook
    ``london-borough-profiles.xlsx`` (sheet ``Data``: header, a blank row, then the areas; the
    GSS codes are in its ``New code`` column, unrounded values). Rows: the 33 boroughs, Inner
    London (E13000001), Outer London (E13000002) and London (E12000007), in file order; the
    England and United Kingdom comparator rows are dropped. Columns keep the published headers
    in snake_case (``%`` → ``pct``, ``£`` → ``gbp``, ``+`` → ``plus``), the same for both
    formats; every column is a float except :data:`PROFILE_TEXT_COLUMNS`.
    """
    path = Path(path)
    source = path.name
    suffix = path.suffix.lower()
    if suffix == ".csv":
        table = read_csv_text(path, source)
        header = list(table.columns)
        records = [tuple(r) for r in table.itertuples(index=False, name=None)]
        first_row = 2
    elif suffix in (".xlsx", ".xlsm"):
        book = open_xlsx(path, source)
        try:
            rows = sheet_rows(book, "Data", source)
        finally:
            book.close()
        if len(rows) < 3:
            raise InputError(
                source,
                f"sheet 'Data': expected a header, a blank row and data rows; found {len(rows)} rows",
            )
        header = list(rows[0])
        if not all(is_blank(v) for v in rows[1]):
            shown = [v for v in rows[1] if not is_blank(v)][:3]
            raise InputError(
                f"{source}, sheet 'Data'",
                f"expected a blank row under the header, found {shown}",
                row=2,
            )
        records = rows[2:]
        first_row = 3
    else:
        raise InputError(source, f"expected a .csv or .xlsx file, found {suffix!r}")

    names = [snake_case(h) if not is_blank(h) else "" for h in header]
    where = source if suffix == ".csv" else f"{source}, sheet 'Data'"
    if "" in names:
        raise InputError(
            where,
            f"expected a header text in every column; column {names.index('') + 1} has none",
            row=1,
        )
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(
            where, f"expected distinct column names; {dupes} appear more than once", row=1
        )
    require_columns(names, PROFILE_REQUIRED, where, labels=dict(zip(names, header)))
    code_col = "new_code" if "new_code" in names else "code"
    code_at, name_at = names.index(code_col), names.index("area_name")
    value_cols = [(i, n) for i, n in enumerate(names) if n not in ("code", "new_code")]

    out_rows: list[dict[str, Any]] = []
    for offset, record in enumerate(records):
        row = first_row + offset
        if all(is_blank(v) for v in record):
            continue
        code = london_code(
            record[code_at], record[name_at], where, row, header[code_at], header[name_at]
        )
        if code is None:
            continue  # England, United Kingdom, the "National comparator" footnote
        entry: dict[str, Any] = {"area_code": code, "_row": row}
        for i, name in value_cols:
            value = record[i]
            if name in PROFILE_TEXT_COLUMNS:
                entry[name] = (
                    None
                    if is_blank(value) or str(value).strip() in MISSING_TEXT
                    else str(value).strip()
                )
            else:
                entry[name] = parse_number(
                    value,
                    where,
                    row,
                    str(header[i]),
                    what="a number (or '.', '-', 'n/a' for a missing value)",
                )
        out_rows.append(entry)
    frame = pd.DataFrame(out_rows)
    require_areas(
        frame.get("area_code", []),
        LONDON_CODES,
        where,
        "the 33 boroughs, Inner, Outer London and London",
    )
    cols = [area_column(LONDON_CODES)]
    cols += [
        Column(n, "str" if n in PROFILE_TEXT_COLUMNS else "float", nullable=n != "area_name")
        for _, n in value_cols
    ]
    schema = Schema("london borough profiles", tuple(cols), keys=("area_code",))
    checked = validated_table(frame, schema, where)
    return checked.set_index("area_code")
