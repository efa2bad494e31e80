"""Cluster-robust inference for a linear model with few clusters: CR1, CR2 with Bell-McCaffrey
degrees of freedom, and the wild cluster restricted bootstrap.

Programme evaluations cluster people in project sites, and there are rarely many sites (5 to 30).
With so few clusters the usual cluster-robust standard error (CR1, Stata's and statsmodels'
default) is too small and its t test on G - 1 degrees of freedom rejects too often. Two
corrections are established:

* **CR2 with Bell-McCaffrey degrees of freedom** (Bell and McCaffrey 2002; Pustejovsky and
  Tipton 2018): each cluster's residuals are scaled by ``(I - H_gg)^(-1/2)`` before the sandwich
  is formed, and the t reference distribution has Satterthwaite degrees of freedom worked out
  under a working model of independent, equal-variance errors. This is R's
  ``clubSandwich::coef_test(fit, vcov = "CR2", cluster = site, test = "Satterthwaite")`` for
  an ``lm`` fit (checked to 1e-6 in ``tests/fixtures/r_evaluation``).
* **The wild cluster restricted bootstrap** (Cameron, Gelbach and Miller 2008; MacKinnon and
  Webb 2017): residuals from the fit with the null hypothesis imposed are flipped cluster by
  cluster with random weights, and the CR1 t statistic is recomputed on each draw. Webb's
  six-point weights are used with fewer than :data:`WEBB_BELOW` clusters, where Rademacher's
  two-point weights allow too few distinct draws (2^G), and Rademacher's otherwise. Intervals
  are the null values the test does not reject (test inversion, the same random draws at every
  null value). Draws are seeded, so a build is reproducible.

Which one a page reports is decided by :func:`choose_method`; the other is shown beside it.
All computations work on cluster-level sums (k x k matrices per cluster), so a bootstrap of
thousands of draws over 30 clusters takes milliseconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

__all__ = [
    "ALPHA",
    "BOOTSTRAP_BELOW",
    "CR2_NAME",
    "ClusteredOLS",
    "DRAWS",
    "Inference",
    "Method",
    "WEBB_BELOW",
    "bootstrap_name",
    "choose_method",
]

ALPHA = 0.05
WEBB_BELOW = 12  # Webb's six-point weights below this many clusters, Rademacher's from it
BOOTSTRAP_BELOW = 12  # the page's method: wild bootstrap below this many clusters, CR2 from it
DRAWS = 1999  # bootstrap draws: (draws + 1) * alpha is a whole number, as the p-value needs
_WEBB = np.array([-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0, math.sqrt(1.5)])
CR2_NAME = "CR2 standard errors with Bell-McCaffrey degrees of freedom"


def bootstrap_name(n_clusters: int) -> str:
    """The bootstrap's name as a page gives it, with the weights used for this many clusters."""
    weights = "Webb" if n_clusters < WEBB_BELOW else "Rademacher"
    return f"wild cluster restricted bootstrap ({weights} weights)"


Method = Literal["CR2", "bootstrap"]
"""The small-sample method a page reports for a site-clustered analysis (:func:`choose_method`)."""


def choose_method(n_clusters: int) -> Method:
    """The documented rule: ``"bootstrap"`` below :data:`BOOTSTRAP_BELOW` clusters, else ``"CR2"``.

    Why: CR2 with Bell-McCaffrey degrees of freedom gives an analytic interval and holds its
    coverage well from about a dozen clusters (see ``benchmarks/bench_evaluation_coverage.py``);
    with fewer clusters, and clusters of unequal size, its degrees of freedom become small and
    unstable and the wild cluster restricted bootstrap with Webb weights is the recommended
    test (MacKinnon, Nielsen and Webb 2023, "Cluster-robust inference: a guide to empirical
    practice", Journal of Econometrics 232, 272-299).
    """
    return "bootstrap" if n_clusters < BOOTSTRAP_BELOW else "CR2"


@dataclass(frozen=True)
class Inference:
    """One coefficient of a linear model, tested and interval-estimated three ways."""

    estimate: float
    n_obs: int
    n_clusters: int
    se_cr1: float
    df_cr1: float  # clusters minus one
    p_cr1: float
    lower_cr1: float
    upper_cr1: float
    se_cr2: float
    df_bm: float  # Bell-McCaffrey (Satterthwaite) degrees of freedom
    p_cr2: float
    lower_cr2: float
    upper_cr2: float
    p_boot: float
    lower_boot: float
    upper_boot: float
    boot_weights: str  # "Webb" or "Rademacher"
    draws: int
    method: Method  # the one the page reports (choose_method)

    @property
    def _reports_cr2(self) -> bool:
        return self.method == "CR2"

    @property
    def method_name(self) -> str:
        return CR2_NAME if self._reports_cr2 else bootstrap_name(self.n_clusters)

    @property
    def other_name(self) -> str:
        return bootstrap_name(self.n_clusters) if self._reports_cr2 else CR2_NAME

    @property
    def p(self) -> float:
        return self.p_cr2 if self._reports_cr2 else self.p_boot

    @property
    def lower(self) -> float:
        return self.lower_cr2 if self._reports_cr2 else self.lower_boot

    @property
    def upper(self) -> float:
        return self.upper_cr2 if self._reports_cr2 else self.upper_boot

    @property
    def p_other(self) -> float:
        return self.p_boot if self._reports_cr2 else self.p_cr2

    @property
    def se(self) -> float:
        """The standard error behind the reported analysis (CR2's; the bootstrap has none of its own)."""
        return self.se_cr2

    @property
    def df(self) -> float:
        """The t reference distribution's degrees of freedom: Bell-McCaffrey's, or G - 1 with the bootstrap."""
        return self.df_bm if self._reports_cr2 else float(self.n_clusters - 1)


def _t_interval(
    estimate: float, se: float, df: float, alpha: float = ALPHA
) -> tuple[float, float, float]:
    if not (se > 0) or not (df > 0):
        return float("nan"), float("nan"), float("nan")
    t = estimate / se
    q = stats.t.ppf(1 - alpha / 2, df)
    return float(2 * stats.t.sf(abs(t), df)), estimate - q * se, estimate + q * se


class ClusteredOLS:
    """OLS of ``y`` on ``X`` with observations grouped in clusters; inference on one column."""

    def __init__(self, X: np.ndarray, y: np.ndarray, clusters: np.ndarray):
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
        if X.ndim == 1:
            X = X[:, None]
        codes, self.cluster_labels = _codes(clusters)
        order = np.argsort(codes, kind="stable")  # rows of a cluster together
        self.X, self.y, self.codes = X[order], y[order], codes[order]
        self.n, self.k = self.X.shape
        self.G = len(self.cluster_labels)
        if self.G < 2:
            raise ValueError("cluster-robust errors need at least two clusters")
        self.starts = np.searchsorted(self.codes, np.arange(self.G + 1))
        self.M = np.linalg.inv(self.X.T @ self.X)
        self.beta = self.M @ (self.X.T @ self.y)
        self.resid = self.y - self.X @ self.beta
        # per-cluster X_g'X_g (G x k x k): everything below works from these and per-cluster sums
        self.S = np.stack(
            [self.X[a:b].T @ self.X[a:b] for a, b in zip(self.starts[:-1], self.starts[1:])]
        )

    def _cluster_sums(self, values: np.ndarray) -> np.ndarray:
        """Sum of rows of ``values`` (n x ...) within each cluster."""
        return np.add.reduceat(values, self.starts[:-1], axis=0)

    # -- CR1 ------------------------------------------------------------------------------------
    @property
    def cr1_factor(self) -> float:
        """G/(G - 1) x (n - 1)/(n - k): Stata's, statsmodels' and R sandwich's HC1 cluster correction."""
        return self.G / (self.G - 1) * (self.n - 1) / (self.n - self.k)

    def cr1_se(self, j: int) -> float:
        """CR1 standard error of coefficient ``j``: the usual software default, shown as a check."""
        scores = self._cluster_sums(self.X * self.resid[:, None])  # G x k
        a = scores @ self.M[:, j]
        return float(math.sqrt(self.cr1_factor * (a @ a)))

    # -- CR2 and Bell-McCaffrey -------------------------------------------------------------------
    def cr2(self, j: int) -> tuple[float, float]:
        """CR2 standard error of coefficient ``j`` and its Bell-McCaffrey degrees of freedom.

        With ``A_g = (I - H_gg)^(-1/2)`` and ``w_g = A_g X_g M c``, the variance is
        ``sum_g (w_g' e_g)^2``. Writing ``w_g' e_g = u_g' y`` with ``u_g = (I - H)_g' w_g``, the
        working model y ~ N(X b, s^2 I) gives E = s^2 sum_g u_g'u_g and Var = 2 s^4
        sum_gh (u_g'u_h)^2, so df = (trace Omega)^2 / ||Omega||^2 with
        ``Omega_gh = [g = h] w_g'w_g - q_g' M q_h`` and ``q_g = X_g' w_g`` (clubSandwich's
        Satterthwaite test for an lm fit).
        """
        mc = self.M[:, j]
        # H_gg = B_g B_g' with B_g = X_g L (M = L L'), so A_g = I + B_g h(K_g) B_g' where
        # K_g = B_g'B_g = L' S_g L is only k x k: with K_g = Q diag(lam) Q', h has the
        # eigenvalues ((1 - lam)^(-1/2) - 1) / lam = 1 / (r (1 + r)), r = sqrt(1 - lam). Hence
        # w_g = X_g z_g with z_g = M c + L Q diag(h) Q' L' S_g M c: per cluster a k x k
        # eigenproblem instead of one of the cluster's size (the same numbers, to rounding)
        L = np.linalg.cholesky(self.M)
        K = np.einsum("ki,gkl,lj->gij", L, self.S, L)
        lam, vecs = np.linalg.eigh(K)
        if (lam >= 1 - 1e-12).any():
            raise ValueError(
                "CR2 is undefined: a cluster's hat matrix has an eigenvalue of 1 "
                "(a regressor identifies a single cluster)"
            )
        root = np.sqrt(1 - lam)
        t = (self.S @ mc) @ L  # G x k: L' S_g M c
        inner = np.einsum("gij,gj,gkj,gk->gi", vecs, 1 / (root * (1 + root)), vecs, t)
        z = mc[None, :] + inner @ L.T
        w = np.einsum("nk,nk->n", self.X, z[self.codes])
        e_adj = self._cluster_sums(w * self.resid)  # w_g' e_g
        se = float(math.sqrt(e_adj @ e_adj))
        ww = self._cluster_sums(w * w)
        Q = self._cluster_sums(self.X * w[:, None])  # G x k: q_g
        omega = -Q @ self.M @ Q.T
        omega[np.diag_indices(self.G)] += ww
        df = float(np.trace(omega) ** 2 / (omega * omega).sum())
        return se, df

    # -- wild cluster restricted bootstrap -----------------------------------------------------------
    def weights(self, draws: int, seed: int) -> np.ndarray:
        """``draws`` x G wild bootstrap weights, seeded so a page is the same on every build:
        Webb's six-point weights with few clusters (Rademacher's two points allow too few
        distinct draws there), Rademacher's otherwise."""
        rng = np.random.default_rng(seed)
        if self.G < WEBB_BELOW:
            return _WEBB[rng.integers(0, 6, size=(draws, self.G))]
        return rng.choice(np.array([-1.0, 1.0]), size=(draws, self.G))

    def bootstrap_p(self, j: int, theta: float, V: np.ndarray) -> float:
        """Symmetric wild cluster restricted bootstrap p-value of H0: beta_j = theta.

        Restricted fit: y - theta x_j on the other columns. Draw b: y* = X b_r + v_bg e_r. The
        bootstrap coefficient and the cluster scores of its CR1 variance follow from
        per-cluster sums: b* - b_r = M sum_g v_g s_g with s_g = X_g' e_r, and the score of cluster
        g is v_g s_g - S_g (b* - b_r).
        """
        others = [i for i in range(self.k) if i != j]
        target = self.y - theta * self.X[:, j]
        if others:
            Xo = self.X[:, others]
            coef = np.linalg.lstsq(Xo, target, rcond=None)[0]
            restricted = target - Xo @ coef
        else:
            restricted = target
        s = self._cluster_sums(self.X * restricted[:, None])  # G x k
        D = (V @ s) @ self.M  # draws x k: b* - b_r
        m = self.M[:, j]
        # (v_g s_g - S_g D_b)' m for every draw b and cluster g, without forming the scores
        a = V * (s @ m)[None, :] - D @ (self.S @ m).T
        se = self.cr1_se(j)
        if not se > 0:  # every cluster's residual sum is zero: no test
            return float("nan")
        with np.errstate(divide="ignore", invalid="ignore"):
            t_star = D[:, j] / np.sqrt(self.cr1_factor * np.einsum("bg,bg->b", a, a))
        t = (self.beta[j] - theta) / se
        return float((np.abs(t_star) >= abs(t) - 1e-12).mean())

    def bootstrap_interval(
        self, j: int, V: np.ndarray, scale: float, alpha: float = ALPHA
    ) -> tuple[float, float]:
        """The null values the bootstrap test does not reject at ``alpha`` (bisection on each side)."""
        est = float(self.beta[j])

        def edge(sign: float) -> float:
            inside, step = est, max(scale, 1e-9)
            outside = est + sign * step
            for _ in range(40):  # widen until rejected
                if self.bootstrap_p(j, outside, V) <= alpha:
                    break
                inside, step = outside, step * 2
                outside = est + sign * step
            else:
                return float("inf") * sign
            for _ in range(
                22
            ):  # to within 2^-22 of the bracket: far below the bootstrap's own noise
                mid = (inside + outside) / 2
                if self.bootstrap_p(j, mid, V) <= alpha:
                    outside = mid
                else:
                    inside = mid
            return (inside + outside) / 2

        return edge(-1.0), edge(1.0)

    # -- all together ----------------------------------------------------------------------------
    def infer(
        self,
        j: int,
        *,
        seed: int,
        draws: int = DRAWS,
        bootstrap: bool = True,
        bounds: tuple[float, float] = (-math.inf, math.inf),
    ) -> Inference:
        """CR1, CR2 and (unless ``bootstrap=False``) the bootstrap for coefficient ``j``; intervals
        are cut to ``bounds``, the values the coefficient can take (a change in a percentage
        cannot pass 100 points)."""
        est = float(self.beta[j])
        se1 = self.cr1_se(j)
        p1, lo1, hi1 = _t_interval(est, se1, self.G - 1)
        se2, df = self.cr2(j)
        p2, lo2, hi2 = _t_interval(est, se2, df)
        if bootstrap and se1 > 0:
            V = self.weights(draws, seed)
            pb = self.bootstrap_p(j, 0.0, V)
            lob, hib = self.bootstrap_interval(j, V, scale=se2 * 2)
        else:
            pb = lob = hib = float("nan")
        lo1, lo2, lob = (max(bounds[0], v) for v in (lo1, lo2, lob))
        hi1, hi2, hib = (min(bounds[1], v) for v in (hi1, hi2, hib))
        return Inference(
            est,
            self.n,
            self.G,
            se1,
            float(self.G - 1),
            p1,
            lo1,
            hi1,
            se2,
            df,
            p2,
            lo2,
            hi2,
            pb,
            lob,
            hib,
            "Webb" if self.G < WEBB_BELOW else "Rademacher",
            draws if bootstrap else 0,
            choose_method(self.G),
        )


def _codes(clusters: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    labels, codes = np.unique(np.asarray(clusters), return_inverse=True)
    return codes.ravel(), labels
