"""Sentences written from the estimates and their tests, never from hand-typed numbers.

A difference or change is only described as one when its 95% test says so; otherwise the
text says the figures are similar or that there was no significant change.
"""

from __future__ import annotations

import re

import pandas as pd

from analysis import compare, rules, tables


def unit_text(value: float, unit: str) -> str:
    """'12.3%', '4.5 percentage points' or '2.1 per 1,000'."""
    if unit == "%":
        return f"{tables.fmt(value)}%"
    if unit == "percentage points":
        return f"{tables.fmt(value)} percentage points"
    return f"{tables.fmt(value, 2)} {unit}"  # rates per 1,000 are small numbers


def interval_text(row: pd.Series) -> str:
    """'(95% confidence interval 10.1% to 12.0%)'."""
    if pd.isna(row["lower_ci"]) or pd.isna(row["upper_ci"]):
        return "(no confidence interval available)"
    return f"(95% confidence interval {unit_text(row['lower_ci'], row['unit'])} to {unit_text(row['upper_ci'], row['unit'])})"


def _untested(change: pd.Series | None) -> str | None:
    """'missing' (no earlier figure), 'untested' (no test possible) or None (tested)."""
    if change is None or pd.isna(change.get("change")):
        return "missing"
    return "untested" if change.get("direction") == "not_compared" else None


def change_phrase(change: pd.Series | None) -> str:
    """What happened since the previous period, as far as the test supports."""
    state = _untested(change)
    if state == "missing":
        return "there is no earlier figure to compare with"
    if state == "untested":
        return f"{change['previous_period']}: {unit_text(change['previous_value'], change['unit'])}, not tested (no interval available)"
    size = unit_text(
        abs(change["change"]), "percentage points" if change["unit"] == "%" else change["unit"]
    )
    if change["direction"] == "increased":
        return f"up {size} on {change['previous_period']}, a statistically significant increase"
    if change["direction"] == "decreased":
        return f"down {size} on {change['previous_period']}, a statistically significant decrease"
    return f"not significantly different from {change['previous_period']} ({unit_text(change['previous_value'], change['unit'])})"


def short_change(change: pd.Series | None) -> str:
    """Compact form for titles: 'up since 2017/18', 'no significant change since 2017/18'."""
    state = _untested(change)
    if state == "missing":
        return "no earlier figure"
    if state == "untested":
        return f"change since {change['previous_period']} not tested"
    if change["direction"] == "increased":
        return f"up since {change['previous_period']}"
    if change["direction"] == "decreased":
        return f"down since {change['previous_period']}"
    return f"no significant change since {change['previous_period']}"


def p_text(p: float) -> str:
    """'p < 0.001' or 'p = 0.012'."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def trend_phrase(trend: pd.Series | None, polarity: str) -> str | None:
    """The recent trend (a row of ``trends.csv``) in words: 'increasing since 2014 (5 points,
    p < 0.001), better', 'no significant trend since 2014/15 (5 points)', or None when the
    trend was not tested. Better or worse comes from the rulebook (the row's polarity)."""
    if trend is None or trend.get("direction") not in (
        "increasing",
        "decreasing",
        "no significant trend",
    ):
        return None
    points = f"{int(trend['points'])} points"
    if trend["direction"] == "no significant trend":
        return f"no significant trend since {trend['from_period']} ({points})"
    verdict = compare.direction_verdict(trend["direction"], polarity)
    judged = f", {verdict}" if verdict in ("better", "worse") else ""
    return f"{trend['direction']} since {trend['from_period']} ({points}, {p_text(trend['p_value'])}){judged}"


def trend_cell(trend: pd.Series | None, polarity: str) -> str:
    """A table cell for the recent trend: :func:`trend_phrase`, or 'not tested' with a short
    reason taken from the row's ``method``."""
    phrase = trend_phrase(trend, polarity)
    if phrase:
        return phrase
    method = "" if trend is None else str(trend.get("method", ""))
    brk = re.search(r"series break in [0-9/]+", method)
    if brk:
        return f"not tested ({brk.group(0)})"
    for marker, reason in (
        ("pooled", "pooled periods"),
        ("standard error", "no interval"),
        ("suppressed", "latest figure not published"),
    ):
        if marker in method:
            return f"not tested ({reason})"
    return "not tested (too few comparable points)" if trend is not None else "not tested"


def trend_title(
    label: str, row: pd.Series, change: pd.Series | None, trend: pd.Series | None
) -> str:
    """A trend chart's message title: the latest figure, then a significant recent trend (so that
    "no significant change since 2017" cannot hide a significant five-point trend), then the
    change since the previous period."""
    lead = f"{label}: {unit_text(row['value'], row['unit'])} in {row['period']}, "
    phrase = trend_phrase(trend, row["polarity"])
    if phrase and trend["direction"] in ("increasing", "decreasing"):
        return f"{lead}{phrase}; {short_change(change)}"
    return lead + short_change(change)


def headline(label: str, row: pd.Series, change: pd.Series | None, area: str = "London") -> str:
    """'In 2018/19, 90.4% (95% CI …) in London: …; up 0.5 percentage points on 2017/18, …'."""
    if pd.isna(row["value"]):
        return f"{label}: no figure can be published for {area} in {row['period']} {row['flag']}."
    text = f"{label}: {unit_text(row['value'], row['unit'])} in {area} in {row['period']} {interval_text(row)}"
    if row.get("flag") == "[u]":
        text += ", based on a small sample [u]"
    return f"{text}; {change_phrase(change)}."


def comparison_phrase(compared: str, polarity: str, population_group: bool = False) -> str:
    """'significantly higher than London (better)' etc.: the rulebook's words
    (:func:`analysis.rules.comparison_phrase`)."""
    return rules.comparison_phrase(compared, polarity, population_group)


def groups_sentence(rows: pd.DataFrame, breakdown_label: str, polarity: str) -> str:
    """Which groups differ significantly from London as a whole (or that none was tested)."""
    if (
        rows["compared_to_london"].eq("not_compared").all()
    ):  # e.g. published group rates: no test given
        return f"By {_lower_first(breakdown_label)}, the groups are not tested against London as a whole."
    higher = rows[rows["compared_to_london"] == "higher"]["group"].tolist()
    lower = rows[rows["compared_to_london"] == "lower"]["group"].tolist()
    if not higher and not lower:
        return f"By {_lower_first(breakdown_label)}, no group differs significantly from London as a whole."
    parts = []
    if higher:
        parts.append(f"higher for {_join(higher)}")
    if lower:
        parts.append(f"lower for {_join(lower)}")
    return f"By {_lower_first(breakdown_label)}, the figure is significantly {' and '.join(parts)} than for London as a whole."


def boroughs_sentence(rows: pd.DataFrame, polarity: str, period: str) -> str:
    """How many boroughs are significantly above or below London (of those with a published
    figure), and, for a row with a direction, which way is better."""
    higher = int((rows["compared_to_london"] == "higher").sum())
    lower = int((rows["compared_to_london"] == "lower").sum())
    shown = int(rows["value"].notna().sum())
    text = (
        f"In {period}, {higher} of the {shown} boroughs with a published figure were significantly higher than "
        f"London and {lower} significantly lower"
    )
    if rules.judged(polarity):
        return text + f" ({'higher' if polarity == 'up' else 'lower'} is better)."
    return text + "."


def _lower_first(text: str) -> str:
    """'Socio-economic class (NS-SEC)' -> 'socio-economic class (NS-SEC)'."""
    return text[:1].lower() + text[1:]


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
