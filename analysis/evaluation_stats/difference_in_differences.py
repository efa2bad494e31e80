"""Difference-in-differences: the participants' change minus the comparison group's, errors
clustered by site, with a logit model as a check on the linear scale.

Why the comparison group: answers can drift for everyone over the same months; subtracting
the comparison group's change removes what moved both groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from analysis.cluster_robust import ClusteredOLS, Inference
from analysis.evaluation import Outcome
from analysis.evaluation_stats.answer_tables import WAVES, analysis_seed, changes
from analysis.evaluation_stats.verdicts import SiteClusteredEffect, Verdict


@dataclass(frozen=True)
class DiD(SiteClusteredEffect):
    """Difference-in-differences: the participants' change minus the comparison group's, with
    errors clustered by site and the checks that judge whether the result is fragile."""

    no_effect: ClassVar[Verdict] = Verdict.NO_DIFFERENCE

    outcome: Outcome
    clustered: Inference  # clustered by site (points)
    by_participant: (
        Inference  # the same model, participants as independent units (HC2 with Bell-McCaffrey df)
    )
    n_participants: int
    n_programme: int
    n_comparison: int
    means: pd.DataFrame  # group x wave: % yes, n
    site_counts: pd.DataFrame  # site x group: people answering twice
    sd_change: float  # pooled within-group SD of individual change (proportion scale)
    icc: float  # estimated intra-site correlation of change (within groups), floored at 0
    odds_ratio: float  # logit: ratio of odds ratios (programme change over comparison change)
    or_lower: float
    or_upper: float
    or_pvalue: float

    @property
    def estimate(self) -> float:
        return self.clustered.estimate

    @property
    def n_clusters(self) -> int:
        return self.clustered.n_clusters

    def _unclustered_check(self) -> tuple[str, float]:
        return ("errors clustered by participant", self.by_participant.p_cr2)


def did(frame: pd.DataFrame, outcome: Outcome, *, label: str = "", logit: bool = True) -> DiD:
    """Difference-in-differences on everyone answering at both waves, errors clustered by site.

    OLS of each person's change (after minus before, percentage points) on an intercept and a
    programme indicator: the coefficient is the programme group's mean change minus the
    comparison group's, which with a balanced panel equals the interaction in
    ``y ~ treated * post``. Site effects shared by both groups cancel in it as far as each site
    holds both groups in the same proportions as the whole sample. A logit of ``y ~ treated * post`` (CR1 by site) gives the ratio of odds
    ratios, as a check that the result does not hang on the linear scale.
    """
    w = changes(frame, outcome.code)
    if w["group"].nunique() < 2:
        raise ValueError(
            f"{outcome.code!r}: both the programme and the comparison group need answers at both waves"
        )
    treated = (w["group"] == "programme").to_numpy(float)
    X = np.column_stack([np.ones(len(w)), treated])
    y = 100.0 * w["change"].to_numpy(float)
    site = ClusteredOLS(X, y, w["site"].to_numpy())
    inference = site.infer(
        1, seed=analysis_seed("did", label, outcome.code), bounds=(-200.0, 200.0)
    )
    person = ClusteredOLS(X, y, w["participant_id"].to_numpy()).infer(1, seed=0, bootstrap=False)
    long = w.melt(
        id_vars=["participant_id", "group", "site"],
        value_vars=list(WAVES),
        var_name="wave",
        value_name="y",
    )
    means = (
        long.groupby(["group", "wave"])["y"]
        .agg(["mean", "size"])
        .rename(columns={"mean": "share", "size": "n"})
        .reset_index()
    )
    means["share"] *= 100
    var = w.groupby("group")["change"].var(ddof=1)
    sizes = w.groupby("group").size()
    pooled = float(np.sqrt(((sizes - 1) * var).sum() / (sizes.sum() - len(sizes))))
    resid = w["change"] - w.groupby("group")["change"].transform("mean")
    icc = icc_anova(resid.to_numpy(float), w["site"].to_numpy())
    counts = w.groupby(["site", "group"]).size().unstack("group", fill_value=0)
    odds = _logit_check(w) if logit else (float("nan"),) * 4
    return DiD(
        outcome,
        inference,
        person,
        len(w),
        int(sizes.get("programme", 0)),
        int(sizes.get("comparison", 0)),
        means,
        counts,
        pooled,
        icc,
        *odds,
    )


def _logit_check(w: pd.DataFrame) -> tuple[float, float, float, float]:
    from statsmodels.discrete.discrete_model import Logit

    long = w.melt(
        id_vars=["participant_id", "group", "site"],
        value_vars=list(WAVES),
        var_name="wave",
        value_name="y",
    )
    t = (long["group"] == "programme").to_numpy(float)
    p = (long["wave"] == "post").to_numpy(float)
    X = np.column_stack([np.ones(len(long)), t, p, t * p])
    codes = pd.factorize(long["site"])[0]
    # check_rank=False: X has full rank by construction (both groups, each person at both
    # waves), and statsmodels' check is a full QR of the n x n kind, about 0.1 s a fit
    fit = Logit(long["y"].to_numpy(float), X, check_rank=False).fit(
        disp=0, cov_type="cluster", cov_kwds={"groups": codes}
    )
    lo, hi = fit.conf_int()[3]
    return float(np.exp(fit.params[3])), float(np.exp(lo)), float(np.exp(hi)), float(fit.pvalues[3])


def icc_anova(values: np.ndarray, clusters: np.ndarray) -> float:
    """One-way ANOVA estimate of the intra-cluster correlation (floored at 0)."""
    frame = pd.DataFrame({"y": values, "g": clusters})
    k = frame["g"].nunique()
    n = len(frame)
    if k < 2 or n <= k:
        return 0.0
    sizes = frame.groupby("g").size()
    grand = frame["y"].mean()
    means = frame.groupby("g")["y"].transform("mean")
    msb = (sizes * (frame.groupby("g")["y"].mean() - grand) ** 2).sum() / (k - 1)
    msw = ((frame["y"] - means) ** 2).sum() / (n - k)
    n0 = (n - (sizes**2).sum() / n) / (k - 1)
    icc = (msb - msw) / (msb + (n0 - 1) * msw) if (msb + (n0 - 1) * msw) > 0 else 0.0
    return float(max(0.0, icc))
