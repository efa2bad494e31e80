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
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import evaluation, measures, pipeline, thematic
from analysis.sources import evaluation_demo
from analysis.validate import InputError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ("registration_vs_churn", "strategy_figures", "programme_evaluation")
USED = ("friends_similar", "social_isolation", "electoral_registration", "volunteering", "employment_gap",
        "population_churn", "associational_membership", "english_proficiency")
LFF = evaluation.initiative("london_family_fund")


# ------------------------------------------------------------------------------------------
# Fixtures: one kernel, one build


@pytest.fixture(scope="module")
def kernel():
    """A warm Jupyter kernel, as the build uses; it boots and imports the analysis modules
    while the estimates are being computed."""
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(ROOT / "notebooks"), env={**os.environ, "MPLBACKEND": "Agg"})
    client = km.client()
    client.start_channels()
    client.execute("import analysis.thematic, analysis.evaluation", silent=True)
    yield km, client
    client.stop_channels()
    km.shutdown_kernel(now=True)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, kernel) -> Path:
    registry = [dataclasses.replace(m, geographies=("london",)) if m.id == "employment_gap" else m
                for m in measures.registry() if m.id in USED]
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
    reset = nbformat.v4.new_code_cell("%reset -f\nimport matplotlib.pyplot as _plt\n_plt.close('all')\ndel _plt")
    nb.cells.insert(0, reset)
    executed = papermill.execute_notebook(nb, None, parameters={"data_dir": str(data_dir), "boundaries": None},
                                          kernel_name="python3", km=kernel[0], progress_bar=False,
                                          cwd=str(ROOT / "notebooks"), log_output=False)
    html = "".join(o.get("data", {}).get("text/html", "") for c in executed.cells if c.cell_type == "code"
                   for o in c.outputs)
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    figures = html.count("<figure")
    assert figures >= {"registration_vs_churn": 4, "strategy_figures": 4, "programme_evaluation": 4}[name]
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
    assert period == max(set(report.load(data_dir).estimates.query("indicator == 'population_churn'").period))
    with pytest.raises(ValueError, match="not available"):
        thematic.borough_pair(report.load(data_dir).estimates, "1999")


# ------------------------------------------------------------------------------------------
# Evaluation statistics against hand calculations


def test_mcnemar_matches_hand_calculation():
    b, c = 15, 5
    # exact: two-sided binomial, 2 x P(X <= 5) for X ~ Bin(20, 1/2)
    exact_p = 2 * sum(math.comb(20, k) for k in range(0, 6)) / 2 ** 20
    assert exact_p == pytest.approx(0.0413894653, abs=1e-9)
    ex = evaluation.mcnemar_test(b, c)  # 20 discordant pairs < 25: exact by default
    assert ex.method == "exact binomial test" and ex.pvalue == pytest.approx(exact_p, rel=1e-12)
    # chi-square without correction: (b - c)^2 / (b + c) = 100 / 20 = 5; P(chi2_1 > x) = erfc(sqrt(x / 2))
    plain = evaluation.mcnemar_test(b, c, exact=False, correction=False)
    assert plain.statistic == pytest.approx(5.0)
    assert plain.pvalue == pytest.approx(math.erfc(math.sqrt(5.0 / 2)), rel=1e-9)
    assert plain.pvalue == pytest.approx(0.025347, abs=1e-6)
    # with Edwards' continuity correction: (|b - c| - 1)^2 / (b + c) = 81 / 20 = 4.05
    corrected = evaluation.mcnemar_test(b, c, exact=False)
    assert corrected.statistic == pytest.approx(4.05)
    assert corrected.pvalue == pytest.approx(math.erfc(math.sqrt(4.05 / 2)), rel=1e-9)
    assert evaluation.mcnemar_test(30, 10).method == "chi-square test with continuity correction"


def test_paired_change_counts_and_intervals():
    # a = 40 yes/yes, b = 15 yes/no, c = 5 no/yes, d = 40 no/no  (n = 100)
    pairs = [(1, 1)] * 40 + [(1, 0)] * 15 + [(0, 1)] * 5 + [(0, 0)] * 40
    rows = []
    for i, (pre, post) in enumerate(pairs):
        for wave, y in (("pre", pre), ("post", post)):
            rows.append({"participant_id": f"p{i}", "group": "programme", "site": f"s{i % 5}", "wave": wave,
                         "someone_to_rely_on": y})
    pc = evaluation.paired_change(pd.DataFrame(rows), LFF.outcome("someone_to_rely_on"))
    assert (pc.a, pc.b, pc.c, pc.d, pc.n) == (40, 15, 5, 40, 100)
    assert (pc.pre, pc.post, pc.change) == pytest.approx((55.0, 45.0, -10.0))
    assert pc.test.pvalue == pytest.approx(2 * sum(math.comb(20, k) for k in range(6)) / 2 ** 20)
    # Wald for paired proportions: se = sqrt((b + c) - (c - b)^2 / n) / n = sqrt(20 - 1) / 100
    se = math.sqrt(19) / 100
    assert (pc.wald_lower, pc.wald_upper) == pytest.approx((100 * (-0.1 - 1.959964 * se), 100 * (-0.1 + 1.959964 * se)), abs=1e-4)
    assert pc.lower < pc.change < pc.upper < 0
    assert pc.verdict == "worsened"  # someone to rely on fell


def test_newcombe_interval_matches_published_example():
    # Fagerland, Lydersen & Laake (2017) Statistical Analysis of Contingency Tables, ch. 8: Cavo et al.
    # (2012), complete response before/after consolidation: [[59, 6], [16, 80]]; Newcombe square-and-add
    # interval for p(before) - p(after) = -0.0621 (-0.1186 to -0.0046). Ours is after minus before.
    change, lower, upper = evaluation.newcombe_paired_ci(59, 6, 16, 80)
    assert change == pytest.approx(10 / 161)
    assert (round(lower, 4), round(upper, 4)) == (0.0046, 0.1186)


def test_minimum_detectable_effect_matches_textbook():
    m = 1.959964 + 0.841621  # z(0.975) + z(0.80)
    assert evaluation.multiplier() == pytest.approx(m, abs=1e-6)
    # two groups of 100, SD 1: M x sqrt(1/100 + 1/100) = 0.3962
    assert evaluation.mde_two_groups(100, 100, 1.0) == pytest.approx(m * math.sqrt(0.02), rel=1e-6)
    assert evaluation.mde_two_groups(100, 100, 1.0) == pytest.approx(0.3962, abs=1e-4)
    # proportions 0.5, difference 0.1: the textbook 393 per group (16 p(1-p) / delta^2 rule: 400)
    assert 0.0995 < evaluation.mde_two_groups(393, 393, 0.5) < 0.1
    assert evaluation.mde_two_groups(100, 100, 1.0, design_effect=2.0) == pytest.approx(m * math.sqrt(0.04), rel=1e-6)
    # Connor (1987) for McNemar: psi = 0.2, delta = 0.1 -> [1.96 sqrt(.2) + 0.8416 sqrt(.19)]^2 / 0.01 = 154.6
    hand = (1.959964 * math.sqrt(0.2) + 0.841621 * math.sqrt(0.19)) ** 2 / 0.01
    assert evaluation.connor_n(0.1, 0.2) == pytest.approx(hand, rel=1e-6)
    assert hand == pytest.approx(154.6, abs=0.1)
    assert evaluation.mde_paired(155, 0.2) == pytest.approx(0.0999, abs=2e-4)
    assert evaluation.connor_n(evaluation.mde_paired(300, 0.3), 0.3) == pytest.approx(300, rel=1e-6)


def test_icc_of_perfectly_clustered_and_unclustered_data():
    clusters = np.repeat(np.arange(10), 8)
    assert evaluation.icc_anova(clusters.astype(float), clusters) == pytest.approx(1.0)
    rng = np.random.default_rng(1)
    assert evaluation.icc_anova(rng.normal(size=8000), np.repeat(np.arange(100), 80)) < 0.02


# ------------------------------------------------------------------------------------------
# Difference-in-differences on generated data with a planted effect


@pytest.fixture(scope="module")
def big_demo() -> pd.DataFrame:
    frame = evaluation_demo.generate("london_family_fund", n_sites=60, programme_per_site=40, comparison_per_site=40,
                                     effects={"someone_to_rely_on": 0.12, "friends_same_ethnicity": 0.0}, label="test")
    return evaluation.validate(frame, "london_family_fund", row_offset=0)


def test_did_recovers_planted_effect(big_demo):
    d = evaluation.did(big_demo, LFF.outcome("someone_to_rely_on"))
    assert d.lower <= 12.0 <= d.upper and abs(d.estimate - 12.0) < 3.5
    assert d.significant and d.verdict == "improved" and d.n_clusters == 60
    # with a balanced panel the OLS interaction is exactly the difference of the groups' mean changes
    panel = evaluation.balanced_panel(big_demo, "someone_to_rely_on")
    means = panel.groupby(["group", "wave"])["y"].mean()
    hand = (means["programme", "post"] - means["programme", "pre"]) - (means["comparison", "post"] - means["comparison", "pre"])
    assert d.estimate == pytest.approx(100 * hand, abs=1e-9)
    null = evaluation.did(big_demo, LFF.outcome("friends_same_ethnicity"), cluster="participant")
    assert null.lower <= 0.0 <= null.upper and null.cluster == "participant"
    assert d.odds_ratio > 1 and d.or_lower > 1


def test_demo_planted_effects_lie_in_the_page_intervals():
    page = evaluation.EvaluationPage("london_family_fund")
    truth = evaluation_demo.planted_effects("london_family_fund")
    for d in page.dids:
        assert d.lower <= truth[d.outcome.code] <= d.upper, d.outcome.code
    for name in ("citizenship_integration_initiative", "esol_plus"):
        other = evaluation.EvaluationPage(name)
        assert len(other.paired) == len(evaluation.initiative(name).outcomes)


def test_documented_format_round_trip_and_errors(tmp_path):
    path = tmp_path / "lff.csv"
    evaluation_demo.write_csv(path, "london_family_fund")
    from_file = evaluation.load(path, "london_family_fund")
    direct = evaluation.validate(evaluation_demo.generate("london_family_fund"), "london_family_fund", row_offset=0)
    pd.testing.assert_frame_equal(from_file.reset_index(drop=True), direct.reset_index(drop=True), check_dtype=False)

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
