"""Canonical tables: what every source (demo, published files, survey waves) must produce.

Two shapes only:

* **survey microdata**: one row per respondent, with the design (``period``, ``stratum``,
  ``psu``, ``weight``), the borough, demographics coded to the levels below (missing where
  refused, or where the wave lacks the variable), and 0/1 items (missing where unanswered);
* **admin tables**: one row per borough and year with counts (numerators and denominators).
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np
import pandas as pd

from analysis import geography
from analysis.validate import Column, InputError, Schema, validate

__all__ = [
    "ADMIN_COLUMNS",
    "ADMIN_PARTS",
    "BREAKDOWN_LABELS",
    "DENOMINATORS",
    "DESIGN_COLUMNS",
    "FLAGS",
    "LEVELS",
    "METHODS",
    "PERIOD_PATTERN",
    "VALUE_TABLES",
    "Flag",
    "Method",
    "admin_schema",
    "parts_within_wholes",
    "positive_columns",
    "survey_items",
    "survey_schema",
    "validate_admin",
    "validate_survey",
]

# Vocabularies of the estimates table a build writes from these inputs (analysis.estimate):
# a figure's flag ([c] suppressed, [u] low reliability, [x] not available, "" none; see
# analysis.sdc) and how it was made (a direct estimate or a small area model's).
Flag = Literal["", "[c]", "[u]", "[x]"]
Method = Literal["direct", "modelled"]
FLAGS: tuple[Flag, ...] = get_args(Flag)
METHODS: tuple[Method, ...] = get_args(Method)

# Population-group variables and their levels, in display order.
LEVELS: dict[str, tuple[str, ...]] = {
    "age_band": ("16-24", "25-34", "35-44", "45-54", "55-64", "65+"),
    "sex": ("Male", "Female"),
    "ethnic_group": ("White", "Mixed", "Indian", "Pakistani/Bangladeshi", "Black", "Other"),
    "disability": ("Disabled", "Not disabled"),
    "nssec": (
        "Managerial and professional",
        "Intermediate",
        "Routine and manual",
        "Never worked, unemployed or student",
    ),
    "tenure": ("Owner occupier", "Social rent", "Private rent"),
    "econ_status": ("Employed", "Unemployed", "Inactive"),
    "language": ("English", "Other than English"),
}

BREAKDOWN_LABELS: dict[str, str] = {
    "age_band": "Age",
    "sex": "Sex",
    "ethnic_group": "Ethnic group",
    "disability": "Disability",
    "nssec": "Socio-economic class (NS-SEC)",
    "tenure": "Housing tenure",
    "econ_status": "Economic activity",
    "language": "Language spoken at home",
}


def survey_items() -> dict[str, tuple[str, ...]]:
    """Survey family -> its 0/1 items, as the measure registry declares them (each item a
    survey measure reads, under the measure's ``source_family``): see
    :func:`analysis.measures.survey_items`. Read from the registry, never listed here."""
    from analysis import measures  # measures imports this module for LEVELS

    return measures.survey_items()


def __getattr__(name: str) -> dict[str, tuple[str, ...]]:
    """``SURVEY_ITEMS``: the old name of :func:`survey_items`, kept for code written before the
    registry became the one list."""
    if name == "SURVEY_ITEMS":
        return survey_items()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


DESIGN_COLUMNS = ("respondent_id", "period", "stratum", "psu", "weight", "borough")

# Admin tables: counts per borough and year.
ADMIN_COLUMNS: dict[str, tuple[str, ...]] = {
    "population": (
        "population",
        "internal_in",
        "internal_out",
        "international_in",
        "international_out",
    ),
    "electoral": ("electors", "adults"),
    "hate_crime": ("hate_crimes", "population"),
    "gcse": ("pupils", "pupils_achieving"),
    "early_education": ("eligible_children", "children_taking_up"),
    "citizenship": ("ceremony_attendees", "non_nationals"),
    # published values (percentages) for context indicators; aggregates come from the source
    "turnout": ("turnout",),
    "born_abroad": ("born_abroad",),
}
VALUE_TABLES = frozenset({"turnout", "born_abroad"})

# (part, whole) pairs that must satisfy part <= whole
ADMIN_PARTS: dict[str, tuple[tuple[str, str], ...]] = {
    "gcse": (("pupils_achieving", "pupils"),),
    "early_education": (("children_taking_up", "eligible_children"),),
}


def survey_schema(family: str, items: tuple[str, ...] | None = None) -> Schema:
    """Schema of a survey family's canonical microdata."""
    items = survey_items()[family] if items is None else items
    cols = [
        Column("respondent_id", "str"),
        Column("period", "str"),
        Column("stratum", "str"),
        Column("psu", "str"),
        Column("weight", "float", minimum=0, exclusive_minimum=True),
        Column("borough", "code", allowed=frozenset(geography.borough_codes())),
    ]
    # a demographic may be missing: refused or "don't know" for one respondent, or absent from
    # a whole wave whose file lacks the variable. Such respondents count in every estimate
    # except that breakdown's groups, and a wave where no one has a level has no rows for it.
    cols += [
        Column(var, "code", allowed=frozenset(levels), nullable=True)
        for var, levels in LEVELS.items()
    ]
    cols += [Column(item, "float", nullable=True, minimum=0, maximum=1) for item in items]
    return Schema(
        name=f"{family} survey",
        columns=tuple(cols),
        keys=("period", "respondent_id"),
        rules=(_items_binary(items), _period_labels),
    )


PERIOD_PATTERN = r"^\d{4}(/\d{2})?$"  # "2016" or "2016/17"; pooled labels are made by the library


def _period_labels(frame: pd.DataFrame, source: str, row_offset: int) -> None:
    bad = ~frame["period"].astype(str).str.match(PERIOD_PATTERN).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            source,
            f"period {frame['period'].iloc[i]!r} must look like 2016 or 2016/17",
            row=i + row_offset,
            column="period",
        )


def _items_binary(items: tuple[str, ...]):
    def rule(frame: pd.DataFrame, source: str, row_offset: int) -> None:
        for item in items:
            v = frame[item].to_numpy(dtype=float)
            bad = ~np.isnan(v) & (v != 0) & (v != 1)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise InputError(
                    source, f"expected 0 or 1, found {v[i]!r}", row=i + row_offset, column=item
                )

    return rule


def admin_schema(table: str) -> Schema:
    """Schema of one canonical admin table."""
    counts = ADMIN_COLUMNS[table]
    areas = set(geography.borough_codes()) | (
        set(geography.AGGREGATES) if table in VALUE_TABLES else set()
    )
    cols = [
        Column("area_code", "code", allowed=frozenset(areas)),
        Column("year", "int", minimum=1990, maximum=2100),
    ]
    if table in VALUE_TABLES:  # percentages; a borough the source leaves blank stays missing
        cols += [Column(c, "float", minimum=0, maximum=100, nullable=True) for c in counts]
    else:
        cols += [Column(c, "float", minimum=0) for c in counts]
    return Schema(
        name=f"{table} table",
        columns=tuple(cols),
        keys=("area_code", "year"),
        rules=(
            parts_within_wholes(ADMIN_PARTS.get(table, ())),
            positive_columns(DENOMINATORS & set(counts)),
        ),
    )


DENOMINATORS = frozenset({"population", "adults", "pupils", "eligible_children", "non_nationals"})


def parts_within_wholes(pairs):
    """A validation rule: each (part, whole) pair of columns has part <= whole."""

    def rule(frame: pd.DataFrame, source: str, row_offset: int) -> None:
        for part, whole in pairs:
            bad = (frame[part] > frame[whole]).to_numpy()
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise InputError(
                    source,
                    f"{part} ({frame[part].iloc[i]}) exceeds {whole} ({frame[whole].iloc[i]})",
                    row=i + row_offset,
                    column=part,
                )

    return rule


def positive_columns(columns):
    """A validation rule: the named columns (denominators) are above zero."""
    columns = tuple(sorted(columns))

    def rule(frame: pd.DataFrame, source: str, row_offset: int) -> None:
        for col in columns:
            bad = (frame[col] <= 0).to_numpy()
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise InputError(
                    source, "denominator must be positive", row=i + row_offset, column=col
                )

    return rule


def _standardise_areas(
    frame: pd.DataFrame, column: str, source: str, row_offset: int, aggregates_allowed: bool = False
) -> pd.DataFrame:
    if column not in frame.columns or frame[column].isna().all():
        return frame
    codes = geography.standardise_column(
        frame[column], source=source, column=column, row_offset=row_offset
    )
    if not aggregates_allowed and codes.isin(list(geography.AGGREGATES)).any():
        i = int(np.flatnonzero(codes.isin(list(geography.AGGREGATES)).to_numpy())[0])
        raise InputError(
            source,
            f"{frame[column].iloc[i]!r} is an aggregate, not a borough",
            row=i + row_offset,
            column=column,
        )
    out = frame.copy()
    out[column] = codes.where(frame[column].notna())
    return out


def validate_survey(
    frame: pd.DataFrame,
    family: str,
    *,
    source: str | None = None,
    row_offset: int = 2,
    items: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """Validate canonical survey microdata of one family (all items of the family required,
    or ``items``: a file carrying the items of several families).

    Borough names and aliases are accepted and turned into GSS codes first.
    """
    frame = _standardise_areas(frame, "borough", source or f"{family} survey", row_offset)
    checked = validate(
        frame,
        survey_schema(family, items),
        source=source or f"{family} survey",
        row_offset=row_offset,
    )
    for col in ("respondent_id", "period", "stratum", "psu"):
        checked[col] = checked[col].astype(str)
    return checked


def validate_admin(
    frame: pd.DataFrame, table: str, *, source: str | None = None, row_offset: int = 2
) -> pd.DataFrame:
    """Validate one canonical admin table (borough names and aliases become GSS codes)."""
    frame = _standardise_areas(
        frame,
        "area_code",
        source or f"{table} table",
        row_offset,
        aggregates_allowed=table in VALUE_TABLES,
    )
    return validate(
        frame, admin_schema(table), source=source or f"{table} table", row_offset=row_offset
    )
