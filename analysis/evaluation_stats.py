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
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy import optimize, stats

from analysis.cluster_robust import ClusteredOLS, Inference
from analysis.estimate import wilson_interval
from analysis.evaluation import Outcome, Polarity

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

ALPHA = 0.05
POWER = 0.80
WAVES = ("pre", "post")
ICC_RANGE = (
    0.02,
    0.05,
    0.10,
)  # planning intra-site correlations of individual change (see mde_planning)


# ------------------------------------------------------------------------------------------
# McNemar's test: mid-p (Fagerland, Lydersen and Laake 2013)


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


# ------------------------------------------------------------------------------------------
# Tables of changes


def changes(frame: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """One row per person (both groups) answering ``outcome`` at both waves: group, site, pre, post, change."""
    rows = frame[frame[outcome].notna()]
    wide = rows.pivot_table(
        index=["participant_id", "group", "site"],
        columns="wave",
        values=outcome,
        aggfunc="first",
        observed=True,
    )
    wide = wide.reindex(columns=list(WAVES)).dropna().reset_index()
    wide = wide.astype({"pre": int, "post": int})
    wide["change"] = wide["post"] - wide["pre"]
    return wide


def paired_table(frame: pd.DataFrame, outcome: str, group: str = "programme") -> pd.DataFrame:
    """One row per member of ``group`` answering ``outcome`` at both waves: pre, post, site."""
    w = changes(frame, outcome)
    return w[w["group"] == group].reset_index(drop=True)


def balanced_panel(frame: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """Long rows of everyone (both groups) who answered ``outcome`` at both waves (for the logit check)."""
    rows = frame[frame[outcome].notna()]
    both = rows.groupby("participant_id")["wave"].nunique()
    keep = both[both == 2].index
    panel = rows[rows["participant_id"].isin(keep)].copy()
    panel["y"] = panel[outcome].astype(float)
    panel["treated"] = (panel["group"] == "programme").astype(float)
    panel["post"] = (panel["wave"] == "post").astype(float)
    return panel.reset_index(drop=True)


def _seed(*parts: str) -> int:
    """A stable seed for an analysis (the same draws at every build)."""
    return zlib.crc32("|".join(parts).encode())


# ------------------------------------------------------------------------------------------
# Verdicts: the evaluation's rulebook


class Verdict(StrEnum):
    """The words a page may use for an evaluation result, and no others.

    Why an enum: the page picks colours, markers and sentences by the verdict, so a misspelt
    word would silently fall through to the wrong branch; members compare equal to their text.
    """

    IMPROVED = "improved"
    WORSENED = "worsened"
    NO_CHANGE = "no significant change"  # change among participants
    NO_DIFFERENCE = "no significant difference"  # difference-in-differences


def verdict(estimate: float, p: float, polarity: Polarity, *, none: Verdict) -> Verdict:
    """Improved, worsened or ``none``: significant at 5% and in which direction for the outcome."""
    if not (p < ALPHA) or estimate == 0:
        return none
    return Verdict.IMPROVED if (estimate > 0) == (polarity == "up") else Verdict.WORSENED


@dataclass(frozen=True)
class Robustness:
    """Whether a conclusion survives the other reasonable analyses (fragility)."""

    robust: bool
    text: str


def robustness(primary: tuple[str, float], checks: list[tuple[str, float]]) -> Robustness:
    """Compare significance at 5% under the reported analysis and each check; say which disagree."""
    name, p = primary
    significant = p < ALPHA
    against = [(n, q) for n, q in checks if np.isfinite(q) and (q < ALPHA) != significant]
    if not against:
        return Robustness(True, "robust: same conclusion under every check")
    word = "not significant" if significant else "significant"
    return Robustness(
        False, f"fragile: {word} with " + " and ".join(f"{n} (p = {q:.3f})" for n, q in against)
    )


def _short(inf: Inference) -> str:
    """Short name of the small-sample method *not* reported (the first check)."""
    return "the wild bootstrap" if inf.method == "CR2" else "CR2"


class SiteClusteredEffect:
    """What the change among participants and the difference-in-differences share.

    Why: both report one effect with errors clustered by site; the interval, p-value, verdict
    and fragility checks are read from that inference the same way, and only the words for
    "nothing found" and the check that ignores the sites differ.
    """

    outcome: Outcome
    clustered: Inference
    no_effect: ClassVar[Verdict]

    @property
    def effect(self) -> float:
        """The effect the verdict judges, in percentage points."""
        return self.clustered.estimate

    @property
    def lower(self) -> float:
        return self.clustered.lower

    @property
    def upper(self) -> float:
        return self.clustered.upper

    @property
    def pvalue(self) -> float:
        return self.clustered.p

    @property
    def significant(self) -> bool:
        return self.pvalue < ALPHA

    @property
    def verdict(self) -> Verdict:
        return verdict(self.effect, self.pvalue, self.outcome.polarity, none=self.no_effect)

    def _unclustered_check(self) -> tuple[str, float]:
        """(name, p-value) of the analysis that treats people as independent of their site."""
        raise NotImplementedError

    @property
    def robustness(self) -> Robustness:
        inf = self.clustered
        return robustness(
            (inf.method, inf.p),
            [(_short(inf), inf.p_other), ("CR1", inf.p_cr1), self._unclustered_check()],
        )


# ------------------------------------------------------------------------------------------
# Change among participants


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
    inference = fit.infer(0, seed=_seed("paired", label, outcome.code), bounds=(-100.0, 100.0))
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


# ------------------------------------------------------------------------------------------
# Difference-in-differences


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
    inference = site.infer(1, seed=_seed("did", label, outcome.code), bounds=(-200.0, 200.0))
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
    fit = Logit(long["y"].to_numpy(float), X).fit(
        disp=0, cov_type="cluster", cov_kwds={"groups": codes}
    )
    lo, hi = fit.conf_int()[3]
    return float(np.exp(fit.params[3])), float(np.exp(lo)), float(np.exp(hi)), float(fit.pvalues[3])


# ------------------------------------------------------------------------------------------
# Minimum detectable effects (two-sided 5%, 80% power)


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
