"""The problems a codebook or its file can have, and the two errors that list them all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from analysis.validate import InputError

# list at most this many unmapped values per variable in the message (all are in .problems)
MAX_VALUES_SHOWN = 100


@dataclass(frozen=True)
class ValueCount:
    """A value found in the file: its label, how many kept rows carry it and the first of them."""

    value: Any
    label: str | None
    count: int
    first_row: int  # as the user counts rows (see the module docstring)


@dataclass(frozen=True)
class Problem:
    """One problem found in a codebook or between a codebook and its file."""

    key: str  # codebook key, e.g. "variables.sex" or "filter.keep[0]"
    message: str
    variable: str | None = None  # the source variable, where there is one
    values: tuple[ValueCount, ...] = ()  # every offending value, where values are the problem

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


def _problem_message(header: str, problems: list[Problem]) -> str:
    if len(problems) == 1 and "\n" not in str(problems[0]):
        return f"{header}: {problems[0]}"
    lines = [f"{header} ({len(problems)} problem{'s' if len(problems) != 1 else ''}):"]
    lines += [f"  - {p}" for p in problems]
    return "\n".join(lines)


class CodebookError(InputError):
    """The codebook YAML itself is wrong; ``problems`` lists every problem found."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(source, _problem_message("invalid codebook", self.problems))


class WaveMismatchError(InputError):
    """A codebook does not fit its data file; ``problems`` lists every problem found."""

    def __init__(self, source: str, problems: list[Problem], codebook: str | None = None) -> None:
        self.problems = list(problems)
        what = f"the codebook {codebook!r}" if codebook else "the codebook"
        super().__init__(source, _problem_message(f"{what} does not fit this file", self.problems))
