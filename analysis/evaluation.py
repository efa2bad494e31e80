"""Programme evaluation: pre/post participant surveys for the Mayor's social integration initiatives.

The strategy commits City Hall to "pre- and post- surveys" of the Londoners taking part in its
initiatives, with success measures that mirror the state of social integration measures
(GLA 2018, *All of Us*, Policy 4.3, paragraph 4.3.2 and Table 5). This module holds

* the initiatives and their success measures (:data:`INITIATIVES`, from Table 5);
* the input format for real evaluation data (one row per participant per wave; see
  ``docs/evaluation_format.md``), its validation and loading (:func:`load`, :func:`validate`);
* the statistics: McNemar's test for paired binary answers (:func:`mcnemar_test`), Newcombe's
  interval for the paired change in a proportion (:func:`newcombe_paired_ci`) with the Wald
  interval beside it (:func:`wald_paired_ci`), difference-in-differences against a comparison
  group with cluster-robust errors (:func:`did`), and minimum detectable effects
  (:func:`mde_two_groups`, :func:`mde_paired`, :func:`mde_did`);
* the report page (:class:`EvaluationPage`), whose sections the notebook
  ``notebooks/programme_evaluation.ipynb`` displays.

Everything is unweighted: an evaluation sample of programme participants is not a probability
sample of Londoners, so the figures describe the people surveyed, not a population.
"""

from __future__ import annotations

import html
import math
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize, stats

from analysis import charts, geography, tables
from analysis.report import Section
from analysis.validate import Column, InputError, Schema
from analysis.validate import validate as validate_schema

ALPHA = 0.05
POWER = 0.80
EXACT_BELOW = 25  # McNemar: exact binomial test when there are fewer discordant pairs than this
GROUPS = ("programme", "comparison")
WAVES = ("pre", "post")
DOC = "docs/evaluation_format.md"
STRATEGY = ("Greater London Authority (2018), All of Us: The Mayor's Strategy for Social Integration, "
            "Policy 4.3 (paragraph 4.3.2) and Table 5")


# ------------------------------------------------------------------------------------------
# Initiatives and their success measures (Table 5 of the strategy)


@dataclass(frozen=True)
class Outcome:
    """One binary success measure asked at both waves (1 = yes, 0 = no)."""

    code: str  # column name in the evaluation data
    label: str  # short label for charts and tables
    question: str  # what a 1 means
    polarity: str  # "up": a rise is an improvement; "down": a fall is
    london_indicator: str | None = None  # the estimates indicator it mirrors (for context)
    london_complement: bool = False  # London figure is 100 minus that indicator
    london_note: str | None = None


@dataclass(frozen=True)
class Initiative:
    id: str
    name: str
    policy: str
    summary: str
    participants: str
    outcomes: tuple[Outcome, ...]

    def outcome(self, code: str) -> Outcome:
        for o in self.outcomes:
            if o.code == code:
                return o
        raise KeyError(f"{code!r} is not a success measure of {self.name}; known: {[o.code for o in self.outcomes]}")


_FRIENDS = "Says all or nearly all of their friends {}"
INITIATIVES: dict[str, Initiative] = {
    "london_family_fund": Initiative(
        id="london_family_fund",
        name="The London Family Fund",
        policy="Policy 1.1, Creating shared experiences for families",
        summary=("Projects that bring families from different backgrounds together and reduce isolation in early "
                 "parenthood. Table 5 measures participants' friendship diversity and whether they have someone to "
                 "rely on."),
        participants="parents and carers taking part in funded projects",
        outcomes=(
            Outcome("friends_similar_age", "All friends a similar age", _FRIENDS.format("are a similar age to them"),
                    "down", "friends_similar_age"),
            Outcome("friends_same_ethnicity", "All friends the same ethnic group",
                    _FRIENDS.format("are of the same ethnic group (race) as them"), "down", "friends_similar_ethnicity"),
            Outcome("friends_similar_income", "All friends a similar income",
                    _FRIENDS.format("have a similar income to them"), "down", "friends_similar_income"),
            Outcome("friends_similar_education", "All friends a similar education",
                    _FRIENDS.format("have a similar level of education to them"), "down", "friends_similar_education"),
            Outcome("someone_to_rely_on", "Someone to rely on a lot",
                    "Has a spouse or partner, family member or friend they could rely on a lot in a serious problem",
                    "up", "social_isolation", london_complement=True,
                    london_note="London figure is 100 minus the share with no one to rely on"),
        ),
    ),
    "citizenship_integration_initiative": Initiative(
        id="citizenship_integration_initiative",
        name="Citizenship and Integration Initiative (CII)",
        policy="Policy 2.2, Increasing democratic participation, and Policy 3.5, Enabling the path to citizenship",
        summary=("Citizenship ceremony pilots that encourage new citizens to take part in civic life. Table 5 measures "
                 "whether ceremony participants volunteer, join organisations and register to vote."),
        participants="people attending citizenship ceremony pilots",
        outcomes=(
            Outcome("volunteered", "Volunteered", "Did any voluntary work in the last 12 months", "up", "volunteering"),
            Outcome("associational_member", "Member of an organisation",
                    "Belongs to at least one political, voluntary, professional or recreational organisation", "up",
                    "associational_membership"),
            Outcome("registered_to_vote", "Registered to vote", "Says they are on the electoral register", "up",
                    "electoral_registration",
                    london_note="London figure is electors over adults from administrative data, not a survey answer"),
        ),
    ),
    "esol_plus": Initiative(
        id="esol_plus",
        name="ESOL Plus",
        policy="Policy 3.6, Reducing barriers to communication",
        summary=("Pilots of English for Speakers of Other Languages provision that suits carers and pre-entry learners. "
                 "Table 5 measures learners' English proficiency and outcomes beyond work, such as volunteering."),
        participants="learners on ESOL Plus courses",
        outcomes=(
            Outcome("english_difficulty", "English difficulties affect work or study",
                    "Says difficulties with English make it harder to find or keep work or to study", "down",
                    "english_proficiency"),
            Outcome("volunteered", "Volunteered", "Did any voluntary work in the last 12 months", "up", "volunteering"),
        ),
    ),
}
NOT_SURVEYED = (
    "The other initiatives in Table 5 (the Workforce Integration Network and community sponsorship) are measured by "
    "counts of employers, boroughs, peer champions and resettled refugees rather than by participant surveys, so "
    "they have no pre/post analysis here."
)


def initiative(initiative_id: str) -> Initiative:
    if initiative_id not in INITIATIVES:
        raise KeyError(f"Unknown initiative {initiative_id!r}; choose one of {sorted(INITIATIVES)}")
    return INITIATIVES[initiative_id]


# ------------------------------------------------------------------------------------------
# Input format (docs/evaluation_format.md)


def schema(init: Initiative) -> Schema:
    """The canonical evaluation table for one initiative."""
    cols = [
        Column("initiative", "code", allowed=frozenset({init.id})),
        Column("participant_id", "str"),
        Column("group", "code", allowed=frozenset(GROUPS)),
        Column("site", "str"),
        Column("wave", "code", allowed=frozenset(WAVES)),
        Column("interview_date", "str", required=False, nullable=True),
        Column("borough", "str", required=False, nullable=True),
    ]
    cols += [Column(o.code, "float", nullable=True, minimum=0, maximum=1) for o in init.outcomes]
    return Schema(f"{init.name} evaluation data", tuple(cols), keys=("participant_id", "wave"),
                  rules=(_binary_outcomes(init), _stable_membership))


def _binary_outcomes(init: Initiative):
    def rule(frame: pd.DataFrame, source: str, row_offset: int) -> None:
        for o in init.outcomes:
            values = frame[o.code]
            bad = values.notna() & ~values.isin([0, 1])
            if bad.any():
                pos = int(np.flatnonzero(bad.to_numpy())[0])
                raise InputError(source, f"value {values.iloc[pos]!r} is not a code: use 1 (yes), 0 (no) or blank",
                                 row=pos + row_offset, column=o.code)
    return rule


def _stable_membership(frame: pd.DataFrame, source: str, row_offset: int) -> None:
    for column in ("group", "site"):
        varying = frame.groupby("participant_id")[column].nunique()
        if (varying > 1).any():
            who = varying[varying > 1].index[0]
            pos = int(np.flatnonzero((frame["participant_id"] == who).to_numpy())[-1])
            raise InputError(source, f"participant {who!r} has a different {column} at each wave",
                             row=pos + row_offset, column=column)


def validate(frame: pd.DataFrame, initiative_id: str, *, source: str = "evaluation data", row_offset: int = 2) -> pd.DataFrame:
    """Check an evaluation table against the documented format; returns it typed and sorted."""
    init = initiative(initiative_id)
    frame = frame.copy()
    for column in ("participant_id", "site", "group", "wave", "initiative"):
        if column in frame.columns:
            frame[column] = frame[column].astype("string").str.strip().astype(object)
    out = validate_schema(frame, schema(init), source=source, row_offset=row_offset)
    if "borough" in out.columns and out["borough"].notna().any():
        out["borough"] = geography.standardise_column(out["borough"], source=source, column="borough", row_offset=row_offset)
    return out.sort_values(["group", "site", "participant_id", "wave"], key=_wave_order).reset_index(drop=True)


def _wave_order(s: pd.Series) -> pd.Series:
    return s.map({"pre": 0, "post": 1}) if s.name == "wave" else s


def load(path: str | Path, initiative_id: str) -> pd.DataFrame:
    """Read a CSV in the documented format (other initiatives' rows are left out) and validate it."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Evaluation data not found: {path}")
    frame = pd.read_csv(path, dtype={"participant_id": str, "site": str, "group": str, "wave": str,
                                     "initiative": str, "borough": str, "interview_date": str},
                        keep_default_na=False, na_values=[""])
    if "initiative" not in frame.columns:
        raise InputError(str(path), "missing column 'initiative'")
    rows = frame[frame["initiative"] == initiative_id]
    if rows.empty:
        raise InputError(str(path), f"no rows for initiative {initiative_id!r}; found {sorted(frame['initiative'].unique())}")
    # keep the file's row numbers in messages: index positions of the kept rows + header line
    kept = rows.reset_index(drop=True)
    try:
        return validate(kept, initiative_id, source=str(path), row_offset=2)
    except InputError as err:
        if err.row is not None:  # translate the filtered position back to the file's row
            raise InputError(str(path), err.detail, row=int(rows.index[err.row - 2]) + 2, column=err.column) from None
        raise


# ------------------------------------------------------------------------------------------
# Paired change: McNemar's test and intervals for the difference of paired proportions


@dataclass(frozen=True)
class McNemar:
    b: int  # yes before, no after
    c: int  # no before, yes after
    statistic: float
    pvalue: float
    method: str


def mcnemar_test(b: int, c: int, *, exact: bool | None = None, correction: bool = True) -> McNemar:
    """McNemar's test from the discordant pairs (statsmodels ``mcnemar``).

    ``exact=None`` chooses the exact binomial test when there are fewer than
    :data:`EXACT_BELOW` discordant pairs, and otherwise the chi-square test with Edwards'
    continuity correction (``correction=False`` drops it).
    """
    from statsmodels.stats.contingency_tables import mcnemar

    exact = (b + c) < EXACT_BELOW if exact is None else exact
    if b + c == 0:
        return McNemar(b, c, float("nan"), 1.0, "no discordant pairs: no test possible")
    result = mcnemar(np.array([[0, b], [c, 0]]), exact=exact, correction=correction)
    if exact:
        method = "exact binomial test"
    else:
        method = "chi-square test" + (" with continuity correction" if correction else "")
    return McNemar(int(b), int(c), float(result.statistic), float(result.pvalue), method)


def wilson(x: float, n: float, alpha: float = ALPHA) -> tuple[float, float]:
    """Wilson score interval for a proportion."""
    if n == 0:
        return (float("nan"), float("nan"))
    z = stats.norm.ppf(1 - alpha / 2)
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))


def newcombe_paired_ci(a: int, b: int, c: int, d: int, alpha: float = ALPHA) -> tuple[float, float, float]:
    """Newcombe's (1998) hybrid score interval for the change in a paired proportion.

    The table is before (rows: yes, no) by after (columns: yes, no): ``a`` yes/yes, ``b``
    yes/no, ``c`` no/yes, ``d`` no/no. Returns (change, lower, upper) for
    p_after - p_before = (c - b) / n. This is method 10 of Newcombe, R.G. (1998) "Improved
    confidence intervals for the difference between binomial proportions based on paired
    data", Statistics in Medicine 17, 2635-2650: Wilson intervals for the two margins combined
    by square-and-add, with the correlation between them estimated by a continuity-corrected phi.
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
    lower = change - math.sqrt(max(0.0, (p_after - l2) ** 2 - 2 * phi * (p_after - l2) * (u1 - p_before) + (u1 - p_before) ** 2))
    upper = change + math.sqrt(max(0.0, (u2 - p_after) ** 2 - 2 * phi * (u2 - p_after) * (p_before - l1) + (p_before - l1) ** 2))
    return (change, max(-1.0, lower), min(1.0, upper))


def wald_paired_ci(a: int, b: int, c: int, d: int, alpha: float = ALPHA) -> tuple[float, float, float]:
    """Wald interval for the paired change (c - b)/n with variance ((b + c) - (c - b)^2 / n) / n^2."""
    n = a + b + c + d
    change = (c - b) / n
    se = math.sqrt(max(0.0, (b + c) - (c - b) ** 2 / n)) / n
    z = stats.norm.ppf(1 - alpha / 2)
    return (change, change - z * se, change + z * se)


def paired_table(frame: pd.DataFrame, outcome: str, group: str = "programme") -> pd.DataFrame:
    """One row per participant of ``group`` answering ``outcome`` at both waves: pre, post, site."""
    rows = frame[frame["group"] == group]
    wide = rows.pivot_table(index=["participant_id", "site"], columns="wave", values=outcome, aggfunc="first")
    wide = wide.reindex(columns=list(WAVES)).dropna().reset_index()
    return wide.astype({"pre": int, "post": int})


@dataclass(frozen=True)
class PairedChange:
    outcome: Outcome
    n: int
    a: int
    b: int
    c: int
    d: int
    pre: float  # %
    post: float  # %
    change: float  # percentage points
    lower: float
    upper: float
    wald_lower: float
    wald_upper: float
    test: McNemar

    @property
    def significant(self) -> bool:
        return self.test.pvalue < ALPHA

    @property
    def verdict(self) -> str:
        """'improved', 'worsened' or 'no significant change' (by the outcome's polarity)."""
        if not self.significant or self.change == 0:
            return "no significant change"
        return "improved" if (self.change > 0) == (self.outcome.polarity == "up") else "worsened"


def paired_change(frame: pd.DataFrame, outcome: Outcome, group: str = "programme") -> PairedChange:
    """McNemar's test and Newcombe's interval for one outcome among participants answering twice."""
    w = paired_table(frame, outcome.code, group)
    a = int(((w.pre == 1) & (w.post == 1)).sum())
    b = int(((w.pre == 1) & (w.post == 0)).sum())
    c = int(((w.pre == 0) & (w.post == 1)).sum())
    d = int(((w.pre == 0) & (w.post == 0)).sum())
    n = a + b + c + d
    if n == 0:
        raise ValueError(f"No {group} participant answered {outcome.code!r} at both waves")
    change, lo, hi = newcombe_paired_ci(a, b, c, d)
    _, wlo, whi = wald_paired_ci(a, b, c, d)
    return PairedChange(outcome, n, a, b, c, d, 100 * (a + b) / n, 100 * (a + c) / n, 100 * change, 100 * lo,
                        100 * hi, 100 * wlo, 100 * whi, mcnemar_test(b, c))


# ------------------------------------------------------------------------------------------
# Difference-in-differences


@dataclass(frozen=True)
class DiD:
    outcome: Outcome
    estimate: float  # percentage points (linear probability model)
    se: float
    lower: float
    upper: float
    pvalue: float
    cluster: str
    n_clusters: int
    n_participants: int
    n_programme: int
    n_comparison: int
    means: pd.DataFrame  # group x wave: % yes, n
    participant_se: float  # the same model with errors clustered by participant
    participant_lower: float
    participant_upper: float
    odds_ratio: float  # logit: ratio of odds ratios (programme change over comparison change)
    or_lower: float
    or_upper: float
    or_pvalue: float

    @property
    def significant(self) -> bool:
        return self.pvalue < ALPHA

    @property
    def verdict(self) -> str:
        if not self.significant or self.estimate == 0:
            return "no significant difference"
        return "improved" if (self.estimate > 0) == (self.outcome.polarity == "up") else "worsened"


def balanced_panel(frame: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """Long rows of everyone (both groups) who answered ``outcome`` at both waves."""
    rows = frame[frame[outcome].notna()]
    both = rows.groupby("participant_id")["wave"].nunique()
    keep = both[both == 2].index
    panel = rows[rows["participant_id"].isin(keep)].copy()
    panel["y"] = panel[outcome].astype(float)
    panel["treated"] = (panel["group"] == "programme").astype(float)
    panel["post"] = (panel["wave"] == "post").astype(float)
    return panel.reset_index(drop=True)


def did(frame: pd.DataFrame, outcome: Outcome, cluster: str = "site") -> DiD:
    """Difference-in-differences on participants answering at both waves.

    A linear probability model ``y ~ treated + post + treated:post`` fitted by OLS; the
    interaction is the DiD in proportion terms (reported in percentage points). Errors are
    cluster-robust (statsmodels ``cov_type="cluster"``, with its small-sample correction and
    t intervals on clusters minus one degrees of freedom), clustered by ``site`` (project site)
    or ``participant_id``. A logit of the same form gives the ratio of odds ratios as a check
    that the result does not hang on the linear scale.
    """
    import statsmodels.formula.api as smf

    if cluster not in ("site", "participant_id", "participant"):
        raise ValueError("cluster must be 'site' or 'participant'")
    cluster = "participant_id" if cluster == "participant" else cluster
    panel = balanced_panel(frame, outcome.code)
    if panel["treated"].nunique() < 2:
        raise ValueError(f"{outcome.code!r}: both the programme and the comparison group need answers at both waves")

    def fit(groups: str):
        codes = pd.factorize(panel[groups])[0]
        return smf.ols("y ~ treated * post", panel).fit(cov_type="cluster", cov_kwds={"groups": codes}, use_t=True), codes

    lpm, codes = fit(cluster)
    by_person, _ = fit("participant_id")
    term = "treated:post"
    ci = lpm.conf_int().loc[term]
    pci = by_person.conf_int().loc[term]
    logit = smf.logit("y ~ treated * post", panel).fit(disp=0, cov_type="cluster", cov_kwds={"groups": codes})
    lci = logit.conf_int().loc[term]
    means = (panel.groupby(["group", "wave"])["y"].agg(["mean", "size"]).rename(columns={"mean": "share", "size": "n"})
             .reset_index())
    means["share"] *= 100
    people = panel.drop_duplicates("participant_id")
    return DiD(outcome, 100 * lpm.params[term], 100 * lpm.bse[term], 100 * ci.iloc[0], 100 * ci.iloc[1],
               float(lpm.pvalues[term]), "project site" if cluster == "site" else "participant",
               int(len(np.unique(codes))), int(len(people)), int((people.group == "programme").sum()),
               int((people.group == "comparison").sum()), means, 100 * by_person.bse[term], 100 * pci.iloc[0],
               100 * pci.iloc[1], float(np.exp(logit.params[term])), float(np.exp(lci.iloc[0])),
               float(np.exp(lci.iloc[1])), float(logit.pvalues[term]))


# ------------------------------------------------------------------------------------------
# Minimum detectable effects (two-sided 5%, 80% power)


def multiplier(alpha: float = ALPHA, power: float = POWER, df: float | None = None) -> float:
    """z(1 - alpha/2) + z(power), or the t equivalent on ``df`` degrees of freedom (Bloom 1995)."""
    if df is None:
        return float(stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power))
    return float(stats.t.ppf(1 - alpha / 2, df) + stats.t.ppf(power, df))


def mde_two_groups(n1: float, n2: float, sd: float, *, alpha: float = ALPHA, power: float = POWER,
                   design_effect: float = 1.0, df: float | None = None) -> float:
    """Smallest true difference in means a two-group comparison detects with the given power:
    M * sd * sqrt(1/n1 + 1/n2) * sqrt(design effect)."""
    return multiplier(alpha, power, df) * sd * math.sqrt((1 / n1 + 1 / n2) * design_effect)


def mde_paired(n: int, discordant: float, *, alpha: float = ALPHA, power: float = POWER) -> float:
    """Smallest paired change in a proportion McNemar's test detects (Connor 1987).

    Solves n = [z_a sqrt(psi) + z_b sqrt(psi - delta^2)]^2 / delta^2 for delta, where psi is
    the proportion of discordant pairs (the share of participants whose answer changes).
    """
    psi = float(discordant)
    if n <= 0 or psi <= 0:
        return float("nan")
    za, zb = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)

    def gap(delta: float) -> float:
        return delta * math.sqrt(n) - za * math.sqrt(psi) - zb * math.sqrt(max(0.0, psi - delta * delta))

    top = math.sqrt(psi)
    if gap(top) < 0:  # even a change as large as every discordant pair cannot be detected
        return float("nan")
    return float(optimize.brentq(gap, 1e-12, top))


def connor_n(delta: float, discordant: float, *, alpha: float = ALPHA, power: float = POWER) -> float:
    """Pairs needed for McNemar's test to detect ``delta`` (Connor 1987), unrounded."""
    za, zb = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    return (za * math.sqrt(discordant) + zb * math.sqrt(discordant - delta ** 2)) ** 2 / delta ** 2


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
    n0 = (n - (sizes ** 2).sum() / n) / (k - 1)
    icc = (msb - msw) / (msb + (n0 - 1) * msw) if (msb + (n0 - 1) * msw) > 0 else 0.0
    return float(max(0.0, icc))


@dataclass(frozen=True)
class MDE:
    outcome: Outcome
    n_pairs: int
    discordant: float  # share of programme participants whose answer changed
    paired: float  # percentage points
    n_programme: int
    n_comparison: int
    sd_change: float  # SD of individual change scores (pooled within groups)
    icc: float  # intra-site correlation of change scores
    mean_cluster: float
    design_effect: float
    df: float | None
    did: float  # percentage points


def mde(frame: pd.DataFrame, outcome: Outcome, cluster: str = "site", *, scale: float = 1.0) -> MDE:
    """Minimum detectable effects for the sample, at two-sided 5% and 80% power.

    Paired change (McNemar): Connor's formula with the discordant share observed among
    programme participants. DiD: Bloom's formula for the difference of two groups' mean
    changes, M * SD(change) * sqrt(1/n_programme + 1/n_comparison) * sqrt(deff), where
    SD(change) is the pooled within-group SD of individual change scores, deff = 1 + (m - 1) x
    ICC for clustering by project site (m = mean participants per site, ICC of the change
    scores estimated by one-way ANOVA) and M uses t quantiles on sites minus 2 degrees of
    freedom. ``scale`` multiplies the sample sizes (for planning) with every rate unchanged.
    """
    return rescale(mde_inputs(frame, outcome, cluster), scale)


@dataclass(frozen=True)
class MDEInputs:
    """What the MDE formulas need from the data (so planning at other sizes is cheap)."""

    outcome: Outcome
    cluster: str
    n_pairs: int
    discordant: float
    n_programme: int
    n_comparison: int
    sd_change: float
    icc: float
    mean_cluster: float
    n_clusters: int


def mde_inputs(frame: pd.DataFrame, outcome: Outcome, cluster: str = "site") -> MDEInputs:
    pairs = paired_table(frame, outcome.code)
    psi = float((pairs.pre != pairs.post).mean()) if len(pairs) else float("nan")
    panel = balanced_panel(frame, outcome.code)
    wide = panel.pivot_table(index=["participant_id", "group", "site"], columns="wave", values="y").reset_index()
    wide["change"] = wide["post"] - wide["pre"]
    var = wide.groupby("group")["change"].var(ddof=1)
    sizes = wide.groupby("group").size()
    pooled = float(np.sqrt(((sizes - 1) * var).sum() / (sizes.sum() - len(sizes))))
    if cluster == "site":
        resid = wide["change"] - wide.groupby("group")["change"].transform("mean")
        icc = icc_anova(resid.to_numpy(), wide["site"].to_numpy())
        m = float(wide.groupby("site").size().mean())
    else:
        icc, m = 0.0, 1.0
    return MDEInputs(outcome, cluster, len(pairs), psi, int(sizes.get("programme", 0)), int(sizes.get("comparison", 0)),
                     pooled, icc, m, int(wide["site"].nunique()))


def rescale(base: MDEInputs, scale: float = 1.0) -> MDE:
    """The MDEs with every sample size multiplied by ``scale`` (sites grow in size, not number)."""
    n_pairs = int(round(base.n_pairs * scale))
    n_t, n_c = int(round(base.n_programme * scale)), int(round(base.n_comparison * scale))
    if base.cluster == "site":
        m = base.mean_cluster * scale
        df = float(max(1, base.n_clusters - 2))
    else:
        m, df = 1.0, None
    deff = 1 + (m - 1) * base.icc
    did_mde = mde_two_groups(n_t, n_c, base.sd_change, design_effect=deff, df=df) if n_t and n_c else float("nan")
    return MDE(base.outcome, n_pairs, base.discordant, 100 * mde_paired(n_pairs, base.discordant), n_t, n_c,
               base.sd_change, base.icc, m, deff, df, 100 * did_mde)


# ------------------------------------------------------------------------------------------
# Report page

EVAL_STYLE = {
    "improved": {"color": charts.TURQUOISE, "marker": "^", "label": "Improved (significant at 5%)"},
    "worsened": {"color": charts.DARK_PINK, "marker": "v", "label": "Worsened (significant at 5%)"},
    "no significant change": {"color": charts.DARK_BLUE, "marker": "o", "label": "No significant change"},
    "no significant difference": {"color": charts.DARK_BLUE, "marker": "o", "label": "No significant difference"},
}


def _pp(value: float, signed: bool = True) -> str:
    return f"{value:+.1f}" if signed else f"{value:.1f}"


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _esc(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"


def _forest(labels: list[str], values, lower, upper, verdicts: list[str], *, xlabel: str, title: str, alt: str,
            table: pd.DataFrame, notes: list[str] | None = None) -> charts.Chart:
    import matplotlib.pyplot as plt

    n = len(labels)
    fig, ax = plt.subplots(figsize=(7.5, 0.55 * n + 1.4))
    y = np.arange(n)[::-1]
    v, lo, hi = (np.asarray(x, dtype=float) for x in (values, lower, upper))
    ax.errorbar(v, y, xerr=np.vstack([v - lo, hi - v]), fmt="none", ecolor=charts.DARK_GREY, elinewidth=1.5, capsize=3)
    for key, style in EVAL_STYLE.items():
        mask = np.array([vv == key for vv in verdicts])
        if mask.any():
            ax.scatter(v[mask], y[mask], color=style["color"], marker=style["marker"], s=70, zorder=3, label=style["label"])
    ax.axvline(0, color="black", linewidth=1)
    ax.set_yticks(y, labels)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", color="0.85")
    ax.grid(axis="y", visible=False)
    fig.legend(loc="outside lower center", ncol=2, fontsize=9)
    return charts.Chart(fig, title, alt, table, notes=notes or [])


class EvaluationPage:
    """Sections of the evaluation report for one initiative.

    ``evaluation_data``: a CSV in the documented format, a DataFrame, or None for the
    synthetic demo. ``data_dir``: the build's estimates, used for London context figures.
    """

    def __init__(self, initiative_id: str = "london_family_fund", evaluation_data=None,
                 data_dir: str | Path | None = None, cluster: str = "site"):
        self.initiative = initiative(initiative_id)
        self.cluster = "participant_id" if cluster == "participant" else cluster
        if evaluation_data is None:
            from analysis.sources import evaluation_demo

            self.synthetic = True
            self.frame = validate(evaluation_demo.generate(initiative_id), initiative_id,
                                  source="synthetic demo", row_offset=0)
            self.source = "Synthetic demonstration data generated by analysis/sources/evaluation_demo.py"
        elif isinstance(evaluation_data, pd.DataFrame):
            self.synthetic = False
            self.frame = validate(evaluation_data, initiative_id, row_offset=0)
            self.source = "Evaluation data supplied as a table"
        else:
            self.synthetic = False
            self.frame = load(evaluation_data, initiative_id)
            self.source = f"Evaluation data file {Path(evaluation_data).name}"
        self.data_dir = data_dir
        self.outcomes = [o for o in self.initiative.outcomes if self.frame[o.code].notna().any()]
        self.paired = [paired_change(self.frame, o) for o in self.outcomes]
        self.dids = [did(self.frame, o, self.cluster) for o in self.outcomes]
        self.mdes = [mde(self.frame, o, self.cluster) for o in self.outcomes]

    # -- sections ---------------------------------------------------------------------------
    def header(self) -> Section:
        init = self.initiative
        notice = ""
        if self.synthetic:
            notice = ("<div class='notice synthetic' role='note'><strong>Synthetic demonstration data: the participants, "
                      "answers and effects on this page were generated by the project's own code, with a programme "
                      "effect planted on purpose. They are not findings about the programme and must not be quoted "
                      "as such.</strong></div>")
        return Section(f"<h1>Programme evaluation: {html.escape(init.name)}</h1>" + notice
                       + f"<p class='lede'>{html.escape(init.summary)}</p>"
                       + _esc(f"The strategy asks City Hall to evaluate its initiatives with pre- and post-surveys of the "
                              f"Londoners taking part, using success measures that mirror the state of social integration "
                              f"measures ({STRATEGY}; {init.policy}). This page compares the answers of {init.participants} "
                              f"before and after taking part, and compares their change with that of a comparison group "
                              f"surveyed at the same times."))

    def sample(self) -> Section:
        f = self.frame
        counts = (f.groupby(["group", "wave"])["participant_id"].nunique().unstack("wave")
                  .reindex(index=list(GROUPS), columns=list(WAVES)).fillna(0).astype(int))
        both = f.groupby("participant_id").agg(group=("group", "first"), waves=("wave", "nunique"))
        completers = both[both.waves == 2].groupby("group").size().reindex(list(GROUPS)).fillna(0).astype(int)
        sites = f.groupby("group")["site"].nunique().reindex(list(GROUPS)).fillna(0).astype(int)
        table = pd.DataFrame({
            "Group": ["Programme participants", "Comparison group"],
            "Project sites": sites.to_numpy(),
            "Surveyed before": counts["pre"].to_numpy(),
            "Surveyed after": counts["post"].to_numpy(),
            "Answered both surveys": completers.to_numpy(),
            "Retained (%)": [tables.fmt(100 * c / p) if p else "[x]" for c, p in zip(completers, counts["pre"])],
        })
        text = (f"{counts.loc['programme', 'pre']:,} programme participants at {sites['programme']} project sites were "
                f"surveyed before taking part and {completers['programme']:,} of them again afterwards; the comparison "
                f"group had {counts.loc['comparison', 'pre']:,} people, {completers['comparison']:,} of whom answered both "
                "surveys. The analyses use the people who answered both: if those who dropped out differ from those who "
                "stayed, the results describe the stayers.")
        out = "<h2>Who was surveyed</h2>" + _esc(text) + tables.to_html(table, caption="Evaluation sample by group and wave")
        context = self._london_context()
        if context is not None:
            out += ("<h3>Participants at the start compared with London</h3>"
                    + _esc("London figures come from the state of social integration estimates (weighted surveys of "
                           "all adults), so they are a backdrop, not a comparison group: the participants were not "
                           "sampled to represent London.")
                    + tables.to_html(context, caption="Programme participants before taking part and London's latest figures"))
        return Section(out)

    def _london_context(self) -> pd.DataFrame | None:
        try:
            from analysis import report

            e = report.main_rows(report.load(self.data_dir).estimates)
        except Exception:  # the context table is optional: no build, no context
            return None
        rows = []
        for pc in self.paired:
            o = pc.outcome
            london = e[(e.indicator == o.london_indicator) & (e.area_code == geography.LONDON_CODE)
                       & (e.breakdown == "all") & ~e.period.astype(str).str.contains("-")] if o.london_indicator else e.iloc[0:0]
            if london.empty:
                continue
            latest = london.sort_values("period").iloc[-1]
            value, lo, hi = latest["value"], latest["lower_ci"], latest["upper_ci"]
            if o.london_complement:
                value, lo, hi = 100 - value, 100 - hi, 100 - lo
            rows.append({"Success measure": o.label, "Participants before (%)": tables.fmt(pc.pre),
                         "London (%)": tables.fmt(value), "London 95% CI": f"{tables.fmt(lo)} to {tables.fmt(hi)}",
                         "London period": latest["period"], "Note": o.london_note or ""})
        return pd.DataFrame(rows) if rows else None

    def paired_change(self) -> Section:
        pcs = self.paired
        n = max(pc.n for pc in pcs)
        changed = [pc for pc in pcs if pc.significant]
        lead = max(pcs, key=lambda pc: (pc.significant, abs(pc.change)))
        direction = "rose" if lead.change > 0 else "fell"
        title = (f"Among {n:,} participants surveyed twice, '{lead.outcome.label.lower()}' {direction} from "
                 f"{lead.pre:.0f}% to {lead.post:.0f}% ({_pp(lead.change)} points, 95% CI {_pp(lead.lower)} to "
                 f"{_pp(lead.upper)}); {len(changed)} of {len(pcs)} measures changed significantly")
        table = pd.DataFrame({
            "Success measure": [pc.outcome.label for pc in pcs],
            "People": [pc.n for pc in pcs],
            "Before (%)": [tables.fmt(pc.pre) for pc in pcs],
            "After (%)": [tables.fmt(pc.post) for pc in pcs],
            "Change (points)": [_pp(pc.change) for pc in pcs],
            "95% CI, Newcombe": [f"{_pp(pc.lower)} to {_pp(pc.upper)}" for pc in pcs],
            "95% CI, Wald": [f"{_pp(pc.wald_lower)} to {_pp(pc.wald_upper)}" for pc in pcs],
            "Yes to no, no to yes": [f"{pc.b}, {pc.c}" for pc in pcs],
            "McNemar p": [f"{pc.test.pvalue:.4f} ({'exact' if pc.test.method.startswith('exact') else 'chi-square'})"
                          for pc in pcs],
            "Assessment": [pc.verdict for pc in pcs],
        })
        alt = ("Dot chart of the change between the surveys before and after taking part, with 95% intervals: "
               + "; ".join(f"{pc.outcome.label} {_pp(pc.change)} points ({pc.verdict})" for pc in pcs) + ".")
        chart = _forest([pc.outcome.label for pc in pcs], [pc.change for pc in pcs], [pc.lower for pc in pcs],
                        [pc.upper for pc in pcs], [pc.verdict for pc in pcs],
                        xlabel="Change after taking part (percentage points)", title=title, alt=alt, table=table,
                        notes=["Intervals: Newcombe (1998) hybrid score method for paired proportions. Tests: McNemar, "
                               f"exact binomial when fewer than {EXACT_BELOW} answers changed, otherwise chi-square "
                               "with continuity correction."])
        sentences = "".join(f"<li>{html.escape(self._paired_sentence(pc))}</li>" for pc in pcs)
        caution = _esc("A change among participants alone does not show the programme caused it: answers can drift for "
                       "everyone over the same months (for example with the seasons or the news). The next section "
                       "compares the change with the comparison group's.")
        return Section("<h2>Change among participants</h2><ul class='headline'>" + sentences + "</ul>"
                       + caution + charts.to_html(chart), [chart])

    @staticmethod
    def _paired_sentence(pc: PairedChange) -> str:
        base = (f"{pc.outcome.label}: {pc.pre:.1f}% before and {pc.post:.1f}% after ({pc.n:,} participants), a change of "
                f"{_pp(pc.change)} percentage points (95% CI {_pp(pc.lower)} to {_pp(pc.upper)}); {pc.b} answered yes then "
                f"no and {pc.c} no then yes, McNemar {pc.test.method} {_p_text(pc.test.pvalue)}")
        if pc.verdict == "no significant change":
            return base + ", so no significant change."
        better = "an improvement" if pc.verdict == "improved" else "a worsening"
        return base + f": a significant change, which for this measure is {better}."

    def difference_in_differences(self) -> Section:
        ds = self.dids
        lead = max(ds, key=lambda d: (d.significant, abs(d.estimate)))
        n_sig = sum(d.significant for d in ds)
        title = (f"Net of the comparison group's change, participants' '{lead.outcome.label.lower()}' moved "
                 f"{_pp(lead.estimate)} points (95% CI {_pp(lead.lower)} to {_pp(lead.upper)}); {n_sig} of {len(ds)} "
                 f"differences {'is' if n_sig == 1 else 'are'} significant")
        table = pd.DataFrame({
            "Success measure": [d.outcome.label for d in ds],
            "Programme, before to after (%)": [f"{self._mean(d, 'programme', 'pre')} to {self._mean(d, 'programme', 'post')}"
                                               for d in ds],
            "Comparison, before to after (%)": [f"{self._mean(d, 'comparison', 'pre')} to "
                                                f"{self._mean(d, 'comparison', 'post')}" for d in ds],
            "Difference-in-differences (points)": [_pp(d.estimate) for d in ds],
            f"95% CI, clustered by {lead.cluster}": [f"{_pp(d.lower)} to {_pp(d.upper)}" for d in ds],
            "p-value": [f"{d.pvalue:.4f}" for d in ds],
        })
        if lead.cluster != "participant":  # the same model with errors clustered by person, as a check
            table["95% CI, clustered by participant"] = [f"{_pp(d.participant_lower)} to {_pp(d.participant_upper)}"
                                                         for d in ds]
        table["Logit: ratio of odds ratios (95% CI)"] = [f"{d.odds_ratio:.2f} ({d.or_lower:.2f} to {d.or_upper:.2f})"
                                                         for d in ds]
        table["Assessment"] = [d.verdict for d in ds]
        alt = ("Dot chart of the difference-in-differences for each success measure with 95% intervals: "
               + "; ".join(f"{d.outcome.label} {_pp(d.estimate)} points ({d.verdict})" for d in ds) + ".")
        forest = _forest([d.outcome.label for d in ds], [d.estimate for d in ds], [d.lower for d in ds],
                         [d.upper for d in ds], [d.verdict for d in ds],
                         xlabel="Participants' change minus comparison group's change (percentage points)",
                         title=title, alt=alt, table=table,
                         notes=[f"Linear probability model, OLS, errors clustered by {lead.cluster} ({lead.n_clusters} "
                                "clusters) with t intervals on clusters minus one degrees of freedom."])
        lines = self._trend_chart()
        few = (_esc(f"With only {lead.n_clusters} clusters, cluster-robust errors can be too small; read intervals near "
                    "zero with care.") if lead.n_clusters < 20 else "")
        sentences = "".join(f"<li>{html.escape(self._did_sentence(d))}</li>" for d in ds)
        method = _esc("The difference-in-differences subtracts the comparison group's change from the participants' change, "
                      "so anything that moved both groups between the surveys cancels out. It rests on the assumption "
                      "that, without the programme, participants' answers would have changed as the comparison group's "
                      "did (parallel trends); differences between the groups at the start do not bias it, but different "
                      "trajectories would.")
        return Section("<h2>Change compared with a comparison group</h2>" + method + "<ul class='headline'>" + sentences
                       + "</ul>" + few + charts.to_html(forest) + charts.to_html(lines), [forest, lines])

    @staticmethod
    def _mean(d: DiD, group: str, wave: str) -> str:
        hit = d.means[(d.means.group == group) & (d.means.wave == wave)]
        return tables.fmt(hit["share"].iloc[0]) if len(hit) else "[x]"

    @staticmethod
    def _did_sentence(d: DiD) -> str:
        base = (f"{d.outcome.label}: participants' change was {_pp(d.estimate)} percentage points different from the "
                f"comparison group's (95% CI {_pp(d.lower)} to {_pp(d.upper)}, {_p_text(d.pvalue)}; {d.n_programme:,} "
                f"participants and {d.n_comparison:,} comparison members answering twice)")
        if d.verdict == "no significant difference":
            return base + ", not a significant difference."
        return base + (", a significant improvement relative to the comparison group."
                       if d.verdict == "improved" else ", a significant worsening relative to the comparison group.")

    def _trend_chart(self) -> charts.Chart:
        import matplotlib.pyplot as plt

        ds = self.dids
        k = len(ds)
        cols = min(k, 3)
        rows_n = math.ceil(k / cols)
        fig, axes = plt.subplots(rows_n, cols, figsize=(7.5, 2.6 * rows_n + 0.6), squeeze=False, sharey=False)
        styles = {"programme": (charts.DARK_BLUE, "o", "-", "Programme participants"),
                  "comparison": (charts.ORANGE, "s", "--", "Comparison group")}
        records = []
        for ax, d in zip(axes.flat, ds):
            for group, (colour, marker, line, label) in styles.items():
                m = d.means[d.means.group == group].set_index("wave").reindex(list(WAVES))
                shares, ns = m["share"].to_numpy(float), m["n"].to_numpy(float)
                ci = np.array([wilson(s / 100 * n, n) for s, n in zip(shares, ns)]) * 100
                ax.errorbar([0, 1], shares, yerr=np.vstack([shares - ci[:, 0], ci[:, 1] - shares]), color=colour,
                            marker=marker, linestyle=line, capsize=3, label=label)
                for wave, s, (lo, hi), n in zip(WAVES, shares, ci, ns):
                    records.append({"Success measure": d.outcome.label, "Group": label, "Wave": wave,
                                    "Yes (%)": tables.fmt(s), "95% CI lower": tables.fmt(lo), "95% CI upper": tables.fmt(hi),
                                    "People": int(n)})
            ax.set_xticks([0, 1], ["Before", "After"])
            ax.set_xlim(-0.3, 1.3)
            ax.set_title(textwrap.fill(d.outcome.label, 24), fontsize=9)
            ax.set_ylabel("%")
        for ax in list(axes.flat)[k:]:
            ax.set_axis_off()
        handles, labels = axes.flat[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=2)
        gaps = [d for d in ds if d.significant]
        title = (f"Participants' answers moved away from the comparison group's on {len(gaps)} of {k} measures between "
                 "the two surveys")
        alt = ("Small line charts, one per success measure, of the percentage answering yes before and after for programme "
               "participants and the comparison group: " + "; ".join(
                   f"{d.outcome.label}: participants {self._mean(d, 'programme', 'pre')}% to {self._mean(d, 'programme', 'post')}%, "
                   f"comparison {self._mean(d, 'comparison', 'pre')}% to {self._mean(d, 'comparison', 'post')}%" for d in ds) + ".")
        return charts.Chart(fig, title, alt, pd.DataFrame(records),
                            notes=["People answering that measure at both waves; Wilson 95% intervals."])

    def minimum_detectable_effects(self) -> Section:
        ms = self.mdes
        lead = ms[0]
        table = pd.DataFrame({
            "Success measure": [m.outcome.label for m in ms],
            "Participants answering twice": [m.n_pairs for m in ms],
            "Answers changed (%)": [tables.fmt(100 * m.discordant) for m in ms],
            "MDE, change among participants (points)": [tables.fmt(m.paired) for m in ms],
            "Comparison answering twice": [m.n_comparison for m in ms],
            "SD of change": [f"{m.sd_change:.3f}" for m in ms],
            "Site ICC": [f"{m.icc:.3f}" for m in ms],
            "Design effect": [f"{m.design_effect:.2f}" for m in ms],
            "MDE, difference-in-differences (points)": [tables.fmt(m.did) for m in ms],
        })
        growth = self._mde_curve()
        assumptions = [
            "Two-sided test at the 5% level with 80% power.",
            "Change among participants: McNemar's test, Connor's (1987) formula, with the share of participants whose "
            "answer changed taken as observed.",
            "Difference-in-differences: Bloom's formula, M x SD(change) x sqrt(1/n programme + 1/n comparison) x "
            "sqrt(design effect), with SD(change) the pooled within-group standard deviation of individual change scores.",
            ("Clustering by project site: design effect 1 + (m - 1) x ICC, where m is the mean number of people per site "
             "and ICC the intra-site correlation of change scores (one-way ANOVA estimate, floored at zero); M uses t "
             "quantiles on sites minus 2 degrees of freedom." if self.cluster == "site" else
             "Errors clustered by participant: no design effect for sites; M uses normal quantiles."),
            "The minimum detectable effect is the smallest true effect that would be found significant 80% of the time; "
            "it says nothing about whether the effect exists.",
        ]
        text = (f"With the sample as it is, the evaluation can reliably detect a change among participants in "
                f"'{lead.outcome.label.lower()}' of about {lead.paired:.1f} percentage points, and a difference from the "
                f"comparison group of about {lead.did:.1f} points. Smaller true effects may well be missed.")
        return Section("<h2>What this sample can detect</h2>" + _esc(text)
                       + tables.to_html(table, caption="Minimum detectable effects (two-sided 5%, 80% power)")
                       + "<h3>Assumptions</h3><ul>" + "".join(f"<li>{html.escape(a)}</li>" for a in assumptions) + "</ul>"
                       + charts.to_html(growth), [growth])

    def _mde_curve(self) -> charts.Chart:
        import matplotlib.pyplot as plt

        scales = np.array([0.5, 0.75, 1, 1.5, 2, 3, 4])
        fig, ax = plt.subplots(figsize=(7.5, 3.8))
        records = []
        colours = charts.CATEGORICAL
        bases = [mde_inputs(self.frame, o, self.cluster) for o in self.outcomes]
        for i, (o, base) in enumerate(zip(self.outcomes, bases)):
            values = [rescale(base, s) for s in scales]
            ns = [v.n_programme for v in values]
            dd = [v.did for v in values]
            ax.plot(ns, dd, marker="o", color=colours[i % len(colours)], label=o.label)
            records += [{"Success measure": o.label, "Programme participants answering twice": n,
                         "Comparison group answering twice": v.n_comparison,
                         "MDE, difference-in-differences (points)": tables.fmt(v.did),
                         "MDE, change among participants (points)": tables.fmt(v.paired)} for n, v in zip(ns, values)]
        current = rescale(bases[0])
        ax.axvline(current.n_programme, color=charts.DARK_GREY, linestyle=":", linewidth=1.2, label="Present sample")
        ax.set_xlabel("Participants answering both surveys")
        ax.set_ylabel("Percentage points")
        ax.set_ylim(bottom=0)
        ax.grid(color="0.9")
        fig.legend(loc="outside right upper", fontsize=8.5, frameon=False)
        double = rescale(bases[0], 2)
        title = (f"Doubling the sample would cut the detectable difference for '{self.outcomes[0].label.lower()}' from "
                 f"{current.did:.1f} to {double.did:.1f} points")
        alt = (f"Line chart of the minimum detectable difference-in-differences against the number of participants, from "
               f"{ns[0]} to {ns[-1]} participants, one line per success measure; every line falls as the sample grows. "
               f"At the present {current.n_programme} participants the first measure's is {current.did:.1f} points.")
        return charts.Chart(fig, title, alt, pd.DataFrame(records),
                            notes=["The comparison group is scaled in proportion. Sites are assumed to grow in size, not "
                                   "number, so the design effect rises with the sample."])

    def about(self) -> Section:
        init = self.initiative
        measures = "".join(f"<li><code>{html.escape(o.code)}</code>: {html.escape(o.question)} (1 = yes, 0 = no; "
                           f"{'a rise' if o.polarity == 'up' else 'a fall'} is an improvement)</li>" for o in init.outcomes)
        text = (f"<h2>About this evaluation</h2><p>Source: {html.escape(self.source)}.</p>"
                f"<h3>Success measures</h3><ul>{measures}</ul>"
                + _esc(f"Real evaluation data should follow the format in {DOC}: one row per participant per survey wave, "
                       "with the participant's group (programme or comparison), project site and each success measure "
                       "coded 1, 0 or blank.")
                + _esc("Methods. Change among participants: McNemar's test on the participants who answered both surveys "
                       f"(exact binomial test when fewer than {EXACT_BELOW} answers changed, otherwise chi-square with "
                       "continuity correction) and Newcombe's (1998) hybrid score interval for the difference between "
                       "paired proportions, with the simpler Wald interval alongside. Difference-in-differences: a linear "
                       "probability model fitted by ordinary least squares with cluster-robust standard errors, and a "
                       "logit model of the same form as a check. Everything is unweighted.")
                + _esc(NOT_SURVEYED) + _esc(f"Strategy reference: {STRATEGY}."))
        return Section(text)
