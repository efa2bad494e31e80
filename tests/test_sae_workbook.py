"""Modelled borough figures in the spreadsheet: a sheet of their own, marked as modelled,
with intervals and root mean squared errors, and never among the direct estimates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import pipeline, workbook


def _sheet(path, name: str) -> pd.DataFrame:
    raw = pd.read_excel(path, sheet_name=name, header=None)
    header = int(np.flatnonzero(raw[0].astype(str) == "Measure")[0])
    return pd.read_excel(path, sheet_name=name, header=header)


@pytest.fixture(scope="module")
def book(demo_results, tmp_path_factory):
    out = tmp_path_factory.mktemp("workbook")
    pipeline.write_results(demo_results, out, parquet=False)
    # as the build reads it back: estimates.csv with its modelled rows
    estimates = pipeline.read_estimates(out / "estimates.csv", modelled=True)
    workbook.write(estimates, out / "estimates.xlsx", synthetic=True)
    return out / "estimates.xlsx", estimates


def test_modelled_rows_have_their_own_sheet_with_intervals_and_rmse(book, demo_results) -> None:
    path, estimates = book
    sheet = _sheet(path, "Modelled")
    modelled = estimates[estimates["method"] == "modelled"]
    assert len(sheet) == len(modelled) == 33 * len(demo_results.models)
    assert (sheet["Estimate type"] == "modelled (small area estimate)").all()
    assert (sheet["Lower 95% CI"] <= sheet["Value"]).all()
    assert (sheet["Value"] <= sheet["Upper 95% CI"]).all()
    mdl = demo_results.models[0]
    d = mdl.direct
    mine = sheet[(sheet["Indicator"] == d.indicator) & (sheet["Period"].astype(str) == d.period)]
    assert mine["Area code"].tolist() == mdl.table["area_code"].tolist()
    assert mine["Root mean squared error"].to_numpy() == pytest.approx(
        np.sqrt(mdl.table["mse"].to_numpy()), abs=1e-3
    )
    assert mine["Value"].to_numpy() == pytest.approx(mdl.table["eblup"].to_numpy(), abs=0.006)


def test_domain_sheets_hold_direct_estimates_only(book) -> None:
    path, estimates = book
    names = pd.ExcelFile(path).sheet_names
    domains = [n for n in names if n not in ("Cover", "Contents", "Modelled")]
    total = sum(len(_sheet(path, n)) for n in domains)
    assert total == int((estimates["method"] != "modelled").sum())


def test_a_workbook_without_modelled_rows_has_no_modelled_sheet(book, tmp_path) -> None:
    _, estimates = book
    workbook.write(
        estimates[estimates["method"] != "modelled"], tmp_path / "e.xlsx", synthetic=True
    )
    assert "Modelled" not in pd.ExcelFile(tmp_path / "e.xlsx").sheet_names
