"""Thematic analyses: registration against churn, the strategy's figures, programme evaluation.

* each of the three notebooks runs end to end (papermill, one warm kernel as the build uses) on
  estimates written by the build's own ``pipeline.compute`` / ``pipeline.write_results``;
* the regression recovers slopes planted in generated borough data within its intervals;
* McNemar's test, the paired interval, the minimum detectable effect and the
  difference-in-differences agree with values worked out by hand or published.

Kept fast: the build is restricted to the measures these notebooks read (employment gaps for
London only, which is all Figure 5 uses); the full demo build takes about 20 seconds on its own.
"""

from __future__ import annotations

import dataclasses
import html
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import evaluation, evaluation_page, measures, pipeline, thematic
from analysis import evaluation_stats as es
from analysis.sources import evaluation_demo
from analysis.validate import InputError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ("registration_vs_churn", "strategy_figures", "programme_evaluation")
USED = (
    "friends_similar",
    "social_isolation",
    "electoral_registration",
    "volunteering",
    "employment_gap",
    "population_churn",
    "associational_membership",
    "english_proficiency",
)
LFF = evaluation.initiative("london_family_fund")


# ------------------------------------------------------------------------------------------
# Fixtures: one kernel, one build


@pytest.fixture(scope="module")
def kernel():
    """A Jupyter kernel, as a researcher's JupyterLab runs the notebooks; it boots and imports
    the analysis modules while the estimates are being computed."""
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(ROOT / "notebooks"), env={**os.environ, "MPLBACKEND": "Agg"})
    client = km.client()
    client.start_channels()
    client.execute("import analysis.thematic, analysis.evaluation_page", silent=True)
    yield km, client
    client.stop_channels()
    km.shutdown_kernel(now=True)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, kernel) -> Path:
    registry = [
        dataclasses.replace(m, geographies=("london",)) if m.id == "employment_gap" else m
        for m in measures.registry()
        if m.id in USED
    ]
    out = tmp_path_factory.mktemp("build") / "data"
    pipeline.write_results(pipeline.compute(pipeline.demo_inputs(), registry), out, parquet=False)
    reply = kernel[1].get_shell_msg(timeout=120)  # the warm-up imports have finished
    assert reply["content"]["status"] == "ok"
    return out


# ------------------------------------------------------------------------------------------
# Notebooks


def _notebook(name: str):
    import nbformat

    return nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_thin_and_stripped(name):
    nb = _notebook(name)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    namespace: dict = {}
    exec(params[0].source, namespace)  # noqa: S102 - our own parameters cell
    assert namespace["data_dir"] is None and namespace["boundaries"] is None
    if name == "programme_evaluation":
        assert namespace["initiative"] == "london_family_fund"
    assert "researcher" in nb.cells[0].metadata.get("tags", [])
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
            assert len(cell.source.splitlines()) <= 9  # logic lives in the analysis modules


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_on_demo_estimates(name, data_dir, kernel):
    import nbformat
    import papermill

    nb = _notebook(name)
    reset = nbformat.v4.new_code_cell(
        "%reset -f\nimport matplotlib.pyplot as _plt\n_plt.close('all')\ndel _plt"
    )
    nb.cells.insert(0, reset)
    executed = papermill.execute_notebook(
        nb,
        None,
        parameters={"data_dir": str(data_dir), "boundaries": None},
        kernel_name="python3",
        km=kernel[0],
        progress_bar=False,
        cwd=str(ROOT / "notebooks"),
        log_output=False,
    )
    html = "".join(
        o.get("data", {}).get("text/html", "")
        for c in executed.cells
        if c.cell_type == "code"
        for o in c.outputs
    )
    errors = [
        o
        for c in executed.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert not errors
    figures = html.count("<figure")
    assert (
        figures
        >= {"registration_vs_churn": 4, "strategy_figures": 4, "programme_evaluation": 4}[name]
    )
    assert html.count("Data for the chart") == figures  # every chart has its table
    assert html.count(" alt='") >= figures
    assert "Synthetic demonstration data" in html


# ------------------------------------------------------------------------------------------
# Registration against churn


@pytest.mark.parametrize("slope", [-1.5, -0.6])
def test_regression_recovers_planted_slope(slope):
    frame = thematic.planted_boroughs(slope=slope, intercept=98.0, noise=1.2, label=f"test{slope}")
    reg = thematic.regress(frame)
    assert reg.n == 33
    for fit in reg.fits[:3]:  # OLS classical, OLS HC3, Huber
        assert fit.lower <= slope <= fit.upper, fit
        assert fit.lower < fit.slope < fit.upper
    assert reg.fit("OLS without").n == 32
    text = " ".join(thematic.interpretation(reg, "2018"))
    assert f"{abs(reg.main.slope):.2f} points lower" in text
    assert f"{reg.main.r2:.2f}" in text


def test_hc3_interval_is_the_sandwich_with_leverage():
    frame = thematic.planted_boroughs(label="hc3")
    reg = thematic.regress(frame)
    X = np.column_stack([np.ones(reg.n), reg.frame.churn])
    e, h = reg.frame.residual.to_numpy(), reg.frame.leverage.to_numpy()
    bread = np.linalg.inv(X.T @ X)
    cov = bread @ (X.T * (e / (1 - h)) ** 2) @ X @ bread
    assert reg.main.se == pytest.approx(math.sqrt(cov[1, 1]), rel=1e-10)
    assert h.sum() == pytest.approx(2.0)


def test_an_extreme_city_is_found_to_drive_the_slope():
    frame = thematic.planted_boroughs(slope=-1.0, label="city")
    city = frame.area_code == thematic.CITY
    frame.loc[city, ["churn", "registration"]] = [30.0, 40.0]  # far along and far below
    reg = thematic.regress(frame)
    row = reg.city()
    assert row.leverage > reg.leverage_guide and row.cooks_d > reg.cooks_guide
    assert reg.city_drives()
    assert reg.fit("OLS without").lower <= -1.0 <= reg.fit("OLS without").upper
    assert "the City does drive the result" in " ".join(thematic.interpretation(reg, "2018"))


def test_borough_pair_from_the_build(data_dir):
    from analysis import report

    pair, period = thematic.borough_pair(report.load(data_dir).estimates)
    assert len(pair) == 33 and pair.area_code.str.startswith("E09").all()
    assert set(pair.inner_outer) == {"Inner", "Outer"}
    assert period == max(
        set(report.load(data_dir).estimates.query("indicator == 'population_churn'").period)
    )
    with pytest.raises(ValueError, match="not available"):
        thematic.borough_pair(report.load(data_dir).estimates, "1999")


# ------------------------------------------------------------------------------------------
# Evaluation statistics against hand calculations


def test_mid_p_mcnemar_matches_hand_calculation():
    b, c = 15, 5
    # mid-p: 2 x [P(X <= 5) - P(X = 5) / 2] for X ~ Bin(20, 1/2) (Fagerland, Lydersen and Laake 2013)
    hand = 2 * (sum(math.comb(20, k) for k in range(0, 6)) - math.comb(20, 5) / 2) / 2**20
    test = es.mcnemar_midp(b, c)
    assert test.method == "mid-p McNemar test" and test.pvalue == pytest.approx(hand, rel=1e-12)
    assert test.pvalue == pytest.approx(0.0266037, abs=1e-7)
    assert es.mcnemar_midp(c, b).pvalue == test.pvalue
    # uncorrected asymptotic test: (b - c)^2 / (b + c) = 5; P(chi2_1 > x) = erfc(sqrt(x / 2))
    plain = es.mcnemar_asymptotic(b, c)
    assert plain.statistic == pytest.approx(5.0) and plain.pvalue == pytest.approx(
        math.erfc(math.sqrt(2.5)), rel=1e-9
    )


@pytest.mark.parametrize("k", [1, 7, 15, 200])
def test_equal_discordant_counts_give_p_exactly_one(k):
    assert es.mcnemar_midp(k, k).pvalue == 1.0
    assert es.mcnemar_midp(0, 0).pvalue == 1.0


def test_paired_change_counts_and_site_clustered_interval():
    # a = 40 yes/yes, b = 15 yes/no, c = 5 no/yes, d = 40 no/no  (n = 100), in 5 sites
    pairs = [(1, 1)] * 40 + [(1, 0)] * 15 + [(0, 1)] * 5 + [(0, 0)] * 40
    rows = []
    for i, (pre, post) in enumerate(pairs):
        for wave, y in (("pre", pre), ("post", post)):
            rows.append(
                {
                    "participant_id": f"p{i}",
                    "group": "programme",
                    "site": f"s{(i // 7) % 5}",
                    "wave": wave,
                    "someone_to_rely_on": y,
                }
            )
    pc = es.paired_change(pd.DataFrame(rows), LFF.outcome("someone_to_rely_on"))
    assert (pc.a, pc.b, pc.c, pc.d, pc.n) == (40, 15, 5, 40, 100)
    assert (pc.pre, pc.post, pc.change) == pytest.approx((55.0, 45.0, -10.0))
    assert pc.test.pvalue == pytest.approx(
        2 * (sum(math.comb(20, k) for k in range(6)) - math.comb(20, 5) / 2) / 2**20
    )
    # the mean change clustered by site: estimate is the paired difference, 5 sites -> bootstrap (Webb) reported
    assert pc.clustered.estimate == pytest.approx(-10.0) and pc.clustered.n_clusters == 5
    assert pc.clustered.method == "bootstrap" and pc.pvalue == pc.clustered.p_boot
    assert pc.lower < pc.change < pc.upper
    assert pc.newcombe_lower < pc.change < pc.newcombe_upper < 0


def test_newcombe_interval_matches_published_example():
    # Fagerland, Lydersen & Laake (2017) Statistical Analysis of Contingency Tables, ch. 8: Cavo et al.
    # (2012), complete response before/after consolidation: [[59, 6], [16, 80]]; Newcombe square-and-add
    # interval for p(before) - p(after) = -0.0621 (-0.1186 to -0.0046). Ours is after minus before.
    change, lower, upper = es.newcombe_paired_ci(59, 6, 16, 80)
    assert change == pytest.approx(10 / 161)
    assert (round(lower, 4), round(upper, 4)) == (0.0046, 0.1186)


def test_minimum_detectable_effect_matches_textbook():
    m = 1.959964 + 0.841621  # z(0.975) + z(0.80)
    assert es.multiplier() == pytest.approx(m, abs=1e-6)
    # two groups of 100, SD 1: M x sqrt(1/100 + 1/100) = 0.3962
    assert es.mde_two_groups(100, 100, 1.0) == pytest.approx(m * math.sqrt(0.02), rel=1e-6)
    assert es.mde_two_groups(100, 100, 1.0) == pytest.approx(0.3962, abs=1e-4)
    # proportions 0.5, difference 0.1: the textbook 393 per group (16 p(1-p) / delta^2 rule: 400)
    assert 0.0995 < es.mde_two_groups(393, 393, 0.5) < 0.1
    assert es.mde_two_groups(100, 100, 1.0, design_effect=2.0) == pytest.approx(
        m * math.sqrt(0.04), rel=1e-6
    )
    # Connor (1987) for McNemar: psi = 0.2, delta = 0.1 -> [1.96 sqrt(.2) + 0.8416 sqrt(.19)]^2 / 0.01 = 154.6
    hand = (1.959964 * math.sqrt(0.2) + 0.841621 * math.sqrt(0.19)) ** 2 / 0.01
    assert es.connor_n(0.1, 0.2) == pytest.approx(hand, rel=1e-6)
    assert hand == pytest.approx(154.6, abs=0.1)
    assert es.mde_paired(155, 0.2) == pytest.approx(0.0999, abs=2e-4)
    assert es.connor_n(es.mde_paired(300, 0.3), 0.3) == pytest.approx(300, rel=1e-6)


def test_icc_of_perfectly_clustered_and_unclustered_data():
    clusters = np.repeat(np.arange(10), 8)
    assert es.icc_anova(clusters.astype(float), clusters) == pytest.approx(1.0)
    rng = np.random.default_rng(1)
    assert es.icc_anova(rng.normal(size=8000), np.repeat(np.arange(100), 80)) < 0.02


# ------------------------------------------------------------------------------------------
# Difference-in-differences on generated data with a planted effect


@pytest.fixture(scope="module")
def big_demo() -> pd.DataFrame:
    frame = evaluation_demo.generate(
        "london_family_fund",
        n_sites=60,
        programme_per_site=40,
        comparison_per_site=40,
        effects={"someone_to_rely_on": 0.12, "friends_same_ethnicity": 0.0},
        label="test",
    )
    return evaluation.validate(frame, "london_family_fund", row_offset=0)


def test_did_recovers_planted_effect(big_demo):
    d = es.did(big_demo, LFF.outcome("someone_to_rely_on"))
    assert d.lower <= 12.0 <= d.upper and d.upper - d.lower < 12
    assert d.significant and d.verdict == "improved" and d.n_clusters == 60
    assert d.clustered.method == "CR2" and d.clustered.boot_weights == "Rademacher"
    # with a balanced panel the regression of change on group is exactly the difference of the groups' mean changes
    panel = es.balanced_panel(big_demo, "someone_to_rely_on")
    means = panel.groupby(["group", "wave"])["y"].mean()
    hand = (means["programme", "post"] - means["programme", "pre"]) - (
        means["comparison", "post"] - means["comparison", "pre"]
    )
    assert d.estimate == pytest.approx(100 * hand, abs=1e-9)
    null = es.did(big_demo, LFF.outcome("friends_same_ethnicity"))
    assert null.lower <= 0.0 <= null.upper and null.verdict == "no significant difference"
    assert d.odds_ratio > 1 and d.or_lower > 1


def test_robustness_rule_names_the_checks_that_disagree():
    assert es.robustness(("CR2", 0.03), [("bootstrap", 0.04), ("CR1", 0.02)]).robust
    fragile = es.robustness(
        ("CR2", 0.03), [("bootstrap", 0.04), ("errors clustered by participant", 0.071)]
    )
    assert (
        not fragile.robust
        and fragile.text
        == "fragile: not significant with errors clustered by participant (p = 0.071)"
    )
    assert es.robustness(
        ("CR2", 0.2), [("the mid-p McNemar test ignoring sites", 0.01)]
    ).text.startswith("fragile: significant with the mid-p")
    assert (
        es.verdict(-5.0, 0.01, "down", none="x") == "improved"
        and es.verdict(-5.0, 0.2, "down", none="x") == "x"
    )


def test_mde_uses_the_fitted_standard_error_and_the_analysis_distribution(big_demo):
    pc = es.paired_change(big_demo, LFF.outcome("someone_to_rely_on"))
    d = es.did(big_demo, LFF.outcome("someone_to_rely_on"))
    m = es.mde(pc, d)
    from scipy import stats

    df = d.clustered.df_bm  # 60 sites: CR2 reported, so Bell-McCaffrey df
    assert m.did == pytest.approx(
        (stats.t.ppf(0.975, df) + stats.t.ppf(0.8, df)) * d.clustered.se_cr2, rel=1e-12
    )
    assert m.paired == pytest.approx(
        es.multiplier(df=pc.clustered.df_bm) * pc.clustered.se_cr2, rel=1e-12
    )
    # planning: shared site effects cancel with a balanced split, separate ones do not; both grow with the ICC
    for icc in es.ICC_RANGE:
        low, high = m.planning[icc]
        assert low < high
    assert m.planning[0.10][1] > m.planning[0.02][1]
    assert es.mde_more_sites(d, 4 * d.n_clusters) == pytest.approx(
        es.multiplier(df=4 * d.n_clusters - 1) * d.clustered.se / 2, rel=1e-12
    )


def test_design_variance_factor_by_hand():
    # two sites: programme 10 and 30, comparison 20 and 20
    p, c = np.array([10, 30]), np.array([20, 20])
    person = 1 / 40 + 1 / 40
    shared = (0.25 - 0.5) ** 2 + (0.75 - 0.5) ** 2
    separate = 0.25**2 + 0.75**2 + 0.5**2 + 0.5**2
    assert es.did_variance_factor(p, c, 0.1, shared=True) == pytest.approx(
        0.9 * person + 0.1 * shared
    )
    assert es.did_variance_factor(p, c, 0.1, shared=False) == pytest.approx(
        0.9 * person + 0.1 * separate
    )
    assert es.did_variance_factor(p, c, 0.0, shared=False) == pytest.approx(person)


@pytest.fixture(scope="module")
def lff_page() -> evaluation_page.EvaluationPage:
    return evaluation_page.EvaluationPage("london_family_fund")


def test_demo_planted_effects_lie_in_the_page_intervals(lff_page):
    truth = evaluation_demo.planted_effects("london_family_fund")
    for d in lff_page.dids:
        assert d.lower <= truth[d.outcome.code] <= d.upper, d.outcome.code
    for name in ("citizenship_integration_initiative", "esol_plus"):
        other = evaluation_page.EvaluationPage(name)
        assert len(other.paired) == len(evaluation.initiative(name).outcomes)
        truth = evaluation_demo.planted_effects(name)
        for d in other.dids:
            assert d.lower <= truth[d.outcome.code] <= d.upper, (name, d.outcome.code)


def test_demo_has_unequal_sites_and_site_variation_in_change(lff_page):
    sizes = lff_page.frame[lff_page.frame.wave == "pre"].groupby("site").size()
    assert sizes.max() >= 3 * sizes.min()
    both = lff_page.frame.groupby("site")["group"].nunique()
    assert (both == 2).all()  # every site holds both groups
    # a planted site variation in change shows up as CR2 standard errors above the participant-level ones on average
    ratio = np.mean([d.clustered.se_cr2 / d.by_participant.se_cr2 for d in lff_page.dids])
    assert ratio > 1.0


def test_site_cancellation_is_claimed_only_when_every_site_holds_both_groups(lff_page):
    assert "since every site holds both groups" in lff_page.difference_in_differences().html
    frame = evaluation_demo.generate("esol_plus", n_sites=8, label="one-group")
    # move the comparison members of one site to another site: that site then holds programme members only
    sites = sorted(frame.site.unique())
    frame.loc[(frame.site == sites[0]) & (frame.group == "comparison"), "site"] = sites[1]
    page = evaluation_page.EvaluationPage("esol_plus", frame)
    html_text = page.difference_in_differences().html
    assert (
        "since every site holds both groups" not in html_text
        and "1 of 8 sites hold only one" in html_text
    )


def test_headline_counts_come_from_the_row_described(lff_page):
    lead = max(lff_page.paired, key=lambda pc: (pc.significant, abs(pc.change)))
    chart = lff_page.paired_change().charts[0]
    assert chart.title.startswith(
        f"Among {lead.n:,} participants answering '{lead.outcome.label.lower()}' twice"
    )
    row = chart.table[chart.table["Success measure"] == lead.outcome.label].iloc[0]
    assert row["People"] == lead.n and f"{lead.n:,}" in chart.title
    did_chart = lff_page.difference_in_differences().charts[0]
    lead_d = max(lff_page.dids, key=lambda d: (d.significant, abs(d.estimate)))
    drow = did_chart.table[did_chart.table["Success measure"] == lead_d.outcome.label].iloc[0]
    assert f"{drow['People']:,} people" in did_chart.title


def test_tidy_results_hold_what_the_page_says(lff_page):
    res = lff_page.results()
    assert len(res) == 2 * len(lff_page.outcomes)
    did = res[res.analysis == "difference-in-differences"].set_index("outcome")
    for d in lff_page.dids:
        row = did.loc[d.outcome.code]
        assert (row.estimate, row.lower_ci, row.upper_ci, row.p_value) == (
            d.estimate,
            d.lower,
            d.upper,
            d.pvalue,
        )
        assert row.verdict == d.verdict and row.n == d.n_participants
        sentence = (
            f"{d.outcome.label}: participants' change was {d.estimate:+.1f} percentage points"
        )
        # the page's text, whichever of the equivalent escapes of an apostrophe it uses
        assert sentence in html.unescape(lff_page.difference_in_differences().html)


def test_bottom_line_first_and_names_the_method(lff_page):
    lines = lff_page.bottom_line_sentences()
    improved = sum(d.verdict == "improved" for d in lff_page.dids)
    assert lines[0].startswith(
        f"Relative to the comparison group, {improved} of {len(lff_page.dids)} success measures"
    )
    assert any(lff_page.dids[0].clustered.method_name in line for line in lines)
    assert any("would probably be missed" in line for line in lines)


def test_small_multiples_share_one_axis_and_friends_note(lff_page):
    chart = lff_page.difference_in_differences().charts[1]
    axes = [ax for ax in chart.figure.axes if ax.get_visible() and ax.axison]
    assert len({ax.get_ylim() for ax in axes}) == 1 and axes[0].get_ylim() == (0, 100)
    assert "same vertical scale" in " ".join(chart.notes)
    friends = [o for o in LFF.outcomes if o.code.startswith("friends")]
    assert all(
        o.label.startswith("All or nearly all") and "Not like for like" in o.london_note
        for o in friends
    )


def test_mde_table_is_compact(lff_page):
    table = lff_page.minimum_detectable_effects().html.split("</table>")[
        0
    ]  # the MDE table, before the chart's data
    assert table.count("<tr") == len(lff_page.mdes) + 1  # a header row and one row per measure
    assert table.count("<th scope='col'") <= 8


def test_documented_format_round_trip_and_errors(tmp_path):
    path = tmp_path / "lff.csv"
    evaluation_demo.write_csv(path, "london_family_fund")
    from_file = evaluation.load(path, "london_family_fund")
    direct = evaluation.validate(
        evaluation_demo.generate("london_family_fund"), "london_family_fund", row_offset=0
    )
    pd.testing.assert_frame_equal(
        from_file.reset_index(drop=True), direct.reset_index(drop=True), check_dtype=False
    )

    text = path.read_text().splitlines()
    header = text[0].split(",")
    cells = text[5].split(",")
    cells[header.index("someone_to_rely_on")] = "2"
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(text[:5] + [",".join(cells)] + text[6:]) + "\n")
    with pytest.raises(InputError, match=r"row 6, column 'someone_to_rely_on'"):
        evaluation.load(bad, "london_family_fund")
    with pytest.raises(InputError, match="no rows for initiative"):
        evaluation.load(path, "esol_plus")
    moved = direct.copy()
    twice = moved.participant_id.duplicated(keep="first")  # the post row of someone surveyed twice
    moved.loc[twice.idxmax(), "site"] = "elsewhere"
    with pytest.raises(InputError, match="different site"):
        evaluation.validate(moved, "london_family_fund", row_offset=0)


# ------------------------------------------------------------------------------------------
# Charts


def test_scatter_labels_cover_no_marker_line_or_other_label():
    """Each borough's name sits clear of every marker, every fitted line and band edge, and
    every other name (the labels are placed, not left where they fall)."""
    from matplotlib.collections import PathCollection
    from matplotlib.text import Text

    from analysis import charts

    reg = thematic.regress(thematic.planted_boroughs(slope=-1.2, label="labels"))
    chart = thematic.scatter(reg, period="2018", title="t")
    ax = chart.figure.axes[0]
    with charts.style():
        chart.figure.canvas.draw()
    renderer = chart.figure.canvas.get_renderer()
    names = [t for t in ax.texts if t.get_text() in set(reg.frame.area_name)]
    assert len(names) == 33
    # the text itself (an annotation's own extent also takes in its leader line)
    boxes = [Text.get_window_extent(t, renderer) for t in names]
    markers = np.vstack(
        [
            c.get_offset_transform().transform(c.get_offsets())
            for c in ax.collections
            if isinstance(c, PathCollection)
        ]
    )
    lines = np.vstack(
        [
            line.get_transform().transform(
                np.c_[
                    np.linspace(line.get_xdata().min(), line.get_xdata().max(), 2000),
                    np.interp(
                        np.linspace(line.get_xdata().min(), line.get_xdata().max(), 2000),
                        line.get_xdata(),
                        line.get_ydata(),
                    ),
                ]
            )
            for line in ax.get_lines()
        ]
    )
    assert len(ax.get_lines()) >= 4  # fitted lines and the band's edges

    def inside(points, box) -> bool:
        return bool(
            (
                (points[:, 0] > box.x0)
                & (points[:, 0] < box.x1)
                & (points[:, 1] > box.y0)
                & (points[:, 1] < box.y1)
            ).any()
        )

    for text, box in zip(names, boxes):
        assert not inside(markers, box), f"{text.get_text()} covers a marker"
        assert not inside(lines, box), f"{text.get_text()} covers a line"
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b)


def test_side_by_side_maps_have_their_own_ramps_and_legends(data_dir):
    """Registration and churn are different variables: each map has its own colours and its
    own legend, and every area is outlined at 3:1 or more against the page."""
    from matplotlib.colors import to_hex

    from analysis import geography, report

    pair, period = thematic.borough_pair(report.load(data_dir).estimates)
    chart = thematic.paired_maps(pair, geography.load_boundaries(), period=period, title="t")
    left, right = chart.figure.axes
    fills = [
        {to_hex(c) for coll in ax.collections for c in coll.get_facecolor()} - {"#f2f2f2"}
        for ax in (left, right)
    ]
    assert len(fills[0]) >= 3 and len(fills[1]) >= 3
    assert not fills[0] & fills[1]
    legends = [ax.get_legend() for ax in (left, right)]
    assert all(legends)
    assert {to_hex(p.get_facecolor()) for p in legends[1].get_patches()} <= fills[1]
    for ax in (left, right):
        for coll in ax.collections:
            for edge in coll.get_edgecolor():
                assert _contrast_on_white(to_hex(edge)) >= 3, to_hex(edge)


def _contrast_on_white(colour: str) -> float:
    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    lum = 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    return 1.05 / (lum + 0.05)


def test_meaningful_marks_of_the_regression_charts_stand_out_from_the_page():
    """Marks that carry data (each borough's interval, the fitted lines and the band's edges,
    the leader lines, the map outlines) are 3:1 or more against white; the band's light fill
    and the grid are decoration."""
    from matplotlib.collections import LineCollection, PathCollection
    from matplotlib.colors import to_hex

    from analysis import geography

    reg = thematic.regress(thematic.planted_boroughs(slope=-1.0, label="marks"))
    frame = reg.frame
    for column in ("churn", "registration"):  # intervals, as the page's data carry them
        frame[f"{column}_lower"], frame[f"{column}_upper"] = frame[column] - 1, frame[column] + 1
    made = [
        thematic.scatter(reg, period="2018", title="t"),
        thematic.residual_map(reg, geography.load_boundaries(), period="2018", title="t"),
    ]
    for chart in made:
        ax = chart.figure.axes[0]
        grid = set(ax.get_xgridlines()) | set(ax.get_ygridlines())
        colours = [to_hex(line.get_color()) for line in ax.get_lines() if line not in grid]
        is_map = chart is made[1]
        for collection in ax.collections:
            if isinstance(collection, LineCollection) or (
                is_map and isinstance(collection, PathCollection)
            ):  # intervals; the map's outlines
                colours += [to_hex(c) for c in collection.get_edgecolor()]
            elif isinstance(collection, PathCollection):  # markers: their fill, or their ring
                filled = [c for c in collection.get_facecolor() if c[3] > 0]
                colours += [to_hex(c) for c in (filled or collection.get_edgecolor())]
        colours += [
            to_hex(t.arrow_patch.get_edgecolor())
            for t in ax.texts
            if getattr(t, "arrow_patch", None)
        ]
        assert colours
        low = {c: round(_contrast_on_white(c), 2) for c in colours if _contrast_on_white(c) < 3}
        assert not low, low
