"""Every file the package reads that is not Python ships with it.

setuptools installs a package's ``.py`` files and only those other files that
``[tool.setuptools.package-data]`` in ``pyproject.toml`` names. A template or data file left
out works from a checkout and fails once the package is installed from a wheel, so each
git-tracked file under ``analysis/`` that is not Python must match one of those patterns.
"""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def package_data_globs() -> list[str]:
    """The package-data patterns as paths from the repository root (``analysis/data/*.csv``)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package_data = config["tool"]["setuptools"]["package-data"]
    return [
        f"{package.replace('.', '/')}/{pattern}"
        for package, patterns in package_data.items()
        for pattern in patterns
    ]


def tracked_non_python_files() -> list[str]:
    """Git-tracked files under ``analysis/`` that are not Python; skips without git."""
    if shutil.which("git") is None:
        pytest.skip("git is not available")
    result = subprocess.run(
        ["git", "ls-files", "-z", "analysis"], cwd=ROOT, capture_output=True, text=True
    )
    if result.returncode != 0:
        pytest.skip(f"not a git checkout: {result.stderr.strip()}")
    return [f for f in result.stdout.split("\0") if f and not f.endswith(".py")]


def not_shipped(files: list[str], globs: list[str]) -> list[str]:
    """The files no pattern matches. A ``*`` stays within one folder, as in setuptools' glob
    (``fnmatch`` alone would let it match across a ``/``)."""
    return [
        f
        for f in files
        if not any(f.count("/") == g.count("/") and fnmatch.fnmatchcase(f, g) for g in globs)
    ]


def test_every_tracked_file_under_analysis_is_python_or_package_data() -> None:
    files = tracked_non_python_files()
    assert files  # the data, fonts and templates at least
    missing = not_shipped(files, package_data_globs())
    assert not missing, (
        f"not in [tool.setuptools.package-data] of pyproject.toml, so not installed: {missing}"
    )


def test_a_file_no_pattern_names_is_reported() -> None:
    """The check can fail: without its pattern, the page template would be left out."""
    files = tracked_non_python_files()
    globs = [g for g in package_data_globs() if g != "analysis/templates/report.html"]
    assert not_shipped(files, globs) == ["analysis/templates/report.html"]
    assert not_shipped(["analysis/data/extra/notes.csv"], package_data_globs()) == [
        "analysis/data/extra/notes.csv"
    ]
