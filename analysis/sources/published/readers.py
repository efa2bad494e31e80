"""Reading helpers every published-file loader shares: cells, headers, areas and validation.

Publishers write the same things in different ways ("1,234", "£1,234", ".", "n/a"; CR-only
line endings; header text that drifts between editions). These helpers read them one way,
and fail with :class:`analysis.validate.InputError` naming the file, sheet, row and column and
saying what was expected and what was found, so a changed layout stops a build with a message
a user can act on rather than producing a wrong figure.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import geography, schemas
from analysis.validate import Column, InputError, Schema, closest_hint, validate

LONDON_CODES: frozenset[str] = frozenset(geography.borough_codes()) | frozenset(
    geography.AGGREGATES
)
BOROUGH_CODES: frozenset[str] = frozenset(geography.borough_codes())
CITY = geography.CITY_OF_LONDON_CODE
MISSING_TEXT = frozenset({"", ".", "-", "n/a", "N/A", ":", ".."})


def require_columns(
    found: Sequence[str],
    expected: Sequence[str],
    source: str,
    *,
    row: int | None = 1,
    labels: dict[str, Any] | None = None,
) -> None:
    """Fail naming the first expected header that is absent and the closest unexpected ones.

    ``labels`` maps cleaned names back to the headers as published, for the message.
    """
    have = set(found)
    missing = [c for c in expected if c not in have]
    if missing:
        first = missing[0]
        more = f" and {len(missing) - 1} more ({missing[1:4]}...)" if len(missing) > 1 else ""
        wanted = set(expected)
        unexpected = [f for f in found if f not in wanted] or list(found)
        hint = closest_hint(first, unexpected, cutoff=0.5, shown=labels)
        raise InputError(
            source, f"expected a column {first!r}{more}; found no such column{hint}", row=row
        )


def is_blank(value: Any) -> bool:
    """An empty cell: None, NaN or white space only."""
    return (
        value is None
        or (isinstance(value, float) and np.isnan(value))
        or (isinstance(value, str) and value.strip() == "")
    )


def london_code(
    code: Any, name: Any, source: str, row: int, code_col: str, name_col: str | None
) -> str | None:
    """GSS code of a London row (borough or aggregate) or None for other places.

    The name must agree with the code, so a shifted or mistyped row is caught.
    """
    text = "" if is_blank(code) else str(code).strip()
    if text not in LONDON_CODES:
        if text.startswith("E09"):
            raise InputError(
                source,
                f"expected a London borough code E09000001-E09000033, found {text!r}",
                row=row,
                column=code_col,
            )
        return None
    if name_col is not None and not is_blank(name):
        try:
            by_name = geography.to_code(str(name))
        except geography.UnknownAreaError as err:
            raise InputError(
                source,
                f"expected the name of {text} ({geography.name_of(text)}): {err}",
                row=row,
                column=name_col,
            ) from None
        if by_name != text:
            raise InputError(
                source,
                f"code {text} is {geography.name_of(text)!r} but the name is {name!r} ({by_name})",
                row=row,
                column=name_col,
            )
    return text


def require_areas(codes: Iterable[str], expected: Iterable[str], source: str, what: str) -> None:
    """Fail naming every expected area (by name) that the file has no row for."""
    missing = sorted(set(expected) - set(codes))
    if missing:
        names = [geography.name_of(c) for c in missing]
        raise InputError(source, f"expected rows for {what}; missing {names}")


def parse_number(
    value: Any,
    source: str,
    row: int,
    column: str,
    *,
    missing: frozenset[str] = MISSING_TEXT,
    what: str = "a number",
) -> float:
    """A published cell as a float: numbers, '1,234', '£1,234'; missing markers become NaN."""
    if value is None:
        return np.nan
    if isinstance(value, bool):
        raise InputError(source, f"expected {what}, found {value!r}", row=row, column=column)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    text = str(value).strip()
    if text in missing:
        return np.nan
    cleaned = text.replace(",", "").replace("£", "").strip()
    try:
        return float(cleaned)
    except ValueError:
        raise InputError(
            source, f"expected {what}, found {value!r}", row=row, column=column
        ) from None


def read_text(path: Path, source: str) -> str:
    """File text with any BOM removed (UTF-8, else cp1252) and line endings made '\\n'.

    Handles CR-only (old Mac) files such as the Electoral Commission's referendum CSV.
    """
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    if not text.strip():
        raise InputError(source, "expected a CSV file with a header row, found an empty file")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_csv_text(path: Path, source: str) -> pd.DataFrame:
    """A CSV as strings, exactly as written (no missing-value guessing); header = row 1."""
    text = read_text(path, source)
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, ValueError) as err:
        raise InputError(source, f"expected a comma-separated file: {err}") from None


def open_xlsx(path: Path, source: str) -> Any:
    """The workbook read-only with cached values (an unreadable file is an InputError)."""
    import openpyxl

    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # zipfile.BadZipFile, InvalidFileException, KeyError
        raise InputError(
            source, f"expected an Excel .xlsx workbook; openpyxl could not read it ({err})"
        ) from None


def sheet_rows(book: Any, name: str, source: str) -> list[tuple]:
    """The values of sheet ``name``, every row padded to the same width (a missing sheet is
    an error listing the sheets there are)."""
    if name not in book.sheetnames:
        raise InputError(source, f"expected a sheet named {name!r}; found sheets {book.sheetnames}")
    rows = [tuple(r) for r in book[name].iter_rows(values_only=True)]
    width = max((len(r) for r in rows), default=0)
    return [r + (None,) * (width - len(r)) for r in rows]


def cell_name(col: int, header: Any = None) -> str:
    """A column as a spreadsheet user sees it: its letter, with the header when there is one."""
    from openpyxl.utils import get_column_letter

    letter = get_column_letter(col + 1)
    return f"{letter} ({header})" if header not in (None, "") else letter


def validated_table(frame: pd.DataFrame, schema: Schema | str, source: str) -> pd.DataFrame:
    """Validate a produced table; errors point at the file's own row (and sheet).

    ``frame`` may carry ``_row`` (the row in the file) and ``_sheet`` (its sheet): they are
    dropped from the result and used only to place an error. A string ``schema`` names a
    canonical admin table (:func:`analysis.schemas.validate_admin`).
    """
    frame = frame.reset_index(drop=True)
    rows = frame.pop("_row") if "_row" in frame.columns else None
    sheets = frame.pop("_sheet") if "_sheet" in frame.columns else None
    try:
        if isinstance(schema, str):
            return schemas.validate_admin(frame, schema, source=source, row_offset=0)
        return validate(frame, schema, source=source, row_offset=0)
    except InputError as err:
        if err.row is None or rows is None:
            raise
        where = source if sheets is None else f"{source}, sheet {sheets.iloc[err.row]!r}"
        raise InputError(
            where, err.detail, row=int(rows.iloc[err.row]), column=err.column
        ) from None


def area_column(codes: Iterable[str] = BOROUGH_CODES) -> Column:
    """The ``area_code`` column of a produced table, limited to ``codes``."""
    return Column("area_code", "code", allowed=frozenset(codes))


def count_schema(
    name: str,
    counts: Sequence[str],
    *,
    areas: Iterable[str] = BOROUGH_CODES,
    parts: Sequence[tuple[str, str]] = (),
    positive: Sequence[str] = (),
) -> Schema:
    """The schema of a table of whole counts by borough and year, with its consistency rules."""
    cols = [area_column(areas), Column("year", "int", minimum=1990, maximum=2100)]
    cols += [Column(c, "int", minimum=0) for c in counts]
    return Schema(
        name=name,
        columns=tuple(cols),
        keys=("area_code", "year"),
        extra_columns_allowed=False,
        rules=(schemas.parts_within_wholes(parts), schemas.positive_columns(positive)),
    )


def sorted_rows(frame: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """``frame`` in a stable order, so that the same file always gives the same table."""
    return frame.sort_values(list(by), kind="stable").reset_index(drop=True)


def normalised(text: Any) -> str:
    """Header text compared without case or runs of white space (which editions vary)."""
    return re.sub(r"\s+", " ", str(text)).strip().lower()
