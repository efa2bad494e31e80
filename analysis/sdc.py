"""Statistical disclosure control and reliability flags (Analysis Function shorthand).

``[c]`` confidential: the unweighted base is too small to publish, value and interval blanked.
``[u]`` low reliability: published, but the base is small, so read with caution.
``[x]`` not available: the source has no figure for this area (e.g. City of London police data).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis import rules
from analysis.compare import Compared
from analysis.rules import LOW_RELIABILITY, NOT_AVAILABLE, SUPPRESSED

__all__ = [
    "DisclosureRules",
    "FLAG_MEANINGS",
    "LOW_RELIABILITY",
    "NOT_AVAILABLE",
    "SUPPRESSED",
]

# the general meaning only: the rule behind each flag depends on the source (respondents, a
# denominator, a publisher's markers), and pages state it (analysis.provenance.reading_guide)
FLAG_MEANINGS = {
    SUPPRESSED: "suppressed: too few people or cases behind the figure to publish, or withheld to protect a "
    "suppressed figure (the rule depends on the source; the reason is given beside it)",
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
            np.isnan(base) | (base == 0),
            NOT_AVAILABLE,
            np.where(
                base < self.suppress_below,
                SUPPRESSED,
                np.where(base < self.flag_below, LOW_RELIABILITY, ""),
            ),
        )

    def apply(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Set ``flag`` and ``flag_reason`` from ``unweighted_base`` and blank suppressed values
        and their tests. A row its source already marked ``[x]`` keeps that flag and reason
        (e.g. ``not covered`` for a borough the source never covers)."""
        rows = rows.copy()
        computed = self.flags(rows["unweighted_base"].to_numpy(dtype=float))
        existing = rows["flag"].fillna("") if "flag" in rows else pd.Series("", index=rows.index)
        given = (
            rows["flag_reason"].fillna("")
            if "flag_reason" in rows
            else pd.Series("", index=rows.index)
        )
        kept = (existing == NOT_AVAILABLE).to_numpy()
        rows["flag"] = np.where(kept, NOT_AVAILABLE, computed)
        reason = pd.Series(computed, index=rows.index).map(
            {
                NOT_AVAILABLE: rules.UNAVAILABLE,
                SUPPRESSED: rules.PRIMARY,
                LOW_RELIABILITY: rules.SMALL_BASE,
                "": "",
            }
        )
        rows["flag_reason"] = np.where(kept, given.where(given != "", rules.UNAVAILABLE), reason)
        hidden = rows["flag"].isin([SUPPRESSED, NOT_AVAILABLE])
        return _hide(rows, hidden.to_numpy())

    def hide_flagged(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Blank rows already flagged [c] or [x] by their source; the reason of a ``[c]`` or
        ``[u]`` is the publisher's marker, of an ``[x]`` that the source has no figure."""
        rows = rows.copy()
        flag = rows["flag"].fillna("")
        given = (
            rows["flag_reason"].fillna("")
            if "flag_reason" in rows
            else pd.Series("", index=rows.index)
        )
        default = flag.map(
            {
                SUPPRESSED: rules.PUBLISHER,
                LOW_RELIABILITY: rules.PUBLISHER,
                NOT_AVAILABLE: rules.UNAVAILABLE,
            }
        ).fillna("")
        rows["flag_reason"] = given.where(given != "", default)
        return _hide(rows, rows["flag"].isin([SUPPRESSED, NOT_AVAILABLE]).to_numpy())

    def protect_aggregates(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Secondary suppression for counts: where one borough of Inner or Outer London is
        suppressed and the aggregate is published, the borough could be recovered by
        subtraction, so the next smallest borough of that aggregate is suppressed too, with
        the reason ``secondary``. A borough the source never covers (``[x]``, not covered) is
        not in the aggregate, so it needs no protection."""
        from analysis import geography

        rows = rows.copy()
        member_of = {
            b.code: geography.sub_region_code(b.code) for b in geography.all_borough_objects()
        }
        region = rows["area_code"].map(member_of)
        hidden = np.zeros(len(rows), dtype=bool)
        for block, aggregate in _lone_suppressions(rows, region):
            members = rows[block & (region == aggregate).to_numpy()]
            others = members[members["value"].notna()].sort_values("unweighted_base")
            if len(others):
                hidden[rows.index.get_indexer([others.index[0]])] = True
        rows.loc[hidden, "flag"] = SUPPRESSED
        rows.loc[hidden, "flag_reason"] = rules.SECONDARY
        return _hide(rows, hidden)


def _lone_suppressions(rows: pd.DataFrame, region: pd.Series) -> list[tuple[np.ndarray, str]]:
    """The blocks of rows (same indicator, period, breakdown and group; a mask each) whose
    Inner or Outer London figure is published while exactly one of its boroughs is suppressed,
    with that aggregate's code.

    Why counted over all blocks at once: few blocks need protecting, and looking at each
    block in turn with pandas cost most of the time of finishing an admin measure.
    """
    from analysis import geography

    block = rows.groupby(["indicator", "period", "breakdown", "group"], sort=False).ngroup()
    block_id = block.to_numpy(dtype=float, na_value=np.nan)
    in_block = ~np.isnan(block_id)  # a key with a missing value is in no block, as in groupby
    ids = np.where(in_block, block_id, 0).astype(np.int64)
    n_blocks = int(ids.max()) + 1 if len(ids) else 0
    suppressed = (rows["flag"] == SUPPRESSED).to_numpy()
    published = rows["value"].notna().to_numpy()
    found = []
    for aggregate in (geography.INNER_LONDON_CODE, geography.OUTER_LONDON_CODE):
        shown = in_block & published & (rows["area_code"] == aggregate).to_numpy()
        primary = in_block & suppressed & (region == aggregate).to_numpy()
        has_aggregate = np.bincount(ids[shown], minlength=n_blocks) > 0
        lone = np.bincount(ids[primary], minlength=n_blocks) == 1
        found += [(in_block & (ids == g), aggregate) for g in np.flatnonzero(has_aggregate & lone)]
    return found


def _hide(rows: pd.DataFrame, hidden: np.ndarray) -> pd.DataFrame:
    """Blank everything that would reveal a suppressed figure."""
    for col in ("value", "lower_ci", "upper_ci", "se", "p_vs_london"):
        if col in rows:
            rows.loc[hidden, col] = np.nan
    rows.loc[hidden, "compared_to_london"] = Compared.NOT_COMPARED.value
    return rows
