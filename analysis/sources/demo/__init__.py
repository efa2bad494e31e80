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

One module per concern; every public name is available here, as ``demo.X``:

* :mod:`~analysis.sources.demo.assumptions`: the profile, checked; population mixes; seeded
  generators; the boroughs' profiles;
* :mod:`~analysis.sources.demo.respondents`: a wave's sample design and demographics;
* :mod:`~analysis.sources.demo.answers`: calibrated answers to a survey item;
* :mod:`~analysis.sources.demo.survey_waves`: waves and families in the canonical schema;
* :mod:`~analysis.sources.demo.admin`: the admin tables.
"""

from __future__ import annotations

from analysis.sources.demo.admin import admin_tables
from analysis.sources.demo.assumptions import (
    PROFILE_FILE,
    BoroughProfile,
    DemoProfileError,
    Population,
    borough_profile,
    check_profile,
    family_periods,
    level_shares,
    population,
    profile,
    seeded_rng,
)
from analysis.sources.demo.survey_waves import (
    expected_respondents,
    survey,
    survey_wave,
    surveys,
    validated_survey,
)

__all__ = [
    "PROFILE_FILE",
    "BoroughProfile",
    "DemoProfileError",
    "Population",
    "admin_tables",
    "borough_profile",
    "check_profile",
    "expected_respondents",
    "family_periods",
    "level_shares",
    "population",
    "profile",
    "seeded_rng",
    "survey",
    "survey_wave",
    "surveys",
    "validated_survey",
]
