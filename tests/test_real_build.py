"""Real sources through the whole data step, and new survey waves added from files."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from analysis import geography, pipeline, schemas
from analysis.sources import demo


@pytest.fixture(scope="module")
def real_results(real_data):
    from analysis.sources import real

    return pipeline.compute(real.real_inputs(real_data))


def test_real_build_estimates_what_the_sources_support(real_results) -> None:
    e = real_results.estimates
    assert not e["synthetic"].any()
    assert set(e["measure_id"]) == {"electoral_registration", "hate_crime", "gcse_attainment", "employment_gap",
                                    "population_churn", "turnout_local_elections", "born_abroad"}
    assert "volunteering" in real_results.skipped  # survey microdata: no open source
    camden = e[e.area_code == "E09000007"].set_index(["indicator", "period"])
    # MYEB3 2016: (20300 + 23452 + 12775 + 5947) / 249162
    assert camden.loc[("population_churn", "2016"), "value"] == pytest.approx(100 * 62474 / 249162)
    assert camden.loc[("turnout_local_elections", "2014"), "value"] == pytest.approx(38.7)
    assert "Proxy" in e[e.indicator == "electoral_registration"]["source"].iloc[0]


def test_real_employment_gaps_follow_the_published_rates(real_results) -> None:
    e = real_results.estimates
    london = e[(e.area_code == geography.LONDON_CODE) & (e.period == "2016")].set_index(["indicator", "group"])
    white = london.loc[("employment_rate", "White"), "value"]
    black = london.loc[("employment_rate", "Black"), "value"]
    assert london.loc[("employment_gap_black", "White minus Black"), "value"] == pytest.approx(white - black)
    assert abs(london.loc[("employment_gap_pakistani_bangladeshi", "White minus Pakistani/Bangladeshi"), "value"] - 24) < 1.5
    # the publisher's "!" marker means nothing is shown
    assert e[e.flag == "[c]"]["value"].isna().all()


def test_a_new_wave_extends_trends_and_changes(tmp_path) -> None:
    import run_all

    wave = demo.survey_wave("taking_part", "2019/20")
    wave.to_csv(tmp_path / "wave.csv", index=False)
    variables = {col.name: col.name for col in schemas.survey_schema("taking_part").columns if col.name != "period"}
    (tmp_path / "codebook.yaml").write_text(yaml.safe_dump(
        {"family": "taking_part", "period": "2019/20", "variables": variables}))
    factory, key, files = run_all.inputs_for("demo", None, [(str(tmp_path / "wave.csv"), str(tmp_path / "codebook.yaml"))])
    _, key_without, _ = run_all.inputs_for("demo", None, [])
    assert str((tmp_path / "wave.csv").resolve()) in files
    assert key != key_without
    from analysis import measures

    results = pipeline.compute(factory(), [measures.get("volunteering")])
    london = results.estimates[(results.estimates.area_code == geography.LONDON_CODE)
                               & (results.estimates.breakdown == "all")]
    assert london["period"].tolist()[-1] == "2019/20"
    change = results.changes[(results.changes.area_code == geography.LONDON_CODE)
                             & (results.changes.breakdown == "all")].iloc[-1]
    assert (change.previous_period, change.period) == ("2018/19", "2019/20")
    assert np.isfinite(change.p_value)


def test_no_change_is_tested_across_a_break_in_the_series(real_results) -> None:
    ch = real_results.changes
    gcse = ch[(ch.indicator == "gcse_attainment") & (ch.area_code == geography.LONDON_CODE)].set_index("period")
    for period in ("2017", "2020"):
        if period in gcse.index:
            assert gcse.loc[period, "direction"] == "not_compared"


def test_real_inputs_give_identical_estimates_twice(real_data, tmp_path) -> None:
    from analysis.sources import real

    for name in ("a", "b"):
        pipeline.write_results(pipeline.compute(real.real_inputs(real_data)), tmp_path / name, parquet=False)
    assert (tmp_path / "a" / "estimates.csv").read_bytes() == (tmp_path / "b" / "estimates.csv").read_bytes()
