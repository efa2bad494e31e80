"""Electoral Commission: the EU referendum electorate, a proxy for local government electors."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from analysis.sources.published.readers import (
    BOROUGH_CODES,
    count_schema,
    london_code,
    parse_number,
    read_csv_text,
    require_areas,
    require_columns,
    sorted_rows,
    validated_table,
)

REFERENDUM_YEAR = 2016


def load_electorate_proxy(path: str | os.PathLike) -> pd.DataFrame:
    """Electoral Commission EU referendum results → ``area_code, year, electors`` (year 2016).

    **A proxy.** ``Electorate`` is the referendum franchise on 23 June 2016 (essentially the
    parliamentary register plus peers), not ONS local government electors, which also count
    resident EU citizens; in London the difference is large. The file has CR-only line
    endings; rows are counting areas (the 33 London ones are the boroughs and the City).
    """
    path = Path(path)
    source = path.name
    table = read_csv_text(path, source)
    require_columns(list(table.columns), ("Area_Code", "Area", "Electorate"), source)
    out = []
    for i, (code, name, electors) in enumerate(
        zip(table["Area_Code"], table["Area"], table["Electorate"])
    ):
        row = i + 2
        area = london_code(code, name, source, row, "Area_Code", "Area")
        if area is None or area not in BOROUGH_CODES:
            continue
        out.append(
            {
                "area_code": area,
                "year": REFERENDUM_YEAR,
                "electors": parse_number(
                    electors, source, row, "Electorate", missing=frozenset({""})
                ),
                "_row": row,
            }
        )
    frame = pd.DataFrame(out)
    require_areas(frame.get("area_code", []), BOROUGH_CODES, source, "the 33 London counting areas")
    schema = count_schema("electorate", ("electors",), positive=("electors",))
    return sorted_rows(validated_table(frame, schema, source), ["area_code", "year"])
