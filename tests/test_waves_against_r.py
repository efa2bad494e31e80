"""A provider's wave with item non-response, refusals and absent variables, read through one
codebook, gives R's survey package's estimates (fixtures made by tests/fixtures/r_waves).

The file carries six items of three survey families, has no NS-SEC, tenure, economic status
or language variable, and holds "don't know" and "refused" codes in items and demographics.
It is read as SPSS (with -8/-9 declared user-missing), Stata and CSV; every London, group,
Inner/Outer and borough figure of every measure it feeds must equal R's to 1e-6, with R's
degrees of freedom (the domain's respondents) and R's part-minus-whole p-values.
"""

from __future__ import annotations

import shutil
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from rcheck import assert_rerun_matches, read_expected

from analysis import geography, measures, pipeline, schemas
from analysis.sdc import DisclosureRules
from analysis.sources import waves

FIXTURES = Path(__file__).parent / "fixtures" / "r_waves"
TOL = 1e-6
PERIOD = "2019/20"
ITEM_VARS = ("rely", "orgm", "belong", "getonw", "trust", "volun")
LABELS = {
    "sex": {1: "Male", 2: "Female"},
    "ethnic": {
        1: "White",
        2: "Mixed",
        3: "Indian",
        4: "Pakistani or Bangladeshi",
        5: "Black",
        6: "Other",
        8: "Refused",
    },
    "disab": {1: "Disabled", 2: "Not disabled", -8: "Don't know"},
    **{v: {1: "Yes", 2: "No", -8: "Don't know", -9: "Refused"} for v in ITEM_VARS},
}
ABSENT_BREAKDOWNS = ("nssec", "tenure", "econ_status", "language")


@lru_cache(maxsize=1)
def provider_file() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "wave_sample.csv")


def expected() -> pd.DataFrame:
    return read_expected(FIXTURES / "expected.csv")


def write_wave(tmp_path: Path, ext: str) -> Path:
    frame = provider_file()
    path = tmp_path / f"lssi_wave1{ext}"
    if ext == ".sav":
        missing = {v: [-8, -9] for v in ITEM_VARS} | {"age": [-9], "disab": [-8]}
        pyreadstat.write_sav(frame, str(path), variable_value_labels=LABELS, missing_ranges=missing)
    elif ext == ".dta":
        pyreadstat.write_dta(frame, str(path), variable_value_labels=LABELS)
    else:
        shutil.copy(FIXTURES / "wave_sample.csv", path)
    return path


@lru_cache(maxsize=4)
def detail_for(ext: str, tmp: str) -> pd.DataFrame:
    inputs = waves.add_waves(
        pipeline.Inputs(), [(write_wave(Path(tmp), ext), FIXTURES / "codebook.yaml")]
    )
    return pipeline.compute(inputs, rules=DisclosureRules(0, 0)).detail


def _measure_of(item: str) -> str:
    (m,) = [m for m in measures.registry() if m.is_survey and item in m.items()]
    return m.id


def _column(breakdown: str, group: str) -> tuple[str, str, str]:
    """(area_code, breakdown, group) of the estimates row R's row stands for."""
    if breakdown == "all":
        return geography.LONDON_CODE, "all", "all"
    if breakdown == "inner_outer":
        code = geography.INNER_LONDON_CODE if group == "Inner" else geography.OUTER_LONDON_CODE
        return code, "all", "all"
    if breakdown == "borough":
        return group, "all", "all"
    return geography.LONDON_CODE, breakdown, group


@pytest.mark.parametrize("ext", [".sav", ".dta", ".csv"])
def test_estimates_equal_r_survey(tmp_path_factory, ext) -> None:
    detail = detail_for(ext, str(tmp_path_factory.mktemp(ext.strip("."))))
    detail = detail[detail["period"] == PERIOD].set_index(
        ["measure_id", "area_code", "breakdown", "group"]
    )
    exp = expected()
    assert len(exp) == 180
    for r in exp.itertuples():
        area, breakdown, group = _column(r.breakdown, r.group)
        row = detail.loc[(_measure_of(r.item), area, breakdown, group)]
        assert row["unweighted_base"] == r.n, r
        got = (row["value"] / 100, row["se"] / 100, row["lower_ci"] / 100, row["upper_ci"] / 100)
        assert got == pytest.approx((r.estimate, r.se, r.lower, r.upper), abs=TOL), r
        if r.breakdown != "all":
            assert row["p_vs_london"] == pytest.approx(r.p_vs_all, abs=TOL), r


def test_degrees_of_freedom_are_those_of_the_respondents() -> None:
    """The choice matters in this file: every respondent of one PSU left volunteering
    unanswered, so London's figure has one degree of freedom less than the design."""
    from analysis import survey

    frame = waves.load_wave(FIXTURES / "wave_sample.csv", FIXTURES / "codebook.yaml").frames[
        "taking_part"
    ]
    design = survey.Design.from_frame(frame)
    y = frame["volunteered"].to_numpy(float)
    codes = pd.Categorical(frame["ethnic_group"], categories=schemas.LEVELS["ethnic_group"]).codes
    res = survey.domain_means(design, y, [(codes, 6)])
    exp = expected().query("item == 'volunteered' and breakdown in ['all', 'ethnic_group']")
    assert list(res.df) == exp["df"].tolist()
    assert design.df == 66 and res.df[0] == 65
    assert (exp["df"] <= exp["df_whole_domain"]).all() and (
        exp["df"] < exp["df_whole_domain"]
    ).any()


def test_refusals_stay_in_london_and_leave_only_their_breakdown(tmp_path) -> None:
    detail = detail_for(".csv", str(tmp_path))
    london = detail[
        (detail.measure_id == "volunteering") & (detail.area_code == geography.LONDON_CODE)
    ]
    whole = london[london.breakdown == "all"]["unweighted_base"].iloc[0]
    answered = provider_file()["volun"].isin([1, 2])
    assert whole == answered.sum()  # every respondent who answered, whatever their ethnic group
    by_ethnicity = london[london.breakdown == "ethnic_group"]["unweighted_base"].sum()
    refused = (provider_file()["ethnic"] == 8) & answered
    assert refused.sum() > 0 and by_ethnicity == whole - refused.sum()


def test_absent_breakdowns_and_items_have_no_rows(tmp_path) -> None:
    results = pipeline.compute(
        waves.add_waves(
            pipeline.Inputs(), [(write_wave(tmp_path, ".csv"), FIXTURES / "codebook.yaml")]
        )
    )
    est = results.estimates
    assert not est["breakdown"].isin(ABSENT_BREAKDOWNS).any()
    assert not results.changes["breakdown"].isin(ABSENT_BREAKDOWNS).any()
    # friends_similar's four items and good_place_to_live are declared absent: no figure at all
    assert not est["measure_id"].isin(["friends_similar", "good_place_to_live"]).any()
    assert {"friends_similar", "good_place_to_live"} <= set(results.skipped)
    fed = {
        "social_isolation",
        "associational_membership",
        "belonging",
        "get_on_well",
        "neighbourhood_trust",
        "volunteering",
    }
    assert set(est["measure_id"]) == fed
    # a real build: the survey's own name is the source, and nothing is synthetic
    assert (est["source"] == f"London Survey of Social Integration ({PERIOD})").all()
    assert not est["synthetic"].any()


def test_fixtures_are_what_r_computes(tmp_path) -> None:
    """Where R and its survey package are installed, rerun the reference script and compare."""
    assert_rerun_matches(
        FIXTURES,
        tmp_path,
        inputs=["wave_sample.csv"],
        outputs=["expected.csv"],
        packages=["survey"],
    )
    assert np.isfinite(read_expected(tmp_path / "expected.csv")["estimate"]).all()
