"""The build's data step: inputs in, one tidy estimates table (plus changes) out, written atomically.

Compute once, render many: this runs once per build; notebooks only read its outputs.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import briefing, compare, estimate, forking, measures, provenance, schemas, trends
from analysis.measures import Measure
from analysis.outputs import atomic_write
from analysis.sae import boroughs as sae
from analysis.sdc import DisclosureRules

# Inputs moved to analysis.sources.inputs (beside the sources that make it); imported here for
# the annotations, and so that pipeline.Inputs keeps working for tests, benchmarks and
# notebooks written against it while they move over.
from analysis.sources.inputs import Inputs


@dataclass
class Results:
    """What a build computes: the published table, the same with standard errors, changes
    since the previous period and recent trends."""

    estimates: pd.DataFrame
    detail: pd.DataFrame
    changes: pd.DataFrame
    skipped: list[str] = field(default_factory=list)  # measures with no input in this build
    neighbours: pd.DataFrame | None = None  # written as neighbours.csv when the inputs give them
    trends: pd.DataFrame | None = None  # None: worked out from ``detail`` when written
    models: list[sae.Model] = field(default_factory=list)  # small area models (modelled boroughs)
    models_failed: dict[str, str] = field(
        default_factory=dict
    )  # model name -> why it was not fitted
    rules: DisclosureRules = field(
        default_factory=DisclosureRules
    )  # the thresholds the figures were made with


def demo_inputs(processes: int = 1) -> Inputs:
    """The embedded synthetic demonstration inputs (deterministic, offline); with
    ``processes`` of 2 or more the largest survey is generated beside the others."""
    from analysis import neighbours
    from analysis.sae import covariates
    from analysis.sources import demo

    admin = demo.admin_tables()
    return Inputs(
        surveys=demo.surveys(processes),
        admin=admin,
        synthetic=True,
        validated=True,
        area_covariates=covariates.demo(),
        neighbours=neighbours.demo(admin),
    )


def compute(
    inputs: Inputs,
    registry: Sequence[Measure] | None = None,
    rules: DisclosureRules | None = None,
    *,
    processes: int = 1,
) -> Results:
    """Estimate every measure the inputs support; waves are prepared once per survey family.

    With ``processes`` of 2 or more (and ``fork`` available), the measures of the survey
    family with the most respondents are estimated in a forked child process while this
    process estimates the others (see :mod:`analysis.forking`); the results are the same.
    """
    registry = list(registry if registry is not None else measures.registry())
    rules = rules or DisclosureRules()
    if not inputs.validated:  # never estimate from a table that has not passed its schema
        inputs = validate_inputs(inputs)
    apart = _largest_family(inputs, registry) if processes > 1 and forking.can_fork() else None
    here = [m for m in registry if apart is None or _family(m) != apart]
    models: list[sae.Model] = []
    failed: dict[str, str] = {}

    def fit(directs: list[sae.Direct]) -> None:
        # each indicator's models are fitted on their own, so fitting this process's
        # indicators while the child still estimates gives the same models in the same order
        if inputs.area_covariates is not None and directs:
            got, lost = sae.fit_all(directs, inputs.area_covariates, rules, series_breaks(registry))
            models.extend(got)
            failed.update(lost)

    def estimate_here() -> tuple[dict[str, pd.DataFrame], list[str], list[sae.Direct]]:
        estimated = _estimate_measures(inputs, here, registry, rules)
        fit(estimated[2])
        return estimated

    (parts, skipped, directs), other = forking.side_by_side(
        estimate_here,
        _estimate_measures if apart else None,
        inputs,
        [m for m in registry if _family(m) == apart],
        registry,
        rules,
    )
    if other is not None:
        parts.update(other[0])
        skipped += other[1]
        directs += other[2]
        fit(other[2])
    order = [m.id for m in registry]
    direct = pd.concat([parts[i] for i in order if i in parts], ignore_index=True)
    modelled = sae.rows(
        models, {m.id: m for m in registry}, inputs.source_label, inputs.synthetic, inputs.proxies
    )
    detail = estimate.sort_rows(
        pd.concat([direct, modelled], ignore_index=True) if len(modelled) else direct, order
    )
    breaks = series_breaks(registry)
    direct_detail = detail[detail["method"] == sae.METHOD_DIRECT]
    return Results(
        estimates=detail[estimate.ESTIMATE_COLUMNS].copy(),
        detail=detail,
        # changes.csv and trends.csv hold the direct figures; a modelled figure's change since
        # the previous wave, tested on its own MSE, is in its model's file (analysis.sae.changes)
        changes=compare.changes(direct_detail, breaks=breaks),
        skipped=[i for i in order if i in set(skipped)],
        neighbours=inputs.neighbours,
        trends=trends.trends(direct_detail, breaks),
        models=models,
        models_failed=failed,
        rules=rules,
    )


def series_breaks(registry: Sequence[Measure] | None = None) -> dict[str, set[str]]:
    """Measure id -> the periods where its definition changed (the registry's ``series_breaks``)."""
    registry = measures.registry() if registry is None else registry
    return {m.id: set(m.series_breaks) for m in registry if m.series_breaks}


def _family(m: Measure) -> str | None:
    return m.source_family if m.is_survey else None


def _largest_family(inputs: Inputs, registry: list[Measure]) -> str | None:
    """The survey family with the most respondents, if other measures remain beside it."""
    families = {_family(m) for m in registry} - {None}
    present = [f for f in families if f in inputs.surveys]
    if not present:
        return None
    largest = max(present, key=lambda f: (len(inputs.surveys[f]), f))
    return largest if any(_family(m) != largest for m in registry) else None


def _estimate_measures(
    inputs: Inputs, chosen: list[Measure], registry: list[Measure], rules: DisclosureRules
) -> tuple[dict[str, pd.DataFrame], list[str], list[sae.Direct]]:
    """Rows of each measure in ``chosen`` by id, the ids of those with no input here, and the
    direct borough inputs of the small area models (when the inputs have covariates)."""
    prepared: dict[str, tuple[estimate.SurveyArrays, dict[str, estimate.Wave]]] = {}
    parts: dict[str, pd.DataFrame] = {}
    skipped: list[str] = []
    directs: list[sae.Direct] = []
    for m in chosen:
        label = inputs.source_label(m)
        if (
            m.id in inputs.published
            and m.kind == "survey_gap"
            and m.source_family not in inputs.surveys
        ):
            rows = estimate.estimate_published_gap(m, inputs.published[m.id])
            parts[m.id] = estimate.finish(
                rows,
                m,
                source=label,
                synthetic=inputs.synthetic,
                rules=rules,
                flags_from_source=True,
                proxy=m.id in inputs.proxies,
            )
            continue
        if m.is_survey:
            frame = inputs.surveys.get(m.source_family)
            if frame is None:
                skipped.append(m.id)
                continue
            if m.source_family not in prepared:  # code and design each wave once per build
                items = sorted(
                    {i for x in registry if x.source_family == m.source_family for i in x.items()}
                )
                data = estimate.SurveyArrays.from_frame(
                    frame,
                    items=items,
                    source=f"{m.source_family} survey",
                    lonely_psu=inputs.lonely_psu,
                )
                prepared[m.source_family] = (data, {p: data.wave(p) for p in data.periods})
            data, waves = prepared[m.source_family]
            rows = estimate.estimate_survey_measure(m, data, waves)
            if rows.empty:  # every wave lacks the measure's items (declared absent): no figure
                skipped.append(m.id)
                continue
            if inputs.area_covariates is not None:
                directs += sae.directs(m, waves)
        else:
            table = inputs.admin.get(m.table) if m.table else None
            if table is None:
                skipped.append(m.id)
                continue
            if m.kind == "admin_value":
                rows = estimate.estimate_admin_value(m, table)
            else:
                rows = estimate.estimate_admin_measure(m, table)
        parts[m.id] = estimate.finish(
            rows,
            m,
            source=label,
            synthetic=inputs.synthetic,
            rules=rules,
            flags_from_source=m.kind == "admin_value",
            proxy=m.id in inputs.proxies,
        )
        if m.id in inputs.unreliable:
            parts[m.id] = estimate.mark_unreliable(parts[m.id], inputs.unreliable[m.id])
    return parts, skipped, directs


def validate_inputs(inputs: Inputs) -> Inputs:
    """Validate every table of ``inputs`` against its canonical schema (raises InputError).

    In-memory tables have no header line, so rows are numbered from 1 in messages.
    """
    return Inputs(
        surveys={f: schemas.validate_survey(d, f, row_offset=1) for f, d in inputs.surveys.items()},
        admin={t: schemas.validate_admin(d, t, row_offset=1) for t, d in inputs.admin.items()},
        published=inputs.published,
        source_notes=inputs.source_notes,
        proxies=inputs.proxies,
        unreliable=inputs.unreliable,
        synthetic=inputs.synthetic,
        lonely_psu=inputs.lonely_psu,
        validated=True,
        neighbours=inputs.neighbours,
        area_covariates=inputs.area_covariates,
    )


def write_results(
    results: Results,
    out_dir: str | Path,
    *,
    parquet: bool = True,
    rules: DisclosureRules | None = None,
    estimates_written: Callable[[], None] | None = None,
) -> dict[str, Path]:
    """Write ``estimates.csv`` (and Parquet), ``estimates_detail.csv``, ``changes.csv``,
    ``trends.csv``, the briefing's tables ``briefing.csv`` and ``revisions.csv``,
    ``neighbours.csv`` (when the inputs give neighbours), and each small area model's table and
    description under ``modelled/`` (replaced whole).

    The estimates already in ``out_dir``, when they differ from the new ones, are kept first as
    ``previous/estimates.csv``: the revisions are the (direct) figures of the same period that
    differ between the two (see :mod:`analysis.briefing`).

    ``estimates_written`` is called once ``estimates.csv`` is in place, before the other
    tables are written (the build starts the spreadsheet, which needs only that file, then).
    """
    out = Path(out_dir)
    paths = {
        "estimates": out / "estimates.csv",
        "detail": out / "estimates_detail.csv",
        "changes": out / "changes.csv",
        "trends": out / "trends.csv",
        "briefing": out / "briefing.csv",
        "revisions": out / "revisions.csv",
    }
    text = csv_text(results.estimates)
    previous = briefing.keep_previous(paths["estimates"], text, out / briefing.PREVIOUS)
    atomic_write(paths["estimates"], lambda p: Path(p).write_bytes(text.encode("utf-8")))
    if estimates_written is not None:
        estimates_written()
    trend_rows = (
        results.trends
        if results.trends is not None
        else trends.trends(
            results.detail[results.detail["method"] == sae.METHOD_DIRECT]
            if "method" in results.detail
            else results.detail,
            series_breaks(),
        )
    )
    current = read_estimates(
        io.StringIO(text)
    )  # as written (10 significant digits), like the previous copy
    findings = briefing.findings(results.changes, trend_rows, current)
    revisions = briefing.revisions(read_estimates(previous) if previous else None, current)
    tables = {
        "detail": results.detail,
        "changes": results.changes,
        "trends": trend_rows,
        "briefing": findings,
        "revisions": revisions,
    }
    for name, table in tables.items():
        atomic_write(paths[name], lambda p, t=table: Path(p).write_bytes(csv_text(t).encode()))
    if results.neighbours is not None:
        from analysis import neighbours

        paths["neighbours"] = neighbours.write(results.neighbours, out)
    if parquet:
        paths["parquet"] = out / "estimates.parquet"
        atomic_write(paths["parquet"], lambda p: results.estimates.to_parquet(p, index=False))
    sae.write(results.models, out / "modelled", rules or results.rules)
    return paths


def csv_text(frame: pd.DataFrame) -> str:
    """``frame`` as the build writes a table: CSV without the index, numbers to 10 significant
    digits, missing numbers blank, the same text as ``to_csv(float_format="%.10g")``.

    Why the numbers are formatted here: pandas formats each one through several Python calls,
    half the time of writing the build's tables; one f-string each gives the same text (both
    are C's ``%.10g``).
    """
    text = frame.copy(deep=False)
    for col in frame.columns:
        if frame[col].dtype.kind == "f":
            values = frame[col].to_numpy(dtype=float, na_value=np.nan).tolist()
            text[col] = np.array(["" if v != v else f"{v:.10g}" for v in values], dtype=object)
    return text.to_csv(index=False, float_format="%.10g", lineterminator="\n")


def read_estimates(path: str | Path | io.StringIO, *, modelled: bool = False) -> pd.DataFrame:
    """Read an ``estimates.csv`` back with the right types (notebooks use this).

    Only the direct estimates unless ``modelled``: a page written for direct figures then
    never shows a modelled borough figure as if it were one (pages that show them ask).

    A file written before the ``note`` and ``proxy`` columns (a row's note after " | Note: "
    in its ``source``, a proxy's source beginning "Proxy: ") is read into those columns
    (:func:`analysis.provenance.from_legacy`)."""
    frame = pd.read_csv(
        path,
        dtype={
            "period": str,
            "flag": str,
            "group": str,
            "breakdown": str,
            "unweighted_base": "Int64",
        },
        keep_default_na=False,
        na_values={c: [""] for c in ("value", "lower_ci", "upper_ci", "unweighted_base")},
    )
    frame = provenance.from_legacy(frame)
    if modelled or "method" not in frame:
        return frame
    return frame[frame["method"] != sae.METHOD_MODELLED].reset_index(drop=True)
