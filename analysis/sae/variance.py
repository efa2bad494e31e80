"""Smoothing the direct sampling variances with a generalised variance function (GVF).

The Fay-Herriot model treats each borough's sampling variance ``D_i`` as known, but the
design-based variance of a proportion from a few dozen respondents is itself very noisy: it
is zero when every answer in the borough is the same, and it moves with the estimate it
belongs to, so that using it would give the boroughs with an unluckily low variance far too
much weight. The GVF replaces it by::

    D_i = deff * p_i (1 - p_i) / n_i

* ``n_i``: the borough's respondents with an answer;
* ``p_i``: a smooth value of the proportion, not the borough's own direct estimate: the
  London direct estimate in a first fit, then the model's regression value ``x_i' beta``
  of that fit (bounded to 2%-98%); the model is fitted again with these variances;
* ``deff``: one design effect for the measure and wave: that of the London direct
  estimate, ``v_London / (P (1 - P) / n_London)``. It carries the weighting and clustering
  of the survey into every borough's variance. It is taken from London, not pooled over the
  boroughs' own variances, because a borough's design-based variance rests on the few PSUs
  that fall in it and is biased down when those are few: the with-replacement formula
  centres the PSU totals on the borough's own mean and so loses a degree of freedom of
  perhaps three. In the demo's clustered designs the boroughs' variances averaged about
  half of the true sampling variance (``benchmarks/bench_sae.py``), while London's, from
  every PSU, was right. The pooled borough design effect is still reported beside it.

(Proportions here are on the 0-1 scale.)
"""

from __future__ import annotations

import numpy as np

from analysis.sae.data import GAP, Direct

P_BOUNDS = (0.02, 0.98)


def pooled_deff(v: np.ndarray, n: np.ndarray, p: np.ndarray) -> float:
    """The boroughs' design effect pooled over areas with two or more respondents,
    ``sum_i v_i / sum_i p_i (1 - p_i) / n_i`` (reported, not used: see module)."""
    v, n, p = (np.asarray(a, dtype=float) for a in (v, n, p))
    use = (n >= 2) & np.isfinite(v)
    srs = p[use] * (1 - p[use]) / n[use]
    if not use.any() or srs.sum() <= 0:
        raise ValueError("no area with two or more respondents to estimate a design effect from")
    return float(v[use].sum() / srs.sum())


def london_deff(variance: float, p: float, n: float) -> float:
    """The design effect of the London direct estimate (see module)."""
    if not (n > 0 and 0 < p < 1 and np.isfinite(variance) and variance > 0):
        raise ValueError(
            "London's direct estimate has no design effect (no variance or a proportion of 0 or 1)"
        )
    return float(variance / (p * (1 - p) / n))


def gvf(n: np.ndarray, p: np.ndarray, deff: float) -> np.ndarray:
    """Smoothed variances ``deff * p (1 - p) / n`` (NaN where ``n`` is 0)."""
    n = np.asarray(n, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), *P_BOUNDS)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, deff * p * (1 - p) / n, np.nan)


# ---------------------------------------------------------------------------------------
# Gaps: the variance of a difference between two groups of a borough
#
# A borough's gap is ``p_a - p_b``, the two groups' rates from disjoint sets of its
# respondents. Under simple random sampling its variance is ``p_a (1 - p_a) / n_a + p_b (1 -
# p_b) / n_b``; the design (weights, and the two groups sharing the borough's PSUs, which
# makes their covariance positive and the difference's variance smaller) enters through one
# design effect, London's gap's::
#
#     D_i = deff_gap * (P_a (1 - P_a) / n_ai + P_b (1 - P_b) / n_bi),
#     deff_gap = v_London_gap / (P_a (1 - P_a) / N_a + P_b (1 - P_b) / N_b)
#
# with ``P_a, P_b`` London's two rates and ``N_a, N_b`` its respondents in the two groups.
# The rates are London's, not the borough's (which are noisy, and zero variance at 0% or
# 100%), in both fits: the first fit's regression value is of the gap, not of either rate.


def srs_gap(n_a: np.ndarray, n_b: np.ndarray, p_a: float, p_b: float) -> np.ndarray:
    """``p_a (1 - p_a) / n_a + p_b (1 - p_b) / n_b`` (NaN where either group is empty)."""
    n_a, n_b = np.asarray(n_a, dtype=float), np.asarray(n_b, dtype=float)
    p_a, p_b = (float(np.clip(p, *P_BOUNDS)) for p in (p_a, p_b))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            (n_a > 0) & (n_b > 0), p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b, np.nan
        )


def london_deff_gap(variance: float, p_a: float, p_b: float, n_a: float, n_b: float) -> float:
    """The design effect of London's direct gap (see above)."""
    srs = float(srs_gap(np.array([n_a]), np.array([n_b]), p_a, p_b)[0])
    if not (np.isfinite(srs) and srs > 0 and np.isfinite(variance) and variance > 0):
        raise ValueError("London's direct gap has no design effect (a group without respondents)")
    return float(variance / srs)


def gvf_gap(n_a: np.ndarray, n_b: np.ndarray, p_a: float, p_b: float, deff: float) -> np.ndarray:
    """Smoothed variances of the boroughs' gaps, ``deff * srs_gap`` (see above)."""
    return deff * srs_gap(n_a, n_b, p_a, p_b)


# ---------------------------------------------------------------------------------------
# One direct input's variances (a proportion's or a gap's)


def design_effect(d: Direct, have: np.ndarray) -> float:
    """The design effect of London's direct estimate (its gap, for a gap)."""
    if d.kind == GAP and d.london_groups is not None:
        return london_deff_gap(d.london_se**2, *d.london_groups)
    return london_deff(d.london_se**2, d.london, d.n[have].sum())


def smoothed(d: Direct, use: np.ndarray, p: np.ndarray, deff: float) -> np.ndarray:
    """GVF variances of the boroughs in ``use`` (NaN elsewhere); ``p`` the smooth level of a
    proportion (a gap's GVF uses London's two rates instead, :mod:`analysis.sae.variance`)."""
    if d.kind == GAP and d.n_groups is not None and d.london_groups is not None:
        n_a, n_b = (np.where(use, d.n_groups[:, k], 0) for k in (0, 1))
        return gvf_gap(n_a, n_b, d.london_groups[0], d.london_groups[1], deff)
    return gvf(np.where(use, d.n, 0), p, deff)


def boroughs_deff(d: Direct, fitted: np.ndarray, p: np.ndarray) -> float:
    """The boroughs' own design effect, pooled (reported beside the one used)."""
    if d.kind == GAP and d.n_groups is not None and d.london_groups is not None:
        srs = srs_gap(d.n_groups[fitted, 0], d.n_groups[fitted, 1], *d.london_groups[:2])
        return float(np.nansum(d.variance[fitted]) / np.nansum(srs))
    return pooled_deff(d.variance[fitted], d.n[fitted], p[fitted])
