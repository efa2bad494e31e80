"""Statistical neighbours: each borough's five most similar boroughs, in the spirit of CIPFA's
nearest neighbours and ONS's similar areas, so a page can set a borough beside its peers.

Method (one rule, used for real and demo builds alike):

1. Each characteristic (a column of :data:`REAL_VARIABLES` or :data:`DEMO_VARIABLES`) is
   standardised over the 33 boroughs that have a value: z = (x - mean) / standard deviation
   (population form, ddof=0). Skewed ones (population density) are logged first.
2. The distance between two boroughs is the weighted Euclidean distance of their z-scores,
   d = sqrt(sum w_k (z_ik - z_jk)^2 / sum w_k * W), where W is the total weight. Each
   characteristic of the brief weighs 1; one described by two columns (age structure, tenure)
   gives each column 0.5, so no characteristic counts twice.
3. Missing values: a pair is compared on the columns both boroughs have, and the weighted sum
   is scaled up to the full weight (the ``/ sum w_k * W`` above), so a borough missing a
   column is neither nearer nor farther for it. A pair sharing less than
   :data:`MIN_WEIGHT_SHARE` of the weight is not compared. (The City of London lacks
   born-abroad and tenure figures in the 2017 profiles, 2 of the 7 weight units.)
4. Neighbours are the five smallest distances (to 10 decimal places), ties broken by GSS code.
5. A borough whose nearest neighbour is more than twice as far as the median borough's nearest
   is said to have no close match (:func:`looseness`), so a page never implies a likeness the
   distances do not show.

Why here and not in the estimates: the neighbours describe boroughs, not survey answers; they
are computed once per build (:func:`analysis.pipeline.compute`) into ``neighbours.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import geography
from analysis.validate import InputError

__all__ = [
    "DEMO_BASIS",
    "DEMO_DESCRIPTION",
    "DEMO_VARIABLES",
    "FILE_NAME",
    "LOOSE_FACTOR",
    "MIN_WEIGHT_SHARE",
    "N_NEIGHBOURS",
    "REAL_BASIS",
    "REAL_DESCRIPTION",
    "REAL_VARIABLES",
    "Variable",
    "comparison",
    "demo",
    "demo_characteristics",
    "distances",
    "looseness",
    "method_sentence",
    "nearest",
    "profile_characteristics",
    "read",
    "real",
    "sentences",
    "side_by_side",
    "standardise",
    "write",
]

N_NEIGHBOURS = 5
MIN_WEIGHT_SHARE = 0.5
LOOSE_FACTOR = (
    2.0  # a nearest neighbour this many times the median nearest distance is a loose match
)
FILE_NAME = "neighbours.csv"


@dataclass(frozen=True)
class Variable:
    """One column of the distance: its name in ``neighbours.csv``, label, source column and weight."""

    name: str
    label: str
    column: str  # the column of the source table it is read from
    weight: float
    log: bool = False  # logged before standardising (a skewed, positive quantity)
    percent: bool = True  # a share from 0 to 100 (checked on input)


# from the London Borough Profiles (GLA, 2017 edition), column names as snake_cased by
# analysis.sources.published.load_borough_profiles
REAL_VARIABLES: tuple[Variable, ...] = (
    Variable(
        "density",
        "Population density per hectare, 2017 (logged)",
        "population_density_per_hectare_2017",
        1.0,
        log=True,
        percent=False,
    ),
    Variable("aged_0_15", "Aged 0-15 (%), 2015", "proportion_of_population_aged_0_15_2015", 0.5),
    Variable(
        "aged_65_plus",
        "Aged 65 and over (%), 2015",
        "proportion_of_population_aged_65_and_over_2015",
        0.5,
    ),
    Variable(
        "born_abroad", "Born abroad (%), 2015", "pct_of_resident_population_born_abroad_2015", 1.0
    ),
    Variable("bame", "From BAME groups (%), 2016", "pct_of_population_from_bame_groups_2016", 1.0),
    Variable(
        "out_of_work_benefits",
        "Working-age on out-of-work benefits (%), May 2016 (deprivation)",
        "proportion_of_the_working_age_population_who_claim_out_of_work_benefits_pct_may_2016",
        1.0,
    ),
    Variable(
        "new_migrant_rate",
        "New overseas national insurance registrations per 1,000 working-age, 2015/16 (churn)",
        "new_migrant_nino_rates_2015_16",
        1.0,
        percent=False,
    ),
    Variable(
        "social_rented",
        "Rented from the council or a housing association (%), 2014",
        "rented_from_local_authority_or_housing_association_2014_pct",
        0.5,
    ),
    Variable(
        "private_rented",
        "Rented from a private landlord (%), 2014",
        "rented_from_private_landlord_2014_pct",
        0.5,
    ),
)
REAL_BASIS = "London Borough Profiles (GLA, 2017 edition)"
REAL_DESCRIPTION = (
    "population density, age structure, share born abroad, ethnic mix, deprivation (out-of-work "
    "benefits), churn (new overseas arrivals) and tenure"
)

# the demo's equivalents, from its synthetic borough profile and admin tables (it has no
# density, deprivation or tenure by borough, so those are left out rather than invented)
DEMO_VARIABLES: tuple[Variable, ...] = (
    Variable(
        "population", "Population, latest year (logged)", "population", 1.0, log=True, percent=False
    ),
    Variable("aged_under_18", "Aged under 18 (%)", "aged_under_18", 1.0),
    Variable("born_abroad", "Born abroad (%), 2015", "born_abroad", 1.0),
    Variable("minority_ethnic", "Not White (%)", "minority_ethnic", 1.0),
    Variable("churn", "Moves in and out per 100 residents, latest year (churn)", "churn", 1.0),
)
DEMO_BASIS = "the synthetic demo's borough characteristics"
DEMO_DESCRIPTION = "population, age structure, share born abroad, ethnic mix and churn"


def method_sentence(description: str, basis: str) -> str:
    """The method in one sentence, for pages (the README gives the detail)."""
    return (
        f"Similar boroughs are the five nearest on a standardised (z-score) Euclidean distance over {description}, "
        f"from {basis}, each characteristic weighted equally."
    )


def profile_characteristics(
    profiles: pd.DataFrame, source: str = "london-borough-profiles.csv"
) -> pd.DataFrame:
    """The real characteristics of the 33 boroughs (indexed by GSS code) from the loaded profiles.

    A missing column, or a value no profile could hold (a density at or below zero, a share
    outside 0-100), stops the build naming the file, the borough and the column: neighbours
    from a wrong figure would be quietly wrong.
    """
    for v in REAL_VARIABLES:
        if v.column not in profiles.columns:
            raise InputError(
                source, "expected this column for the statistical neighbours", column=v.column
            )
    codes = geography.borough_codes()
    table = profiles.reindex(codes)
    for v in REAL_VARIABLES:
        x = table[v.column].astype(float)
        bad = x[(x <= 0) if v.log else (x < 0) | ((x > 100) if v.percent else False)]
        if len(bad):
            raise InputError(
                source,
                f"borough {bad.index[0]} has {bad.iloc[0]}, which cannot be "
                + ("a density (must be above 0)" if v.log else "a share or rate of this kind"),
                column=v.column,
            )
    return pd.DataFrame(
        {v.name: table[v.column].astype(float).to_numpy() for v in REAL_VARIABLES},
        index=pd.Index(codes, name="area_code"),
    )


def demo_characteristics(admin: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The demo's characteristics of the 33 boroughs from its borough profile and admin tables."""
    from analysis import schemas
    from analysis.sources import demo

    bp = demo.borough_profile()
    white = list(schemas.LEVELS["ethnic_group"]).index("White")
    pop = admin["population"]
    latest = pop[pop["year"] == pop["year"].max()].set_index("area_code")
    moves = latest[["internal_in", "internal_out", "international_in", "international_out"]].sum(
        axis=1
    )
    born = admin["born_abroad"].set_index("area_code")["born_abroad"]
    codes = list(bp.codes)
    frame = pd.DataFrame(
        {
            "population": latest["population"].reindex(codes).to_numpy(dtype=float),
            "aged_under_18": 100 * (1 - bp.adult_share),
            "born_abroad": born.reindex(codes).to_numpy(dtype=float),
            "minority_ethnic": 100 * (1 - bp.ethnic_mix[:, white]),
            "churn": (100 * moves / latest["population"]).reindex(codes).to_numpy(dtype=float),
        },
        index=pd.Index(codes, name="area_code"),
    )
    return frame[[v.name for v in DEMO_VARIABLES]]


def standardise(values: pd.DataFrame, variables: tuple[Variable, ...]) -> pd.DataFrame:
    """z-scores of each column over the areas that have it (logged first where declared)."""
    out = {}
    for v in variables:
        x = values[v.name].astype(float)
        if v.log:
            if (x <= 0).any():
                bad = x[x <= 0].index[0]
                raise ValueError(
                    f"statistical neighbours: {v.name} must be positive to be logged; {bad} has {x[bad]}"
                )
            x = np.log(x)
        sd = x.std(ddof=0)
        if not np.isfinite(sd) or sd == 0:
            raise ValueError(
                f"statistical neighbours: {v.name} does not vary between areas, so it cannot be standardised"
            )
        out[v.name] = (x - x.mean()) / sd
    return pd.DataFrame(out, index=values.index)


def distances(values: pd.DataFrame, variables: tuple[Variable, ...]) -> pd.DataFrame:
    """Square matrix of weighted standardised distances (NaN where a pair shares too little)."""
    z = standardise(values, variables).to_numpy()
    w = np.array([v.weight for v in variables])
    have = ~np.isnan(z)
    zz = np.nan_to_num(z)
    diff2 = (zz[:, None, :] - zz[None, :, :]) ** 2
    both = have[:, None, :] & have[None, :, :]
    shared = (both * w).sum(axis=2)
    total = w.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.sqrt((diff2 * both * w).sum(axis=2) * total / shared)
    d[shared < MIN_WEIGHT_SHARE * total] = np.nan
    return pd.DataFrame(d, index=values.index, columns=values.index)


def nearest(
    values: pd.DataFrame,
    variables: tuple[Variable, ...],
    basis: str,
    description: str,
    k: int = N_NEIGHBOURS,
) -> pd.DataFrame:
    """The tidy neighbours table: one row per borough and rank 1..k, with the neighbour's
    distance and its values of the variables used (as published, not standardised)."""
    d = distances(values, variables).to_numpy()
    codes = values.index.to_numpy()
    names = geography.names_by_code()
    rank_of_code = np.argsort(np.argsort(codes))  # ties broken by GSS code
    borough, rank, other = [], [], []
    for i in range(len(codes)):
        # rounded for the order only, so equal distances that differ in the last bit tie
        row = np.round(d[i], 10)
        keep = np.flatnonzero(~np.isnan(row) & (np.arange(len(codes)) != i))
        order = keep[np.lexsort((rank_of_code[keep], row[keep]))][:k]
        borough += [i] * len(order)
        rank += list(range(1, len(order) + 1))
        other += list(order)
    b, o = np.array(borough, dtype=int), np.array(other, dtype=int)
    raw = values.to_numpy(dtype=float)
    rows = {
        "borough": codes[b],
        "borough_name": [names.get(c, c) for c in codes[b]],
        "rank": rank,
        "neighbour": codes[o],
        "neighbour_name": [names.get(c, c) for c in codes[o]],
        "distance": d[b, o],
        **{v.name: raw[o, values.columns.get_loc(v.name)] for v in variables},
    }
    out = pd.DataFrame(rows)
    out["basis"] = basis
    out["method"] = method_sentence(description, basis)
    return out


def looseness(table: pd.DataFrame, code: str) -> str | None:
    """A sentence when ``code``'s nearest neighbour is more than :data:`LOOSE_FACTOR` times as
    far as the median borough's nearest (e.g. the City of London): its "similar" boroughs are
    then only the least unlike, and the page must not imply more."""
    firsts = table[table["rank"] == 1].set_index("borough")["distance"]
    if code not in firsts.index:
        return None
    typical = float(firsts.median())
    if firsts[code] <= LOOSE_FACTOR * typical:
        return None
    nearest_name = table[(table["borough"] == code) & (table["rank"] == 1)]["neighbour_name"].iloc[
        0
    ]
    return (
        f"{geography.name_of(code)} has no close match: its nearest, {nearest_name}, is {firsts[code]:.1f} apart "
        f"on this distance, against {typical:.1f} for the typical borough's nearest, so the five are only "
        "the least unlike."
    )


def real(profiles: pd.DataFrame) -> pd.DataFrame:
    """The neighbours table of a real build, from the loaded borough profiles."""
    return nearest(profile_characteristics(profiles), REAL_VARIABLES, REAL_BASIS, REAL_DESCRIPTION)


def demo(admin: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The neighbours table of a demo build, from its admin tables and borough profile."""
    return nearest(demo_characteristics(admin), DEMO_VARIABLES, DEMO_BASIS, DEMO_DESCRIPTION)


def write(table: pd.DataFrame, out_dir: str | Path) -> Path:
    """Write ``neighbours.csv`` atomically beside the estimates."""
    from analysis.outputs import atomic_write

    path = Path(out_dir) / FILE_NAME
    atomic_write(
        path, lambda p: table.to_csv(p, index=False, float_format="%.10g", lineterminator="\n")
    )
    return path


def read(data_dir: str | Path) -> pd.DataFrame | None:
    """The build's neighbours table, or None if this build wrote none."""
    path = Path(data_dir) / FILE_NAME
    return pd.read_csv(path) if path.exists() else None


# what a borough page shows of its neighbours (kept in their own module; the names stay here)
from analysis.neighbours_table import comparison, sentences, side_by_side  # noqa: E402
