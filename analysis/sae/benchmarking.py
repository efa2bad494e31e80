"""Benchmarking: modelled boroughs that add up to the direct London estimate.

The direct London estimate of a survey proportion is the weighted mean of the boroughs'
direct estimates, each weighted by its share ``w_i`` of the survey's weighted population
(its weighted count of respondents with an answer). The EBLUPs, weighted the same way, do
not in general add up to it, and a report that shows London at 91% beside boroughs that
average 90% invites the wrong question. So every borough's figure is moved by the same
amount (difference benchmarking)::

    eblup_b_i = eblup_i + (y_London - sum_j w_j eblup_j)

which makes ``sum_j w_j eblup_b_j`` equal ``y_London`` exactly. Its effect on the MSE is the
variance of the adjustment (Wang, Fuller and Qu, 2008; Steorts and Ghosh, 2013), added to
every borough::

    g4 = (B w)' (V - X (X' V^-1 X)^-1 X') (B w)

where ``B`` holds the shrinkage factors, ``V = diag(A + D_i)`` over the boroughs with a
direct estimate, and ``X`` their covariates; ``y - X beta`` has covariance
``V - X (X' V^-1 X)^-1 X'`` under the model. The covariance of the adjustment with a
borough's own prediction error is of smaller order and is left out, as Steorts and Ghosh
do. A borough with no respondents has no weight in London's direct estimate, so none here.
"""

from __future__ import annotations

import numpy as np

from analysis.sae.model import Fit


def weights(weighted_n: np.ndarray) -> np.ndarray:
    """Each area's share of the weighted population with an answer."""
    w = np.asarray(weighted_n, dtype=float)
    return w / w.sum()


def adjustment(target: float, w: np.ndarray, eblup: np.ndarray) -> float:
    """The amount added to every area so the weighted EBLUPs equal ``target``."""
    return float(target - np.dot(w, eblup))


def g4(
    fit: Fit,
    w: np.ndarray,
    X_out: np.ndarray | None = None,
    w_out: np.ndarray | None = None,
    V_out: np.ndarray | None = None,
) -> float:
    """Variance of the benchmarking adjustment under the model (see module docstring).

    ``w`` weights the fitted areas (zero for those not benchmarked together, e.g. other
    waves). Areas that count in London's direct estimate but are predicted out of sample
    (a suppressed borough, see :mod:`analysis.sae.boroughs`) enter with covariates
    ``X_out``, weights ``w_out`` and ``V_out = A + D``: the adjustment is then
    ``sum_F w B (y - X beta) + sum_S w (y - X beta)``, linear in ``y`` with coefficients
    ``c_F = B w - V^-1 X C u`` (``u = X_F' B w + X_S' w_S``) and ``c_S = w_S``; its variance
    is ``c_F' V c_F + sum_S w_S^2 V_S``. Without such areas it is the formula above."""
    bw = fit.shrinkage * np.asarray(w, dtype=float)
    u = fit.X.T @ bw
    extra = 0.0
    if X_out is not None and w_out is not None and V_out is not None and len(w_out):
        u = u + np.asarray(X_out, dtype=float).T @ np.asarray(w_out, dtype=float)
        extra = float(np.asarray(w_out) ** 2 @ np.asarray(V_out))
    c = bw - (fit.X @ (fit.beta_cov @ u)) / fit.V
    return float(c @ (fit.V * c)) + extra
