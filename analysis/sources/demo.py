"""Synthetic demonstration data: survey waves and admin tables shaped like the real sources.

The generator is deterministic (seeded from ``data/demo_profile.yaml``), needs no network,
and is calibrated so that London estimates in each measure's reference period reproduce the
strategy's published figures, with the borough pattern the strategy describes. It exists to
exercise the machinery end to end: **none of its numbers are real statistics**, and every
table carries ``synthetic = True``.

Survey waves follow the canonical schema in :mod:`analysis.schemas`: respondents with a
stratified clustered design, unequal weights, borough, demographics and 0/1 items. Item
answers come from a logistic model (group effects, borough effects, PSU clustering) whose
intercept and group offsets are raked so the weighted London figures hit their targets.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import yaml

from analysis import forking, geography, measures, schemas
from analysis.validate import InputError

__all__ = [
    "BoroughProfile",
    "DemoProfileError",
    "Population",
    "admin_tables",
    "borough_profile",
    "check_profile",
    "expected_respondents",
    "family_periods",
    "population",
    "profile",
    "survey",
    "survey_wave",
    "surveys",
    "validated_survey",
]

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


def _shares(var: str, given: dict[str, float], where: str) -> np.ndarray:
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
        age_inner=_shares("age_band", pop["age_band"]["inner"], "age_band.inner"),
        age_outer=_shares("age_band", pop["age_band"]["outer"], "age_band.outer"),
        ethnic_london=_shares("ethnic_group", eth["london"], "ethnic_group.london"),
        ethnic_inner_factor=_shares(
            "ethnic_group", eth["inner_factor"], "ethnic_group.inner_factor"
        ),
        ethnic_concentration=float(eth["concentration"]),
        ethnic_boroughs={code: dict(v) for code, v in eth.get("boroughs", {}).items()},
        disabled_by_age=_shares("age_band", pop["disabled_by_age"], "disabled_by_age"),
        other_language_by_ethnic=_shares(
            "ethnic_group",
            pop["other_language_by_ethnic_group"],
            "other_language_by_ethnic_group",
        ),
        nssec_inner=_shares("nssec", nssec["inner"], "nssec.inner"),
        nssec_outer=_shares("nssec", nssec["outer"], "nssec.outer"),
        nssec_by_age={
            age_index(k): _shares("nssec", v, f"nssec.{k}")
            for k, v in nssec.items()
            if k not in ("inner", "outer")
        },
        tenure_inner=_shares("tenure", tenure["inner"], "tenure.inner"),
        tenure_outer=_shares("tenure", tenure["outer"], "tenure.outer"),
        tenure_age_factor={
            age_index(k): _shares("tenure", v, f"tenure.age_factor.{k}")
            for k, v in tenure.get("age_factor", {}).items()
        },
        econ_under_65=_shares("econ_status", econ["under_65"], "econ_status.under_65"),
        econ_disabled_under_65=_shares(
            "econ_status", econ["disabled_under_65"], "econ_status.disabled_under_65"
        ),
        econ_65_plus=_shares("econ_status", econ["65+"], "econ_status.65+"),
    )


def _rng(*labels: object) -> np.random.Generator:
    """A generator seeded from the profile seed and stable labels (not Python's hash)."""
    words = [profile()["seed"], *[zlib.crc32(str(x).encode()) for x in labels]]
    return np.random.default_rng(np.random.SeedSequence(words))


def family_periods(family: str) -> list[str]:
    """Wave labels of a survey family (financial-year or calendar-year style)."""
    kind = profile()["families"][family]["periods"]
    return list(profile()["survey_periods" if kind == "survey" else "calendar_periods"])


def _period_position(period: str) -> int:
    """Years since 2014 for a wave label ('2016/17' or '2016')."""
    return int(period[:4]) - 2014


# ---------------------------------------------------------------------------------------
# Borough profiles


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
    rng = _rng("ethnic-mix")
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


# ---------------------------------------------------------------------------------------
# Survey samples: design first, then people, then answers


def _draw_categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One category per row of ``probs`` (rows sum to 1), vectorised."""
    cum = np.cumsum(probs, axis=1)
    u = np.asarray(rng.random(probs.shape[0]))[:, None]
    return np.minimum((u > cum).sum(axis=1), probs.shape[1] - 1)


def _sample_design(family: str, period: str, n_total: int | None) -> pd.DataFrame:
    """Respondents with stratum, PSU, borough and design weight for one wave."""
    spec = profile()["families"][family]
    bp = borough_profile()
    rng = _rng("design", family, period)
    adults = bp.population * 1000 * bp.adult_share
    n_b = len(bp.codes)
    if spec["design"] == "borough_clustered":  # e.g. PAS: stratified by borough, clustered in wards
        per = np.full(n_b, spec["n_per_borough"], dtype=float)
        per[bp.codes == geography.CITY_OF_LONDON_CODE] = spec["n_city"]
        psus_per = np.where(
            bp.codes == geography.CITY_OF_LONDON_CODE, spec["psus_city"], spec["psus_per_borough"]
        )
        if n_total:  # a bigger sample takes more PSUs, keeping cluster sizes realistic
            psus_per = psus_per * max(1, int(round(n_total / per.sum())))
            per = per * n_total / per.sum()
        rows = []
        for b in range(n_b):
            m = int(psus_per[b])
            sizes = rng.multinomial(int(round(per[b])), np.full(m, 1 / m))
            for j, size in enumerate(sizes):
                rows.append((b, f"B{b + 1:02d}", f"B{b + 1:02d}-{j + 1:03d}", size))
    elif (
        spec["design"] == "borough_households"
    ):  # e.g. APS: stratified by borough, households as PSUs
        n = n_total or spec["n"]
        per = rng.multinomial(n, adults / adults.sum())
        rows = []
        for b in range(n_b):
            remaining = max(int(per[b]), 2)
            j = 0
            while remaining > 0:
                size = min(remaining, 1 + rng.poisson(spec["household_size_mean"] - 1))
                rows.append((b, f"B{b + 1:02d}", f"B{b + 1:02d}-{j + 1:05d}", size))
                remaining -= size
                j += 1
    else:  # clustered: strata are groups of boroughs, PSUs are postcode-sector-like clusters
        n = n_total or spec["n"]
        n_strata = spec["strata"]
        m = spec["psus_per_stratum"] * (max(1, int(n / (spec["n"] * 4))) if n_total else 1)
        order = np.argsort(np.where(bp.inner, 0, 1) * 100 + np.arange(n_b), kind="stable")
        stratum_of = np.empty(n_b, dtype=int)
        stratum_of[order] = np.arange(n_b) * n_strata // n_b
        per_stratum = rng.multinomial(
            n, np.bincount(stratum_of, weights=adults, minlength=n_strata) / adults.sum()
        )
        rows = []
        for h in range(n_strata):
            members = np.flatnonzero(stratum_of == h)
            p = adults[members] / adults[members].sum()
            psu_borough = members[rng.choice(len(members), size=m, p=p)]
            sizes = rng.multinomial(int(per_stratum[h]), np.full(m, 1 / m))
            for j, (b, size) in enumerate(zip(psu_borough, sizes)):
                rows.append((int(b), f"S{h + 1:02d}", f"S{h + 1:02d}-{j + 1:03d}", size))
    design = pd.DataFrame(rows, columns=["b", "stratum", "psu", "size"])
    design = design[design["size"] > 0]
    people = design.loc[design.index.repeat(design["size"])].reset_index(drop=True)
    # design weight: adults in the borough over respondents from it, times non-response noise
    counts = np.bincount(people["b"], minlength=n_b).astype(float)
    base = adults[people["b"]] / np.maximum(counts[people["b"]], 1)
    people["weight"] = base * rng.lognormal(0.0, 0.3, len(people))
    return people.drop(columns="size")


def _demographics(rng: np.random.Generator, b: np.ndarray) -> dict[str, np.ndarray]:
    """Draw each respondent's groups (as level indices) given their borough."""
    bp = borough_profile()
    mix = population()
    inner = bp.inner[b]
    n = b.size
    age = _draw_categorical(rng, np.where(inner[:, None], mix.age_inner, mix.age_outer))
    sex = (rng.random(n) < mix.female_share).astype(int)
    ethnic = _draw_categorical(rng, bp.ethnic_mix[b])
    disabled = rng.random(n) < mix.disabled_by_age[age]
    nssec_p = np.where(inner[:, None], mix.nssec_inner, mix.nssec_outer).copy()
    for level, shares in mix.nssec_by_age.items():
        nssec_p[age == level] = shares
    nssec = _draw_categorical(rng, nssec_p)
    tenure_p = np.where(inner[:, None], mix.tenure_inner, mix.tenure_outer).copy()
    for level, factor in mix.tenure_age_factor.items():
        tenure_p[age == level] = tenure_p[age == level] * factor
    tenure = _draw_categorical(rng, tenure_p / tenure_p.sum(axis=1, keepdims=True))
    old = age == schemas.LEVELS["age_band"].index("65+")
    econ_p = np.where(old[:, None], mix.econ_65_plus, mix.econ_under_65)
    econ_p = np.where(disabled[:, None] & ~old[:, None], mix.econ_disabled_under_65, econ_p)
    econ = _draw_categorical(rng, econ_p)
    language = (rng.random(n) < mix.other_language_by_ethnic[ethnic]).astype(int)
    return {
        "age_band": age,
        "sex": sex,
        "ethnic_group": ethnic,
        "disability": np.where(disabled, 0, 1),
        "nssec": nssec,
        "tenure": tenure,
        "econ_status": econ,
        "language": language,
    }


def _logit(p: np.ndarray | float) -> np.ndarray:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


def _expit(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _reference(item: str) -> tuple[float | None, str | None]:
    """The registry's reference figure for a survey item (value, period), if any."""
    for m in measures.registry():
        for s in m.series:
            if s.item == item and s.reference is not None:
                return s.reference.value, s.reference.period
    return None, None


def _period_targets(
    item: str, spec: dict[str, Any], period: str
) -> tuple[float, dict[str, dict[int, float]]]:
    """London target (%) and group targets (level index -> %) for one wave."""
    value, ref_period = _reference(item)
    level = value if value is not None else spec["level"]
    ref_period = spec.get("reference_period", ref_period) or period
    shift = spec.get("trend", 0.0) * (_period_position(period) - _period_position(ref_period))
    overall = level + shift
    groups: dict[str, dict[int, float]] = {}
    for var, targets in spec.get("group_targets", {}).items():
        levels = schemas.LEVELS[var]
        groups[var] = {levels.index(k): v + shift for k, v in targets.items()}
    for var, gap in spec.get("gap_targets", {}).items():
        levels = schemas.LEVELS[var]
        gap_shift = spec.get("gap_trend", 0.0) * (
            _period_position(period) - _period_position(ref_period)
        )
        groups[var] = {
            "reference": levels.index(gap["reference"]),  # type: ignore[dict-item]
            "gaps": {levels.index(k): max(v + gap_shift, 0.0) for k, v in gap["gaps"].items()},  # type: ignore[dict-item]
        }
    return overall, groups


def _calibrated_answers(
    rng: np.random.Generator,
    item: str,
    spec: dict[str, Any],
    period: str,
    weights: np.ndarray,
    demo: dict[str, np.ndarray],
    b: np.ndarray,
    psu_idx: np.ndarray,
    in_universe: np.ndarray,
) -> np.ndarray:
    """0/1 answers whose weighted London rate (and group rates) match the wave's targets.

    ``psu_idx`` numbers each respondent's PSU from 0 (sorted labels), as ``np.unique`` does.
    """
    item_rng = _rng("item-effects", item)  # same borough effects in every wave
    borough_effect = item_rng.normal(0, spec.get("borough_sd", 0.1), len(borough_profile().codes))
    psu_effect = rng.normal(0, spec.get("psu_sd", 0.2), psu_idx.max() + 1)[psu_idx]
    eta = borough_effect[b] + psu_effect
    for var, effects in spec.get("effects", {}).items():
        levels = schemas.LEVELS[var]
        table = np.zeros(len(levels))
        for level, effect in effects.items():
            table[levels.index(level)] = effect
        eta = eta + table[demo[var]]
    overall, groups = _period_targets(item, spec, period)
    w = np.where(in_universe, weights, 0.0)
    offsets = {var: np.zeros(len(schemas.LEVELS[var])) for var in groups}
    alpha = _logit(overall / 100)

    def linear() -> np.ndarray:
        total = eta + alpha
        for var, off in offsets.items():
            total = total + off[demo[var]]
        return total

    # each group's weighted size does not change while raking: summed once
    shares = {
        var: np.maximum(np.bincount(demo[var], weights=w, minlength=len(off)), 1e-12)
        for var, off in offsets.items()
    }
    for _ in range(60):  # rake group offsets and the intercept to their expected targets
        p = _expit(linear())
        for var, wanted in _wanted_rates(groups, demo, w, overall, offsets).items():
            rate = np.bincount(demo[var], weights=w * p, minlength=len(offsets[var])) / shares[var]
            for level, t in wanted.items():
                offsets[var][level] += _logit(t / 100) - _logit(rate[level])
            p = _expit(linear())
        alpha += _logit(overall / 100) - _logit((w * p).sum() / w.sum())
    # Draw with common uniforms, then nudge the group offsets and the intercept so that the
    # *realised* weighted rates are on target, not just their expectations: the draw is
    # monotone in each offset, so bisection converges and sampling noise does not blur the
    # calibration.
    u = rng.random(weights.size)
    wanted_by_var = _wanted_rates(groups, demo, w, overall, offsets)

    def realised(w_sub: np.ndarray, u_sub: np.ndarray, current: np.ndarray, shift: float) -> float:
        return (w_sub * (u_sub < _expit(current + shift))).sum() / max(w_sub.sum(), 1e-12) * 100

    # each group's members, found once: the bisection below evaluates them many times
    members = {
        var: {level: np.flatnonzero(demo[var] == level) for level in wanted}
        for var, wanted in wanted_by_var.items()
    }
    for _ in range(6 if groups else 0):
        for var, wanted in wanted_by_var.items():
            for level, t in wanted.items():
                rows = members[var][level]
                w_sub, u_sub, current = w[rows], u[rows], linear()[rows]
                lo, hi = -3.0, 3.0
                for _ in range(30):
                    mid = (lo + hi) / 2
                    lo, hi = (mid, hi) if realised(w_sub, u_sub, current, mid) < t else (lo, mid)
                offsets[var][level] += (lo + hi) / 2
    base = linear() - alpha
    lo, hi = float(alpha) - 2.0, float(alpha) + 2.0
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if realised(w, u, base, mid) < overall else (lo, mid)
    answers = (u < _expit(base + (lo + hi) / 2)).astype(float)
    answers[~in_universe] = np.nan
    return answers


def _wanted_rates(
    groups: dict[str, dict],
    demo: dict[str, np.ndarray],
    w: np.ndarray,
    overall: float,
    offsets: dict,
) -> dict[str, dict[int, float]]:
    """Target rate (%) for each constrained group level; gap targets become rates.

    For a gap target the reference group's rate is set so that, with the gaps below it and
    the population shares of the groups, the overall rate is the overall target.
    """
    wanted: dict[str, dict[int, float]] = {}
    for var, target in groups.items():
        if "gaps" not in target:
            wanted[var] = target
            continue
        share = np.bincount(demo[var], weights=w, minlength=len(offsets[var]))
        share = share / share.sum()
        gaps = np.zeros_like(share)
        for level, g in target["gaps"].items():
            gaps[level] = g
        ref_rate = overall + (share * gaps).sum()
        wanted[var] = {
            level: ref_rate - gaps[level] for level in range(len(share)) if share[level] > 0
        }
    return wanted


def survey_wave(
    family: str, period: str, *, n: int | None = None, items: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """One synthetic wave of a survey family, in the canonical schema.

    ``n`` overrides the family's usual sample size and ``items`` its list of items (the
    benchmark uses both to make one large survey carrying every item); calibration holds at
    any size.
    """
    if family not in schemas.survey_items():
        raise KeyError(f"unknown survey family {family!r}; known: {list(schemas.survey_items())}")
    people = _sample_design(family, period, n)
    rng = _rng("people", family, period)
    b = people["b"].to_numpy()
    demo = _demographics(rng, b)
    weights = people["weight"].to_numpy()
    psu = people["psu"].to_numpy()
    _, psu_idx = np.unique(psu, return_inverse=True)  # once per wave: sorting the labels is slow
    items_spec = profile()["items"]
    answers: dict[str, np.ndarray] = {}
    for item in items or schemas.survey_items()[family]:
        spec = items_spec[item]
        universe = np.ones(b.size, dtype=bool)
        for var, allowed in spec.get("universe", {}).items():
            idx = [schemas.LEVELS[var].index(a) for a in allowed]
            universe &= np.isin(demo[var], idx)
        answers[item] = _calibrated_answers(
            rng, item, spec, period, weights, demo, b, psu_idx, universe
        )
        if item == "employed":  # economic status follows the calibrated employment answer
            working = universe
            employed = answers[item] == 1
            unemployed = rng.random(b.size) < 0.2
            demo["econ_status"] = np.where(
                working, np.where(employed, 0, np.where(unemployed, 1, 2)), demo["econ_status"]
            )
    # a little item non-response, as in real surveys
    for values in answers.values():
        values[rng.random(b.size) < 0.01] = np.nan
    frame = pd.DataFrame(
        {
            "respondent_id": np.char.add(
                period[:4], np.char.zfill(np.arange(b.size).astype(str), 7)
            ),
            "period": period,
            "stratum": people["stratum"].to_numpy(),
            "psu": psu,
            "weight": np.round(weights, 4),
            "borough": borough_profile().codes[b],
        }
    )
    for var, level_codes in demo.items():
        frame[var] = np.asarray(schemas.LEVELS[var], dtype=object)[level_codes]
    for item, values in answers.items():
        frame[item] = values
    return frame


def survey(family: str, *, n_per_wave: int | None = None) -> pd.DataFrame:
    """All synthetic waves of a survey family, stacked."""
    return pd.concat(
        [survey_wave(family, p, n=n_per_wave) for p in family_periods(family)], ignore_index=True
    )


# ---------------------------------------------------------------------------------------
# Admin tables: one row per borough and year


def _scale_to(
    values: np.ndarray, weights: np.ndarray, target: float, fixed: np.ndarray
) -> np.ndarray:
    """Shift the non-fixed values so the weighted mean of all equals ``target``."""
    free = ~fixed
    gap = target * weights.sum() - (values * weights).sum()
    out = values.copy()
    out[free] += gap / weights[free].sum()
    return out


def _published_values(codes, weights, values, year, name, exclude=None) -> pd.DataFrame:
    """A published percentage per borough plus population-weighted Inner/Outer/London rows."""
    inner = np.array([geography.inner_outer(c) == "Inner" for c in codes])
    values = values.astype(float).copy()
    if exclude is not None:
        values[exclude] = (
            np.nan
        )  # e.g. the City of London holds no borough election in the same way
    ok = ~np.isnan(values)

    def wmean(mask):
        return float(
            np.round((values[mask & ok] * weights[mask & ok]).sum() / weights[mask & ok].sum(), 1)
        )

    rows = pd.DataFrame({"area_code": codes, "year": year, name: np.round(values, 1)})
    extra = pd.DataFrame(
        {
            "area_code": [
                geography.INNER_LONDON_CODE,
                geography.OUTER_LONDON_CODE,
                geography.LONDON_CODE,
            ],
            "year": year,
            name: [wmean(inner), wmean(~inner), wmean(np.ones_like(inner))],
        }
    )
    return pd.concat([rows, extra], ignore_index=True)


@lru_cache(maxsize=1)
def admin_tables() -> dict[str, pd.DataFrame]:
    """Synthetic admin tables (population, electoral, hate_crime, gcse, early_education,
    citizenship) for every borough and year, in the canonical schema."""
    prof = profile()
    cfg = prof["admin"]
    bp = borough_profile()
    rng = _rng("admin")
    codes, inner = bp.codes, bp.inner
    city = codes == geography.CITY_OF_LONDON_CODE
    n_b = codes.size
    high = prof["high_churn_boroughs"]
    is_high = np.isin(codes, list(high))

    (inner_lo, inner_hi), (outer_lo, outer_hi) = cfg["churn_inner"], cfg["churn_outer"]
    churn: np.ndarray = np.where(
        inner, rng.uniform(inner_lo, inner_hi, n_b), rng.uniform(outer_lo, outer_hi, n_b)
    )
    churn[city] = cfg["churn_city"]
    for code, v in high.items():
        churn[codes == code] = v["churn"]
    # registration falls with churn; the four named boroughs are pinned to the strategy's range
    registration = 96.0 + cfg["registration_slope"] * churn + rng.normal(0, 1.2, n_b)
    for code, v in high.items():
        registration[codes == code] = v["registration"]
    hate_base = np.where(inner, 2.6, 1.5) * rng.lognormal(0, 0.2, n_b)
    hate_base[codes == "E09000033"] = 5.5  # Westminster: many visitors, high recorded rate
    gcse = rng.normal(0, 5.0, n_b)
    lo_ee, hi_ee = cfg["early_education_range"]
    early = np.linspace(lo_ee, hi_ee, n_b)[rng.permutation(n_b)]
    nonnat_share = np.where(inner, cfg["non_national_share_inner"], cfg["non_national_share_outer"])
    nonnat_share = nonnat_share * rng.lognormal(0, 0.15, n_b)
    cit_effect = rng.normal(0, 0.2, n_b)

    out: dict[str, list[pd.DataFrame]] = {k: [] for k in schemas.ADMIN_COLUMNS}
    for year in prof["admin_years"]:
        t = year - 2016
        yrng = _rng("admin", year)
        pop = np.round(bp.population * 1000 * (1 + cfg["population_growth"]) ** t)
        adults = np.round(pop * bp.adult_share)
        moves = pop * (churn + yrng.normal(0, 0.3, n_b)) / 100
        split = np.array([0.35, 0.38, 0.19, 0.08])
        flows = np.round(moves[:, None] * split[None, :])
        out["population"].append(
            pd.DataFrame(
                {
                    "area_code": codes,
                    "year": year,
                    "population": pop,
                    "internal_in": flows[:, 0],
                    "internal_out": flows[:, 1],
                    "international_in": flows[:, 2],
                    "international_out": flows[:, 3],
                }
            )
        )
        reg = registration + cfg["registration_trend"] * t + yrng.normal(0, 0.4, n_b)
        target = cfg["registration_london_2016"] + cfg["registration_trend"] * t
        reg = _scale_to(reg, adults, target, is_high)
        out["electoral"].append(
            pd.DataFrame(
                {
                    "area_code": codes,
                    "year": year,
                    "electors": np.round(adults * reg / 100),
                    "adults": adults,
                }
            )
        )
        rate = hate_base * (1 + cfg["hate_crime_growth"]) ** t
        rate = (
            rate
            * cfg["hate_crime_london_2016"]
            * (1 + cfg["hate_crime_growth"]) ** t
            / ((rate * pop).sum() / pop.sum())
        )
        crimes = yrng.poisson(rate * pop / 1000)
        keep = ~city  # the City of London has its own police force: absent, as in the real data
        out["hate_crime"].append(
            pd.DataFrame(
                {
                    "area_code": codes[keep],
                    "year": year,
                    "hate_crimes": crimes[keep].astype(float),
                    "population": pop[keep],
                }
            )
        )
        pupils = np.round(pop * 0.0105)
        pupils[city] = 24
        g_rate = np.clip(cfg["gcse_london_2014"] + cfg["gcse_trend"] * (year - 2014) + gcse, 30, 90)
        out["gcse"].append(
            pd.DataFrame(
                {
                    "area_code": codes,
                    "year": year,
                    "pupils": pupils,
                    "pupils_achieving": yrng.binomial(pupils.astype(int), g_rate / 100).astype(
                        float
                    ),
                }
            )
        )
        eligible = np.round(pop * 0.0013)
        eligible[city] = 14
        e_rate = early + cfg["early_education_trend"] * t
        e_rate = np.clip(
            _scale_to(
                e_rate,
                eligible,
                cfg["early_education_london_2016"] + cfg["early_education_trend"] * t,
                np.zeros(n_b, dtype=bool),
            ),
            5,
            98,
        )
        out["early_education"].append(
            pd.DataFrame(
                {
                    "area_code": codes,
                    "year": year,
                    "eligible_children": eligible,
                    "children_taking_up": yrng.binomial(eligible.astype(int), e_rate / 100).astype(
                        float
                    ),
                }
            )
        )
        nonnat = np.round(pop * nonnat_share, -3)
        nonnat[city] = np.round(pop[city] * 0.3, -2)
        london_rate = cfg["citizenship_london"][year]
        c_rate = london_rate * np.exp(cit_effect)
        c_rate = c_rate * london_rate / ((c_rate * nonnat).sum() / nonnat.sum())
        out["citizenship"].append(
            pd.DataFrame(
                {
                    "area_code": codes,
                    "year": year,
                    "ceremony_attendees": yrng.poisson(c_rate * nonnat / 100).astype(float),
                    "non_nationals": nonnat,
                }
            )
        )
    out["turnout"] = [
        _published_values(
            codes,
            pop_2014 := np.round(bp.population * 1000 / (1 + cfg["population_growth"]) ** 2),
            np.clip(37.0 + rng.normal(0, 4.0, n_b) - 0.4 * (churn - churn.mean()), 20, 60),
            2014,
            "turnout",
            exclude=city,
        )
    ]
    out["born_abroad"] = [
        _published_values(
            codes,
            pop_2014,
            np.clip(np.where(inner, 42.0, 33.0) + rng.normal(0, 6, n_b), 10, 60),
            2015,
            "born_abroad",
        )
    ]
    tables = {k: pd.concat(v, ignore_index=True) for k, v in out.items()}
    return {
        k: schemas.validate_admin(v, k, source=f"demo {k} table", row_offset=1)
        for k, v in tables.items()
    }


def validated_survey(family: str) -> pd.DataFrame:
    """One synthetic survey family (all waves), validated against its schema."""
    return schemas.validate_survey(
        survey(family), family, source=f"demo {family} survey", row_offset=1
    )


def expected_respondents(family: str) -> int:
    """How many respondents the family's synthetic waves hold, roughly (from its design)."""
    spec = profile()["families"][family]
    per_wave = (
        spec.get("n") or spec["n_per_borough"] * (len(borough_profile().codes) - 1) + spec["n_city"]
    )
    return int(per_wave) * len(family_periods(family))


def surveys(processes: int = 1) -> dict[str, pd.DataFrame]:
    """Every synthetic survey family, validated.

    With ``processes`` of 2 or more the largest family is generated in a forked child
    process while this one makes the others (the data are the same either way).
    """
    families = list(schemas.survey_items())
    apart = (
        max(families, key=expected_respondents) if processes > 1 and forking.can_fork() else None
    )
    made, largest = forking.side_by_side(
        lambda: {f: validated_survey(f) for f in families if f != apart},
        validated_survey if apart else None,
        apart,
    )
    if apart:
        made[apart] = largest
    return {family: made[family] for family in families}
