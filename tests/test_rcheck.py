"""The shared R cross-check helper (tests/rcheck.py): it skips naming what to install, and a
reference script that fails, or whose output differs from the committed one, fails the test."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import rcheck


def test_a_missing_r_package_skips_naming_what_to_install() -> None:
    with pytest.raises(pytest.skip.Exception, match="r-cran-survey r-cran-nosuchpackage"):
        rcheck.rscript_with("survey", "nosuchpackage")


def _fixture(folder: Path, script: str, committed: str) -> Path:
    folder.mkdir()
    (folder / "input.csv").write_text("x\n1\n2\n")
    (folder / "reference.R").write_text(script)
    (folder / "expected.csv").write_text(committed)
    return folder


def test_a_failing_reference_script_fails_with_r_s_message(tmp_path) -> None:
    rcheck.rscript_with()
    fixtures = _fixture(tmp_path / "fixtures", 'stop("no such estimator")\n', "x\n")
    (tmp_path / "run").mkdir()
    with pytest.raises(AssertionError, match="no such estimator"):
        rcheck.rerun_reference(fixtures, tmp_path / "run", ["input.csv"], [])


def test_a_stale_committed_output_fails_and_a_fresh_one_passes(tmp_path) -> None:
    rcheck.rscript_with()
    script = (
        'd <- read.csv("input.csv")\n'
        'write.csv(data.frame(mean = mean(d$x)), "expected.csv", row.names = FALSE)\n'
    )
    stale = _fixture(tmp_path / "stale", script, "mean\n1.6\n")
    (tmp_path / "a").mkdir()
    with pytest.raises(AssertionError):
        rcheck.assert_rerun_matches(
            stale, tmp_path / "a", inputs=["input.csv"], outputs=["expected.csv"], packages=[]
        )
    fresh = _fixture(tmp_path / "fresh", script, "mean\n1.5\n")
    (tmp_path / "b").mkdir()
    rcheck.assert_rerun_matches(
        fresh, tmp_path / "b", inputs=["input.csv"], outputs=["expected.csv"], packages=[]
    )
    assert rcheck.read_expected(tmp_path / "b" / "expected.csv").equals(
        pd.DataFrame({"mean": [1.5]})
    )
