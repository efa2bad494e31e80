"""The build's data step: the estimates computed once per build (:mod:`analysis.pipeline`), and
skipped when the same inputs and library made the files already there; the spreadsheet is
written by a worker while the notebooks run."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from analysis.outputs import file_sha256

# the data step's tables that the reports read (their hashes are part of every report's key)
ESTIMATE_FILES = (
    "estimates.csv",
    "changes.csv",
    "estimates_detail.csv",
    "trends.csv",
    "briefing.csv",
    "revisions.csv",
)


def estimates_current(out: Path, inputs_key: str, manifest: dict[str, Any]) -> bool:
    """Whether the estimates under ``out`` were made from these inputs by this library."""
    data_dir = out / "data"
    return manifest.get("estimates", {}).get("key") == inputs_key and all(
        (data_dir / n).exists() for n in (*ESTIMATE_FILES, "estimates.xlsx")
    )


def estimates_step(
    out: Path,
    inputs_factory: Callable[[], Any],
    inputs_key: str,
    manifest: dict[str, Any],
    force: bool,
    processes: int = 1,
    estimates_written: Callable[[bool], None] | None = None,
) -> tuple[dict[str, Any], float, bool]:
    """Compute and write the estimates unless the same inputs and library made the files there.

    With ``processes`` of 2 or more the largest survey family is estimated in a forked
    process beside the others (:func:`analysis.pipeline.compute`).

    ``estimates_written(synthetic)`` is called as soon as ``estimates.csv`` is written, before
    the other tables: the build hands the spreadsheet to a worker then.

    Returns the manifest entry, the seconds taken, and whether the spreadsheet still has to
    be written (the build writes it in a worker while the notebooks run).
    """
    data_dir = out / "data"
    previous = manifest.get("estimates", {})
    files = [data_dir / n for n in ESTIMATE_FILES]
    if not force and estimates_current(out, inputs_key, manifest):
        return previous, 0.0, False
    start = time.perf_counter()
    from analysis import pipeline  # imported here: a build with nothing to compute stays quick

    inputs = inputs_factory()
    results = pipeline.compute(inputs, processes=processes)
    pipeline.write_results(
        results,
        data_dir,
        estimates_written=None
        if estimates_written is None
        else lambda: estimates_written(bool(inputs.synthetic)),
    )
    seconds = time.perf_counter() - start
    return (
        {
            "key": inputs_key,
            "rows": len(results.estimates),
            "synthetic": inputs.synthetic,
            "skipped_measures": results.skipped,
            "small_area_models": len(results.models),
            "small_area_models_not_fitted": results.models_failed,  # model name -> reason
            # the reports depend on these; the spreadsheet and Parquet copies are added when written
            "files": {f.name: file_sha256(f) for f in files},
        },
        seconds,
        True,
    )


def write_workbook(data_dir: str, synthetic: bool, published: str | None = None) -> float:
    """Write ``estimates.xlsx`` from ``estimates.csv`` (run in a worker beside the notebooks).

    Read as every report reads it (:func:`analysis.pipeline.read_estimates`): each figure's note
    and proxy mark in their own columns, whatever the form of the file, so that the sheets give
    notes a column of their own and a proxy's source as the pages print it."""
    from analysis import pipeline, workbook

    start = time.perf_counter()
    estimates = pipeline.read_estimates(Path(data_dir) / "estimates.csv", modelled=True)
    workbook.write(
        estimates,
        Path(data_dir) / "estimates.xlsx",
        synthetic=synthetic,
        created=dt.date.fromisoformat(published) if published else None,
    )
    return time.perf_counter() - start
