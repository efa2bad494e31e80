"""The area-level Fay-Herriot model: REML fit, EBLUP and its mean squared error.

Model (Fay and Herriot, 1979), for areas ``i = 1..m`` with a direct estimate ``y_i``::

    y_i = theta_i + e_i,   e_i ~ N(0, D_i)       (sampling error, D_i treated as known)
    theta_i = x_i' beta + v_i,   v_i ~ N(0, A)    (area effect)

It is the random-effects meta-regression that R's ``metafor::rma(yi, vi, mods, method =
"REML")`` fits, and ``blup()`` gives the same EBLUPs (``tests/fixtures/r_sae``).

Why each choice:

* **REML** for the area-effect variance ``A`` (Fisher scoring, as metafor does): it allows
  for the degrees of freedom used by ``beta``, so ``A`` is not biased down with 33 areas.
* **Remedy at zero.** REML can put ``A`` at 0, which would give every area the regression
  value and intervals that ignore any area effect. When it does, ``A`` is instead the
  adjusted REML estimate of Li and Lahiri (2010), which maximises ``A * L_REML(A)``: it is
  always above zero and has the same large-sample properties.
* **MSE** by Prasad and Rao (1990) with the REML form of Datta and Lahiri (2000)::

      mse_i = g1_i + g2_i + 2 g3_i
      g1_i = A D_i / (A + D_i)                       (uncertainty of theta_i given the data)
      g2_i = B_i^2 x_i' (X' V^-1 X)^-1 x_i            (estimating beta), B_i = D_i / (A + D_i)
      g3_i = D_i^2 / (A + D_i)^3 * 2 / sum_j (A + D_j)^-2   (estimating A by REML)

  With the Li-Lahiri estimate the same three terms are used, without the bias correction
  Li and Lahiri subtract (``b(A) dg1_i/dA``, ``b(A) = 2 / (A sum_j (A + D_j)^-2)``): that
  term grows without bound as ``A`` nears zero, which is exactly when this remedy applies,
  and makes the estimate negative (it did on the committed test data). Their estimate of
  ``A`` is biased upward and ``g1`` rises with ``A``, so leaving the correction out
  overstates the MSE a little: intervals err on the wide side. (``mse_terms`` still returns
  the term, as ``bias``, for inspection.)
* An area with no direct estimate gets the regression value ``x_i' beta`` with MSE
  ``A + x_i' (X' V^-1 X)^-1 x_i``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

REML = "REML"
LI_LAHIRI = "Li-Lahiri adjusted REML (REML estimate was zero)"


class ModelError(ValueError):
    """The model cannot be fitted to these inputs (too few areas, bad variances)."""


@dataclass(frozen=True)
class Fit:
    """A fitted Fay-Herriot model over the areas with a direct estimate."""

    beta: np.ndarray
    beta_cov: np.ndarray  # (X' V^-1 X)^-1
    A: float  # area-effect variance used
    A_reml: float  # the plain REML estimate (0 when it is on the boundary)
    method: str  # REML or LI_LAHIRI
    iterations: int
    y: np.ndarray
    D: np.ndarray
    X: np.ndarray

    @property
    def V(self) -> np.ndarray:
        return self.A + self.D

    @property
    def shrinkage(self) -> np.ndarray:
        """B_i = D_i / (A + D_i): the weight the EBLUP puts on the regression value."""
        return self.D / self.V

    @property
    def synthetic(self) -> np.ndarray:
        return self.X @ self.beta

    @property
    def eblup(self) -> np.ndarray:
        return self.y - self.shrinkage * (self.y - self.synthetic)

    def mse_terms(self) -> dict[str, np.ndarray]:
        """g1, g2, g3 and (Li-Lahiri only) the bias term, per area with a direct estimate."""
        return mse_terms(self.A, self.D, self.X, self.beta_cov, li_lahiri=self.method == LI_LAHIRI)

    @property
    def mse(self) -> np.ndarray:
        t = self.mse_terms()
        return t["g1"] + t["g2"] + 2 * t["g3"]  # no bias correction: see the module docstring

    def predict_unsampled(self, X_new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Regression value and its MSE (A + x' cov(beta) x) for areas with no direct estimate."""
        X_new = np.atleast_2d(np.asarray(X_new, dtype=float))
        return X_new @ self.beta, self.A + np.einsum("ij,jk,ik->i", X_new, self.beta_cov, X_new)

    def standardised_residuals(self) -> np.ndarray:
        """(y_i - x_i' beta) / sqrt(A + D_i): about N(0, 1) when the model holds."""
        return (self.y - self.synthetic) / np.sqrt(self.V)

    def variance_explained(self, null_X: np.ndarray | None = None) -> float:
        """Share of the between-area variance explained by the covariates: 1 - A / A_0, where
        A_0 is the REML area-effect variance of the model with ``null_X`` only (an
        intercept by default; one per wave for waves fitted together), as metafor's pseudo
        R^2."""
        base = np.ones((self.y.size, 1)) if null_X is None else null_X
        null = fit(self.y, self.D, base, remedy=False, start=self.A_reml)
        if null.A <= 0:
            return float("nan")
        return float(max(0.0, 1 - self.A_reml / null.A))


def _gls(A: float, y: np.ndarray, D: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """beta and (X'V^-1X)^-1 at A."""
    w = 1.0 / (A + D)
    XtW = X.T * w
    cov = np.linalg.inv(XtW @ X)
    return cov @ (XtW @ y), cov


def _score_info(
    A: float, y: np.ndarray, D: np.ndarray, X: np.ndarray
) -> tuple[float, float, float]:
    """REML score, Fisher information and log-likelihood (up to a constant) at A.

    With ``W = V^-1`` and ``C = (X'WX)^-1`` the REML projection is ``P = W - W X C X' W``;
    its traces come from p x p matrices (p coefficients), never the m x m ``P``::

        P y = W (y - X beta),   tr P = tr W - tr(C X'W^2X),
        tr PP = tr W^2 - 2 tr(C X'W^3X) + tr((C X'W^2X)^2).
    """
    w = 1.0 / (A + D)
    XtW = X.T * w
    M1 = XtW @ X
    C = np.linalg.inv(M1)
    beta = C @ (XtW @ y)
    r = y - X @ beta
    Py = w * r
    M2 = (XtW * w) @ X
    M3 = (XtW * w * w) @ X
    CM2 = C @ M2
    tr_p = w.sum() - np.trace(CM2)
    tr_pp = (w * w).sum() - 2 * np.trace(C @ M3) + np.sum(CM2 * CM2.T)
    score = 0.5 * (Py @ Py - tr_p)
    loglik = -0.5 * (np.sum(np.log(A + D)) + np.linalg.slogdet(M1)[1] + r @ Py)
    return float(score), float(0.5 * tr_pp), float(loglik)


def reml(
    y: np.ndarray,
    D: np.ndarray,
    X: np.ndarray,
    *,
    tol: float = 1e-12,
    max_iter: int = 500,
    start: float | None = None,
) -> tuple[float, int]:
    """REML estimate of A by Fisher scoring, truncated at zero (as metafor does); ``start``
    (e.g. a fit of the same data with other variances) saves iterations, not accuracy."""
    A = (
        start
        if start is not None and start > 0
        else max(float(np.var(y, ddof=X.shape[1] if y.size > X.shape[1] else 0) - np.mean(D)), 0.0)
    )
    current = _score_info(A, y, D, X)
    for it in range(1, max_iter + 1):
        score, info, ll_old = current
        step = score / info
        new = max(A + step, 0.0)
        current = _score_info(new, y, D, X)
        # step halving keeps the likelihood from falling (Fisher scoring can overshoot)
        halvings = 0
        while current[2] < ll_old - 1e-12 * abs(ll_old) and halvings < 30:
            step /= 2
            new = max(A + step, 0.0)
            current = _score_info(new, y, D, X)
            halvings += 1
        if abs(new - A) <= tol * max(1.0, A):
            return new, it
        A = new
    raise ModelError(f"REML did not converge in {max_iter} iterations")


def li_lahiri(y: np.ndarray, D: np.ndarray, X: np.ndarray, *, tol: float = 1e-12) -> float:
    """Maximiser of A * L_REML(A) (Li and Lahiri, 2010): the root of 1/A + score(A).

    The adjusted score is +inf at 0 and negative for large A, so the root is bracketed; it
    is found by Newton steps (with the Fisher information) kept inside the bracket, and a
    geometric bisection step whenever Newton would leave it, so it cannot fail."""

    def adjusted(a: float) -> tuple[float, float]:
        score, info, _ = _score_info(a, y, D, X)
        return 1.0 / a + score, -1.0 / a**2 - info

    lo, hi = (
        1e-12 * max(float(np.mean(D)), 1e-300),
        max(float(np.var(y)) + float(np.mean(D)), 1e-12),
    )
    while adjusted(hi)[0] > 0:
        hi *= 4
    a = np.sqrt(lo * hi)
    for _ in range(200):
        f, slope = adjusted(a)
        if f > 0:
            lo = a
        else:
            hi = a
        step = a - f / slope
        new = step if lo < step < hi else np.sqrt(lo * hi)
        if abs(new - a) <= tol * new or hi - lo <= tol * hi:
            return float(new)
        a = new
    return float(a)


def fit(
    y: ArrayLike, D: ArrayLike, X: ArrayLike, *, remedy: bool = True, start: float | None = None
) -> Fit:
    """Fit the Fay-Herriot model to areas with direct estimate ``y``, sampling variance ``D``
    and covariates ``X`` (include a column of ones for an intercept)."""
    y, D = np.asarray(y, dtype=float), np.asarray(D, dtype=float)
    X = np.asarray(X, dtype=float).reshape(len(y), -1)
    m, p = X.shape
    if m <= p + 1:
        raise ModelError(f"{m} areas with a direct estimate is too few for {p} coefficients")
    if not np.all(np.isfinite(y)) or not np.all(np.isfinite(X)):
        raise ModelError("direct estimates and covariates must be finite")
    if not np.all(np.isfinite(D)) or np.any(D <= 0):
        raise ModelError("sampling variances must be finite and above zero")
    if np.linalg.matrix_rank(X) < p:
        raise ModelError("the covariates are collinear over these areas")
    A_reml, iterations = reml(y, D, X, start=start)
    A, method = A_reml, REML
    if remedy and A_reml <= 0:
        A, method = li_lahiri(y, D, X), LI_LAHIRI
    beta, cov = _gls(A, y, D, X)
    return Fit(beta, cov, A, A_reml, method, iterations, y, D, X)


def mse_terms(
    A: float, D: np.ndarray, X: np.ndarray, beta_cov: np.ndarray, *, li_lahiri: bool = False
) -> dict[str, np.ndarray]:
    """The Prasad-Rao terms for REML (Datta-Lahiri) and the Li-Lahiri bias term.

    Written out term by term (see the module docstring) so each can be checked by hand."""
    D = np.asarray(D, dtype=float)
    V = A + D
    B = D / V
    g1 = A * D / V
    g2 = B**2 * np.einsum("ij,jk,ik->i", X, beta_cov, X)
    var_A = 2.0 / np.sum(V**-2.0)  # asymptotic variance of the REML estimate of A
    g3 = D**2 / V**3 * var_A
    bias = np.zeros_like(D)
    if li_lahiri:
        bias = var_A / A * D**2 / V**2  # b(A) dg1/dA with b(A) = var_A / A
    return {"g1": g1, "g2": g2, "g3": g3, "bias": bias}
