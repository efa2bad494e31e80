"""The small area models' files of a build, read once per file version: the modelled rows of
``estimates.csv`` and each model's table and description under ``modelled/``."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pandas as pd

from analysis import pipeline
from analysis.report import DEFAULT_DATA_DIR
from analysis.sae.boroughs import METHOD_MODELLED


def data_folder(data_dir: str | Path | None) -> Path:
    return Path(data_dir) if data_dir else DEFAULT_DATA_DIR


@lru_cache(maxsize=4)
def _modelled_rows(path: str, mtime: float) -> pd.DataFrame:
    e = pipeline.read_estimates(Path(path), modelled=True)
    if "method" not in e:  # written before modelled figures existed
        return e.iloc[0:0]
    return e[e["method"] == METHOD_MODELLED].reset_index(drop=True)


def modelled_rows(data_dir: str | Path | None = None) -> pd.DataFrame:
    """The modelled rows of a build's ``estimates.csv`` (empty if it has none)."""
    target = data_folder(data_dir) / "estimates.csv"
    if not target.exists():
        return pd.DataFrame(columns=["measure_id", "indicator", "period", "area_code", "method"])
    return _modelled_rows(str(target.resolve()), target.stat().st_mtime)


def model_files(
    data_dir: str | Path | None, measure_id: str, indicator: str, period: str
) -> tuple[pd.DataFrame, dict] | None:
    """One model's table and description, or None when the build wrote none."""
    csv = _model_csv(data_dir, measure_id, indicator, period)
    return None if csv is None else _read_model(str(csv.resolve()), csv.stat().st_mtime)


def model_row(
    data_dir: str | Path | None, measure_id: str, indicator: str, period: str, area_code: str
) -> tuple[pd.Series, dict] | None:
    """One area's row of a model's table and the model's description (None when the build
    wrote no model or its table has no row for the area)."""
    csv = _model_csv(data_dir, measure_id, indicator, period)
    if csv is None:
        return None
    rows, meta = _rows_by_area(str(csv.resolve()), csv.stat().st_mtime)
    return (rows[area_code], meta) if area_code in rows else None


def _model_csv(
    data_dir: str | Path | None, measure_id: str, indicator: str, period: str
) -> Path | None:
    stem = (
        data_folder(data_dir)
        / "modelled"
        / f"{measure_id}__{indicator}__{period.replace('/', '-')}"
    )
    csv, meta = stem.with_suffix(".csv"), stem.with_suffix(".json")
    return csv if csv.exists() and meta.exists() else None


@lru_cache(maxsize=256)
def _rows_by_area(csv: str, mtime: float) -> tuple[dict[str, pd.Series], dict]:
    """A model table's first row for each area, by code: each borough page looks up its own
    row in every model's table."""
    table, meta = _read_model(csv, mtime)
    first = table.drop_duplicates("area_code")
    return {code: first.iloc[i] for i, code in enumerate(first["area_code"])}, meta


@lru_cache(maxsize=256)
def _read_model(csv: str, mtime: float) -> tuple[pd.DataFrame, dict]:
    table = pd.read_csv(csv, dtype={"area_code": str, "change_direction": str})
    meta = json.loads(Path(csv).with_suffix(".json").read_text(encoding="utf-8"))
    return table, meta


__all__ = ["data_folder", "model_files", "model_row", "modelled_rows"]
