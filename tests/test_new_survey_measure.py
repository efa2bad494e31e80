"""Adding a survey measure is one registry entry plus its demo model, and nothing else.

In a temporary copy of the library (the shipped data files are never edited), a new survey
measure is added to ``measures.yaml``: without a model in ``demo_profile.yaml`` the build stops
at once, naming the measure and the missing entry; with one, ``run_all.py --only`` builds the
measure's page from the estimates, and no figure of the existing measures changes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis import measures

ROOT = Path(__file__).resolve().parents[1]

NEW_MEASURE = """
  - id: trust_police
    domain: relationships
    title: Trust in the local police
    definition: Percentage of adults who agree that the police in their area can be trusted.
    rationale: Trust in local institutions goes with trust between neighbours.
    caveats: null
    source_family: pas
    source: MOPAC Public Attitudes Survey
    unit: "%"
    polarity: up
    kind: survey_proportion
    uncertainty: survey_design
    geographies: [london, borough]
    breakdowns: [age_band, sex]
    series:
      - {indicator: trust_police, label: Agree the local police can be trusted, item: trusts_police,
         reference: null}
"""
NEW_MODEL = """
  trusts_police:
    {level: 62, trend: 0.4, borough_sd: 0.3, psu_sd: 0.2,
     effects: {age_band: {"16-24": -0.3, "65+": 0.4}}}
"""


def _copy_tree(dest: Path) -> Path:
    """The library, notebooks and build script, as a fresh checkout would have them."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in ("analysis", "notebooks", "shapefiles"):
        shutil.copytree(ROOT / part, dest / part, ignore=ignore)
    shutil.copy(ROOT / "run_all.py", dest / "run_all.py")
    return dest


def _run(tree: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "run_all.py", "--no-progress", "--jobs", "2", *args],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_survey_measure_added_by_registry_entry_gets_its_page(tmp_path, demo_results) -> None:
    tree = _copy_tree(tmp_path / "checkout")
    registry = tree / "analysis" / "data" / "measures.yaml"
    registry.write_text(registry.read_text(encoding="utf-8") + NEW_MEASURE, encoding="utf-8")

    refused = _run(tree, "--out", str(tmp_path / "refused"), "--only", "measure:trust_police")
    assert refused.returncode != 0
    assert (
        "measure 'trust_police' reads the survey item 'trusts_police', which has no model "
        "under 'items'" in refused.stderr
    )
    assert "demo_profile.yaml" in refused.stderr

    profile = tree / "analysis" / "data" / "demo_profile.yaml"
    text = profile.read_text(encoding="utf-8")
    anchor = "\n# Who the synthetic respondents are"
    profile.write_text(text.replace(anchor, NEW_MODEL + anchor, 1), encoding="utf-8")
    out = tmp_path / "site"
    built = _run(tree, "--out", str(out), "--only", "measure:trust_police")
    assert built.returncode == 0, built.stderr[-3000:]

    estimates = pd.read_csv(out / "data" / "estimates.csv", dtype={"period": str})
    new = estimates[estimates["measure_id"] == "trust_police"]
    assert set(new["breakdown"]) == {"all", "age_band", "sex"}
    assert new["area_code"].str.startswith("E09").any()  # borough figures, as declared
    london = new[(new["area_code"] == "E12000007") & (new["breakdown"] == "all")]
    assert len(london) == 5 and london["value"].between(55, 70).all()
    page = (out / "measures" / "trust_police.html").read_text(encoding="utf-8")
    assert "Trust in the local police" in page and "Agree the local police can be trusted" in page
    assert (out / "measures" / "trust_police.pdf").stat().st_size > 0

    # the surveys of other families and the admin tables are untouched: their figures stay
    before = demo_results.estimates
    pas = [m.id for m in measures.registry() if m.source_family == "pas"]
    kept = ~before["measure_id"].isin(pas) & (before["method"] == "direct")
    after = estimates[
        ~estimates["measure_id"].isin([*pas, "trust_police"]) & (estimates["method"] == "direct")
    ]
    assert len(after) == kept.sum() > 0
    assert after["value"].to_numpy() == pytest.approx(
        before.loc[kept, "value"].to_numpy(dtype=float), rel=1e-9, nan_ok=True
    )
