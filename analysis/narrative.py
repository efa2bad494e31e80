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
    if state == "missing" or change is None:
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
    if state == "missing" or change is None:
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
    if phrase and trend is not None and trend["direction"] in ("increasing", "decreasing"):
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


# ---------------------------------------------------------------------------------------
# Key messages: the first thing a borough or London page says, each with its numbers


def figure_text(row: pd.Series | dict, value_column: str = "value") -> str:
    """A figure as a page prints it: '55.8%', '1.9 per 1,000', or its flag ('[c]')."""
    value = row[value_column]
    if pd.isna(value):
        return str(row.get("flag") or "[x]")
    flag = row.get("flag") or ""
    text = unit_text(value, row["unit"])
    return f"{text} {flag}" if flag == "[u]" else text


def against_london(row: pd.Series | dict) -> str:
    """'Agree neighbours can be trusted 55.8% (London 68.1%)'."""
    return f"{row['label']} {figure_text(row)} (London {unit_text(row['london'], row['unit'])})"


def verdict_messages(t: rules.Tally, rows: pd.DataFrame) -> list[str]:
    """The two messages on a borough's tested comparisons with London: better, then worse (with
    similar and not compared), each naming its indicators with the borough's and London's
    figures. The counts are the rulebook's :func:`~analysis.rules.tally`."""
    by_label = {r["label"]: r for _, r in rows.iterrows()}
    better = (
        f"Significantly better than London on {len(t.better)} of {t.judged} indicators"
        + (": " + "; ".join(against_london(by_label[lab]) for lab in t.better) if t.better else "")
        + "."
    )
    rest = [f"similar to London on {len(t.similar)}"]
    if t.n_not_compared:
        rest.append(f"not compared on {t.n_not_compared}")
    worse = (
        f"Significantly worse than London on {len(t.worse)}"
        + (": " + "; ".join(against_london(by_label[lab]) for lab in t.worse) if t.worse else "")
        + f"; {' and '.join(rest)}."
    )
    return [better, worse]


def movement_message(rows: pd.DataFrame) -> str:
    """One message on what moved: the significant changes since the previous period (from
    ``changes.csv``) and the significant recent trends (from ``trends.csv``), or that none did.

    ``rows`` carry ``label``, ``polarity`` and the objects ``change`` and ``trend`` (rows of
    those tables, or None)."""
    changed = [
        f"{r['label']} {change_size(r['change'])}"
        for _, r in rows.iterrows()
        if r["change"] is not None and r["change"]["direction"] in ("increased", "decreased")
    ]
    trending = [
        f"{r['label']} {trend_phrase(r['trend'], r['polarity'])}"
        for _, r in rows.iterrows()
        if r["trend"] is not None and r["trend"]["direction"] in ("increasing", "decreasing")
    ]
    parts = []
    if changed:
        parts.append("Changed significantly since the previous period: " + "; ".join(changed))
    else:
        shown = int(rows["value"].notna().sum())
        parts.append(
            f"None of {shown} indicators with a figure changed significantly since the "
            "previous period"
        )
    if trending:
        parts.append(
            "significant recent trends (over up to five comparable periods): " + "; ".join(trending)
        )
    else:
        parts.append("none has a significant recent trend over up to five comparable periods")
    return ". ".join([parts[0], parts[1][0].upper() + parts[1][1:]]) + "."


def change_size(change: pd.Series) -> str:
    """'down 6.1 percentage points on 2017/18 (worse)': a significant change with its size and
    the rulebook's judgement (none for a context indicator)."""
    size = unit_text(
        abs(change["change"]), "percentage points" if change["unit"] == "%" else change["unit"]
    )
    way = "up" if change["direction"] == "increased" else "down"
    judged = change.get("assessment")
    word = f" ({judged})" if judged in ("better", "worse") else ""
    return f"{way} {size} on {change['previous_period']}{word}"


def unavailable_reasons(rows: pd.DataFrame) -> dict[str, list[str]]:
    """The labels of the rows with no published value, by the rulebook's reason for each."""
    reasons: dict[str, list[str]] = {}
    for _, r in rows[rows["value"].isna()].iterrows():
        why = rules.not_compared_reason(r, str(r.get("kind", "survey")).startswith("survey"))
        reasons.setdefault(why, []).append(str(r["label"]))
    return reasons


def unavailable_message(rows: pd.DataFrame, missing: list[str], area: str) -> str:
    """ONE sentence on what a borough page cannot show and why: its figures with no published
    value, grouped by the rulebook's reason, and the measures the build has no borough figures
    for. Empty when everything is there."""
    parts = [
        f"{len(labels)} {'figure is' if len(labels) == 1 else 'figures are'} {why} "
        f"({', '.join(labels)})"
        for why, labels in unavailable_reasons(rows).items()
    ]
    if missing:
        parts.append(
            f"{len(missing)} {'measure has' if len(missing) == 1 else 'measures have'} no "
            f"borough figures in this build ({', '.join(missing)})"
        )
    if not parts:
        return f"Every one of the {len(rows)} indicators has a published figure for {area}."
    return f"Not available for {area}: " + "; ".join(parts) + "."


def context_message(t: rules.Tally, rows: pd.DataFrame) -> str:
    """Context indicators, described against London with their figures but never judged."""
    by_label = {r["label"]: r for _, r in rows.iterrows()}
    # a context figure that does not exist is in the message on what is unavailable
    shown = [(lab, v, why) for lab, v, why in t.context if pd.notna(by_label[lab]["value"])]
    if not shown:
        return ""
    return (
        "Context, described but not judged better or worse: "
        + "; ".join(
            f"{against_london(by_label[lab])}, {comparison_phrase(v, 'neutral')}"
            + (f" ({why})" if why else "")
            for lab, v, why in shown
        )
        + "."
    )


def marker_counts(markers: list[str]) -> str:
    """The spine's trend markers counted for its alt text: '2 increasing (better), 1 no
    significant trend, 12 not tested'."""
    names = {"→": "no significant trend", "–": "not tested"}
    counts: dict[str, int] = {}
    for m in markers:
        if m in names:
            word = names[m]
        else:
            arrow, _, judged = m.partition(" ")
            word = ("increasing" if arrow == "↑" else "decreasing") + (
                f" ({judged})" if judged else ""
            )
        counts[word] = counts.get(word, 0) + 1
    return ", ".join(f"{n} {word}" for word, n in counts.items())


def lower_first(text: str) -> str:
    """'Socio-economic class (NS-SEC)' -> 'socio-economic class (NS-SEC)'."""
    return _lower_first(text)


def change_cell(change: pd.Series | None) -> str:
    """A table cell for the change since the previous period: its size and the rulebook's
    judgement when significant ('down 2.1 percentage points on 2017/18 (worse)'), otherwise
    :func:`short_change` ('no significant change since 2017/18', 'no earlier figure')."""
    if (
        _untested(change) is None
        and change is not None
        and change["direction"] in ("increased", "decreased")
    ):
        return change_size(change)
    return short_change(change)


def domain_title(domain: str, direction: str, changes: list[pd.Series | None], judged: bool) -> str:
    """A message title for a chart of a domain's London figures of one direction: what the tests
    of change since the previous period found (better or worse only for judged figures)."""
    n = len(changes)
    tested = [c for c in changes if _untested(c) is None and c is not None]
    moved = [c for c in tested if c["direction"] in ("increased", "decreased")]
    lead = (
        domain.title() if domain.title() == direction.title() else f"{domain.title()} ({direction})"
    )
    untested = f" ({n - len(tested)} not tested)" if len(tested) < n else ""
    if not moved:
        return (
            f"{lead}: no significant change since the previous period in "
            f"{'any' if len(tested) > 1 else 'the'} {len(tested)} tested "
            f"figure{'s' if len(tested) != 1 else ''}{untested}"
        )
    if judged:
        better = sum(c["assessment"] == "better" for c in moved)
        worse = sum(c["assessment"] == "worse" for c in moved)
        parts = [f"{better} improved" if better else "", f"{worse} worsened" if worse else ""]
    else:
        up = sum(c["direction"] == "increased" for c in moved)
        down = len(moved) - up
        parts = [f"{up} increased" if up else "", f"{down} decreased" if down else ""]
    said = " and ".join(p for p in parts if p)
    return (
        f"{lead}: of {len(tested)} tested figures, {said} significantly since the previous "
        f"period{untested}"
    )
