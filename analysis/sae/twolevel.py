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
* **A change** between two waves of a borough, ``theta_t - theta_s``: :meth:`Fit2.change`
  gives its EBLUP and MSE with the two waves' errors correlated (derivation in docs/sae.md).

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

    def parts(
        self, XT: np.ndarray, ZT: np.ndarray, ST: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], np.ndarray]:
        """``G_T`` (cov of the targets' effects with ``y``), ``B_T = G_T V^-1``, its
        derivatives in ``(s_u, s_v)`` and ``M_T`` (the EBLUP as ``M_T y``)."""
        su, sv = self.s
        ZZT = ZT @ self.Z.T
        G = su * ZZT + sv * ST
        B = G @ self.Vi
        dV = [self.Z @ self.Z.T, np.eye(self.y.size)]
        dB = [g @ self.Vi - B @ v @ self.Vi for g, v in zip([ZZT, ST], dV, strict=True)]
        H = self.beta_cov @ self.X.T @ self.Vi  # beta = H y
        M = XT @ H + B @ (np.eye(self.y.size) - self.X @ H)
        return G, B, dB, M

    def _g3(self, dB: list[np.ndarray]) -> np.ndarray:
        """``tr(db' V db I^-1)`` per target over the components estimated above zero (one at
        zero is the reduced model's, fixed there: only the others' uncertainty enters)."""
        active = np.flatnonzero(self.s > 0)
        inv = np.linalg.inv(self.info[np.ix_(active, active)]) if active.size else np.zeros((0, 0))
        g3 = np.zeros(dB[0].shape[0])
        dBV = {k: dB[k] @ self.V for k in active}  # a matrix product, not a 3-operand einsum
        for a, k in enumerate(active):
            for b, j in enumerate(active):
                g3 = g3 + inv[a, b] * np.einsum("ij,ij->i", dBV[k], dB[j])
        return g3

    def targets(
        self,
        XT: np.ndarray,
        ZT: np.ndarray,
        ST: np.ndarray,
        parts: tuple[np.ndarray, np.ndarray, list[np.ndarray], np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """EBLUP, MSE, ``M_T`` (the estimate as ``M_T y``) and ``B_T`` (the weights of the
        residuals ``y - X beta``) for targets with covariates ``XT``, borough indicators
        ``ZT`` and ``ST`` (1 where a target is a fitted row). A fitted target's shrinkage is
        ``1 - B_T`` at its own row, as the one-component ``D / (A + D)``. ``parts``: the
        targets' :meth:`parts`, when the caller has them already."""
        su, sv = self.s
        G, B, dB, M = parts if parts is not None else self.parts(XT, ZT, ST)
        est = XT @ self.beta + B @ (self.y - self.X @ self.beta)
        g1 = su + sv - np.einsum("ij,ij->i", B, G)
        d = XT - B @ self.X
        g2 = np.einsum("ij,jk,ik->i", d, self.beta_cov, d)
        return est, g1 + g2 + 2 * self._g3(dB), M, B

    def change(
        self,
        T: tuple[np.ndarray, np.ndarray, np.ndarray],
        S: tuple[np.ndarray, np.ndarray, np.ndarray],
        parts_T: tuple[np.ndarray, np.ndarray, list[np.ndarray], np.ndarray] | None = None,
        parts_S: tuple[np.ndarray, np.ndarray, list[np.ndarray], np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The EBLUP of each borough's change ``theta_T - theta_S`` between two waves, its MSE
        and that MSE's first-order part (``g12``, exact when ``(s_u, s_v)`` are known).

        ``T`` and ``S`` are ``(XT, ZT, ST)`` as :meth:`targets` takes them, row ``r`` of each
        the same borough. With ``L = M_T - M_S`` and ``g = G_T - G_S`` the prediction error of
        the change is ``L y - (theta_T - theta_S)`` (the regression parts cancel, ``M X =
        X_T``), so (docs/sae.md, "Modelled changes")::

            g12 = L V L' - 2 L g' + var(theta_T - theta_S),   var(theta_T - theta_S) = 2 s_v
            g3  = tr(dl' V dl I^-1),   dl_k = d(B_T - B_S) / d s_k
            mse = g12 + 2 g3

        The persistent effect ``u_i`` is in both waves and cancels from the true change; the
        model's estimate of it cancels from the estimated change only in part, which ``L``
        carries."""
        GT, BT, dBT, MT = parts_T if parts_T is not None else self.parts(*T)
        GS, BS, dBS, MS = parts_S if parts_S is not None else self.parts(*S)
        L, g = MT - MS, GT - GS
        g12 = np.einsum("ij,ij->i", L @ self.V, L) - 2 * np.einsum("ij,ij->i", L, g) + 2 * self.s[1]
        g3 = self._g3([a - b for a, b in zip(dBT, dBS, strict=True)])
        est = (T[0] - S[0]) @ self.beta + (BT - BS) @ (self.y - self.X @ self.beta)
        return est, g12 + 2 * g3, g12


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
    return at(s, y, D, X, Z, iterations=it, converged=converged)


def at(
    s: np.ndarray,
    y: np.ndarray,
    D: np.ndarray,
    X: np.ndarray,
    Z: np.ndarray,
    *,
    iterations: int = 0,
    converged: bool = True,
) -> Fit2:
    """The model at given variance components ``s = (s_u, s_v)`` (from :func:`fit`, or known,
    as in a test)."""
    s = np.asarray(s, dtype=float)
    ZZ = Z @ Z.T
    V = s[0] * ZZ + np.diag(s[1] + D)
    Vi = np.linalg.inv(V)
    ViX = Vi @ X
    C = np.linalg.inv(X.T @ ViX)
    P = Vi - ViX @ C @ ViX.T
    PdV = [P @ d for d in (ZZ, np.eye(y.size))]
    info = np.array([[0.5 * np.sum(a * b.T) for b in PdV] for a in PdV])
    return Fit2(s, C @ ViX.T @ y, C, info, y, D, X, Z, V, Vi, iterations, converged)


@dataclass(frozen=True)
class Adjustment:
    """One wave's benchmarking adjustment as a linear form ``c' y + w_S' y_S``: ``y`` the
    stacked data, ``y_S`` the direct estimates of the boroughs in London's estimate that are
    predicted out of sample (suppressed; ``Z_S`` their borough indicators, ``D_S`` their
    variances)."""

    c: np.ndarray
    Z_S: np.ndarray
    w_S: np.ndarray
    D_S: np.ndarray
    wave: int


def adjustment(
    fit2: Fit2,
    M_F: np.ndarray,
    S_F: np.ndarray,
    w_F: np.ndarray,
    M_S: np.ndarray,
    ZT_S: np.ndarray,
    w_S: np.ndarray,
    D_S: np.ndarray,
    wave: int = 0,
) -> Adjustment:
    """One wave's adjustment ``sum_F w (y - theta) + sum_S w (y_S - theta_S)``: fitted
    boroughs ``F`` (``M_F`` their rows of ``M_T``, ``S_F`` their rows of the stacked data)
    and suppressed ones ``S``."""
    c = S_F.T @ w_F - M_F.T @ w_F - M_S.T @ w_S
    return Adjustment(c, ZT_S, w_S, D_S, wave)


def adjustment_cov(fit2: Fit2, a: Adjustment, b: Adjustment) -> float:
    """Covariance of two waves' adjustments under the model (their variance when ``a`` is
    ``b``). A suppressed borough's own ``y_S`` is correlated with the data, and with its
    ``y_S`` in another wave, through ``u`` (``s_u``); with itself in the same wave it has
    variance ``s_u + s_v + D_S``."""
    su, sv = fit2.s
    out = float(a.c @ fit2.V @ b.c)
    out += su * float(a.c @ fit2.Z @ (b.Z_S.T @ b.w_S)) + su * float(
        b.c @ fit2.Z @ (a.Z_S.T @ a.w_S)
    )
    out += su * float((a.Z_S.T @ a.w_S) @ (b.Z_S.T @ b.w_S))
    if a.wave == b.wave:
        out += float(a.w_S**2 @ (sv + a.D_S))
    return out


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
    """Variance of one wave's benchmarking adjustment (:func:`adjustment`) under the model."""
    a = adjustment(fit2, M_F, S_F, w_F, M_S, ZT_S, w_S, D_S)
    return adjustment_cov(fit2, a, a)
