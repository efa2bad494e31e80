"""Waves fitted together with a persistent borough effect: two variance components.

The stacked model of an indicator's waves (``t``), for borough ``i``::

    y_it = theta_it + e_it,                 e_it ~ N(0, D_it)   (sampling error, known)
    theta_it = x_it' beta_t + u_i + v_it,   u_i ~ N(0, s_u),  v_it ~ N(0, s_v)

``u_i`` is the part of a borough's difference from its regression value that persists from
wave to wave, ``v_it`` the part that does not. It is the model of Rao and Yu (1994) without
their autocorrelation of ``v`` (R: ``metafor::rma.mv`` with ``random = list(~ 1 | borough,
~ 1 | row)``). Why: a borough that the covariates do not explain (its ``u_i`` large) is
pulled towards the regression line by a one-wave model, and its modelled figure can then be
worse than its direct one; here its other waves tell the model where it lies, so its figure
borrows strength over time as well as across boroughs.

* **REML** for ``(s_u, s_v)`` by Fisher scoring, each truncated at zero. The caller falls back
  to the one-component model (:mod:`analysis.sae.model`) when ``s_u`` is zero (there is then
  nothing to borrow over time), when there is one wave (the two are not separable), or if
  the scoring has not converged.
* **EBLUP** of any borough-wave ``T`` (with data, suppressed, or without respondents):
  ``x_T' beta + b_T' (y - X beta)``, ``b_T = V^-1 G_T``, ``G_T = cov(y, u + v of T)``.
* **MSE** (Prasad and Rao, 1990, in the general form of Das, Jiang and Rao, 2004, with
  REML's factor 2 on ``g3`` as Datta and Lahiri)::

      g1 = s_u + s_v - G_T' V^-1 G_T
      g2 = d' (X'V^-1X)^-1 d,   d = x_T - X' b_T
      g3 = tr(db' V db I^-1),   db_k = d b_T / d s_k,  I the REML information

  over the components estimated above zero (one at zero is that of the reduced model, fixed).

Matrices here are dense ``m x m`` over the stacked borough-waves (165 for five waves): a
millisecond each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

METHOD = "REML, two variance components (persistent borough effect and wave effect)"


@dataclass(frozen=True)
class Fit2:
    """A fitted two-component model over the stacked borough-waves with a direct estimate."""

    s: np.ndarray  # (s_u, s_v)
    beta: np.ndarray
    beta_cov: np.ndarray
    info: np.ndarray  # REML Fisher information of (s_u, s_v)
    y: np.ndarray
    D: np.ndarray
    X: np.ndarray
    Z: np.ndarray  # rows x boroughs, 1 where the row is that borough's
    V: np.ndarray
    Vi: np.ndarray
    iterations: int
    converged: bool = True

    def targets(
        self, XT: np.ndarray, ZT: np.ndarray, ST: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """EBLUP, MSE, ``M_T`` (the estimate as ``M_T y``) and ``B_T`` (the weights of the
        residuals ``y - X beta``) for targets with covariates ``XT``, borough indicators
        ``ZT`` and ``ST`` (1 where a target is a fitted row). A fitted target's shrinkage is
        ``1 - B_T`` at its own row, as the one-component ``D / (A + D)``."""
        su, sv = self.s
        G = su * ZT @ self.Z.T + sv * ST
        B = G @ self.Vi
        est = XT @ self.beta + B @ (self.y - self.X @ self.beta)
        g1 = su + sv - np.einsum("ij,ij->i", B, G)
        d = XT - B @ self.X
        g2 = np.einsum("ij,jk,ik->i", d, self.beta_cov, d)
        dG = [ZT @ self.Z.T, ST]
        dV = [self.Z @ self.Z.T, np.eye(self.y.size)]
        dB = [g @ self.Vi - B @ v @ self.Vi for g, v in zip(dG, dV, strict=True)]
        # a component estimated at zero is the reduced model's, fixed there: only the others
        # were estimated, so only their uncertainty enters g3
        active = np.flatnonzero(self.s > 0)
        inv = np.linalg.inv(self.info[np.ix_(active, active)]) if active.size else np.zeros((0, 0))
        g3 = np.zeros(len(XT))
        for a, k in enumerate(active):
            for b, j in enumerate(active):
                g3 = g3 + inv[a, b] * np.einsum("ij,jk,ik->i", dB[k], self.V, dB[j])
        H = self.beta_cov @ self.X.T @ self.Vi  # beta = H y
        M = XT @ H + B @ (np.eye(self.y.size) - self.X @ H)
        return est, g1 + g2 + 2 * g3, M, B


def fit(
    y: np.ndarray,
    D: np.ndarray,
    X: np.ndarray,
    Z: np.ndarray,
    *,
    tol: float = 1e-10,
    max_iter: int = 200,
) -> Fit2:
    """REML fit of ``(s_u, s_v)`` by Fisher scoring (each kept at or above zero)."""
    m = y.size
    ZZ = Z @ Z.T
    dV = [ZZ, np.eye(m)]
    s = np.full(2, max(float(np.var(y)) - float(np.mean(D)), float(np.mean(D))) / 2)
    it, converged = 0, False
    for it in range(1, max_iter + 1):  # noqa: B007 (reported)
        V = s[0] * ZZ + np.diag(s[1] + D)
        Vi = np.linalg.inv(V)
        ViX = Vi @ X
        C = np.linalg.inv(X.T @ ViX)
        P = Vi - ViX @ C @ ViX.T
        Py = P @ y
        PdV = [P @ d for d in dV]
        score = np.array(
            [0.5 * (Py @ d @ Py - np.trace(pd_)) for d, pd_ in zip(dV, PdV, strict=True)]
        )
        info = np.array([[0.5 * np.sum(a * b.T) for b in PdV] for a in PdV])
        step = np.linalg.lstsq(info, score, rcond=None)[0]
        new = np.maximum(s + step, 0.0)
        if np.max(np.abs(new - s)) <= tol * max(float(np.mean(D)), float(s.max())):
            s, converged = new, True
            break
        s = new
    V = s[0] * ZZ + np.diag(s[1] + D)
    Vi = np.linalg.inv(V)
    ViX = Vi @ X
    C = np.linalg.inv(X.T @ ViX)
    P = Vi - ViX @ C @ ViX.T
    PdV = [P @ d for d in dV]
    info = np.array([[0.5 * np.sum(a * b.T) for b in PdV] for a in PdV])
    return Fit2(s, C @ ViX.T @ y, C, info, y, D, X, Z, V, Vi, it, converged)


def benchmark_variance(
    fit2: Fit2,
    M_F: np.ndarray,
    S_F: np.ndarray,
    w_F: np.ndarray,
    M_S: np.ndarray,
    ZT_S: np.ndarray,
    w_S: np.ndarray,
    D_S: np.ndarray,
) -> float:
    """Variance of one wave's benchmarking adjustment ``sum_F w (y - theta) + sum_S w (y_S -
    theta_S)`` under the model: fitted boroughs ``F`` (``M_F`` their rows of ``M_T``, ``S_F``
    their rows of the stacked data), and boroughs ``S`` in London's estimate but predicted
    out of sample (suppressed), whose own ``y_S`` is correlated with the data through
    ``u``."""
    su, sv = fit2.s
    c = S_F.T @ w_F - M_F.T @ w_F - M_S.T @ w_S
    cov_yS = su * fit2.Z @ ZT_S.T  # cov(y, y_S)
    var_S = float(w_S**2 @ (su + sv + D_S))
    return float(c @ fit2.V @ c) + var_S + 2 * float(c @ cov_yS @ w_S)
