"""The demo's assumptions (``data/demo_profile.yaml``): read, checked against the registry,
laid out as arrays; the seeded random generators; the boroughs' synthetic profiles.

Why checked against the registry when read: a measure whose survey item the profile cannot
make must stop the demo at once with an error naming the measure and the missing entry, not
fail later inside the generator.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import yaml

from analysis import geography, measures, schemas
from analysis.validate import InputError

PROFILE_FILE = "analysis/data/demo_profile.yaml"


class DemoProfileError(InputError):
    """The demo profile cannot produce what the registry asks of it (an input error, so the
    command lines print it as one line naming the file)."""


@lru_cache(maxsize=1)
def profile() -> dict[str, Any]:
    """The demo's assumptions (``data/demo_profile.yaml``), checked against the registry: the
    demo must be able to produce every survey item a measure reads."""
    text = (
        resources.files("analysis.data").joinpath("demo_profile.yaml").read_text(encoding="utf-8")
    )
    raw = yaml.load(text, Loader=measures.SAFE_LOADER)
    check_profile(raw)
    return raw


def check_profile(
    raw: dict[str, Any], registry: tuple[measures.Measure, ...] | None = None
) -> None:
    """Fail, naming the measure and the missing entry, where the profile cannot produce a
    survey item the registry's measures read (a family without a sample design, an item
    without a model), and on a profile item no measure reads (a misspelt name)."""
    registry = measures.registry() if registry is None else registry
    families, models = raw.get("families") or {}, raw.get("items") or {}
    problems = []
    read: set[str] = set()
    for m in registry:
        if not m.is_survey:
            continue
        if m.source_family not in families:
            problems.append(
                f"measure {m.id!r} reads the survey family {m.source_family!r}, which has no "
                f"sample design under 'families' (have {sorted(families)})"
            )
        for item in m.items():
            read.add(item)
            if item not in models:
                problems.append(
                    f"measure {m.id!r} reads the survey item {item!r}, which has no model under "
                    "'items' (give at least its trend, or a level when its series has no "
                    "reference figure)"
                )
            elif "level" not in (models[item] or {}) and not any(
                s.item == item and s.reference is not None for x in registry for s in x.series
            ):
                problems.append(
                    f"measure {m.id!r} reads the survey item {item!r}, which has no reference "
                    f"figure in the registry and no 'level' under 'items: {item}' in the profile"
                )
    unused = sorted(set(models) - read)
    if unused:
        problems.append(f"items {unused} under 'items' are read by no measure of the registry")
    if problems:
        raise DemoProfileError(PROFILE_FILE, "; ".join(problems))


@dataclass(frozen=True)
class Population:
    """The population mixes of the synthetic respondents (the profile's ``population``) as
    arrays in the level order of :data:`analysis.schemas.LEVELS`."""

    adult_share: dict[str, float]  # inner, outer, city
    female_share: float
    age_inner: np.ndarray
    age_outer: np.ndarray
    ethnic_london: np.ndarray
    ethnic_inner_factor: np.ndarray
    ethnic_concentration: float
    ethnic_boroughs: dict[str, dict[str, float]]
    disabled_by_age: np.ndarray
    other_language_by_ethnic: np.ndarray
    nssec_inner: np.ndarray
    nssec_outer: np.ndarray
    nssec_by_age: dict[int, np.ndarray]  # age level index -> shares replacing the area's
    tenure_inner: np.ndarray
    tenure_outer: np.ndarray
    tenure_age_factor: dict[int, np.ndarray]
    econ_under_65: np.ndarray
    econ_disabled_under_65: np.ndarray
    econ_65_plus: np.ndarray


def level_shares(var: str, given: dict[str, float], where: str) -> np.ndarray:
    """A level -> share mapping as an array in LEVELS order (every level named once)."""
    levels = schemas.LEVELS[var]
    if set(given) != set(levels):
        raise DemoProfileError(
            PROFILE_FILE,
            f"population {where}: give a share for each of {list(levels)}; got {sorted(given)}",
        )
    return np.array([given[level] for level in levels], dtype=float)


@lru_cache(maxsize=1)
def population() -> Population:
    """The profile's population mixes, checked and laid out as arrays."""
    pop = profile()["population"]
    age_index = schemas.LEVELS["age_band"].index
    eth, nssec, tenure, econ = (
        pop["ethnic_group"],
        pop["nssec"],
        pop["tenure"],
        pop["econ_status"],
    )
    return Population(
        adult_share=dict(pop["adult_share"]),
        female_share=float(pop["female_share"]),
        age_inner=level_shares("age_band", pop["age_band"]["inner"], "age_band.inner"),
        age_outer=level_shares("age_band", pop["age_band"]["outer"], "age_band.outer"),
        ethnic_london=level_shares("ethnic_group", eth["london"], "ethnic_group.london"),
        ethnic_inner_factor=level_shares(
            "ethnic_group", eth["inner_factor"], "ethnic_group.inner_factor"
        ),
        ethnic_concentration=float(eth["concentration"]),
        ethnic_boroughs={code: dict(v) for code, v in eth.get("boroughs", {}).items()},
        disabled_by_age=level_shares("age_band", pop["disabled_by_age"], "disabled_by_age"),
        other_language_by_ethnic=level_shares(
            "ethnic_group",
            pop["other_language_by_ethnic_group"],
            "other_language_by_ethnic_group",
        ),
        nssec_inner=level_shares("nssec", nssec["inner"], "nssec.inner"),
        nssec_outer=level_shares("nssec", nssec["outer"], "nssec.outer"),
        nssec_by_age={
            age_index(k): level_shares("nssec", v, f"nssec.{k}")
            for k, v in nssec.items()
            if k not in ("inner", "outer")
        },
        tenure_inner=level_shares("tenure", tenure["inner"], "tenure.inner"),
        tenure_outer=level_shares("tenure", tenure["outer"], "tenure.outer"),
        tenure_age_factor={
            age_index(k): level_shares("tenure", v, f"tenure.age_factor.{k}")
            for k, v in tenure.get("age_factor", {}).items()
        },
        econ_under_65=level_shares("econ_status", econ["under_65"], "econ_status.under_65"),
        econ_disabled_under_65=level_shares(
            "econ_status", econ["disabled_under_65"], "econ_status.disabled_under_65"
        ),
        econ_65_plus=level_shares("econ_status", econ["65+"], "econ_status.65+"),
    )


def seeded_rng(*labels: object) -> np.random.Generator:
    """A generator seeded from the profile seed and stable labels (not Python's hash)."""
    words = [profile()["seed"], *[zlib.crc32(str(x).encode()) for x in labels]]
    return np.random.default_rng(np.random.SeedSequence(words))


def family_periods(family: str) -> list[str]:
    """Wave labels of a survey family (financial-year or calendar-year style)."""
    kind = profile()["families"][family]["periods"]
    return list(profile()["survey_periods" if kind == "survey" else "calendar_periods"])


def period_position(period: str) -> int:
    """Years since 2014 for a wave label ('2016/17' or '2016')."""
    return int(period[:4]) - 2014


@dataclass(frozen=True)
class BoroughProfile:
    codes: np.ndarray
    inner: np.ndarray
    population: np.ndarray  # thousands, 2016
    adult_share: np.ndarray
    ethnic_mix: np.ndarray  # (33, 6)


@lru_cache(maxsize=1)
def borough_profile() -> BoroughProfile:
    table = geography.boroughs()
    codes = table["code"].to_numpy()
    inner = (table["inner_outer"] == "Inner").to_numpy()
    pop = np.array([profile()["population_2016"][c] for c in codes], dtype=float)
    mixes_of = population()
    rng = seeded_rng("ethnic-mix")
    levels = schemas.LEVELS["ethnic_group"]
    mixes = []
    for code, is_inner in zip(codes, inner):
        base = mixes_of.ethnic_london.copy()
        if is_inner:
            base = base * mixes_of.ethnic_inner_factor
        mix = rng.dirichlet(base / base.sum() * mixes_of.ethnic_concentration)
        pinned = mixes_of.ethnic_boroughs.get(code, {})
        for level, share in pinned.items():
            mix[levels.index(level)] = share
        fixed = [levels.index(k) for k in pinned]
        free = [i for i in range(len(levels)) if i not in fixed]
        mix[free] *= (1 - mix[fixed].sum()) / mix[free].sum()
        mixes.append(mix)
    shares = mixes_of.adult_share
    adult_share = np.where(inner, shares["inner"], shares["outer"])
    adult_share[codes == geography.CITY_OF_LONDON_CODE] = shares["city"]
    return BoroughProfile(codes, inner, pop, adult_share, np.array(mixes))
