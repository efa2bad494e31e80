"""The measure registry: every measure and indicator is declared as data in ``data/measures.yaml``.

Adding a measure is one YAML entry (and, at most, one source function); nothing else in the
library or the notebooks lists measures by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from analysis import rules, schemas

# libyaml's safe loader where PyYAML was built with it (same results, about ten times faster)
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

DOMAINS = ("relationships", "participation", "equality", "outcomes", "context")
KINDS = ("survey_proportion", "survey_gap", "admin_proportion", "admin_rate", "admin_value")
UNITS = ("%", "per 1,000", "percentage points")
GEOGRAPHIES = ("london", "borough")
BREAKDOWNS = tuple(schemas.LEVELS)


class RegistryError(ValueError):
    """The registry file is inconsistent."""


@dataclass(frozen=True)
class Reference:
    """A figure the strategy publishes for London, used to calibrate and check the demo."""

    value: float
    period: str
    note: str | None = None


@dataclass(frozen=True)
class GroupReference:
    """A figure the strategy quotes for one population group of an indicator."""

    indicator: str
    breakdown: str
    group: str
    value: float
    period: str
    note: str | None = None


@dataclass(frozen=True)
class Series:
    """One indicator inside a measure (e.g. ``friends_similar_age``)."""

    indicator: str
    label: str
    item: str | None = None  # survey item holding the 0/1 answer
    variable: str | None = None  # for gaps: the grouping variable
    reference_group: str | None = None
    comparison_group: str | None = None
    reference: Reference | None = None


@dataclass(frozen=True)
class Measure:
    """One measure of the strategy (or a context indicator)."""

    id: str
    domain: str
    title: str
    definition: str
    rationale: str
    caveats: str | None
    source_family: str
    source: str
    unit: str
    polarity: str
    kind: str
    uncertainty: str  # the uncertainty model of its figures (see analysis.rules.UNCERTAINTY_MODELS)
    geographies: tuple[str, ...]
    breakdowns: tuple[str, ...]
    series: tuple[Series, ...]
    table: str | None = None
    numerator: tuple[str, ...] = ()
    denominator: str | None = None
    multiplier: float = 100.0
    item: str | None = None
    rate_indicator: str | None = None
    rate_unit: str = "%"
    rate_polarity: str = "up"
    coverage_excludes: tuple[
        str, ...
    ] = ()  # boroughs a source never covers (e.g. City police data)
    group_references: tuple[GroupReference, ...] = ()
    series_breaks: tuple[
        str, ...
    ] = ()  # periods where the definition changed: no change tested into them
    universe: dict[str, Any] | None = None
    borough_pool_waves: int = 1

    @property
    def is_survey(self) -> bool:
        return self.kind.startswith("survey")

    @property
    def is_context(self) -> bool:
        return self.domain == "context"

    @property
    def indicators(self) -> list[str]:
        return [s.indicator for s in self.series]

    def items(self) -> list[str]:
        """Survey items the measure reads."""
        if self.kind == "survey_gap":
            return [self.item] if self.item else []
        return [s.item for s in self.series if s.item]


SERIES_KEYS = {
    "indicator",
    "label",
    "item",
    "variable",
    "reference_group",
    "comparison_group",
    "reference",
}


def _series(raw: dict[str, Any]) -> Series:
    unknown = set(raw) - SERIES_KEYS
    if unknown:  # e.g. an unquoted comma inside a YAML flow mapping splits a label
        raise RegistryError(
            f"series {raw.get('indicator')!r}: unknown keys {sorted(map(str, unknown))}"
        )
    ref = raw.get("reference")
    reference = Reference(float(ref["value"]), str(ref["period"]), ref.get("note")) if ref else None
    return Series(
        indicator=raw["indicator"],
        label=raw["label"],
        item=raw.get("item"),
        variable=raw.get("variable"),
        reference_group=raw.get("reference_group"),
        comparison_group=raw.get("comparison_group"),
        reference=reference,
    )


def _measure(raw: dict[str, Any]) -> Measure:
    fields = set(Measure.__dataclass_fields__)
    unknown = set(raw) - fields
    if unknown:  # a misspelt key must not be ignored silently
        raise RegistryError(
            f"measure {raw.get('id')!r}: unknown keys {sorted(unknown)}; known: {sorted(fields)}"
        )
    if "uncertainty" not in raw:  # every measure declares how its figures are uncertain
        raise RegistryError(
            f"measure {raw.get('id')!r}: no uncertainty model; declare one of "
            f"{rules.UNCERTAINTY_MODELS}"
        )
    numerator = raw.get("numerator") or ()
    simple = {
        k: v
        for k, v in raw.items()
        if k
        not in (
            "geographies",
            "breakdowns",
            "series",
            "numerator",
            "coverage_excludes",
            "group_references",
            "series_breaks",
        )
    }
    return Measure(
        **simple,
        geographies=tuple(raw.get("geographies", ())),
        breakdowns=tuple(raw.get("breakdowns", ())),
        series=tuple(_series(s) for s in raw["series"]),
        numerator=(numerator,) if isinstance(numerator, str) else tuple(numerator),
        coverage_excludes=tuple(raw.get("coverage_excludes", ())),
        series_breaks=tuple(str(p) for p in raw.get("series_breaks", ())),
        group_references=tuple(GroupReference(**g) for g in raw.get("group_references", ())),
    )


def check(measures: list[Measure]) -> None:
    """Fail on an inconsistent registry: unknown codes, duplicate ids, missing fields."""
    seen: set[str] = set()
    for m in measures:
        where = f"measure {m.id!r}"
        problems = []
        if m.domain not in DOMAINS:
            problems.append(f"domain {m.domain!r} not in {DOMAINS}")
        if m.kind not in KINDS:
            problems.append(f"kind {m.kind!r} not in {KINDS}")
        if m.unit not in UNITS:
            problems.append(f"unit {m.unit!r} not in {UNITS}")
        if m.is_context and m.polarity != "neutral":
            problems.append(
                f"polarity {m.polarity!r}: a context indicator is neutral (never better or worse)"
            )
        elif not m.is_context and m.polarity not in ("up", "down"):
            problems.append(
                f"polarity {m.polarity!r} must be up or down (or neutral for context indicators)"
            )
        if m.rate_indicator and m.rate_polarity not in ("up", "down", "neutral"):
            problems.append(f"rate_polarity {m.rate_polarity!r} must be up, down or neutral")
        allowed = rules.UNCERTAINTY_FOR_KIND.get(m.kind, ())
        if m.uncertainty not in allowed:
            problems.append(
                f"uncertainty {m.uncertainty!r} must be one of {allowed} for a {m.kind} measure "
                f"(models: {rules.UNCERTAINTY_MODELS})"
            )
        if not set(m.geographies) <= set(GEOGRAPHIES) or "london" not in m.geographies:
            problems.append(
                f"geographies {m.geographies} must include london and be within {GEOGRAPHIES}"
            )
        if not set(m.breakdowns) <= set(BREAKDOWNS):
            problems.append(f"breakdowns {sorted(set(m.breakdowns) - set(BREAKDOWNS))} unknown")
        if m.kind in ("admin_proportion", "admin_rate") and not (
            m.table and m.numerator and m.denominator
        ):
            problems.append("admin measures need table, numerator and denominator")
        if m.kind == "admin_value" and not (m.table and len(m.numerator) == 1):
            problems.append(
                "published-value measures need a table and one value column (numerator)"
            )
        if m.kind == "survey_proportion" and any(s.item is None for s in m.series):
            problems.append("every series of a survey proportion needs an item")
        known_items = {i for items in schemas.SURVEY_ITEMS.values() for i in items}
        if m.is_survey and not set(m.items()) <= known_items:
            problems.append(f"unknown survey items {sorted(set(m.items()) - known_items)}")
        if m.universe:
            var, values = m.universe.get("variable"), m.universe.get("values", [])
            if var not in schemas.LEVELS or not set(values) <= set(schemas.LEVELS[var]):
                problems.append(f"universe {m.universe} must name a group variable and its levels")
        if int(m.borough_pool_waves) < 1:
            problems.append("borough_pool_waves must be at least 1")
        for g in m.group_references:
            if g.indicator not in m.indicators or g.group not in schemas.LEVELS.get(
                g.breakdown, ()
            ):
                problems.append(f"group reference {g} does not match an indicator and group level")
        if m.kind == "survey_gap" and (
            not m.item
            or any(not (s.variable and s.reference_group and s.comparison_group) for s in m.series)
        ):
            problems.append(
                "gap measures need item, and series with variable, reference_group, comparison_group"
            )
        for s in m.series:
            if s.variable and (
                s.reference_group not in schemas.LEVELS.get(s.variable, ())
                or s.comparison_group not in schemas.LEVELS.get(s.variable, ())
            ):
                problems.append(f"series {s.indicator!r}: groups must be levels of {s.variable!r}")
        for s in m.series:
            if s.indicator in seen:
                problems.append(f"indicator {s.indicator!r} declared twice")
            seen.add(s.indicator)
        if m.rate_indicator:
            seen.add(m.rate_indicator)
        if problems:
            raise RegistryError(f"{where}: " + "; ".join(problems))
    ids = [m.id for m in measures]
    if len(ids) != len(set(ids)):
        raise RegistryError(f"duplicate measure ids in registry: {ids}")


def load_registry(text: str | None = None) -> list[Measure]:
    """Parse a registry (the packaged ``measures.yaml`` by default) and check it."""
    if text is None:
        text = (
            resources.files("analysis.data").joinpath("measures.yaml").read_text(encoding="utf-8")
        )
    raw = yaml.load(text, Loader=SAFE_LOADER)
    measures = [_measure(r) for r in raw["measures"]]
    check(measures)
    return measures


@lru_cache(maxsize=1)
def registry() -> tuple[Measure, ...]:
    """All measures and context indicators, in registry order."""
    return tuple(load_registry())


def strategy_measures() -> list[Measure]:
    """The 18 measures of Tables 1-4 (context indicators excluded)."""
    return [m for m in registry() if not m.is_context]


def get(measure_id: str) -> Measure:
    """Look a measure up by id, with a helpful error."""
    for m in registry():
        if m.id == measure_id:
            return m
    raise KeyError(f"Unknown measure {measure_id!r}; known: {[m.id for m in registry()]}")


def by_domain() -> dict[str, list[Measure]]:
    """Measures grouped by domain, in registry order."""
    out: dict[str, list[Measure]] = {d: [] for d in DOMAINS}
    for m in registry():
        out[m.domain].append(m)
    return {d: ms for d, ms in out.items() if ms}
