"""Words the charts' alternative text shares: a unit's suffix and the shape of a series.

Why apart: every chart writes its alt text from the numbers it plots, and they must say a
value and its unit the same way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import tables


def series_shape(periods: pd.Series, values: np.ndarray, unit: str) -> str:
    """The shape of a series in words: where it starts and ends, and its lowest and highest
    points where those are elsewhere (the alt text's summary; the table holds every point)."""
    shown = [(p, v) for p, v in zip(periods, values) if np.isfinite(v)]
    if not shown:
        return "with no figures available"
    suffix = unit_suffix(unit)
    (p0, v0), (p1, v1) = shown[0], shown[-1]
    text = f"from {tables.fmt(v0)}{suffix} in {p0} to {tables.fmt(v1)}{suffix} in {p1}"
    low, high = min(shown, key=lambda pv: pv[1]), max(shown, key=lambda pv: pv[1])
    inner = [
        f"{word} {tables.fmt(v)}{suffix} in {p}"
        for word, (p, v) in (("lowest", low), ("highest", high))
        if p not in (p0, p1)
    ]
    return text + (f" ({', '.join(inner)})" if inner else "")


def unit_suffix(unit: str) -> str:
    return "%" if unit == "%" else (" pp" if unit == "percentage points" else "")
