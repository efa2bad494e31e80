"""Synthetic answers to a survey item: a logistic model (group, borough and PSU effects)
raked so that the weighted London figure and the group figures hit the wave's targets.

Why raked on the realised answers, not just their expectations: the demo's London figures
must reproduce the strategy's published figures in their reference period, so sampling
noise must not blur the calibration.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from analysis import measures, schemas
from analysis.sources.demo.assumptions import borough_profile, period_position, seeded_rng


def _logit(p: np.ndarray | float) -> np.ndarray:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


def _expit(x: np.ndarray, *, overwrite: bool = False) -> np.ndarray:
    """1 / (1 + exp(-x)); with ``overwrite`` worked out in ``x`` itself (the same numbers,
    without the three temporary arrays of the plain expression)."""
    out = np.negative(x, out=x if overwrite else None)
    np.exp(out, out=out)
    np.add(out, 1, out=out)
    return np.divide(1, out, out=out)


def _reference(item: str) -> tuple[float | None, str | None]:
    """The registry's reference figure for a survey item (value, period), if any."""
    for m in measures.registry():
        for s in m.series:
            if s.item == item and s.reference is not None:
                return s.reference.value, s.reference.period
    return None, None


def _period_targets(
    item: str, spec: dict[str, Any], period: str
) -> tuple[float, dict[str, dict[int, float]]]:
    """London target (%) and group targets (level index -> %) for one wave."""
    value, ref_period = _reference(item)
    level = value if value is not None else spec["level"]
    ref_period = spec.get("reference_period", ref_period) or period
    shift = spec.get("trend", 0.0) * (period_position(period) - period_position(ref_period))
    overall = level + shift
    groups: dict[str, dict[int, float]] = {}
    for var, targets in spec.get("group_targets", {}).items():
        levels = schemas.LEVELS[var]
        groups[var] = {levels.index(k): v + shift for k, v in targets.items()}
    for var, gap in spec.get("gap_targets", {}).items():
        levels = schemas.LEVELS[var]
        gap_shift = spec.get("gap_trend", 0.0) * (
            period_position(period) - period_position(ref_period)
        )
        groups[var] = {
            "reference": levels.index(gap["reference"]),  # type: ignore[dict-item]
            "gaps": {levels.index(k): max(v + gap_shift, 0.0) for k, v in gap["gaps"].items()},  # type: ignore[dict-item]
        }
    return overall, groups


def calibrated_answers(
    rng: np.random.Generator,
    item: str,
    spec: dict[str, Any],
    period: str,
    weights: np.ndarray,
    demo: dict[str, np.ndarray],
    b: np.ndarray,
    psu_idx: np.ndarray,
    in_universe: np.ndarray,
) -> np.ndarray:
    """0/1 answers whose weighted London rate (and group rates) match the wave's targets.

    ``psu_idx`` numbers each respondent's PSU from 0 (sorted labels), as ``np.unique`` does.
    """
    item_rng = seeded_rng("item-effects", item)  # same borough effects in every wave
    borough_effect = item_rng.normal(0, spec.get("borough_sd", 0.1), len(borough_profile().codes))
    psu_effect = rng.normal(0, spec.get("psu_sd", 0.2), psu_idx.max() + 1)[psu_idx]
    eta = borough_effect[b] + psu_effect
    for var, effects in spec.get("effects", {}).items():
        levels = schemas.LEVELS[var]
        table = np.zeros(len(levels))
        for level, effect in effects.items():
            table[levels.index(level)] = effect
        eta = eta + table[demo[var]]
    overall, groups = _period_targets(item, spec, period)
    w = np.where(in_universe, weights, 0.0)
    offsets = {var: np.zeros(len(schemas.LEVELS[var])) for var in groups}
    alpha = _logit(overall / 100)

    def linear(rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """The linear predictor of the respondents ``rows`` (all by default)."""
        total = eta[rows] + alpha
        for var, off in offsets.items():
            total += off[demo[var][rows]]
        return total

    # what does not change while raking is worked out once: each group's weighted size, the
    # rates wanted (they depend on the weights only) and the targets on the logit scale
    shares = {
        var: np.maximum(np.bincount(demo[var], weights=w, minlength=len(off)), 1e-12)
        for var, off in offsets.items()
    }
    wanted_by_var = _wanted_rates(groups, demo, w, overall, offsets)
    wanted_logits = {
        var: {level: _logit(t / 100) for level, t in wanted.items()}
        for var, wanted in wanted_by_var.items()
    }
    overall_logit, w_total = _logit(overall / 100), w.sum()
    for _ in range(60):  # rake group offsets and the intercept to their expected targets
        p = _expit(linear(), overwrite=True)
        for var, wanted_logit in wanted_logits.items():
            rate = np.bincount(demo[var], weights=w * p, minlength=len(offsets[var])) / shares[var]
            for level, target in wanted_logit.items():
                offsets[var][level] += target - _logit(rate[level])
            p = _expit(linear(), overwrite=True)
        alpha += overall_logit - _logit((w * p).sum() / w_total)
    # Draw with common uniforms, then nudge the group offsets and the intercept so that the
    # *realised* weighted rates are on target, not just their expectations: the draw is
    # monotone in each offset, so bisection converges and sampling noise does not blur the
    # calibration.
    u = rng.random(weights.size)
    # each group's members, found once: the bisection below evaluates them many times
    members = {
        var: {level: np.flatnonzero(demo[var] == level) for level in wanted}
        for var, wanted in wanted_by_var.items()
    }
    for _ in range(6 if groups else 0):
        for var, wanted in wanted_by_var.items():
            for level, t in wanted.items():
                rows = members[var][level]
                offsets[var][level] += _bisect(t, w[rows], u[rows], linear(rows), -3.0, 3.0, 30)
    base = linear() - alpha
    shift = _bisect(overall, w, u, base, float(alpha) - 2.0, float(alpha) + 2.0, 40)
    answers = (u < _expit(base + shift)).astype(float)
    answers[~in_universe] = np.nan
    return answers


def _bisect(
    target: float,
    w: np.ndarray,
    u: np.ndarray,
    current: np.ndarray,
    lo: float,
    hi: float,
    steps: int,
) -> float:
    """The shift of the linear predictor ``current`` at which the weighted % answering yes
    (yes where ``u < expit(current + shift)``) reaches ``target``, by ``steps`` halvings.

    The weights' total is summed once here, not at every step.
    """
    w_total = max(w.sum(), 1e-12)
    for _ in range(steps):
        mid = (lo + hi) / 2
        yes = u < _expit(current + mid, overwrite=True)
        realised = (w * yes).sum() / w_total * 100
        lo, hi = (mid, hi) if realised < target else (lo, mid)
    return (lo + hi) / 2


def _wanted_rates(
    groups: dict[str, dict],
    demo: dict[str, np.ndarray],
    w: np.ndarray,
    overall: float,
    offsets: dict,
) -> dict[str, dict[int, float]]:
    """Target rate (%) for each constrained group level; gap targets become rates.

    For a gap target the reference group's rate is set so that, with the gaps below it and
    the population shares of the groups, the overall rate is the overall target.
    """
    wanted: dict[str, dict[int, float]] = {}
    for var, target in groups.items():
        if "gaps" not in target:
            wanted[var] = target
            continue
        share = np.bincount(demo[var], weights=w, minlength=len(offsets[var]))
        share = share / share.sum()
        gaps = np.zeros_like(share)
        for level, g in target["gaps"].items():
            gaps[level] = g
        ref_rate = overall + (share * gaps).sum()
        wanted[var] = {
            level: ref_rate - gaps[level] for level in range(len(share)) if share[level] > 0
        }
    return wanted
