"""New survey waves from data providers' files, read through a YAML codebook.

Evaluators receive survey microdata under licence as CSV, SPSS (``.sav``/``.zsav``), Stata
(``.dta``) or Parquet files, with the provider's own variable names and codes. A *codebook*
(one small YAML file per wave file) says how that file maps onto the canonical survey schema
of :mod:`analysis.schemas`. Nothing else needs code::

    from analysis import pipeline
    from analysis.sources import waves

    family, frame = waves.load_wave("ukhls_wave9_london.sav", "ukhls_2017-18.yaml")
    inputs = waves.add_waves(pipeline.demo_inputs(), [(family, frame)])

``docs/codebook.md`` has the same description with a complete worked example.

Codebook format
---------------

A YAML mapping with these top-level keys (any other key is an error):

``family`` (required)
    One of the survey families of ``schemas.SURVEY_ITEMS``: ``ukhls``, ``pas``,
    ``taking_part``, ``aps_lfs``, ``hbai_frs``.
``period`` or ``period_variable`` (exactly one)
    ``period`` is the wave label of every row, ``"YYYY/YY"`` (financial or survey year,
    e.g. ``"2019/20"``) or ``"YYYY"`` (calendar year). Quote it. ``period_variable`` names a
    variable holding the wave, either as a name (``period_variable: wave``: its values must
    already be such labels, e.g. ``2019``) or as a mapping
    ``{variable: wave, values: {9: "2017/18", 10: "2018/19"}}``.
``variables`` (required)
    One entry per canonical column: ``respondent_id``, ``stratum``, ``psu``, ``weight``,
    ``borough``, every demographic of ``schemas.LEVELS`` (``age_band``, ``sex``,
    ``ethnic_group``, ``disability``, ``nssec``, ``tenure``, ``econ_status``, ``language``)
    and every item of the family. Every one is required; unknown names are errors. An entry
    is either the source variable's name (``respondent_id: pidp``) or a mapping with:

    ``variable``
        the source variable's name (exact, case-sensitive);
    ``values``
        for ``borough``, the demographics and the items: a map from the file's codes or
        labels to canonical values. Demographics map to a level of ``schemas.LEVELS``, items
        to ``1`` (yes) or ``0`` (no), the borough to a GSS code, name or alias. Any of them
        may map to ``null``, meaning *missing* (e.g. ``-9: null`` for "don't know" or
        refused). Only items may be missing in the canonical frame, so a demographic code
        mapped to ``null`` is reported if any kept row carries it (drop such rows with
        ``filter``). Without ``values``, a value must already be canonical: a level of the
        demographic (case is ignored), ``0``/``1`` for an item, a borough name, alias or GSS
        code for the borough;
    ``from_age: true``
        ``age_band`` only: the variable is age in years, banded 16-24, 25-34, 35-44, 45-54,
        55-64, 65+. Ages under 16 (including negative missing codes) or over 120, and
        values that are not numbers, are reported as errors;
    ``scale``
        ``weight`` only: a positive number the weight is multiplied by (``scale: 0.001``
        for weights stored in thousandths);
    ``constant``
        ``stratum``, ``psu``, ``weight`` or ``borough`` only, instead of ``variable``: the
        value every row takes, for a design variable a file lacks (``stratum: {constant:
        "1"}`` for an unstratified sample; a borough-only survey's GSS code or name);
    ``note``
        free text, ignored (document the source question here).

    ``respondent_id``, ``stratum`` and ``psu`` are taken as text (numbers without a
    trailing ``.0``); ``weight`` must be a number above zero.
``filter`` (optional)
    Which rows of the file belong to the wave, applied before anything else (so values in
    dropped rows need no mapping): ``keep`` and/or ``drop``, each one condition or a list of
    conditions ``{variable: NAME, values: [CODES OR LABELS]}``. A row is kept when it meets
    every ``keep`` condition and no ``drop`` condition (an empty value meets no condition),
    e.g. London only, without the rows that have no cross-sectional weight::

        filter:
          keep: {variable: gor_dv, values: [7]}
          drop: {variable: indinub_xw, values: [0]}
``description`` (optional)
    Free text: the provider, file, licence and so on.

Codes, labels and matching
--------------------------

A key of a ``values`` map (or an entry of a filter's ``values``) matches a value of the file
when both are numbers and equal (``1``, ``1.0`` and the text ``"1"`` are the same), or when
both are text and equal ignoring case and surrounding or repeated spaces. Empty cells and
system-missing values are always missing and need no entry.

SPSS and Stata files are read as their **numeric codes**; their value labels are kept in
``frame.attrs["value_labels"]`` (``{variable: {code: label}}``). **Each value is looked up
by its code first and, only if the code has no entry, by its value label.** So a codebook
may use codes, labels or both, and a codebook written with labels also fits a CSV export
that carries the label text. SPSS user-missing declarations are *not* applied: codes such as
``-9`` reach the codebook as ``-9``, which decides what is missing (``-9: null``); the
codebook, not the file's metadata, is the single statement of the mapping. Stata's own
missing values (``.``, ``.a``-``.z``) are missing.

The borough is looked up in ``values`` (code, then label) and, failing that, the code and
then its label are resolved with :func:`analysis.geography.to_code` (names, aliases, slugs,
GSS codes). Old ONS codes (``00AG``) or a provider's numeric codes without labels need a
``values`` map.

YAML notes: this module reads YAML 1.2-style booleans, so ``yes``, ``no``, ``on`` and
``off`` stay text (only ``true``/``false`` are booleans); a key repeated in one mapping is an
error, not silently overwritten. Quote period labels.

Errors
------

:func:`load_codebook` checks the YAML itself (unknown keys, unknown canonical columns,
missing entries, values mapped to non-canonical levels, period labels) and raises one
:class:`CodebookError` naming the codebook file and listing every problem with its key.

:func:`apply_codebook` checks the codebook against the file and raises one
:class:`WaveMismatchError` listing *every* problem: each variable the codebook names that is
not in the file (with close names), and for each column each value present in the kept rows
that has no mapping, with its label, its number of rows and the first row where it appears;
ages out of range, weights that are not positive or not numbers, and required columns left
empty. Both errors carry the list in ``.problems``. Rows are numbered as the user sees
them: CSV rows by line (the header is row 1), other formats by record from 1. Only when the
codebook fits is the canonical frame checked with :func:`schemas.validate_survey`, whose
error is re-raised with the file's row number.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml

from analysis import geography, schemas
from analysis.validate import InputError

if TYPE_CHECKING:  # pipeline is only needed for the annotation of add_waves
    from analysis.pipeline import Inputs

# ---------------------------------------------------------------------------------------
# Constants

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

PERIOD_PATTERN = re.compile(r"\d{4}(/\d{2})?")

TOP_KEYS = ("survey", "family", "period", "period_variable", "follows", "variables", "absent", "missing_codes",
            "filter", "description")
FILTER_KEYS = ("keep", "drop")
CONDITION_KEYS = ("variable", "values")
SPEC_KEYS = ("variable", "values", "from_age", "scale", "constant", "note")
TEXT_COLUMNS = ("respondent_id", "stratum", "psu")
CONSTANT_ALLOWED = ("stratum", "psu", "weight", "borough")
DESIGN = ("respondent_id", "stratum", "psu", "weight", "borough")
# design columns that may read the same source variable (a borough that is the stratum; one
# respondent per household, whose identifier is the PSU); any other pair sharing a variable
# is a copy-and-paste slip
SHAREABLE = frozenset({"respondent_id", "stratum", "psu", "borough"})
ALL_ITEMS: dict[str, str] = {item: family for family, items in schemas.SURVEY_ITEMS.items() for item in items}

READERS = {".csv": "csv", ".csv.gz": "csv", ".sav": "sav", ".zsav": "sav", ".dta": "dta",
           ".parquet": "parquet", ".pq": "parquet"}

# list at most this many unmapped values per variable in the message (all are in .problems)
MAX_VALUES_SHOWN = 100


# ---------------------------------------------------------------------------------------
# Errors


@dataclass(frozen=True)
class ValueCount:
    """A value found in the file: its label, how many kept rows carry it and the first of them."""

    value: Any
    label: str | None
    count: int
    first_row: int  # as the user counts rows (see the module docstring)


@dataclass(frozen=True)
class Problem:
    """One problem found in a codebook or between a codebook and its file."""

    key: str  # codebook key, e.g. "variables.sex" or "filter.keep[0]"
    message: str
    variable: str | None = None  # the source variable, where there is one
    values: tuple[ValueCount, ...] = ()  # every offending value, where values are the problem

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


def _problem_message(header: str, problems: list[Problem]) -> str:
    if len(problems) == 1 and "\n" not in str(problems[0]):
        return f"{header}: {problems[0]}"
    lines = [f"{header} ({len(problems)} problem{'s' if len(problems) != 1 else ''}):"]
    lines += [f"  - {p}" for p in problems]
    return "\n".join(lines)


class CodebookError(InputError):
    """The codebook YAML itself is wrong; ``problems`` lists every problem found."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(source, _problem_message("invalid codebook", self.problems))


class WaveMismatchError(InputError):
    """A codebook does not fit its data file; ``problems`` lists every problem found."""

    def __init__(self, source: str, problems: list[Problem], codebook: str | None = None) -> None:
        self.problems = list(problems)
        what = f"the codebook {codebook!r}" if codebook else "the codebook"
        super().__init__(source, _problem_message(f"{what} does not fit this file", self.problems))


# ---------------------------------------------------------------------------------------
# Matching values: numbers as numbers, text ignoring case and spacing

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")

Token = tuple[str, Any]


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _token(value: Any) -> Token | None:
    """Comparison key of a code, label or YAML key; None for a missing value."""
    if _is_missing(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return ("n", float(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        return ("n", float(value))
    text = " ".join(str(value).split())
    if not text:
        return None
    if _NUMBER.fullmatch(text):
        return ("n", float(text))
    return ("s", text.casefold())


def _text(value: Any) -> str | None:
    """A value as text for an identifier column: numbers without a trailing '.0'."""
    if _is_missing(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if math.isfinite(f) and f == round(f) and abs(f) < 2**63:
            return str(int(f))
        return repr(f)
    text = str(value).strip()
    return text or None


def _show(value: Any) -> str:
    """A file value as a message shows it (1.0 from SPSS as 1)."""
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and value == round(value):
        return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        return value.strip()  # a code in a text file (CSV): shown as the number it is
    return repr(str(value)) if isinstance(value, str) else repr(value)


def _closest(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=3, cutoff=0.6)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


# ---------------------------------------------------------------------------------------
# The codebook


@dataclass(frozen=True)
class VariableSpec:
    """How one canonical column comes from the file."""

    column: str
    variable: str | None = None
    values: dict[Token, Any] | None = None  # token of a code or label -> canonical value
    from_age: bool = False
    scale: float | None = None
    constant: Any = None
    has_constant: bool = False

    @property
    def key(self) -> str:
        return "period_variable" if self.column == "period" else f"variables.{self.column}"


@dataclass(frozen=True)
class Condition:
    """A filter condition: the variable's value (code or label) is one of ``tokens``."""

    key: str
    variable: str
    tokens: frozenset


@dataclass(frozen=True)
class Codebook:
    """A validated codebook (see the module docstring).

    ``families`` are the survey families whose items the file carries (every item of each is
    either mapped in ``variables`` or listed in ``absent``); ``family`` is the first of them.
    """

    family: str
    variables: dict[str, VariableSpec]
    period: str | None = None
    period_variable: VariableSpec | None = None
    keep: tuple[Condition, ...] = ()
    drop: tuple[Condition, ...] = ()
    description: str | None = None
    path: str = "codebook"
    survey: str | None = None
    families: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    missing: frozenset = frozenset()  # tokens of missing_codes
    follows: str | None = None

    @property
    def items(self) -> tuple[str, ...]:
        """Every item of the codebook's families, mapped or absent, in registry order."""
        return tuple(i for f in (self.families or (self.family,)) for i in schemas.SURVEY_ITEMS[f])

    @property
    def columns(self) -> tuple[str, ...]:
        """Columns of the canonical frame this codebook produces, in order."""
        return (*schemas.DESIGN_COLUMNS, *schemas.LEVELS, *self.items)

    @property
    def name(self) -> str:
        """The survey's name as the estimates' source column gives it."""
        return self.survey or self.description or Path(self.path).stem

    def referenced_variables(self) -> list[tuple[str, str]]:
        """(codebook key, source variable) for every variable the codebook reads."""
        refs = [(c.key, c.variable) for c in (*self.keep, *self.drop)]
        if self.period_variable is not None:
            refs.append(("period_variable", self.period_variable.variable))
        refs += [(s.key, s.variable) for s in self.variables.values() if s.variable is not None]
        return refs


def canonical_columns(family: str) -> tuple[str, ...]:
    """Columns of the canonical frame of ``family``, in order."""
    return (*schemas.DESIGN_COLUMNS, *schemas.LEVELS, *schemas.SURVEY_ITEMS[family])


class _Loader(yaml.SafeLoader):
    """Safe YAML with YAML 1.2 booleans (yes/no/on/off stay text) and no duplicate keys."""

    def construct_mapping(self, node, deep=False):  # noqa: D102
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                continue
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"found duplicate key {key!r}", key_node.start_mark)
            seen[key] = True
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def load_codebook(path: str | Path) -> Codebook:
    """Read and validate a codebook YAML file (raises :class:`CodebookError`)."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(source, "codebook file not found") from None
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        raise CodebookError(source, [Problem("(yaml)", f"{where}{problem}")]) from None
    return parse_codebook(data, source=source)


def parse_codebook(data: Any, *, source: str = "codebook") -> Codebook:
    """Validate a codebook already read into Python objects (e.g. a dict in a test)."""
    problems: list[Problem] = []

    def bad(key: str, message: str) -> None:
        problems.append(Problem(key, message))

    if not isinstance(data, Mapping):
        raise CodebookError(source, [Problem("(top)", f"expected a mapping of keys, found {type(data).__name__}")])
    for key in data:
        if key not in TOP_KEYS:
            bad(str(key), f"unknown key{_closest(key, TOP_KEYS)}; allowed: {list(TOP_KEYS)}")

    family = data.get("family")
    if family is not None and family not in schemas.SURVEY_ITEMS:
        bad("family", f"unknown survey family {family!r}{_closest(family, schemas.SURVEY_ITEMS)}; "
                      f"one of {list(schemas.SURVEY_ITEMS)}")
        family = None
    survey_name = data.get("survey")
    if survey_name is not None and (not isinstance(survey_name, str) or not survey_name.strip()):
        bad("survey", "expected the survey's name as text")
        survey_name = None
    if "family" not in data and "survey" not in data:
        bad("survey", "required: the survey's name, e.g. survey: London Survey of Social Integration")

    period = data.get("period")
    period_variable = None
    if ("period" in data) == ("period_variable" in data):
        bad("period", "give exactly one of 'period' (the wave label) and 'period_variable'")
    if "period" in data:
        period = _period_label(period)
        if period is None:
            bad("period", f"{data.get('period')!r} is not a wave label like \"2019/20\" or \"2019\" (quote it)")
    if "period_variable" in data:
        period_variable = _parse_spec("period", data["period_variable"], bad)
    follows = None
    if "follows" in data:
        follows = _period_label(data["follows"])
        if follows is None:
            bad("follows", f"{data['follows']!r} is not a wave label like \"2018/19\" or \"2019\" (quote it)")

    absent = _parse_absent(data.get("absent"), data.get("variables"), bad) if "absent" in data else []
    missing: set = set()
    if "missing_codes" in data:
        raw_missing = data["missing_codes"]
        raw_missing = raw_missing if isinstance(raw_missing, list) else [raw_missing]
        for i, code in enumerate(raw_missing):
            token = None if isinstance(code, bool) or not isinstance(code, (str, int, float)) else _token(code)
            if token is None:
                bad(f"missing_codes[{i}]", f"expected a code or label (a number or text), found {code!r}")
            else:
                missing.add(token)

    variables: dict[str, VariableSpec] = {}
    raw_vars = data.get("variables")
    if raw_vars is None:
        bad("variables", "required: one entry per canonical column")
    elif not isinstance(raw_vars, Mapping):
        bad("variables", f"expected a mapping of canonical column to source variable, found {type(raw_vars).__name__}")
    else:
        known = (*DESIGN, *schemas.LEVELS, *ALL_ITEMS)
        for column, spec in raw_vars.items():
            key = f"variables.{column}"
            if column == "period":
                bad(key, "the period is given by the top-level 'period' or 'period_variable'")
            elif column not in known:
                bad(key, f"unknown canonical column{_closest(column, known)}; design {list(DESIGN)}, "
                         f"demographics {list(schemas.LEVELS)} or survey items {sorted(ALL_ITEMS)}")
            elif spec is None and column not in DESIGN:
                bad(key, f"no variable given; if the file has no {column}, list it under 'absent' instead")
            else:
                parsed = _parse_spec(str(column), spec, bad)
                if parsed is not None:
                    variables[str(column)] = parsed
        _check_shared_variables(variables, bad)
    families = _families(family, raw_vars if isinstance(raw_vars, Mapping) else {}, absent)
    if isinstance(raw_vars, Mapping):
        covered = set(raw_vars) | set(absent)
        needed = [c for c in (*DESIGN, *schemas.LEVELS) if c not in covered]
        needed += [i for f in families for i in schemas.SURVEY_ITEMS[f] if i not in covered]
        if needed:
            bad("variables", f"no entry for {needed}: map each to the file's variable, or list what the file "
                             "lacks under 'absent' (design columns cannot be absent)")
        if not any(c in ALL_ITEMS for c in raw_vars):
            bad("variables", "no survey item is mapped: a wave needs at least one item of a measure")

    keep: list[Condition] = []
    drop: list[Condition] = []
    raw_filter = data.get("filter")
    if raw_filter is not None:
        if not isinstance(raw_filter, Mapping):
            bad("filter", "expected a mapping with 'keep' and/or 'drop'")
        else:
            for key in raw_filter:
                if key not in FILTER_KEYS:
                    bad(f"filter.{key}", f"unknown key{_closest(key, FILTER_KEYS)}; allowed: {list(FILTER_KEYS)}")
            for which, out in (("keep", keep), ("drop", drop)):
                if which in raw_filter:
                    out += _parse_conditions(f"filter.{which}", raw_filter[which], bad)

    description = data.get("description")
    if description is not None and not isinstance(description, str):
        bad("description", "expected text")

    if problems:
        raise CodebookError(source, problems)
    columns = (*schemas.DESIGN_COLUMNS, *schemas.LEVELS, *(i for f in families for i in schemas.SURVEY_ITEMS[f]))
    ordered = {c: variables[c] for c in columns if c in variables}
    return Codebook(family=families[0], variables=ordered, period=period, period_variable=period_variable,
                    keep=tuple(keep), drop=tuple(drop), description=description, path=source,
                    survey=survey_name.strip() if survey_name else None, families=families,
                    absent=tuple(c for c in columns if c in absent), missing=frozenset(missing), follows=follows)


def _families(family: str | None, raw_vars: Mapping, absent: list[str]) -> tuple[str, ...]:
    """The families whose items the codebook maps or declares absent (and ``family``), in
    registry order: the measures of each are estimated from this file."""
    touched = {ALL_ITEMS[c] for c in (*raw_vars, *absent) if c in ALL_ITEMS}
    if family:
        touched.add(family)
    return tuple(f for f in schemas.SURVEY_ITEMS if f in touched)


def _parse_absent(raw: Any, raw_vars: Any, bad) -> list[str]:
    """The ``absent`` list: demographics and items the file does not have."""
    items = raw if isinstance(raw, list) else [raw]
    out: list[str] = []
    allowed = (*schemas.LEVELS, *ALL_ITEMS)
    for i, name in enumerate(items):
        key = f"absent[{i}]"
        if not isinstance(name, str):
            bad(key, f"expected a demographic or item name, found {name!r}")
        elif name in DESIGN:
            bad(key, f"{name!r} is a design column and cannot be absent (a constant may stand in: "
                     f"{name}: {{constant: ...}})" if name != "respondent_id" else
                     "'respondent_id' cannot be absent: every respondent needs an identifier")
        elif name not in allowed:
            bad(key, f"unknown demographic or item {name!r}{_closest(name, allowed)}")
        elif isinstance(raw_vars, Mapping) and name in raw_vars:
            bad(key, f"{name!r} is both mapped in 'variables' and listed as absent")
        elif name in out:
            bad(key, f"{name!r} is listed twice")
        else:
            out.append(name)
    return out


def _check_shared_variables(variables: dict[str, VariableSpec], bad) -> None:
    """Two columns reading one source variable are reported, except design columns that may
    legitimately share one (see SHAREABLE)."""
    readers: dict[str, list[str]] = {}
    for column, spec in variables.items():
        if spec.variable is not None:
            readers.setdefault(spec.variable, []).append(column)
    for variable, columns in readers.items():
        if len(columns) > 1 and not set(columns) <= SHAREABLE:
            bad("variables." + columns[1], f"reads the same variable {variable!r} as "
                + ", ".join(f"variables.{c}" for c in columns if c != columns[1])
                + "; each demographic and item needs its own variable (a copy-and-paste slip?)")


def _period_label(value: Any) -> str | None:
    """A valid wave label ('2016/17' or '2016') from a YAML value or file value, else None.

    A survey year spans two consecutive years, so '2016/18' is not a label."""
    text = _text(value)
    if text is None or not PERIOD_PATTERN.fullmatch(text):
        return None
    if "/" in text and int(text[5:]) != (int(text[:4]) + 1) % 100:
        return None
    return text


def _parse_spec(column: str, spec: Any, bad) -> VariableSpec | None:
    key = "period_variable" if column == "period" else f"variables.{column}"
    if isinstance(spec, str):
        spec = {"variable": spec}
    if not isinstance(spec, Mapping):
        bad(key, f"expected a variable name or a mapping with 'variable', found {spec!r}")
        return None
    is_item = column not in DESIGN and column not in schemas.LEVELS and column != "period"
    allowed = ["variable", "note"]
    if column in ("borough", "period", *schemas.LEVELS) or is_item:
        allowed.append("values")
    if column == "age_band":
        allowed.append("from_age")
    if column == "weight":
        allowed.append("scale")
    if column in CONSTANT_ALLOWED:
        allowed.append("constant")
    ok = True
    for k in spec:
        if k not in allowed:
            ok = False
            if k in SPEC_KEYS:
                bad(f"{key}.{k}", f"not allowed for {column!r}; allowed keys: {allowed}")
            else:
                bad(f"{key}.{k}", f"unknown key{_closest(k, SPEC_KEYS)}; allowed keys: {allowed}")
    has_constant = "constant" in spec
    variable = spec.get("variable")
    if has_constant and "variable" in spec:
        bad(key, "give either 'variable' or 'constant', not both")
        ok = False
    elif not has_constant:
        if not isinstance(variable, str) or not variable.strip():
            bad(f"{key}.variable", "required: the source variable's name")
            ok = False
    if has_constant and ("values" in spec or "scale" in spec):
        bad(key, "'constant' takes no 'values' or 'scale'")
        ok = False

    constant = None
    if has_constant and column in CONSTANT_ALLOWED:
        constant = _parse_constant(column, spec["constant"], key, bad)
        ok = ok and constant is not None

    from_age = spec.get("from_age", False)
    if "from_age" in spec and not isinstance(from_age, bool):
        bad(f"{key}.from_age", "expected true or false")
        ok = False
    if from_age and "values" in spec:
        bad(key, "'from_age: true' bands the ages itself; remove 'values'")
        ok = False

    scale = spec.get("scale")
    if scale is not None:
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale) or scale <= 0:
            bad(f"{key}.scale", f"expected a positive number, found {scale!r}")
            ok = False

    values = None
    if "values" in spec and "values" in allowed:
        values = _parse_values(column, spec["values"], f"{key}.values", bad)
        ok = ok and values is not None
    if column == "period" and values is None and "values" in spec:
        ok = False
    if not ok:
        return None
    return VariableSpec(column=column, variable=None if has_constant else variable.strip(), values=values,
                        from_age=bool(from_age), scale=None if scale is None else float(scale),
                        constant=constant, has_constant=has_constant)


def _parse_constant(column: str, value: Any, key: str, bad) -> Any:
    if column == "weight":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            bad(f"{key}.constant", f"a constant weight must be a number above zero, found {value!r}")
            return None
        return float(value)
    if column == "borough":
        code = _borough_target(value)
        if code is None:
            bad(f"{key}.constant", f"{value!r} is not a London borough name, alias or GSS code")
        return code
    text = _text(value)
    if text is None:
        bad(f"{key}.constant", "expected a code (text or number)")
    return text


def _borough_target(value: Any) -> str | None:
    if _is_missing(value):
        return None
    try:
        return geography.to_code(str(value), allow_aggregates=False)
    except geography.UnknownAreaError:
        return None


def _parse_values(column: str, raw: Any, key: str, bad) -> dict[Token, Any] | None:
    if not isinstance(raw, Mapping) or not raw:
        bad(key, "expected a non-empty mapping of the file's codes or labels to canonical values")
        return None
    out: dict[Token, Any] = {}
    first_key: dict[Token, Any] = {}
    ok = True
    for source_value, target in raw.items():
        where = f"{key}[{source_value!r}]"
        if isinstance(source_value, bool):
            bad(where, "a boolean is not a code; quote it if it is a label")
            ok = False
            continue
        if not isinstance(source_value, (str, int, float)):
            bad(where, "a code or label must be a number or text")
            ok = False
            continue
        token = _token(source_value)
        if token is None:
            bad(where, "empty and system-missing values are always missing; no entry is needed")
            ok = False
            continue
        if token in out:
            bad(where, f"the same code or label as {first_key[token]!r}")
            ok = False
            continue
        canonical, message = _canonical_target(column, target)
        if message:
            bad(where, message)
            ok = False
            continue
        out[token] = canonical
        first_key[token] = source_value
    return out if ok else None


def _canonical_target(column: str, target: Any) -> tuple[Any, str | None]:
    """(canonical value, None) or (None, what is wrong with ``target``)."""
    if column == "period":
        label = _period_label(target)
        if label is None:
            return None, f"{target!r} is not a wave label like \"2019/20\" or \"2019\""
        return label, None
    if target is None:
        return None, None
    if column in schemas.LEVELS:
        levels = schemas.LEVELS[column]
        if target not in levels:
            return None, (f"{target!r} is not a level of {column}{_closest(target, levels)}; "
                          f"levels: {list(levels)} (or null for missing)")
        return target, None
    if column == "borough":
        code = _borough_target(target)
        if code is None:
            return None, f"{target!r} is not a London borough name, alias or GSS code"
        return code, None
    # an item
    if isinstance(target, bool) or not isinstance(target, (int, float)) or target not in (0, 1):
        return None, f"an item maps to 1 (yes), 0 (no) or null (missing), not {target!r}"
    return float(target), None


def _parse_conditions(key: str, raw: Any, bad) -> list[Condition]:
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for i, cond in enumerate(items):
        where = f"{key}[{i}]" if isinstance(raw, list) else key
        if not isinstance(cond, Mapping):
            bad(where, "expected {variable: NAME, values: [CODES OR LABELS]}")
            continue
        unknown = [k for k in cond if k not in CONDITION_KEYS]
        for k in unknown:
            bad(f"{where}.{k}", f"unknown key{_closest(k, CONDITION_KEYS)}; allowed: {list(CONDITION_KEYS)}")
        variable = cond.get("variable")
        if not isinstance(variable, str) or not variable.strip():
            bad(f"{where}.variable", "required: the source variable's name")
            continue
        values = cond.get("values")
        if not isinstance(values, list):
            values = [values] if values is not None else []
        tokens = {_token(v) for v in values if not isinstance(v, bool)}
        if not values or None in tokens or any(isinstance(v, bool) for v in values):
            bad(f"{where}.values", "required: a list of codes or labels (numbers or text)")
            continue
        if not unknown:
            out.append(Condition(where, variable.strip(), frozenset(tokens)))
    return out


# ---------------------------------------------------------------------------------------
# Reading files


def _reader_kind(path: Path) -> str | None:
    name = path.name.lower()
    for ext in sorted(READERS, key=len, reverse=True):
        if name.endswith(ext):
            return READERS[ext]
    return None


def read_wave_file(path: str | Path, *, encoding: str = "utf-8-sig") -> pd.DataFrame:
    """Read a provider's file, chosen by extension: .csv (.csv.gz), .sav/.zsav, .dta, .parquet/.pq.

    CSV cells are read as text (identifiers keep leading zeros; empty cells are missing).
    SPSS and Stata files are read as numeric codes, SPSS user-missing codes kept as they
    are. The result's ``attrs`` hold ``source`` (the path), ``format``, ``row_offset``
    (added to a 0-based position to give the row a user sees: 2 for CSV, whose header is
    row 1; 1 for other formats), ``value_labels`` (``{variable: {code: label}}``, empty for
    CSV and Parquet) and ``variable_labels``.
    """
    path = Path(path)
    source = str(path)
    kind = _reader_kind(path)
    if kind is None:
        raise InputError(source, f"unsupported file type {''.join(path.suffixes) or '(none)'!r}; "
                                 f"expected one of {sorted(READERS)}")
    if not path.is_file():
        raise InputError(source, "data file not found")
    value_labels: dict[str, dict[Any, str]] = {}
    variable_labels: dict[str, str] = {}
    user_missing: dict[str, list[tuple[float, float]]] = {}
    try:
        if kind == "csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding=encoding)
        elif kind == "parquet":
            frame = pd.read_parquet(path)
            for col in frame.columns:
                if isinstance(frame[col].dtype, pd.CategoricalDtype):
                    frame[col] = frame[col].astype(object)
        else:
            import pyreadstat

            if kind == "sav":
                frame, meta = pyreadstat.read_sav(str(path), apply_value_formats=False, user_missing=True)
            else:
                frame, meta = pyreadstat.read_dta(str(path), apply_value_formats=False)
            value_labels = {v: dict(labels) for v, labels in (meta.variable_value_labels or {}).items()}
            user_missing = {v: [(float(r["lo"]), float(r["hi"])) for r in ranges]
                            for v, ranges in (getattr(meta, "missing_ranges", None) or {}).items()
                            if all(isinstance(r.get("lo"), (int, float)) for r in ranges)}
            variable_labels = dict(zip(meta.column_names, meta.column_labels or []))
    except UnicodeDecodeError as err:
        raise InputError(source, f"cannot decode the file as {encoding}: {err}; "
                                 "pass encoding= (e.g. 'cp1252')") from None
    except (InputError, MemoryError):
        raise
    except Exception as err:  # noqa: BLE001 - readers raise many types; name the file
        raise InputError(source, f"cannot read the {kind} file: {err}") from None
    frame.attrs.update(source=source, format=kind, row_offset=2 if kind == "csv" else 1,
                       value_labels=value_labels, variable_labels=variable_labels, user_missing=user_missing)
    return frame


# ---------------------------------------------------------------------------------------
# Applying a codebook


@dataclass
class _Column:
    """One source variable factorised: distinct values, their codes per row, their labels."""

    codes: np.ndarray  # per row: index into uniques, -1 where empty
    uniques: list[Any]
    labels: list[str | None]
    first: np.ndarray  # per unique: position (in the kept rows) of its first row
    counts: np.ndarray  # per unique: rows carrying it

    @classmethod
    def of(cls, raw: pd.Series, labels: Mapping[Any, str] | None,
           positions: np.ndarray | None = None) -> "_Column":
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
    user_missing: Mapping[str, list[tuple[float, float]]] = field(default_factory=dict)  # SPSS declarations
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
        return bool(self.missing) and (_token(value) in self.missing
                                       or (label is not None and _token(label) in self.missing))

    def unmapped(self, spec: VariableSpec, col: _Column, bad: list[int], what: str, hint: str = "") -> None:
        """Report the distinct values ``bad`` (indices into col.uniques) of one variable."""
        bad = [k for k in bad if (spec.variable, _token(col.uniques[k])) not in self.reported]
        if not bad:
            return
        bad.sort(key=lambda k: col.first[k])
        found = tuple(ValueCount(col.uniques[k], col.labels[k], int(col.counts[k]), self.row(col.first[k]))
                      for k in bad)
        self.reported.update((spec.variable, _token(col.uniques[k])) for k in bad)
        lines = []
        for v in found[:MAX_VALUES_SHOWN]:
            lab = f" [label {v.label!r}]" if v.label is not None else ""
            if self.is_user_missing(spec.variable, v.value):
                lab += " (declared missing in the file: map it to null, or list it under missing_codes)"
            rows = f"{v.count} row{'s' if v.count != 1 else ''}"
            lines.append(f"{_show(v.value)}{lab}: {rows}, first at row {v.first_row}")
        if len(found) > MAX_VALUES_SHOWN:
            lines.append(f"... and {len(found) - MAX_VALUES_SHOWN} more values (all in the error's .problems)")
        total = sum(v.count for v in found)
        head = (f"variable {spec.variable!r}: {what} ({len(found)} value{'s' if len(found) != 1 else ''}, "
                f"{total} row{'s' if total != 1 else ''}){hint}:")
        message = "\n".join([head, *[f"      {line}" for line in lines]])
        self.problems.append(Problem(spec.key, message, spec.variable, found))

    def empty_rows(self, spec: VariableSpec, column: str, mask: np.ndarray, what: str) -> None:
        """Report rows where a required column is empty in the file (``what``: "singular|plural")."""
        if not mask.any():
            return
        first, count = int(np.flatnonzero(mask)[0]), int(mask.sum())
        self.problems.append(Problem(
            spec.key, f"variable {spec.variable!r}: {count} row{'s' if count != 1 else ''} "
                      f"{what.split('|')[count != 1]}, first at row "
                      f"{self.row(first)}; {column} cannot be missing "
                      "(drop such rows with filter.drop, or fix the file)",
            spec.variable, (ValueCount(None, None, count, self.row(first)),)))


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

    ctx = _Context(source, np.arange(len(frame)) + row_offset, labels, codebook.missing,
                   attrs.get("user_missing", {}) or {})
    missing_vars = [(k, v) for k, v in codebook.referenced_variables() if v not in frame.columns]
    for key, variable in missing_vars:
        ctx.problems.append(Problem(key, f"variable {variable!r} is not in the file{_closest(variable, columns)}",
                                    variable=variable))
    filter_missing = any(k.startswith("filter") for k, _ in missing_vars)
    if filter_missing:  # without the filter, values of rows outside the wave would be misreported
        raise WaveMismatchError(source, ctx.problems + [Problem(
            "filter", "values were not checked because the filter could not be applied")], codebook.path)

    keep = np.ones(len(frame), dtype=bool)
    for cond in codebook.keep:
        keep &= _condition_mask(frame[cond.variable], cond, labels.get(cond.variable))
    for cond in codebook.drop:
        keep &= ~_condition_mask(frame[cond.variable], cond, labels.get(cond.variable))
    if not keep.any():
        ctx.problems.append(Problem("filter", f"no rows of the file's {len(frame)} are left after the filter"))
        raise WaveMismatchError(source, ctx.problems, codebook.path)
    data = frame.loc[keep].reset_index(drop=True) if not keep.all() else frame.reset_index(drop=True)
    ctx.rows = ctx.rows[keep]
    n = len(data)
    absent = {v for _, v in missing_vars}

    out: dict[str, Any] = {}
    if codebook.period is not None:
        out["period"] = np.full(n, codebook.period, dtype=object)
    elif codebook.period_variable.variable not in absent:
        out["period"] = _map_categorical(ctx, codebook.period_variable, data, codebook.family)
    for column in codebook.absent:  # what the file lacks: missing for every respondent
        out[column] = np.full(n, np.nan if column in ALL_ITEMS else None, dtype=float if column in ALL_ITEMS
                              else object)
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
    specs = {**codebook.variables, "period": codebook.period_variable}
    for column, values in out.items():
        # items and demographics may be missing (unanswered, refused); the design may not
        if column in ALL_ITEMS or column in schemas.LEVELS or column == "weight":
            continue
        _report_missing(ctx, specs.get(column), column, values, data)

    if ctx.problems:
        raise WaveMismatchError(source, ctx.problems, codebook.path)

    canonical = pd.DataFrame({c: out[c] for c in codebook.columns})
    try:
        return schemas.validate_survey(canonical, codebook.family, source=source, row_offset=0,
                                       items=codebook.items)
    except InputError as err:
        if isinstance(err, (CodebookError, WaveMismatchError)):
            raise
        spec = codebook.variables.get(err.column or "")
        detail = err.detail
        if spec is not None and spec.variable is not None:
            detail += f" (from variable {spec.variable!r})"
        row = int(ctx.rows[err.row]) if err.row is not None and 0 <= err.row < n else None
        raise InputError(source, detail, row=row, column=err.column) from None


def _condition_mask(raw: pd.Series, cond: Condition, labels: Mapping[Any, str] | None) -> np.ndarray:
    col = _Column.of(raw, labels)
    hit = np.array([_token(u) in cond.tokens or (lab is not None and _token(lab) in cond.tokens)
                    for u, lab in zip(col.uniques, col.labels)], dtype=bool)
    return np.where(col.codes >= 0, hit[np.maximum(col.codes, 0)] if len(hit) else False, False)


def _map_text(raw: pd.Series) -> np.ndarray:
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    texts = np.array([_text(u) for u in np.asarray(uniques, dtype=object)] + [None], dtype=object)
    return texts[codes]  # code -1 picks the trailing None


def _report_rows(ctx: _Context, spec: VariableSpec, raw: pd.Series, mask: np.ndarray, what: str,
                 hint: str = "") -> None:
    """Report every distinct value of ``raw`` on the rows of ``mask``."""
    if mask.any():
        pos = np.flatnonzero(mask)
        col = _Column.of(raw.iloc[pos], ctx.value_labels.get(spec.variable), positions=pos)
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
            nums.append(tok[1] if tok is not None and tok[0] == "n" else (np.nan if tok is None else np.inf))
        arr = np.append(np.array(nums, dtype=float), np.nan)[codes]
        bad = np.isinf(arr)
    _report_rows(ctx, spec, raw, bad, "values that are not numbers")
    arr[bad] = np.nan
    return arr


def _map_weight(ctx: _Context, spec: VariableSpec, data: pd.DataFrame) -> np.ndarray:
    raw = data[spec.variable]
    arr = _numeric(ctx, spec, data)
    ctx.empty_rows(spec, "weight", raw.isna().to_numpy(), "has no weight|have no weight")
    _report_rows(ctx, spec, raw, arr <= 0, "weights not above zero", "; drop such rows with filter.drop")
    return arr * spec.scale if spec.scale is not None else arr


def _map_age(ctx: _Context, spec: VariableSpec, data: pd.DataFrame) -> np.ndarray:
    if ctx.missing:  # missing_codes (e.g. -9 refused) leave the age band missing
        col = _Column.of(data[spec.variable], ctx.value_labels.get(spec.variable))
        gone = np.array([ctx.is_missing_code(u, lab) for u, lab in zip(col.uniques, col.labels)] + [False])
        if gone.any():
            data = pd.DataFrame({spec.variable: data[spec.variable].where(~gone[col.codes])})
    ages = _numeric(ctx, spec, data)
    out = np.full(len(ages), None, dtype=object)
    for low, high, label in AGE_BANDS:
        out[(ages >= low) & (ages < high)] = label
    outside = ~np.isnan(ages) & ((ages < 16) | (ages > MAX_AGE))
    _report_rows(ctx, spec, data[spec.variable], outside, f"ages outside 16 to {MAX_AGE}",
                 "; missing-value codes? drop such rows with filter.drop")
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


def _map_categorical(ctx: _Context, spec: VariableSpec, data: pd.DataFrame, family: str) -> np.ndarray:
    col = _Column.of(data[spec.variable], ctx.value_labels.get(spec.variable))
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
    is_item = spec.column not in DESIGN and spec.column not in schemas.LEVELS and spec.column != "period"
    if is_item:
        arr = np.array([np.nan if m is None else float(m) for m in mapped] + [np.nan], dtype=float)
    else:
        arr = np.array(mapped + [None], dtype=object)
    return arr[col.codes]


def _report_missing(ctx: _Context, spec: VariableSpec | None, column: str, values: np.ndarray,
                    data: pd.DataFrame) -> None:
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
    _report_rows(ctx, spec, raw, empty & ~blank, "values mapped to null",
                 f"; {column} cannot be missing (drop such rows with filter.drop)")


# ---------------------------------------------------------------------------------------
# Loading waves and adding them to a build's inputs


@dataclass(frozen=True)
class LoadedWave:
    """A wave file read through its codebook: one canonical frame per survey family whose
    items it carries (the same respondents and design in each), and where it came from."""

    survey: str
    frames: dict[str, pd.DataFrame]
    source: str
    codebook: Codebook

    @property
    def periods(self) -> list[str]:
        return sorted({p for f in self.frames.values() for p in f["period"].astype(str).unique()})


def load_wave(data_path: str | Path, codebook_path: str | Path) -> LoadedWave:
    """Read a data file and its codebook into a :class:`LoadedWave`."""
    codebook = load_codebook(codebook_path)
    frame = read_wave_file(data_path)
    return LoadedWave(codebook.name, family_frames(apply_codebook(frame, codebook), codebook),
                      str(data_path), codebook)


def family_frames(canonical: pd.DataFrame, codebook: Codebook) -> dict[str, pd.DataFrame]:
    """The canonical frame of each family the codebook feeds: design, demographics and that
    family's items (those the file lacks are missing throughout)."""
    mapped = set(codebook.variables)
    return {f: canonical[list(canonical_columns(f))].copy() for f in codebook.families
            if mapped & set(schemas.SURVEY_ITEMS[f])}  # a family whose items are all absent gets nothing


PERIOD_STYLES = {False: "calendar years", True: "survey years"}


def _style(period: str) -> bool:
    return "/" in period


def _check_series(family: str, have: list[str], new: list[str], follows: str | None, source: str) -> None:
    """A wave's labels must continue the family's series in its style (``2019/20`` after
    ``2018/19``; ``2019`` after ``2018``) unless the codebook declares with ``follows`` the
    period it comes after, for a survey that really changed from one style to the other."""
    styles = {_style(p) for p in have}
    mixed = len({_style(p) for p in new}) > 1 or bool(styles and {_style(p) for p in new} - styles)
    if follows is None:
        if mixed:
            shown = ", ".join(have[:2] + (["..."] if len(have) > 3 else []) + have[-1:] if len(have) > 2 else have)
            raise InputError(source, (
                f"wave label(s) {new} do not fit the series of the {family!r} survey ({shown}: "
                f"{' and '.join(PERIOD_STYLES[s] for s in sorted(styles))}); if the survey really moved from "
                f"one to the other, say which period the wave follows in its codebook, e.g. follows: \"{have[-1]}\""
                if have else f"wave labels {new} mix calendar years and survey years"))
        return
    if not have:  # the first wave of this family here: nothing to follow
        return
    if follows != have[-1]:
        raise InputError(source, f"follows: {follows!r} is not the latest period of the {family!r} survey "
                                 f"({have[-1]}); a wave follows the latest one")
    early = [p for p in new if p <= follows]
    if early:
        raise InputError(source, f"wave label(s) {early} would be ordered before {follows!r}, which they follow; "
                                 "periods are ordered by their label")


def add_waves(inputs: Inputs, pairs: Iterable[Any], *, replace: bool = False) -> Inputs:
    """A copy of ``inputs`` (a :class:`analysis.pipeline.Inputs`) with new waves appended.

    Each entry is a :class:`LoadedWave`, a ``(data_path, codebook_path)`` pair or a
    ``(family, canonical frame)`` pair. A file carrying the items of several families feeds
    each of them. A wave whose period a family already has (in ``inputs`` or earlier in
    ``pairs``) is an error unless ``replace=True``, which replaces that period's rows; so is a
    label that does not continue the series (see :func:`_check_series`). ``inputs`` itself is
    not changed; its ``synthetic`` flag is kept. In a real build (not synthetic) the source of
    every measure the waves feed names the surveys and their periods.
    """
    from analysis import measures

    surveys = dict(inputs.surveys)
    added: set[tuple[str, str]] = set()
    names: dict[str, dict[str, list[str]]] = {}  # family -> survey name -> periods
    for entry in pairs:
        if isinstance(entry, LoadedWave):
            loaded = entry
        else:
            first, second = entry
            if isinstance(second, pd.DataFrame):
                family = str(first)
                if family not in schemas.SURVEY_ITEMS:
                    raise InputError(f"{family} survey", f"unknown survey family; one of {list(schemas.SURVEY_ITEMS)}")
                frame = schemas.validate_survey(second, family, row_offset=0)
                loaded = LoadedWave(f"{family} survey", {family: frame}, f"{family} survey", None)
            else:
                loaded = load_wave(first, second)
        follows = loaded.codebook.follows if loaded.codebook is not None else None
        for family, frame in loaded.frames.items():
            frame = frame[list(canonical_columns(family))]
            new_periods = sorted(frame["period"].astype(str).unique())
            existing = surveys.get(family)
            have = [] if existing is None else sorted(existing["period"].astype(str).unique())
            repeated = [p for p in new_periods if (family, p) in added]
            if repeated:
                raise InputError(loaded.source, f"period(s) {repeated} of the {family!r} survey are added twice")
            clash = [p for p in new_periods if p in have]
            if clash and not replace:
                raise InputError(loaded.source, f"the {family!r} survey already has period(s) {clash}; "
                                                "pass replace=True to replace them")
            _check_series(family, [p for p in have if p not in new_periods], new_periods, follows, loaded.source)
            if existing is not None:
                existing = existing[~existing["period"].astype(str).isin(new_periods)]
                combined = pd.concat([existing, frame], ignore_index=True)
            else:
                combined = frame.reset_index(drop=True)
            surveys[family] = combined
            added.update((family, p) for p in new_periods)
            names.setdefault(family, {}).setdefault(loaded.survey, []).extend(new_periods)
    notes = dict(inputs.source_notes)
    if not inputs.synthetic:  # a synthetic build keeps its demo labels: earlier waves are synthetic
        for m in measures.registry():
            if m.is_survey and m.source_family in names:
                notes[m.id] = "; ".join(f"{name} ({', '.join(sorted(periods))})"
                                        for name, periods in names[m.source_family].items())
    return dataclasses.replace(inputs, surveys=surveys, source_notes=notes)
