"""Statistical neighbours: the distance, the ranking, the real profiles (hand-checked) and the page."""

from __future__ import annotations

import csv
import math

import numpy as np
import pandas as pd
import pytest

from analysis import geography, neighbours, report
from analysis.neighbours import Variable
from analysis.sources import published

VARS = (
    Variable("a", "A", "a", 1.0),
    Variable("b1", "B1", "b1", 0.5),
    Variable("b2", "B2", "b2", 0.5),
)


def _constructed() -> pd.DataFrame:
    codes = geography.borough_codes()[:7]
    return pd.DataFrame(
        {
            "a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 10.0],
            "b1": [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 6.0],
            "b2": [1.0, 1.0, 2.0, 2.0, 3.0, np.nan, 3.0],
        },
        index=pd.Index(codes, name="area_code"),
    )


def test_distance_is_weighted_euclidean_of_population_z_scores() -> None:
    values = _constructed()
    d = neighbours.distances(values, VARS)
    z = {c: (values[c] - values[c].mean()) / values[c].std(ddof=0) for c in values}
    a, b = values.index[0], values.index[6]
    expected = math.sqrt(
        1.0 * (z["a"][a] - z["a"][b]) ** 2
        + 0.5 * (z["b1"][a] - z["b1"][b]) ** 2
        + 0.5 * (z["b2"][a] - z["b2"][b]) ** 2
    )
    assert d.loc[a, b] == pytest.approx(expected, rel=1e-12)
    assert d.loc[b, a] == pytest.approx(expected, rel=1e-12)
    assert d.loc[a, a] == 0


def test_a_missing_value_is_left_out_and_the_rest_scaled_to_the_full_weight() -> None:
    values = _constructed()
    d = neighbours.distances(values, VARS)
    z = {c: (values[c] - values[c].mean()) / values[c].std(ddof=0) for c in values}
    a, f = values.index[0], values.index[5]  # f has no b2
    shared = 1.0 * (z["a"][a] - z["a"][f]) ** 2 + 0.5 * (z["b1"][a] - z["b1"][f]) ** 2
    assert d.loc[a, f] == pytest.approx(math.sqrt(shared * 2.0 / 1.5), rel=1e-12)


def test_pairs_sharing_too_little_weight_are_not_compared() -> None:
    values = _constructed()
    values.loc[values.index[5], "a"] = np.nan  # f keeps b1 only: 0.5 of 2.0 shared
    d = neighbours.distances(values, VARS)
    assert d.loc[values.index[5]].drop(values.index[5]).isna().all()


def test_ranking_takes_the_nearest_five_in_order_and_breaks_ties_by_code() -> None:
    codes = geography.borough_codes()[:8]
    values = pd.DataFrame(
        {"a": [0.0, 1.0, -1.0, 2.0, 3.0, -3.0, 7.0, 9.0]}, index=pd.Index(codes, name="area_code")
    )
    table = neighbours.nearest(values, (Variable("a", "A", "a", 1.0),), "test basis", "a")
    first = table[table["borough"] == codes[0]].sort_values("rank")
    # codes[1] and codes[2] are equally near (1 each side): the lower code comes first
    assert first["neighbour"].tolist() == [codes[1], codes[2], codes[3], codes[4], codes[5]]
    assert first["rank"].tolist() == [1, 2, 3, 4, 5]
    assert (np.diff(first["distance"]) > -1e-12).all()  # non-decreasing (ties equal to rounding)
    assert first["distance"].iloc[0] == pytest.approx(first["distance"].iloc[1], rel=1e-12)
    assert list(first["a"]) == [1.0, -1.0, 2.0, 3.0, -3.0]  # the neighbours' own values
    assert len(table) == 8 * 5
    assert set(table.columns) >= {"borough", "rank", "neighbour", "distance", "a", "method"}


def test_a_constant_variable_is_refused_with_its_name() -> None:
    values = _constructed().assign(b1=1.0)
    with pytest.raises(ValueError, match="b1 does not vary"):
        neighbours.distances(values, VARS)


def _raw_profile_columns(path) -> tuple[dict[str, dict[str, float | None]], list[str]]:
    """The profile's raw cells for the neighbour variables, parsed by hand with csv."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    header = [h.replace("\n", "").replace("\r", "") for h in rows[0]]
    wanted = {  # raw header prefix -> variable
        "Population_density_(per_hectare)_2017": "density",
        "Proportion_of_population_aged_0-15": "aged_0_15",
        "Proportion_of_population_aged_65_and_over": "aged_65_plus",
        "%_of_resident_population_born_abroad_(2015)": "born_abroad",
        "%_of_population_from_BAME_groups_(2016)": "bame",
        "Proportion_of_the_working-age_population_who_claim_out-of-work_benefits": "out_of_work_benefits",
        "New_migrant_(NINo)_rates": "new_migrant_rate",
        "Rented_from_Local_Authority_or_Housing_Association": "social_rented",
        "Rented_from_Private_landlord": "private_rented",
    }
    at = {
        name: next(i for i, h in enumerate(header) if h.startswith(prefix))
        for prefix, name in wanted.items()
    }
    out = {}
    for r in rows[1:]:
        if r and r[0].startswith("E09"):
            out[r[0]] = {
                n: (None if r[i].strip() in (".", "n/a") else float(r[i].replace(",", "")))
                for n, i in at.items()
            }
    return out, list(wanted.values())


@pytest.mark.parametrize("borough", ["E09000007", "E09000025"])  # Camden, Newham
def test_real_profile_neighbours_match_a_hand_calculation(real_data, borough) -> None:
    path = real_data / "borough_profiles" / "london-borough-profiles.csv"
    raw, names = _raw_profile_columns(path)
    weights = {
        "density": 1,
        "aged_0_15": 0.5,
        "aged_65_plus": 0.5,
        "born_abroad": 1,
        "bame": 1,
        "out_of_work_benefits": 1,
        "new_migrant_rate": 1,
        "social_rented": 0.5,
        "private_rented": 0.5,
    }
    z: dict[str, dict[str, float]] = {}
    for n in names:
        xs = {
            c: (math.log(v[n]) if n == "density" else v[n])
            for c, v in raw.items()
            if v[n] is not None
        }
        mean = sum(xs.values()) / len(xs)
        sd = math.sqrt(sum((x - mean) ** 2 for x in xs.values()) / len(xs))
        z[n] = {c: (x - mean) / sd for c, x in xs.items()}
    dist = {}
    for other in raw:
        if other == borough:
            continue
        common = [n for n in names if borough in z[n] and other in z[n]]
        total = sum(weights[n] for n in common)
        dist[other] = math.sqrt(
            sum(weights[n] * (z[n][borough] - z[n][other]) ** 2 for n in common)
            * sum(weights.values())
            / total
        )
    expected = sorted(dist, key=lambda c: (dist[c], c))[:5]

    table = neighbours.real(published.load_borough_profiles(path))
    mine = table[table["borough"] == borough].sort_values("rank")
    assert mine["neighbour"].tolist() == expected
    assert mine["distance"].tolist() == pytest.approx([dist[c] for c in expected], rel=1e-9)
    assert len(table) == 33 * 5 and set(table["borough"]) == set(geography.borough_codes())


def test_real_city_of_london_is_compared_on_the_columns_it_has_and_called_a_loose_match(
    real_data,
) -> None:
    table = neighbours.real(
        published.load_borough_profiles(
            real_data / "borough_profiles" / "london-borough-profiles.csv"
        )
    )
    city = table[table["borough"] == "E09000001"]
    assert len(city) == 5 and city["distance"].notna().all()
    assert "City of London has no close match" in " ".join(neighbours.sentences(table, "E09000001"))
    assert neighbours.looseness(table, "E09000007") is None  # Camden has close neighbours


def test_looseness_compares_the_nearest_with_the_median_nearest() -> None:
    codes = geography.borough_codes()[:8]
    values = pd.DataFrame(
        {"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 30.0]}, index=pd.Index(codes, name="area_code")
    )
    table = neighbours.nearest(values, (Variable("a", "A", "a", 1.0),), "test basis", "a")
    assert neighbours.looseness(table, codes[7]).startswith(
        f"{geography.name_of(codes[7])} has no close match"
    )
    assert neighbours.looseness(table, codes[0]) is None


def test_demo_build_writes_neighbours_for_every_borough(demo_results, tmp_path) -> None:
    from analysis import pipeline

    paths = pipeline.write_results(demo_results, tmp_path, parquet=False)
    table = pd.read_csv(paths["neighbours"])
    assert len(table) == 33 * 5
    for _, group in table.groupby("borough"):
        assert group["rank"].tolist() == [1, 2, 3, 4, 5]
        assert group["neighbour"].nunique() == 5 and group["borough"].iloc[0] not in set(
            group["neighbour"]
        )
    assert {v.name for v in neighbours.DEMO_VARIABLES} <= set(table.columns)


def test_borough_page_names_five_neighbours_with_the_method(tmp_path, demo_results) -> None:
    from analysis import pipeline

    pipeline.write_results(demo_results, tmp_path, parquet=False)
    near = neighbours.read(tmp_path)
    page = report.BoroughPage("Camden", tmp_path)
    html = page.similar().html
    names = near[near["borough"] == "E09000007"].sort_values("rank")["neighbour_name"].tolist()
    assert len(names) == 5
    assert "Similar boroughs" in html
    assert ("The five boroughs most like Camden: " + ", ".join(names) + ".") in html
    assert "standardised (z-score) Euclidean distance" in html
    assert "Inner London" in html  # Camden's half of London beside it
    assert "<caption " in html and "scope='col'" in html  # an accessible table
    cmp = neighbours.comparison(
        report.borough_indicator_rows(page.data), page.data.estimates, "E09000007", near
    )
    assert set(cmp["role"]) == {"borough", "neighbour", "half"}
    assert set(cmp.loc[cmp["role"] == "neighbour", "area_name"]) == set(names)


def test_a_bad_profile_value_is_refused_naming_file_borough_and_column(real_data) -> None:
    from analysis.validate import InputError

    profiles = published.load_borough_profiles(
        real_data / "borough_profiles" / "london-borough-profiles.csv"
    )
    broken = profiles.copy()
    broken.loc["E09000007", "pct_of_population_from_bame_groups_2016"] = 130.0
    with pytest.raises(
        InputError,
        match=r"london-borough-profiles.csv, column 'pct_of_population_from_bame_groups_2016'"
        r".*E09000007 has 130",
    ):
        neighbours.profile_characteristics(broken)
    with pytest.raises(InputError, match="population_density_per_hectare_2017"):
        neighbours.profile_characteristics(
            profiles.drop(columns="population_density_per_hectare_2017")
        )
