"""The data step's forked parts: same results, errors come back, a dead child is reported."""

from __future__ import annotations

import json
import os
import pickle

import pytest

from analysis import forking, pipeline
from analysis.validate import InputError

needs_fork = pytest.mark.skipif(not forking.can_fork(), reason="no fork start method here")


def _square(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def _bad_input() -> None:
    raise InputError("survey.csv", "weight must be a positive number", row=7, column="weight")


def _die() -> None:
    os._exit(3)


@needs_fork
def test_part_runs_in_another_process_and_returns_its_result() -> None:
    value, pid = forking.Beside(_square, 12).result()
    assert value == 144 and pid != os.getpid()


@needs_fork
def test_child_error_is_raised_with_its_file_row_and_column() -> None:
    with pytest.raises(InputError) as caught:
        forking.Beside(_bad_input).result()
    err = caught.value
    assert (err.source, err.row, err.column) == ("survey.csv", 7, "weight")
    assert str(err) == "survey.csv, row 7, column 'weight': weight must be a positive number"


def test_input_error_survives_pickling() -> None:
    err = pickle.loads(pickle.dumps(InputError("a.csv", "bad code", row=3, column="sex")))
    assert (err.source, err.detail, err.row, err.column, str(err)) == (
        "a.csv",
        "bad code",
        3,
        "sex",
        "a.csv, row 3, column 'sex': bad code",
    )


@needs_fork
def test_child_that_dies_is_reported() -> None:
    with pytest.raises(RuntimeError, match="exit code 3"):
        forking.Beside(_die).result()


def test_without_fork_the_part_runs_here(monkeypatch) -> None:
    monkeypatch.setattr(forking, "can_fork", lambda: False)
    value, pid = forking.Beside(_square, 5).result()
    assert value == 25 and pid == os.getpid()


@needs_fork
def test_cancel_ends_the_child() -> None:
    import time

    part = forking.Beside(time.sleep, 30)
    part.cancel()
    assert not part._child.is_alive()


@needs_fork
def test_estimates_are_the_same_with_a_forked_family(demo_inputs, demo_results) -> None:
    """The largest survey family estimated in a child gives the very same tables, and the
    small area models (this process fits its own indicators' while the child estimates)
    are the same models (their order does not matter: each is written to its own file, and
    the tables are sorted)."""
    apart = pipeline.compute(demo_inputs, processes=2)
    for name in ("estimates", "detail", "changes", "trends"):
        left, right = getattr(apart, name), getattr(demo_results, name)
        assert left.equals(right), name
    assert apart.skipped == demo_results.skipped
    assert apart.models_failed == demo_results.models_failed
    ours = {m.name: m for m in apart.models}
    theirs = {m.name: m for m in demo_results.models}
    assert sorted(ours) == sorted(theirs) and len(ours) == len(apart.models) >= 10
    for name, model in ours.items():
        assert model.table.equals(theirs[name].table), name
        assert json.dumps(model.meta, sort_keys=True, default=str) == json.dumps(
            theirs[name].meta, sort_keys=True, default=str
        ), name


@needs_fork
def test_demo_is_the_same_with_its_largest_survey_made_apart(demo_inputs) -> None:
    from analysis.sources import demo

    apart = demo.surveys(processes=2)
    assert list(apart) == list(demo_inputs.surveys)
    for family, frame in apart.items():
        assert frame.equals(demo_inputs.surveys[family]), family


def _fail_here() -> None:
    raise ValueError("this process's part failed")


@needs_fork
def test_side_by_side_returns_both_and_ends_the_child_when_this_part_fails(monkeypatch) -> None:
    import time

    mine, theirs = forking.side_by_side(lambda: "here", _square, 3)
    assert mine == "here" and theirs[0] == 9 and theirs[1] != os.getpid()
    assert forking.side_by_side(lambda: 1, None) == (1, None)
    started = []
    real = forking.Beside

    def remember(*args):
        started.append(real(*args))
        return started[-1]

    monkeypatch.setattr(forking, "Beside", remember)
    with pytest.raises(ValueError, match="part failed"):
        forking.side_by_side(_fail_here, time.sleep, 30)
    assert not started[0]._child.is_alive()
