from __future__ import annotations

import pandas as pd
import pytest

from analysis import geography
from analysis.validate import InputError


def test_thirty_three_local_authorities_with_gss_codes() -> None:
    codes = geography.borough_codes()
    assert codes == [f"E09{n:06d}" for n in range(1, 34)]
    assert geography.name_of("E09000001") == "City of London"
    assert geography.name_of(geography.LONDON_CODE) == "London"


def test_inner_london_is_the_ons_statistical_definition() -> None:
    inner = {b.name for b in geography.all_borough_objects() if b.inner_outer == "Inner"}
    assert len(inner) == 14
    assert {"Haringey", "Newham", "City of London", "Westminster"} <= inner
    assert "Greenwich" not in inner
    assert geography.sub_region_code("Greenwich") == geography.OUTER_LONDON_CODE


@pytest.mark.parametrize(
    "name, code",
    [
        ("Kensington & Chelsea", "E09000020"),
        ("  kensington and  CHELSEA ", "E09000020"),
        ("kensington-and-chelsea", "E09000020"),
        ("Hammersmith & Fulham", "E09000013"),
        ("Barking & Dagenham", "E09000002"),
        ("City", "E09000001"),
        ("Richmond", "E09000027"),
        ("Kingston", "E09000021"),
        ("Kingston-upon-Thames", "E09000021"),
        ("London Borough of Camden", "E09000007"),
        ("Royal Borough of Greenwich", "E09000011"),
        ("City of Westminster", "E09000033"),
        ("E09000033", "E09000033"),
        ("e09000033", "E09000033"),
        ("London", "E12000007"),
        ("Inner London", "E13000001"),
    ],
)
def test_names_aliases_and_codes_resolve(name: str, code: str) -> None:
    assert geography.to_code(name) == code


def test_unknown_name_lists_closest_valid_names() -> None:
    with pytest.raises(geography.UnknownAreaError, match="Did you mean: .*Westminster"):
        geography.to_code("Westminstr")
    with pytest.raises(geography.UnknownAreaError):
        geography.to_code("London", allow_aggregates=False)


def test_slugs_follow_official_names() -> None:
    assert geography.slug_of("Kensington & Chelsea") == "kensington-and-chelsea"
    assert geography.slug_of("City") == "city-of-london"
    slugs = geography.boroughs()["slug"]
    assert slugs.is_unique and (slugs == slugs.str.lower()).all()


def test_standardise_column_names_file_row_and_column() -> None:
    values = pd.Series(["Camden", "Richmond", "Narnia"])
    with pytest.raises(InputError) as err:
        geography.standardise_column(values, source="hate.csv", column="Borough")
    assert (
        "hate.csv" in str(err.value) and "row 4" in str(err.value) and "'Borough'" in str(err.value)
    )
    ok = geography.standardise_column(pd.Series(["Camden", "City", "camden"]))
    assert ok.tolist() == ["E09000007", "E09000001", "E09000007"]


def test_committed_boundaries_hold_the_33_valid_shapes() -> None:
    shapes = geography.load_boundaries()
    assert len(shapes) == 33
    assert shapes["code"].tolist() == geography.borough_codes()
    assert shapes.geometry.is_valid.all()
    assert shapes.crs.to_epsg() == 4326
    assert geography.DEFAULT_BOUNDARIES.stat().st_size < 1_000_000


def test_full_resolution_london_datastore_shapefile(real_data) -> None:
    shapes = geography.load_boundaries(
        real_data / "boundaries" / "London_Borough_Excluding_MHW.shp"
    )
    assert len(shapes) == 33
    assert shapes.crs.to_epsg() == 27700
    # the generalised outline covers nearly the same area as the detailed one
    simple = geography.load_boundaries().to_crs(27700)
    ratio = simple.geometry.area.to_numpy() / shapes.geometry.area.to_numpy()
    assert ratio.min() > 0.97 and ratio.max() < 1.03


def test_boundary_file_without_codes_is_rejected(tmp_path) -> None:
    import geopandas as gpd
    from shapely.geometry import box

    bad = gpd.GeoDataFrame({"name": ["x"]}, geometry=[box(0, 0, 1, 1)], crs=4326)
    path = tmp_path / "bad.geojson"
    bad.to_file(path, driver="GeoJSON")
    with pytest.raises(InputError, match="GSS_CODE"):
        geography.load_boundaries(path)
