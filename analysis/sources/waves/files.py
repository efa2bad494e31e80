"""Reading a provider's file (CSV, SPSS, Stata, Parquet) as it is, codes and labels kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from analysis.validate import InputError

READERS = {
    ".csv": "csv",
    ".csv.gz": "csv",
    ".sav": "sav",
    ".zsav": "sav",
    ".dta": "dta",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def _reader_kind(path: Path) -> str | None:
    name = path.name.lower()
    for ext in sorted(READERS, key=len, reverse=True):
        if name.endswith(ext):
            return READERS[ext]
    return None


def read_wave_file(path: str | Path, *, encoding: str = "utf-8-sig") -> pd.DataFrame:
    """Read a provider's file, chosen by extension: .csv (.csv.gz), .sav/.zsav, .dta, .parquet/.pq.

    CSV cells are read as text (identifiers keep leading zeros; empty cells are missing).
    SPSS and Stata files are read as numeric codes, SPSS user-missing codes kept as they
    are. The result's ``attrs`` hold ``source`` (the path), ``format``, ``row_offset``
    (added to a 0-based position to give the row a user sees: 2 for CSV, whose header is
    row 1; 1 for other formats), ``value_labels`` (``{variable: {code: label}}``, empty for
    CSV and Parquet) and ``variable_labels``.
    """
    path = Path(path)
    source = str(path)
    kind = _reader_kind(path)
    if kind is None:
        raise InputError(
            source,
            f"unsupported file type {''.join(path.suffixes) or '(none)'!r}; "
            f"expected one of {sorted(READERS)}",
        )
    if not path.is_file():
        raise InputError(source, "data file not found")
    value_labels: dict[str, dict[Any, str]] = {}
    variable_labels: dict[str, str | None] = {}  # SPSS and Stata may leave a label out
    user_missing: dict[str, list[tuple[float, float]]] = {}
    try:
        if kind == "csv":
            frame = pd.read_csv(
                path, dtype=str, keep_default_na=False, na_values=[""], encoding=encoding
            )
        elif kind == "parquet":
            frame = pd.read_parquet(path)
            for col in frame.columns:
                if isinstance(frame[col].dtype, pd.CategoricalDtype):
                    frame[col] = frame[col].astype(object)
        else:
            import pyreadstat

            if kind == "sav":
                frame, meta = pyreadstat.read_sav(
                    str(path), apply_value_formats=False, user_missing=True
                )
            else:
                frame, meta = pyreadstat.read_dta(str(path), apply_value_formats=False)
            value_labels = {
                v: dict(labels) for v, labels in (meta.variable_value_labels or {}).items()
            }
            user_missing = {
                v: [(float(r["lo"]), float(r["hi"])) for r in ranges]
                for v, ranges in (getattr(meta, "missing_ranges", None) or {}).items()
                if all(isinstance(r.get("lo"), (int, float)) for r in ranges)
            }
            variable_labels = dict(zip(meta.column_names, meta.column_labels or []))
    except UnicodeDecodeError as err:
        raise InputError(
            source, f"cannot decode the file as {encoding}: {err}; pass encoding= (e.g. 'cp1252')"
        ) from None
    except (InputError, MemoryError):
        raise
    except Exception as err:  # noqa: BLE001 - readers raise many types; name the file
        raise InputError(source, f"cannot read the {kind} file: {err}") from None
    frame.attrs.update(
        source=source,
        format=kind,
        row_offset=2 if kind == "csv" else 1,
        value_labels=value_labels,
        variable_labels=variable_labels,
        user_missing=user_missing,
    )
    return frame
