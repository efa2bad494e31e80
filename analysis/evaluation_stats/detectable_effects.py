"""Minimum detectable effects (two-sided 5%, 80% power): from the fitted standard errors, and
planning figures for other intra-site correlations and numbers of sites.

Why on the page: 'no significant difference' does not mean no effect; these say how large an
effect the evaluation could have missed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from analysis.evaluation import Outcome
from analysis.evaluation_stats.difference_in_differences import DiD
from analysis.evaluation_stats.paired import PairedChange
from analysis.evaluation_stats.verdicts import ALPHA

POWER = 0.80

ICC_RANGE = (
    0.02,
    0.05,
    0.10,
)  # planning intra-site correlations of individual change (see mde_planning)


def multiplier(alpha: float = ALPHA, power: float = POWER, df: float | None = None) -> float:
    """z(1 - alpha/2) + z(power), or the t equivalent on ``df`` degrees of freedom (Bloom 1995)."""
    if df is None:
        return float(stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power))
    return float(stats.t.ppf(1 - alpha / 2, df) + stats.t.ppf(power, df))


def mde_from_se(
    se: float, df: float | None, *, alpha: float = ALPHA, power: float = POWER
) -> float:
    """The smallest true effect a test with this standard error and reference distribution detects with ``power``."""
    return multiplier(alpha, power, df) * se


def mde_two_groups(
    n1: float,
    n2: float,
    sd: float,
    *,
    alpha: float = ALPHA,
    power: float = POWER,
    design_effect: float = 1.0,
    df: float | None = None,
) -> float:
    """M * sd * sqrt(1/n1 + 1/n2) * sqrt(design effect): two independent groups."""
    return multiplier(alpha, power, df) * sd * math.sqrt((1 / n1 + 1 / n2) * design_effect)


def mde_paired(n: int, discordant: float, *, alpha: float = ALPHA, power: float = POWER) -> float:
    """Smallest paired change in a proportion McNemar's test detects with independent pairs (Connor 1987)."""
    psi = float(discordant)
    if n <= 0 or psi <= 0:
        return float("nan")
    za, zb = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)

    def gap(delta: float) -> float:
        return (
            delta * math.sqrt(n)
            - za * math.sqrt(psi)
            - zb * math.sqrt(max(0.0, psi - delta * delta))
        )

    top = math.sqrt(psi)
    if gap(top) < 0:
        return float("nan")
    return float(optimize.brentq(gap, 1e-12, top))


def connor_n(
    delta: float, discordant: float, *, alpha: float = ALPHA, power: float = POWER
) -> float:
    """Pairs needed for McNemar's test to detect ``delta`` (Connor 1987), unrounded."""
    za, zb = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    return (za * math.sqrt(discordant) + zb * math.sqrt(discordant - delta**2)) ** 2 / delta**2


def did_variance_factor(
    programme: np.ndarray, comparison: np.ndarray, icc: float, *, shared: bool
) -> float:
    """Var(DiD) / SD(change)^2 for the design the data have: people per site in each group.

    Change scores with a site component of variance ``icc`` x SD^2. If the site component is
    shared by both groups at a site (``shared=True``) it cancels in proportion to how evenly each
    site splits between the groups: icc x sum_j (n_Pj/N_P - n_Cj/N_C)^2. If it is separate for
    each group at a site (the programme effect itself varies by site), nothing cancels:
    icc x [sum_j (n_Pj/N_P)^2 + sum_j (n_Cj/N_C)^2]. Either way the person component adds
    (1 - icc)(1/N_P + 1/N_C). The truth lies between the two.
    """
    p = np.asarray(programme, float)
    c = np.asarray(comparison, float)
    wp, wc = p / p.sum(), c / c.sum()
    between = ((wp - wc) ** 2).sum() if shared else (wp**2).sum() + (wc**2).sum()
    return (1 - icc) * (1 / p.sum() + 1 / c.sum()) + icc * between


@dataclass(frozen=True)
class MDE:
    """Minimum detectable effects of one success measure, in percentage points: what a
    'no significant difference' could have missed (see :func:`mde`)."""

    outcome: Outcome
    n_pairs: int
    paired: float  # points: from the fitted, site-clustered standard error of the mean change
    paired_df: float
    did: float  # points: from the fitted, site-clustered standard error of the DiD
    did_df: float
    icc: float  # estimated intra-site correlation of change
    planning: dict[
        float, tuple[float, float]
    ]  # ICC -> (site effects shared, separate) MDE in points
    n_sites: int


def mde(pc: PairedChange, d: DiD, iccs: tuple[float, ...] = ICC_RANGE) -> MDE:
    """Minimum detectable effects at two-sided 5% and 80% power for the design the data have.

    From the fitted analysis: (t(1 - alpha/2, df) + t(power, df)) x SE, with the standard error
    and degrees of freedom of the reported analysis (CR2's Bell-McCaffrey df, or G - 1 beside the
    bootstrap). Planning at other intra-site correlations: the same multiplier on G - 1 degrees
    of freedom times SD(change) x sqrt(:func:`did_variance_factor`), from the sites' actual
    numbers of programme and comparison members.
    """
    paired = mde_from_se(pc.clustered.se, pc.clustered.df)
    did_mde = mde_from_se(d.clustered.se, d.clustered.df)
    counts = d.site_counts.reindex(columns=["programme", "comparison"], fill_value=0)
    G = len(counts)
    m = multiplier(df=G - 1)
    planning = {
        icc: (
            100
            * m
            * d.sd_change
            * math.sqrt(
                did_variance_factor(counts["programme"], counts["comparison"], icc, shared=True)
            ),
            100
            * m
            * d.sd_change
            * math.sqrt(
                did_variance_factor(counts["programme"], counts["comparison"], icc, shared=False)
            ),
        )
        for icc in iccs
    }
    return MDE(
        pc.outcome, pc.n, paired, pc.clustered.df, did_mde, d.clustered.df, d.icc, planning, G
    )


def mde_more_sites(d: DiD, sites: int) -> float:
    """The fitted MDE if there were ``sites`` sites like the present ones (SE scales with sqrt(G/G'), df G' - 1)."""
    G = d.clustered.n_clusters
    return mde_from_se(d.clustered.se * math.sqrt(G / sites), sites - 1)
