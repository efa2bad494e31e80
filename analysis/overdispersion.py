"""Overdispersion-adjusted uncertainty for administrative indicators (Spiegelhalter 2005).

A count over a population estimate (electors per adult, pupils reaching a standard) is not a
random sample: with denominators in the hundreds of thousands a binomial interval is a few
hundredths of a point wide, yet boroughs differ by whole points for reasons no model of the
count captures (register and population errors, real differences). Testing each borough
against London with binomial limits then calls nearly every borough "significantly" different,
and a 0.2-point change "significant". Following Spiegelhalter (2005), "Funnel plots for
comparing institutional performance" (Stat Med 24:1185-1202) and "Handling over-dispersion of
performance indicators" (Qual Saf Health Care 14:347-351), as used for NHS and CQC indicators:

1. z-scores of the boroughs against London's value ``t``, with the null standard error
   ``s_i`` (binomial ``sqrt(t(1-t)/n_i)``, or Poisson ``sqrt(t/n_i)`` for a rate);
2. z-scores winsorised at their 10th and 90th percentiles, so a few outlying boroughs do not
   inflate the estimate; ``phi = mean(z_w^2)``;
3. overdispersion is present when ``I * phi`` exceeds the 95% point of chi-squared on
   ``I - 1`` degrees of freedom (``I`` boroughs); otherwise the plain model stands;
4. the rule for the form of the adjustment: where the boroughs' denominators differ by more
   than a factor of :data:`ADDITIVE_SPREAD` the additive random-effects model is used,
   ``tau^2 = (I phi - (I - 1)) / (sum w - sum w^2 / sum w)`` with ``w = 1/s_i^2``
   (DerSimonian-Laird), because a multiplicative factor would let the limits of large
   boroughs shrink towards zero width, which is the false precision being corrected; with
   similar denominators the two agree closely and the multiplicative ``phi`` is used;
5. each borough's adjusted standard error is ``sqrt(phi) * se_i`` or ``sqrt(se_i^2 + tau^2)``
   and its interval the value +/- 1.96 of them; it is higher or lower than London when that
   interval excludes London's value (the adjusted 95% funnel limits, evaluated at the
   borough's own figure). An aggregate of boroughs (Inner, Outer London, London) carries the
   denominator-weighted sum of its boroughs' adjusted variances. The same standard errors are
   written to ``se``, so the tests of change over time use them too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from analysis import survey

__all__ = [
    "ADDITIVE_SPREAD",
    "Method",
    "Overdispersion",
    "WINSOR",
    "estimate",
    "null_se",
    "winsorised_phi",
]

WINSOR = (10.0, 90.0)  # percentiles the z-scores are winsorised at
ADDITIVE_SPREAD = 4.0  # largest / smallest denominator above which the additive model is used


Method = Literal["binomial", "poisson", "overdispersed_multiplicative", "overdispersed_additive"]
"""The uncertainty model an admin figure ends up with; it is written to the estimates'
``uncertainty`` column as it is."""


@dataclass(frozen=True)
class Overdispersion:
    """The adjustment estimated for one indicator in one period."""

    method: Method
    phi: float  # winsorised overdispersion factor (1 = none)
    tau2: float  # additive between-area variance, in the value's scale (0 unless additive)
    n_areas: int

    def se(self, se: np.ndarray, weights_sq_sum: np.ndarray | float = 1.0) -> np.ndarray:
        """Adjusted standard errors from the plain ones (``weights_sq_sum``: for an aggregate,
        the sum of its boroughs' squared denominator shares; 1 for a borough)."""
        se = np.asarray(se, dtype=float)
        if self.method == "overdispersed_multiplicative":
            return np.sqrt(self.phi) * se
        if self.method == "overdispersed_additive":
            return np.sqrt(se**2 + self.tau2 * np.asarray(weights_sq_sum, dtype=float))
        return se

    @property
    def adjusted(self) -> bool:
        """Whether the areas vary more than chance allows, so the standard errors are widened."""
        return self.method in ("overdispersed_multiplicative", "overdispersed_additive")


def null_se(
    target: float, denominators: np.ndarray, poisson: bool, multiplier: float
) -> np.ndarray:
    """Standard error of each area's value if its true value were London's (``target``)."""
    n = np.asarray(denominators, dtype=float)
    t = target / multiplier
    with np.errstate(divide="ignore", invalid="ignore"):
        var = t / n if poisson else t * (1 - t) / n
    return np.sqrt(var) * multiplier


def winsorised_phi(z: np.ndarray, limits: tuple[float, float] = WINSOR) -> float:
    """Mean squared z-score after winsorising at the given percentiles."""
    z = np.asarray(z, dtype=float)
    lo, hi = np.percentile(z, limits)
    return float(np.mean(np.clip(z, lo, hi) ** 2))


def estimate(
    values: np.ndarray,
    denominators: np.ndarray,
    target: float,
    *,
    poisson: bool,
    multiplier: float = 100.0,
    spread: float = ADDITIVE_SPREAD,
    winsor: tuple[float, float] | None = WINSOR,
) -> Overdispersion:
    """Estimate the overdispersion of areas' values around ``target`` (see the module text).

    Areas with no value or no denominator are left out; fewer than three areas, or a target
    of 0 (or 100% for a proportion), leave the plain model in place. ``winsor=None`` turns
    winsorising off (then, with ``target`` the areas' pooled value, ``tau2`` is exactly the
    DerSimonian-Laird estimate, which the R cross-check uses).
    """
    plain: Method = "poisson" if poisson else "binomial"
    values, n = np.asarray(values, dtype=float), np.asarray(denominators, dtype=float)
    keep = np.isfinite(values) & np.isfinite(n) & (n > 0)
    values, n = values[keep], n[keep]
    areas = len(values)
    s = null_se(target, n, poisson, multiplier)
    if areas < 3 or not np.isfinite(target) or not np.all(np.isfinite(s) & (s > 0)):
        return Overdispersion(plain, 1.0, 0.0, areas)
    z = (values - target) / s
    phi = winsorised_phi(z, winsor) if winsor else float(np.mean(z**2))
    if areas * phi <= survey.chi2_ppf(0.95, areas - 1):
        return Overdispersion(plain, 1.0, 0.0, areas)
    if n.max() / n.min() > spread:
        w = 1 / s**2
        tau2 = max(0.0, (areas * phi - (areas - 1)) / (w.sum() - (w**2).sum() / w.sum()))
        return Overdispersion("overdispersed_additive", phi, float(tau2), areas)
    return Overdispersion("overdispersed_multiplicative", phi, 0.0, areas)
