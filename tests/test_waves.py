"""Codebook-driven ingestion of new survey waves (analysis.sources.waves).

A synthetic demo wave is disguised as a provider's file (provider variable names, numeric
codes with value labels, age in years, -9 for refused), written as SPSS, Stata, CSV and
Parquet, and read back through a codebook: the canonical frame and the estimates must be
exactly those of the original wave.

Then a real survey's file (tests/fixtures/r_waves: six items of three families, absent
variables, refusals, SPSS user-missing codes) goes through the whole route: one codebook,
a real series, the headline when a wave lacks an item, and each abuse case stopping the
build with one message and nothing written. Its estimates are checked against R in
tests/test_waves_against_r.py.
"""

from __future__ import annotations

import textwrap
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
import yaml

from analysis import geography, measures, pipeline, schemas
from analysis.sources import demo, waves
from analysis.sources.waves.codebook import _Loader
from analysis.validate import InputError

PERIOD = "2016/17"

# canonical item -> provider variable
ITEM_VARS = {
    "friends_same_age": "scfrda",
    "friends_same_ethnicity": "scfrdb",
    "friends_same_income": "scfrdc",
    "friends_same_education": "scfrdd",
    "no_one_to_rely_on": "scsrely",
    "org_member": "orgm",
    "belongs_neighbourhood": "scopngbhb",
}
# canonical demographic -> (provider variable, {code: level})
CODED = {
    "sex": ("sex", {1: "Male", 2: "Female"}),
    "ethnic_group": (
        "racel_dv",
        {i + 1: lev for i, lev in enumerate(schemas.LEVELS["ethnic_group"])},
    ),
    "disability": ("health", {1: "Disabled", 2: "Not disabled"}),
    "nssec": ("jbnssec4_dv", {i + 1: lev for i, lev in enumerate(schemas.LEVELS["nssec"])}),
    "language": ("lang", {1: "English", 2: "Other than English"}),
}
TENURE_LABELS = {
    1: "Owned outright or with a mortgage",
    2: "Rented from council or housing association",
    3: "Rented privately",
}
TENURE_LEVEL = {1: "Owner occupier", 2: "Social rent", 3: "Private rent"}
JBSTAT_LABELS = {
    1: "Self employed",
    2: "In paid employment",
    3: "Unemployed",
    4: "Retired or other inactive",
}
AGE_RANGES = {
    "16-24": (16, 24),
    "25-34": (25, 34),
    "35-44": (35, 44),
    "45-54": (45, 54),
    "55-64": (55, 64),
    "65+": (65, 94),
}
N_OTHER_REGIONS = 40  # non-London rows the filter must drop

CODEBOOK = textwrap.dedent("""\
    # Understanding Society-like wave, London subsample (test fixture)
    family: ukhls
    period: "2016/17"
    description: Provider-like file made from the synthetic demo wave.
    filter:
      keep: {variable: gor_dv, values: [7]}
    variables:
      respondent_id: pidp
      stratum: strata
      psu: psu_id
      weight: {variable: indinub_xw, note: cross-sectional individual weight}
      borough: la_name
      age_band: {variable: dvage, from_age: true}
      sex: {variable: sex, values: {1: Male, 2: Female}}
      ethnic_group:
        variable: racel_dv
        values: {1: White, 2: Mixed, 3: Indian, 4: Pakistani/Bangladeshi, 5: Black, 6: Other}
      disability: {variable: health, values: {1: Disabled, 2: Not disabled}}
      nssec:
        variable: jbnssec4_dv
        values:
          1: Managerial and professional
          2: Intermediate
          3: Routine and manual
          4: Never worked, unemployed or student
      tenure:   # by label: fits the SPSS/Stata codes and the label text of the CSV export
        variable: tenure_dv
        values:
          Owned outright or with a mortgage: Owner occupier
          Rented from council or housing association: Social rent
          Rented privately: Private rent
      econ_status: {variable: jbstat, values: {1: Employed, 2: Employed, 3: Unemployed, 4: Inactive}}
      language: {variable: lang, values: {1: English, 2: Other than English}}
    """) + "".join(
    f"  {item}: {{variable: {var}, values: {{1: 1, 2: 0, -9: null}}}}\n"
    for item, var in ITEM_VARS.items()
)


@cache
def _original() -> pd.DataFrame:
    return demo.survey_wave("ukhls", PERIOD)


def original() -> pd.DataFrame:
    return _original().copy()


@cache
def _provider(labels_as_text: bool) -> pd.DataFrame:
    """The demo wave as a provider would deliver it, with non-London rows mixed in."""
    w = _original()
    rng = np.random.default_rng(2024)
    p = pd.DataFrame(
        {
            "pidp": w["respondent_id"].astype("int64"),
            "gor_dv": 7,
            "strata": w["stratum"],
            "psu_id": w["psu"],
            "indinub_xw": w["weight"],
        }
    )
    names = w["borough"].map(geography.name_of)
    names = names.replace({"Barking and Dagenham": "Barking & Dagenham", "City of London": "City"})
    p["la_name"] = names
    lo = w["age_band"].map(lambda b: AGE_RANGES[b][0]).to_numpy()
    hi = w["age_band"].map(lambda b: AGE_RANGES[b][1]).to_numpy()
    p["dvage"] = rng.integers(lo, hi + 1)
    for column, (var, codes) in CODED.items():
        p[var] = w[column].map({lev: c for c, lev in codes.items()}).astype("int64")
    tenure = w["tenure"].map({lev: c for c, lev in TENURE_LEVEL.items()}).astype("int64")
    p["tenure_dv"] = tenure.map(TENURE_LABELS) if labels_as_text else tenure
    employed = np.where(rng.random(len(w)) < 0.15, 1, 2)
    p["jbstat"] = np.select(
        [w["econ_status"] == "Employed", w["econ_status"] == "Unemployed"], [employed, 3], 4
    )
    for item, var in ITEM_VARS.items():
        p[var] = np.where(w[item].isna(), -9, np.where(w[item] == 1, 1, 2)).astype("int64")
    # rows from other regions, with values the codebook does not map: the filter drops them
    other = p.sample(N_OTHER_REGIONS, random_state=1).copy()
    other["pidp"] = 990000000 + np.arange(N_OTHER_REGIONS)
    other["gor_dv"], other["la_name"], other["dvage"], other["sex"] = 3, "Leeds", 12, 9
    where = np.sort(rng.choice(len(p) + N_OTHER_REGIONS, N_OTHER_REGIONS, replace=False))
    order = np.full(len(p) + N_OTHER_REGIONS, -1)
    order[where] = np.arange(N_OTHER_REGIONS) + len(p)
    order[order < 0] = np.arange(len(p))
    return pd.concat([p, other], ignore_index=True).iloc[order].reset_index(drop=True)


def provider(labels_as_text: bool = False) -> pd.DataFrame:
    return _provider(labels_as_text).copy()


def value_labels() -> dict[str, dict[int, str]]:
    labels = {var: dict(codes) for var, codes in CODED.values()}
    labels["tenure_dv"] = TENURE_LABELS
    labels["jbstat"] = JBSTAT_LABELS
    labels["gor_dv"] = {3: "Yorkshire and the Humber", 7: "London"}
    for var in ITEM_VARS.values():
        labels[var] = {1: "Yes", 2: "No", -9: "Refused"}
    return labels


def write(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".sav":
        pyreadstat.write_sav(
            frame,
            str(path),
            variable_value_labels=value_labels(),
            missing_ranges={var: [-9] for var in ITEM_VARS.values()},
        )
    elif path.suffix == ".dta":
        pyreadstat.write_dta(frame, str(path), variable_value_labels=value_labels())
    elif path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def write_wave(tmp_path: Path, ext: str, frame: pd.DataFrame | None = None) -> Path:
    if frame is None:
        frame = provider(labels_as_text=ext in (".csv", ".parquet"))
    return write(frame, tmp_path / f"ukhls_w8_london{ext}")


def write_codebook(tmp_path: Path, text: str = CODEBOOK, name: str = "ukhls_2016-17.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def isolation(frame: pd.DataFrame) -> pd.DataFrame:
    inputs = pipeline.Inputs(surveys={"ukhls": frame}, synthetic=True)
    return pipeline.compute(inputs, [measures.get("social_isolation")]).detail


@lru_cache(maxsize=1)
def original_isolation() -> pd.DataFrame:
    return isolation(original())


# ---------------------------------------------------------------------------------------
# Round trips


@pytest.mark.parametrize("ext", [".sav", ".dta", ".csv", ".parquet"])
def test_wave_file_maps_back_to_the_canonical_frame(tmp_path, ext) -> None:
    loaded = waves.load_wave(write_wave(tmp_path, ext), write_codebook(tmp_path))
    ((family, canonical),) = loaded.frames.items()
    assert family == "ukhls"
    pd.testing.assert_frame_equal(canonical, original(), check_exact=True)
    pd.testing.assert_frame_equal(isolation(canonical), original_isolation(), check_exact=True)


def test_spss_codes_are_read_with_labels_and_user_missing_kept(tmp_path) -> None:
    frame = waves.read_wave_file(write_wave(tmp_path, ".sav"))
    item = ITEM_VARS["no_one_to_rely_on"]
    assert (frame[item] == -9).sum() == original()["no_one_to_rely_on"].isna().sum()
    assert frame.attrs["value_labels"][item] == {1.0: "Yes", 2.0: "No", -9.0: "Refused"}
    assert frame.attrs["value_labels"]["tenure_dv"][3.0] == "Rented privately"
    assert frame.attrs["row_offset"] == 1 and frame.attrs["format"] == "sav"


def test_labels_yes_no_stay_text_and_labels_match_case_insensitively(tmp_path) -> None:
    # items mapped by their SPSS labels; `Yes`/`No` are labels, not YAML booleans
    text = CODEBOOK
    for var in ITEM_VARS.values():
        text = text.replace(
            f"{{variable: {var}, values: {{1: 1, 2: 0, -9: null}}}}",
            f"{{variable: {var}, values: {{Yes: 1, no: 0, REFUSED: null}}}}",
        )
    assert "Yes: 1" in text
    (canonical,) = waves.load_wave(
        write_wave(tmp_path, ".sav"), write_codebook(tmp_path, text)
    ).frames.values()
    pd.testing.assert_frame_equal(canonical, original())


def test_weight_scale_and_constant_stratum(tmp_path) -> None:
    p = provider(labels_as_text=True)
    p["indinub_xw"] = p["indinub_xw"] * 1000
    text = CODEBOOK.replace(
        "weight: {variable: indinub_xw, note: cross-sectional individual weight}",
        "weight: {variable: indinub_xw, scale: 0.001}",
    )
    (canonical,) = waves.load_wave(
        write(p, tmp_path / "w.parquet"), write_codebook(tmp_path, text)
    ).frames.values()
    pd.testing.assert_series_equal(
        canonical["weight"], original()["weight"], check_exact=False, rtol=1e-12
    )
    pd.testing.assert_frame_equal(
        isolation(canonical), original_isolation(), check_exact=False, rtol=1e-9
    )

    one_stratum = waves.apply_codebook(
        p,
        waves.parse_codebook(
            {
                **_codebook_dict(text),
                "variables": {**_codebook_dict(text)["variables"], "stratum": {"constant": 1}},
            }
        ),
    )
    assert set(one_stratum["stratum"]) == {"1"}


def _codebook_dict(text: str = CODEBOOK) -> dict:
    return yaml.load(text, Loader=_Loader)


def test_second_family_already_canonical_values_and_period_variable(tmp_path) -> None:
    """A taking_part CSV already holding canonical levels needs no `values` maps."""
    w = demo.survey_wave("taking_part", PERIOD)
    csv = w.rename(
        columns={
            "respondent_id": "serial",
            "stratum": "str",
            "psu": "psu",
            "weight": "wt",
            "borough": "lad",
            "volunteered": "vol",
        }
    ).drop(columns="period")
    csv["fyear"] = 2016
    csv["lad"] = (
        csv["lad"].str.lower().where(csv.index % 2 == 0, csv["lad"])
    )  # GSS codes and mixed case
    csv["sex"] = csv["sex"].str.upper()
    path = tmp_path / "tp.csv"
    csv.to_csv(path, index=False)
    book = {
        "family": "taking_part",
        "period_variable": {"variable": "fyear", "values": {2016: PERIOD}},
        "variables": {
            "respondent_id": "serial",
            "stratum": "str",
            "psu": "psu",
            "weight": "wt",
            "borough": "lad",
            **{v: v for v in schemas.LEVELS},
            "volunteered": "vol",
        },
    }
    out = waves.apply_codebook(waves.read_wave_file(path), book)
    pd.testing.assert_frame_equal(out, w)


def test_add_waves_appends_and_refuses_a_repeated_period(tmp_path) -> None:
    base = pipeline.Inputs(surveys={"ukhls": demo.survey_wave("ukhls", "2015/16")}, synthetic=True)
    data, book = write_wave(tmp_path, ".csv"), write_codebook(tmp_path)
    added = waves.add_waves(base, [(data, book)])
    assert sorted(added.surveys["ukhls"]["period"].unique()) == ["2015/16", PERIOD]
    assert len(added.surveys["ukhls"]) == len(base.surveys["ukhls"]) + len(original())
    assert base.surveys["ukhls"]["period"].unique().tolist() == [
        "2015/16"
    ]  # the input is not changed
    with pytest.raises(InputError, match=r"already has period\(s\) \['2016/17'\].*replace=True"):
        waves.add_waves(added, [("ukhls", original())])
    with pytest.raises(InputError, match="added twice"):
        waves.add_waves(base, [("ukhls", original()), ("ukhls", original())])
    replaced = waves.add_waves(added, [("ukhls", original())], replace=True)
    assert len(replaced.surveys["ukhls"]) == len(added.surveys["ukhls"])
    both = pipeline.compute(replaced, [measures.get("social_isolation")]).estimates
    assert set(both["period"]) == {"2015/16", PERIOD}


# ---------------------------------------------------------------------------------------
# Errors


def _london_rows(frame: pd.DataFrame) -> np.ndarray:
    return np.flatnonzero(frame["gor_dv"].to_numpy() == 7)


def test_variable_not_in_the_file(tmp_path) -> None:
    book = write_codebook(tmp_path, CODEBOOK.replace("borough: la_name", "borough: la_nam"))
    with pytest.raises(waves.WaveMismatchError) as info:
        waves.load_wave(write_wave(tmp_path, ".csv"), book)
    msg = str(info.value)
    assert "ukhls_w8_london.csv" in msg and "ukhls_2016-17.yaml" in msg
    assert "variables.borough: variable 'la_nam' is not in the file (did you mean 'la_name'" in msg


def test_unmapped_value_lists_value_count_and_first_row(tmp_path) -> None:
    p = provider(labels_as_text=True)
    london = _london_rows(p)
    hit = london[[10, 200, 201, 3000, 4100]]
    p.loc[hit, "sex"] = 3
    with pytest.raises(waves.WaveMismatchError) as info:
        waves.load_wave(write(p, tmp_path / "w.csv"), write_codebook(tmp_path))
    (problem,) = info.value.problems
    assert problem.key == "variables.sex" and problem.variable == "sex"
    (v,) = problem.values
    assert (v.value, v.count, v.first_row) == ("3", 5, hit[0] + 2)  # CSV: the header is row 1
    assert (
        f"variable 'sex': values with no mapping in 'values' (1 value, 5 rows):\n"
        f"      3: 5 rows, first at row {hit[0] + 2}"
    ) in str(info.value)

    # the same as SPSS: codes are numbers, their labels are shown, records are counted from 1
    p = provider()
    p.loc[hit, "sex"] = 3
    labels = value_labels()
    labels["sex"][3] = "Other"
    path = tmp_path / "w.sav"
    pyreadstat.write_sav(p, str(path), variable_value_labels=labels)
    with pytest.raises(
        waves.WaveMismatchError, match=rf"3 \[label 'Other'\]: 5 rows, first at row {hit[0] + 1}"
    ):
        waves.load_wave(path, write_codebook(tmp_path))


def test_every_problem_is_reported_together(tmp_path) -> None:
    p = provider()
    london = _london_rows(p)
    p.loc[london[[5, 6]], "sex"] = 3
    p.loc[london[7], "sex"] = -9
    p.loc[london[[20, 21, 22]], ITEM_VARS["org_member"]] = -8
    p.loc[london[30], "dvage"] = 14
    p.loc[london[31], "indinub_xw"] = 0.0
    p.loc[london[[40, 41]], "la_name"] = "Narnia"
    text = CODEBOOK.replace("psu: psu_id", "psu: psu").replace(
        "variable: health", "variable: disab"
    )
    with pytest.raises(waves.WaveMismatchError) as info:
        waves.load_wave(write(p, tmp_path / "w.dta"), write_codebook(tmp_path, text))
    err = info.value
    by_key = {pr.key: pr for pr in err.problems}
    assert set(by_key) == {
        "variables.psu",
        "variables.disability",
        "variables.sex",
        "variables.org_member",
        "variables.age_band",
        "variables.weight",
        "variables.borough",
    }
    assert [(v.value, v.count, v.first_row) for v in by_key["variables.sex"].values] == [
        (3.0, 2, london[5] + 1),
        (-9.0, 1, london[7] + 1),
    ]
    assert [(v.value, v.count) for v in by_key["variables.org_member"].values] == [(-8.0, 3)]
    assert by_key["variables.borough"].values[0].value == "Narnia"
    msg = str(err)
    assert "(7 problems)" in msg
    assert "variable 'psu' is not in the file (did you mean 'psu_id'?)" in msg
    assert "variable 'disab' is not in the file" in msg
    assert "ages outside 16 to 120 (1 value, 1 row)" in msg and "weights not above zero" in msg
    assert msg.count("\n  - ") == 7


def test_code_mapped_to_null_in_a_required_column(tmp_path) -> None:
    """The design cannot be missing (a demographic can: see the refusal tests)."""
    p = provider()
    p.loc[_london_rows(p)[[3, 4]], "la_name"] = "Not known"
    book = _codebook_dict()
    book["variables"]["borough"] = {"variable": "la_name", "values": {"Not known": None}}
    with pytest.raises(waves.WaveMismatchError, match="mapped to null.*borough cannot be missing"):
        waves.apply_codebook(p, waves.parse_codebook(book), value_labels=value_labels())
    book["filter"]["drop"] = {"variable": "la_name", "values": ["Not known"]}
    out = waves.apply_codebook(p, book, value_labels=value_labels())
    assert len(out) == len(original()) - 2


def test_schema_error_names_the_file_row(tmp_path) -> None:
    p = provider(labels_as_text=True)
    london = _london_rows(p)
    p.loc[london[50], "pidp"] = p.loc[london[49], "pidp"]
    with pytest.raises(
        InputError, match=rf"w.csv, row {london[50] + 2}, column 'period,respondent_id'"
    ):
        waves.load_wave(write(p, tmp_path / "w.csv"), write_codebook(tmp_path))


def test_bad_codebook_keys_are_all_reported(tmp_path) -> None:
    text = (
        CODEBOOK.replace("family: ukhls", "family: ukhls\nperiods: x")
        .replace(
            "sex: {variable: sex, values: {1: Male, 2: Female}}",
            "sexx: {variable: sex, valeus: {1: Male, 2: Female}}",
        )
        .replace("6: Other}", "6: Any other}")
        .replace(
            "weight: {variable: indinub_xw, note: cross-sectional individual weight}",
            "weight: {variable: indinub_xw, scale: -1, from_age: true}",
        )
        .replace("{1: 1, 2: 0, -9: null}", "{1: yes, 2: 0}", 1)
    )
    path = write_codebook(tmp_path, text)
    with pytest.raises(waves.CodebookError) as info:
        waves.load_codebook(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: invalid codebook (")
    keys = [p.key for p in info.value.problems]
    assert "periods" in keys
    assert "variables.sexx" in keys
    assert "variables.ethnic_group.values[6]" in keys
    assert "variables.weight.scale" in keys and "variables.weight.from_age" in keys
    assert "variables.friends_same_age.values[1]" in keys
    assert "variables" in keys  # no entry for sex
    assert "unknown key (did you mean 'period'?)" in msg
    assert "'Any other' is not a level of ethnic_group" in msg
    assert "no entry for ['sex']" in msg
    assert "an item maps to 1 (yes), 0 (no) or null (missing), not 'yes'" in msg


@pytest.mark.parametrize(
    "text, key, message",
    [
        ("family: ukhls\nperiod: '2016/17'\nperiod: '2017/18'\n", "(yaml)", "duplicate key"),
        ("family: ukhls\nperiod: 2016-17\nvariables: {}\n", "period", "not a wave label"),
        ("family: ukhsl\nperiod: '2016'\nvariables: {}\n", "family", "did you mean 'ukhls'"),
        ("- a list\n", "(top)", "expected a mapping"),
    ],
)
def test_codebook_structure_errors(tmp_path, text, key, message) -> None:
    with pytest.raises(waves.CodebookError) as info:
        waves.load_codebook(write_codebook(tmp_path, text))
    assert key in [p.key for p in info.value.problems]
    assert message in str(info.value)


def test_unsupported_extension_and_missing_file(tmp_path) -> None:
    xlsx = tmp_path / "wave.xlsx"
    xlsx.write_bytes(b"PK")
    with pytest.raises(
        InputError, match=r"wave.xlsx: unsupported file type '.xlsx'; expected one of"
    ):
        waves.read_wave_file(xlsx)
    with pytest.raises(InputError, match="data file not found"):
        waves.read_wave_file(tmp_path / "absent.sav")


def test_borough_from_labelled_codes_or_old_ons_codes(tmp_path) -> None:
    """Borough codes resolve through their SPSS labels; old ONS codes need a `values` map."""
    p = provider()
    codes = {code: i + 1 for i, code in enumerate(geography.borough_codes())}
    gss = p["la_name"].where(p["gor_dv"] == 7, "City").map(geography.to_code)
    p["la_name"] = gss.map(codes).astype("int64")
    labels = value_labels()
    labels["la_name"] = {i: geography.name_of(code).upper() for code, i in codes.items()}
    path = tmp_path / "w.sav"
    pyreadstat.write_sav(p, str(path), variable_value_labels=labels)
    # the filter also works by label: keep region "London"
    text = CODEBOOK.replace("values: [7]", "values: [London]")
    (canonical,) = waves.load_wave(path, write_codebook(tmp_path, text)).frames.values()
    pd.testing.assert_frame_equal(canonical, original())

    ons = {"E09000007": "00AG", "E09000001": "00AA"}
    p = provider(labels_as_text=True)
    p = p.loc[p["gor_dv"] == 7].reset_index(drop=True)
    p["la_name"] = p["la_name"].map(geography.to_code).replace(ons)
    book = _codebook_dict()
    book["variables"]["borough"] = {
        "variable": "la_name",
        "values": {"00AG": "Camden", "00AA": "E09000001"},
    }
    out = waves.apply_codebook(p, book)
    pd.testing.assert_series_equal(out["borough"], original()["borough"])


def test_empty_cells_in_a_required_column(tmp_path) -> None:
    p = provider(labels_as_text=True).astype({"psu_id": object})
    rows = _london_rows(p)[[8, 9]]
    p.loc[rows, "psu_id"] = None
    with pytest.raises(
        waves.WaveMismatchError,
        match=rf"variable 'psu_id': 2 rows are empty, first at row {rows[0] + 2}; "
        "psu cannot be missing",
    ):
        waves.load_wave(write(p, tmp_path / "w.csv"), write_codebook(tmp_path))


# ---------------------------------------------------------------------------------------
# A real survey's file: several families in one codebook, absent variables, refusals,
# user-missing codes (tests/fixtures/r_waves; its estimates are checked against R in
# tests/test_waves_against_r.py)

R_WAVES = Path(__file__).parent / "fixtures" / "r_waves"
LSSI = (R_WAVES / "codebook.yaml").read_text(encoding="utf-8")


def lssi_file(tmp_path: Path, frame: pd.DataFrame | None = None, name: str = "lssi.sav") -> Path:
    """The fixture wave as SPSS, with -8/-9 declared user-missing and labels, like a provider's."""
    frame = pd.read_csv(R_WAVES / "wave_sample.csv") if frame is None else frame
    items = ["rely", "orgm", "belong", "getonw", "trust", "volun"]
    labels = {v: {1: "Yes", 2: "No", -8: "Don't know", -9: "Refused"} for v in items}
    path = tmp_path / name
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        pyreadstat.write_sav(
            frame,
            str(path),
            variable_value_labels=labels,
            missing_ranges={v: [-8, -9] for v in items} | {"age": [-9], "disab": [-8]},
        )
    return path


def run_estimates(tmp_path: Path, pairs: list[tuple[Path, str]], *extra: str) -> tuple[int, Path]:
    """``python -m analysis estimates`` with the waves (codebook texts written beside them)."""
    from analysis.__main__ import main

    argv = ["estimates", "--out", str(tmp_path / "out"), "--no-parquet", *extra]
    for i, (data, text) in enumerate(pairs):
        book = write_codebook(tmp_path, text, f"codebook{i}.yaml")
        argv += ["--wave", str(data), "--codebook", str(book)]
    return main(argv), tmp_path / "out"


def test_one_codebook_feeds_every_family_whose_items_the_file_carries(tmp_path) -> None:
    loaded = waves.load_wave(lssi_file(tmp_path), write_codebook(tmp_path, LSSI))
    assert loaded.survey == "London Survey of Social Integration"
    assert list(loaded.frames) == ["ukhls", "pas", "taking_part"]
    same = ["respondent_id", "stratum", "psu", "weight", "borough", *schemas.LEVELS]
    for frame in loaded.frames.values():
        pd.testing.assert_frame_equal(frame[same], loaded.frames["ukhls"][same])
        assert frame[["nssec", "tenure", "econ_status", "language"]].isna().all().all()
    assert loaded.frames["ukhls"]["friends_same_age"].isna().all()
    raw = pd.read_csv(R_WAVES / "wave_sample.csv")
    # refusals (ethnic 8, age -9, disability -8) are missing; everyone else keeps a level
    assert loaded.frames["pas"]["ethnic_group"].isna().sum() == (raw["ethnic"] == 8).sum() > 0
    assert loaded.frames["pas"]["age_band"].isna().sum() == (raw["age"] == -9).sum() > 0
    assert loaded.frames["pas"]["disability"].isna().sum() == (raw["disab"] == -8).sum() > 0
    # SPSS user-missing codes -8/-9 reach the codebook as codes; missing_codes makes them missing
    assert (
        loaded.frames["taking_part"]["volunteered"].isna().sum()
        == (~raw["volun"].isin([1, 2])).sum()
    )


def test_a_real_series_of_waves_is_tested_for_change(tmp_path) -> None:
    raw = pd.read_csv(R_WAVES / "wave_sample.csv")
    later = raw.copy()
    later["serial"] += 100000
    flip = np.random.default_rng(7).random(len(later)) < 0.15
    later.loc[flip & (later["volun"] == 2), "volun"] = 1  # more volunteering in the second wave
    second = LSSI.replace('period: "2019/20"', 'period: "2020/21"')
    inputs = waves.add_waves(
        pipeline.Inputs(),
        [
            waves.load_wave(lssi_file(tmp_path), write_codebook(tmp_path, LSSI)),
            waves.load_wave(
                lssi_file(tmp_path, later, "lssi2.sav"), write_codebook(tmp_path, second, "w2.yaml")
            ),
        ],
    )
    results = pipeline.compute(inputs, [measures.get("volunteering"), measures.get("get_on_well")])
    est, ch = results.estimates, results.changes
    assert not est["synthetic"].any()
    assert set(est["source"]) == {"London Survey of Social Integration (2019/20, 2020/21)"}
    london = ch[
        (ch.measure_id == "volunteering")
        & (ch.area_code == geography.LONDON_CODE)
        & (ch.breakdown == "all")
    ]
    (row,) = london.itertuples()
    assert (row.previous_period, row.period, row.direction, row.assessment) == (
        "2019/20",
        "2020/21",
        "increased",
        "better",
    )
    assert not ch["breakdown"].isin(["nssec", "tenure", "econ_status", "language"]).any()


def test_an_item_a_later_wave_lacks_keeps_the_earlier_figure_as_the_latest(tmp_path) -> None:
    """A wave declaring an item absent has no figure for it: no [x] row replaces the earlier one."""
    second = (
        LSSI.replace('period: "2019/20"', 'period: "2020/21"')
        .replace("  volunteered: {variable: volun, values: {1: 1, 2: 0}}\n", "")
        .replace("  - good_place_to_live\n", "  - good_place_to_live\n  - volunteered\n")
    )
    raw = pd.read_csv(R_WAVES / "wave_sample.csv").assign(serial=lambda f: f["serial"] + 1)
    inputs = waves.add_waves(
        pipeline.Inputs(),
        [
            waves.load_wave(lssi_file(tmp_path), write_codebook(tmp_path, LSSI)),
            waves.load_wave(
                lssi_file(tmp_path, raw, "lssi2.sav"), write_codebook(tmp_path, second, "w2.yaml")
            ),
        ],
    )
    results = pipeline.compute(
        inputs, [measures.get("volunteering"), measures.get("neighbourhood_trust")]
    )
    vol = results.estimates[results.estimates.measure_id == "volunteering"]
    assert set(vol["period"]) == {"2019/20"} and not (vol["flag"] == "[x]").any()
    trust = results.estimates[results.estimates.measure_id == "neighbourhood_trust"]
    assert set(trust["period"]) == {"2019/20", "2020/21"}


def test_a_part_that_is_the_whole_tests_as_similar() -> None:
    """Everyone in one group: the group's figure is London's, p = 1, never 'lower' at p = 8e-52."""
    frame = demo.survey_wave("taking_part", PERIOD).assign(disability="Not disabled")
    detail = pipeline.compute(
        pipeline.Inputs(surveys={"taking_part": frame}), [measures.get("volunteering")]
    ).detail
    row = detail[(detail.breakdown == "disability") & (detail.group == "Not disabled")].iloc[0]
    london = detail[(detail.breakdown == "all") & (detail.area_code == geography.LONDON_CODE)].iloc[
        0
    ]
    assert row["value"] == pytest.approx(london["value"], abs=1e-9)
    assert (row["p_vs_london"], row["compared_to_london"]) == (1.0, "similar")


# Each abuse case stops the build with one clear message and writes nothing.

ABUSES = {
    "a code missing from a map": (
        lambda t: t.replace("missing_codes: [-8, -9]", "missing_codes: [-9]"),
        [
            "variables.disability: variable 'disab': values with no mapping in 'values' (1 value,",
            "-8 [label",
            "variables.no_one_to_rely_on: variable 'rely'",
            "(declared missing in the file: map it to null, or list it under missing_codes)",
        ],
    ),
    "a map omitting 1": (
        lambda t: t.replace(
            "volunteered: {variable: volun, values: {1: 1, 2: 0}}",
            "volunteered: {variable: volun, values: {2: 0}}",
        ),
        [
            "variables.volunteered: variable 'volun': values with no mapping in 'values' (1 value,",
            "1 [label 'Yes']",
        ],
    ),
    "a map omitting 0": (
        lambda t: t.replace("rely, values: {1: 1, 2: 0}", "rely, values: {1: 1}"),
        ["variables.no_one_to_rely_on: variable 'rely': values with no mapping", "2 [label 'No']"],
    ),
    "an odd period label": (
        lambda t: t.replace('period: "2019/20"', 'period: "2020"'),
        [
            "wave label(s) ['2020'] do not fit the series of the",
            "survey years",
            'follows: "2018/19"',
        ],
    ),
    "an absent column used anyway": (
        lambda t: t.replace("  - tenure\n", "  - tenure\n  - sex\n"),
        ["absent[", "'sex' is both mapped in 'variables' and listed as absent"],
    ),
    "an absent variable left out": (
        lambda t: t.replace("  - nssec\n", ""),
        ["no entry for ['nssec']", "list what the file lacks under 'absent'"],
    ),
    "two columns sharing a variable": (
        lambda t: t.replace("org_member: {variable: orgm", "org_member: {variable: rely"),
        ["variables.org_member: reads the same variable 'rely' as variables.no_one_to_rely_on"],
    ),
    "a variable not in the file": (
        lambda t: t.replace("variable: disab,", "variable: disabled,"),
        ["variables.disability: variable 'disabled' is not in the file (did you mean 'disab'?)"],
    ),
}


@pytest.mark.parametrize("case", list(ABUSES))
def test_each_abuse_stops_the_build_with_one_clear_message(tmp_path, capsys, case) -> None:
    edit, expected = ABUSES[case]
    code, out = run_estimates(tmp_path, [(lssi_file(tmp_path), edit(LSSI))])
    err = capsys.readouterr().err
    assert code == 2 and err.count("error:") == 1, err
    for text in expected:
        assert text in err, (text, err)
    assert not out.exists()


def test_every_problem_in_one_message(tmp_path) -> None:
    text = LSSI
    for case in (
        "a map omitting 1",
        "a map omitting 0",
        "a code missing from a map",
        "a variable not in the file",
        "two columns sharing a variable",
    ):
        text = ABUSES[case][0](text)
    with pytest.raises(waves.WaveMismatchError) as info:
        waves.load_wave(lssi_file(tmp_path), write_codebook(tmp_path, text))
    keys = [p.key for p in info.value.problems]
    # the slip in the codebook (a shared variable) and every misfit with the file, together
    assert {
        "variables.volunteered",
        "variables.no_one_to_rely_on",
        "variables.disability",
        "variables.org_member",
        "variables.belongs_neighbourhood",
    } <= set(keys)
    assert str(info.value).count("\n  - ") == len(keys) >= 6
    text = ABUSES["two columns sharing a variable"][0](
        ABUSES["an absent column used anyway"][0](LSSI)
    )
    with pytest.raises(waves.CodebookError) as info:
        waves.load_codebook(write_codebook(tmp_path, text))
    assert len(info.value.problems) == 2


def test_a_declared_change_of_period_labels_is_accepted(tmp_path) -> None:
    base = pipeline.Inputs(surveys={"taking_part": demo.survey_wave("taking_part", "2018/19")})
    book = LSSI.replace('period: "2019/20"', 'period: "2020"\nfollows: "2018/19"')
    added = waves.add_waves(
        base, [waves.load_wave(lssi_file(tmp_path), write_codebook(tmp_path, book))]
    )
    assert sorted(added.surveys["taking_part"]["period"].unique()) == ["2018/19", "2020"]
    wrong = book.replace('follows: "2018/19"', 'follows: "2017/18"')
    with pytest.raises(
        InputError, match="'2017/18' is not the latest period of the 'taking_part' survey"
    ):
        waves.add_waves(
            base, [waves.load_wave(lssi_file(tmp_path), write_codebook(tmp_path, wrong))]
        )
    with pytest.raises(waves.CodebookError, match="not a wave label"):
        waves.load_codebook(write_codebook(tmp_path, LSSI.replace('"2019/20"', '"2019/21"')))


def test_run_all_refuses_a_bad_codebook_and_writes_nothing(tmp_path, capsys) -> None:
    import run_all

    book = write_codebook(tmp_path, ABUSES["a map omitting 1"][0](LSSI))
    out = tmp_path / "site"
    code = run_all.main(
        [
            "--out",
            str(out),
            "--no-progress",
            "--source",
            "demo",
            "--wave",
            str(lssi_file(tmp_path)),
            "--codebook",
            str(book),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "values with no mapping in 'values'" in err
    assert not out.exists()


def test_the_headline_stays_on_the_latest_figure_when_a_new_wave_lacks_the_item(tmp_path) -> None:
    """Demo waves to 2018/19, then a wave without get_on_well: the page's headline is 2018/19's
    figure with its tested change on 2017/18, never [x] or "no earlier figure"."""
    from analysis import report

    book = LSSI.replace("  get_on_well: {variable: getonw, values: {1: 1, 2: 0}}\n", "").replace(
        "  - good_place_to_live\n", "  - good_place_to_live\n  - get_on_well\n"
    )
    base = pipeline.Inputs(
        surveys={
            "pas": pd.concat(
                [demo.survey_wave("pas", p) for p in ("2017/18", "2018/19")], ignore_index=True
            )
        },
        synthetic=True,
    )
    inputs = waves.add_waves(
        base, [waves.load_wave(lssi_file(tmp_path), write_codebook(tmp_path, book))]
    )
    results = pipeline.compute(
        inputs, [measures.get("get_on_well"), measures.get("neighbourhood_trust")]
    )
    # joined to synthetic waves, the real wave's figures stay labelled synthetic too
    assert results.estimates["synthetic"].all()
    assert results.estimates["source"].str.startswith("Synthetic demonstration data").all()
    pipeline.write_results(results, tmp_path / "data", parquet=False)
    headline = report.MeasurePage("get_on_well", tmp_path / "data").headline().html
    assert "in London in 2018/19" in headline and "2017/18" in headline
    assert (
        "no earlier figure" not in headline and "[x]" not in headline and "2019/20" not in headline
    )
    trust = report.MeasurePage("neighbourhood_trust", tmp_path / "data").headline().html
    assert "in London in 2019/20" in trust and "2018/19" in trust


def test_python_m_analysis_estimates_builds_a_real_series_from_the_waves(
    real_data, tmp_path, capsys
) -> None:
    """`python -m analysis estimates --source real --mirror DIR --wave ... --codebook ...`: the
    waves are the survey series, named as their source, and nothing is synthetic."""
    raw = pd.read_csv(R_WAVES / "wave_sample.csv").assign(serial=lambda f: f["serial"] + 100000)
    second = LSSI.replace('period: "2019/20"', 'period: "2020/21"')
    code, out = run_estimates(
        tmp_path,
        [(lssi_file(tmp_path), LSSI), (lssi_file(tmp_path, raw, "lssi2.csv"), second)],
        "--source",
        "real",
        "--mirror",
        str(real_data),
    )
    assert code == 0 and "(real data)" in capsys.readouterr().out
    est = pipeline.read_estimates(out / "estimates.csv")
    vol = est[est.measure_id == "volunteering"]
    assert set(vol["period"]) == {"2019/20", "2020/21"}
    assert set(vol["source"]) == {"London Survey of Social Integration (2019/20, 2020/21)"}
    assert not est["synthetic"].astype(str).eq("True").any()
    assert not est["breakdown"].isin(["nssec", "tenure", "econ_status", "language"]).any()
    changes = pd.read_csv(out / "changes.csv", dtype={"period": str, "previous_period": str})
    london = changes[
        (changes.measure_id == "volunteering")
        & (changes.area_code == geography.LONDON_CODE)
        & (changes.breakdown == "all")
    ]
    assert london[["previous_period", "period"]].values.tolist() == [["2019/20", "2020/21"]]
    assert london["p_value"].notna().all()
