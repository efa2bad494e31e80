"""Tables for reports: numbers formatted once, shorthand for missing values, accessible HTML.

Follows the Analysis Function guidance on releasing statistics in tables: one header row,
units in headers, and square-bracket shorthand instead of blank cells: ``[c]`` suppressed,
``[u]`` low reliability (value shown with the mark), ``[x]`` not available.
"""

from __future__ import annotations

import hashlib
import html
import re
from functools import lru_cache

import numpy as np
import pandas as pd
from markupsafe import Markup

from analysis.sdc import FLAG_MEANINGS, NOT_AVAILABLE


def fmt(value: float, decimals: int = 1) -> str:
    """A number to a fixed number of decimals ('' for missing)."""
    if value is None or pd.isna(value):
        return ""
    return f"{value:,.{decimals}f}"


def fmt_value(value: float, flag: str | None, decimals: int = 1) -> str:
    """A published value with its shorthand: '[c]', '[x]', or '12.3 [u]'."""
    flag = flag if isinstance(flag, str) else ""
    if pd.isna(value):
        return flag or NOT_AVAILABLE
    return f"{fmt(value, decimals)} {flag}".strip()


FLAG = "Flag"  # the shorthand column of a numeric table, merged into its value at render


def estimate_table(rows: pd.DataFrame, label_columns: list[str]) -> pd.DataFrame:
    """The standard data table behind a chart of estimates, with its numbers as numbers.

    Values, interval ends and bases stay numeric (a researcher can sort or plot a chart's
    table); the shorthand of each value is in ``Flag``. :func:`display` formats them, and
    puts each flag beside its value ("12.3 [u]", "[c]"), when the table is rendered.
    """
    names = {"period": "Period", "group": "Group", "area_name": "Area"}
    out = pd.DataFrame({names.get(c, c): rows[c].to_numpy() for c in label_columns})
    unit = rows["unit"].iloc[0] if len(rows) else ""
    value = rows["value"].to_numpy(dtype=float)
    out[f"Value ({unit})"] = value
    out[FLAG] = [f if isinstance(f, str) else "" for f in rows["flag"]]
    shown = ~np.isnan(value)  # no interval is shown for a suppressed or missing value
    out["95% CI lower"] = np.where(shown, rows["lower_ci"].to_numpy(dtype=float), np.nan)
    out["95% CI upper"] = np.where(shown, rows["upper_ci"].to_numpy(dtype=float), np.nan)
    out["Unweighted base"] = pd.array(
        [int(b) if pd.notna(b) else pd.NA for b in rows["unweighted_base"]], dtype="Int64"
    )
    out["Compared with London"] = rows["compared_to_london"].str.replace("_", " ").to_numpy()
    notes = flag_notes(rows)
    if any(notes):  # each flagged figure says why, in the rulebook's words
        out["Note"] = notes
    return out


def display(table: pd.DataFrame) -> pd.DataFrame:
    """A table's cells as the page shows them: the numeric columns of :func:`estimate_table`
    formatted (one decimal, thousands separators), each flag beside its value, missing
    numbers as their shorthand. Text columns, and tables already formatted, pass through."""
    out = table.copy()
    flags = out.pop(FLAG) if FLAG in out.columns else None
    for column in out.columns:
        values = out[column]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        if str(column).startswith("Value (") and flags is not None:
            out[column] = [fmt_value(v, f) for v, f in zip(values, flags)]
        elif column in ("95% CI lower", "95% CI upper"):
            out[column] = [fmt(v) for v in values]
        elif column == "Unweighted base":
            out[column] = [f"{int(b):,}" if pd.notna(b) else NOT_AVAILABLE for b in values]
    return out


def flag_notes(rows: pd.DataFrame) -> list[str]:
    """The rulebook's reason for each row's flag ('' where unflagged or no reason is known)."""
    from analysis import measures, rules

    if "flag_reason" not in rows or "measure_id" not in rows:
        return [""] * len(rows)
    survey = {m: measures.get(m).is_survey for m in set(rows["measure_id"])}
    return [
        rules.flag_reason_text(
            f if isinstance(f, str) else "", r if isinstance(r, str) else "", survey[m]
        )
        for f, r, m in zip(rows["flag"], rows["flag_reason"], rows["measure_id"])
    ]


def to_html(table: pd.DataFrame, *, caption: str) -> str:
    """An accessible HTML table: caption, column headers with scope, and a shorthand key."""
    table = display(table)
    head = "".join(f"<th scope='col'>{html.escape(str(c))}</th>" for c in table.columns)
    body: list[str] = []
    texts: list[str] = []
    for row in table.itertuples(index=False, name=None):
        # a cell may be markup (a link to a measure's page): kept as it is, measured by its text
        shown = [str(v) if isinstance(v, Markup) else html.escape(str(v)) for v in row]
        texts.extend(v.striptags() if isinstance(v, Markup) else str(v) for v in row)
        body.append(
            f"<tr><th scope='row'>{shown[0]}</th>"
            + "".join(f"<td>{c}</td>" for c in shown[1:])
            + "</tr>"
        )
    # the shorthand key lists only the marks used in this table's cells
    every = "\x00".join(texts)
    used = {flag for flag in FLAG_MEANINGS if flag in every}
    key = "".join(
        f"<li><code>{html.escape(f)}</code> {html.escape(FLAG_MEANINGS[f])}</li>"
        for f in FLAG_MEANINGS
        if f in used
    )
    key_html = f"<ul class='shorthand'>{key}</ul>" if key else ""
    headers = [str(c) for c in table.columns]
    columns = [texts[j :: len(table.columns)] for j in range(len(table.columns))]
    widths, wide = print_layout(headers, columns)
    cols = "".join(f"<col style='width:{w}%'>" for w in widths)
    # on a narrow screen the table scrolls sideways inside its box: the box is a region named
    # by the caption that takes keyboard focus (so it can be scrolled without a mouse); the
    # caption keeps to the screen's width (the page template's styles), so it wraps instead of
    # being cut off. The id comes from the table's content: the same table, the same page.
    ident = "table-" + hashlib.sha1(f"{caption}\x00{every}".encode()).hexdigest()[:10]
    return (
        f"<div class='table-block{' wide' if wide else ''}'><div class='table-wrap' role='region' aria-labelledby='{ident}' tabindex='0'>"
        f"<table class='sized'><caption id='{ident}'>{html.escape(caption)}</caption>"
        f"<colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
        f"{key_html}</div>"
    )


# the width of each character in ems, from the font the reports are drawn in (analysis.fonts,
# Liberation Sans: Arial's and Helvetica's metrics), regular and bold
@lru_cache(maxsize=2)
def _char_widths(bold: bool) -> dict[str, float]:
    from fontTools.ttLib import TTFont

    from analysis import fonts

    font = TTFont(fonts.path("bold" if bold else "normal"), lazy=True)
    per_em = font["head"].unitsPerEm
    advances = font["hmtx"].metrics
    return {
        chr(code): advances[glyph][0] / per_em
        for code, glyph in font.getBestCmap().items()
        if code >= 32
    }


def text_width(text: str, bold: bool = False) -> float:
    """Width of ``text`` in ems (characters outside the font's table count as an 'n')."""
    widths = _char_widths(bold)
    return sum(widths.get(ch, 0.556) for ch in text)


# where a line may break: spaces, and after a hyphen or slash before a letter (as in
# 'Pakistani/Bangladeshi'; never inside numbers such as '2016-2018' or '2018/19')
_BREAKS = re.compile(r"\s+|(?<=[-/])(?=[^\d\s])")


# the ems of table text across the printed page's text area: A4 less 12 mm margins each
# side (186 mm portrait, 273 mm landscape) at the tables' print size
PORTRAIT_LINE = 60.0
LANDSCAPE_LINE = 88.0
_PADDING = 1.3  # ems of cell padding, left and right together


def _least_and_most(
    headers: list[str], columns: list[list[str]], widest: float
) -> tuple[list[float], list[float]]:
    """Each column's least width (its widest word) and the width it would like (its longest
    entry on one line, up to ``widest``), in ems with padding."""
    least, most = [], []
    for j, (header, cells) in enumerate(zip(headers, columns)):
        bold = j == 0  # the first column holds row headers
        words = max(
            (text_width(w, bold) for text in cells for w in _BREAKS.split(text)), default=0.0
        )
        header_words = max((text_width(w, True) for w in _BREAKS.split(header)), default=0.0)
        least.append(max(words, header_words) + _PADDING)
        longest = max((text_width(text, bold) for text in cells), default=0.0)
        most.append(
            max(least[-1], min(max(longest, text_width(header, True) / 2), widest) + _PADDING)
        )
    return least, most


def print_layout(headers: list[str], columns: list[list[str]]) -> tuple[list[int], bool]:
    """A table's column widths for print, and whether it goes on a landscape page: a table
    whose words cannot all fit across a portrait page (:data:`PORTRAIT_LINE`) is printed on a
    landscape one (the print styles' named page ``wide``), laid out for that longer line.
    The cells are measured once for both."""
    if not headers:
        return [], False
    least, most = _least_and_most(headers, columns, 24.0)
    wide = sum(least) > PORTRAIT_LINE
    return _shares(least, most, LANDSCAPE_LINE if wide else PORTRAIT_LINE), wide


def column_widths(
    headers: list[str],
    columns: list[list[str]],
    *,
    line: float = PORTRAIT_LINE,
    widest: float = 24.0,
) -> list[int]:
    """Column widths in per cent of the table, worked out as a browser's automatic table
    layout would, from the widths (in ems) of what each column holds.

    Each column gets at least its widest word (headers and the first column are bold; every
    cell has padding); what is left of a ``line`` of about 60 ems (an A4 page at the
    tables' print size) goes to the columns with longer entries, each up to ``widest``.
    Stating the widths lets the PDF lay tables out in one pass (``table-layout: fixed``)
    instead of measuring every cell twice first, which made writing the PDFs slow.
    """
    if not headers:
        return []
    return _shares(*_least_and_most(headers, columns, widest), line)


def _shares(least: list[float], most: list[float], line: float) -> list[int]:
    """Per-cent widths from each column's least and wanted widths on a line of ``line`` ems."""
    if (
        sum(most) <= line
    ):  # everything fits on one line: each column in proportion to its longest entry
        share = most
    elif (
        sum(least) <= line
    ):  # each column its widest word, the rest shared by how much more it wants
        spare, wants = line - sum(least), [m - n for m, n in zip(most, least)]
        share = [n + spare * w / sum(wants) for n, w in zip(least, wants)]
    else:
        share = least
    total = sum(share)
    widths = [max(1, round(100 * x / total)) for x in share]
    widths[widths.index(max(widths))] += 100 - sum(
        widths
    )  # rounding: the widest column takes the rest
    return widths
