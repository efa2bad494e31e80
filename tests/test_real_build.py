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
    assert set(e["measure_id"]) == {
        "electoral_registration",
        "hate_crime",
        "gcse_attainment",
        "employment_gap",
        "population_churn",
        "turnout_local_elections",
        "born_abroad",
    }
    assert "volunteering" in real_results.skipped  # survey microdata: no open source
    camden = e[e.area_code == "E09000007"].set_index(["indicator", "period"])
    # MYEB3 2016: (20300 + 23452 + 12775 + 5947) / 249162
    assert camden.loc[("population_churn", "2016"), "value"] == pytest.approx(100 * 62474 / 249162)
    assert camden.loc[("turnout_local_elections", "2014"), "value"] == pytest.approx(38.7)
    registration = e[e.indicator == "electoral_registration"]
    assert (
        registration["proxy"].all()
        and not e.loc[e.indicator != "electoral_registration", "proxy"].any()
    )
    assert "EU referendum" in registration["source"].iloc[0]


def test_real_employment_gaps_follow_the_published_rates(real_results) -> None:
    e = real_results.estimates
    london = e[(e.area_code == geography.LONDON_CODE) & (e.period == "2016")].set_index(
        ["indicator", "group"]
    )
    white = london.loc[("employment_rate", "White"), "value"]
    black = london.loc[("employment_rate", "Black"), "value"]
    assert london.loc[("employment_gap_black", "White minus Black"), "value"] == pytest.approx(
        white - black
    )
    assert (
        abs(
            london.loc[
                ("employment_gap_pakistani_bangladeshi", "White minus Pakistani/Bangladeshi"),
                "value",
            ]
            - 24
        )
        < 1.5
    )
    # the publisher's "!" marker means nothing is shown
    assert e[e.flag == "[c]"]["value"].isna().all()


def test_a_new_wave_extends_trends_and_changes(tmp_path) -> None:
    import run_all

    wave = demo.survey_wave("taking_part", "2019/20")
    wave.to_csv(tmp_path / "wave.csv", index=False)
    variables = {
        col.name: col.name
        for col in schemas.survey_schema("taking_part").columns
        if col.name != "period"
    }
    (tmp_path / "codebook.yaml").write_text(
        yaml.safe_dump({"family": "taking_part", "period": "2019/20", "variables": variables})
    )
    factory, key, files = run_all.inputs_for(
        "demo", None, [(str(tmp_path / "wave.csv"), str(tmp_path / "codebook.yaml"))]
    )
    _, key_without, _ = run_all.inputs_for("demo", None, [])
    assert str((tmp_path / "wave.csv").resolve()) in files
    assert key != key_without
    from analysis import measures

    results = pipeline.compute(factory(), [measures.get("volunteering")])
    london = results.estimates[
        (results.estimates.area_code == geography.LONDON_CODE)
        & (results.estimates.breakdown == "all")
    ]
    assert london["period"].tolist()[-1] == "2019/20"
    change = results.changes[
        (results.changes.area_code == geography.LONDON_CODE) & (results.changes.breakdown == "all")
    ].iloc[-1]
    assert (change.previous_period, change.period) == ("2018/19", "2019/20")
    assert np.isfinite(change.p_value)


def test_no_change_is_tested_across_a_break_in_the_series(real_results) -> None:
    ch = real_results.changes
    gcse = ch[
        (ch.indicator == "gcse_attainment") & (ch.area_code == geography.LONDON_CODE)
    ].set_index("period")
    for period in ("2017", "2020"):
        if period in gcse.index:
            assert gcse.loc[period, "direction"] == "not_compared"


def test_real_inputs_give_identical_estimates_twice(real_data, tmp_path) -> None:
    from analysis.sources import real

    for name in ("a", "b"):
        pipeline.write_results(
            pipeline.compute(real.real_inputs(real_data)), tmp_path / name, parquet=False
        )
    assert (tmp_path / "a" / "estimates.csv").read_bytes() == (
        tmp_path / "b" / "estimates.csv"
    ).read_bytes()


def _new_hate_crime_edition(real_data, folder):
    """A mirror whose hate crime file is a later edition: one more month, one count revised."""
    import csv
    import shutil

    shutil.copytree(real_data, folder)
    path = next(folder.rglob("Monthly Crime Other Crime Borough Level Off Type.csv"))
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    jan_2018 = header.index("201801")
    for row in rows[1:]:
        if row[0] == "Camden" and row[2] == "Racist and Religious Hate Crime":
            row[jan_2018] = str(int(row[jan_2018]) + 100)
        row.append("0")
    header.append("202106")
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return folder


def test_a_new_edition_is_refused_unless_accepted(real_data, real_results, tmp_path) -> None:
    from analysis.sources import published, real

    mirror = _new_hate_crime_edition(real_data, tmp_path / "mirror")
    with pytest.raises(published.SourceUnavailable, match="hate_crime"):
        real.real_inputs(mirror)
    newer = pipeline.compute(real.real_inputs(mirror, verify=False)).estimates

    def camden_2018(est):
        row = est[
            (est["measure_id"] == "hate_crime")
            & (est["area_code"] == "E09000007")
            & (est["period"] == "2018")
        ]
        return float(row["value"].iloc[0])

    old, new = camden_2018(real_results.estimates), camden_2018(newer)
    # 100 more crimes in January 2018 over Camden's mid-2018 population (about 262,000)
    assert new - old == pytest.approx(100 / 262_000 * 1000, rel=0.03)
    # the key and the recorded checksums follow the files actually read
    newer_source = real.PublishedSource(mirror, verify=False)
    files, pinned = newer_source.read_files(), real.PublishedSource(real_data).read_files()
    assert [label for label in files if files[label] != pinned[label]] == [
        label for label in files if label.startswith("hate_crime ")
    ]
    assert newer_source.key() != real.PublishedSource(mirror).key()


def test_run_all_reports_a_refused_edition_clearly(real_data, tmp_path, capsys) -> None:
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "run_all", Path(__file__).resolve().parents[1] / "run_all.py"
    )
    run_all = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_all)
    mirror = _new_hate_crime_edition(real_data, tmp_path / "mirror")
    code = run_all.main(
        [
            "--source",
            "real",
            "--mirror",
            str(mirror),
            "--out",
            str(tmp_path / "out"),
            "--no-progress",
            "--only",
            "london",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "error: source 'hate_crime'" in err and "--new-editions" in err, err
    assert not (tmp_path / "out" / "london.html").exists()


def test_the_key_covers_exactly_the_files_a_real_build_reads(real_data, monkeypatch) -> None:
    from analysis.sources import published, real

    read = []
    original = published.load

    def recording(key, *args, **kwargs):
        read.append(key)
        return original(key, *args, **kwargs)

    monkeypatch.setattr(published, "load", recording)
    real.real_inputs(real_data)
    assert sorted(read) == sorted(real.SOURCE_KEYS)
    assert len(real.PublishedSource(real_data).read_files()) == len(real.SOURCE_KEYS)


def test_real_reports_show_no_synthetic_figure(real_data, tmp_path) -> None:
    """A real build's pages carry their real sources, no synthetic notice, and say plainly when
    a measure has no open source, instead of showing anything synthetic."""
    import run_all

    out = tmp_path / "out"
    code = run_all.main(
        [
            "--source",
            "real",
            "--mirror",
            str(real_data),
            "--out",
            str(out),
            "--no-progress",
            "--only",
            "london",
            "--only",
            "measure:electoral_registration",
            "--only",
            "measure:get_on_well",
            "--only",
            "camden",
        ]
    )
    assert code == 0
    pages = {
        rel: (out / f"{rel}.html").read_text()
        for rel in (
            "london",
            "measures/electoral_registration",
            "measures/get_on_well",
            "boroughs/camden",
        )
    }
    for rel, page in pages.items():
        assert "Synthetic demonstration data" not in page, rel
    assert "Synthetic demonstration data" not in (out / "index.html").read_text()
    assert "No figures: this build has no source for this measure." in pages["measures/get_on_well"]
    assert "Electoral Commission" in pages["measures/electoral_registration"]
    assert "<img" in pages["measures/electoral_registration"]  # real figures are charted
    assert not (
        out / "analysis" / "programme_evaluation.html"
    ).exists()  # demo-only analysis left out


def test_real_inputs_carry_the_small_area_covariates(real_data) -> None:
    """Survey waves added to a real build are modelled on the Borough Profiles' covariates."""
    from analysis.sae import covariates
    from analysis.sources import published, real

    inputs = real.real_inputs(real_data)
    profiles = published.load_borough_profiles(
        real_data / "borough_profiles" / "london-borough-profiles.csv"
    )
    import pandas as pd

    pd.testing.assert_frame_equal(inputs.area_covariates, covariates.from_profiles(profiles))
