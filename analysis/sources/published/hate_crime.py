"""Metropolitan Police hate crime by borough (monthly dashboard file, London Datastore)."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import geography
from analysis.sources.published.readers import (
    BOROUGH_CODES,
    CITY,
    count_schema,
    read_csv_text,
    require_areas,
    sorted_rows,
    validated_table,
)
from analysis.validate import InputError, closest_hint

HATE_CRIME_SERIES: tuple[str, ...] = (
    "Racist and Religious Hate Crime",
    "Homophobic Hate Crime",
    "Disability Hate Crime",
    "Transgender Hate",
)
"""``MinorText`` series summed into ``hate_crimes`` (MajorText ``Hate``); see :func:`load_hate_crime`."""

NOT_A_BOROUGH = frozenset({"Aviation Security(SO18)"})  # Heathrow policing unit: no borough


def hate_crime_monthly(path: str | os.PathLike) -> pd.DataFrame:
    """Every row of the MPS monthly file, long: ``borough, area_code, major, minor, month, count``.

    ``borough`` is the name as published, ``area_code`` its GSS code (missing for "Aviation
    Security(SO18)"), ``month`` a ``YYYYMM`` integer. The City of London is absent: it has
    its own police force.
    """
    path = Path(path)
    source = path.name
    table = read_csv_text(path, source)
    header = list(table.columns)
    if header[:3] != ["Borough", "MajorText", "MinorText"]:
        raise InputError(
            source,
            f"expected the first columns ['Borough', 'MajorText', 'MinorText'], found {header[:3]}",
            row=1,
        )
    months = header[3:]
    for col in months:
        m = re.fullmatch(r"(\d{4})(\d{2})", col)
        if m is None or not 1 <= int(m.group(2)) <= 12:
            raise InputError(
                source,
                f"expected month columns named YYYYMM after 'MinorText', found {col!r}",
                row=1,
            )
    if not months:
        raise InputError(
            source, "expected month columns named YYYYMM after 'MinorText', found none", row=1
        )

    names = table["Borough"].where(~table["Borough"].isin(NOT_A_BOROUGH))
    names = names.where(names.str.strip() != "")
    codes = geography.standardise_column(names, source=source, column="Borough", row_offset=2)
    keys = table[["Borough", "MajorText", "MinorText"]]
    dup = keys.duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InputError(
            source, f"duplicate series {tuple(keys.iloc[i])}", row=i + 2, column="MinorText"
        )

    values = table[months]
    numeric = values.apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna().to_numpy()
    if bad.any():
        i, j = (int(x[0]) for x in np.nonzero(bad))
        raise InputError(
            source, f"expected a count, found {values.iat[i, j]!r}", row=i + 2, column=months[j]
        )
    counts = numeric.to_numpy()
    if (counts < 0).any() or (np.mod(counts, 1) != 0).any():
        i, j = (int(x[0]) for x in np.nonzero((counts < 0) | (np.mod(counts, 1) != 0)))
        raise InputError(
            source,
            f"expected a whole count >= 0, found {values.iat[i, j]!r}",
            row=i + 2,
            column=months[j],
        )
    n_rows, n_months = counts.shape
    return pd.DataFrame(
        {
            "borough": np.repeat(table["Borough"].to_numpy(dtype=object), n_months),
            "area_code": np.repeat(codes.to_numpy(dtype=object), n_months),
            "major": np.repeat(table["MajorText"].to_numpy(dtype=object), n_months),
            "minor": np.repeat(table["MinorText"].to_numpy(dtype=object), n_months),
            "month": np.tile(np.array([int(m) for m in months]), n_rows),
            "count": counts.reshape(-1).astype("int64"),
            "_row": np.repeat(np.arange(n_rows) + 2, n_months),
        }
    )


def load_hate_crime(
    path: str | os.PathLike, series: Sequence[str] = HATE_CRIME_SERIES
) -> pd.DataFrame:
    """MPS hate crime by borough and calendar year → ``area_code, year, hate_crimes``.

    Only complete calendar years are kept (the file runs April 2010 to May 2021, so 2011 to
    2020). The 32 boroughs policed by the Met: the City of London has its own force and is
    absent, and offences recorded by "Aviation Security(SO18)" (Heathrow) are dropped, so the
    borough total is below the MPS total.

    **Which series.** ``hate_crimes`` is the sum of the four *strands* in
    :data:`HATE_CRIME_SERIES`: racist and religious, homophobic, disability and transgender
    hate crime. Left out:

    * ``Faith Hate Crime``: a subset of ``Racist and Religious Hate Crime`` (religious hate is
      part of that strand; faith never exceeds it in any borough-month of the file);
    * ``Anti-Semitic`` and ``Islamophobic``: subsets of faith hate crime (their sum exceeds
      faith in only one borough-month, by one offence);
    * ``Domestic Abuse``, ``Domestic Abuse VWI`` and ``Domestic Abuse Homicide``: not hate
      crime (they sit under MajorText ``Hate`` in the dashboard only);
    * every ``Special`` series (knife, gun, homicide, ...).

    An offence with more than one hostility flag (e.g. racist and homophobic) counts once in
    each strand, and the file has no de-duplicated total, so the sum can slightly exceed the
    number of distinct offences (as in Home Office hate crime statistics).
    """
    path = Path(path)
    source = path.name
    monthly = hate_crime_monthly(path)
    hate = monthly[monthly["major"] == "Hate"]
    available = sorted(hate["minor"].unique())
    for name in series:
        if name not in available:
            raise InputError(
                source,
                f"expected a MinorText series {name!r} under MajorText 'Hate'; "
                f"found {available}{closest_hint(name, available)}",
                column="MinorText",
            )
    chosen = hate[hate["minor"].isin(list(series)) & hate["area_code"].notna()].copy()
    require_areas(
        chosen["area_code"], BOROUGH_CODES - {CITY}, source, "the 32 boroughs policed by the Met"
    )
    chosen["year"] = chosen["month"] // 100
    months_per_year = pd.Series(sorted(set(monthly["month"]))).floordiv(100).value_counts()
    complete = sorted(int(y) for y, n in months_per_year.items() if n == 12)
    if not complete:
        raise InputError(
            source,
            "expected at least one complete calendar year of month columns, found none",
            row=1,
        )
    chosen = chosen[chosen["year"].isin(complete)]
    frame = chosen.groupby(["area_code", "year"], as_index=False).agg(
        hate_crimes=("count", "sum"), _row=("_row", "min")
    )
    schema = count_schema("hate crime", ("hate_crimes",), areas=BOROUGH_CODES)
    return sorted_rows(validated_table(frame, schema, source), ["area_code", "year"])
