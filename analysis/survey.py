"""Design-based estimation for complex surveys (stratified, clustered, weighted).

Means and proportions are ratio estimators; their variances come from Taylor linearisation
with PSUs treated as sampled with replacement within strata (the ultimate-cluster
approximation R's ``survey`` package uses by default). Subgroups are *domain* estimates: the
linearised values are zero outside the domain but the full design (every stratum and PSU)
is kept, so the variance reflects how the subgroup's sample size itself varies.

Everything here is vectorised with ``numpy.bincount`` so that all domains of a partition are
estimated in one pass over the respondents. Results agree with R's ``survey`` package
(``svymean``, ``svyby``, ``svyciprop(method = "logit")``, ``svycontrast``) to 1e-6; see
``tests/fixtures/r_survey``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import special

from analysis.validate import InputError

__all__ = [
    "Design",
    "DomainEstimates",
    "Floats",
    "LONELY_PSU_OPTIONS",
    "Z95",
    "ZERO_DIFFERENCE",
    "chi2_ppf",
    "domain_means",
    "logit_ci",
    "normal_ppf",
    "normal_sf",
    "t_ppf",
    "t_quantile",
    "t_sf",
    "t_test_p",
    "total",
    "wald_ci",
]

LONELY_PSU_OPTIONS = ("fail", "adjust")


@dataclass(frozen=True)
class Design:
    """A stratified multi-stage design reduced to what linearisation needs.

    Attributes are integer codes: ``psu`` indexes PSUs (unique across strata), and
    ``psu_stratum`` gives each PSU's stratum.
    """

    weights: np.ndarray
    psu: np.ndarray
    psu_stratum: np.ndarray
    n_psu_in_stratum: np.ndarray
    lonely_psu: str = "fail"

    @property
    def n(self) -> int:
        return int(self.weights.size)

    @property
    def n_psu(self) -> int:
        return int(self.psu_stratum.size)

    @property
    def n_strata(self) -> int:
        return int(self.n_psu_in_stratum.size)

    @property
    def df(self) -> int:
        """Design degrees of freedom: PSUs minus strata (R's ``degf``)."""
        return self.n_psu - self.n_strata

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        weight: str = "weight",
        strata: str | None = "stratum",
        psu: str | None = "psu",
        lonely_psu: str = "fail",
        source: str = "survey",
    ) -> Design:
        """Build a design from columns of ``frame``; PSU labels are nested within strata.

        ``strata=None`` means one stratum; ``psu=None`` means each respondent is a PSU.
        """
        w = pd.to_numeric(frame[weight], errors="coerce").to_numpy(dtype=float)
        n = len(frame)
        s_codes, s_labels = (
            (np.zeros(n, dtype=np.int64), np.array(["all"]))
            if strata is None
            else _codes(frame[strata], source, strata)
        )
        p_codes = (
            np.arange(n, dtype=np.int64) if psu is None else _codes(frame[psu], source, psu)[0]
        )
        return cls.from_codes(
            w,
            s_codes,
            p_codes,
            stratum_labels=s_labels,
            lonely_psu=lonely_psu,
            source=source,
            weight_column=weight,
            strata_column=strata,
        )

    @classmethod
    def from_codes(
        cls,
        weights: np.ndarray,
        strata: np.ndarray,
        psu: np.ndarray,
        *,
        stratum_labels: np.ndarray | None = None,
        lonely_psu: str = "fail",
        source: str = "survey",
        weight_column: str = "weight",
        strata_column: str | None = "stratum",
    ) -> Design:
        """Build a design from integer codes (PSU codes are nested within strata here)."""
        if lonely_psu not in LONELY_PSU_OPTIONS:
            raise ValueError(f"lonely_psu must be one of {LONELY_PSU_OPTIONS}")
        w = np.asarray(weights, dtype=float)
        bad = ~np.isfinite(w) | (w <= 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                source,
                f"weight must be a positive number, found {w[i]!r}",
                row=i + 2,
                column=weight_column,
            )
        used, s_codes = np.unique(np.asarray(strata, dtype=np.int64), return_inverse=True)
        p_raw = np.asarray(psu, dtype=np.int64)
        # nest PSUs within strata: (stratum, psu) pairs define a PSU
        key = s_codes * (int(p_raw.max()) + 1) + p_raw
        psu_keys, first, psu_idx = np.unique(key, return_index=True, return_inverse=True)
        psu_stratum = s_codes[first]
        n_psu_in_stratum = np.bincount(psu_stratum, minlength=used.size)
        if lonely_psu == "fail" and (n_psu_in_stratum == 1).any():
            lonely = used[np.flatnonzero(n_psu_in_stratum == 1)]
            labels = (
                [str(stratum_labels[i]) for i in lonely]
                if stratum_labels is not None
                else lonely.tolist()
            )
            raise InputError(
                source,
                f"stratum {labels[:5]} has a single PSU, so its variance cannot be estimated; "
                "merge strata or use lonely_psu='adjust'",
                column=strata_column,
            )
        return cls(w, psu_idx.astype(np.int64), psu_stratum, n_psu_in_stratum, lonely_psu)

    def psu_totals(
        self, values: np.ndarray, columns: np.ndarray | None = None, n_columns: int = 1
    ) -> np.ndarray:
        """Sum per PSU of ``values``, placed in column ``columns`` (one pass, any number of columns)."""
        if columns is None:
            return np.bincount(self.psu, weights=values, minlength=self.n_psu)[:, None]
        flat = np.bincount(
            self.psu * n_columns + columns, weights=values, minlength=self.n_psu * n_columns
        )
        return flat.reshape(self.n_psu, n_columns)

    @cached_property
    def stratum_starts(self) -> np.ndarray | None:
        """Index of each stratum's first PSU when every stratum's PSUs are one run of PSU
        indices, as ``from_codes`` numbers them; else None."""
        h = self.psu_stratum
        if h.size == 0 or (self.n_psu_in_stratum < 1).any() or (np.diff(h) < 0).any():
            return None
        return np.concatenate([[0], np.cumsum(self.n_psu_in_stratum)[:-1]])

    def stratum_sums(self, per_psu: np.ndarray) -> np.ndarray:
        """Sum over each stratum's PSUs of each column of ``per_psu`` (PSUs x k).

        With strata as runs of PSUs each run's rows are summed by a reduction, which spares
        building and scattering an index of PSUs x k entries (numpy may add in pairs there,
        so a sum can differ from the scatter-add's in the last bit, no more).
        """
        starts = self.stratum_starts
        if starts is not None:
            return np.add.reduceat(per_psu, starts, axis=0)
        k = per_psu.shape[1]
        flat = (self.psu_stratum[:, None] * k + np.arange(k)[None, :]).ravel()
        return np.bincount(flat, weights=per_psu.ravel(), minlength=self.n_strata * k).reshape(
            self.n_strata, k
        )

    def centre(
        self, totals: np.ndarray, *, overwrite: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """PSU totals centred on their stratum mean, and each PSU's factor n_h / (n_h - 1).

        The covariance of the estimated totals is ``(centred * scale).T @ centred``; keeping
        the two pieces lets callers get variances and contrasts without the full matrix.
        With ``overwrite`` the totals are centred in place (and returned): a caller that has
        no further use for them spares a copy as large as they are.
        """
        h = self.psu_stratum
        n_h = self.n_psu_in_stratum.astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = self.stratum_sums(totals) / n_h[:, None]
            scale = np.where(n_h > 1, n_h / (n_h - 1), 0.0)[h]
        lonely = self.n_psu_in_stratum[h] == 1
        adjust = bool(lonely.any()) and self.lonely_psu == "adjust"
        if adjust:  # worked out before the totals may be overwritten
            # R's survey.lonely.psu = "adjust": centre a lone PSU at the average PSU total
            lone = totals[lonely] - totals.sum(axis=0) / self.n_psu
        centred = totals if overwrite else np.empty_like(totals)
        starts = self.stratum_starts
        with np.errstate(invalid="ignore"):
            if starts is None or self.n_strata * 16 > self.n_psu:
                np.subtract(totals, means[h], out=centred)
            else:  # each stratum's PSUs are a run of rows: subtract its mean, no gathered copy
                ends = starts + self.n_psu_in_stratum
                for s, (a, b) in enumerate(zip(starts, ends, strict=True)):
                    np.subtract(totals[a:b], means[s], out=centred[a:b])
        if adjust:
            centred[lonely] = lone
            scale[lonely] = 1.0
        return centred, scale

    def covariance(self, totals: np.ndarray) -> np.ndarray:
        """Covariance matrix of estimated totals from PSU totals (with-replacement formula)."""
        centred, scale = self.centre(totals)
        return (centred * scale[:, None]).T @ centred


def _codes(values: pd.Series, source: str, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of a design column (sorted labels), failing on missing values."""
    if values.isna().any():
        i = int(np.flatnonzero(values.isna().to_numpy())[0])
        raise InputError(source, "design variable is missing", row=i + 2, column=column)
    codes, labels = pd.factorize(values, sort=True)
    return codes.astype(np.int64), np.asarray(labels)


@dataclass(frozen=True)
class DomainEstimates:
    """Estimates for the columns of one or more domain partitions, estimated jointly.

    The centred PSU totals of the linearised values are kept, so the variance of any
    contrast between columns (two groups, a group and the whole population, a borough and
    London, a gap minus a gap) is exact, with the covariance from the same survey, and
    costs one pass over the PSUs; the full covariance matrix is only built on request.

    ``df`` holds each column's degrees of freedom: PSUs with members of the domain minus
    strata with members (R's ``degf`` of the domain, as ``svyby(..., svyciprop)`` uses), so a
    borough that is one stratum of a few PSUs gets the few degrees of freedom it has.
    """

    estimate: np.ndarray
    n: np.ndarray  # unweighted respondents with a valid answer in the domain
    weighted_n: np.ndarray
    df: np.ndarray
    centred: np.ndarray  # PSUs x columns
    scale: np.ndarray  # per PSU: n_h / (n_h - 1)

    @property
    def cov(self) -> np.ndarray:
        return (self.centred * self.scale[:, None]).T @ self.centred

    @property
    def se(self) -> np.ndarray:
        return self._se(self.centred)

    def _se(self, combined: np.ndarray) -> np.ndarray:
        """Standard errors of linear combinations given as centred PSU totals (PSUs x m)."""
        return np.sqrt(self.scale @ (combined * combined))

    def contrast(self, i: int, j: int) -> tuple[float, float]:
        """Estimate and standard error of column i minus column j."""
        return self.combination({i: 1.0, j: -1.0})

    def versus_first(self) -> tuple[np.ndarray, np.ndarray]:
        """Every column minus column 0 (e.g. each group minus London): estimates and SEs."""
        return self.estimate - self.estimate[0], self._se(self.centred - self.centred[:, :1])

    def combination(self, coefficients: dict[int, float]) -> tuple[float, float]:
        """Estimate and standard error of a linear combination of columns."""
        idx = np.array(list(coefficients), dtype=int)
        c = np.array(list(coefficients.values()), dtype=float)
        return float(c @ self.estimate[idx]), float(self._se(self.centred[:, idx] @ c))

    def combinations(
        self, columns: np.ndarray, coefficients: Sequence[float]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Estimates and standard errors of many combinations with the same coefficients.

        Row ``r`` of ``columns`` (m x t) names the t columns of combination ``r``, weighted by
        ``coefficients`` (t); e.g. every borough's gap minus London's gap in one pass.
        """
        idx = np.asarray(columns, dtype=int)
        c = np.asarray(coefficients, dtype=float)
        by_column = self._centred_by_column
        # m x PSUs, added up in place term by term (the same sums, a third of the copies)
        combined = by_column[idx[:, 0]]
        combined *= c[0]
        for j in range(1, c.size):
            term = by_column[idx[:, j]]
            term *= c[j]
            combined += term
        combined *= combined
        return self.estimate[idx] @ c, np.sqrt(combined @ self.scale)

    @cached_property
    def _centred_by_column(self) -> np.ndarray:
        """``centred`` transposed into contiguous rows, so picking columns is a fast copy."""
        return _transposed(self.centred)


def _transposed(a: np.ndarray, rows: int = 256) -> np.ndarray:
    """A contiguous copy of ``a.T`` (the same numbers), made a band of rows at a time.

    Why in bands: a band's transpose fits in the CPU cache, which copying the whole
    PSUs x columns matrix at once does not; it takes about half as long.
    """
    out = np.empty(a.shape[::-1], dtype=a.dtype)
    for start in range(0, a.shape[0], rows):
        out[:, start : start + rows] = a[start : start + rows].T
    return out


def domain_means(
    design: Design,
    y: np.ndarray,
    partitions: Sequence[tuple[np.ndarray, int]] = (),
    *,
    include_all: bool = True,
    with_df: bool = True,
) -> DomainEstimates:
    """Weighted means (proportions for 0/1 ``y``) for every domain of every partition.

    ``partitions`` holds ``(codes, n_levels)`` pairs: codes in ``0..n_levels-1`` place a
    respondent in a domain, ``-1`` outside all of them. Missing ``y`` (NaN) are dropped
    from numerator and denominator, as ``na.rm = TRUE`` does in R. With ``include_all`` the
    first column is the whole population. Columns follow in partition order. Without
    ``with_df`` the degrees of freedom are not counted (``df`` is NaN): for callers that use
    only estimates and variances (the small area models' direct inputs), it saves a pass.
    """
    y = np.asarray(y, dtype=float)
    valid = ~np.isnan(y)
    all_valid = bool(valid.all())
    wv = np.where(valid, design.weights, 0.0)
    wy = wv * np.where(valid, y, 0.0)
    parts: list[tuple[np.ndarray | None, int]] = [(None, 1)] if include_all else []
    parts.extend((np.asarray(c, dtype=np.int64), int(k)) for c, k in partitions)
    # every partition's PSU totals go straight into their columns of one matrix, which is then
    # centred in place: no PSUs x columns temporaries (the pooled borough-by-group estimates
    # have 200 columns of 35,000 PSUs)
    totals = np.zeros((design.n_psu, sum(k for _, k in parts)))
    estimates, counts, wsums, dfs = [], [], [], []
    at = 0
    for codes, k in parts:
        if codes is None:  # the whole population
            index, width = design.psu, 1
            count = np.array([valid.sum()], dtype=float)
        else:
            outside = codes < 0
            width = (
                k + 1 if outside.any() else k
            )  # respondents outside every domain go to a spare column
            c = np.where(outside, k, codes) if width > k else codes
            index = design.psu * width + c
            count = np.bincount(c[valid], minlength=width)[:k].astype(float)
        cells, inverse = np.unique(index, return_inverse=True)  # PSU-by-domain cells in use
        if not with_df:
            dfs.append(np.full(k, np.nan))
        elif codes is None and all_valid:  # everyone answered: the design's own degrees of freedom
            dfs.append(np.array([design.df]))
        else:
            answered = (
                cells if all_valid else cells[np.bincount(inverse[valid], minlength=cells.size) > 0]
            )
            dfs.append(_domain_df(design, answered, width, k))
        est, wsum = (
            _psu_totals(totals[:, at : at + k], cells, inverse, width, wv, wy)
            if k > 1
            else _psu_totals_one(totals[:, at], index, width, wv, wy)
        )
        estimates.append(est)
        counts.append(count)
        wsums.append(wsum)
        at += k
    centred, scale = design.centre(totals, overwrite=True)
    return DomainEstimates(
        estimate=np.concatenate(estimates),
        n=np.concatenate(counts).astype(np.int64),
        weighted_n=np.concatenate(wsums),
        df=np.concatenate(dfs),
        centred=centred,
        scale=scale,
    )


def _psu_totals(
    out: np.ndarray,
    cells: np.ndarray,
    inverse: np.ndarray,
    width: int,
    wv: np.ndarray,
    wy: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Write each domain's linearised values summed over each PSU into ``out`` (PSUs x k, zeros);
    return the domains' estimates and weighted sizes.

    A domain's linearised values summed over a PSU are (sum w y - mean * sum w) / N_domain,
    so no per-respondent pass is needed after the PSU-by-domain sums of w and w*y. Only the
    cells that hold respondents are summed and written (a PSU lies in one borough, so most
    borough-by-group cells are empty, and an empty cell's value is 0): the sums are the
    same, added in the same order, as over the full PSUs x k table.
    """
    k = out.shape[1]
    w_cell = np.bincount(inverse, weights=wv, minlength=cells.size)
    wy_cell = np.bincount(inverse, weights=wy, minlength=cells.size)
    psu, domain = np.divmod(cells, width)
    inside = domain < k  # not the spare column of respondents outside every domain
    psu, domain, w_cell, wy_cell = psu[inside], domain[inside], w_cell[inside], wy_cell[inside]
    # cells come in PSU order, so these are the column sums of the table, row after row
    wsum = np.bincount(domain, weights=w_cell, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        est = np.bincount(domain, weights=wy_cell, minlength=k) / wsum
    safe = np.where(wsum > 0, wsum, 1.0)
    out[psu, domain] = (wy_cell - np.nan_to_num(est)[domain] * w_cell) / safe[domain]
    return est, wsum


def _psu_totals_one(
    out: np.ndarray, index: np.ndarray, width: int, wv: np.ndarray, wy: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_psu_totals` for a single domain, from its full column of PSU sums.

    Why not the cells in use: numpy sums one column pairwise, not row after row, so the
    same estimate needs the whole column (it is short: one number per PSU).
    """
    n_psu = out.shape[0]
    w_psu = np.bincount(index, weights=wv, minlength=n_psu * width).reshape(n_psu, width)[:, :1]
    wy_psu = np.bincount(index, weights=wy, minlength=n_psu * width).reshape(n_psu, width)[:, :1]
    wsum = w_psu.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        est = wy_psu.sum(axis=0) / wsum
    safe = np.where(wsum > 0, wsum, 1.0)
    out[:] = ((wy_psu - np.nan_to_num(est) * w_psu) / safe)[:, 0]
    return est, wsum


def _domain_df(design: Design, cells: np.ndarray, width: int, k: int) -> np.ndarray:
    """PSUs with respondents in the domain minus strata with such PSUs, per domain (at least 1).

    ``cells`` holds the PSU-by-domain cells (``psu * width + domain``, sorted, each once) of
    the respondents who *answered*: a PSU whose domain members all left the item unanswered
    (or lie outside the measure's universe) contributes nothing to the domain's variance, so
    it gives no degree of freedom. This is R's ``degf`` of the domain after subsetting to
    respondents, ``svyby(~y, ~g, subset(des, !is.na(y)), svyciprop)`` (tests/fixtures/r_waves);
    where every member answered it is the domain's ``degf`` as before.
    """
    psu, domain = np.divmod(cells, width)
    inside = domain < k
    psu, domain = psu[inside], domain[inside]
    psus = np.bincount(domain, minlength=k)
    strata = np.unique(design.psu_stratum[psu] * k + domain) % k
    return np.maximum(psus - np.bincount(strata, minlength=k), 1)


def total(design: Design, y: np.ndarray) -> tuple[float, float]:
    """Weighted total of ``y`` and its standard error (``svytotal``)."""
    y = np.nan_to_num(np.asarray(y, dtype=float))
    z = design.weights * y
    cov = design.covariance(design.psu_totals(z))
    return float(z.sum()), float(np.sqrt(cov[0, 0]))


# Distribution functions from the special functions that scipy.stats itself calls for them
# (same numbers), without importing scipy.stats: that import alone takes most of a second at
# the start of every build's data step. Like them, each returns an array for an array and a
# number for a number.

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
