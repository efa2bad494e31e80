"""Loaders for the real published files: known values, layout changes, and fetching.

Every loader test runs twice: on the trimmed copies committed in ``tests/fixtures/published``
(always; same layout, every London row, fewer years and columns, see its README), and on
the full files of the shared staging folder (never copied into the project), skipped cleanly
where that folder is absent. Modified copies for the layout-change tests are written to
``tmp_path`` only.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from analysis import geography, schemas
from analysis.sources import published as P
from analysis.sources.published import fetching
from analysis.validate import InputError

REAL_DATA = Path(
    os.environ.get("LSI_REAL_DATA") or Path(__file__).resolve().parents[2] / "shared" / "real-data"
)
CAMDEN, CITY, LONDON = "E09000007", "E09000001", geography.LONDON_CODE
BOROUGHS = set(geography.borough_codes())


TRIMMED = Path(__file__).resolve().parent / "fixtures" / "published"


@pytest.fixture(scope="module")
def real_files() -> Path:
    """The shared real public files; skip where they are not available."""
    if not REAL_DATA.is_dir():
        pytest.skip(f"real data not available at {REAL_DATA}")
    return REAL_DATA


@dataclass(frozen=True)
class Held:
    """A folder of published files: the full registered editions, or the trimmed copies
    (not the registered editions, so read with ``verify=False``)."""

    folder: Path
    full: bool

    @property
    def verify(self) -> bool:
        return self.full


@pytest.fixture(scope="module", params=["trimmed", "full"])
def files(request) -> Held:
    """Each loader test runs on the trimmed copies, and on the full files where present."""
    if request.param == "trimmed":
        return Held(TRIMMED, full=False)
    if not REAL_DATA.is_dir():
        pytest.skip(f"real data not available at {REAL_DATA}")
    return Held(REAL_DATA, full=True)


def held(files: Held, key: str) -> Path:
    return P.fetch(key, mirror=files.folder, verify=files.verify)


# loaded once per module (the workbooks take a moment to open)
@pytest.fixture(scope="module")
def profiles_csv(files):
    return P.load_borough_profiles(held(files, "borough_profiles_csv"))


@pytest.fixture(scope="module")
def profiles_xlsx(files):
    return P.load_borough_profiles(held(files, "borough_profiles_xlsx"))


@pytest.fixture(scope="module")
def hate_monthly(files):
    return P.hate_crime_monthly(held(files, "hate_crime"))


@pytest.fixture(scope="module")
def employment_ethnicity(files):
    return P.load_employment_by_ethnicity(held(files, "employment_ethnicity"))


@pytest.fixture(scope="module")
def employment_sex(files):
    return P.load_employment_by_sex_disability(held(files, "employment_sex_disability"))


def expect_error(
    call, *texts: str, row: int | None = None, column: str | None = None
) -> InputError:
    with pytest.raises(InputError) as caught:
        call()
    err, msg = caught.value, str(caught.value)
    for text in texts:
        assert text in msg, msg
    if row is not None:
        assert err.row == row, msg
    if column is not None:
        assert err.column is not None and column in err.column, msg
    return err


def copy_to(tmp_path: Path, source: Path, name: str | None = None) -> Path:
    target = tmp_path / (name or source.name)
    shutil.copyfile(source, target)
    return target


# ---------------------------------------------------------------------------------------
# Registry


def test_registry_entries_are_complete() -> None:
    for key, s in P.SOURCES.items():
        assert s.key == key
        assert len(s.files) == len(s.sha256) >= 1
        assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in s.sha256), key
        assert s.page.startswith("https://") and s.licence and s.publisher, key
        # every file can be downloaded: from a fixed address or one the Datastore API gives
        assert (s.url or "").startswith("https://") or s.datastore_slug, key
        assert callable(P.loader_of(s)), key  # resolved by import path


def registry_text(**changes) -> str:
    """The packaged sources registry as YAML, with fields of its first entry changed
    (a value of None removes the field)."""
    from importlib import resources

    import yaml

    raw = yaml.safe_load(
        resources.files("analysis.data").joinpath("sources.yaml").read_text(encoding="utf-8")
    )
    for name, value in changes.items():
        if value is None:
            raw["sources"][0].pop(name)
        else:
            raw["sources"][0][name] = value
    return yaml.safe_dump(raw)


def test_registry_is_data_loaded_from_yaml() -> None:
    assert P.load_registry(registry_text()) == P.SOURCES
    assert P.SOURCES["boundaries"].loader == "analysis.geography:load_boundaries"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"licence": None}, "source 'borough_profiles_csv': field 'licence' is missing"),
        ({"licnce": "OGL"}, "unknown fields ['licnce']"),
        ({"sha256": ["abc"]}, "expected 64 lowercase hex digits, found ['abc']"),
        ({"files": ["a.csv", "b.csv"]}, "found 2 files and 1 checksums"),
        ({"loader": "load_borough_profiles"}, "field 'loader': expected 'module:function'"),
        ({"url": None}, "expected 'url' or 'datastore_slug'"),
        ({"page": "http://example.org"}, "field 'page': expected an https:// address"),
        ({"files": "london-borough-profiles.csv"}, "field 'files': expected a list of text"),
    ],
)
def test_registry_mistakes_name_the_file_entry_and_field(changes, message) -> None:
    with pytest.raises(P.SourceRegistryError) as err:
        P.load_registry(registry_text(**changes))
    assert str(err.value).startswith("analysis/data/sources.yaml: source ") and message in str(
        err.value
    ), err.value


def test_registry_loader_that_does_not_import_is_named() -> None:
    registry = P.load_registry(
        registry_text(loader="analysis.sources.published.profiles:load_borough_profile")
    )
    with pytest.raises(P.SourceRegistryError, match="field 'loader': cannot import"):
        P.loader_of(registry["borough_profiles_csv"])


def test_registry_duplicate_keys_are_refused() -> None:
    with pytest.raises(P.SourceRegistryError, match="appear more than once"):
        P.load_registry(registry_text(key="borough_profiles_xlsx"))


def test_every_registered_source_has_a_trimmed_copy_that_loads() -> None:
    """So every loader is tested on a clean checkout (tests/fixtures/published/README.md)."""
    for key, source in P.SOURCES.items():
        path = P.fetch(key, mirror=TRIMMED, verify=False)
        assert path.parent == TRIMMED and path.name == source.files[0], key
        assert len(P.load(key, mirror=TRIMMED, verify=False)) > 0, key
        with pytest.raises(P.SourceUnavailable, match="sha256"):  # not the registered edition
            P.fetch(key, mirror=TRIMMED)


def test_command_line_loads_each_source(capsys) -> None:
    from analysis.sources.published.__main__ import main

    assert main(["--mirror", str(TRIMMED), "--new-editions", "gcse", "electorate_proxy"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "gcse: 96 rows x 4 columns",
        "electorate_proxy: 33 rows x 3 columns",
    ]
    assert main(["--mirror", str(TRIMMED), "gcse"]) == 2  # not the registered edition
    assert "gcse: error: source 'gcse'" in capsys.readouterr().err


def test_every_held_file_is_the_registered_edition(real_files) -> None:
    for key, source in P.SOURCES.items():
        path = P.fetch(key, mirror=real_files)  # checks the sha256 of every file
        assert path.name == source.files[0] and path.is_relative_to(real_files)


# ---------------------------------------------------------------------------------------
# London Borough Profiles


def test_profiles_csv_known_values(profiles_csv) -> None:
    t = profiles_csv
    assert t.loc[CAMDEN, "turnout_at_2014_local_elections"] == 38.7
    assert t.loc[CAMDEN, "pct_of_resident_population_born_abroad_2015"] == 41.4
    assert t.loc["E09000025", "pct_of_resident_population_born_abroad_2015"] == 54.1  # Newham
    assert t.loc[LONDON, "turnout_at_2014_local_elections"] == 38.9
    assert t.loc[LONDON, "pct_of_resident_population_born_abroad_2015"] == 36.6
    # quoted thousands, £ prefixes and the missing markers '.' and 'n/a'
    assert t.loc[CAMDEN, "inland_area_hectares"] == 2179  # "2,179"
    assert t.loc[CAMDEN, "modelled_household_median_income_estimates_2012_13"] == 43750  # "£43,750"
    assert np.isnan(t.loc[CITY, "pct_of_resident_population_born_abroad_2015"])  # "."
    assert np.isnan(t.loc[CITY, "childhood_obesity_prevalance_pct_2015_16"])  # "n/a"
    assert (
        t.loc[CAMDEN, "area_name"] == "Camden"
        and t.loc[CAMDEN, "inner_outer_london"] == "Inner London"
    )


def test_profiles_rows_are_london_only(profiles_csv) -> None:
    assert profiles_csv.index.name == "area_code"
    assert set(profiles_csv.index) == BOROUGHS | set(geography.AGGREGATES)
    assert len(profiles_csv) == 36  # England and United Kingdom dropped


def test_profiles_workbook_matches_csv(profiles_csv, profiles_xlsx) -> None:
    assert list(profiles_xlsx.columns) == list(profiles_csv.columns)
    assert list(profiles_xlsx.index) == list(profiles_csv.index)
    assert round(profiles_xlsx.loc[CAMDEN, "turnout_at_2014_local_elections"], 1) == 38.7
    assert (
        round(profiles_xlsx.loc[CAMDEN, "pct_of_resident_population_born_abroad_2015"], 1) == 41.4
    )
    numeric = [c for c in profiles_csv.columns if c not in P.PROFILE_TEXT_COLUMNS]
    a, b = profiles_csv[numeric].to_numpy(float), profiles_xlsx[numeric].to_numpy(float)
    assert (np.isnan(a) == np.isnan(b)).all()
    assert np.nanmax(np.abs(a - b)) <= 0.5  # the CSV holds the workbook's values, rounded


def test_snake_case_maps_both_header_styles() -> None:
    assert (
        P.snake_case("%_of_resident_population_born_abroad_(2015)")
        == "pct_of_resident_population_born_abroad_2015"
    )
    assert (
        P.snake_case("% of resident population born abroad (2015)")
        == "pct_of_resident_population_born_abroad_2015"
    )
    assert (
        P.snake_case("Inner/_Outer_London")
        == P.snake_case("Inner/ Outer London")
        == "inner_outer_london"
    )


def test_profiles_renamed_column(files, tmp_path) -> None:
    path = copy_to(tmp_path, held(files, "borough_profiles_csv"))
    path.write_bytes(path.read_bytes().replace(b"Turnout_at_2014_local_elections", b"Turnout_2014"))
    expect_error(
        lambda: P.load_borough_profiles(path),
        "london-borough-profiles.csv",
        "expected a column 'turnout_at_2014_local_elections'",
        "closest found: 'Turnout_2014'",
    )


def test_profiles_text_in_a_number_column(files, tmp_path) -> None:
    path = copy_to(tmp_path, held(files, "borough_profiles_csv"))
    path.write_bytes(path.read_bytes().replace(b'"\xc2\xa343,750"', b'"about 44k"'))
    expect_error(
        lambda: P.load_borough_profiles(path),
        "london-borough-profiles.csv",
        "expected a number",
        "'about 44k'",
        row=8,  # Camden: 7th area, header is row 1
        column="Modelled_Household_median_income_estimates_2012/13",
    )


def test_profiles_workbook_without_data_sheet(tmp_path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Profiles"
    path = tmp_path / "london-borough-profiles.xlsx"
    book.save(path)
    expect_error(
        lambda: P.load_borough_profiles(path),
        "london-borough-profiles.xlsx",
        "expected a sheet named 'Data'",
        "['Profiles']",
    )


# ---------------------------------------------------------------------------------------
# ONS population


def test_population_components_known_values(files) -> None:
    t = P.load_population_components(held(files, "population_components"))
    assert list(t.columns) == [
        "area_code",
        "year",
        "population",
        "internal_in",
        "internal_out",
        "international_in",
        "international_out",
    ]
    camden = t.query("area_code == @CAMDEN and year == 2016").iloc[0]
    assert (
        camden.internal_in,
        camden.internal_out,
        camden.international_in,
        camden.international_out,
        camden.population,
    ) == (20300, 23452, 12775, 5947, 249162)
    first = 2002 if files.full else 2015  # the trimmed copy keeps mid-2015 to mid-2018
    assert (t.year.min(), t.year.max()) == (first, 2018)
    assert set(t.area_code) == BOROUGHS and len(t) == 33 * (2018 - first + 1)
    assert t.query("year == 2016").population.sum() == 8_769_659


def test_population_components_renamed_column(files, tmp_path) -> None:
    path = copy_to(tmp_path, held(files, "population_components"))
    path.write_bytes(path.read_bytes().replace(b"internal_in_2016,", b"internal_inflow_2016,"))
    expect_error(
        lambda: P.load_population_components(path),
        "MYEB3_summary_components_of_change_series_UK_(2018).csv",
        "expected a column 'internal_in_2016'",
        "closest found:",
        "'internal_inflow_2016'",
        row=1,
    )


def test_population_components_misspelt_borough(files, tmp_path) -> None:
    path = copy_to(tmp_path, held(files, "population_components"))
    lines = path.read_bytes().split(b"\n")
    camden = next(i for i, line in enumerate(lines) if line.startswith(b"E09000007,Camden,"))
    path.write_bytes(path.read_bytes().replace(b"E09000007,Camden,", b"E09000007,Camdem,"))
    expect_error(
        lambda: P.load_population_components(path),
        "MYEB3_summary",
        "Unknown London area 'Camdem'",
        "Did you mean: Camden",
        row=camden + 1,  # row 301 of the full file
        column="laname18",
    )


def test_adults_known_values(files) -> None:
    t = P.load_adults(held(files, "population_age"))
    assert list(t.columns) == ["area_code", "year", "population", "adults"]
    assert set(t.year) == {2019} and set(t.area_code) == BOROUGHS
    assert t.set_index("area_code").loc[CAMDEN, "adults"] == 217_622
    assert t.adults.sum() == 6_929_562
    assert (t.adults < t.population).all()


def test_adults_needs_a_legacy_xls(files) -> None:
    expect_error(
        lambda: P.load_adults(held(files, "gcse")),
        "gcse-results.xlsx",
        "expected a legacy Excel .xls workbook",
    )


# ---------------------------------------------------------------------------------------
# Electoral Commission (proxy for electors)


def test_electorate_proxy_known_values(files) -> None:
    path = held(files, "electorate_proxy")
    assert b"\r" in path.read_bytes() and b"\n" not in path.read_bytes()  # CR-only line endings
    t = P.load_electorate_proxy(path)
    assert list(t.columns) == ["area_code", "year", "electors"]
    assert set(t.year) == {2016} and set(t.area_code) == BOROUGHS
    assert t.set_index("area_code").loc[CITY, "electors"] == 5_987
    assert t.electors.sum() == 5_424_768


def test_electorate_renamed_column(files, tmp_path) -> None:
    path = copy_to(tmp_path, held(files, "electorate_proxy"))
    path.write_bytes(path.read_bytes().replace(b",Electorate,", b",Electors,"))
    expect_error(
        lambda: P.load_electorate_proxy(path),
        "EU-referendum-result-data.csv",
        "expected a column 'Electorate'",
        "closest found: 'Electors'",
        row=1,
    )


# ---------------------------------------------------------------------------------------
# Metropolitan Police hate crime


def test_hate_crime_monthly_total(hate_monthly) -> None:
    rr_2017 = hate_monthly.query(
        "minor == 'Racist and Religious Hate Crime' and month // 100 == 2017"
    )
    assert rr_2017["count"].sum() == 17_006  # all MPS rows, Aviation Security included
    assert hate_monthly.loc[hate_monthly.area_code.isna(), "borough"].unique().tolist() == [
        "Aviation Security(SO18)"
    ]


def test_hate_crime_series_choice_holds_in_the_data(hate_monthly) -> None:
    wide = hate_monthly.pivot_table(index=["borough", "month"], columns="minor", values="count")
    assert (wide["Faith Hate Crime"] <= wide["Racist and Religious Hate Crime"]).all()
    excess = wide["Anti-Semitic"] + wide["Islamophobic"] - wide["Faith Hate Crime"]
    assert excess.max() <= 1 and (excess > 0).sum() <= 1


def test_hate_crime_by_borough_and_year(files, hate_monthly) -> None:
    path = held(files, "hate_crime")
    t = P.load_hate_crime(path)
    assert list(t.columns) == ["area_code", "year", "hate_crimes"]
    assert set(t.area_code) == BOROUGHS - {CITY}  # the City has its own police force
    complete = range(2011, 2021) if files.full else range(2016, 2018)  # trimmed: 2016-01 to 2018-01
    assert sorted(t.year.unique()) == list(complete)  # complete calendar years only
    strands = hate_monthly[
        hate_monthly.minor.isin(P.HATE_CRIME_SERIES)
        & (hate_monthly.borough == "Camden")
        & (hate_monthly.month // 100 == 2017)
    ]
    assert (
        t.query("area_code == @CAMDEN and year == 2017").hate_crimes.item()
        == strands["count"].sum()
    )
    # racist and religious only: boroughs plus Aviation Security make up the MPS figure
    rr = P.load_hate_crime(path, series=("Racist and Religious Hate Crime",))
    so18 = hate_monthly.query(
        "area_code != area_code and minor == 'Racist and Religious Hate Crime'"
        " and month // 100 == 2017"
    )["count"].sum()
    assert rr.query("year == 2017").hate_crimes.sum() + so18 == 17_006


def test_hate_crime_misspelt_borough(files, tmp_path) -> None:
    path = copy_to(tmp_path, held(files, "hate_crime"))
    lines = path.read_bytes().split(b"\n")
    first = next(i for i, line in enumerate(lines) if line.startswith(b"Camden,"))
    path.write_bytes(
        b"\n".join(
            line.replace(b"Camden,", b"Camdem,", 1) if line.startswith(b"Camden,") else line
            for line in lines
        )
    )
    err = expect_error(
        lambda: P.load_hate_crime(path),
        "Monthly Crime Other Crime Borough Level Off Type.csv",
        "Unknown London area 'Camdem'",
        "Did you mean: Camden",
        row=first + 1,
        column="Borough",
    )
    assert err.source == path.name


def test_hate_crime_missing_series(files, tmp_path) -> None:
    path = copy_to(tmp_path, held(files, "hate_crime"))
    path.write_bytes(path.read_bytes().replace(b",Transgender Hate,", b",Transphobic Hate,"))
    expect_error(
        lambda: P.load_hate_crime(path),
        "expected a MinorText series 'Transgender Hate'",
        "'Transphobic Hate'",
    )


# ---------------------------------------------------------------------------------------
# GCSE results


def test_gcse_known_values(files) -> None:
    t = P.load_gcse(held(files, "gcse"))
    assert list(t.columns) == ["area_code", "year", "pupils", "pupils_achieving"]
    years = range(2016, 2023) if files.full else (2016, 2017, 2022)
    assert sorted(t.year.unique()) == list(years)  # 2015-16 is 2016
    assert CITY not in set(t.area_code)  # empty or suppressed: dropped, not zero
    assert set(t.area_code) == BOROUGHS - {CITY}
    camden = t[t.area_code == CAMDEN].set_index("year")
    assert camden.loc[2016, "pupils"] == 1422 and camden.loc[2016, "pupils_achieving"] == round(
        1422 * 0.631
    )
    assert camden.loc[2022, "pupils"] == 1557 and camden.loc[2022, "pupils_achieving"] == round(
        1557 * 0.751
    )
    assert t.query("year == 2022").pupils.sum() == 86_135  # the file's London total
    assert t.attrs["basis"][2016] == "A*-C in English and maths"
    assert t.attrs["basis"][2017] == "standard 9-4 pass in English and maths"
    schemas.validate_admin(t, "gcse")  # the canonical gcse table


def workbook_copy(
    source: Path,
    target: Path,
    sheets: tuple[str, ...] | None = None,
    changes: dict[tuple[str, str], object] | None = None,
) -> Path:
    """Copy the cell values of ``sheets`` (default all) of a published workbook, with changes.

    Copying only the sheets a test needs keeps the layout-change tests fast.
    """
    import openpyxl

    book = openpyxl.load_workbook(source, read_only=True, data_only=True)
    out = openpyxl.Workbook()
    out.remove(out.active)
    try:
        for name in sheets or book.sheetnames:
            sheet = out.create_sheet(name)
            for row in book[name].iter_rows(values_only=True):
                sheet.append(list(row))
    finally:
        book.close()
    for (name, cell), value in (changes or {}).items():
        out[name][cell] = value
    out.save(target)
    return target


def test_gcse_changed_header(files, tmp_path) -> None:
    path = workbook_copy(
        held(files, "gcse"),
        tmp_path / "gcse-results.xlsx",
        ("Metadata", "2016-17"),
        {("2016-17", "H3"): "Percentage of pupils achieving grade 4"},
    )
    expect_error(
        lambda: P.load_gcse(path),
        "gcse-results.xlsx, sheet '2016-17'",
        "expected a column headed 'Percentage of pupils who achieved a standard 9-4 pass'",
        "percentage of pupils achieving grade 4",
        row=3,
    )


def test_gcse_misspelt_borough_and_bad_value(files, tmp_path) -> None:
    original, path = held(files, "gcse"), tmp_path / "gcse-results.xlsx"
    workbook_copy(original, path, ("2016-17",), {("2016-17", "B11"): "Camdem"})  # B11 is "Camden"
    expect_error(
        lambda: P.load_gcse(path),
        "sheet '2016-17'",
        "Unknown London area 'Camdem'",
        row=11,
        column="Area",
    )
    workbook_copy(original, path, ("2016-17",), {("2016-17", "C11"): "about 1500"})
    expect_error(
        lambda: P.load_gcse(path),
        "sheet '2016-17'",
        "expected a number",
        "'about 1500'",
        row=11,
        column="C",
    )
    workbook_copy(original, path, ("Metadata",))
    expect_error(lambda: P.load_gcse(path), "expected one sheet per academic year", "['Metadata']")


def test_gcse_suppressed_row_is_dropped(files, tmp_path) -> None:
    path = workbook_copy(
        held(files, "gcse"),
        tmp_path / "gcse-results.xlsx",
        ("2016-17",),
        {("2016-17", "C11"): "-"},
    )
    t = P.load_gcse(path)
    assert t.query("area_code == @CAMDEN").empty
    assert len(t) == 31 and set(t.year) == {2017}


# ---------------------------------------------------------------------------------------
# APS employment rates


def test_employment_by_ethnicity(files, employment_ethnicity) -> None:
    t = employment_ethnicity
    assert list(t.columns) == [
        "area_code",
        "year",
        "variable",
        "group",
        "rate",
        "ci_half_width",
        "numerator",
        "denominator",
        "marker",
    ]
    assert set(t.variable) == {"ethnic_group"}
    assert set(t.group) == set(schemas.LEVELS["ethnic_group"])  # no BAME total
    assert (t.year.min(), t.year.max()) == ((2004, 2020) if files.full else (2015, 2016))
    assert BOROUGHS | {LONDON} <= set(t.area_code)
    london = t.query("area_code == @LONDON and year == 2016").set_index("group")
    white = london.loc["White"]
    assert (white.rate, white.ci_half_width, white.numerator, white.denominator) == (
        78.6,
        1.3,
        2_787_500,
        3_545_400,
    )
    # the strategy's 2016 gaps (White minus each group, percentage points)
    for group, reference in {
        "Pakistani/Bangladeshi": 24,
        "Mixed": 16,
        "Other": 14,
        "Black": 10,
        "Indian": 3,
    }.items():
        assert abs(white.rate - london.loc[group, "rate"] - reference) <= 1, group


def test_employment_markers(employment_ethnicity) -> None:
    t = employment_ethnicity.set_index(["area_code", "year", "group"])
    city_mixed = t.loc[(CITY, 2016, "Mixed")]  # '!' everywhere: kept, with no rate
    assert np.isnan(city_mixed.rate) and "!" in city_mixed.marker
    barnet_mixed = t.loc[("E09000003", 2016, "Mixed")]  # '*' interval: unreliable rate kept
    assert (
        barnet_mixed.rate == 45.4
        and np.isnan(barnet_mixed.ci_half_width)
        and barnet_mixed.marker == "*"
    )
    assert t.loc[(CITY, 2016, "White")].marker == "-" and t.loc[(CITY, 2016, "White")].rate == 100
    assert set("".join(t.marker)) <= set(P.MARKER_ORDER)
    assert t.loc[t.marker.str.contains("!"), "rate"].isna().all()


def test_employment_by_sex_and_disability(files, employment_sex) -> None:
    t = employment_sex
    sex = t[t.variable == "sex"]
    last = 2020 if files.full else 2016  # the trimmed copy keeps 2004, 2015 and 2016
    assert BOROUGHS | {LONDON} <= set(sex.area_code)
    assert (sex.year.min(), sex.year.max()) == (2004, last)
    london = t.query("area_code == @LONDON and year == 2016").set_index("group")
    assert (london.loc["Male", "rate"], london.loc["Female", "rate"]) == (80.5, 66.9)
    assert (london.loc["Not disabled", "rate"], london.loc["Disabled", "rate"]) == (78.2, 51.6)
    assert (
        abs(london.loc["Male", "rate"] - london.loc["Female", "rate"] - 14) <= 1
    )  # strategy: 14 points
    assert (
        abs(london.loc["Not disabled", "rate"] - london.loc["Disabled", "rate"] - 27) <= 1
    )  # strategy: 27
    disability = t[t.variable == "disability"]
    assert set(disability.area_code) == {LONDON}  # no borough figures in the file
    assert sorted(disability.year.unique()) == list(range(2014, 2021))
    assert disability.denominator.isna().all() and disability.ci_half_width.isna().all()
    both = P.load_employment_by_sex_disability(
        held(files, "employment_sex_disability"), include_previous_definition=True
    )
    years = set(both.query("variable == 'disability'").year)
    assert 2004 in years and 2013 not in years


def test_employment_missing_sheet(files, tmp_path) -> None:
    path = workbook_copy(
        held(files, "employment_sex_disability"),
        tmp_path / "employment-rate-gender-age-disability.xlsx",
        ("Metadata", "Females", "Emp Disabled"),
    )
    expect_error(
        lambda: P.load_employment_by_sex_disability(path),
        "employment-rate-gender-age-disability.xlsx",
        "expected a sheet named 'Males'",
        "'Females'",
    )


def test_employment_unknown_group_and_marker(files, tmp_path) -> None:
    path = workbook_copy(
        held(files, "employment_ethnicity"),
        tmp_path / "employment-rate-ethnic-borough.xlsx",
        ("2016",),
        {("2016", "O1"): "working age employment rate for all Asians"},
    )  # was "...Indians"
    expect_error(
        lambda: P.load_employment_by_ethnicity(path),
        "employment-rate-ethnic-borough.xlsx, sheet '2016'",
        "expected a group heading",
        "'working age employment rate for all Asians'",
        row=1,
        column="O",
    )

    path = workbook_copy(
        held(files, "employment_sex_disability"),
        tmp_path / "employment-rate-gender-age-disability.xlsx",
        ("Males", "Females", "Emp Disabled"),
        {("Females", "E10"): "?"},
    )  # Camden, 2004 percent
    expect_error(
        lambda: P.load_employment_by_sex_disability(path),
        "sheet 'Females'",
        "expected a number or one of the markers",
        "'?'",
        row=10,
        column="E",
    )


def test_employment_copy_without_changes_loads_the_same(files, tmp_path, employment_sex) -> None:
    path = workbook_copy(
        held(files, "employment_sex_disability"),
        tmp_path / "employment-rate-gender-age-disability.xlsx",
        ("Males", "Females", "Emp Disabled"),
    )
    assert P.load_employment_by_sex_disability(path).equals(employment_sex)


# ---------------------------------------------------------------------------------------
# fetch: mirror, cache and the offline error


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails, as it would offline."""

    def refuse(*args, **kwargs):
        raise OSError("network disabled in tests")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_fetch_from_mirror_searches_sub_folders(files, tmp_path) -> None:
    sub = tmp_path / "mirror" / "electoral"
    sub.mkdir(parents=True)
    copy = copy_to(sub, held(files, "electorate_proxy"))
    mirror = tmp_path / "mirror"
    assert P.fetch("electorate_proxy", mirror=mirror, verify=files.verify) == copy
    assert (
        P.load("electorate_proxy", mirror=mirror, verify=files.verify).electors.sum() == 5_424_768
    )


def test_fetch_mirror_multi_file_source(files, tmp_path) -> None:
    source = P.SOURCES["boundaries"]
    folder = tmp_path / "deep" / "ESRI"
    folder.mkdir(parents=True)
    for name in source.files:
        shutil.copyfile(held(files, "boundaries").parent / name, folder / name)
    found = P.fetch("boundaries", mirror=tmp_path, verify=files.verify)
    assert found == folder / "London_Borough_Excluding_MHW.shp"
    (folder / "London_Borough_Excluding_MHW.dbf").unlink()
    with pytest.raises(P.SourceUnavailable, match=r"London_Borough_Excluding_MHW\.dbf"):
        P.fetch("boundaries", mirror=tmp_path, verify=files.verify)


def test_fetch_mirror_checks_the_edition(files, tmp_path) -> None:
    path = copy_to(tmp_path, held(files, "electorate_proxy"))
    path.write_bytes(path.read_bytes() + b"\r")
    with pytest.raises(P.SourceUnavailable, match="sha256") as err:
        P.fetch("electorate_proxy", mirror=tmp_path)
    assert "verify=False" in str(err.value)
    assert P.fetch("electorate_proxy", mirror=tmp_path, verify=False) == path


def test_fetch_mirror_without_the_file(tmp_path) -> None:
    with pytest.raises(
        P.SourceUnavailable, match=r"EU-referendum-result-data\.csv.*not found under mirror"
    ):
        P.fetch("electorate_proxy", mirror=tmp_path)
    with pytest.raises(P.SourceUnavailable, match="does not exist"):
        P.fetch("electorate_proxy", mirror=tmp_path / "nowhere")


def test_cache_location(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("LSI_CACHE", raising=False)
    assert P.cache_root() == Path.home() / ".cache" / "london-social-integration"
    monkeypatch.setenv("LSI_CACHE", str(tmp_path / "env-cache"))
    assert P.cache_root() == tmp_path / "env-cache"
    assert P.cache_root(tmp_path / "given") == tmp_path / "given"


def test_fetch_offline_without_mirror_is_clear(no_network, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("LSI_CACHE", str(tmp_path))
    for key in ("electorate_proxy", "population_components"):  # a plain file and a zip member
        with pytest.raises(P.SourceUnavailable) as err:
            P.fetch(key)
        msg = str(err.value)
        assert "could not download" in msg and P.SOURCES[key].url in msg and "mirror=" in msg, msg
    assert not any(tmp_path.rglob("*.csv"))


def test_fetch_from_the_datastore_offline_is_clear(no_network, tmp_path) -> None:
    with pytest.raises(P.SourceUnavailable, match="could not read the Datastore listing") as err:
        P.fetch("hate_crime", cache_dir=tmp_path)
    msg = str(err.value)
    assert (
        "/api/dataset/mps-hate-crime-or-special-crime-dashboard-data" in msg and "mirror=" in msg
    ), msg


# A stand-in for the London Datastore on localhost: its dataset API lists resources whose
# addresses change with each upload, as the real one does.
SLUG = "test-rolling-dataset"
FILE = "Monthly Test File.csv"
EDITION_1 = b"Borough,201004\nCamden,3\n"
EDITION_2 = b"Borough,201004,201005\nCamden,3,4\n"


@pytest.fixture
def datastore(tmp_path, monkeypatch):
    """Serve ``api/dataset/<SLUG>`` and the files it lists; returns a function that publishes
    an edition (bytes) under a new resource address, optionally under another file name."""
    import functools
    import http.server
    import json
    import threading
    import urllib.parse

    root = tmp_path / "site"
    (root / "api" / "dataset").mkdir(parents=True)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setattr(fetching, "DATASTORE_API", f"{base}/api/dataset")
    resources: dict[str, dict] = {
        "other": {"url": f"{base}/download/{SLUG}/0/notes.pdf", "title": "Notes"}
    }

    uploads = iter(range(1, 100))

    def publish(content: bytes, name: str = FILE, replacing: str | None = None) -> str:
        """Upload a file as a new resource, or as a new version of resource ``replacing``
        (which, like the Datastore, gets a new address); returns the address."""
        rid = replacing or f"r{len(resources)}"
        folder = root / "download" / SLUG / rid / str(next(uploads))
        folder.mkdir(parents=True)
        (folder / name).write_bytes(content)
        url = f"{base}/download/{SLUG}/{rid}/{folder.name}/{urllib.parse.quote(name)}"
        resources[rid] = {"url": url, "title": name}
        (root / "api" / "dataset" / SLUG).write_text(
            json.dumps({"slug": SLUG, "resources": resources})
        )
        return url

    yield publish
    server.shutdown()


@pytest.fixture
def rolling_source(monkeypatch):
    import hashlib

    source = P.Source(
        key="test_rolling",
        title="A rolling file",
        publisher="Test",
        files=(FILE,),
        sha256=(hashlib.sha256(EDITION_1).hexdigest(),),
        page="https://example.org/dataset",
        licence="Open Government Licence v3.0",
        loader="analysis.sources.published.hate_crime:hate_crime_monthly",
        datastore_slug=SLUG,
    )
    monkeypatch.setitem(P.SOURCES, source.key, source)
    return source


def test_datastore_address_is_looked_up_and_checked(datastore, rolling_source, tmp_path) -> None:
    first = datastore(EDITION_1)
    assert P.datastore_url(rolling_source) == first
    path = P.fetch("test_rolling", cache_dir=tmp_path)
    assert path == tmp_path / "test_rolling" / FILE and path.read_bytes() == EDITION_1
    # the publisher replaces the file: new address, new edition, refused until accepted
    second = datastore(EDITION_2, replacing="r1")
    assert P.datastore_url(rolling_source) == second != first
    assert P.fetch("test_rolling", cache_dir=tmp_path) == path  # the registered edition, cached
    with pytest.raises(P.SourceUnavailable, match="not the edition registered here") as err:
        P.fetch("test_rolling", cache_dir=tmp_path / "fresh")
    assert "--new-editions" in str(err.value)
    # accepted, the current edition is downloaded even though an older one is in the cache
    assert P.fetch("test_rolling", cache_dir=tmp_path, verify=False).read_bytes() == EDITION_2
    third = b"Borough,201004,201005,201006\nCamden,3,4,5\n"
    datastore(third, replacing="r1")
    assert P.fetch("test_rolling", cache_dir=tmp_path, verify=False).read_bytes() == third


def test_datastore_listing_two_files_of_the_name_is_an_error(
    datastore, rolling_source, tmp_path
) -> None:
    datastore(EDITION_1)
    datastore(EDITION_2)  # a second resource with the same file name
    with pytest.raises(P.SourceUnavailable, match="lists 2 files named"):
        P.fetch("test_rolling", cache_dir=tmp_path)


def test_datastore_download_is_cached(datastore, rolling_source, tmp_path, no_network) -> None:
    cached = tmp_path / "test_rolling" / FILE
    cached.parent.mkdir()
    cached.write_bytes(EDITION_1)
    assert P.fetch("test_rolling", cache_dir=tmp_path) == cached  # no lookup, no download


def test_datastore_without_the_file_lists_what_it_has(datastore, rolling_source, tmp_path) -> None:
    datastore(EDITION_1, name="Renamed File.csv")
    with pytest.raises(P.SourceUnavailable, match="no longer lists") as err:
        P.fetch("test_rolling", cache_dir=tmp_path)
    assert "Renamed File.csv" in str(err.value) and "notes.pdf" in str(err.value)


def test_fetch_uses_a_filled_cache_offline(real_files, no_network, tmp_path) -> None:
    source = P.SOURCES["electorate_proxy"]
    cached = tmp_path / source.key / source.files[0]
    cached.parent.mkdir()
    shutil.copyfile(P.fetch("electorate_proxy", mirror=real_files), cached)
    assert P.fetch("electorate_proxy", cache_dir=tmp_path) == cached  # hash matches: no download


def test_employment_all_persons(files, tmp_path) -> None:
    path = held(files, "employment_sex_disability")
    t = P.load_employment_all_persons(path)
    assert set(t.variable) == {"all"} and set(t.group) == {"all"}
    last = 2020 if files.full else 2016
    assert BOROUGHS | {LONDON} <= set(t.area_code) and (t.year.min(), t.year.max()) == (2004, last)
    at = t.query("year == 2016").set_index("area_code")
    assert (at.loc[LONDON, "rate"], at.loc[LONDON, "ci_half_width"]) == (73.7, 0.7)
    assert (at.loc[LONDON, "numerator"], at.loc[LONDON, "denominator"]) == (4410600, 5982700)
    assert (at.loc[CAMDEN, "rate"], at.loc[CAMDEN, "ci_half_width"]) == (69.5, 4.0)
    assert at.loc[CITY, "marker"] == "*" and np.isnan(at.loc[CITY, "ci_half_width"])
    copy = workbook_copy(
        path, tmp_path / "employment-rate-gender-age-disability.xlsx", ("Males", "Females")
    )
    expect_error(
        lambda: P.load_employment_all_persons(copy),
        "employment-rate-gender-age-disability.xlsx",
        "expected a sheet named 'Persons'",
    )
