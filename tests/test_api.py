"""The researcher API (analysis.api.estimate): the build's own figures for one-way cuts, R's
survey package for a two-way cut (tests/fixtures/r_api) and for waves added by codebook
(tests/fixtures/r_waves), and the build's disclosure rules."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import api, geography, pipeline, schemas
from analysis.sdc import DisclosureRules

FIXTURES = Path(__file__).parent / "fixtures"
R_API = FIXTURES / "r_api"
R_WAVES = FIXTURES / "r_waves"
TOL = 1e-6
COMPARED = ["value", "lower_ci", "upper_ci", "unweighted_base", "flag", "flag_reason"]


def _as_written(frame: pd.DataFrame) -> pd.DataFrame:
    """The compared columns as estimates.csv writes them (10 significant digits)."""
    out = frame[COMPARED].copy()
    for col in ("value", "lower_ci", "upper_ci"):
        out[col] = [("" if np.isnan(v) else f"{v:.10g}") for v in out[col].astype(float)]
    out["unweighted_base"] = out["unweighted_base"].astype("Int64").astype(str)
    return out.reset_index(drop=True)


def _build_rows(estimates: pd.DataFrame, indicator: str, **where: str) -> pd.DataFrame:
    rows = estimates[(estimates["indicator"] == indicator) & (estimates["method"] == "direct")]
    for col, value in where.items():
        rows = rows[rows[col] == value]
    return rows


@pytest.mark.parametrize(
    ("name", "indicator", "by"),
    [
        ("volunteering", "volunteering", "age_band"),
        ("volunteering", "volunteering", "nssec"),
        ("volunteered", "volunteering", "tenure"),  # the item by its own name
        ("english_proficiency", "english_proficiency", "sex"),  # a measure with a universe
        ("employment_gap", "employment_rate", "disability"),  # a gap measure: its group rates
        ("friends_similar_ethnicity", "friends_similar_ethnicity", "ethnic_group"),  # an indicator
    ],
)
def test_one_way_cuts_are_the_rows_of_estimates_csv(demo_results, name, indicator, by) -> None:
    got = api.estimate(name, by=by)
    want = _build_rows(
        demo_results.estimates, indicator, area_code=geography.LONDON_CODE, breakdown=by
    )
    assert len(got) == len(want) > 0
    assert list(got["period"]) == list(want["period"])
    assert list(got[by]) == list(want["group"])
    pd.testing.assert_frame_equal(_as_written(got), _as_written(want))


def test_whole_london_boroughs_and_inner_outer_are_the_build_rows(demo_results) -> None:
    e = demo_results.estimates
    overall = api.estimate("get_on_well", period="2018/19")
    want = _build_rows(
        e, "get_on_well", area_code=geography.LONDON_CODE, breakdown="all", period="2018/19"
    )
    pd.testing.assert_frame_equal(_as_written(overall), _as_written(want))

    boroughs = api.estimate("get_on_well", by="borough", period="2018/19")
    codes = boroughs["borough"].map(geography.to_code)
    want = _build_rows(e, "get_on_well", breakdown="all", period="2018/19").set_index("area_code")
    pd.testing.assert_frame_equal(_as_written(boroughs), _as_written(want.loc[codes]))

    camden = api.estimate("get_on_well", area="Camden", period="2018/19")
    assert camden["area_name"].tolist() == ["Camden"]
    pd.testing.assert_frame_equal(_as_written(camden), _as_written(want.loc[["E09000007"]]))

    halves = api.estimate("get_on_well", by="inner_outer", period="2018/19")
    assert halves["inner_outer"].tolist() == ["Inner London", "Outer London"]
    pd.testing.assert_frame_equal(
        _as_written(halves),
        _as_written(want.loc[[geography.INNER_LONDON_CODE, geography.OUTER_LONDON_CODE]]),
    )


def test_pooled_waves_are_the_build_pooled_borough_rows(demo_results) -> None:
    got = api.estimate("employment_gap", by="borough", period=["2016", "2014", "2015"])
    assert set(got["period"]) == {"2014-2016"}
    want = _build_rows(
        demo_results.estimates, "employment_rate", period="2014-2016", breakdown="all"
    ).set_index("area_code")
    codes = got["borough"].map(geography.to_code)
    pd.testing.assert_frame_equal(_as_written(got), _as_written(want.loc[codes]))


def _r_api_inputs() -> pipeline.Inputs:
    """The R fixture's sample as canonical microdata of the Taking Part family."""
    sample = pd.read_csv(R_API / "sample.csv", keep_default_na=False, na_values=[""])
    frame = sample.assign(
        respondent_id=[str(i) for i in range(len(sample))],
        period="2018/19",
        borough=geography.CITY_OF_LONDON_CODE,  # one value: the cut is not by area
        **{v: None for v in schemas.LEVELS if v not in sample},
    )
    return pipeline.Inputs(surveys={"taking_part": frame})


def test_two_way_breakdown_agrees_with_r() -> None:
    expected = pd.read_csv(R_API / "expected.csv")
    got = api.estimate("volunteering", by=["age_band", "sex"], source=_r_api_inputs())
    assert len(got) == len(expected) == 12
    merged = got.merge(expected, on=["age_band", "sex"], validate="one_to_one")
    assert merged["value"].to_numpy() / 100 == pytest.approx(merged["estimate"], abs=TOL)
    assert merged["se_x"].to_numpy() / 100 == pytest.approx(merged["se_y"], abs=TOL)
    assert merged["lower_ci"].to_numpy() / 100 == pytest.approx(merged["lower"], abs=TOL)
    assert merged["upper_ci"].to_numpy() / 100 == pytest.approx(merged["upper"], abs=TOL)
    assert (merged["df_x"] == merged["df_y"]).all()  # each cell's own degrees of freedom
    assert (merged["unweighted_base"] == merged["n"]).all()
    assert not got["synthetic"].any()  # an Inputs not marked synthetic


def test_r_api_fixture_is_what_r_computes(tmp_path) -> None:
    """Where R and its survey package are installed, rerun the reference script and compare."""
    rscript = shutil.which("Rscript")
    if (
        rscript is None
        or subprocess.run([rscript, "-e", "library(survey)"], capture_output=True).returncode != 0
    ):
        pytest.skip(
            "R with the survey package is not installed (apt-get install r-base-core r-cran-survey)"
        )
    for name in ("sample.csv", "reference.R"):
        shutil.copy(R_API / name, tmp_path / name)
    subprocess.run([rscript, "reference.R"], cwd=tmp_path, check=True, capture_output=True)
    fresh = pd.read_csv(tmp_path / "expected.csv")
    pd.testing.assert_frame_equal(fresh, pd.read_csv(R_API / "expected.csv"), rtol=1e-12)


def test_waves_added_by_codebook_from_a_folder_agree_with_r(tmp_path) -> None:
    shutil.copy(R_WAVES / "wave_sample.csv", tmp_path / "lssi_2019.csv")
    shutil.copy(R_WAVES / "codebook.yaml", tmp_path / "lssi_2019.yaml")
    got = api.estimate("no_one_to_rely_on", by="age_band", source=tmp_path)
    assert got["period"].unique().tolist() == ["2019/20"]
    assert got["measure_id"].isna().all() and (got["indicator"] == "no_one_to_rely_on").all()
    expected = pd.read_csv(R_WAVES / "expected.csv", keep_default_na=False, na_values=[""])
    want = expected[
        (expected["item"] == "no_one_to_rely_on") & (expected["breakdown"] == "age_band")
    ]
    assert list(got["age_band"]) == list(want["group"])
    assert got["value"].to_numpy() / 100 == pytest.approx(want["estimate"].to_numpy(), abs=TOL)
    assert got["se"].to_numpy() / 100 == pytest.approx(want["se"].to_numpy(), abs=TOL)
    assert got["lower_ci"].to_numpy() / 100 == pytest.approx(want["lower"].to_numpy(), abs=TOL)
    assert got["upper_ci"].to_numpy() / 100 == pytest.approx(want["upper"].to_numpy(), abs=TOL)
    assert list(got["unweighted_base"]) == list(want["n"])
    # the same wave given as a (wave, codebook) pair
    pairs = api.estimate(
        "no_one_to_rely_on",
        by="age_band",
        source=[(tmp_path / "lssi_2019.csv", tmp_path / "lssi_2019.yaml")],
    )
    pd.testing.assert_frame_equal(pairs, got)


def test_small_cells_are_flagged_and_blanked_as_the_build_does() -> None:
    rules = DisclosureRules()
    got = api.estimate(
        "volunteering", by=["ethnic_group", "age_band", "sex", "tenure"], period="2018/19"
    )
    assert len(got) == 6 * 6 * 2 * 3
    base = got["unweighted_base"].to_numpy(dtype=float)
    assert list(got["flag"]) == list(rules.flags(base))
    assert {"[c]", "[u]"} <= set(got["flag"])  # the cross is fine enough to have both
    hidden = got["flag"].isin(["[c]", "[x]"])
    assert got.loc[hidden, ["value", "lower_ci", "upper_ci", "se"]].isna().all().all()
    assert got.loc[~hidden, "value"].notna().all()
    assert set(got.loc[got["flag"] == "[c]", "flag_reason"]) == {"primary"}
    assert set(got.loc[got["flag"] == "[u]", "flag_reason"]) == {"small base"}
    # other thresholds, as the build can be given
    strict = api.estimate(
        "volunteering", by="age_band", period="2018/19", rules=DisclosureRules(300, 400)
    )
    assert list(strict["flag"]) == list(DisclosureRules(300, 400).flags(strict["unweighted_base"]))


def test_result_columns_are_tidy() -> None:
    got = api.estimate("volunteering", by=["age_band", "sex"], period="2018/19")
    assert list(got.columns) == [
        *api.RESULT_COLUMNS[:6],
        "age_band",
        "sex",
        *api.RESULT_COLUMNS[6:],
    ]
    assert got[["age_band", "sex"]].drop_duplicates().shape[0] == 12
    assert got["synthetic"].all() and (got["unit"] == "%").all()
    assert (got["lower_ci"] <= got["value"]).all() and (got["value"] <= got["upper_ci"]).all()


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (dict(measure_or_item="volunteerin"), KeyError, "volunteering"),
        (dict(measure_or_item="hate_crime"), ValueError, "estimates.csv"),
        (
            dict(measure_or_item="employment_gap_sex"),
            ValueError,
            "estimate 'employment_gap' by 'sex'",
        ),
        (dict(measure_or_item="volunteering", by=["age"]), ValueError, "unknown \\['age'\\]"),
        (dict(measure_or_item="volunteering", by=["sex", "sex"]), ValueError, "each variable once"),
        (dict(measure_or_item="get_on_well", by="borough", area="Camden"), ValueError, "area"),
        (dict(measure_or_item="get_on_well", area="Camdn"), geography.UnknownAreaError, "Camden"),
        (dict(measure_or_item="volunteering", period="2030/31"), ValueError, "no wave"),
        (dict(measure_or_item="volunteering", source="nowhere"), FileNotFoundError, "codebooks"),
    ],
)
def test_clear_errors(call, error, message) -> None:
    with pytest.raises(error, match=message):
        api.estimate(**call)


def test_importing_the_package_and_the_api_has_no_side_effects() -> None:
    """``import analysis`` imports nothing else, and the API does not bring in matplotlib (a
    researcher's own charts keep their backend)."""
    code = (
        "import sys, analysis\n"
        "assert not [m for m in sys.modules if m.startswith('analysis.')], 'package imports'\n"
        "import analysis.api\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])
