"""Writing the estimates: same inputs give the same bytes, and writes are atomic."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis import outputs, pipeline
from analysis.__main__ import main


def test_outputs_written_and_read_back(tmp_path, demo_results) -> None:
    paths = pipeline.write_results(demo_results, tmp_path)
    back = pipeline.read_estimates(paths["estimates"], modelled=True)
    assert list(back.columns) == list(demo_results.estimates.columns)
    assert len(back) == len(demo_results.estimates)
    pd.testing.assert_series_equal(
        back["value"], demo_results.estimates["value"], check_exact=False, rtol=1e-9
    )
    assert back["flag"].fillna("").tolist() == demo_results.estimates["flag"].tolist()
    parquet = pd.read_parquet(paths["parquet"])
    assert parquet["synthetic"].all()
    assert {p.name for p in tmp_path.iterdir()} == {
        "estimates.csv",
        "estimates_detail.csv",
        "changes.csv",
        "estimates.parquet",
        "trends.csv",
        "briefing.csv",
        "revisions.csv",
        "modelled",
        "neighbours.csv",
    }
    direct = pipeline.read_estimates(
        paths["estimates"]
    )  # pages written for direct figures see only those
    assert (direct["method"] == "direct").all()
    assert len(direct) == (demo_results.estimates["method"] == "direct").sum()


def test_same_inputs_give_identical_files(tmp_path) -> None:
    assert main(["estimates", "--out", str(tmp_path / "a"), "--no-parquet"]) == 0
    assert main(["estimates", "--out", str(tmp_path / "b"), "--no-parquet"]) == 0
    for name in (
        "estimates.csv",
        "changes.csv",
        "estimates_detail.csv",
        "trends.csv",
        "briefing.csv",
    ):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_failed_write_keeps_the_previous_file(tmp_path) -> None:
    target = tmp_path / "estimates.csv"
    target.write_text("last good\n")

    def explode(path: str) -> None:
        with open(path, "w") as f:
            f.write("half a fi")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        outputs.atomic_write(target, explode)
    assert target.read_text() == "last good\n"
    assert [p.name for p in tmp_path.iterdir()] == ["estimates.csv"]


def test_written_files_are_readable_by_others(tmp_path) -> None:
    """Outputs get the usual permissions (0666 less the umask), not the temporary file's 0600,
    so a web server or a colleague can read the published reports."""
    import os
    import stat

    old = os.umask(0o022)
    try:
        outputs.atomic_write(tmp_path / "page.html", lambda p: Path(p).write_text("<p>hello</p>"))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "page.html").stat().st_mode) == 0o644


def test_the_estimates_are_announced_once_written_before_the_other_tables(
    tmp_path, demo_results
) -> None:
    """The build hands the spreadsheet to a worker as soon as ``estimates.csv`` is complete,
    while the other tables are still being written: the call comes once, with that file whole
    and the others not yet there."""
    seen = []

    def written() -> None:
        seen.append(
            (
                pipeline.read_estimates(tmp_path / "estimates.csv", modelled=True).shape,
                sorted(p.name for p in tmp_path.glob("*.csv")),
            )
        )

    pipeline.write_results(demo_results, tmp_path, parquet=False, estimates_written=written)
    assert seen == [(demo_results.estimates.shape, ["estimates.csv"])]
    assert (tmp_path / "changes.csv").exists()
