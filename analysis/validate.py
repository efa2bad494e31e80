"""Input validation: every table is checked against a schema before any estimate is made.

A problem raises :class:`InputError` naming the file (or table), the row and the column,
so that a bad input stops the build with a message a user can act on, never a wrong report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


class InputError(ValueError):
    """A bad input table: the message names the source, row and column."""

    def __init__(
        self, source: str, message: str, *, row: int | None = None, column: str | None = None
    ) -> None:
        self.source, self.row, self.column, self.detail = source, row, column, message
        where = [source]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {message}")

    def __reduce__(
        self,
    ) -> tuple[
        Any, tuple[str, str, int | None, str | None]
    ]:  # pickled with its parts, e.g. when raised in a forked data-step process
        return _input_error, (self.source, self.detail, self.row, self.column)


def _input_error(source: str, message: str, row: int | None, column: str | None) -> InputError:
    return InputError(source, message, row=row, column=column)


@dataclass(frozen=True)
class Column:
    """What one column must hold.

    kind: ``str``, ``int``, ``float`` or ``code`` (a string limited to ``allowed``).
    """

    name: str
    kind: str = "str"
    required: bool = True
    nullable: bool = False
    allowed: frozenset[str] | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False


Rule = Callable[[pd.DataFrame, str, int], None]
"""A check across rows or columns that a column type cannot express: called with the table,
its source and the row offset (to name the row a user sees), it raises :class:`InputError`."""


@dataclass(frozen=True)
class Schema:
    """A table's columns and the columns that together must be unique."""

    name: str
    columns: tuple[Column, ...]
    keys: tuple[str, ...] = ()
    extra_columns_allowed: bool = True
    rules: tuple[Rule, ...] = field(default=())


def _first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def validate(
    frame: pd.DataFrame, schema: Schema, *, source: str | None = None, row_offset: int = 2
) -> pd.DataFrame:
    """Check ``frame`` against ``schema`` and return it with columns coerced to their kinds.

    ``row_offset`` converts a 0-based position into the row a user sees: 2 for a CSV whose
    first line is the header (the default), 0 for an in-memory table indexed from 0.
    """
    source = source or schema.name
    frame = frame.copy()
    names = [c.name for c in schema.columns]
    missing = [c.name for c in schema.columns if c.required and c.name not in frame.columns]
    if missing:
        raise InputError(
            source, f"missing column(s) {missing}; expected {names}; found {list(frame.columns)}"
        )
    if not schema.extra_columns_allowed:
        extra = [c for c in frame.columns if c not in names]
        if extra:
            raise InputError(source, f"unexpected column(s) {extra}; expected {names}")
    if frame.empty:
        raise InputError(source, "the table has no rows")

    for col in schema.columns:
        if col.name not in frame.columns:
            continue
        values = frame[col.name]
        null = values.isna().to_numpy()
        if not col.nullable and null.any():
            raise InputError(
                source, "missing value", row=_first_bad(null) + row_offset, column=col.name
            )
        if col.kind in ("int", "float"):
            numeric = pd.to_numeric(values, errors="coerce")
            bad = numeric.isna().to_numpy() & ~null
            if bad.any():
                i = _first_bad(bad)
                raise InputError(
                    source,
                    f"expected a number, found {values.iloc[i]!r}",
                    row=i + row_offset,
                    column=col.name,
                )
            arr = numeric.to_numpy(dtype=float)
            if col.kind == "int":
                frac = ~null & (np.mod(np.nan_to_num(arr), 1) != 0)
                if frac.any():
                    i = _first_bad(frac)
                    raise InputError(
                        source,
                        f"expected a whole number, found {values.iloc[i]!r}",
                        row=i + row_offset,
                        column=col.name,
                    )
            if not np.isfinite(arr[~null]).all():
                i = _first_bad(~null & ~np.isfinite(arr))
                raise InputError(source, "value is not finite", row=i + row_offset, column=col.name)
            if col.minimum is not None:
                low = ~null & (
                    (arr <= col.minimum) if col.exclusive_minimum else (arr < col.minimum)
                )
                if low.any():
                    i = _first_bad(low)
                    op = ">" if col.exclusive_minimum else ">="
                    raise InputError(
                        source,
                        f"value {arr[i]!r} out of range: must be {op} {col.minimum}",
                        row=i + row_offset,
                        column=col.name,
                    )
            if col.maximum is not None:
                high = ~null & (arr > col.maximum)
                if high.any():
                    i = _first_bad(high)
                    raise InputError(
                        source,
                        f"value {arr[i]!r} out of range: must be <= {col.maximum}",
                        row=i + row_offset,
                        column=col.name,
                    )
            frame[col.name] = numeric.astype(
                "Int64"
                if (col.kind == "int" and null.any())
                else ("int64" if col.kind == "int" else "float64")
            )
        else:
            if col.allowed is not None:
                text = values.astype("string")
                bad = (~null) & ~text.isin(col.allowed).to_numpy(dtype=bool)
                if bad.any():
                    i = _first_bad(bad)
                    raise InputError(
                        source,
                        f"unknown code {values.iloc[i]!r}; allowed: {sorted(col.allowed)}",
                        row=i + row_offset,
                        column=col.name,
                    )
    if schema.keys:
        dup = frame.duplicated(list(schema.keys), keep="first").to_numpy()
        if dup.any():
            i = _first_bad(dup)
            key = {k: frame[k].iloc[i] for k in schema.keys}
            raise InputError(
                source, f"duplicate key {key}", row=i + row_offset, column=",".join(schema.keys)
            )
    for rule in schema.rules:
        rule(frame, source, row_offset)
    return frame
