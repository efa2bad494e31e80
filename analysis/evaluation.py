"""Programme evaluation: pre/post participant surveys for the Mayor's social integration initiatives.

The strategy commits City Hall to "pre- and post- surveys" of the Londoners taking part in its
initiatives, with success measures that mirror the state of social integration measures
(GLA 2018, *All of Us*, Policy 4.3, paragraph 4.3.2 and Table 5). This module holds

* the initiatives and their success measures (:data:`INITIATIVES`, from Table 5);
* the input format for real evaluation data (one row per participant per wave; see
  ``docs/evaluation_format.md``), its validation and loading (:func:`load`, :func:`validate`);
* the statistics live in :mod:`analysis.evaluation_stats` (with the cluster-robust machinery in
  :mod:`analysis.cluster_robust`) and the report page in :mod:`analysis.evaluation_page`, whose
  sections the notebook ``notebooks/programme_evaluation.ipynb`` displays.

Everything is unweighted: an evaluation sample of programme participants is not a probability
sample of Londoners, so the figures describe the people surveyed, not a population.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from analysis import geography
from analysis.validate import Column, InputError, Rule, Schema
from analysis.validate import validate as validate_schema

__all__ = [
    "DOC",
    "GROUPS",
    "INITIATIVES",
    "Initiative",
    "NOT_SURVEYED",
    "Outcome",
    "Polarity",
    "STRATEGY",
    "WAVES",
    "initiative",
    "load",
    "schema",
    "validate",
]

GROUPS = ("programme", "comparison")
WAVES = ("pre", "post")
DOC = "docs/evaluation_format.md"
Polarity = Literal["up", "down"]
"""Which way an outcome improves: every success measure of an initiative is judged (none is
context), so unlike the registry's polarity there is no "neutral"."""
STRATEGY = (
    "Greater London Authority (2018), All of Us: The Mayor's Strategy for Social Integration, "
    "Policy 4.3 (paragraph 4.3.2) and Table 5"
)


# ------------------------------------------------------------------------------------------
# Initiatives and their success measures (Table 5 of the strategy)


@dataclass(frozen=True)
class Outcome:
    """One binary success measure asked at both waves (1 = yes, 0 = no)."""

    code: str  # column name in the evaluation data
    label: str  # short label for charts and tables
    question: str  # what a 1 means
    polarity: Polarity  # "up": a rise is an improvement; "down": a fall is
    london_indicator: str | None = None  # the estimates indicator it mirrors (for context)
    london_complement: bool = False  # London figure is 100 minus that indicator
    london_note: str | None = None


@dataclass(frozen=True)
class Initiative:
    """One of the strategy's initiatives to evaluate (Table 5) and its success measures."""

    id: str
    name: str
    policy: str
    summary: str
    participants: str
    outcomes: tuple[Outcome, ...]

    def outcome(self, code: str) -> Outcome:
        for o in self.outcomes:
            if o.code == code:
                return o
        raise KeyError(
            f"{code!r} is not a success measure of {self.name}; known: {[o.code for o in self.outcomes]}"
        )


_FRIENDS = "Says all or nearly all of their friends {}"
# Participants are asked about "all or nearly all" of their friends; the London estimates count
# only "all" of them (Understanding Society), so the London figure is lower by construction.
_FRIENDS_NOTE = (
    "Not like for like: participants were asked about all or nearly all of their friends, London's "
    "figure counts only those saying all of their friends, so it is lower by construction"
)
# a success measure of two initiatives (Table 5 lists volunteering under both)
_VOLUNTEERED = Outcome(
    "volunteered",
    "Volunteered",
    "Did any voluntary work in the last 12 months",
    "up",
    "volunteering",
)

INITIATIVES: dict[str, Initiative] = {
    "london_family_fund": Initiative(
        id="london_family_fund",
        name="The London Family Fund",
        policy="Policy 1.1, Creating shared experiences for families",
        summary=(
            "Projects that bring families from different backgrounds together and reduce isolation in early "
            "parenthood. Table 5 measures participants' friendship diversity and whether they have someone to "
            "rely on."
        ),
        participants="parents and carers taking part in funded projects",
        outcomes=(
            Outcome(
                "friends_similar_age",
                "All or nearly all friends a similar age",
                _FRIENDS.format("are a similar age to them"),
                "down",
                "friends_similar_age",
                london_note=_FRIENDS_NOTE,
            ),
            Outcome(
                "friends_same_ethnicity",
                "All or nearly all friends the same ethnic group",
                _FRIENDS.format("are of the same ethnic group (race) as them"),
                "down",
                "friends_similar_ethnicity",
                london_note=_FRIENDS_NOTE,
            ),
            Outcome(
                "friends_similar_income",
                "All or nearly all friends a similar income",
                _FRIENDS.format("have a similar income to them"),
                "down",
                "friends_similar_income",
                london_note=_FRIENDS_NOTE,
            ),
            Outcome(
                "friends_similar_education",
                "All or nearly all friends a similar education",
                _FRIENDS.format("have a similar level of education to them"),
                "down",
                "friends_similar_education",
                london_note=_FRIENDS_NOTE,
            ),
            Outcome(
                "someone_to_rely_on",
                "Someone to rely on a lot",
                "Has a spouse or partner, family member or friend they could rely on a lot in a serious problem",
                "up",
                "social_isolation",
                london_complement=True,
                london_note="London figure is 100 minus the share with no one to rely on",
            ),
        ),
    ),
    "citizenship_integration_initiative": Initiative(
        id="citizenship_integration_initiative",
        name="Citizenship and Integration Initiative (CII)",
        policy="Policy 2.2, Increasing democratic participation, and Policy 3.5, Enabling the path to citizenship",
        summary=(
            "Citizenship ceremony pilots that encourage new citizens to take part in civic life. Table 5 measures "
            "whether ceremony participants volunteer, join organisations and register to vote."
        ),
        participants="people attending citizenship ceremony pilots",
        outcomes=(
            _VOLUNTEERED,
            Outcome(
                "associational_member",
                "Member of an organisation",
                "Belongs to at least one political, voluntary, professional or recreational organisation",
                "up",
                "associational_membership",
            ),
            Outcome(
                "registered_to_vote",
                "Registered to vote",
                "Says they are on the electoral register",
                "up",
                "electoral_registration",
                london_note="London figure is electors over adults from administrative data, not a survey answer",
            ),
        ),
    ),
    "esol_plus": Initiative(
        id="esol_plus",
        name="ESOL Plus",
        policy="Policy 3.6, Reducing barriers to communication",
        summary=(
            "Pilots of English for Speakers of Other Languages provision that suits carers and pre-entry learners. "
            "Table 5 measures learners' English proficiency and outcomes beyond work, such as volunteering."
        ),
        participants="learners on ESOL Plus courses",
        outcomes=(
            Outcome(
                "english_difficulty",
                "English difficulties affect work or study",
                "Says difficulties with English make it harder to find or keep work or to study",
                "down",
                "english_proficiency",
            ),
            _VOLUNTEERED,
        ),
    ),
}
NOT_SURVEYED = (
    "The other initiatives in Table 5 (the Workforce Integration Network and community sponsorship) are measured by "
    "counts of employers, boroughs, peer champions and resettled refugees rather than by participant surveys, so "
    "they have no pre/post analysis here."
)


def initiative(initiative_id: str) -> Initiative:
    if initiative_id not in INITIATIVES:
        raise KeyError(f"Unknown initiative {initiative_id!r}; choose one of {sorted(INITIATIVES)}")
    return INITIATIVES[initiative_id]


# ------------------------------------------------------------------------------------------
# Input format (docs/evaluation_format.md)


def schema(init: Initiative) -> Schema:
    """The canonical evaluation table for one initiative."""
    cols = [
        Column("initiative", "code", allowed=frozenset({init.id})),
        Column("participant_id", "str"),
        Column("group", "code", allowed=frozenset(GROUPS)),
        Column("site", "str"),
        Column("wave", "code", allowed=frozenset(WAVES)),
        Column("interview_date", "str", required=False, nullable=True),
        Column("borough", "str", required=False, nullable=True),
    ]
    cols += [Column(o.code, "float", nullable=True, minimum=0, maximum=1) for o in init.outcomes]
    return Schema(
        f"{init.name} evaluation data",
        tuple(cols),
        keys=("participant_id", "wave"),
        rules=(_binary_outcomes(init), _stable_membership),
    )


def _binary_outcomes(init: Initiative) -> Rule:
    def rule(frame: pd.DataFrame, source: str, row_offset: int) -> None:
        for o in init.outcomes:
            values = frame[o.code]
            bad = values.notna() & ~values.isin([0, 1])
            if bad.any():
                pos = int(np.flatnonzero(bad.to_numpy())[0])
                raise InputError(
                    source,
                    f"value {values.iloc[pos]!r} is not a code: use 1 (yes), 0 (no) or blank",
                    row=pos + row_offset,
                    column=o.code,
                )

    return rule


def _stable_membership(frame: pd.DataFrame, source: str, row_offset: int) -> None:
    for column in ("group", "site"):
        varying = frame.groupby("participant_id")[column].nunique()
        if (varying > 1).any():
            who = varying[varying > 1].index[0]
            pos = int(np.flatnonzero((frame["participant_id"] == who).to_numpy())[-1])
            raise InputError(
                source,
                f"participant {who!r} has a different {column} at each wave",
                row=pos + row_offset,
                column=column,
            )


def validate(
    frame: pd.DataFrame, initiative_id: str, *, source: str = "evaluation data", row_offset: int = 2
) -> pd.DataFrame:
    """Check an evaluation table against the documented format; returns it typed and sorted."""
    init = initiative(initiative_id)
    frame = frame.copy()
    for column in ("participant_id", "site", "group", "wave", "initiative"):
        if column in frame.columns:
            frame[column] = frame[column].astype("string").str.strip().astype(object)
    out = validate_schema(frame, schema(init), source=source, row_offset=row_offset)
    if "borough" in out.columns and out["borough"].notna().any():
        out["borough"] = geography.standardise_column(
            out["borough"], source=source, column="borough", row_offset=row_offset
        )
    return out.sort_values(
        ["group", "site", "participant_id", "wave"], key=_wave_order
    ).reset_index(drop=True)


def _wave_order(s: pd.Series) -> pd.Series:
    return s.map({"pre": 0, "post": 1}) if s.name == "wave" else s


def load(path: str | Path, initiative_id: str) -> pd.DataFrame:
    """Read a CSV in the documented format (other initiatives' rows are left out) and validate it."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Evaluation data not found: {path}")
    frame = pd.read_csv(
        path,
        dtype={
            "participant_id": str,
            "site": str,
            "group": str,
            "wave": str,
            "initiative": str,
            "borough": str,
            "interview_date": str,
        },
        keep_default_na=False,
        na_values=[""],
    )
    if "initiative" not in frame.columns:
        raise InputError(str(path), "missing column 'initiative'")
    rows = frame[frame["initiative"] == initiative_id]
    if rows.empty:
        raise InputError(
            str(path),
            f"no rows for initiative {initiative_id!r}; found {sorted(frame['initiative'].unique())}",
        )
    # keep the file's row numbers in messages: index positions of the kept rows + header line
    kept = rows.reset_index(drop=True)
    try:
        return validate(kept, initiative_id, source=str(path), row_offset=2)
    except InputError as err:
        if err.row is not None:  # translate the filtered position back to the file's row
            raise InputError(
                str(path), err.detail, row=int(rows.index[err.row - 2]) + 2, column=err.column
            ) from None
        raise
