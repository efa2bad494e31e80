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

FLAG_MEANINGS = {
    SUPPRESSED: "suppressed: unweighted base too small to publish",
    LOW_RELIABILITY: "low reliability: small unweighted base, interpret with caution",
    NOT_AVAILABLE: "not available from the source",
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
        """Flag for each unweighted base."""
        base = np.asarray(base, dtype=float)
        return np.where(
            np.isnan(base), NOT_AVAILABLE,
            np.where(base < self.suppress_below, SUPPRESSED, np.where(base < self.flag_below, LOW_RELIABILITY, "")),
        )

    def apply(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Set ``flag`` from ``unweighted_base`` and blank suppressed values and their tests."""
        rows = rows.copy()
        computed = self.flags(rows["unweighted_base"].to_numpy(dtype=float))
        existing = rows["flag"].fillna("") if "flag" in rows else pd.Series("", index=rows.index)
        rows["flag"] = np.where(existing == NOT_AVAILABLE, NOT_AVAILABLE, computed)
        hidden = rows["flag"].isin([SUPPRESSED, NOT_AVAILABLE])
        for col in ("value", "lower_ci", "upper_ci", "se"):
            if col in rows:
                rows.loc[hidden, col] = np.nan
        rows.loc[hidden, "compared_to_london"] = "not_compared"
        return rows
