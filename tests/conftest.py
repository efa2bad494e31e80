"""Shared fixtures: the demo build is computed once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from analysis import pipeline

# ../shared/real-data beside the repository, or wherever $LSI_REAL_DATA points (a worktree elsewhere)
REAL_DATA = Path(os.environ.get("LSI_REAL_DATA") or Path(__file__).resolve().parents[2] / "shared" / "real-data")


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
