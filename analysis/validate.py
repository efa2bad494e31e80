"""Input validation: every table is checked against a schema before any estimate is made.

A problem raises :class:`InputError` naming the file (or table), the row and the column,
so that a bad input stops the build with a message a user can act on, never a wrong report.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "Column",
    "InputError",
    "Rule",
    "Schema",
    "closest_hint",
    "validate",
]


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


def closest_hint(
    name: object,
    options: Iterable[object],
    *,
    cutoff: float = 0.6,
    n: int = 2,
    ask: bool = False,
    shown: Mapping[str, object] | None = None,
) -> str:
    """The names in ``options`` closest to a misspelt ``name``, for an error message:
    " (closest found: 'a', 'b')", or with ``ask`` " (did you mean 'a', 'b'?)"; "" when none
    is close (``difflib``, at most ``n`` names scoring ``cutoff`` or more).

    Why one helper: every message that suggests a name (a published file's headers, a wave
    codebook's keys, variables and levels) finds its candidates the same way. ``shown`` maps
    a candidate to the text the message shows for it (a cleaned header to the header as
    published).
    """
    close = difflib.get_close_matches(str(name), [str(o) for o in options], n=n, cutoff=cutoff)
    if not close:
        return ""
    listed = ", ".join(repr(shown.get(c, c) if shown else c) for c in close)
    return f" (did you mean {listed}?)" if ask else f" (closest found: {listed})"


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


def _refuse(
    bad: np.ndarray, message: Callable[[int], str], source: str, column: str, row_offset: int
) -> None:
    """Raise an :class:`InputError` at the first row where ``bad`` holds, if any.

    Why one helper: every cell check reports the same way (file, the row a user sees, column),
    and ``message`` is given the row's position so it can quote the offending value.
    """
    if bad.any():
        i = _first_bad(bad)
        raise InputError(source, message(i), row=i + row_offset, column=column)


def _checked_column(values: pd.Series, col: Column, source: str, row_offset: int) -> pd.Series:
    """One column checked cell by cell against its declaration, numbers coerced to their kind.

    The first offending cell stops the check with an error naming its row and column.
    """
    null = values.isna().to_numpy()
    where = (source, col.name, row_offset)
    if not col.nullable:
        _refuse(null, lambda i: "missing value", *where)
    if col.kind not in ("int", "float"):
        if col.allowed is not None:
            known = values.astype("string").isin(col.allowed).to_numpy(dtype=bool)
            allowed = sorted(col.allowed)
            _refuse(
                ~null & ~known,
                lambda i: f"unknown code {values.iloc[i]!r}; allowed: {allowed}",
                *where,
            )
        return values
    numeric = pd.to_numeric(values, errors="coerce")
    bad = numeric.isna().to_numpy() & ~null
    _refuse(bad, lambda i: f"expected a number, found {values.iloc[i]!r}", *where)
    arr = numeric.to_numpy(dtype=float)
    if col.kind == "int":
        frac = ~null & (np.mod(np.nan_to_num(arr), 1) != 0)
        _refuse(frac, lambda i: f"expected a whole number, found {values.iloc[i]!r}", *where)
    _refuse(~null & ~np.isfinite(arr), lambda i: "value is not finite", *where)
    if col.minimum is not None:
        low = ~null & ((arr <= col.minimum) if col.exclusive_minimum else (arr < col.minimum))
        op = ">" if col.exclusive_minimum else ">="
        _refuse(low, lambda i: f"value {arr[i]!r} out of range: must be {op} {col.minimum}", *where)
    if col.maximum is not None:
        high = ~null & (arr > col.maximum)
        _refuse(high, lambda i: f"value {arr[i]!r} out of range: must be <= {col.maximum}", *where)
    if col.kind == "int":
        return numeric.astype("Int64" if null.any() else "int64")
    return numeric.astype("float64")


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
        if col.name in frame.columns:
            frame[col.name] = _checked_column(frame[col.name], col, source, row_offset)
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
