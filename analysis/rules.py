"""The rulebook: what the reports may say about a figure, decided in one place.

Every page, chart, alt text, table and summary count takes its words from these functions, so
a rule changed here changes everywhere, and no page can contradict another. The rules:

* **Verdict against London.** ``higher``/``lower`` only where the 95% test says so, otherwise
  ``similar`` (or ``not_compared`` where there is no test). ``better``/``worse`` only with the
  polarity *of the row described* (an employment-rate row inside the employment-gap measure
  has its own polarity), never for a neutral context indicator, and never for a population
  group against London as a whole (a group is higher or lower, not better or worse).
* **Change over time.** ``increased``/``decreased`` are judged better or worse by the same
  polarity rule; a context indicator's change is ``not_judged``.
* **Ranks.** Only boroughs with a published figure that is not of low reliability (``[u]``)
  are ranked, so a rank's denominator is the number of boroughs with a reliable figure; a
  neutral indicator has no best end, so it has no "best" rank.
* **Flags with their reason.** ``[x]`` not covered by the source (the registry's
  ``coverage_excludes``) or not available; ``[c]`` primary suppression (base too small) or
  secondary suppression (withheld so that a published total cannot reveal a suppressed
  figure) or suppressed by the publisher; ``[u]`` low reliability (small base, or the
  publisher's marker). The reason travels in the ``flag_reason`` column of the estimates.
* **Counts.** :func:`tally` is the one definition of "N of M indicators" a page shows.
* **Method sentences.** :func:`method_sentence` says which uncertainty model a figure's
  interval and tests rest on (registry ``uncertainty``, applied per row in ``uncertainty``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

# ---------------------------------------------------------------------------------------
# Uncertainty models (declared per measure in the registry, recorded per row as applied)

UNCERTAINTY_MODELS = ("survey_design", "binomial", "poisson", "overdispersed", "none")
# which declarations make sense for which kind of measure
UNCERTAINTY_FOR_KIND = {
    "survey_proportion": ("survey_design",),
    "survey_gap": ("survey_design",),
    "admin_proportion": ("binomial", "overdispersed"),
    "admin_rate": ("poisson", "overdispersed"),
    "admin_value": ("none",),
}
# what a row records in its ``uncertainty`` column: the model actually applied
APPLIED_METHODS = {
    "survey_design": "a design-based survey estimate: Taylor-linearised standard errors, tests against London "
    "that allow for the covariance of part and whole",
    "published_interval": "the publisher's own 95% confidence intervals; a borough is higher or lower when its "
    "interval excludes London's value",
    "binomial": "a count over a denominator treated as a binomial proportion (Wilson score interval); between-borough "
    "variation was within what chance alone would give",
    "poisson": "a count treated as Poisson (exact interval); between-borough variation was within what chance alone "
    "would give",
    "overdispersed_multiplicative": "an administrative count whose boroughs vary more than chance would give: its "
    "standard error is inflated by a multiplicative overdispersion factor estimated "
    "from the boroughs (Spiegelhalter 2005, winsorised z-scores)",
    "overdispersed_additive": "an administrative count whose boroughs vary more than chance would give: its standard "
    "error adds a between-borough random-effects variance estimated from the boroughs "
    "(Spiegelhalter 2005, DerSimonian-Laird, winsorised z-scores)",
    "none": "a published value with no interval: nothing is compared or tested",
    "small_area_model": "a modelled borough figure (Fay-Herriot small area estimate, analysis.sae): its interval "
    "and its test against London rest on the model's root mean squared error",
}


# what a gap measure's (a difference between groups) modelled borough figures are, and why
# one may have none (analysis.sae)
GAP_MODELLED = (
    "Modelled borough gaps are for single survey waves: the small area model is fitted to each "
    "borough's gap between the two groups in one wave, with the sampling variance of that "
    "difference, and borrows strength from the borough's characteristics and its other waves. "
    "The direct borough gaps pool three waves, so the two are for different periods."
)
GAP_NOT_MODELLED_WHY = (
    "the small area model needs at least 10 boroughs with a publishable sample (50 or more "
    "respondents) in both groups in one survey wave"
)
# for a gap measure none of whose gaps has a model in a build that models survey figures (a
# build with no survey microdata, such as one from published tables, models nothing, and its
# pages say nothing of models)
GAP_NOT_MODELLED = (
    f"None of this measure's gaps has modelled borough figures: {GAP_NOT_MODELLED_WHY}."
)


def gaps_not_modelled(labels: Iterable[str]) -> str:
    """The sentence for the gaps of a measure that have no modelled borough figures."""
    names = list(labels)
    if not names:
        return ""
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    which = "gap" if len(names) == 1 else "gaps"
    return f"No modelled borough figures for the {which} {listed}: {GAP_NOT_MODELLED_WHY}."


def method_sentence(applied: Iterable[str]) -> str:
    """One sentence naming the uncertainty model(s) behind the figures on a page."""
    methods = [m for m in dict.fromkeys(str(a) for a in applied) if m in APPLIED_METHODS]
    if not methods:
        return ""
    if len(methods) == 1:
        return f"Uncertainty: {APPLIED_METHODS[methods[0]]}."
    return (
        "Uncertainty, depending on the figure: "
        + "; ".join(APPLIED_METHODS[m] for m in methods)
        + "."
    )


# ---------------------------------------------------------------------------------------
# Flags and their reasons

SUPPRESSED, LOW_RELIABILITY, NOT_AVAILABLE = "[c]", "[u]", "[x]"

NOT_COVERED = "not covered"  # [x]: the source never covers this area (registry coverage_excludes)
UNAVAILABLE = "not available"  # [x]: the source has no figure (or no respondent) here
PRIMARY = "primary"  # [c]: base under the suppression threshold
SECONDARY = "secondary"  # [c]: withheld so a published total cannot reveal a suppressed figure
PUBLISHER = "publisher"  # [c] or [u]: the publisher's own marker
SMALL_BASE = "small base"  # [u]: base under the reliability threshold
# [u]: a published rate of 100% with no interval, or a published interval beyond 0-100% (or a
# gap built on such a rate); the figure's note in ``source`` gives the published numbers
UNUSABLE_INTERVAL = "unusable interval"
DOUBTFUL_DENOMINATOR = "doubtful denominator"  # [u]: the source knows the denominator is unreliable

FLAG_REASONS = {
    NOT_AVAILABLE: (NOT_COVERED, UNAVAILABLE),
    SUPPRESSED: (PRIMARY, SECONDARY, PUBLISHER),
    LOW_RELIABILITY: (SMALL_BASE, PUBLISHER, UNUSABLE_INTERVAL, DOUBTFUL_DENOMINATOR),
    "": ("",),
}


def check_flag(flag: str, reason: str) -> None:
    """Fail on a flag given with a reason that does not belong to it."""
    if reason not in FLAG_REASONS.get(flag, ()):
        raise ValueError(
            f"flag {flag!r} cannot have reason {reason!r}; allowed: {FLAG_REASONS.get(flag)}"
        )


def flag_reason_text(flag: str, reason: str, survey: bool = True) -> str:
    """Why a figure is flagged, in a page's words (empty for an unflagged figure)."""
    base = "respondents" if survey else "people in the denominator"
    texts = {
        (NOT_AVAILABLE, NOT_COVERED): "not covered by the source",
        (NOT_AVAILABLE, UNAVAILABLE): "not available from the source",
        (SUPPRESSED, PRIMARY): f"suppressed: fewer than 50 {base}",
        (
            SUPPRESSED,
            SECONDARY,
        ): "withheld so that a suppressed figure cannot be worked out from a published total "
        "(secondary suppression)",
        (SUPPRESSED, PUBLISHER): "suppressed by the publisher",
        (LOW_RELIABILITY, SMALL_BASE): f"low reliability: 50 to 99 {base}",
        (LOW_RELIABILITY, PUBLISHER): "marked unreliable by the publisher",
        (
            LOW_RELIABILITY,
            UNUSABLE_INTERVAL,
        ): "low reliability: the published interval is missing at 100% or goes "
        "beyond 0-100% (the figure's note gives it)",
        (
            LOW_RELIABILITY,
            DOUBTFUL_DENOMINATOR,
        ): "low reliability: its denominator is known to be unreliable (the "
        "figure's note says why)",
    }
    return texts.get((flag or "", reason or ""), "")


# ---------------------------------------------------------------------------------------
# Verdicts


@lru_cache(maxsize=1)
def gap_indicators() -> frozenset[str]:
    """Indicators that are gaps between groups (their rows carry the grouping variable)."""
    from analysis import measures

    return frozenset(
        s.indicator for m in measures.registry() if m.kind == "survey_gap" for s in m.series
    )


def is_population_group(indicator: str, breakdown: str) -> bool:
    """A row for a population group (e.g. women), as opposed to an area or a gap between groups."""
    return breakdown != "all" and indicator not in gap_indicators()


def judged(polarity: str) -> bool:
    """Whether a row with this polarity can be called better or worse at all."""
    return polarity in ("up", "down")


def verdict(compared: str, polarity: str, population_group: bool = False) -> str:
    """The word a page uses for a comparison with London.

    ``better``/``worse`` for an area (or a gap) whose row has a direction; ``higher``/``lower``
    for a neutral row or a population group; ``similar`` or ``not_compared`` unchanged.
    """
    if compared not in ("higher", "lower"):
        return compared if compared in ("similar", "not_compared") else "not_compared"
    if population_group or not judged(polarity):
        return compared
    return "better" if (compared == "higher") == (polarity == "up") else "worse"


def row_verdict(row: pd.Series | dict) -> str:
    """:func:`verdict` of an estimates row, by its own polarity, indicator and breakdown."""
    return verdict(
        row["compared_to_london"],
        row["polarity"],
        is_population_group(row["indicator"], row["breakdown"]),
    )


def verdicts(rows: pd.DataFrame) -> pd.Series:
    """:func:`row_verdict` of every row."""
    if rows.empty:
        return pd.Series([], dtype=object, index=rows.index)
    return pd.Series(
        [
            verdict(c, p, is_population_group(i, b))
            for c, p, i, b in zip(
                rows["compared_to_london"], rows["polarity"], rows["indicator"], rows["breakdown"]
            )
        ],
        index=rows.index,
        dtype=object,
    )


def comparison_phrase(
    compared: str, polarity: str, population_group: bool = False, against: str = "London"
) -> str:
    """'significantly higher than London (better)', 'similar to London', ..."""
    if compared == "similar":
        return f"similar to {against}"
    if compared not in ("higher", "lower"):
        return f"not compared with {against}"
    word = verdict(compared, polarity, population_group)
    text = f"significantly {compared} than {against}"
    return f"{text} ({word})" if word in ("better", "worse") else text


def change_assessment(direction: str, polarity: str) -> str:
    """'better', 'worse', 'no significant change', 'not_judged' (a context indicator's change)
    or 'not_compared', for a change's direction and the polarity of its row."""
    if direction == "no significant change":
        return direction
    if direction not in ("increased", "decreased"):
        return "not_compared"
    if not judged(polarity):
        return "not_judged"
    return "better" if (direction == "increased") == (polarity == "up") else "worse"


def polarity_sentence(polarity: str) -> str:
    """What direction means for a row, for a page's header."""
    return {"up": "Higher is better.", "down": "Lower is better."}.get(
        polarity, "A context indicator: a higher or lower figure is neither better nor worse."
    )


# ---------------------------------------------------------------------------------------
# Ranks


def rankable(value: float, flag: str) -> bool:
    """A figure gets a rank only when it is published and not of low reliability."""
    return pd.notna(value) and (flag or "") not in (SUPPRESSED, LOW_RELIABILITY, NOT_AVAILABLE)


RANK_NOTE = (
    "Ranks are among the boroughs with a published figure that is not of low reliability [u] "
    "(the number after 'of'); they ignore uncertainty, and neighbouring ranks rarely differ significantly."
)


def rank_text(rank: float | None, n_ranked: int, flag: str, polarity: str) -> str:
    """'3 of 32', or why there is no rank."""
    if not judged(polarity):
        return "not ranked (context indicator)"
    if (flag or "") == LOW_RELIABILITY:
        return "not ranked [u]"
    if rank is None or pd.isna(rank):
        return "not ranked"
    return f"{int(rank)} of {int(n_ranked)}"


def range_text(low: str, high: str, figures: int) -> str:
    """The range of the borough figures beside a borough's ('12.0 to 31.5'), taken over the
    boroughs with a reliable figure (published, not [u]): with only one such figure there is
    no range, and the text says so instead of '23.7 to 23.7'; '' with none."""
    if figures <= 0:
        return ""
    if figures == 1:
        return f"{low} (the only borough with a reliable figure)"
    return f"{low} to {high}"


# ---------------------------------------------------------------------------------------
# Counts a page shows


@dataclass(frozen=True)
class Tally:
    """The one count of a page's indicators against London.

    ``judged`` counts the indicators with a better or worse direction (context indicators are
    listed apart and never counted as better or worse); every such indicator is exactly one of
    better, worse, similar or not compared, and each not-compared one has one reason.
    """

    judged: int
    better: list[str]
    worse: list[str]
    similar: list[str]
    not_compared: dict[str, list[str]]  # reason -> labels
    context: list[
        tuple[str, str, str]
    ]  # (label, higher/lower/similar/not_compared, why not compared)

    @property
    def n_not_compared(self) -> int:
        return sum(len(v) for v in self.not_compared.values())


def not_compared_reason(row: pd.Series | dict, survey: bool = True) -> str:
    """Why a figure has no comparison with London, from its flag and reason or its interval."""
    flag = row.get("flag") or ""
    if flag in (SUPPRESSED, NOT_AVAILABLE):
        return flag_reason_text(
            flag, row.get("flag_reason") or (PRIMARY if flag == SUPPRESSED else UNAVAILABLE), survey
        )
    if pd.isna(row.get("lower_ci")) or pd.isna(row.get("upper_ci")):
        return "published without a confidence interval"
    return "no test against London available"


def tally(rows: pd.DataFrame, label: str = "label") -> Tally:
    """Count the rows of one area (one row per indicator) by their verdict against London."""
    v = verdicts(rows)
    directional = rows["polarity"].map(judged).astype(bool)
    better = rows.loc[directional & (v == "better"), label].tolist()
    worse = rows.loc[directional & (v == "worse"), label].tolist()
    similar = rows.loc[directional & (v == "similar"), label].tolist()
    reasons: dict[str, list[str]] = {}
    for _, r in rows[directional & (v == "not_compared")].iterrows():
        reasons.setdefault(
            not_compared_reason(r, str(r.get("kind", "survey")).startswith("survey")), []
        ).append(r[label])
    context = [
        (
            r[label],
            v[i],
            not_compared_reason(r, str(r.get("kind", "survey")).startswith("survey"))
            if v[i] == "not_compared"
            else "",
        )
        for i, r in rows[~directional].iterrows()
    ]
    return Tally(int(directional.sum()), better, worse, similar, reasons, context)


# ---------------------------------------------------------------------------------------
# Trend markers (a borough's spine chart and its table)

TREND_MARKER_NOTE = (
    "Recent trend over up to five comparable periods: ↑ increasing, ↓ decreasing (with better "
    "or worse by the indicator's direction), → no significant trend, – not tested."
)


def trend_marker(direction: str | None, polarity: str) -> str:
    """A short marker for a series' recent trend (a ``direction`` of ``trends.csv``): an arrow
    for the way the figures went, with better or worse only where the row has a direction;
    '→' for no significant trend and '–' where the trend was not tested (or there is none)."""
    if direction in ("increasing", "decreasing"):
        arrow = "↑" if direction == "increasing" else "↓"
        word = change_assessment(
            "increased" if direction == "increasing" else "decreased", polarity
        )
        return f"{arrow} {word}" if word in ("better", "worse") else arrow
    if direction == "no significant trend":
        return "→"
    return "–"
