"""GCSE results by borough (DfE, compiled by the GLA on the London Datastore)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.sources.published.readers import (
    BOROUGH_CODES,
    cell_name,
    is_blank,
    london_code,
    normalised,
    open_xlsx,
    parse_number,
    require_areas,
    sheet_rows,
    sorted_rows,
    validated_table,
)
from analysis.validate import InputError

GCSE_PUPILS = "number of pupils at the end of key stage 4"
GCSE_STANDARD = "percentage of pupils who achieved a standard 9-4 pass"
GCSE_AC = "percentage of pupils who achieved a*-c in english and maths gcses"
GCSE_SUPPRESSED = frozenset({"", "-", ".", "x", "c", "z", ":"})


def load_gcse(path: str | os.PathLike) -> pd.DataFrame:
    """GCSE results by borough (DfE, London Datastore) → ``area_code, year, pupils,
    pupils_achieving``, the canonical ``gcse`` admin table.

    One sheet per academic year (``2015-16`` … ``2021-22``); ``year`` is the year the
    academic year ends (2016 for 2015-16). ``pupils`` is the number of pupils at the end of
    key stage 4 and ``pupils_achieving`` = round(pupils × % / 100), rounding halves up, where %
    is, for all pupils:

    * 2017 onwards: the percentage achieving a **standard 9-4 pass in English and maths**.
      This headline replaced "5 or more A*-C including English and maths" (the registry
      measure's wording) when GCSEs were regraded 9-1; it is not the same measure;
    * 2016 (sheet ``2015-16``): the percentage achieving **A*-C in English and maths**, the
      letter-grade forerunner of the 9-4 standard pass (this file has no 5 A*-C measure).

    2020 and 2021 grades were centre- and teacher-assessed (exams cancelled) and are not
    comparable with other years. Figures are for state-funded schools by school location.
    Suppressed or empty rows (the City of London, whose rows are empty, ``-`` or ``.``) are
    dropped, not set to zero. The basis of each year is in ``frame.attrs["basis"]``.
    """
    path = Path(path)
    source = path.name
    book = open_xlsx(path, source)
    try:
        sheets = [n for n in book.sheetnames if re.fullmatch(r"\d{4}-\d{2}", n.strip())]
        if not sheets:
            raise InputError(
                source,
                f"expected one sheet per academic year named like '2015-16'; found sheets {book.sheetnames}",
            )
        parts, basis = [], {}
        for name in sheets:
            frame, year, label = _gcse_sheet(
                sheet_rows(book, name, source), f"{source}, sheet {name!r}", name
            )
            parts.append(frame.assign(_sheet=name))
            basis[year] = label
    finally:
        book.close()
    frame = pd.concat(parts, ignore_index=True)
    dup = frame.duplicated(["area_code", "year"]).to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InputError(source, f"two sheets give academic year ending {frame['year'].iloc[i]}")
    out = sorted_rows(validated_table(frame, "gcse", source), ["area_code", "year"])
    out.attrs["basis"] = dict(sorted(basis.items()))
    return out


def _gcse_sheet(rows: list[tuple], where: str, name: str) -> tuple[pd.DataFrame, int, str]:
    start, end = (int(x) for x in name.strip().split("-"))
    if end != (start + 1) % 100:
        raise InputError(where, f"expected an academic year name such as '2015-16', found {name!r}")
    year = start + 1
    if len(rows) < 5:
        raise InputError(where, f"expected three header rows and data rows, found {len(rows)} rows")
    top, middle, bottom = rows[0], rows[1], rows[2]
    if [normalised(v) for v in bottom[:2]] != ["code", "area"]:
        raise InputError(
            where, f"expected 'Code' and 'Area' in columns A and B, found {list(bottom[:2])}", row=3
        )
    blocks = [i for i, v in enumerate(top) if not is_blank(v)]
    if not blocks or normalised(top[blocks[0]]) != "all":
        raise InputError(
            where,
            f"expected 'All' over the first block of columns, found {[top[i] for i in blocks]}",
            row=1,
        )
    lo, hi = blocks[0], (blocks[1] if len(blocks) > 1 else len(top))
    pupils_col = next((i for i in range(lo, hi) if normalised(middle[i]) == GCSE_PUPILS), None)
    if pupils_col is None:
        raise InputError(
            where,
            f"expected a column headed 'Number of pupils at the end of key stage 4' under 'All'; "
            f"found {[middle[i] for i in range(lo, hi) if not is_blank(middle[i])]}",
            row=2,
        )
    headers = {i: normalised(bottom[i]) for i in range(lo, hi) if not is_blank(bottom[i])}
    pct_col = next((i for i, t in headers.items() if t == GCSE_STANDARD), None)
    label = "standard 9-4 pass in English and maths"
    if pct_col is None and year <= 2016:
        pct_col = next((i for i, t in headers.items() if t == GCSE_AC), None)
        label = "A*-C in English and maths"
    if pct_col is None:
        raise InputError(
            where,
            "expected a column headed 'Percentage of pupils who achieved a standard 9-4 pass' "
            "(2015-16: '... A*-C in English and maths GCSEs') under 'All'; "
            f"found {list(headers.values())}",
            row=3,
        )

    out, seen = [], set()
    for i in range(3, len(rows)):
        r, row = rows[i], i + 1
        area = london_code(r[0], r[1], where, row, "Code", "Area")
        if area is None or area not in BOROUGH_CODES:
            continue
        seen.add(area)
        pupils = parse_number(
            r[pupils_col],
            where,
            row,
            cell_name(pupils_col, middle[pupils_col]),
            missing=GCSE_SUPPRESSED,
        )
        pct = parse_number(
            r[pct_col], where, row, cell_name(pct_col, bottom[pct_col]), missing=GCSE_SUPPRESSED
        )
        if np.isnan(pupils) or np.isnan(pct):
            continue  # suppressed or not published: dropped, not zero
        if not 0 <= pct <= 100:
            raise InputError(
                where,
                f"expected a percentage from 0 to 100, found {pct}",
                row=row,
                column=cell_name(pct_col, bottom[pct_col]),
            )
        out.append(
            {
                "area_code": area,
                "year": year,
                "pupils": pupils,
                "pupils_achieving": float(np.floor(pupils * pct / 100 + 0.5)),
                "_row": row,
            }
        )
    require_areas(seen, BOROUGH_CODES, where, "the 33 London boroughs")
    return pd.DataFrame(out), year, label
