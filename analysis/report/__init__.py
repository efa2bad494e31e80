"""Report pages: what the notebooks call. Each section reads the build's estimates and
returns HTML (charts, tables and sentences) for the notebook to display.

Nothing here estimates anything: the numbers come from ``estimates.csv``, ``changes.csv`` and
``trends.csv`` written once per build by :mod:`analysis.pipeline`.

* :mod:`analysis.report.base`: the build's data, the synthetic notice, boundaries, the page base
  class and :class:`Section`;
* :mod:`analysis.report.indicators`: the rows pages select (headline series, latest periods,
  every borough indicator with its verdict and rank);
* :mod:`analysis.report.measure`, :mod:`~analysis.report.borough`,
  :mod:`~analysis.report.london`: one module per page.
"""

from analysis.report.base import (
    DEFAULT_DATA_DIR,
    Page,
    ReportData,
    Section,
    _p,
    boundaries,
    load,
    missing_measures,
    notice,
)
from analysis.report.borough import BoroughPage, spine_title
from analysis.report.indicators import (
    borough_indicator_rows,
    headline_indicators,
    latest_period,
    main_rows,
)
from analysis.report.london import LondonPage
from analysis.report.measure import MeasurePage

__all__ = [
    "DEFAULT_DATA_DIR",
    "BoroughPage",
    "LondonPage",
    "MeasurePage",
    "Page",
    "ReportData",
    "Section",
    "_p",
    "borough_indicator_rows",
    "boundaries",
    "headline_indicators",
    "latest_period",
    "load",
    "main_rows",
    "missing_measures",
    "notice",
    "spine_title",
]
