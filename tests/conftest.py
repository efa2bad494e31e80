"""Shared fixtures: the demo build is computed once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis import pipeline

REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "real-data"


@pytest.fixture(scope="session")
def demo_inputs() -> pipeline.Inputs:
    return pipeline.demo_inputs()


@pytest.fixture(scope="session")
def demo_results(demo_inputs: pipeline.Inputs) -> pipeline.Results:
    return pipeline.compute(demo_inputs)


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The shared real public files; tests that need them skip cleanly where they are absent."""
    if not REAL_DATA.is_dir():
        pytest.skip(f"real data not available at {REAL_DATA}")
    return REAL_DATA


# the reports the page and PDF tests read: London, a borough, and the measure with the most
# and longest tables (employment gaps: tables that run over pages)
PUBLISHED_SUBSET = ["london", "camden", "measure:employment_gap"]


@pytest.fixture(scope="session")
def published_site(tmp_path_factory) -> Path:
    """A build of ``PUBLISHED_SUBSET``, made once for the accessibility and PDF tests."""
    from analysis import build

    out = tmp_path_factory.mktemp("published")
    result = build.build(out, jobs=2, only=PUBLISHED_SUBSET, progress=False)
    assert not result.failures, result.failures
    return out
