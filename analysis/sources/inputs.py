"""The canonical inputs of a build: what every source turns its files into.

A build's data step (:mod:`analysis.pipeline`) reads nothing but an :class:`Inputs`: survey
microdata by family, admin tables by name, published estimates by measure, and what the
source says about them. The sources (:mod:`analysis.sources.interface`) make it; keeping the
type beside them, not in the pipeline, means a new source needs nothing from the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:  # only for the annotation of source_label
    from analysis.measures import Measure

SYNTHETIC_SOURCE = "Synthetic demonstration data (not real statistics), modelled on: {}"


@dataclass
class Inputs:
    """Canonical inputs for a build: survey microdata by family and admin tables by name."""

    surveys: dict[str, pd.DataFrame] = field(default_factory=dict)
    admin: dict[str, pd.DataFrame] = field(default_factory=dict)
    published: dict[str, pd.DataFrame] = field(
        default_factory=dict
    )  # published estimates, by measure id
    source_notes: dict[str, str] = field(
        default_factory=dict
    )  # measure id -> source label for this build
    # measure ids whose figures in this build stand in for the measure (a proxy): their rows'
    # ``proxy`` column is true, and the pages label them "(proxy)" (analysis.provenance)
    proxies: frozenset[str] = frozenset()
    # measure id -> rows (area_code, period, why) whose denominator the source knows to be unreliable
    unreliable: dict[str, pd.DataFrame] = field(default_factory=dict)
    synthetic: bool = False
    lonely_psu: str = "fail"
    validated: bool = False  # set by validate_inputs (and by sources that validate as they load)
    neighbours: pd.DataFrame | None = (
        None  # each borough's statistical neighbours (analysis.neighbours)
    )
    # borough covariates of the small area models (analysis.sae.covariates); None: no models
    area_covariates: pd.DataFrame | None = None

    def source_label(self, measure: Measure) -> str:
        source = self.source_notes.get(measure.id, measure.source)
        return SYNTHETIC_SOURCE.format(source) if self.synthetic else source
