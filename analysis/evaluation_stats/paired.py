"""Change among participants: McNemar's tests, Wilson and Newcombe intervals, Obuchowski's
clustered test and the site-clustered mean change.

Why both a clustered and an unclustered test: participants sit in project sites, so the
reported test allows for them; the mid-p McNemar test, which ignores them, is shown beside it
to say how much the sites matter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from analysis.cluster_robust import ClusteredOLS, Inference
from analysis.estimate import wilson_interval
from analysis.evaluation import Outcome
from analysis.evaluation_stats.answer_tables import analysis_seed, paired_table
from analysis.evaluation_stats.verdicts import ALPHA, SiteClusteredEffect, Verdict


@dataclass(frozen=True)
class McNemar:
    """A McNemar test from the discordant pairs, with the name of the variant used."""

    b: int  # yes before, no after
    c: int  # no before, yes after
    statistic: float
    pvalue: float
    method: str


def mcnemar_midp(b: int, c: int) -> McNemar:
    """The mid-p McNemar test from the discordant pairs.

    p = 2 [P(X <= k) - P(X = k) / 2] with k = min(b, c) and X ~ Binomial(b + c, 1/2); that is
    the exact conditional p-value minus the probability of the observed table. Fagerland,
    Lydersen and Laake (2013, "The McNemar test for binary matched-pairs data: mid-p and
    asymptotic are better than exact conditional", BMC Medical Research Methodology 13:91)
    found it close to nominal where the exact and continuity-corrected tests are conservative.
    Equal discordant counts give p = 1 exactly (the observed table is the centre of a
    symmetric distribution).
    """
    b, c = int(b), int(c)
    n = b + c
    if n == 0:
        return McNemar(
            b, c, float("nan"), 1.0, "mid-p McNemar test: no answers changed, no test possible"
        )
    if b == c:
        return McNemar(b, c, 0.0, 1.0, "mid-p McNemar test")
    k = min(b, c)
    p = 2 * (stats.binom.cdf(k, n, 0.5) - 0.5 * stats.binom.pmf(k, n, 0.5))
    return McNemar(b, c, float((b - c) ** 2 / n), float(min(1.0, p)), "mid-p McNemar test")


def mcnemar_asymptotic(b: int, c: int) -> McNemar:
    """McNemar's uncorrected chi-square test, the other test Fagerland et al. (2013) recommend."""
    n = b + c
    if n == 0:
        return McNemar(b, c, float("nan"), 1.0, "McNemar chi-square test: no answers changed")
    x2 = (b - c) ** 2 / n
    return McNemar(
        int(b), int(c), float(x2), float(stats.chi2.sf(x2, 1)), "McNemar chi-square test"
    )


def wilson(x: float, n: float, alpha: float = ALPHA) -> tuple[float, float]:
    """Wilson score interval for one proportion: the estimates' own
    (:func:`analysis.estimate.wilson_interval`), kept inside [0, 1] against rounding."""
    if n == 0:
        return (float("nan"), float("nan"))
    lower, upper = wilson_interval(
        np.asarray(x), np.asarray(n), z=float(stats.norm.ppf(1 - alpha / 2))
    )
    return (max(0.0, float(lower)), min(1.0, float(upper)))


def newcombe_paired_ci(
    a: int, b: int, c: int, d: int, alpha: float = ALPHA
) -> tuple[float, float, float]:
    """Newcombe's (1998) hybrid score interval for the change in a paired proportion.

    The table is before (rows: yes, no) by after (columns: yes, no): ``a`` yes/yes, ``b``
    yes/no, ``c`` no/yes, ``d`` no/no. Returns (change, lower, upper) for
    p_after - p_before = (c - b) / n. Method 10 of Newcombe, R.G. (1998), Statistics in
    Medicine 17, 2635-2650: Wilson intervals for the two margins combined by square-and-add,
    with their correlation estimated by a continuity-corrected phi. It treats pairs as
    independent, so the page shows it only beside the site-clustered interval.
    """
    n = a + b + c + d
    if n == 0:
        return (float("nan"),) * 3
    p_before, p_after = (a + b) / n, (a + c) / n
    l1, u1 = wilson(a + b, n, alpha)
    l2, u2 = wilson(a + c, n, alpha)
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    phi = 0.0
    if margins > 0:
        cross = a * d - b * c
        corrected = cross - n / 2 if cross > n / 2 else (cross if cross < 0 else 0.0)
        phi = corrected / math.sqrt(margins)
    change = p_after - p_before
    lower = change - math.sqrt(
        max(
            0.0,
            (p_after - l2) ** 2 - 2 * phi * (p_after - l2) * (u1 - p_before) + (u1 - p_before) ** 2,
        )
    )
    upper = change + math.sqrt(
        max(
            0.0,
            (u2 - p_after) ** 2 - 2 * phi * (u2 - p_after) * (p_before - l1) + (p_before - l1) ** 2,
        )
    )
    return (change, max(-1.0, lower), min(1.0, upper))


@dataclass(frozen=True)
class PairedChange(SiteClusteredEffect):
    """Change among participants answering at both waves: the 2 x 2 table of their answers
    (``a`` yes/yes, ``b`` yes/no, ``c`` no/yes, ``d`` no/no), the shares before and after, and
    the change with errors clustered by site beside the tests that ignore the sites."""

    no_effect: ClassVar[Verdict] = Verdict.NO_CHANGE

    outcome: Outcome
    n: int
    a: int
    b: int
    c: int
    d: int
    pre: float  # %
    post: float  # %
    change: float  # percentage points
    clustered: Inference  # mean change, errors clustered by site (points)
    newcombe_lower: float  # ignoring sites
    newcombe_upper: float
    test: McNemar  # mid-p, ignoring sites
    obuchowski_p: float

    @property
    def effect(self) -> float:
        # the change in the two proportions; the mean of individual changes equals it
        return self.change

    def _unclustered_check(self) -> tuple[str, float]:
        return ("mid-p McNemar ignoring sites", self.test.pvalue)


def obuchowski_test(change: np.ndarray, clusters: np.ndarray) -> tuple[float, float, float]:
    """Obuchowski's (1998) clustered McNemar test from individual changes (after minus before).

    The paired difference of proportions, sum(change)/N, with variance
    G/(G - 1) x sum_g (sum_{i in g} (change_i - mean))^2 / N^2 (R ``survey::svymean`` with
    ``ids = ~site``); the statistic is chi-square on 1 degree of freedom. Returns (difference,
    standard error, p).
    """
    change = np.asarray(change, float)
    codes = pd.factorize(np.asarray(clusters))[0]
    G, N = codes.max() + 1, len(change)
    mean = change.mean()
    z = np.bincount(codes, weights=change - mean, minlength=G) / N
    se = math.sqrt(G / (G - 1) * (z @ z))
    x2 = mean**2 / se**2 if se > 0 else float("nan")
    return float(mean), se, float(stats.chi2.sf(x2, 1)) if se > 0 else 1.0


def paired_change(
    frame: pd.DataFrame, outcome: Outcome, group: str = "programme", *, label: str = ""
) -> PairedChange:
    """Change among participants answering twice, clustered by site, with the mid-p McNemar test beside it."""
    w = paired_table(frame, outcome.code, group)
    a = int(((w.pre == 1) & (w.post == 1)).sum())
    b = int(((w.pre == 1) & (w.post == 0)).sum())
    c = int(((w.pre == 0) & (w.post == 1)).sum())
    d = int(((w.pre == 0) & (w.post == 0)).sum())
    n = a + b + c + d
    if n == 0:
        raise ValueError(f"No {group} participant answered {outcome.code!r} at both waves")
    change, lo, hi = newcombe_paired_ci(a, b, c, d)
    if w["site"].nunique() < 2:
        raise ValueError(
            f"{outcome.code!r}: the {group} participants answering twice are all at one site; "
            "a site-clustered analysis needs at least two"
        )
    fit = ClusteredOLS(np.ones(n), 100.0 * w["change"].to_numpy(float), w["site"].to_numpy())
    inference = fit.infer(
        0, seed=analysis_seed("paired", label, outcome.code), bounds=(-100.0, 100.0)
    )
    _, _, p_obu = obuchowski_test(w["change"].to_numpy(float), w["site"].to_numpy())
    return PairedChange(
        outcome,
        n,
        a,
        b,
        c,
        d,
        100 * (a + b) / n,
        100 * (a + c) / n,
        100 * change,
        inference,
        100 * lo,
        100 * hi,
        mcnemar_midp(b, c),
        p_obu,
    )
