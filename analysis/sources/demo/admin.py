"""Synthetic admin tables, one row per borough and year: population and migration flows,
electors, hate crimes, GCSE results, early education, citizenship ceremonies, and published
percentages (turnout, born abroad).

Why some boroughs are pinned: the strategy names the high-churn boroughs and their
registration range, and the demo reproduces what the strategy describes.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from analysis import geography, schemas
from analysis.sources.demo.assumptions import borough_profile, profile, seeded_rng


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
    rng = seeded_rng("admin")
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
        yrng = seeded_rng("admin", year)
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
