"""A researcher's one call: design-based estimates of a survey measure or item for any
combination of population groups, as a tidy table.

    from analysis.api import estimate
    estimate("volunteering", by=["age_band", "sex"], period="2018/19")

One row per cell (each combination of the ``by`` groups), with the groups' labels in columns
named after the variables, the value and its 95% interval in percent, the unweighted base and
the flag. The figures are made exactly as the build makes its own (:mod:`analysis.estimate`):
the same coded microdata, the same design per wave (pooled waves included), domain
estimation keeping the whole design, Taylor-linearised standard errors, logit intervals on
each domain's degrees of freedom, and the build's disclosure control (``[c]`` below a base of
50 with the figure blanked, ``[u]`` below 100; :class:`analysis.sdc.DisclosureRules`). A
one-way cut is therefore the same figure as the matching row of ``estimates.csv``.

The microdata come from the synthetic demo (``source="demo"``), from survey waves added with
a codebook (a folder of wave files, each beside its codebook ``<name>.yaml``; a list of
``(wave, codebook)`` paths; or :class:`analysis.sources.waves.LoadedWave` objects), or from a
build's :class:`analysis.sources.inputs.Inputs`, e.g. the demo with waves added.

(It is ``analysis.api.estimate`` and not ``analysis.estimate``: that name is the build's
estimation module, :mod:`analysis.estimate`.)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis import estimate as estimation
from analysis import geography, measures, schemas, survey
from analysis.measures import Measure
from analysis.sdc import DisclosureRules

if TYPE_CHECKING:  # the build's inputs, imported when used
    from analysis.sources.inputs import Inputs

__all__ = ["BY_VARIABLES", "RESULT_COLUMNS", "Target", "estimate", "resolve", "wave_pairs"]

# what a survey can be broken down by: the demographics, and where respondents live
BY_VARIABLES = (*schemas.LEVELS, "borough", "inner_outer")
# the columns of every result, the ``by`` columns placed after ``area_name``
RESULT_COLUMNS = (
    "measure_id",
    "indicator",
    "item",
    "period",
    "area_code",
    "area_name",
    "value",
    "lower_ci",
    "upper_ci",
    "se",
    "df",
    "unweighted_base",
    "flag",
    "flag_reason",
    "unit",
    "synthetic",
)
WAVE_SUFFIXES = (".csv", ".csv.gz", ".sav", ".zsav", ".dta", ".parquet", ".pq")


@dataclass(frozen=True)
class Target:
    """What to estimate: the item(s) of a measure (or one item), with the measure's universe."""

    measure_id: str | None  # None for an item asked for by its own name
    family: str
    series: tuple[tuple[str, str], ...]  # (indicator, item) pairs
    universe: dict[str, Any] | None


def resolve(name: str) -> Target:
    """A measure id, an indicator or a survey item -> what to estimate, with a clear error.

    A measure gives every indicator it has (a gap measure: its group rate, from which the
    gaps are made), restricted to its universe (e.g. people aged 16 to 64); an indicator gives
    its own series; a survey item gives its answers over everyone who gave one."""
    registry = measures.registry()
    for m in registry:
        if name in (m.id, m.rate_indicator):
            return _target(m)
        for s in m.series:
            if s.indicator != name:
                continue
            if m.kind == "survey_gap":
                raise ValueError(
                    f"{name!r} is a gap between two groups of {s.variable!r}: estimate "
                    f"{m.id!r} by {s.variable!r} for the two rates (the build's estimates.csv "
                    "holds the gap with its own interval)"
                )
            return _target(m, (s,))
    for family, items in measures.survey_items().items():
        if name in items:
            return Target(None, family, ((name, name),), None)
    survey_names = sorted(
        {m.id for m in registry if m.is_survey}
        | {i for items in measures.survey_items().values() for i in items}
    )
    raise KeyError(
        f"{name!r} is not a survey measure, indicator or item of the registry; "
        f"survey measures and items: {survey_names}"
    )


def _target(m: Measure, series: Iterable[measures.Series] | None = None) -> Target:
    if not m.is_survey:
        raise ValueError(
            f"{m.id!r} is a {m.kind} measure, estimated from published counts, not survey "
            "microdata: read its rows from the build's estimates.csv"
        )
    if m.kind == "survey_gap":
        pairs: tuple[tuple[str, str], ...] = ((m.rate_indicator or m.id, str(m.item)),)
    else:
        pairs = tuple((s.indicator, str(s.item)) for s in (m.series if series is None else series))
    return Target(m.id, m.source_family, pairs, m.universe)


def wave_pairs(folder: str | Path) -> list[tuple[Path, Path]]:
    """Each wave file of ``folder`` with its codebook, the YAML file of the same name."""
    folder = Path(folder)
    pairs = []
    for path in sorted(folder.iterdir()):
        if path.name.endswith(WAVE_SUFFIXES):
            stem = path.name
            for suffix in WAVE_SUFFIXES:
                if stem.endswith(suffix):
                    stem = stem[: -len(suffix)]
                    break
            codebook = next(
                (
                    folder / f"{stem}{ext}"
                    for ext in (".yaml", ".yml")
                    if (folder / f"{stem}{ext}").is_file()
                ),
                None,
            )
            if codebook is None:
                raise FileNotFoundError(f"{path}: no codebook {stem}.yaml beside it")
            pairs.append((path, codebook))
    if not pairs:
        raise FileNotFoundError(f"{folder}: no wave files ({', '.join(WAVE_SUFFIXES)})")
    return pairs


@lru_cache(maxsize=8)
def _demo_family(family: str) -> pd.DataFrame:
    """One synthetic survey family, made once per session (a few seconds for the largest)."""
    from analysis.sources import demo

    return demo.validated_survey(family)


def _microdata(source: Any, family: str) -> tuple[pd.DataFrame, bool, str]:
    """The family's canonical microdata from ``source``, whether it is synthetic, and the
    design's lonely-PSU rule."""
    if isinstance(source, str) and source == "demo":
        if family not in _demo_families():
            raise ValueError(f"the demo has no {family!r} survey")
        return _demo_family(family), True, "fail"
    inputs = _as_inputs(source)
    if family not in inputs.surveys:
        raise ValueError(
            f"the source has no {family!r} survey (families: {sorted(inputs.surveys)}); "
            "map the item in a wave's codebook"
        )
    frame = inputs.surveys[family]
    if not inputs.validated:
        frame = schemas.validate_survey(frame, family, row_offset=1)
    return frame, inputs.synthetic, inputs.lonely_psu


def _demo_families() -> list[str]:
    from analysis.sources import demo

    return list(demo.profile()["families"])


def _as_inputs(source: Any) -> Inputs:
    from analysis.sources import waves
    from analysis.sources.inputs import Inputs

    if isinstance(source, Inputs):
        return source
    if isinstance(source, str | Path):
        if not Path(source).is_dir():
            raise FileNotFoundError(
                f"source {str(source)!r}: give 'demo', a folder of wave files with their "
                "codebooks, (wave, codebook) pairs or a build's Inputs"
            )
        return waves.add_waves(Inputs(validated=True), wave_pairs(source))
    return waves.add_waves(Inputs(validated=True), list(source))


def _periods(
    data: estimation.SurveyArrays, period: str | Sequence[str] | None
) -> list[estimation.Wave]:
    """The waves asked for: every wave (None), one, or several pooled into one figure."""
    if period is None:
        return [data.wave(p) for p in data.periods]
    if isinstance(period, str):
        return [data.wave(period)]
    chosen = sorted(str(p) for p in period)
    return [data.wave(chosen, estimation.pooled_label(chosen))]


def _area(area: str | None) -> tuple[str, str | None]:
    """(area code, the partition that picks it out), None for London as a whole."""
    if area is None:
        return geography.LONDON_CODE, None
    code = geography.to_code(area)
    if code == geography.LONDON_CODE:
        return code, None
    if code in (geography.INNER_LONDON_CODE, geography.OUTER_LONDON_CODE):
        return code, "inner_outer"
    return code, "borough"


def _labels(var: str) -> tuple[str, ...]:
    """The labels of a ``by`` variable's codes, in code order."""
    if var == "borough":
        names = geography.names_by_code()
        return tuple(names[c] for c in geography.borough_codes())
    if var == "inner_outer":
        return (
            geography.AGGREGATES[geography.INNER_LONDON_CODE],
            geography.AGGREGATES[geography.OUTER_LONDON_CODE],
        )
    return schemas.LEVELS[var]


def _cells(
    wave: estimation.Wave, variables: list[str], area_part: str | None, area_code: str
) -> tuple[np.ndarray, int, list[tuple[str, ...]]] | None:
    """Every respondent's cell (one code for the combination of its groups, -1 outside the
    area or with a group missing), the number of cells and each cell's labels; None where
    the area alone is asked for (no partition: the whole design)."""
    if area_part is None and not variables:
        return None
    codes = np.zeros(wave.rows.size, dtype=np.int64)
    width = 1
    if area_part is not None:  # keep the area's respondents in the domain, the rest outside
        part_codes, _ = wave.codes(area_part)
        wanted = (
            geography.borough_codes().index(area_code)
            if area_part == "borough"
            else [geography.INNER_LONDON_CODE, geography.OUTER_LONDON_CODE].index(area_code)
        )
        codes = np.where(part_codes == wanted, 0, -1)
    for var in variables:
        var_codes, k = wave.codes(var)
        codes = np.where((codes >= 0) & (var_codes >= 0), codes * k + var_codes, -1)
        width *= k
    labels: list[tuple[str, ...]] = [()]
    for var in variables:
        labels = [(*cell, level) for cell in labels for level in _labels(var)]
    return codes, width, labels


def estimate(
    measure_or_item: str,
    by: str | Sequence[str] = (),
    *,
    period: str | Sequence[str] | None = None,
    area: str | None = None,
    source: Any = "demo",
    rules: DisclosureRules | None = None,
) -> pd.DataFrame:
    """Design-based estimates of a survey measure, indicator or item, by any groups.

    ``by``: one or more of :data:`BY_VARIABLES` (``age_band``, ``sex``, ``ethnic_group``,
    ``disability``, ``nssec``, ``tenure``, ``econ_status``, ``language``, ``borough``,
    ``inner_outer``), crossed: one row per combination. ``period``: one wave (``"2018/19"``),
    several waves pooled into one figure (a list; weights divided by the number of waves, as
    the build pools), or every wave (None, the default). ``area``: a borough or Inner or Outer
    London (name or GSS code) as the domain; London when None. ``source``: ``"demo"``, a folder
    of waves with codebooks, ``(wave, codebook)`` pairs or a build's ``Inputs``. ``rules``: the
    disclosure thresholds (the build's by default).

    Returns one row per cell and wave: ``measure_id``, ``indicator``, ``item``, ``period``,
    ``area_code``, ``area_name``, one column per ``by`` variable holding the group's label,
    then ``value``, ``lower_ci``, ``upper_ci`` and ``se`` in percent, the domain's degrees of
    freedom ``df``, ``unweighted_base`` (respondents with an answer in the cell), ``flag`` and
    ``flag_reason`` as in ``estimates.csv``, ``unit`` and ``synthetic``. A suppressed cell
    (``[c]``) has its value and interval blank; a cell with no respondent is ``[x]``.
    """
    variables = [by] if isinstance(by, str) else list(by)
    unknown = [v for v in variables if v not in BY_VARIABLES]
    if unknown or len(set(variables)) < len(variables):
        raise ValueError(
            f"by {variables}: each variable once, from {list(BY_VARIABLES)}"
            + (f"; unknown {unknown}" if unknown else "")
        )
    target = resolve(measure_or_item)
    area_code, area_part = _area(area)
    if area_part is not None and area_part in variables:
        raise ValueError(f"area {area!r} and by {area_part!r} together leave one group per cell")
    frame, synthetic, lonely_psu = _microdata(source, target.family)
    data = estimation.SurveyArrays.from_frame(
        frame,
        items=sorted({item for _, item in target.series}),
        source=f"{target.family} survey",
        lonely_psu=lonely_psu,
    )
    rows: list[dict[str, Any]] = []
    for wave in _periods(data, period):
        if any(not wave.has_breakdown(v) for v in variables):
            continue  # a wave that does not record a variable has no cells by it
        cells = _cells(wave, variables, area_part, area_code)
        for indicator, item in target.series:
            y = wave.item(item, target.universe)
            if not wave.covers(y):  # a wave without the item has no figure
                continue
            if cells is None:
                res = survey.domain_means(wave.design, y)
                labels: list[tuple[str, ...]] = [()]
                columns = [0]
            else:
                codes, width, labels = cells
                res = survey.domain_means(wave.design, y, [(codes, width)], include_all=False)
                columns = list(range(width))
            lo, hi = survey.logit_ci(res.estimate, res.se, res.df, n=res.n)
            for k, cell in zip(columns, labels):
                rows.append(
                    {
                        "measure_id": target.measure_id,
                        "indicator": indicator,
                        "item": item,
                        "period": wave.period,
                        "area_code": area_code,
                        **dict(zip(variables, cell)),
                        "value": 100 * res.estimate[k],
                        "lower_ci": 100 * lo[k],
                        "upper_ci": 100 * hi[k],
                        "se": 100 * res.se[k],
                        "df": float(res.df[k]),
                        "unweighted_base": int(res.n[k]),
                    }
                )
    return _finish(rows, variables, synthetic, rules or DisclosureRules())


def _finish(
    rows: list[dict[str, Any]], variables: list[str], synthetic: bool, rules: DisclosureRules
) -> pd.DataFrame:
    """Flags and blanking by the build's rules, area names, column order."""
    order = [*RESULT_COLUMNS[:6], *variables, *RESULT_COLUMNS[6:]]
    if not rows:
        return pd.DataFrame(columns=order)
    table = pd.DataFrame(rows)
    table["p_vs_london"] = math.nan  # the rules blank tests of a suppressed figure too
    table["compared_to_london"] = "not_compared"
    table = rules.apply(table)
    table["area_name"] = table["area_code"].map(geography.names_by_code())
    table["unit"] = "%"
    table["synthetic"] = synthetic
    table["unweighted_base"] = table["unweighted_base"].astype("Int64")
    return table[order].reset_index(drop=True)
