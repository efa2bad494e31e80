"""Synthetic respondents: the sample design of a wave (strata, PSUs, weights), then each
respondent's demographics given their borough.

Why design first: the answers' clustering and the estimates' standard errors depend on the
design, so the people are drawn into PSUs and strata shaped like the real surveys' before
anyone answers anything.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import geography, schemas
from analysis.sources.demo.assumptions import borough_profile, population, profile, seeded_rng


def _draw_categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One category per row of ``probs`` (rows sum to 1), vectorised."""
    cum = np.cumsum(probs, axis=1)
    u = np.asarray(rng.random(probs.shape[0]))[:, None]
    return np.minimum((u > cum).sum(axis=1), probs.shape[1] - 1)


def _household_sizes(rng: np.random.Generator, people: int, mean: float) -> np.ndarray:
    """Sizes of households of 1 + Poisson(mean - 1) people until ``people`` are housed, the
    last one cut to those that remain.

    Why drawn twice: the sizes are drawn at once, as many as could be needed (a household
    has one person at least), then again from the same state with only as many as were
    used, so that the generator moves on exactly as drawing one household at a time did
    (numpy draws an array of Poisson numbers one after another from the same stream).
    """
    state = rng.bit_generator.state
    used = int(np.searchsorted(np.cumsum(1 + rng.poisson(mean - 1, people)), people)) + 1
    rng.bit_generator.state = state
    sizes = 1 + rng.poisson(mean - 1, used)
    sizes[-1] -= sizes.sum() - people
    return sizes


DESIGN_COLUMNS = ["b", "stratum", "psu", "size"]


def _households(rng: np.random.Generator, per: np.ndarray, mean: float) -> pd.DataFrame:
    """Households as PSUs, borough by borough (``per`` respondents in each, two at least):
    the design's columns made at once, not a row per household (there are 11,000 a wave)."""
    sizes = [_household_sizes(rng, max(int(k), 2), mean) for k in per]
    b = np.repeat(np.arange(len(per)), [s.size for s in sizes])
    labels = [f"B{i + 1:02d}" for i in range(len(per))]
    psu = [f"{labels[i]}-{j:05d}" for i, s in enumerate(sizes) for j in range(1, s.size + 1)]
    stratum = np.asarray(labels, dtype=object)[b]
    return pd.DataFrame(dict(zip(DESIGN_COLUMNS, [b, stratum, psu, np.concatenate(sizes)])))


def design_sample(family: str, period: str, n_total: int | None) -> pd.DataFrame:
    """Respondents with stratum, PSU, borough and design weight for one wave."""
    spec = profile()["families"][family]
    bp = borough_profile()
    rng = seeded_rng("design", family, period)
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
        design = pd.DataFrame(rows, columns=DESIGN_COLUMNS)
    elif (
        spec["design"] == "borough_households"
    ):  # e.g. APS: stratified by borough, households as PSUs
        n = n_total or spec["n"]
        per = rng.multinomial(n, adults / adults.sum())
        design = _households(rng, per, spec["household_size_mean"])
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
        design = pd.DataFrame(rows, columns=DESIGN_COLUMNS)
    design = design[design["size"] > 0]
    people = design.loc[design.index.repeat(design["size"])].reset_index(drop=True)
    # design weight: adults in the borough over respondents from it, times non-response noise
    counts = np.bincount(people["b"], minlength=n_b).astype(float)
    base = adults[people["b"]] / np.maximum(counts[people["b"]], 1)
    people["weight"] = base * rng.lognormal(0.0, 0.3, len(people))
    return people.drop(columns="size")


def draw_demographics(rng: np.random.Generator, b: np.ndarray) -> dict[str, np.ndarray]:
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
