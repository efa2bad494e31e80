"""The "what changed" briefing: the statistically significant changes and trends of a build,
with the multiple-comparison problem handled, and the revisions since the previous build.

A build tests hundreds of changes and trends (every series, area and group). At the 5% level
some of them are bound to look significant by chance, so the briefing lists only those that
survive the Benjamini-Hochberg procedure, which keeps the expected share of false discoveries
among the listed findings at or below :data:`FDR_Q`. The family is every test of the build
together: each series' change since the previous period (the latest period of the series,
from ``changes.csv``) and each series' recent trend (``trends.csv``), whatever the area.

Order (most important first): the level of the figure, then the strength of the evidence:

1. London as a whole, 2. Inner and Outer London, 3. London's population groups (and the gaps
between them), 4. boroughs (whole population, then their gaps); within each level, the
smallest adjusted p-value (q-value) first, then registry order.

Revisions: the build keeps the estimates it replaces in ``previous/estimates.csv`` (only when
they differ from the new ones, so a rebuild from the same inputs does not lose them), and every
figure of the same measure, indicator, period, area and group whose value or flag differs
between the two is a revision (for example a new edition of a source).

Computed once in the data step (:func:`analysis.pipeline.write_results`) into
``briefing.csv`` and ``revisions.csv``; the page (``notebooks/changes.ipynb``) only reads them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import compare, geography, measures, provenance
from analysis.compare import Change
from analysis.rules import LOW_RELIABILITY
from analysis.trends import Trend

FDR_Q = 0.05
PREVIOUS = Path("previous") / "estimates.csv"  # under the data folder
REVISION_TOLERANCE = 1e-9  # relative: values are written with 10 significant digits

LEVELS = ("London", "Inner and Outer London", "Population groups", "Boroughs")
CHANGE, TREND = "change since the previous period", "recent trend"
# the directions a finding can have: a significant change or trend, up or down
SIGNIFICANT_DIRECTIONS = (Change.INCREASED, Change.DECREASED, Trend.INCREASING, Trend.DECREASING)

__all__ = [
    "CHANGE",
    "FDR_Q",
    "FINDING_COLUMNS",
    "LEVELS",
    "PREVIOUS",
    "REVISION_COLUMNS",
    "REVISION_TOLERANCE",
    "SIGNIFICANT_DIRECTIONS",
    "TREND",
    "all_tests",
    "benjamini_hochberg",
    "comparable_builds",
    "findings",
    "keep_previous",
    "labels",
    "level",
    "revisions",
]

FINDING_COLUMNS = [
    "level",
    "measure_id",
    "indicator",
    "label",
    "area_code",
    "area_name",
    "breakdown",
    "group",
    "test",
    "from_period",
    "to_period",
    "points",
    "from_value",
    "to_value",
    "change",
    "unit",
    "direction",
    "assessment",
    "p_value",
    "q_value",
    "flag",
]
REVISION_COLUMNS = [
    "status",
    "measure_id",
    "indicator",
    "label",
    "period",
    "area_code",
    "area_name",
    "breakdown",
    "group",
    "previous_value",
    "value",
    "difference",
    "previous_flag",
    "flag",
    "unit",
    "previous_source",
    "source",
    "previous_note",
    "note",
]


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values), as R's ``p.adjust(p, "BH")``: a test
    is a discovery at false discovery rate q when its adjusted p-value is at most q."""
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def labels() -> dict[str, str]:
    """Indicator -> the label pages use for it (registry series labels)."""
    out = {}
    for m in measures.registry():
        if m.rate_indicator:
            out[m.rate_indicator] = m.rate_label or m.rate_indicator
        out.update({s.indicator: s.label for s in m.series})
    return out


def level(area_code: str, breakdown: str) -> str:
    """Which of :data:`LEVELS` a figure belongs to."""
    if area_code.startswith("E09"):
        return "Boroughs"
    if area_code in (geography.INNER_LONDON_CODE, geography.OUTER_LONDON_CODE):
        return "Inner and Outer London"
    return "London" if breakdown == "all" else "Population groups"


def all_tests(changes: pd.DataFrame, trends: pd.DataFrame, estimates: pd.DataFrame) -> pd.DataFrame:
    """Every test of the build (the family the false discovery rate is controlled over): each
    series' latest change since the previous period and its recent trend, with a p-value."""
    key = compare.KEY
    latest = changes[
        changes["period"].astype(str) == changes.groupby(key, sort=False)["period"].transform("max")
    ]
    latest = latest[latest["p_value"].notna()]
    change_rows = pd.DataFrame(
        {
            **{k: latest[k] for k in key},
            "test": CHANGE,
            "from_period": latest["previous_period"].astype(str),
            "to_period": latest["period"].astype(str),
            "points": 2,
            "from_value": latest["previous_value"],
            "to_value": latest["value"],
            "change": latest["change"],
            "direction": latest["direction"],
            "p_value": latest["p_value"],
            "flag": latest["flag"].fillna(""),
        }
    )
    tested = trends[trends["p_value"].notna()]
    trend_rows = pd.DataFrame(
        {
            **{k: tested[k] for k in key},
            "test": TREND,
            "from_period": tested["from_period"].astype(str),
            "to_period": tested["to_period"].astype(str),
            "points": tested["points"],
            "direction": tested["direction"],
            "p_value": tested["p_value"],
        }
    )
    value = estimates.set_index([*key, "period"])
    trend_rows["from_value"] = _lookup(value, trend_rows, "from_period", "value")
    trend_rows["to_value"] = _lookup(value, trend_rows, "to_period", "value")
    trend_rows["change"] = trend_rows["to_value"] - trend_rows["from_value"]
    flags = pd.concat(
        [
            _lookup(value, trend_rows, "to_period", "flag"),
            _lookup(value, trend_rows, "from_period", "flag"),
        ],
        axis=1,
    )
    trend_rows["flag"] = np.where((flags == LOW_RELIABILITY).any(axis=1), LOW_RELIABILITY, "")
    tests = pd.concat([change_rows, trend_rows], ignore_index=True)
    info = estimates.drop_duplicates(key).set_index(key)[["area_name", "unit", "polarity"]]
    joined = info.reindex(pd.MultiIndex.from_frame(tests[key]))
    tests["area_name"] = joined["area_name"].to_numpy()
    tests["unit"] = joined["unit"].to_numpy()
    tests["polarity"] = joined["polarity"].to_numpy()
    return tests


def _lookup(
    indexed: pd.DataFrame, rows: pd.DataFrame, period_column: str, column: str
) -> pd.Series:
    index = pd.MultiIndex.from_frame(
        rows[[*compare.KEY, period_column]].rename(columns={period_column: "period"})
    )
    return pd.Series(indexed[column].reindex(index).to_numpy(), index=rows.index)


def findings(
    changes: pd.DataFrame, trends: pd.DataFrame, estimates: pd.DataFrame, q: float = FDR_Q
) -> pd.DataFrame:
    """The significant changes and trends that survive Benjamini-Hochberg at ``q`` over all the
    build's tests, most important first (see the module docstring), with better or worse from
    the rulebook (:func:`analysis.compare.direction_verdict`; neutral indicators are neither)."""
    tests = all_tests(changes, trends, estimates)
    tests["q_value"] = benjamini_hochberg(tests["p_value"].to_numpy(dtype=float))
    kept = tests[(tests["q_value"] <= q) & tests["direction"].isin(SIGNIFICANT_DIRECTIONS)]
    kept = kept.copy()
    kept["level"] = [level(a, b) for a, b in zip(kept["area_code"], kept["breakdown"])]
    kept["assessment"] = [
        compare.direction_verdict(d, p) for d, p in zip(kept["direction"], kept["polarity"])
    ]
    names = labels()
    kept["label"] = kept["indicator"].map(names).fillna(kept["indicator"])
    registry_order = {m.id: i for i, m in enumerate(measures.registry())}
    kept["_level"] = kept["level"].map(LEVELS.index)
    kept["_measure"] = kept["measure_id"].map(registry_order).fillna(len(registry_order))
    kept["_group"] = kept["breakdown"] != "all"  # within boroughs: whole population before gaps
    kept = kept.sort_values(
        ["_level", "_group", "q_value", "_measure", "area_code", "test"], kind="stable"
    )
    return kept[FINDING_COLUMNS].reset_index(drop=True)


def keep_previous(estimates_path: Path, new_text: str, previous_path: Path) -> Path | None:
    """Before a build replaces ``estimates.csv``, copy it to ``previous_path`` when it differs
    from ``new_text``; returns the previous estimates' path (None when there are none).

    An unchanged rebuild keeps the copy it has, so the revisions stay those of the last build
    whose figures differed.
    """
    estimates_path, previous_path = Path(estimates_path), Path(previous_path)
    if estimates_path.exists() and estimates_path.read_bytes() != new_text.encode("utf-8"):
        from analysis.outputs import atomic_write

        atomic_write(previous_path, lambda p: shutil.copyfile(estimates_path, p))
    return previous_path if previous_path.exists() else None


def comparable_builds(previous: pd.DataFrame, current: pd.DataFrame) -> bool:
    """Whether two builds' figures may be compared: both from synthetic demonstration data, or
    both from real sources (a switch between the two is not a revision)."""

    def synthetic(frame: pd.DataFrame) -> bool:
        return (
            bool(frame["synthetic"].astype(str).str.lower().eq("true").any())
            if len(frame)
            else False
        )

    return synthetic(previous) == synthetic(current)


def _printed_sources(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows with each source as pages print it (a proxy's beginning "Proxy: ") and their
    notes ('' where the rows have none)."""
    if "note" not in frame:
        frame = frame.assign(note="")
    if "proxy" not in frame:
        return frame
    printed = [provenance.source_text(s, p) for s, p in zip(frame["source"], frame["proxy"])]
    return frame.assign(source=printed)


def revisions(previous: pd.DataFrame | None, current: pd.DataFrame) -> pd.DataFrame:
    """Figures of the same measure, indicator, period, area and group whose value or flag
    differs between the previous build's estimates and these, old and new side by side.

    ``status`` is ``revised``, or ``withdrawn`` for a figure the previous build published that
    this one no longer has although it still reports that measure in that period (e.g. a
    breakdown a new wave's file does not carry). Nothing is compared when one build used
    synthetic data and the other real data.
    """
    if previous is None or previous.empty or not comparable_builds(previous, current):
        return pd.DataFrame(columns=REVISION_COLUMNS)
    key = [*compare.KEY, "period"]
    cols = ["value", "flag", "source", "note"]
    current, previous = _printed_sources(current), _printed_sources(previous)
    both = current[[*key, "area_name", "unit", *cols]].merge(
        previous[[*key, "area_name", "unit", *cols]].rename(
            columns={c: f"previous_{c}" for c in ["area_name", "unit", *cols]}
        ),
        on=key,
        how="right",
        indicator=True,
    )
    gone = (both["_merge"] == "right_only").to_numpy()
    reported = set(zip(current["measure_id"], current["period"].astype(str)))
    still = np.array(
        [(m, str(p)) in reported for m, p in zip(both["measure_id"], both["period"])], dtype=bool
    )
    new, old = both["value"].to_numpy(dtype=float), both["previous_value"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        moved = np.abs(new - old) > REVISION_TOLERANCE * np.maximum(1.0, np.abs(old))
    moved |= np.isnan(new) != np.isnan(old)  # published before and suppressed now, or the reverse
    moved |= both["flag"].fillna("").to_numpy() != both["previous_flag"].fillna("").to_numpy()
    out = both[(moved & ~gone) | (gone & still)].copy()
    withdrawn = out["_merge"] == "right_only"
    out["status"] = np.where(withdrawn, "withdrawn", "revised")
    for c in ("area_name", "unit", "flag", "source", "note"):
        out[c] = out[c].where(
            ~withdrawn, out[f"previous_{c}"] if c in ("area_name", "unit") else ""
        )
    out["difference"] = out["value"] - out["previous_value"]
    out["label"] = out["indicator"].map(labels()).fillna(out["indicator"])
    out["area_order"] = [
        LEVELS.index(level(a, b)) for a, b in zip(out["area_code"], out["breakdown"])
    ]
    out = out.sort_values(["area_order"], kind="stable")
    return out[REVISION_COLUMNS].reset_index(drop=True)
