"""Borough covariates of the small area models, chosen by one rule for every model.

**The rule.** Every model uses the same two borough characteristics, fixed before any model
is fitted and never re-selected per measure by how well they fit:

* ``inner_london``: 1 for a borough of Inner London (ONS statistical definition, as in
  :mod:`analysis.geography`), else 0;
* ``bame_pct``: the percentage of residents from Black, Asian and minority ethnic groups.

Why these two: they are the borough characteristics that both a real build (the GLA's London
Borough Profiles) and the synthetic demo hold for all 33 boroughs, the City of London
included (the Profiles leave the City blank for tenure, for example). They summarise what
drives most survey measures between boroughs: Inner London stands for the age, tenure and
class make-up that differs between inner and outer boroughs, and the ethnic mix for the
population's composition. With 33 boroughs, three coefficients (with the intercept) keep at
least ten areas per coefficient.

In a real build they come from ``london-borough-profiles.csv`` (``pct_of_population_from_
bame_groups_2016``). In the demo they come from the generator's borough population profile
(its ethnic mix, the demo's census), which is an observable characteristic like the real
one; the generator's borough effects on the answers are random and are never used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import geography
from analysis.validate import InputError

COVARIATES = ("inner_london", "bame_pct")
PROFILES_COLUMN = "pct_of_population_from_bame_groups_2016"
LABELS = {
    "inner_london": "Inner London borough (1 = yes)",
    "bame_pct": "Residents from Black, Asian and minority ethnic groups (%)",
}


def _inner() -> np.ndarray:
    codes = geography.borough_codes()
    return np.array([1.0 if geography.inner_outer(c) == "Inner" else 0.0 for c in codes])


def table(bame_pct: pd.Series, source: str) -> pd.DataFrame:
    """The covariate table (index: the 33 borough codes, columns ``COVARIATES``), checked:
    a borough without a finite value stops the build naming the source, row and column."""
    codes = geography.borough_codes()
    values = pd.to_numeric(bame_pct.reindex(codes), errors="coerce")
    for row, code in enumerate(codes, start=1):
        v = values.loc[code]
        if not np.isfinite(v) or not 0 <= v <= 100:
            raise InputError(
                source,
                f"borough {code} needs a percentage from 0 to 100, found {bame_pct.get(code)!r}",
                row=row,
                column="bame_pct",
            )
    return pd.DataFrame(
        {"inner_london": _inner(), "bame_pct": values.to_numpy(dtype=float)},
        index=pd.Index(codes, name="area_code"),
    )


def from_profiles(
    profiles: pd.DataFrame, source: str = "london-borough-profiles.csv"
) -> pd.DataFrame:
    """Covariates of a real build from the London Borough Profiles (as loaded by
    :func:`analysis.sources.published.load_borough_profiles`, indexed by area code)."""
    if PROFILES_COLUMN not in profiles.columns:
        raise InputError(
            source,
            f"expected column {PROFILES_COLUMN!r} for the small area models",
            column=PROFILES_COLUMN,
        )
    return table(profiles[PROFILES_COLUMN], source)


def demo() -> pd.DataFrame:
    """The demo's covariates: Inner London, and the BAME share of its population profile."""
    from analysis import schemas
    from analysis.sources import demo as demo_source

    bp = demo_source.borough_profile()
    white = schemas.LEVELS["ethnic_group"].index("White")
    bame = pd.Series(np.round(100 * (1 - bp.ethnic_mix[:, white]), 1), index=bp.codes)
    return table(bame, "demo borough profile")
