"""The scaffolding every cross-check against R shares.

Why: each ``tests/test_*_against_r.py`` compares the library with values R computed, committed
beside the R script that made them (``tests/fixtures/r_*``). The committed values are what the
tests compare against, so the suite runs without R; where R and the packages the script needs
are installed, the script is rerun live and its fresh output must equal the committed one, so a
fixture can never drift from what R computes. This module is that second half, written once:
find R with the packages or skip with the command that installs them, run the reference script
in a scratch folder, and compare its outputs with the committed files.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd
import pytest

__all__ = ["read_expected", "rscript_with", "rerun_reference", "assert_rerun_matches"]

# The Debian packages of the R libraries the reference scripts load, for the skip message.
_DEBIAN = {
    "survey": "r-cran-survey",
    "metafor": "r-cran-metafor",
    "clubSandwich": "r-cran-clubsandwich",
    "sandwich": "r-cran-sandwich",
    "lmtest": "r-cran-lmtest",
}


def read_expected(path: Path) -> pd.DataFrame:
    """A fixture of R's output, with only empty cells as missing (so "NA" or "None" stay text)."""
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def rscript_with(*packages: str) -> str:
    """The path of ``Rscript`` if it can load every package; otherwise the test is skipped."""
    rscript = shutil.which("Rscript")
    probe = "; ".join(f"library({p})" for p in packages) or "invisible(0)"
    if rscript is None or subprocess.run([rscript, "-e", probe], capture_output=True).returncode:
        debs = " ".join(_DEBIAN.get(p, f"r-cran-{p.lower()}") for p in packages)
        names = ", ".join(packages)
        pytest.skip(
            f"R with {names} is not installed (apt-get install r-base-core {debs})"
            if packages
            else "R is not installed (apt-get install r-base-core)"
        )
    return rscript


def rerun_reference(
    fixtures: Path,
    workdir: Path,
    inputs: Iterable[str],
    packages: Sequence[str],
    script: str = "reference.R",
) -> Path:
    """Copy ``script`` and its ``inputs`` from ``fixtures`` into ``workdir`` and run it there.

    Skips (see :func:`rscript_with`) without R or its ``packages``; a failing script fails the
    test with R's own error message. Returns ``workdir``, which then holds the fresh outputs.
    """
    rscript = rscript_with(*packages)
    for name in (*inputs, script):
        shutil.copy(fixtures / name, workdir / name)
    done = subprocess.run([rscript, script], cwd=workdir, capture_output=True, text=True)
    assert done.returncode == 0, f"{fixtures / script} failed:\n{done.stderr[-3000:]}"
    return workdir


def assert_rerun_matches(
    fixtures: Path,
    workdir: Path,
    *,
    inputs: Iterable[str],
    outputs: Iterable[str],
    packages: Sequence[str],
    script: str = "reference.R",
    rtol: float = 1e-12,
    atol: float = 1e-8,
) -> None:
    """Rerun the fixture's reference script and require every output to equal the committed one.

    The tolerance is that of two runs of the same R code (``rtol=1e-12`` by default, with
    pandas' default ``atol``), far below the 1e-6 the library is held to, so a mismatch means
    the committed fixture is stale.
    """
    fresh = rerun_reference(fixtures, workdir, inputs, packages, script)
    for name in outputs:
        pd.testing.assert_frame_equal(
            read_expected(fresh / name), read_expected(fixtures / name), rtol=rtol, atol=atol
        )
