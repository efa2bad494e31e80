"""The measure registry: every measure and indicator is declared as data in ``data/measures.yaml``.

Adding a measure is one YAML entry (and, at most, one source function); nothing else in the
library or the notebooks lists measures by hand. The survey items a source must carry
(:func:`survey_items`) are the items the registry's survey measures read, each under its
measure's ``source_family``, so a new survey measure needs no list updated elsewhere.

The registry's closed vocabularies (domain, kind, unit, polarity, geography, uncertainty
model) are ``Literal`` types below; the tuples the load-time check uses are derived from
them, so a value is spelt in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal, get_args

import yaml

from analysis import rules, schemas

__all__ = [
    "BREAKDOWNS",
    "DOMAINS",
    "GEOGRAPHIES",
    "KINDS",
    "POLARITIES",
    "SAFE_LOADER",
    "UNCERTAINTIES",
    "UNITS",
    "Domain",
    "Geography",
    "GroupReference",
    "Kind",
    "Measure",
    "Polarity",
    "Reference",
    "RegistryError",
    "Series",
    "Uncertainty",
    "Unit",
    "by_domain",
    "check",
    "get",
    "load_registry",
    "registry",
    "strategy_measures",
    "survey_items",
]

# libyaml's safe loader where PyYAML was built with it (same results, about ten times faster)
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Domain = Literal["relationships", "participation", "equality", "outcomes", "context"]
Kind = Literal["survey_proportion", "survey_gap", "admin_proportion", "admin_rate", "admin_value"]
Unit = Literal["%", "per 1,000", "percentage points"]
# up: higher is better; down: lower is better; neutral: a context indicator, never judged
Polarity = Literal["up", "down", "neutral"]
Geography = Literal["london", "borough"]
# declared per measure; rules.UNCERTAINTY_FOR_KIND says which fit which kind
Uncertainty = Literal["survey_design", "binomial", "poisson", "overdispersed", "none"]

DOMAINS: tuple[Domain, ...] = get_args(Domain)
KINDS: tuple[Kind, ...] = get_args(Kind)
UNITS: tuple[Unit, ...] = get_args(Unit)
POLARITIES: tuple[Polarity, ...] = get_args(Polarity)
GEOGRAPHIES: tuple[Geography, ...] = get_args(Geography)
UNCERTAINTIES: tuple[Uncertainty, ...] = get_args(Uncertainty)
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
    # the label where the measure is already named around it (a gap's column heading:
    # "not disabled minus disabled" under the measure's title); the label when not given
    short_label: str | None = None
    variable: str | None = None  # for gaps: the grouping variable
    reference_group: str | None = None
    comparison_group: str | None = None
    reference: Reference | None = None

    @property
    def short(self) -> str:
        """The short label, or the label."""
        return self.short_label or self.label


@dataclass(frozen=True)
class Measure:
    """One measure of the strategy (or a context indicator)."""

    id: str
    domain: Domain
    title: str
    definition: str
    rationale: str
    caveats: str | None
    source_family: str
    source: str
    unit: Unit
    polarity: Polarity
    kind: Kind
    uncertainty: Uncertainty  # the uncertainty model of its figures (see analysis.rules)
    geographies: tuple[Geography, ...]
    breakdowns: tuple[str, ...]
    series: tuple[Series, ...]
    table: str | None = None
    numerator: tuple[str, ...] = ()
    denominator: str | None = None
    multiplier: float = 100.0
    item: str | None = None
    # a gap measure's group rates, published beside its gaps: indicator, unit, polarity, the
    # label of their rows ("Employment rate, people aged 16 to 64") and their name in a
    # sentence about the page's rows ("Employment rates")
    rate_indicator: str | None = None
    rate_unit: Unit = "%"
    rate_polarity: Polarity = "up"
    rate_label: str | None = None
    rates_title: str | None = None
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
    "short_label",
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
        short_label=raw.get("short_label"),
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
    item_family: dict[str, str] = {}
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
        if m.rate_indicator and m.rate_polarity not in POLARITIES:
            problems.append(f"rate_polarity {m.rate_polarity!r} must be one of {POLARITIES}")
        if m.rate_indicator and m.rate_unit not in UNITS:
            problems.append(f"rate_unit {m.rate_unit!r} not in {UNITS}")
        if m.rate_indicator and not (m.rate_label and m.rates_title):
            problems.append(
                "a gap measure with a rate_indicator needs rate_label (its rows' label) and "
                "rates_title (their name in a sentence)"
            )
        if m.uncertainty not in UNCERTAINTIES:
            problems.append(f"uncertainty {m.uncertainty!r} not in {UNCERTAINTIES}")
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
        if not m.is_survey and (m.item or any(s.item for s in m.series)):
            problems.append("only survey measures read survey items")
        for item in m.items():
            family = item_family.setdefault(item, m.source_family)
            if family != m.source_family:  # one item, one family: a wave's columns depend on it
                problems.append(
                    f"survey item {item!r} is filed under {m.source_family!r} here but under "
                    f"{family!r} by an earlier measure; an item belongs to one survey family"
                )
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
    """The measures of Tables 1-4 of the strategy (context indicators excluded); pages count
    them with ``len``, never with a number written out."""
    return [m for m in registry() if not m.is_context]


def survey_items(
    among: tuple[Measure, ...] | list[Measure] | None = None,
) -> dict[str, tuple[str, ...]]:
    """Survey family -> the 0/1 items its microdata carry: every item a survey measure reads,
    under the measure's ``source_family``, in registry order (families in order of their
    first measure). This is the one list of survey items; :data:`analysis.schemas` and the
    demo take theirs from it."""
    out: dict[str, list[str]] = {}
    for m in registry() if among is None else among:
        if m.is_survey:
            items = out.setdefault(m.source_family, [])
            items += [i for i in m.items() if i not in items]
    return {family: tuple(items) for family, items in out.items()}


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
