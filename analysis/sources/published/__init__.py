"""Loaders for the real published files behind the measures, read exactly as published.

The package has one module per concern, each small enough to read in one sitting:

* :mod:`~analysis.sources.published.registry`: the registry of files
  (``analysis/data/sources.yaml``: where each publisher puts it, the licence, the sha256 of
  the edition this project was built against, and its loader as ``module:function``),
  checked when it loads;
* :mod:`~analysis.sources.published.fetching`: a local copy of a registered file, from a
  mirror folder or a download cache (:mod:`pooch`, the London Datastore API), and
  :func:`load`, which fetches and runs the registered loader;
* :mod:`~analysis.sources.published.readers`: the cell, header, area and validation helpers
  every loader shares;
* one module per publisher layout: :mod:`~.profiles` (London Borough Profiles),
  :mod:`~.population` (ONS MYEB3 and MYE2), :mod:`~.electoral` (Electoral Commission),
  :mod:`~.hate_crime` (Metropolitan Police), :mod:`~.gcse` (DfE/GLA), :mod:`~.employment`
  with :mod:`~.aps` (APS employment rates).

Each ``load_*`` function takes the path of one published file, checks its layout up front
(sheet names, header text, expected columns) and returns a tidy, validated table keyed by GSS
code. When the layout is not what the loader expects it raises
:class:`analysis.validate.InputError` naming the file (and sheet, row and column where that is
meaningful) with what was expected and what was found.

Public API (returned columns):

* :func:`load_borough_profiles` (CSV or XLSX): wide, indexed by ``area_code``; snake_case
  column names, numbers as floats, a few text columns (:data:`PROFILE_TEXT_COLUMNS`).
* :func:`load_population_components`: ``area_code, year, population, internal_in,
  internal_out, international_in, international_out``.
* :func:`load_adults`: ``area_code, year, population, adults``.
* :func:`load_electorate_proxy`: ``area_code, year, electors``.
* :func:`hate_crime_monthly`: ``borough, area_code, major, minor, month, count`` (every row).
* :func:`load_hate_crime`: ``area_code, year, hate_crimes``.
* :func:`load_gcse`: ``area_code, year, pupils, pupils_achieving`` (canonical ``gcse`` table).
* :func:`load_employment_by_ethnicity`, :func:`load_employment_by_sex_disability`,
  :func:`load_employment_all_persons`: ``area_code, year, variable, group, rate,
  ci_half_width, numerator, denominator, marker``.

Command line: ``python -m analysis.sources.published --mirror DIR [KEY ...]`` loads each
source and prints a one-line summary.
"""

from __future__ import annotations

from analysis.sources.published.aps import APS_MARKERS, EMPLOYMENT_COLUMNS, MARKER_ORDER
from analysis.sources.published.electoral import REFERENDUM_YEAR, load_electorate_proxy
from analysis.sources.published.employment import (
    load_employment_all_persons,
    load_employment_by_ethnicity,
    load_employment_by_sex_disability,
)
from analysis.sources.published.fetching import (
    DATASTORE_API,
    SourceUnavailable,
    cache_root,
    datastore_url,
    fetch,
    load,
)
from analysis.sources.published.gcse import load_gcse
from analysis.sources.published.hate_crime import (
    HATE_CRIME_SERIES,
    hate_crime_monthly,
    load_hate_crime,
)
from analysis.sources.published.population import FLOWS, load_adults, load_population_components
from analysis.sources.published.profiles import (
    PROFILE_TEXT_COLUMNS,
    load_borough_profiles,
    snake_case,
)
from analysis.sources.published.registry import (
    SOURCES,
    Source,
    SourceRegistryError,
    get_source,
    load_registry,
    loader_of,
)

__all__ = [
    "APS_MARKERS",
    "DATASTORE_API",
    "EMPLOYMENT_COLUMNS",
    "FLOWS",
    "HATE_CRIME_SERIES",
    "MARKER_ORDER",
    "PROFILE_TEXT_COLUMNS",
    "REFERENDUM_YEAR",
    "SOURCES",
    "Source",
    "SourceRegistryError",
    "SourceUnavailable",
    "cache_root",
    "datastore_url",
    "fetch",
    "get_source",
    "hate_crime_monthly",
    "load",
    "load_adults",
    "load_borough_profiles",
    "load_electorate_proxy",
    "load_employment_all_persons",
    "load_employment_by_ethnicity",
    "load_employment_by_sex_disability",
    "load_gcse",
    "load_hate_crime",
    "load_population_components",
    "load_registry",
    "loader_of",
    "snake_case",
]
