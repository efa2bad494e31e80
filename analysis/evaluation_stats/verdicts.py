"""The evaluation's rulebook: the words a result may be given (improved, worsened, no
significant change or difference), whether it is fragile, and what the two site-clustered
analyses share.

Why one place: the page picks its sentences, colours and markers by these verdicts, so a
result's wording cannot drift between the bottom line, the tables and the charts.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

import numpy as np

from analysis.cluster_robust import Inference
from analysis.evaluation import Outcome, Polarity

ALPHA = 0.05


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
