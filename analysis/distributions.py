"""Distribution functions, intervals and tests for design-based estimates.

The distribution functions come from the special functions that ``scipy.stats`` itself calls
for them (same numbers), without importing ``scipy.stats``: that import alone takes most of a
second at the start of every build's data step. Like them, each returns an array for an array
and a number for a number. :mod:`analysis.survey` re-exports everything here.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

Floats = np.ndarray | float
"""An array of floats, or one float (a numpy scalar is a float)."""


def normal_sf(x: ArrayLike) -> Floats:
    """Upper tail of the standard normal, as ``scipy.stats.norm.sf``."""
    return special.ndtr(-np.asarray(x, dtype=float))


def normal_ppf(q: ArrayLike) -> Floats:
    """Quantile of the standard normal, as ``scipy.stats.norm.ppf``."""
    return special.ndtri(q)


def t_sf(x: ArrayLike, df: ArrayLike) -> np.ndarray:
    """Upper tail of Student's t, as ``scipy.stats.t.sf`` (NaN where df is not positive)."""
    df = np.asarray(df, dtype=float)
    return np.where(
        df > 0, special.stdtr(np.where(df > 0, df, 1.0), -np.asarray(x, dtype=float)), np.nan
    )


def t_ppf(q: float, df: float) -> float:
    """Quantile of Student's t, as ``scipy.stats.t.ppf``."""
    return special.stdtrit(df, q) if df > 0 else np.nan


def chi2_ppf(q: ArrayLike, df: ArrayLike) -> np.ndarray:
    """Quantile of the chi-squared distribution, as ``scipy.stats.chi2.ppf`` (NaN where df is
    not positive)."""
    df = np.asarray(df, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(df > 0, 2 * special.gammaincinv(np.where(df > 0, df, 1.0) / 2, q), np.nan)


Z95 = float(normal_ppf(0.975))


def t_quantile(df: ArrayLike, level: float = 0.95) -> Floats:
    """Two-sided critical value of Student's t (normal where df is infinite); vectorised."""
    df = np.asarray(df, dtype=float)
    # few distinct degrees of freedom occur (PSUs minus strata per domain): each quantile is
    # computed once, as scipy's per-call overhead dominates on small arrays
    distinct, where = np.unique(df, return_inverse=True)
    q = np.array([_t_critical(float(d), level) for d in distinct])[where].reshape(df.shape)
    return float(q) if q.ndim == 0 else q


@lru_cache(maxsize=4096)
def _t_critical(df: float, level: float) -> float:
    if not np.isfinite(df):
        return float(normal_ppf(0.5 + level / 2))
    return float(t_ppf(0.5 + level / 2, df))


def logit_ci(
    p: ArrayLike, se: ArrayLike, df: ArrayLike, level: float = 0.95, n: ArrayLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Interval for a proportion on the logit scale, as ``svyciprop(method = "logit")``.

    A Wald interval for logit(p) with standard error se / (p (1 - p)) and a t quantile on
    ``df`` degrees of freedom, transformed back; it stays inside (0, 1). Where every answer
    is 0 or every answer is 1 the logit is infinite, so the exact Clopper-Pearson interval on
    the unweighted count ``n`` is used instead (0 to 1 - (alpha/2)^(1/n), or its mirror).
    """
    p = np.asarray(p, dtype=float)
    se = np.asarray(se, dtype=float)
    q = t_quantile(df, level)
    with np.errstate(invalid="ignore", divide="ignore"):
        eta = np.log(p / (1 - p))
        half = q * se / (p * (1 - p))
        lo = 1 / (1 + np.exp(-(eta - half)))
        hi = 1 / (1 + np.exp(-(eta + half)))
        if n is None:
            edge_hi = edge_lo = p
        else:
            exact = 1 - ((1 - level) / 2) ** (1 / np.asarray(n, dtype=float))
            edge_hi = np.where(p <= 0, exact, p)
            edge_lo = np.where(p >= 1, 1 - exact, p)
    zero, one = p <= 0, p >= 1
    lo = np.where(zero, 0.0, np.where(one, edge_lo, lo))
    hi = np.where(one, 1.0, np.where(zero, edge_hi, hi))
    return lo, hi


def wald_ci(
    est: ArrayLike, se: ArrayLike, df: ArrayLike, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric interval est ± t * se (means and differences)."""
    q = t_quantile(df, level)
    est = np.asarray(est, dtype=float)
    se = np.asarray(se, dtype=float)
    return est - q * se, est + q * se


def t_test_p(diff: ArrayLike, se: ArrayLike, df: ArrayLike) -> np.ndarray:
    """Two-sided p-value for diff / se against Student's t on ``df`` degrees of freedom."""
    diff = np.asarray(diff, dtype=float)
    se = np.asarray(se, dtype=float)
    df = np.broadcast_to(np.asarray(df, dtype=float), diff.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.abs(diff / se)
    p = 2 * np.where(np.isfinite(df), t_sf(t, np.where(np.isfinite(df), df, 1.0)), normal_sf(t))
    # a part that is the whole (every respondent in one group) differs from it only by
    # rounding, in the difference and in its standard error alike: no difference, p = 1
    p = np.where(np.abs(diff) <= ZERO_DIFFERENCE, 1.0, p)
    # no standard error (e.g. a source without intervals): no test, so no claim
    return np.where(
        np.isnan(se) | np.isnan(diff),
        np.nan,
        np.where((se > 0) | (np.abs(diff) <= ZERO_DIFFERENCE), p, 0.0),
    )


# Differences this small are floating-point rounding of identical values (estimates are
# proportions, percentages or counts, never meaningfully different at the 12th decimal).
ZERO_DIFFERENCE = 1e-12
