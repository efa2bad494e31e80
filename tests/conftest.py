"""Shared fixtures: the demo build is computed once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from analysis import pipeline

# ../shared/real-data beside the repository, or wherever $LSI_REAL_DATA points (a worktree elsewhere)
REAL_DATA = Path(
    os.environ.get("LSI_REAL_DATA") or Path(__file__).resolve().parents[2] / "shared" / "real-data"
)


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


# the reports the page and PDF tests read: London, a borough, the measure with the most and
# longest tables (employment gaps: tables that run over pages), and an analysis (maps, scatter)
PUBLISHED_SUBSET = [
    "london",
    "camden",
    "measure:employment_gap",
    "analysis:registration_vs_churn",
    "analysis:small_area_diagnostics",
]


@pytest.fixture(scope="session")
def published_site(tmp_path_factory) -> Path:
    """A build of ``PUBLISHED_SUBSET``, made once for the accessibility and PDF tests."""
    from analysis import build

    out = tmp_path_factory.mktemp("published")
    result = build.build(out, jobs=2, only=PUBLISHED_SUBSET, progress=False)
    assert not result.failures, result.failures
    return out


# one report, built by run_all.py in its own process as a user would: the reference that the
# reproducibility and fault tests compare their builds with
CLEAN_BUILD_ONLY = ["camden"]


def run_all_command(out: Path, *extra: str) -> list[str]:
    """The command line of a build of ``CLEAN_BUILD_ONLY`` into ``out``."""
    import sys

    only = [arg for name in CLEAN_BUILD_ONLY for arg in ("--only", name)]
    return [
        sys.executable,
        "run_all.py",
        *only,
        "--jobs",
        "2",
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]


def run_all_env() -> dict[str, str]:
    """The environment of such a build: this tree first on the path, the machine's own fontconfig."""
    import os

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("FONTCONFIG_FILE", None)
    return env


ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def clean_build(tmp_path_factory) -> Path:
    """A build of ``CLEAN_BUILD_ONLY`` by ``run_all.py`` in a fresh folder."""
    import subprocess

    out = tmp_path_factory.mktemp("clean") / "reports"
    done = subprocess.run(
        run_all_command(out),
        cwd=ROOT,
        env=run_all_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out
