"""The codebook YAML: reading it and checking it on its own, before any data file is read
(see docs/codebook.md for the format)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from analysis import geography, schemas
from analysis.sources.waves.matching import Token, _is_missing, _text, _token
from analysis.sources.waves.problems import CodebookError, Problem
from analysis.validate import InputError, closest_hint

Report = Callable[[str, str], None]
"""Records one problem of a codebook, (key, message): every problem is collected and reported
together, so a user fixes the codebook in one pass rather than one error at a time."""

PERIOD_PATTERN = re.compile(r"\d{4}(/\d{2})?")

TOP_KEYS = (
    "survey",
    "family",
    "period",
    "period_variable",
    "follows",
    "variables",
    "absent",
    "missing_codes",
    "filter",
    "description",
)
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
ALL_ITEMS: dict[str, str] = {
    item: family for family, items in schemas.survey_items().items() for item in items
}


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

    @property
    def source_variable(self) -> str:
        """The file's variable this column is read from.

        Why: ``variable`` is None only for a ``constant``, and constants are filled in before
        any variable is read, so a reader asking for the variable of a constant is a bug.
        """
        if self.variable is None:
            raise ValueError(f"{self.key} is a constant; it is not read from a variable")
        return self.variable


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
    deferred: tuple[Problem, ...] = ()  # problems reported with the file's (see load_codebook)

    @property
    def items(self) -> tuple[str, ...]:
        """Every item of the codebook's families, mapped or absent, in registry order."""
        return tuple(
            i for f in (self.families or (self.family,)) for i in schemas.survey_items()[f]
        )

    @property
    def columns(self) -> tuple[str, ...]:
        """Columns of the canonical frame this codebook produces, in order."""
        return (*schemas.DESIGN_COLUMNS, *schemas.LEVELS, *self.items)

    def referenced_variables(self) -> list[tuple[str, str]]:
        """(codebook key, source variable) for every variable the codebook reads."""
        refs = [(c.key, c.variable) for c in (*self.keep, *self.drop)]
        if self.period_variable is not None and self.period_variable.variable is not None:
            refs.append(("period_variable", self.period_variable.variable))
        refs += [(s.key, s.variable) for s in self.variables.values() if s.variable is not None]
        return refs


def canonical_columns(family: str) -> tuple[str, ...]:
    """Columns of the canonical frame of ``family``, in order."""
    return (*schemas.DESIGN_COLUMNS, *schemas.LEVELS, *schemas.survey_items()[family])


class _Loader(yaml.SafeLoader):
    """Safe YAML with YAML 1.2 booleans (yes/no/on/off stay text) and no duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:  # noqa: D102
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                continue
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen[key] = True
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_codebook(path: str | Path, *, defer_shared: bool = False) -> Codebook:
    """Read and validate a codebook YAML file (raises :class:`CodebookError`).

    With ``defer_shared`` two columns reading one variable do not raise here when the
    codebook is otherwise sound: they are kept in ``Codebook.deferred`` and reported with
    the problems found in the file, so one message lists them all (:func:`load_wave`)."""
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
    return parse_codebook(data, source=source, defer_shared=defer_shared)


def parse_codebook(data: Any, *, source: str = "codebook", defer_shared: bool = False) -> Codebook:
    """Validate a codebook already read into Python objects (e.g. a dict in a test);
    ``defer_shared`` as for :func:`load_codebook`."""
    problems: list[Problem] = []
    shared: list[Problem] = []

    def bad(key: str, message: str) -> None:
        problems.append(Problem(key, message))

    if not isinstance(data, Mapping):
        raise CodebookError(
            source, [Problem("(top)", f"expected a mapping of keys, found {type(data).__name__}")]
        )
    for key in data:
        if key not in TOP_KEYS:
            bad(
                str(key),
                f"unknown key{closest_hint(key, TOP_KEYS, n=3, ask=True)}; allowed: {list(TOP_KEYS)}",
            )

    family = data.get("family")
    if family is not None and family not in schemas.survey_items():
        bad(
            "family",
            f"unknown survey family {family!r}{closest_hint(family, schemas.survey_items(), n=3, ask=True)}; "
            f"one of {list(schemas.survey_items())}",
        )
        family = None
    survey_name = data.get("survey")
    if survey_name is not None and (not isinstance(survey_name, str) or not survey_name.strip()):
        bad("survey", "expected the survey's name as text")
        survey_name = None
    if "family" not in data and "survey" not in data:
        bad(
            "survey",
            "required: the survey's name, e.g. survey: London Survey of Social Integration",
        )

    period = data.get("period")
    period_variable = None
    if ("period" in data) == ("period_variable" in data):
        bad("period", "give exactly one of 'period' (the wave label) and 'period_variable'")
    if "period" in data:
        period = _period_label(period)
        if period is None:
            bad(
                "period",
                f'{data.get("period")!r} is not a wave label like "2019/20" or "2019" (quote it)',
            )
    if "period_variable" in data:
        period_variable = _parse_spec("period", data["period_variable"], bad)
    follows = None
    if "follows" in data:
        follows = _period_label(data["follows"])
        if follows is None:
            bad(
                "follows",
                f'{data["follows"]!r} is not a wave label like "2018/19" or "2019" (quote it)',
            )

    absent = (
        _parse_absent(data.get("absent"), data.get("variables"), bad) if "absent" in data else []
    )
    missing: set = set()
    if "missing_codes" in data:
        raw_missing = data["missing_codes"]
        raw_missing = raw_missing if isinstance(raw_missing, list) else [raw_missing]
        for i, code in enumerate(raw_missing):
            token = (
                None
                if isinstance(code, bool) or not isinstance(code, (str, int, float))
                else _token(code)
            )
            if token is None:
                bad(
                    f"missing_codes[{i}]",
                    f"expected a code or label (a number or text), found {code!r}",
                )
            else:
                missing.add(token)

    variables: dict[str, VariableSpec] = {}
    raw_vars = data.get("variables")
    if raw_vars is None:
        bad("variables", "required: one entry per canonical column")
    elif not isinstance(raw_vars, Mapping):
        bad(
            "variables",
            f"expected a mapping of canonical column to source variable, found {type(raw_vars).__name__}",
        )
    else:
        known = (*DESIGN, *schemas.LEVELS, *ALL_ITEMS)
        for column, spec in raw_vars.items():
            key = f"variables.{column}"
            if column == "period":
                bad(key, "the period is given by the top-level 'period' or 'period_variable'")
            elif column not in known:
                bad(
                    key,
                    f"unknown canonical column{closest_hint(column, known, n=3, ask=True)}; design {list(DESIGN)}, "
                    f"demographics {list(schemas.LEVELS)} or survey items {sorted(ALL_ITEMS)}",
                )
            elif spec is None and column not in DESIGN:
                bad(
                    key,
                    f"no variable given; if the file has no {column}, list it under 'absent' instead",
                )
            else:
                parsed = _parse_spec(str(column), spec, bad)
                if parsed is not None:
                    variables[str(column)] = parsed
        _check_shared_variables(
            variables, lambda key, message: shared.append(Problem(key, message))
        )
    families = _families(family, raw_vars if isinstance(raw_vars, Mapping) else {}, absent)
    if isinstance(raw_vars, Mapping):
        covered = set(raw_vars) | set(absent)
        needed = [c for c in (*DESIGN, *schemas.LEVELS) if c not in covered]
        needed += [i for f in families for i in schemas.survey_items()[f] if i not in covered]
        if needed:
            bad(
                "variables",
                f"no entry for {needed}: map each to the file's variable, or list what the file "
                "lacks under 'absent' (design columns cannot be absent)",
            )
        if not any(c in ALL_ITEMS for c in raw_vars):
            bad(
                "variables", "no survey item is mapped: a wave needs at least one item of a measure"
            )

    keep: list[Condition] = []
    drop: list[Condition] = []
    raw_filter = data.get("filter")
    if raw_filter is not None:
        if not isinstance(raw_filter, Mapping):
            bad("filter", "expected a mapping with 'keep' and/or 'drop'")
        else:
            for key in raw_filter:
                if key not in FILTER_KEYS:
                    bad(
                        f"filter.{key}",
                        f"unknown key{closest_hint(key, FILTER_KEYS, n=3, ask=True)}; allowed: {list(FILTER_KEYS)}",
                    )
            for which, out in (("keep", keep), ("drop", drop)):
                if which in raw_filter:
                    out += _parse_conditions(f"filter.{which}", raw_filter[which], bad)

    description = data.get("description")
    if description is not None and not isinstance(description, str):
        bad("description", "expected text")

    if problems or (shared and not defer_shared):
        raise CodebookError(source, problems + shared)
    columns = (
        *schemas.DESIGN_COLUMNS,
        *schemas.LEVELS,
        *(i for f in families for i in schemas.survey_items()[f]),
    )
    ordered = {c: variables[c] for c in columns if c in variables}
    return Codebook(
        family=families[0],
        variables=ordered,
        period=period,
        period_variable=period_variable,
        keep=tuple(keep),
        drop=tuple(drop),
        description=description,
        path=source,
        survey=survey_name.strip() if survey_name else None,
        families=families,
        absent=tuple(c for c in columns if c in absent),
        missing=frozenset(missing),
        follows=follows,
        deferred=tuple(shared),
    )


def _families(family: str | None, raw_vars: Mapping, absent: list[str]) -> tuple[str, ...]:
    """The families whose items the codebook maps or declares absent (and ``family``), in
    registry order: the measures of each are estimated from this file."""
    touched = {ALL_ITEMS[c] for c in (*raw_vars, *absent) if c in ALL_ITEMS}
    if family:
        touched.add(family)
    return tuple(f for f in schemas.survey_items() if f in touched)


def _parse_absent(raw: Any, raw_vars: Any, bad: Report) -> list[str]:
    """The ``absent`` list: demographics and items the file does not have."""
    items = raw if isinstance(raw, list) else [raw]
    out: list[str] = []
    allowed = (*schemas.LEVELS, *ALL_ITEMS)
    for i, name in enumerate(items):
        key = f"absent[{i}]"
        if not isinstance(name, str):
            bad(key, f"expected a demographic or item name, found {name!r}")
        elif name in DESIGN:
            bad(
                key,
                f"{name!r} is a design column and cannot be absent (a constant may stand in: "
                f"{name}: {{constant: ...}})"
                if name != "respondent_id"
                else "'respondent_id' cannot be absent: every respondent needs an identifier",
            )
        elif name not in allowed:
            bad(
                key,
                f"unknown demographic or item {name!r}{closest_hint(name, allowed, n=3, ask=True)}",
            )
        elif isinstance(raw_vars, Mapping) and name in raw_vars:
            bad(key, f"{name!r} is both mapped in 'variables' and listed as absent")
        elif name in out:
            bad(key, f"{name!r} is listed twice")
        else:
            out.append(name)
    return out


def _check_shared_variables(variables: dict[str, VariableSpec], bad: Report) -> None:
    """Two columns reading one source variable are reported, except design columns that may
    legitimately share one (see SHAREABLE)."""
    readers: dict[str, list[str]] = {}
    for column, spec in variables.items():
        if spec.variable is not None:
            readers.setdefault(spec.variable, []).append(column)
    for variable, columns in readers.items():
        if len(columns) > 1 and not set(columns) <= SHAREABLE:
            bad(
                "variables." + columns[1],
                f"reads the same variable {variable!r} as "
                + ", ".join(f"variables.{c}" for c in columns if c != columns[1])
                + "; each demographic and item needs its own variable (a copy-and-paste slip?)",
            )


def _period_label(value: Any) -> str | None:
    """A valid wave label ('2016/17' or '2016') from a YAML value or file value, else None.

    A survey year spans two consecutive years, so '2016/18' is not a label."""
    text = _text(value)
    if text is None or not PERIOD_PATTERN.fullmatch(text):
        return None
    if "/" in text and int(text[5:]) != (int(text[:4]) + 1) % 100:
        return None
    return text


def _parse_spec(column: str, spec: Any, bad: Report) -> VariableSpec | None:
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
                bad(
                    f"{key}.{k}",
                    f"unknown key{closest_hint(k, SPEC_KEYS, n=3, ask=True)}; allowed keys: {allowed}",
                )
    has_constant = "constant" in spec
    variable = spec.get("variable")
    if has_constant and "variable" in spec:
        bad(key, "give either 'variable' or 'constant', not both")
        ok = False
    elif not has_constant and (not isinstance(variable, str) or not variable.strip()):
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
    if scale is not None and (
        isinstance(scale, bool)
        or not isinstance(scale, (int, float))
        or not math.isfinite(scale)
        or scale <= 0
    ):
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
    return VariableSpec(
        column=column,
        variable=variable.strip() if isinstance(variable, str) and not has_constant else None,
        values=values,
        from_age=bool(from_age),
        scale=None if scale is None else float(scale),
        constant=constant,
        has_constant=has_constant,
    )


def _parse_constant(column: str, value: Any, key: str, bad: Report) -> Any:
    if column == "weight":
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value <= 0
        ):
            bad(
                f"{key}.constant", f"a constant weight must be a number above zero, found {value!r}"
            )
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


def _parse_values(column: str, raw: Any, key: str, bad: Report) -> dict[Token, Any] | None:
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
            return None, f'{target!r} is not a wave label like "2019/20" or "2019"'
        return label, None
    if target is None:
        return None, None
    if column in schemas.LEVELS:
        levels = schemas.LEVELS[column]
        if target not in levels:
            return None, (
                f"{target!r} is not a level of {column}{closest_hint(target, levels, n=3, ask=True)}; "
                f"levels: {list(levels)} (or null for missing)"
            )
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


def _parse_conditions(key: str, raw: Any, bad: Report) -> list[Condition]:
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for i, cond in enumerate(items):
        where = f"{key}[{i}]" if isinstance(raw, list) else key
        if not isinstance(cond, Mapping):
            bad(where, "expected {variable: NAME, values: [CODES OR LABELS]}")
            continue
        unknown = [k for k in cond if k not in CONDITION_KEYS]
        for k in unknown:
            bad(
                f"{where}.{k}",
                f"unknown key{closest_hint(k, CONDITION_KEYS, n=3, ask=True)}; allowed: {list(CONDITION_KEYS)}",
            )
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
