"""Modelled changes between waves: each borough's change since the previous wave, its MSE and
its test (derivation: docs/sae.md, "Modelled changes").

A borough's modelled figures in two waves come from one fit of the stacked waves, so their
prediction errors are correlated: both borrow the borough's persistent effect ``u_i`` from the
same data, and both use the same estimates of the variance components. The change is
therefore not tested on ``mse_t + mse_s``:

* **Two components** (:mod:`analysis.sae.twolevel`): the change's EBLUP is ``(M_t - M_s) y``
  plus the two waves' benchmarking adjustments; its MSE is :meth:`twolevel.Fit2.change`
  (``L V L' - 2 L g' + 2 s_v`` plus ``2 g3`` of the change) plus the variance of the
  difference of the two adjustments, ``var(a_t) + var(a_s) - 2 cov(a_t, a_s)``
  (:func:`twolevel.adjustment_cov`). As for a level, the covariance of an adjustment with the
  borough's own prediction error is of smaller order and left out.
* **One component** (nothing persists, so the model treats each wave's area effects as
  independent): every term of the two waves' errors is then block-diagonal by wave (``V`` is
  diagonal, each wave has its own coefficients, and each wave's ``B`` and its derivative in
  ``A`` touch only that wave's rows), so the covariance is zero to the order of the MSE and
  the change's MSE is ``mse_t + mse_s`` (each with its ``g4``).

The test is a z test of the change on ``sqrt(mse)``, at 95% as every change on the pages;
its direction and the rulebook's judgement use the words of ``changes.csv``
(:func:`analysis.compare.change_direction`, :func:`analysis.rules.change_assessment`). No
change is tested across a series break.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from analysis import compare, survey
from analysis.sae import twolevel

if TYPE_CHECKING:
    from analysis.sae.data import Model


@dataclass
class Wave:
    """What the change between two waves needs of one wave's fit (:mod:`analysis.sae.changes`)."""

    final: np.ndarray  # benchmarked estimates (0-1 scale)
    mse: np.ndarray  # their MSE, g4 included
    targets: (
        tuple[np.ndarray, np.ndarray, np.ndarray] | None
    )  # (XT, ZT, ST) of the two-component fit
    adjustment: twolevel.Adjustment | None
    parts: tuple[np.ndarray, np.ndarray, list[np.ndarray], np.ndarray] | None = None  # Fit2.parts


COLUMNS = (
    "change_since_previous",
    "change_mse",
    "change_lower_ci",
    "change_upper_ci",
    "p_change",
    "change_direction",
)


def mse_of_change(cur: Wave, prev: Wave, two: twolevel.Fit2 | None) -> np.ndarray:
    """MSE of each borough's change from wave ``prev`` to ``cur`` (0-1 scale; module)."""
    if two is None or None in (cur.targets, prev.targets, cur.adjustment, prev.adjustment):
        return cur.mse + prev.mse
    assert cur.targets is not None and prev.targets is not None  # for the type checker
    assert cur.adjustment is not None and prev.adjustment is not None
    _, mse, _ = two.change(cur.targets, prev.targets, cur.parts, prev.parts)
    a, b = cur.adjustment, prev.adjustment
    bench = (
        twolevel.adjustment_cov(two, a, a)
        + twolevel.adjustment_cov(two, b, b)
        - 2 * twolevel.adjustment_cov(two, a, b)
    )
    return np.maximum(mse + bench, 0.0)


def add(
    models: list[Model],
    parts: list[Wave],
    two: twolevel.Fit2 | None,
    breaks: Collection[str] = (),
) -> None:
    """Add the change since the previous wave (:data:`COLUMNS`, in % and %^2) to each model's
    table after the first, and its description to the model's JSON."""
    for j, mdl in enumerate(models):
        t = mdl.table
        if j == 0:
            for c in COLUMNS[:-1]:
                t[c] = np.nan
            t["change_direction"] = compare.Change.NOT_COMPARED.value
            mdl.meta["change"] = {"previous_period": None}
            continue
        cur, prev = parts[j], parts[j - 1]
        change = cur.final - prev.final
        mse = mse_of_change(cur, prev, two)
        root = np.sqrt(mse)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.where(root > 0, 2 * survey.normal_sf(np.abs(change / root)), np.nan)
        broken = mdl.direct.period in breaks
        if broken:
            p = np.full_like(change, np.nan)
        t["change_since_previous"] = 100 * change
        t["change_mse"] = 100**2 * mse
        t["change_lower_ci"] = 100 * (change - survey.Z95 * root)
        t["change_upper_ci"] = 100 * (change + survey.Z95 * root)
        t["p_change"] = p
        t["change_direction"] = compare.change_direction(change, p)
        mdl.meta["change"] = {
            "previous_period": models[j - 1].direct.period,
            "mse": "(M_t - M_s) V (M_t - M_s)' - 2 (M_t - M_s) (G_t - G_s)' + 2 s_v + 2 g3 of "
            "the change, plus the variance of the difference of the two benchmark adjustments"
            if two is not None
            else "one component: mse_t + mse_s (the waves' prediction errors are uncorrelated)",
            "test": "z test of the change on sqrt(change_mse), 95%",
            "series_break": broken,
        }
