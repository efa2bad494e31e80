"""Faults: a build killed outright, and a boundary file the maps cannot use."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, run_all_command, run_all_env

from analysis import build, outputs
from analysis.build import datastep, workers
from analysis.validate import InputError


def _temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _kill_while_writing(folder: Path) -> bool:
    """Start a build into ``folder`` and SIGKILL its process while a temporary file exists;
    whether one is left. The race can be lost: a small file may be complete and renamed
    between seeing its temporary file and the kill."""
    proc = subprocess.Popen(
        run_all_command(folder),
        cwd=ROOT,
        env=run_all_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 600
    while not (folder.exists() and _temporaries(folder)):
        assert proc.poll() is None, "the build ended before it wrote anything"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    below = _descendants(proc.pid)  # workers and their kernels
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # the workers and kernels end with it (they would otherwise go on writing into the folder)
    deadline = time.monotonic() + 20
    while any(_alive(p) for p in below) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in below if _alive(p)]
    return bool(_temporaries(folder))


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")
def test_a_build_killed_outright_is_cleaned_up_by_the_next(clean_build, tmp_path) -> None:
    clean = clean_build
    for attempt in range(5):
        killed = tmp_path / f"killed{attempt}"
        if _kill_while_writing(killed):
            break
    else:
        pytest.fail("no kill in five left a temporary file: the fault was not reproduced")

    done = subprocess.run(
        run_all_command(killed),
        cwd=ROOT,
        env=run_all_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert not _temporaries(killed)
    files = sorted(
        p.relative_to(clean) for p in clean.rglob("*") if p.is_file() and p.name != "manifest.json"
    )  # the manifest has timings
    assert files == sorted(
        p.relative_to(killed)
        for p in killed.rglob("*")
        if p.is_file() and p.name != "manifest.json"
    )
    for rel in files:
        assert (clean / rel).read_bytes() == (killed / rel).read_bytes(), rel


def test_only_temporaries_of_ended_writers_are_removed(tmp_path) -> None:
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(ended.stdout)
    (tmp_path / "boroughs").mkdir()
    stale = tmp_path / "boroughs" / f".camden.pdf.{dead_pid}.x1y2z3.tmp"
    live = tmp_path / f".index.html.{os.getpid()}.a1b2c3.tmp"
    other = tmp_path / "notes.tmp"  # not a name atomic_write makes
    for p in (stale, live, other):
        p.write_text("half")
    assert outputs.remove_stale_temporaries(tmp_path) == [stale]
    assert not stale.exists() and live.exists() and other.exists()


def test_atomic_write_names_its_temporary_file_after_its_process(tmp_path) -> None:
    seen = []
    outputs.atomic_write(
        tmp_path / "a.csv", lambda p: (seen.append(Path(p).name), Path(p).write_text("x"))
    )
    assert seen[0].startswith(f".a.csv.{os.getpid()}.") and seen[0].endswith(".tmp")
    assert (tmp_path / "a.csv").read_text() == "x" and not _temporaries(tmp_path)


@pytest.fixture
def shapefile(tmp_path) -> Path:
    """The committed boundaries written as a shapefile (.shp, .shx, .dbf, .prj, .cpg)."""
    from analysis import geography

    shapes = geography.load_boundaries().rename(columns={"code": "GSS_CODE"})[
        ["GSS_CODE", "name", "geometry"]
    ]
    path = tmp_path / "shapes" / "boroughs.shp"
    path.parent.mkdir()
    shapes.to_file(path)
    return path


def test_a_shapefile_without_its_dbf_stops_the_build_before_any_report(
    shapefile, tmp_path, monkeypatch, capsys
) -> None:
    import run_all

    shapefile.with_suffix(".dbf").unlink()
    monkeypatch.setattr(
        datastep, "estimates_step", lambda *a, **k: pytest.fail("the data step ran")
    )
    monkeypatch.setattr(workers, "start_pool", lambda *a, **k: pytest.fail("workers were started"))
    assert (
        run_all.main(
            [
                "--only",
                "camden",
                "--out",
                str(tmp_path / "out"),
                "--boundaries",
                str(shapefile),
                "--no-progress",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "boroughs.shp" in err and "boroughs.dbf" in err
    assert not list((tmp_path / "out").rglob("*.html"))


def test_boundaries_the_maps_cannot_use_are_input_errors(shapefile, tmp_path) -> None:
    build.check_boundaries(shapefile)  # a complete shapefile is fine
    broken = tmp_path / "broken.geojson"
    broken.write_text("{not json")
    with pytest.raises(InputError, match="broken.geojson.*cannot be read as borough boundaries"):
        build.check_boundaries(broken)
    shapefile.with_suffix(".shx").unlink()
    with pytest.raises(InputError, match=r"not found: boroughs\.shx"):
        build.check_boundaries(shapefile)
