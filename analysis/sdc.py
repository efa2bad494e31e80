"""Statistical disclosure control and reliability flags (Analysis Function shorthand).

``[c]`` confidential: the unweighted base is too small to publish, value and interval blanked.
``[u]`` low reliability: published, but the base is small, so read with caution.
``[x]`` not available: the source has no figure for this area (e.g. City of London police data).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SUPPRESSED = "[c]"
LOW_RELIABILITY = "[u]"
NOT_AVAILABLE = "[x]"

# the general meaning only: the rule behind each flag depends on the source (respondents, a
# denominator, a publisher's markers), and pages state it (analysis.provenance.reading_guide)
FLAG_MEANINGS = {
    SUPPRESSED: "suppressed: too few people or cases behind the figure to publish (the rule depends on the source)",
    LOW_RELIABILITY: "low reliability: interpret with caution (the rule depends on the source)",
    NOT_AVAILABLE: "not available from the source",
    "[z]": "not applicable",
}


@dataclass(frozen=True)
class DisclosureRules:
    """Thresholds on the unweighted base (respondents, or the denominator count for admin data)."""

    suppress_below: int = 50
    flag_below: int = 100

    def __post_init__(self) -> None:
        if not 0 <= self.suppress_below <= self.flag_below:
            raise ValueError("need 0 <= suppress_below <= flag_below")

    def flags(self, base: np.ndarray) -> np.ndarray:
        """Flag for each unweighted base (no base, or a base of zero: not available)."""
        base = np.asarray(base, dtype=float)
        return np.where(
            np.isnan(base) | (base == 0), NOT_AVAILABLE,
            np.where(base < self.suppress_below, SUPPRESSED, np.where(base < self.flag_below, LOW_RELIABILITY, "")),
        )

    def apply(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Set ``flag`` from ``unweighted_base`` and blank suppressed values and their tests."""
        rows = rows.copy()
        computed = self.flags(rows["unweighted_base"].to_numpy(dtype=float))
        existing = rows["flag"].fillna("") if "flag" in rows else pd.Series("", index=rows.index)
        rows["flag"] = np.where(existing == NOT_AVAILABLE, NOT_AVAILABLE, computed)
        hidden = rows["flag"].isin([SUPPRESSED, NOT_AVAILABLE])
        return _hide(rows, hidden.to_numpy())

    def hide_flagged(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Blank rows already flagged [c] or [x] by their source."""
        rows = rows.copy()
        return _hide(rows, rows["flag"].isin([SUPPRESSED, NOT_AVAILABLE]).to_numpy())

    def protect_aggregates(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Secondary suppression for counts: where one borough of Inner or Outer London is
        suppressed and the aggregate is published, the borough could be recovered by
        subtraction, so the next smallest borough of that aggregate is suppressed too."""
        from analysis import geography

        rows = rows.copy()
        member_of = {b.code: geography.sub_region_code(b.code) for b in geography.all_borough_objects()}
        hidden = np.zeros(len(rows), dtype=bool)
        for _, block in rows.groupby(["indicator", "period", "breakdown", "group"], sort=False):
            for aggregate in (geography.INNER_LONDON_CODE, geography.OUTER_LONDON_CODE):
                agg = block[block["area_code"] == aggregate]
                if agg.empty or agg["value"].isna().all():
                    continue
                members = block[block["area_code"].map(member_of) == aggregate]
                primary = members[members["flag"] == SUPPRESSED]
                if len(primary) == 1:
                    others = members[members["value"].notna()].sort_values("unweighted_base")
                    if len(others):
                        hidden[rows.index.get_indexer([others.index[0]])] = True
        rows.loc[hidden, "flag"] = SUPPRESSED
        return _hide(rows, hidden)


def _hide(rows: pd.DataFrame, hidden: np.ndarray) -> pd.DataFrame:
    """Blank everything that would reveal a suppressed figure."""
    for col in ("value", "lower_ci", "upper_ci", "se", "p_vs_london"):
        if col in rows:
            rows.loc[hidden, col] = np.nan
    rows.loc[hidden, "compared_to_london"] = "not_compared"
    return rows
