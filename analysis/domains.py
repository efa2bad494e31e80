"""What the survey estimator (:func:`analysis.survey.domain_means`) returns, and the
PSU-by-domain sums it is made from.

Why sums over the cells in use: the pooled borough-by-group estimates have 200 domains of
35,000 PSUs, and a PSU lies in one borough, so almost every PSU-by-domain cell is empty.
Summing only the cells that hold respondents, in PSU order, gives the same numbers, added in
the same order, as the full PSUs x domains table, without building it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from analysis.survey import Design


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
        return self.estimate[idx] @ c, np.sqrt(self._squares(idx, c) @ self.scale)

    def _squares(self, idx: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Squares of the combinations' centred PSU totals (m x PSUs).

        Why one combination at a time: its terms, added in place from the columns' rows, stay
        in the CPU cache, where picking every combination's columns first would copy them all
        through memory (three times slower; the same sums, in the same order).
        """
        by_column = self._centred_by_column
        squares = np.empty((idx.shape[0], by_column.shape[1]))
        term = np.empty(by_column.shape[1])
        for row, columns in zip(squares, idx, strict=True):
            np.multiply(by_column[columns[0]], c[0], out=row)
            for j in range(1, c.size):
                row += np.multiply(by_column[columns[j]], c[j], out=term)
            row *= row
        return squares

    @cached_property
    def _centred_by_column(self) -> np.ndarray:
        """``centred`` transposed into contiguous rows, so picking columns is a fast copy."""
        return transposed(self.centred)


def cells_in_use(index: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The cells (values of ``index``, in ``0..size-1``) that hold someone, sorted, and each
    entry's position among them: ``np.unique(index, return_inverse=True)``.

    Why counted when the cells are few against the entries: marking them in a table of
    ``size`` is several times faster than sorting the entries; the result is the same.
    """
    if size > 4 * index.size:
        return np.unique(index, return_inverse=True)
    used = np.bincount(index, minlength=size) > 0
    return np.flatnonzero(used), (np.cumsum(used) - 1)[index]


def domain_totals(
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


def single_domain_totals(
    out: np.ndarray, index: np.ndarray, width: int, wv: np.ndarray, wy: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`domain_totals` for a single domain, from its full column of PSU sums.

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


def domain_df(design: Design, cells: np.ndarray, width: int, k: int) -> np.ndarray:
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


def transposed(a: np.ndarray, rows: int = 256) -> np.ndarray:
    """A contiguous copy of ``a.T`` (the same numbers), made a band of rows at a time.

    Why in bands: a band's transpose fits in the CPU cache, which copying the whole
    PSUs x columns matrix at once does not; it takes about half as long.
    """
    out = np.empty(a.shape[::-1], dtype=a.dtype)
    for start in range(0, a.shape[0], rows):
        out[:, start : start + rows] = a[start : start + rows].T
    return out
