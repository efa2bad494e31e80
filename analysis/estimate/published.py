"""Rows of the estimates table from published rates with confidence intervals (for example
the Annual Population Survey's employment rates): group rates and the gaps between them.

Why the publisher's markers are kept: they carry its own disclosure control, which this
project cannot redo without the microdata.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import compare, geography, provenance, rules, survey
from analysis.compare import Compared
from analysis.estimate.intervals import Z95
from analysis.estimate.survey_rows import gap_group
from analysis.measures import Measure
from analysis.sdc import LOW_RELIABILITY, SUPPRESSED


def published_rate_flags(table: pd.DataFrame) -> tuple[np.ndarray, list[str], pd.Series, pd.Series]:
    """Flags, the reason for each ``[u]`` the publisher did not mark, and interval ends of published rates (percentages with a published
    interval half-width and the publisher's ``marker``), by the publisher's rule.

    ``!`` (or no rate) is ``[c]`` and ``*`` is ``[u]``, as published. Two things the publisher
    leaves unmarked are ``[u]`` too, each with a note saying which: a rate of exactly 100%
    with no interval (a sample so small that every member was employed), and an interval that
    goes beyond 0-100% (the normal approximation fails where a rate is near its limit on a
    small sample), whose impossible ends are cut at 0 and 100.
    """
    marker = table["marker"].fillna("").astype(str)
    rate, half = table["rate"].astype(float), table["ci_half_width"].astype(float)
    lower, upper = rate - half, rate + half
    beyond = ((upper > 100) | (lower < 0)).to_numpy()
    no_interval_at_100 = ((rate == 100) & half.isna()).to_numpy()
    suppressed = (marker.str.contains("!", regex=False) | rate.isna()).to_numpy()
    unreliable = marker.str.contains("*", regex=False).to_numpy() | beyond | no_interval_at_100
    flags = np.where(suppressed, SUPPRESSED, np.where(unreliable, LOW_RELIABILITY, ""))
    cut_lower, cut_upper = lower.clip(0, 100), upper.clip(0, 100)
    reasons = [
        ""
        if f == SUPPRESSED
        else provenance.INTERVAL_CUT.format(lower=lo, upper=hi, cut_lower=clo, cut_upper=chi)
        if b
        else provenance.NO_INTERVAL_AT_100
        if n
        else ""
        for f, b, n, lo, hi, clo, chi in zip(
            flags, beyond, no_interval_at_100, lower, upper, cut_lower, cut_upper
        )
    ]
    return flags, reasons, cut_lower, cut_upper


def estimate_published_gap(measure: Measure, table: pd.DataFrame) -> pd.DataFrame:
    """Group rates and gaps from published rates with confidence intervals (e.g. APS tables).

    The publisher's markers carry its disclosure control: ``!`` (too few to publish) becomes
    ``[c]`` and ``*`` (unreliable) ``[u]``, and rates the publisher leaves unmarked but whose
    interval is missing at 100% or passes 100% are ``[u]`` with a note
    (:func:`published_rate_flags`); ``[u]`` figures are not compared with London. A gap is
    ``[c]`` or ``[u]`` when either of its rates is. A gap's standard error combines the two groups'
    published intervals as independent estimates (different people); a borough's gap is
    compared with London's by a z test on the difference of the gaps. Borough rates are
    compared with London by whether the borough's interval excludes London's value.
    """
    t = table.copy()
    t["flag"], t["reason"], t["lower"], t["upper"] = published_rate_flags(t)
    t["note"] = [provenance.FLAGGED_U.format(reason=r) if r else "" for r in t["reason"]]
    # the publisher's marker, or our own reason where the publisher left the figure unmarked
    t["flag_reason"] = np.where(
        t["flag"] == "", "", np.where(t["reason"] != "", rules.UNUSABLE_INTERVAL, rules.PUBLISHER)
    )
    t["se"] = t["ci_half_width"] / Z95
    t["period"] = t["year"].astype(str)
    london = t[t["area_code"] == geography.LONDON_CODE].set_index(["period", "variable", "group"])
    rate = t.join(
        london[["rate"]].rename(columns={"rate": "london"}), on=["period", "variable", "group"]
    )
    verdict = compare.interval_verdict(rate["lower"], rate["upper"], rate["london"])
    rows = [
        pd.DataFrame(
            {
                "indicator": measure.rate_indicator,
                "period": rate["period"],
                "area_code": rate["area_code"],
                "breakdown": rate["variable"],
                "group": rate["group"],
                "value": rate["rate"],
                "lower_ci": rate["lower"],
                "upper_ci": rate["upper"],
                "se": rate["se"],
                "unweighted_base": np.nan,
                "p_vs_london": np.nan,
                "compared_to_london": np.where(
                    (rate["area_code"] == geography.LONDON_CODE)
                    | (rate["flag"] == LOW_RELIABILITY),
                    Compared.NOT_COMPARED,
                    verdict,
                ),
                "flag": rate["flag"],
                "note": rate["note"],
                "flag_reason": rate["flag_reason"],
            }
        )
    ]
    keyed = t.set_index(["period", "area_code", "variable", "group"])
    for s in measure.series:
        try:
            ref = keyed.xs((s.variable, s.reference_group), level=("variable", "group"))
            comp = keyed.xs((s.variable, s.comparison_group), level=("variable", "group"))
        except KeyError:
            continue
        both = ref[["rate", "se", "flag", "reason"]].join(
            comp[["rate", "se", "flag", "reason"]], suffixes=("_ref", "_comp"), how="inner"
        )
        gap = both["rate_ref"] - both["rate_comp"]
        se = np.sqrt(both["se_ref"] ** 2 + both["se_comp"] ** 2)
        flags = np.where(
            (both["flag_ref"] == SUPPRESSED) | (both["flag_comp"] == SUPPRESSED),
            SUPPRESSED,
            np.where(
                (both["flag_ref"] == LOW_RELIABILITY) | (both["flag_comp"] == LOW_RELIABILITY),
                LOW_RELIABILITY,
                "",
            ),
        )
        why = [
            "; ".join(
                provenance.BUILT_ON.format(group=g, reason=r)
                for g, r in ((s.reference_group, a), (s.comparison_group, b))
                if r
            )
            for a, b in zip(both["reason_ref"], both["reason_comp"])
        ]
        notes = [
            provenance.FLAGGED_U.format(reason=w) if w and f == LOW_RELIABILITY else ""
            for w, f in zip(why, flags)
        ]
        reasons = np.where(
            flags == "",
            "",
            np.where(
                np.array([bool(n) for n in notes], dtype=bool),
                rules.UNUSABLE_INTERVAL,
                rules.PUBLISHER,
            ),
        )
        frame = pd.DataFrame(
            {"gap": gap, "se": se, "flag": flags, "note": notes, "flag_reason": reasons}
        ).reset_index()
        lon = frame[frame["area_code"] == geography.LONDON_CODE].set_index("period")
        frame = frame.join(
            lon[["gap", "se"]].rename(columns={"gap": "l_gap", "se": "l_se"}), on="period"
        )
        diff = frame["gap"] - frame["l_gap"]
        p_value = survey.t_test_p(diff, np.sqrt(frame["se"] ** 2 + frame["l_se"] ** 2), np.inf)
        is_london = frame["area_code"] == geography.LONDON_CODE
        rows.append(
            pd.DataFrame(
                {
                    "indicator": s.indicator,
                    "period": frame["period"],
                    "area_code": frame["area_code"],
                    "breakdown": s.variable,
                    "group": gap_group(s),
                    "value": frame["gap"],
                    "lower_ci": frame["gap"] - Z95 * frame["se"],
                    "upper_ci": frame["gap"] + Z95 * frame["se"],
                    "se": frame["se"],
                    "unweighted_base": np.nan,
                    "p_vs_london": np.where(is_london, np.nan, p_value),
                    "compared_to_london": np.where(
                        is_london | (frame["flag"] == LOW_RELIABILITY).to_numpy(),
                        Compared.NOT_COMPARED,
                        compare.verdict(diff, p_value),
                    ),
                    "flag": frame["flag"],
                    "note": frame["note"],
                    "flag_reason": frame["flag_reason"],
                }
            )
        )
    out = pd.concat(rows, ignore_index=True)
    return out[out["area_code"].isin([*geography.borough_codes(), *geography.AGGREGATES])]
