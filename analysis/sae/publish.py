"""A build's small area models published: their rows of ``estimates.csv`` and their files.

Every model writes ``modelled/<measure>__<indicator>__<period>.csv`` (one row per borough:
the direct and modelled figures, the MSE and its parts, the change since the previous wave
and its test) and ``.json`` (the fit's description).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import geography
from analysis.measures import Measure
from analysis.outputs import _umask
from analysis.sae.data import METHOD_LABEL, METHOD_MODELLED, TABLE_COLUMNS, UNCERTAINTY, Model
from analysis.sdc import NOT_AVAILABLE, SUPPRESSED, DisclosureRules


def rows(
    models: list[Model],
    registry: dict[str, Measure],
    source_label: Callable[[Measure], str],
    synthetic: bool,
    proxies: Collection[str] = (),
) -> pd.DataFrame:
    """Rows of the estimates table (detail columns) for the modelled borough figures
    (``proxies``: the ids of measures whose figures are a proxy in this build)."""
    if not models:
        return pd.DataFrame()
    t = pd.concat([mdl.table for mdl in models], ignore_index=True)
    size = len(models[0].table)
    measure = [registry[mdl.direct.measure_id] for mdl in models]
    each = lambda values: np.repeat(np.asarray(values, dtype=object), size)  # noqa: E731
    return pd.DataFrame(
        {
            "measure_id": each([m.id for m in measure]),
            "indicator": each([mdl.direct.indicator for mdl in models]),
            "period": each([mdl.direct.period for mdl in models]),
            "area_code": t["area_code"],
            "area_name": t["area_code"].map(geography.names_by_code()),
            "breakdown": each([mdl.direct.breakdown for mdl in models]),
            "group": each([mdl.direct.group for mdl in models]),
            "value": t["eblup"],
            "lower_ci": t["lower_ci"],
            "upper_ci": t["upper_ci"],
            "unweighted_base": pd.array(t["respondents"], dtype="Int64"),
            "flag": "",
            "compared_to_london": t["compared_to_london"],
            "unit": each([m.unit for m in measure]),
            "polarity": each([m.polarity for m in measure]),
            "source": each([f"{source_label(m)}; {METHOD_LABEL}" for m in measure]),
            "note": "",
            "proxy": each([m.id in proxies for m in measure]).astype(bool),
            "synthetic": bool(synthetic),
            "flag_reason": "",
            "uncertainty": UNCERTAINTY,
            "method": METHOD_MODELLED,
            "se": np.sqrt(t["mse"]),
            "p_vs_london": t["p_vs_london"],
        }
    )


def _plain(value: Any) -> Any:
    """JSON-ready: numpy numbers as Python ones, NaN as null (JSON has no NaN)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (float, np.floating)):
        return None if value != value else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _csv(columns: dict[str, np.ndarray]) -> str:
    """Columns as CSV text (numbers to 10 significant digits, blanks for missing), written
    directly: pandas' writer costs more than the models for tables this small."""
    cells = []
    for values in columns.values():
        if values.dtype.kind == "f":
            cells.append(["" if v != v else f"{v:.10g}" for v in values.tolist()])
        else:
            cells.append([str(v) for v in values.tolist()])
    return "\n".join([",".join(columns), *(",".join(row) for row in zip(*cells))]) + "\n"


# the columns that give a borough's direct figure back, blanked where it is suppressed
REVEAL_DIRECT = (
    "direct",
    "direct_variance",
    "variance_used",
    "shrinkage",
    "eblup_before_benchmarking",
    "mse_before_benchmarking",
    "standardised_residual",
)


def write(models: list[Model], folder: Path, rules: DisclosureRules) -> list[Path]:
    """``<measure>__<indicator>__<period>.csv`` and ``.json`` per model (period '/' as '-').

    The folder is written whole beside the old one and renamed into place, so it never mixes
    two builds' models and readers never see half of it. For a borough whose direct estimate
    the disclosure rules suppress, the direct figure and its variance are blanked, as
    ``estimates.csv`` blanks them, and so is every column from which the direct figure could be
    worked back exactly (the EBLUP before benchmarking is the shrinkage-weighted mean of the
    direct figure and the regression value, and the standardised residual is the direct figure
    less the regression value, over a known scale)."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        written = []
        for mdl in models:
            t = mdl.table
            columns = {
                c: t[c].to_numpy()
                for c in [*TABLE_COLUMNS, *(c for c in t.columns if c not in TABLE_COLUMNS)]
            }
            hidden = np.isin(
                rules.flags(columns["respondents"].astype(float)), [SUPPRESSED, NOT_AVAILABLE]
            )
            for c in REVEAL_DIRECT:
                columns[c] = np.where(hidden, np.nan, columns[c])
            (fresh / f"{mdl.name}.csv").write_text(_csv(columns), encoding="utf-8")
            (fresh / f"{mdl.name}.json").write_text(
                json.dumps(_plain(mdl.meta), indent=2) + "\n", encoding="utf-8"
            )
            written += [folder / f"{mdl.name}.csv", folder / f"{mdl.name}.json"]
        os.chmod(fresh, 0o777 & ~_umask())  # mkdtemp makes it private; reports are published
        old = folder.parent / f".{folder.name}.old"
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            folder.rename(old)
        fresh.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    return written
