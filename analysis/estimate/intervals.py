"""Interval formulas for counts over denominators: Wilson score intervals for proportions and
exact (Garwood) Poisson intervals for rates.

Why here and only here: the estimates and the programme evaluation page
(:func:`analysis.evaluation_stats.wilson`) use the same Wilson interval, so there is one
implementation to check.
"""

from __future__ import annotations

import numpy as np

from analysis import survey

Z95 = survey.Z95


def wilson_interval(x: np.ndarray, n: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for x successes out of n (Fingertips' method for proportions)."""
    x, n = np.asarray(x, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return centre - half, centre + half


def poisson_interval(count: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) interval for a Poisson count, from chi-squared quantiles."""
    count = np.asarray(count, dtype=float)
    a = 1 - level
    with np.errstate(invalid="ignore"):
        lower = np.where(count > 0, survey.chi2_ppf(a / 2, 2 * count) / 2, 0.0)
        upper = survey.chi2_ppf(1 - a / 2, 2 * count + 2) / 2
    return np.where(np.isnan(count), np.nan, lower), np.where(np.isnan(count), np.nan, upper)
