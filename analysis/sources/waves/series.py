"""Waves into a build's inputs: each file feeds the families whose items it carries, and its
period labels must continue each family's series."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from analysis import schemas
from analysis.sources.waves.codebook import Codebook, canonical_columns, load_codebook
from analysis.sources.waves.files import read_wave_file
from analysis.sources.waves.mapping import apply_codebook
from analysis.validate import InputError

if TYPE_CHECKING:  # pipeline is only needed for the annotation of add_waves
    from analysis.pipeline import Inputs


@dataclass(frozen=True)
class LoadedWave:
    """A wave file read through its codebook: one canonical frame per survey family whose
    items it carries (the same respondents and design in each), and where it came from."""

    survey: str | None  # the codebook's ``survey``; None for a codebook naming only a family
    frames: dict[str, pd.DataFrame]
    source: str
    codebook: Codebook | None  # None for a canonical frame given directly, without a file

    @property
    def periods(self) -> list[str]:
        return sorted({p for f in self.frames.values() for p in f["period"].astype(str).unique()})


def load_wave(data_path: str | Path, codebook_path: str | Path) -> LoadedWave:
    """Read a data file and its codebook into a :class:`LoadedWave`."""
    codebook = load_codebook(codebook_path, defer_shared=True)  # reported with the file's problems
    frame = read_wave_file(data_path)
    return LoadedWave(
        codebook.survey,
        family_frames(apply_codebook(frame, codebook), codebook),
        str(data_path),
        codebook,
    )


def family_frames(canonical: pd.DataFrame, codebook: Codebook) -> dict[str, pd.DataFrame]:
    """The canonical frame of each family the codebook feeds: design, demographics and that
    family's items (those the file lacks are missing throughout)."""
    mapped = set(codebook.variables)
    return {
        f: canonical[list(canonical_columns(f))].copy()
        for f in codebook.families
        if mapped & set(schemas.survey_items()[f])
    }  # a family whose items are all absent gets nothing


PERIOD_STYLES = {False: "calendar years", True: "survey years"}


def _style(period: str) -> bool:
    return "/" in period


def _check_series(
    family: str, have: list[str], new: list[str], follows: str | None, source: str
) -> None:
    """A wave's labels must continue the family's series in its style (``2019/20`` after
    ``2018/19``; ``2019`` after ``2018``) unless the codebook declares with ``follows`` the
    period it comes after, for a survey that really changed from one style to the other."""
    styles = {_style(p) for p in have}
    mixed = len({_style(p) for p in new}) > 1 or bool(styles and {_style(p) for p in new} - styles)
    if follows is None:
        if mixed:
            shown = ", ".join(
                have[:2] + (["..."] if len(have) > 3 else []) + have[-1:] if len(have) > 2 else have
            )
            raise InputError(
                source,
                (
                    f"wave label(s) {new} do not fit the series of the {family!r} survey ({shown}: "
                    f"{' and '.join(PERIOD_STYLES[s] for s in sorted(styles))}); if the survey really moved from "
                    f'one to the other, say which period the wave follows in its codebook, e.g. follows: "{have[-1]}"'
                    if have
                    else f"wave labels {new} mix calendar years and survey years"
                ),
            )
        return
    if not have:  # the first wave of this family here: nothing to follow
        return
    if follows != have[-1]:
        raise InputError(
            source,
            f"follows: {follows!r} is not the latest period of the {family!r} survey "
            f"({have[-1]}); a wave follows the latest one",
        )
    early = [p for p in new if p <= follows]
    if early:
        raise InputError(
            source,
            f"wave label(s) {early} would be ordered before {follows!r}, which they follow; "
            "periods are ordered by their label",
        )


def add_waves(inputs: Inputs, pairs: Iterable[Any], *, replace: bool = False) -> Inputs:
    """A copy of ``inputs`` (a :class:`analysis.pipeline.Inputs`) with new waves appended.

    Each entry is a :class:`LoadedWave`, a ``(data_path, codebook_path)`` pair or a
    ``(family, canonical frame)`` pair. A file carrying the items of several families feeds
    each of them. A wave whose period a family already has (in ``inputs`` or earlier in
    ``pairs``) is an error unless ``replace=True``, which replaces that period's rows; so is a
    label that does not continue the series (see :func:`_check_series`). ``inputs`` itself is
    not changed; its ``synthetic`` flag is kept. In a real build (not synthetic) the source of
    every measure the waves feed names the surveys and their periods.
    """
    from analysis import measures

    surveys = dict(inputs.surveys)
    added: set[tuple[str, str]] = set()
    names: dict[str, dict[str, list[str]]] = {}  # family -> survey name -> periods
    for entry in pairs:
        if isinstance(entry, LoadedWave):
            loaded = entry
        else:
            first, second = entry
            if isinstance(second, pd.DataFrame):
                family = str(first)
                if family not in schemas.survey_items():
                    raise InputError(
                        f"{family} survey",
                        f"unknown survey family; one of {list(schemas.survey_items())}",
                    )
                frame = schemas.validate_survey(second, family, row_offset=0)
                loaded = LoadedWave(None, {family: frame}, f"{family} survey", None)
            else:
                loaded = load_wave(first, second)
        follows = loaded.codebook.follows if loaded.codebook is not None else None
        for family, frame in loaded.frames.items():
            frame = frame[list(canonical_columns(family))]
            new_periods = sorted(frame["period"].astype(str).unique())
            existing = surveys.get(family)
            have = [] if existing is None else sorted(existing["period"].astype(str).unique())
            repeated = [p for p in new_periods if (family, p) in added]
            if repeated:
                raise InputError(
                    loaded.source, f"period(s) {repeated} of the {family!r} survey are added twice"
                )
            clash = [p for p in new_periods if p in have]
            if clash and not replace:
                raise InputError(
                    loaded.source,
                    f"the {family!r} survey already has period(s) {clash}; "
                    "pass replace=True to replace them",
                )
            _check_series(
                family,
                [p for p in have if p not in new_periods],
                new_periods,
                follows,
                loaded.source,
            )
            if existing is not None:
                existing = existing[~existing["period"].astype(str).isin(new_periods)]
                combined = pd.concat([existing, frame], ignore_index=True)
            else:
                combined = frame.reset_index(drop=True)
            surveys[family] = combined
            added.update((family, p) for p in new_periods)
            if (
                loaded.survey
            ):  # a wave of an unnamed survey keeps the registry's source for its family
                names.setdefault(family, {}).setdefault(loaded.survey, []).extend(new_periods)
    notes = dict(inputs.source_notes)
    if not inputs.synthetic:  # a synthetic build keeps its demo labels: earlier waves are synthetic
        for m in measures.registry():
            if m.is_survey and m.source_family in names:
                notes[m.id] = "; ".join(
                    f"{name} ({', '.join(sorted(periods))})"
                    for name, periods in names[m.source_family].items()
                )
    return dataclasses.replace(inputs, surveys=surveys, source_notes=notes)
