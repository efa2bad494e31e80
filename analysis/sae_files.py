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
    stem = (
        data_folder(data_dir)
        / "modelled"
        / f"{measure_id}__{indicator}__{period.replace('/', '-')}"
    )
    csv, meta = stem.with_suffix(".csv"), stem.with_suffix(".json")
    if not csv.exists() or not meta.exists():
        return None
    return _read_model(str(csv.resolve()), csv.stat().st_mtime)


@lru_cache(maxsize=256)
def _read_model(csv: str, mtime: float) -> tuple[pd.DataFrame, dict]:
    table = pd.read_csv(csv, dtype={"area_code": str, "change_direction": str})
    meta = json.loads(Path(csv).with_suffix(".json").read_text(encoding="utf-8"))
    return table, meta


__all__ = ["data_folder", "model_files", "modelled_rows"]
