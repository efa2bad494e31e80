"""Bad inputs stop with an error naming the file, row and column; nothing is written."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import pipeline, schemas
from analysis.sources import demo
from analysis.validate import InputError


@pytest.fixture(scope="module")
def wave() -> pd.DataFrame:
    return demo.survey_wave("taking_part", "2016/17").reset_index(drop=True)


def _expect(frame: pd.DataFrame, family: str, row: int, column: str, text: str) -> None:
    with pytest.raises(InputError) as err:
        schemas.validate_survey(frame, family, source="wave.csv")
    msg = str(err.value)
    assert msg.startswith("wave.csv"), msg
    assert f"row {row}" in msg and f"column '{column}'" in msg and text in msg, msg


def test_clean_wave_passes(wave) -> None:
    out = schemas.validate_survey(wave, "taking_part")
    assert len(out) == len(wave)


def test_missing_column_lists_expected_and_found(wave) -> None:
    with pytest.raises(InputError, match=r"wave\.csv: missing column\(s\) \['weight'\]"):
        schemas.validate_survey(wave.drop(columns="weight"), "taking_part", source="wave.csv")


def test_non_numeric_weight(wave) -> None:
    bad = wave.astype({"weight": object})
    bad.loc[3, "weight"] = "heavy"
    _expect(bad, "taking_part", 5, "weight", "expected a number")


@pytest.mark.parametrize("value", [0.0, -2.5])
def test_weights_must_be_positive(wave, value) -> None:
    bad = wave.copy()
    bad.loc[10, "weight"] = value
    _expect(bad, "taking_part", 12, "weight", "out of range")


def test_unknown_code(wave) -> None:
    bad = wave.copy()
    bad.loc[0, "ethnic_group"] = "Martian"
    _expect(bad, "taking_part", 2, "ethnic_group", "unknown code 'Martian'")


def test_unknown_borough_code(wave) -> None:
    bad = wave.copy()
    bad.loc[7, "borough"] = "E09000099"
    _expect(bad, "taking_part", 9, "borough", "Unknown London area")


def test_item_must_be_zero_or_one(wave) -> None:
    bad = wave.copy()
    bad.loc[4, "volunteered"] = 0.5
    _expect(bad, "taking_part", 6, "volunteered", "expected 0 or 1")
    bad.loc[4, "volunteered"] = 2
    _expect(bad, "taking_part", 6, "volunteered", "out of range")


def test_duplicate_respondents(wave) -> None:
    bad = pd.concat([wave, wave.iloc[[3]]], ignore_index=True)
    _expect(bad, "taking_part", len(wave) + 2, "period,respondent_id", "duplicate key")


def test_missing_design_value(wave) -> None:
    bad = wave.copy()
    bad.loc[2, "psu"] = np.nan
    _expect(bad, "taking_part", 4, "psu", "missing value")


def test_admin_tables_are_checked() -> None:
    table = demo.admin_tables()["gcse"].copy()
    table.loc[5, "pupils_achieving"] = table.loc[5, "pupils"] + 1
    with pytest.raises(
        InputError, match=r"gcse\.csv, row 7, column 'pupils_achieving': .*exceeds pupils"
    ):
        schemas.validate_admin(table, "gcse", source="gcse.csv")
    table = demo.admin_tables()["electoral"].copy()
    table.loc[0, "adults"] = 0
    with pytest.raises(InputError, match="row 2, column 'adults': denominator must be positive"):
        schemas.validate_admin(table, "electoral", source="electoral.csv")
    table = demo.admin_tables()["electoral"].astype({"year": float})
    table.loc[1, "year"] = 2016.5
    with pytest.raises(InputError, match="column 'year': expected a whole number"):
        schemas.validate_admin(table, "electoral")
    table = pd.concat([demo.admin_tables()["electoral"]] * 2, ignore_index=True)
    with pytest.raises(InputError, match="duplicate key"):
        schemas.validate_admin(table, "electoral")


def test_bad_input_writes_nothing(tmp_path, demo_inputs) -> None:
    broken = pipeline.Inputs(
        surveys=dict(demo_inputs.surveys), admin=dict(demo_inputs.admin), synthetic=True
    )
    bad = broken.surveys["pas"].copy()
    bad.loc[bad.index[100], "sex"] = "Unknown"
    broken.surveys["pas"] = bad
    with pytest.raises(InputError, match="pas survey, row 101, column 'sex'"):
        results = pipeline.compute(pipeline.validate_inputs(broken))
        pipeline.write_results(results, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_borough_names_and_aliases_become_codes(wave) -> None:
    named = wave.copy()
    named["borough"] = (
        named["borough"]
        .map({"E09000020": "Kensington & Chelsea", "E09000001": "City"})
        .fillna(named["borough"])
    )
    out = schemas.validate_survey(named, "taking_part")
    assert out["borough"].tolist() == wave["borough"].tolist()
    bad = wave.copy()
    bad.loc[6, "borough"] = "Westmnster"
    with pytest.raises(
        InputError, match=r"wave\.csv, row 8, column 'borough': .*Did you mean: Westminster"
    ):
        schemas.validate_survey(bad, "taking_part", source="wave.csv")
    bad.loc[6, "borough"] = "Inner London"
    with pytest.raises(InputError, match="aggregate, not a borough"):
        schemas.validate_survey(bad, "taking_part", source="wave.csv")
