"""Tables for reports: numbers formatted once, shorthand for missing values, accessible HTML.

Follows the Analysis Function guidance on releasing statistics in tables: one header row,
units in headers, and square-bracket shorthand instead of blank cells: ``[c]`` suppressed,
``[u]`` low reliability (value shown with the mark), ``[x]`` not available.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from analysis.sdc import FLAG_MEANINGS, NOT_AVAILABLE


def fmt(value: float, decimals: int = 1) -> str:
    """A number to a fixed number of decimals ('' for missing)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or pd.isna(value):
        return ""
    return f"{value:,.{decimals}f}"


def fmt_value(value: float, flag: str | None, decimals: int = 1) -> str:
    """A published value with its shorthand: '[c]', '[x]', or '12.3 [u]'."""
    flag = flag if isinstance(flag, str) else ""
    if pd.isna(value):
        return flag or NOT_AVAILABLE
    return f"{fmt(value, decimals)} {flag}".strip()


def estimate_table(rows: pd.DataFrame, label_columns: list[str]) -> pd.DataFrame:
    """The standard data table behind a chart of estimates."""
    names = {"period": "Period", "group": "Group", "area_name": "Area"}
    out = pd.DataFrame({names.get(c, c): rows[c].to_numpy() for c in label_columns})
    unit = rows["unit"].iloc[0] if len(rows) else ""
    out[f"Value ({unit})"] = [fmt_value(v, f) for v, f in zip(rows["value"], rows["flag"])]
    out["95% CI lower"] = [fmt(v) if pd.notna(val) else "" for v, val in zip(rows["lower_ci"], rows["value"])]
    out["95% CI upper"] = [fmt(v) if pd.notna(val) else "" for v, val in zip(rows["upper_ci"], rows["value"])]
    out["Unweighted base"] = [f"{int(b):,}" if pd.notna(b) else NOT_AVAILABLE for b in rows["unweighted_base"]]
    out["Compared with London"] = rows["compared_to_london"].str.replace("_", " ").to_numpy()
    return out


def to_html(table: pd.DataFrame, *, caption: str) -> str:
    """An accessible HTML table: caption, column headers with scope, and a shorthand key."""
    head = "".join(f"<th scope='col'>{html.escape(str(c))}</th>" for c in table.columns)
    body, texts = [], []
    for row in table.itertuples(index=False, name=None):
        cells = [str(v) for v in row]
        texts.extend(cells)
        body.append(f"<tr><th scope='row'>{html.escape(cells[0])}</th>"
                    + "".join(f"<td>{html.escape(c)}</td>" for c in cells[1:]) + "</tr>")
    # the shorthand key lists only the marks used in this table's cells
    every = "\x00".join(texts)
    used = {flag for flag in FLAG_MEANINGS if flag in every}
    key = "".join(f"<li><code>{html.escape(f)}</code> {html.escape(FLAG_MEANINGS[f])}</li>" for f in FLAG_MEANINGS if f in used)
    key_html = f"<ul class='shorthand'>{key}</ul>" if key else ""
    return (f"<div class='table-wrap'><table><caption>{html.escape(caption)}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{key_html}</div>")
