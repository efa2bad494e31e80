"""The "what changed" briefing (analysis.briefing): false discovery rate control over every
test, the order of findings, and revisions between builds."""

from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pytest
from rcheck import rscript_with

from analysis import briefing, briefing_page, build, geography, measures, pipeline
from analysis import trends as trends_module

LONDON, CAMDEN = geography.LONDON_CODE, "E09000007"


def test_benjamini_hochberg_by_hand() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 scaled by 4/rank: 0.02, 0.02, 0.04, 0.04
    q = briefing.benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.005]))
    assert q == pytest.approx([0.02, 0.04, 0.04, 0.02])
    # monotone from the largest down, and never above 1
    assert briefing.benjamini_hochberg(np.array([0.9, 0.8, 0.01])) == pytest.approx(
        [0.9, 0.9, 0.03]
    )
    assert briefing.benjamini_hochberg(np.array([1.0, 1.0])).max() == 1.0


def test_benjamini_hochberg_matches_r_live() -> None:
    rscript = rscript_with()
    p = [0.0001, 0.004, 0.019, 0.03, 0.046, 0.2, 0.5, 0.71, 0.03]
    out = subprocess.run(
        [rscript, "-e", f"cat(sprintf('%.17g', p.adjust(c({', '.join(map(str, p))}), 'BH')))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert briefing.benjamini_hochberg(np.array(p)) == pytest.approx(
        [float(x) for x in out], abs=1e-12
    )


def _estimates(rows):
    """Estimates rows: (measure, indicator, area, breakdown, group, period, value, polarity)."""
    return pd.DataFrame(
        [
            dict(
                measure_id=m,
                indicator=i,
                area_code=a,
                area_name=geography.name_of(a) if a.startswith("E09") else geography.AGGREGATES[a],
                breakdown=b,
                group=g,
                period=p,
                value=v,
                flag="",
                unit="%",
                polarity=pol,
                lower_ci=np.nan,
                upper_ci=np.nan,
                source="s",
            )
            for m, i, a, b, g, p, v, pol in rows
        ]
    )


def _change(measure, area, p_value, change=1.0, breakdown="all", group="all"):
    return dict(
        measure_id=measure,
        indicator=measure,
        area_code=area,
        breakdown=breakdown,
        group=group,
        previous_period="2017",
        period="2018",
        previous_value=50.0,
        value=50.0 + change,
        change=change,
        p_value=p_value,
        direction=("increased" if change > 0 else "decreased")
        if p_value < 0.05
        else "no significant change",
        flag="",
        unit="%",
    )


def _family(n_null: int = 18):
    """Twenty change tests: two raw-significant ones, the rest clearly null; no trends."""
    ids = [f"m{k}" for k in range(n_null + 2)]
    changes = pd.DataFrame(
        [_change(ids[0], LONDON, 0.001), _change(ids[1], LONDON, 0.03)]
        + [_change(i, LONDON, 0.5) for i in ids[2:]]
    )
    est = _estimates(
        [(i, i, LONDON, "all", "all", p, 50.0, "up") for i in ids for p in ("2017", "2018")]
    )
    trends = pd.DataFrame(columns=trends_module.COLUMNS)
    return changes, trends, est


def test_only_changes_that_survive_the_false_discovery_rate_are_listed() -> None:
    changes, trends, est = _family()
    found = briefing.findings(changes, trends, est)
    # 0.001 * 20 / 1 = 0.02 survives; 0.03 * 20 / 2 = 0.3 does not, though p < 0.05
    assert list(found["measure_id"]) == ["m0"]
    assert found["q_value"].iloc[0] == pytest.approx(0.02)
    assert list(found.columns) == briefing.FINDING_COLUMNS


def test_trends_and_changes_form_one_family_and_london_comes_first() -> None:
    changes = pd.DataFrame(
        [
            _change("a", CAMDEN, 1e-9),
            _change("b", LONDON, 0.01, change=-2.0),
            _change("c", LONDON, 0.004, breakdown="sex", group="Female"),
        ]
    )
    trends = pd.DataFrame(
        [
            dict(
                measure_id="a",
                indicator="a",
                area_code=LONDON,
                breakdown="all",
                group="all",
                from_period="2014",
                to_period="2018",
                points=5,
                direction="increasing",
                p_value=0.002,
                method="wls",
            ),
            dict(
                measure_id="b",
                indicator="b",
                area_code=geography.INNER_LONDON_CODE,
                breakdown="all",
                group="all",
                from_period="2014",
                to_period="2018",
                points=5,
                direction="no significant trend",
                p_value=0.4,
                method="wls",
            ),
        ]
    )
    est = _estimates(
        [
            (m, m, a, b, g, p, 50.0, pol)
            for m, a, b, g, pol in [
                ("a", CAMDEN, "all", "all", "up"),
                ("a", LONDON, "all", "all", "up"),
                ("b", LONDON, "all", "all", "down"),
                ("b", geography.INNER_LONDON_CODE, "all", "all", "down"),
                ("c", LONDON, "sex", "Female", "neutral"),
            ]
            for p in ("2014", "2017", "2018")
        ]
    )
    found = briefing.findings(changes, trends, est)
    # London (by q: the trend of a, then the change of b), groups, then the borough whatever its q
    assert list(zip(found["level"], found["measure_id"], found["test"])) == [
        ("London", "a", briefing.TREND),
        ("London", "b", briefing.CHANGE),
        ("Population groups", "c", briefing.CHANGE),
        ("Boroughs", "a", briefing.CHANGE),
    ]
    # better/worse from the row's polarity; a neutral indicator is never judged
    assert list(found["assessment"]) == ["better", "better", "not_judged", "better"]
    assert found["q_value"].max() <= briefing.FDR_Q
    text = briefing_page.finding_sentence(found.iloc[0])
    assert text.startswith(
        "a, London: increasing from 50.0% in 2014 to 50.0% in 2018 (5 points, p = 0.002"
    )
    assert "better" not in briefing_page.finding_sentence(found.iloc[2])


def _electoral_results(inputs: pipeline.Inputs) -> pipeline.Results:
    return pipeline.compute(inputs, registry=[measures.get("electoral_registration")])


def test_revisions_appear_when_a_source_edition_changes(tmp_path, demo_inputs) -> None:
    first = _electoral_results(demo_inputs)
    pipeline.write_results(first, tmp_path, parquet=False)
    assert not (tmp_path / briefing.PREVIOUS).exists()
    assert pd.read_csv(tmp_path / "revisions.csv").empty
    # the same inputs again: nothing kept, nothing revised
    pipeline.write_results(first, tmp_path, parquet=False)
    assert not (tmp_path / briefing.PREVIOUS).exists()
    # a new edition of the electoral table: Camden's 2016 electors revised upwards
    admin = {k: v.copy() for k, v in demo_inputs.admin.items()}
    table = admin["electoral"]
    hit = (table["area_code"] == CAMDEN) & (table["year"] == 2016)
    assert hit.sum() == 1
    table.loc[hit, "electors"] = table.loc[hit, "electors"] * 0.95
    second = _electoral_results(
        pipeline.Inputs(surveys={}, admin=admin, synthetic=True, validated=True)
    )
    pipeline.write_results(second, tmp_path, parquet=False)
    assert (tmp_path / briefing.PREVIOUS).exists()
    revised = pd.read_csv(tmp_path / "revisions.csv", dtype={"period": str})
    assert set(revised["period"]) == {"2016"}  # only that period's figures move
    assert set(revised["area_code"]) == {CAMDEN, geography.INNER_LONDON_CODE, LONDON}
    camden = revised[revised.area_code == CAMDEN].iloc[0]
    old = first.estimates.query("area_code == @CAMDEN and period == '2016'")["value"].iloc[0]
    new = second.estimates.query("area_code == @CAMDEN and period == '2016'")["value"].iloc[0]
    assert camden["previous_value"] == pytest.approx(old, rel=1e-9) and camden[
        "value"
    ] == pytest.approx(new, rel=1e-9)
    assert camden["difference"] == pytest.approx(new - old, rel=1e-6) and new < old
    # a rebuild from the same new edition keeps the previous copy, so the revisions stay listed
    pipeline.write_results(second, tmp_path, parquet=False)
    assert len(pd.read_csv(tmp_path / "revisions.csv")) == len(revised)
    page = briefing_page.ChangesPage(tmp_path).revised().html
    assert "Revisions since the previous build" in page and "Camden" in page
    assert f"{old:,.2f}" in page and f"{new:,.2f}" in page


def test_briefing_is_a_report_linked_from_the_index(tmp_path) -> None:
    jobs = build.plan(tmp_path / "data")
    job = next(j for j in jobs if j.kind == "briefing")
    assert (job.output, job.notebook) == ("changes", "changes.ipynb")
    assert not any(j.notebook == "changes.ipynb" for j in jobs if j is not job)
    (tmp_path / "changes.html").write_text("page")
    build.write_index(
        tmp_path, jobs, {"changes": {"status": "built", "key": "k"}}, {"synthetic": True}
    )
    index = (tmp_path / "index.html").read_text()
    assert "href='changes.html'" in index and "href='data/trends.csv'" in index
    assert build.select(jobs, ["changes"]) == [job]


def test_demo_briefing_lists_only_survivors(tmp_path, demo_results) -> None:
    pipeline.write_results(demo_results, tmp_path, parquet=False)
    found = pd.read_csv(tmp_path / "briefing.csv")
    assert len(found) and (found["q_value"] <= briefing.FDR_Q).all()
    assert found["direction"].isin(["increased", "decreased", "increasing", "decreasing"]).all()
    assert list(found["level"].map(briefing.LEVELS.index)) == sorted(
        found["level"].map(briefing.LEVELS.index)
    )
    # fewer findings than raw p < 0.05 tests: the control bites
    trends = pd.read_csv(tmp_path / "trends.csv")
    raw = (trends["p_value"] < 0.05).sum()
    assert (found["test"] == briefing.TREND).sum() < raw
    page = briefing_page.ChangesPage(tmp_path)
    assert "Benjamini" in page.header().html and "first build" in page.revised().html


def test_real_new_edition_lists_the_revised_figures(real_data, tmp_path) -> None:
    """A later edition of the real hate crime file (Camden's January 2018 count revised) shows
    up as revisions of Camden's, Inner London's and London's 2018 figures, and nothing else."""
    from test_real_build import _new_hate_crime_edition

    from analysis.sources import real

    out = tmp_path / "data"
    pipeline.write_results(pipeline.compute(real.real_inputs(real_data)), out, parquet=False)
    mirror = _new_hate_crime_edition(real_data, tmp_path / "mirror")
    pipeline.write_results(
        pipeline.compute(real.real_inputs(mirror, verify=False)), out, parquet=False
    )
    revised = pd.read_csv(out / "revisions.csv", dtype={"period": str})
    assert set(revised["measure_id"]) == {"hate_crime"} and set(revised["period"]) == {"2018"}
    assert set(revised["area_code"]) == {CAMDEN, geography.INNER_LONDON_CODE, LONDON}
    camden = revised[revised.area_code == CAMDEN].iloc[0]
    assert camden["difference"] == pytest.approx(100 / 262_000 * 1000, rel=0.03)
    # the trends and the briefing of a real build are written from the same tables
    trends = pd.read_csv(out / "trends.csv")
    assert (
        trends[trends.measure_id == "gcse_attainment"]["from_period"].astype(str) >= "2017"
    ).all()


def test_briefing_page_escapes_the_text_it_shows(tmp_path, demo_results) -> None:
    """Labels reach the page as text: in the sentences and in the tables alike."""
    pipeline.write_results(demo_results, tmp_path, parquet=False)
    page = briefing_page.ChangesPage(tmp_path)
    f = page.findings
    assert len(f) >= len(briefing.LEVELS)
    # every level shown (sentences for London, tables for groups, the boroughs' own table)
    levels = [briefing.LEVELS[i % len(briefing.LEVELS)] for i in range(len(f))]
    page.findings = f.assign(label="Trust <b>& belonging</b>", level=levels)
    for name in briefing.LEVELS:
        body = page.level(name).html
        assert "Trust &lt;b&gt;&amp; belonging&lt;/b&gt;" in body and "<b>" not in body


def test_demo_briefing_page_says_every_finding(tmp_path, demo_results) -> None:
    import html as html_lib

    pipeline.write_results(demo_results, tmp_path, parquet=False)
    page = briefing_page.ChangesPage(tmp_path)
    text = html_lib.unescape(page.levels().html)
    f = page.findings
    for _, row in f[f["level"].isin(["London", "Inner and Outer London"])].iterrows():
        assert briefing_page.finding_sentence(row) in text
    boroughs = f[f["level"] == "Boroughs"]
    # every borough finding is counted once in the boroughs' table
    counts = [int(n) for n in __import__("re").findall(r"<td>(\d+): ", page.level("Boroughs").html)]
    assert sum(counts) == len(boroughs)
    # the header's counts are the table's
    header = page.header().html
    assert f"{(f['test'] == briefing.CHANGE).sum()} changes" in header


def _build_rows(values, synthetic=True):
    """Estimates of one measure in 2017 and 2018: value per (area, breakdown, group, period)."""
    return pd.DataFrame(
        [
            dict(
                measure_id="m",
                indicator="m",
                area_code=a,
                area_name=geography.AGGREGATES.get(a, "Camden"),
                breakdown=b,
                group=g,
                period=p,
                value=v,
                flag="" if v == v else "[c]",
                unit="%",
                polarity="up",
                source="s",
                synthetic=synthetic,
            )
            for (a, b, g, p), v in values.items()
        ]
    )


def test_revisions_list_revised_and_withdrawn_figures_only() -> None:
    before = {
        (LONDON, "all", "all", "2017"): 50.0,
        (LONDON, "all", "all", "2018"): 51.0,
        (LONDON, "sex", "Male", "2018"): 49.0,
        (CAMDEN, "all", "all", "2018"): 40.0,
        (LONDON, "all", "all", "2016"): 48.0,
    }
    after = {
        (LONDON, "all", "all", "2017"): 50.0 + 1e-12,
        (LONDON, "all", "all", "2018"): 51.5,
        (CAMDEN, "all", "all", "2018"): np.nan,
        (LONDON, "all", "all", "2019"): 52.0,
    }
    out = briefing.revisions(_build_rows(before), _build_rows(after))
    got = {
        (r.area_code, r.breakdown, r.period): (r.status, r.previous_value, r.value)
        for r in out.itertuples()
    }
    assert set(got) == {(LONDON, "all", "2018"), (CAMDEN, "all", "2018"), (LONDON, "sex", "2018")}
    assert got[(LONDON, "all", "2018")] == ("revised", 51.0, 51.5)
    assert got[(CAMDEN, "all", "2018")][0] == "revised" and np.isnan(
        got[(CAMDEN, "all", "2018")][2]
    )  # now [c]
    # the male figure for 2018 is gone while 2018 is still reported: withdrawn; 2016 is simply no longer
    # in the series this build reports for the measure, so it is not listed
    assert got[(LONDON, "sex", "2018")][0] == "withdrawn"
    assert list(out.columns) == briefing.REVISION_COLUMNS
    # demo figures against real ones are not revisions
    assert briefing.revisions(
        _build_rows(before, synthetic=True), _build_rows(after, synthetic=False)
    ).empty
