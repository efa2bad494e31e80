"""Synthetic survey waves in the canonical schema: one wave, a family's waves, validated,
and every family (the largest made in a forked process beside the others).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import forking, schemas
from analysis.sources.demo.answers import calibrated_answers
from analysis.sources.demo.assumptions import (
    borough_profile,
    family_periods,
    profile,
    seeded_rng,
)
from analysis.sources.demo.respondents import design_sample, draw_demographics


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
    people = design_sample(family, period, n)
    rng = seeded_rng("people", family, period)
    b = people["b"].to_numpy()
    demo = draw_demographics(rng, b)
    weights = people["weight"].to_numpy()
    psu = people["psu"].to_numpy()
    psu_idx = pd.factorize(psu, sort=True)[0]  # np.unique's numbering, without sorting every label
    items_spec = profile()["items"]
    answers: dict[str, np.ndarray] = {}
    for item in items or schemas.survey_items()[family]:
        spec = items_spec[item]
        universe = np.ones(b.size, dtype=bool)
        for var, allowed in spec.get("universe", {}).items():
            idx = [schemas.LEVELS[var].index(a) for a in allowed]
            universe &= np.isin(demo[var], idx)
        answers[item] = calibrated_answers(
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
    columns = {
        "respondent_id": np.char.add(period[:4], np.char.zfill(np.arange(b.size).astype(str), 7)),
        "period": period,
        "stratum": people["stratum"].to_numpy(),
        "psu": psu,
        "weight": np.round(weights, 4),
        "borough": borough_profile().codes[b],
    }
    for var, level_codes in demo.items():
        # picked from the few labels as strings: not one Python string per respondent to convert
        columns[var] = pd.array(schemas.LEVELS[var], dtype="str").take(level_codes)
    return pd.DataFrame({**columns, **answers})  # one frame at once, not a column at a time


def survey(family: str, *, n_per_wave: int | None = None) -> pd.DataFrame:
    """All synthetic waves of a survey family, stacked."""
    return pd.concat(
        [survey_wave(family, p, n=n_per_wave) for p in family_periods(family)], ignore_index=True
    )


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
