"""Applying a codebook to a file: the canonical frame, or every problem found at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import schemas
from analysis.sources.waves.codebook import (
    ALL_ITEMS,
    DESIGN,
    TEXT_COLUMNS,
    Codebook,
    Condition,
    VariableSpec,
    _borough_target,
    _period_label,
    load_codebook,
    parse_codebook,
)
from analysis.sources.waves.matching import Token, _show, _text, _token
from analysis.sources.waves.problems import (
    MAX_VALUES_SHOWN,
    CodebookError,
    Problem,
    ValueCount,
    WaveMismatchError,
)
from analysis.validate import InputError, closest_hint

AGE_BANDS: tuple[tuple[float, float, str], ...] = (
    (16, 25, "16-24"),
    (25, 35, "25-34"),
    (35, 45, "35-44"),
    (45, 55, "45-54"),
    (55, 65, "55-64"),
    (65, 121, "65+"),
)
assert tuple(b[2] for b in AGE_BANDS) == schemas.LEVELS["age_band"]
MAX_AGE = 120


@dataclass
class _Column:
    """One source variable factorised: distinct values, their codes per row, their labels."""

    codes: np.ndarray  # per row: index into uniques, -1 where empty
    uniques: list[Any]
    labels: list[str | None]
    first: np.ndarray  # per unique: position (in the kept rows) of its first row
    counts: np.ndarray  # per unique: rows carrying it

    @classmethod
    def of(
        cls, raw: pd.Series, labels: Mapping[Any, str] | None, positions: np.ndarray | None = None
    ) -> _Column:
        """``positions`` gives the kept-row position of each row of ``raw`` when it is a subset."""
        codes, uniques = pd.factorize(raw, use_na_sentinel=True)
        uniques = list(np.asarray(uniques, dtype=object))
        label_of = {_token(k): str(v) for k, v in (labels or {}).items()}
        labs = [label_of.get(_token(u)) for u in uniques]
        counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
        present, first_idx = np.unique(codes, return_index=True)
        first = np.full(len(uniques), -1, dtype=np.int64)
        first[present[present >= 0]] = first_idx[present >= 0]
        if positions is not None:
            first = np.where(first >= 0, np.asarray(positions)[np.maximum(first, 0)], -1)
        return cls(codes, uniques, labs, first, counts)


@dataclass
class _Context:
    source: str
    rows: np.ndarray  # the user's row number of each kept row
    value_labels: Mapping[str, Mapping[Any, str]]
    missing: frozenset = frozenset()  # tokens of the codebook's missing_codes
    user_missing: Mapping[str, list[tuple[float, float]]] = field(
        default_factory=dict
    )  # SPSS declarations
    problems: list[Problem] = field(default_factory=list)
    reported: set = field(default_factory=set)  # (variable, token) already reported

    def row(self, position: int) -> int:
        return int(self.rows[position])

    def is_user_missing(self, variable: str | None, value: Any) -> bool:
        """Whether the file (SPSS) declares ``value`` of ``variable`` a user-missing code."""
        token = _token(value)
        if variable is None or token is None or token[0] != "n":
            return False
        return any(lo <= token[1] <= hi for lo, hi in self.user_missing.get(variable, ()))

    def is_missing_code(self, value: Any, label: str | None) -> bool:
        """Whether a value (or its label) is one of the codebook's missing_codes."""
        return bool(self.missing) and (
            _token(value) in self.missing or (label is not None and _token(label) in self.missing)
        )

    def unmapped(
        self, spec: VariableSpec, col: _Column, bad: list[int], what: str, hint: str = ""
    ) -> None:
        """Report the distinct values ``bad`` (indices into col.uniques) of one variable."""
        bad = [k for k in bad if (spec.variable, _token(col.uniques[k])) not in self.reported]
        if not bad:
            return
        bad.sort(key=lambda k: col.first[k])
        found = tuple(
            ValueCount(col.uniques[k], col.labels[k], int(col.counts[k]), self.row(col.first[k]))
            for k in bad
        )
        self.reported.update((spec.variable, _token(col.uniques[k])) for k in bad)
        lines = []
        for v in found[:MAX_VALUES_SHOWN]:
            lab = f" [label {v.label!r}]" if v.label is not None else ""
            if self.is_user_missing(spec.variable, v.value):
                lab += " (declared missing in the file: map it to null, or list it under missing_codes)"
            rows = f"{v.count} row{'s' if v.count != 1 else ''}"
            lines.append(f"{_show(v.value)}{lab}: {rows}, first at row {v.first_row}")
        if len(found) > MAX_VALUES_SHOWN:
            lines.append(
                f"... and {len(found) - MAX_VALUES_SHOWN} more values (all in the error's .problems)"
            )
        total = sum(v.count for v in found)
        head = (
            f"variable {spec.variable!r}: {what} ({len(found)} value{'s' if len(found) != 1 else ''}, "
            f"{total} row{'s' if total != 1 else ''}){hint}:"
        )
        message = "\n".join([head, *[f"      {line}" for line in lines]])
        self.problems.append(Problem(spec.key, message, spec.variable, found))

    def empty_rows(self, spec: VariableSpec, column: str, mask: np.ndarray, what: str) -> None:
        """Report rows where a required column is empty in the file (``what``: "singular|plural")."""
        if not mask.any():
            return
        first, count = int(np.flatnonzero(mask)[0]), int(mask.sum())
        self.problems.append(
            Problem(
                spec.key,
                f"variable {spec.variable!r}: {count} row{'s' if count != 1 else ''} "
                f"{what.split('|')[count != 1]}, first at row "
                f"{self.row(first)}; {column} cannot be missing "
                "(drop such rows with filter.drop, or fix the file)",
                spec.variable,
                (ValueCount(None, None, count, self.row(first)),),
            )
        )


def apply_codebook(
    frame: pd.DataFrame,
    codebook: Codebook | Mapping | str | Path,
    *,
    source: str | None = None,
    row_offset: int | None = None,
    value_labels: Mapping[str, Mapping[Any, str]] | None = None,
) -> pd.DataFrame:
    """The canonical frame of a provider's table under ``codebook``, validated.

    ``frame`` is usually from :func:`read_wave_file`, whose ``attrs`` supply ``source``,
    ``row_offset`` and ``value_labels`` unless they are given here (a frame built in memory
    counts rows from 1 and has no labels). Raises :class:`WaveMismatchError` listing every
    problem, or the :class:`InputError` of :func:`schemas.validate_survey` with the file's row.
    """
    if isinstance(codebook, (str, Path)):
        codebook = load_codebook(codebook)
    elif not isinstance(codebook, Codebook):
        codebook = parse_codebook(codebook)
    attrs = frame.attrs or {}
    source = source or attrs.get("source") or f"{codebook.family} wave"
    row_offset = attrs.get("row_offset", 1) if row_offset is None else row_offset
    labels = value_labels if value_labels is not None else attrs.get("value_labels", {}) or {}
    columns = [str(c) for c in frame.columns]
    if len(set(columns)) != len(columns):
        dup = sorted({c for c in columns if columns.count(c) > 1})
        raise InputError(source, f"the file has repeated variable names {dup}")

    ctx = _Context(
        source,
        np.arange(len(frame)) + row_offset,
        labels,
        codebook.missing,
        attrs.get("user_missing", {}) or {},
    )
    ctx.problems.extend(codebook.deferred)
    missing_vars = [(k, v) for k, v in codebook.referenced_variables() if v not in frame.columns]
    for key, variable in missing_vars:
        ctx.problems.append(
            Problem(
                key,
                f"variable {variable!r} is not in the file{closest_hint(variable, columns, n=3, ask=True)}",
                variable=variable,
            )
        )
    filter_missing = any(k.startswith("filter") for k, _ in missing_vars)
    if filter_missing:  # without the filter, values of rows outside the wave would be misreported
        raise WaveMismatchError(
            source,
            ctx.problems
            + [
                Problem("filter", "values were not checked because the filter could not be applied")
            ],
            codebook.path,
        )

    keep = np.ones(len(frame), dtype=bool)
    for cond in codebook.keep:
        keep &= _condition_mask(frame[cond.variable], cond, labels.get(cond.variable))
    for cond in codebook.drop:
        keep &= ~_condition_mask(frame[cond.variable], cond, labels.get(cond.variable))
    if not keep.any():
        ctx.problems.append(
            Problem("filter", f"no rows of the file's {len(frame)} are left after the filter")
        )
        raise WaveMismatchError(source, ctx.problems, codebook.path)
    data = (
        frame.loc[keep].reset_index(drop=True) if not keep.all() else frame.reset_index(drop=True)
    )
    ctx.rows = ctx.rows[keep]
    n = len(data)
    absent = {v for _, v in missing_vars}

    out: dict[str, Any] = {}
    period_spec = codebook.period_variable  # exactly one of period and period_variable is given
    if codebook.period is not None:
        out["period"] = np.full(n, codebook.period, dtype=object)
    elif period_spec is not None and period_spec.variable not in absent:
        out["period"] = _map_categorical(ctx, period_spec, data, codebook.family)
    for column in codebook.absent:  # what the file lacks: missing for every respondent
        out[column] = np.full(
            n,
            np.nan if column in ALL_ITEMS else None,
            dtype=float if column in ALL_ITEMS else object,
        )
    for column, spec in codebook.variables.items():
        if spec.has_constant:
            out[column] = np.full(n, spec.constant, dtype=float if column == "weight" else object)
        elif spec.variable in absent:
            continue
        elif column in TEXT_COLUMNS:
            out[column] = _map_text(data[spec.variable])
        elif column == "weight":
            out[column] = _map_weight(ctx, spec, data)
        elif spec.from_age:
            out[column] = _map_age(ctx, spec, data)
        else:
            out[column] = _map_categorical(ctx, spec, data, codebook.family)
    # required columns may not be missing (only items may)
    specs: dict[str, VariableSpec | None] = dict(codebook.variables)
    specs["period"] = period_spec
    for column, values in out.items():
        # items and demographics may be missing (unanswered, refused); the design may not
        if column in ALL_ITEMS or column in schemas.LEVELS or column == "weight":
            continue
        _report_missing(ctx, specs.get(column), column, values, data)

    if ctx.problems:
        raise WaveMismatchError(source, ctx.problems, codebook.path)

    canonical = pd.DataFrame({c: out[c] for c in codebook.columns})
    try:
        return schemas.validate_survey(
            canonical, codebook.family, source=source, row_offset=0, items=codebook.items
        )
    except InputError as err:
        if isinstance(err, (CodebookError, WaveMismatchError)):
            raise
        failed = codebook.variables.get(err.column or "")
        detail = err.detail
        if failed is not None and failed.variable is not None:
            detail += f" (from variable {failed.variable!r})"
        row = int(ctx.rows[err.row]) if err.row is not None and 0 <= err.row < n else None
        raise InputError(source, detail, row=row, column=err.column) from None


def _condition_mask(
    raw: pd.Series, cond: Condition, labels: Mapping[Any, str] | None
) -> np.ndarray:
    col = _Column.of(raw, labels)
    hit = np.array(
        [
            _token(u) in cond.tokens or (lab is not None and _token(lab) in cond.tokens)
            for u, lab in zip(col.uniques, col.labels)
        ],
        dtype=bool,
    )
    return np.where(col.codes >= 0, hit[np.maximum(col.codes, 0)] if len(hit) else False, False)


def _map_text(raw: pd.Series) -> np.ndarray:
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    texts = np.array([_text(u) for u in np.asarray(uniques, dtype=object)] + [None], dtype=object)
    return texts[codes]  # code -1 picks the trailing None


def _report_rows(
    ctx: _Context, spec: VariableSpec, raw: pd.Series, mask: np.ndarray, what: str, hint: str = ""
) -> None:
    """Report every distinct value of ``raw`` on the rows of ``mask``."""
    if mask.any():
        pos = np.flatnonzero(mask)
        col = _Column.of(raw.iloc[pos], ctx.value_labels.get(spec.source_variable), positions=pos)
        ctx.unmapped(spec, col, list(range(len(col.uniques))), what, hint)


def _numeric(ctx: _Context, spec: VariableSpec, data: pd.DataFrame) -> np.ndarray:
    """A numeric variable as floats (NaN where empty); values that are not numbers reported."""
    raw = data[spec.variable]
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        arr = raw.to_numpy(dtype=float, na_value=np.nan, copy=True)
        bad = np.isinf(arr)
    else:  # text (CSV) or mixed: convert each distinct value
        codes, uniques = pd.factorize(raw, use_na_sentinel=True)
        nums = []
        for u in np.asarray(uniques, dtype=object):
            tok = _token(u)
            nums.append(
                tok[1] if tok is not None and tok[0] == "n" else (np.nan if tok is None else np.inf)
            )
        arr = np.append(np.array(nums, dtype=float), np.nan)[codes]
        bad = np.isinf(arr)
    _report_rows(ctx, spec, raw, bad, "values that are not numbers")
    arr[bad] = np.nan
    return arr


def _map_weight(ctx: _Context, spec: VariableSpec, data: pd.DataFrame) -> np.ndarray:
    raw = data[spec.variable]
    arr = _numeric(ctx, spec, data)
    ctx.empty_rows(spec, "weight", raw.isna().to_numpy(), "has no weight|have no weight")
    _report_rows(
        ctx, spec, raw, arr <= 0, "weights not above zero", "; drop such rows with filter.drop"
    )
    return arr * spec.scale if spec.scale is not None else arr


def _map_age(ctx: _Context, spec: VariableSpec, data: pd.DataFrame) -> np.ndarray:
    if ctx.missing:  # missing_codes (e.g. -9 refused) leave the age band missing
        variable = spec.source_variable
        col = _Column.of(data[variable], ctx.value_labels.get(variable))
        gone = np.array(
            [ctx.is_missing_code(u, lab) for u, lab in zip(col.uniques, col.labels)] + [False]
        )
        if gone.any():
            data = pd.DataFrame({variable: data[variable].where(~gone[col.codes])})
    ages = _numeric(ctx, spec, data)
    out = np.full(len(ages), None, dtype=object)
    for low, high, label in AGE_BANDS:
        out[(ages >= low) & (ages < high)] = label
    outside = ~np.isnan(ages) & ((ages < 16) | (ages > MAX_AGE))
    _report_rows(
        ctx,
        spec,
        data[spec.variable],
        outside,
        f"ages outside 16 to {MAX_AGE}",
        "; missing-value codes? drop such rows with filter.drop",
    )
    return out


def _default_target(column: str, family: str, token: Token | None, value: Any) -> tuple[bool, Any]:
    """Without a ``values`` entry: is ``value`` already canonical, and as what?"""
    if token is None:
        return False, None
    if column in schemas.LEVELS:
        for level in schemas.LEVELS[column]:
            if _token(level) == token:
                return True, level
        return False, None
    if column == "borough":
        code = _borough_target(value)
        return (code is not None), code
    if column == "period":
        label = _period_label(value)
        return (label is not None), label
    if token[0] == "n" and token[1] in (0.0, 1.0):  # an item already coded 0/1
        return True, token[1]
    return False, None


def _map_categorical(
    ctx: _Context, spec: VariableSpec, data: pd.DataFrame, family: str
) -> np.ndarray:
    variable = spec.source_variable
    col = _Column.of(data[variable], ctx.value_labels.get(variable))
    mapped: list[Any] = []
    bad: list[int] = []
    # a value map is exhaustive: a code it does not list is an error, never passed through as
    # if it were already canonical (a forgotten "1: 0" would otherwise publish raw codes). Only
    # the borough may fall back to names and GSS codes, which are checked against the list.
    exhaustive = spec.values is not None and spec.column != "borough"
    may_be_missing = spec.column in schemas.LEVELS or spec.column in ALL_ITEMS
    for k, (u, label) in enumerate(zip(col.uniques, col.labels)):
        tok, ltok = _token(u), _token(label)
        values = spec.values or {}
        if tok in values:
            mapped.append(values[tok])
        elif ltok is not None and ltok in values:
            mapped.append(values[ltok])
        elif may_be_missing and ctx.is_missing_code(u, label):
            mapped.append(None)
        elif exhaustive:
            mapped.append(None)
            bad.append(k)
        else:
            ok, target = _default_target(spec.column, family, tok, u)
            if not ok and label is not None:
                ok, target = _default_target(spec.column, family, ltok, label)
            mapped.append(target)
            if not ok:
                bad.append(k)
    if spec.values:
        what = "values with no mapping in 'values'"
    elif spec.column == "period":
        what = "values that are not wave labels like 2019/20 or 2019 (add a 'values' map)"
    else:
        what = "values that are not canonical (add a 'values' map)"
    ctx.unmapped(spec, col, bad, what)
    is_item = (
        spec.column not in DESIGN and spec.column not in schemas.LEVELS and spec.column != "period"
    )
    if is_item:
        arr = np.array([np.nan if m is None else float(m) for m in mapped] + [np.nan], dtype=float)
    else:
        arr = np.array(mapped + [None], dtype=object)
    return arr[col.codes]


def _report_missing(
    ctx: _Context, spec: VariableSpec | None, column: str, values: np.ndarray, data: pd.DataFrame
) -> None:
    """Rows of a required column left empty: blank in the file, or a code mapped to null."""
    empty = pd.isna(values)
    if spec is None or spec.variable is None or not empty.any():
        return
    raw = data[spec.variable]
    blank = raw.isna().to_numpy().copy()
    if raw.dtype == object or pd.api.types.is_string_dtype(raw.dtype):
        blank |= raw.astype(str).str.strip().eq("").to_numpy() & raw.notna().to_numpy()
    ctx.empty_rows(spec, column, empty & blank, "is empty|are empty")
    # values already reported (unmapped, out of range) are skipped by ctx.unmapped
    _report_rows(
        ctx,
        spec,
        raw,
        empty & ~blank,
        "values mapped to null",
        f"; {column} cannot be missing (drop such rows with filter.drop)",
    )
