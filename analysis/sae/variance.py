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
