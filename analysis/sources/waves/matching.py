"""How a codebook's keys are matched with a file's values: numbers as numbers, text
ignoring case and spacing; and how values are shown in messages."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")

Token = tuple[str, Any]


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _token(value: Any) -> Token | None:
    """Comparison key of a code, label or YAML key; None for a missing value."""
    if _is_missing(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return ("n", float(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        return ("n", float(value))
    text = " ".join(str(value).split())
    if not text:
        return None
    if _NUMBER.fullmatch(text):
        return ("n", float(text))
    return ("s", text.casefold())


def _text(value: Any) -> str | None:
    """A value as text for an identifier column: numbers without a trailing '.0'."""
    if _is_missing(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if math.isfinite(f) and f == round(f) and abs(f) < 2**63:
            return str(int(f))
        return repr(f)
    text = str(value).strip()
    return text or None


def _show(value: Any) -> str:
    """A file value as a message shows it (1.0 from SPSS as 1)."""
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and value == round(value):
        return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        return value.strip()  # a code in a text file (CSV): shown as the number it is
    return repr(str(value)) if isinstance(value, str) else repr(value)
