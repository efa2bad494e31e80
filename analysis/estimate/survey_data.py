"""A survey family's microdata coded once into numpy arrays, and one wave (or pooled waves)
of it with its design.

Why arrays coded once: every survey measure of a family reads the same respondents, so the
demographics, strata and PSUs are factorised once per build and each wave's design is
prepared once and shared by every measure that reads it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis import geography, schemas, survey
from analysis.validate import InputError


def level_codes(values: pd.Series, levels: Iterable[str]) -> np.ndarray:
    """Codes 0..k-1 of ``values`` in ``levels`` order (-1 for anything else), fast on strings."""
    levels = list(levels)
    codes, uniques = pd.factorize(values)
    lookup = np.array(
        [levels.index(u) if u in levels else -1 for u in uniques] + [-1], dtype=np.int64
    )
    return lookup[codes]  # factorize marks missing as -1, which picks the trailing -1


@dataclass
class SurveyArrays:
    """A survey family's microdata coded once into numpy arrays (every wave together)."""

    periods: list[str]
    period: np.ndarray
    weight: np.ndarray
    stratum: np.ndarray
    psu: np.ndarray
    stratum_labels: np.ndarray
    codes: dict[str, tuple[np.ndarray, int]]
    items: dict[str, np.ndarray]
    source: str
    lonely_psu: str = "fail"

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, *, items: Iterable[str], source: str, lonely_psu: str = "fail"
    ) -> SurveyArrays:
        periods = sorted(frame["period"].astype(str).unique())
        period = level_codes(frame["period"].astype(str), periods)
        # strata and PSUs are wave-specific: the same label in two waves is two units
        stratum_raw, stratum_labels = pd.factorize(
            frame["period"].astype(str) + "|" + frame["stratum"].astype(str)
        )
        psu_raw, _ = pd.factorize(frame["psu"].astype(str))
        codes = {
            var: (level_codes(frame[var], levels), len(levels))
            for var, levels in schemas.LEVELS.items()
        }
        boroughs = geography.borough_codes()
        b = level_codes(frame["borough"], boroughs)
        codes["borough"] = (b, len(boroughs))
        inner = geography.boroughs()["inner_outer"].to_numpy() == "Inner"
        codes["inner_outer"] = (np.where(b < 0, -1, np.where(inner[b], 0, 1)).astype(np.int64), 2)
        missing = [i for i in items if i not in frame.columns]
        if missing:
            raise InputError(source, f"missing survey item column(s) {missing}")
        items = {c: pd.to_numeric(frame[c], errors="raise").to_numpy(dtype=float) for c in items}
        return cls(
            periods,
            period,
            frame["weight"].to_numpy(dtype=float),
            stratum_raw.astype(np.int64),
            psu_raw.astype(np.int64),
            np.asarray(stratum_labels),
            codes,
            items,
            source,
            lonely_psu,
        )

    def wave(self, periods: str | list[str], label: str | None = None) -> Wave:
        """One wave, or several pooled (weights divided by the number of waves)."""
        periods = [periods] if isinstance(periods, str) else list(periods)
        missing = [p for p in periods if p not in self.periods]
        if missing:
            raise ValueError(f"{self.source}: no wave {missing}; have {self.periods}")
        wanted = np.isin(self.period, [self.periods.index(p) for p in periods])
        rows = np.flatnonzero(wanted)
        design = survey.Design.from_codes(
            self.weight[rows] / len(periods),
            self.stratum[rows],
            self.psu[rows],
            stratum_labels=self.stratum_labels,
            lonely_psu=self.lonely_psu,
            source=self.source,
        )
        return Wave(label or periods[0], rows, design, self, len(periods))


@dataclass
class Wave:
    """One wave (or pooled set of waves): its rows and design, prepared once per build."""

    period: str
    rows: np.ndarray
    design: survey.Design
    data: SurveyArrays
    n_periods: int = 1
    _breakdowns: dict[str, bool] = field(default_factory=dict, repr=False)

    def codes(self, var: str) -> tuple[np.ndarray, int]:
        codes, k = self.data.codes[var]
        return codes[self.rows], k

    def covers(self, values: np.ndarray) -> bool:
        """Whether every wave pooled here (or the one wave) has someone with a value in
        ``values`` (a demographic's codes, -1 where missing, or an item's answers, NaN where
        missing). A wave whose file lacks a variable or an item has no one, and so no figure."""
        present = (values >= 0) if values.dtype.kind in "iu" else ~np.isnan(values)
        if self.n_periods == 1:
            return bool(present.any())
        waves = self.data.period[self.rows]
        return np.unique(waves[present]).size == self.n_periods

    def has_breakdown(self, var: str) -> bool:
        """Whether this wave can be broken down by ``var`` (see :meth:`covers`); worked out
        once per wave and variable."""
        if var in ("borough", "inner_outer"):
            return True
        if var not in self._breakdowns:
            self._breakdowns[var] = self.covers(self.codes(var)[0])
        return self._breakdowns[var]

    def item(self, name: str, universe: dict | None) -> np.ndarray:
        """An item's 0/1 answers with respondents outside the measure's universe set missing."""
        if name not in self.data.items:
            raise KeyError(f"{self.data.source}: no column {name!r} for this measure")
        y = self.data.items[name][self.rows].copy()
        if universe:
            var = universe["variable"]
            allowed = [schemas.LEVELS[var].index(v) for v in universe["values"]]
            y[~np.isin(self.data.codes[var][0][self.rows], allowed)] = np.nan
        return y
