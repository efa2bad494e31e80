"""Programme evaluation statistics: paired change, difference-in-differences, minimum detectable
effects, and the rules that turn them into verdicts.

Participants sit in project sites, so every test here allows for sites:

* **Change among participants** is the mean of individual changes (after minus before, 0/1
  answers, in percentage points) with standard errors clustered by site. With the CR1-type
  factor G/(G - 1) this is Obuchowski's (1998) clustered McNemar test
  (:func:`obuchowski_test`, checked against R's ``survey::svymean`` with ``ids = ~site``); the
  page reports it with the small-sample method chosen by
  :func:`analysis.cluster_robust.choose_method`. The mid-p McNemar test (Fagerland, Lydersen and
  Laake 2013), which treats participants as independent, is shown beside it to say how much the
  sites matter.
* **Difference-in-differences** is the difference between the two groups' mean changes: OLS of
  each person's change on a programme indicator, errors clustered by site, with the same
  small-sample method. With a balanced panel this is exactly the interaction of
  ``y ~ treated * post``. Clustering by participant instead is reported as a fragility check.
* **Minimum detectable effects** come from the fitted standard error and the analysis's own t
  reference distribution; planning figures for other intra-site correlations use the design the
  data have (how each site's people split between the programme and comparison groups).

Everything is unweighted: an evaluation sample describes the people surveyed, not London.

One module per concern; every public name is available here, as ``evaluation_stats.X``:

* :mod:`~analysis.evaluation_stats.verdicts`: the words a result may be given, and fragility;
* :mod:`~analysis.evaluation_stats.answer_tables`: each person's change, pairs and panels;
* :mod:`~analysis.evaluation_stats.paired`: change among participants (McNemar, Wilson,
  Newcombe, Obuchowski, the site-clustered mean change);
* :mod:`~analysis.evaluation_stats.difference_in_differences`: the participants' change minus
  the comparison group's, and the intra-site correlation;
* :mod:`~analysis.evaluation_stats.detectable_effects`: minimum detectable effects.
"""

from __future__ import annotations

from analysis.evaluation_stats.answer_tables import WAVES, balanced_panel, changes, paired_table
from analysis.evaluation_stats.detectable_effects import (
    ICC_RANGE,
    MDE,
    POWER,
    connor_n,
    did_variance_factor,
    mde,
    mde_from_se,
    mde_more_sites,
    mde_paired,
    mde_two_groups,
    multiplier,
)
from analysis.evaluation_stats.difference_in_differences import DiD, did, icc_anova
from analysis.evaluation_stats.paired import (
    McNemar,
    PairedChange,
    mcnemar_asymptotic,
    mcnemar_midp,
    newcombe_paired_ci,
    obuchowski_test,
    paired_change,
    wilson,
)
from analysis.evaluation_stats.verdicts import (
    ALPHA,
    Robustness,
    SiteClusteredEffect,
    Verdict,
    robustness,
    verdict,
)

__all__ = [
    "ALPHA",
    "DiD",
    "ICC_RANGE",
    "MDE",
    "McNemar",
    "POWER",
    "PairedChange",
    "Robustness",
    "SiteClusteredEffect",
    "Verdict",
    "WAVES",
    "balanced_panel",
    "changes",
    "connor_n",
    "did",
    "did_variance_factor",
    "icc_anova",
    "mcnemar_asymptotic",
    "mcnemar_midp",
    "mde",
    "mde_from_se",
    "mde_more_sites",
    "mde_paired",
    "mde_two_groups",
    "multiplier",
    "newcombe_paired_ci",
    "obuchowski_test",
    "paired_change",
    "paired_table",
    "robustness",
    "verdict",
    "wilson",
]
