"""Thematic analyses: electoral registration against population churn, and the strategy's figures.

Two report pages, each read from the build's estimates (``estimates.csv``) and nothing else:

* :class:`RegistrationChurnPage`: the strategy observes that boroughs with high population
  churn have lower electoral registration (GLA 2018, *All of Us*, "London's data",
  Participation, and Figure 3). The page maps both, plots the 33 local authorities, fits an
  ordinary least squares line with classical and HC3 errors and a Huber robust regression,
  examines leverage and Cook's distance (the City of London above all: very few residents and
  very high churn), refits without the City, maps the residuals and writes the interpretation
  from the fitted numbers.
* :class:`StrategyFiguresPage`: Figures 2 to 5 of the strategy rebuilt from the estimates
  (relationships, the registration map, volunteering by group and employment gaps), each with
  a message title, 95% intervals, the strategy's own figure where it quotes one, and the table.

Statistics, charts and pages are separate modules: ``registration_churn`` (statistics),
``registration_churn_charts``, ``registration_churn_page``, ``strategy_figures_charts`` and
``strategy_figures_page``.
"""

from analysis.thematic.registration_churn import (
    CITY,
    STRATEGY,
    X_LABEL,
    Y_LABEL,
    Y_LABEL_PROXY,
    Fit,
    Regression,
    X,
    Y,
    aggregate_figures,
    borough_pair,
    fits_table,
    headline,
    interpretation,
    planted_boroughs,
    regress,
    residual_correlation,
    residual_reading,
    rests_on_city,
)
from analysis.thematic.registration_churn_charts import (
    influence_chart,
    paired_maps,
    residual_map,
    scatter,
)
from analysis.thematic.registration_churn_page import RegistrationChurnPage
from analysis.thematic.strategy_figures_charts import gap_bars, grouped_dots, reference_dots
from analysis.thematic.strategy_figures_page import StrategyFiguresPage

__all__ = [
    "CITY",
    "STRATEGY",
    "X",
    "X_LABEL",
    "Y",
    "Y_LABEL",
    "Y_LABEL_PROXY",
    "Fit",
    "Regression",
    "RegistrationChurnPage",
    "StrategyFiguresPage",
    "aggregate_figures",
    "borough_pair",
    "fits_table",
    "gap_bars",
    "grouped_dots",
    "headline",
    "influence_chart",
    "interpretation",
    "paired_maps",
    "planted_boroughs",
    "reference_dots",
    "regress",
    "residual_correlation",
    "residual_map",
    "residual_reading",
    "rests_on_city",
    "scatter",
]
