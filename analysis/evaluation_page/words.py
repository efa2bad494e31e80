"""The evaluation page's words: numbers as the page writes them, and the sentences of the
bottom line and of each success measure's result.

Why apart from the page's layout: every sentence is written from the computed results and
the rulebook's verdicts (:mod:`analysis.evaluation_stats`), so the wording can be read and
checked in one place, without the HTML around it.
"""

from __future__ import annotations

import pandas as pd

from analysis import evaluation_stats as es
from analysis import tables
from analysis.cluster_robust import BOOTSTRAP_BELOW, CR2_NAME, DRAWS, WEBB_BELOW

Verdict = es.Verdict


def fmt_points(value: float, signed: bool = True) -> str:
    """Percentage points to one decimal, with its sign unless ``signed`` is False (+1.2)."""
    return f"{value:+.1f}" if signed else f"{value:.1f}"


def p_in_sentence(p: float) -> str:
    """A p-value for a sentence: three decimals, four where three would round onto 0.050 (and hide the verdict)."""
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.4f}" if f"{p:.3f}" == "0.050" else f"p = {p:.3f}"


def p_in_table(p: float) -> str:
    """A p-value for a table cell: four decimals, or "<0.0001"."""
    return "<0.0001" if p < 0.0001 else f"{p:.4f}"


def method_rule_text() -> str:
    """The documented rule choosing the small-sample method, in words for the page."""
    return (
        f"With fewer than {BOOTSTRAP_BELOW} sites the page reports the wild cluster restricted bootstrap "
        f"({DRAWS:,} seeded draws; Webb's six-point weights below {WEBB_BELOW} sites, Rademacher's otherwise), "
        f"with intervals found by inverting the test; with {BOOTSTRAP_BELOW} or more sites it reports "
        f"{CR2_NAME} (R's clubSandwich). The other is shown beside it, with the usual CR1 errors, as checks."
    )


def bottom_line_sentences(ds: list[es.DiD], ms: list[es.MDE]) -> list[str]:
    """The result first: what changed relative to the comparison group, how sure, and what could be missed."""
    k = len(ds)
    improved = [d for d in ds if d.verdict == Verdict.IMPROVED]
    worsened = [d for d in ds if d.verdict == Verdict.WORSENED]
    method = ds[0].clustered
    out = []
    first = (
        f"Relative to the comparison group, {len(improved)} of {k} success measures improved significantly"
        + (f" and {len(worsened)} worsened" if worsened else "")
        + (
            ": "
            + "; ".join(
                f"'{d.outcome.label.lower()}' by {fmt_points(d.estimate)} points (95% CI "
                f"{fmt_points(d.lower)} to {fmt_points(d.upper)}, {p_in_sentence(d.pvalue)})"
                for d in improved + worsened
            )
            if improved or worsened
            else ""
        )
        + "."
    )
    out.append(first)
    fragile = [d for d in ds if not d.robustness.robust]
    for d in fragile:
        state = "significant" if d.significant else f"not significant ({p_in_sentence(d.pvalue)})"
        out.append(
            f"'{d.outcome.label}' ({fmt_points(d.estimate)} points) is {state} with the reported method but "
            f"fragile: {d.robustness.text.split(': ', 1)[1]}. Read it as inconclusive."
        )
    if (improved or worsened) and not any(d.significant for d in fragile):
        out.append(
            "Each significant result holds under every check (the other small-sample method, CR1 errors, "
            "participants as independent)."
        )
    lo, hi = min(m.did for m in ms), max(m.did for m in ms)
    out.append(
        f"With {method.n_clusters} project sites and this many people, differences from the comparison group "
        f"smaller than about {lo:.0f} to {hi:.0f} points (depending on the measure) would probably be missed "
        "(80% power): 'no significant difference' does not mean no effect."
    )
    out.append(
        f"Tests allow for project sites: {method.method_name}, chosen by the rule in the Methods below."
    )
    return out


def paired_sentence(pc: es.PairedChange) -> str:
    """One success measure's change among participants, with its verdict and fragility."""
    base = (
        f"{pc.outcome.label}: {pc.pre:.1f}% before and {pc.post:.1f}% after ({pc.n:,} participants), a change of "
        f"{fmt_points(pc.change)} percentage points (95% CI {fmt_points(pc.lower)} to {fmt_points(pc.upper)}, {p_in_sentence(pc.pvalue)} "
        f"allowing for sites); {pc.b} answered yes then no and {pc.c} no then yes"
    )
    if pc.verdict == Verdict.NO_CHANGE:
        text = base + ", so no significant change"
    else:
        better = "an improvement" if pc.verdict == Verdict.IMPROVED else "a worsening"
        text = base + f": a significant change, which for this measure is {better}"
    return text + ("." if pc.robustness.robust else f"; {pc.robustness.text}.")


def _sites_with_one_group(frame: pd.DataFrame) -> int:
    return int((frame.groupby("site")["group"].nunique() < 2).sum())


def site_cancel_clause(frame: pd.DataFrame) -> str:
    """Whether site effects cancel depends on every site holding both groups: say what the data have."""
    one = _sites_with_one_group(frame)
    if one == 0:
        return (
            ", including anything that moved everyone at a site, since every site holds both groups"
        )
    sites = frame["site"].nunique()
    return (
        f"; something that moved everyone at a site cancels only where the site holds both groups, and "
        f"{one} of {sites} sites hold only one"
    )


def group_share(d: es.DiD, group: str, wave: str) -> str:
    """A group's percentage answering yes at one wave, or "[x]" where it has no answers."""
    hit = d.means[(d.means.group == group) & (d.means.wave == wave)]
    return tables.fmt(hit["share"].iloc[0]) if len(hit) else "[x]"


def did_sentence(d: es.DiD) -> str:
    """One success measure's difference from the comparison group, with its verdict and fragility."""
    base = (
        f"{d.outcome.label}: participants' change was {fmt_points(d.estimate)} percentage points different from the "
        f"comparison group's (95% CI {fmt_points(d.lower)} to {fmt_points(d.upper)}, {p_in_sentence(d.pvalue)}; {d.n_programme:,} "
        f"participants and {d.n_comparison:,} comparison members answering twice)"
    )
    if d.verdict == Verdict.NO_DIFFERENCE:
        text = base + ", not a significant difference"
    else:
        text = base + (
            ", a significant improvement relative to the comparison group"
            if d.verdict == Verdict.IMPROVED
            else ", a significant worsening relative to the comparison group"
        )
    return text + ("." if d.robustness.robust else f"; {d.robustness.text}.")


# how the minimum detectable effects were found, under their table
MDE_ASSUMPTIONS = [
    "From the fitted analysis: (t(0.975, df) + t(0.80, df)) x the standard error of the reported analysis "
    "(site-clustered CR2), on the analysis's own degrees of freedom (Bell-McCaffrey's, or sites minus one "
    "beside the bootstrap).",
    "Planning: the same multiplier on sites minus one degrees of freedom x SD of individual change x the "
    "variance factor of the design the data have (the actual numbers of programme and comparison members at "
    "each site) for an intra-site correlation (ICC) of change of 0.02, 0.05 or 0.10; ICCs of 0.01 to 0.05 are "
    "common for individual outcomes in community settings and 0.10 is a pessimistic case. The lower figure "
    "assumes site effects move both groups at a site alike (they then cancel as far as each site's people "
    "split evenly between the groups); the higher figure assumes they differ between the groups (the "
    "programme works better at some sites). The estimated ICC, from few sites and floored at zero, is shown "
    "but not relied on.",
]


def methods() -> list[str]:
    """The methods, in words, for the page's "About this evaluation"."""
    return [
        "Change among participants: the mean of each participant's change (after minus before) with standard "
        "errors clustered by project site; with the CR1-type correction this is Obuchowski's (1998) clustered "
        "McNemar test. Beside it, the mid-p McNemar test (Fagerland, Lydersen and Laake 2013), which treats "
        "participants as independent.",
        "Difference-in-differences: ordinary least squares of each person's change on a programme indicator, errors "
        "clustered by project site (the participants' mean change minus the comparison group's); a logit model of "
        "the answers as a check on the linear scale.",
        "Few sites: " + method_rule_text(),
        "Robustness: a result is called fragile when its significance at 5% changes under any check (the other "
        "small-sample method, CR1 errors, or participants treated as independent).",
        "Everything is unweighted: the figures describe the people surveyed, not London.",
    ]
