"""The synthetic demo: deterministic, shaped like the real sources, calibrated to the strategy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import geography, measures, report, schemas
from analysis.sources import demo

FOUR = {
    "E09000033",
    "E09000020",
    "E09000030",
    "E09000007",
}  # Westminster, K&C, Tower Hamlets, Camden


def test_generator_is_deterministic() -> None:
    a = demo.survey_wave("hbai_frs", "2015/16")
    b = demo.survey_wave("hbai_frs", "2015/16")
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(demo.survey_wave("hbai_frs", "2016/17"))


def test_every_family_has_five_waves_with_design_and_demographics(demo_inputs) -> None:
    for family, frame in demo_inputs.surveys.items():
        assert frame["period"].nunique() >= 5, family
        for col in (*schemas.DESIGN_COLUMNS, *schemas.LEVELS, *schemas.survey_items()[family]):
            assert col in frame.columns, (family, col)
        for var, levels in schemas.LEVELS.items():
            assert set(frame[var]) == set(levels), (family, var)
        per_wave = frame.groupby("period").size()
        assert per_wave.min() >= 1500, family
        # weights vary and sum to roughly London's adult population each wave
        totals = frame.groupby("period")["weight"].sum()
        assert ((totals > 6.0e6) & (totals < 7.5e6)).all(), family
        assert frame["weight"].std() > 0
        psus = frame.groupby(["period", "stratum"])["psu"].nunique()
        assert psus.min() >= 2, family
    pas = demo_inputs.surveys["pas"]
    assert pas["period"].str.match(r"^\d{4}/\d{2}$").all()
    assert set(pas["borough"]) == set(geography.borough_codes())
    assert pas.groupby("period").size().iloc[0] > 12000  # like the real PAS
    assert demo_inputs.surveys["aps_lfs"]["period"].tolist()[0] == "2014"


def test_admin_tables_cover_every_borough_and_year(demo_inputs) -> None:
    for name, table in demo_inputs.admin.items():
        if name in schemas.VALUE_TABLES:  # one published edition, with the aggregates' own values
            assert len(table) == 36 and table["year"].nunique() == 1, name
            continue
        assert sorted(table["year"].unique()) == [2014, 2015, 2016, 2017, 2018], name
        expected = 32 if name == "hate_crime" else 33
        assert table.groupby("year")["area_code"].nunique().eq(expected).all(), name
    assert "E09000001" not in set(demo_inputs.admin["hate_crime"]["area_code"])  # City police


def _london(
    results, indicator: str, period: str, breakdown: str | None = None, group: str | None = None
) -> float:
    e = report.main_rows(results.estimates) if breakdown is None else results.estimates
    hit = e[
        (e.indicator == indicator) & (e.period == period) & (e.area_code == geography.LONDON_CODE)
    ]
    if breakdown is not None:
        hit = hit[(hit.breakdown == breakdown) & (hit.group == group)]
    assert len(hit) == 1, (indicator, period)
    return float(hit["value"].iloc[0])


def _references():
    return [
        (m.id, s.indicator, s.reference)
        for m in measures.registry()
        for s in m.series
        if s.reference
    ]


def _group_references():
    return [(m.id, g) for m in measures.registry() for g in m.group_references]


@pytest.mark.parametrize(
    "measure_id, indicator, reference", _references(), ids=lambda x: getattr(x, "period", x)
)
def test_london_estimates_reproduce_the_strategy_within_1_5_points(
    demo_results, measure_id, indicator, reference
):
    assert abs(_london(demo_results, indicator, reference.period) - reference.value) <= 1.5


@pytest.mark.parametrize(
    "measure_id, ref", _group_references(), ids=lambda x: getattr(x, "group", x)
)
def test_group_figures_reproduce_the_strategy_within_1_5_points(
    demo_results, measure_id, ref
) -> None:
    assert (
        abs(_london(demo_results, ref.indicator, ref.period, ref.breakdown, ref.group) - ref.value)
        <= 1.5
    )


def test_strategy_borough_pattern(demo_results) -> None:
    e = demo_results.estimates
    reg = e[
        (e.indicator == "electoral_registration") & (e.period == "2016") & e.area_code.isin(FOUR)
    ]
    churn = e[(e.indicator == "population_churn") & (e.period == "2016") & e.area_code.isin(FOUR)]
    assert reg["value"].between(68, 78).all() and len(reg) == 4
    assert churn["value"].between(12, 17).all() and len(churn) == 4
    assert (reg["compared_to_london"] == "lower").all()
    # the other boroughs register more and churn less on average
    rest = e[
        (e.indicator == "electoral_registration")
        & (e.period == "2016")
        & e.area_code.str.startswith("E09")
        & ~e.area_code.isin(FOUR)
    ]
    assert rest["value"].mean() > 84


def test_subgroup_patterns_follow_the_strategy(demo_results) -> None:
    e = demo_results.estimates

    def group(indicator, period, breakdown, level):
        row = e[
            (e.indicator == indicator)
            & (e.period == period)
            & (e.breakdown == breakdown)
            & (e.group == level)
            & (e.area_code == geography.LONDON_CODE)
        ]
        return float(row["value"].iloc[0])

    assert group("volunteering", "2015/16", "age_band", "65+") > _london(
        demo_results, "volunteering", "2015/16"
    )
    assert group("volunteering", "2015/16", "nssec", "Routine and manual") < _london(
        demo_results, "volunteering", "2015/16"
    )
    assert group("social_isolation", "2014/15", "age_band", "16-24") > _london(
        demo_results, "social_isolation", "2014/15"
    )


def test_everything_from_the_demo_is_marked_synthetic(demo_results) -> None:
    assert demo_results.estimates["synthetic"].all()
    assert demo_results.estimates["source"].str.startswith("Synthetic demonstration data").all()


def test_benchmark_sized_wave_stays_calibrated() -> None:
    big = demo.survey_wave("pas", "2016/17", n=60_000)
    assert 55_000 < len(big) < 65_000
    rate = np.average(
        big["get_on_well"].dropna(), weights=big.loc[big["get_on_well"].notna(), "weight"]
    )
    assert abs(100 * rate - 91) < 1.5
