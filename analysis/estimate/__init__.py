"""From canonical inputs to the tidy estimates table: one row per figure the reports show.

Survey measures: design-based proportions for London, each population group (domains),
Inner and Outer London and, where the registry allows, every borough, all from one joint
linearisation per wave so that each "compared with London" test uses the covariance of the
part with the whole. Gaps are differences of domain proportions with their covariance.
Admin measures: counts over denominators, with Wilson (proportions) or exact Poisson
(rates) intervals.

One module per concern; every public name is available here, as ``estimate.X``:

* :mod:`~analysis.estimate.survey_data`: a survey family's microdata as arrays, and its waves;
* :mod:`~analysis.estimate.survey_rows`: rows of survey measures (proportions and gaps);
* :mod:`~analysis.estimate.intervals`: Wilson and exact Poisson intervals;
* :mod:`~analysis.estimate.admin`: rows of admin measures and published values;
* :mod:`~analysis.estimate.published`: rows from published rates with intervals;
* :mod:`~analysis.estimate.table`: the table's columns, and finishing, flagging and ordering rows.
"""

from __future__ import annotations

from analysis.estimate.admin import estimate_admin_measure, estimate_admin_value
from analysis.estimate.intervals import Z95, poisson_interval, wilson_interval
from analysis.estimate.published import estimate_published_gap, published_rate_flags
from analysis.estimate.survey_data import SurveyArrays, Wave, level_codes
from analysis.estimate.survey_rows import (
    Column,
    estimate_survey_measure,
    gap_group,
    pooled_label,
    survey_gap_rows,
    survey_proportion_rows,
)
from analysis.estimate.table import (
    DETAIL_COLUMNS,
    ESTIMATE_COLUMNS,
    finish,
    mark_unreliable,
    sort_rows,
)

__all__ = [
    "Column",
    "DETAIL_COLUMNS",
    "ESTIMATE_COLUMNS",
    "SurveyArrays",
    "Wave",
    "Z95",
    "estimate_admin_measure",
    "estimate_admin_value",
    "estimate_published_gap",
    "estimate_survey_measure",
    "finish",
    "gap_group",
    "level_codes",
    "mark_unreliable",
    "poisson_interval",
    "pooled_label",
    "published_rate_flags",
    "sort_rows",
    "survey_gap_rows",
    "survey_proportion_rows",
    "wilson_interval",
]
