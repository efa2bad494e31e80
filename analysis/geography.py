"""London's places: the 33 local authorities, their codes, names, aliases and boundaries.

The 32 London boroughs and the City of London carry GSS codes E09000001 to E09000033.
Inner/Outer follows the ONS *statistical* definition (Haringey and Newham Inner,
Greenwich Outer), which is the one ONS and GLA tables use. London, Inner London and
Outer London aggregates have their own GSS codes.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:  # geopandas is imported lazily: most of the library does not need it
    import geopandas as gpd

LONDON_CODE = "E12000007"
INNER_LONDON_CODE = "E13000001"
OUTER_LONDON_CODE = "E13000002"
# the City of London: a borough-level authority with few residents, its own police force and
# elections of its own, so several sources leave it out or treat it apart
CITY_OF_LONDON_CODE = "E09000001"

AGGREGATES: dict[str, str] = {
    LONDON_CODE: "London",
    INNER_LONDON_CODE: "Inner London",
    OUTER_LONDON_CODE: "Outer London",
}

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BOUNDARIES = PROJECT_ROOT / "shapefiles" / "london_boroughs.geojson"


class UnknownAreaError(ValueError):
    """A place name or code that is not one of London's 33 local authorities or aggregates."""


@dataclass(frozen=True)
class Borough:
    """One London local authority."""

    code: str
    name: str
    slug: str
    inner_outer: str  # "Inner" or "Outer" (ONS statistical definition)


@lru_cache(maxsize=1)
def boroughs() -> pd.DataFrame:
    """The 33 local authorities as a table: code, name, slug, inner_outer, aliases (list)."""
    with resources.files("analysis.data").joinpath("boroughs.csv").open(encoding="utf-8") as f:
        table = pd.read_csv(f, dtype=str, keep_default_na=False)
    table = table.rename(columns={"gss_code": "code"})
    table["aliases"] = table["aliases"].map(lambda s: [a for a in s.split("|") if a])
    return table


def borough_codes() -> list[str]:
    """GSS codes of the 33 local authorities, in code order."""
    return boroughs()["code"].tolist()


def all_borough_objects() -> list[Borough]:
    """The 33 local authorities as :class:`Borough` records."""
    return [
        Borough(r.code, r.name, r.slug, r.inner_outer) for r in boroughs().itertuples(index=False)
    ]


def normalise_name(text: str) -> str:
    """Fold a place name to a comparison key: case, '&', hyphens, prefixes and spacing."""
    key = str(text).strip().lower()
    key = key.replace("&", " and ").replace("-", " ").replace("_", " ").replace(".", " ")
    key = re.sub(r"^(the )?(london borough of|royal borough of|city and county of)\s+", "", key)
    key = re.sub(r"\s+", " ", key).strip()
    return key


@lru_cache(maxsize=1)
def _lookup() -> dict[str, str]:
    """Map every normalised name, alias, slug and code to a GSS code."""
    table: dict[str, str] = {}
    for row in boroughs().itertuples(index=False):
        for label in [row.name, row.slug, row.code, *row.aliases]:
            table[normalise_name(label)] = row.code
    for code, name in AGGREGATES.items():
        table[normalise_name(code)] = code
        table[normalise_name(name)] = code
    table["inner"] = INNER_LONDON_CODE
    table["outer"] = OUTER_LONDON_CODE
    table["greater london"] = LONDON_CODE
    return table


@cache
def _by_code(column: str) -> dict[str, str]:
    """One column of the borough table keyed by GSS code (built once: the estimates look
    names up thousands of times)."""
    return dict(zip(boroughs()["code"], boroughs()[column]))


def to_code(name_or_code: str, *, allow_aggregates: bool = True) -> str:
    """Resolve a borough name, alias, slug or GSS code to its GSS code.

    Raises :class:`UnknownAreaError` listing the closest valid names when nothing matches.
    """
    key = normalise_name(name_or_code)
    code = _lookup().get(key)
    if code is None or (not allow_aggregates and code in AGGREGATES):
        names = boroughs()["name"].tolist() + (
            list(AGGREGATES.values()) if allow_aggregates else []
        )
        close = difflib.get_close_matches(str(name_or_code).strip(), names, n=3, cutoff=0.4)
        if not close:
            close = difflib.get_close_matches(
                key, [normalise_name(n) for n in names], n=3, cutoff=0.4
            )
            close = [n for n in names if normalise_name(n) in close]
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise UnknownAreaError(f"Unknown London area {name_or_code!r}.{hint}")
    return code


def name_of(code: str) -> str:
    """Official name for a GSS code (boroughs and the London aggregates)."""
    names = names_by_code()
    if code not in names:
        raise UnknownAreaError(f"Unknown London area code {code!r}.")
    return names[code]


@lru_cache(maxsize=1)
def names_by_code() -> dict[str, str]:
    """Official names of the boroughs and the London aggregates keyed by GSS code (built once:
    the estimates look names up thousands of times)."""
    return {**_by_code("name"), **AGGREGATES}


def slug_of(code_or_name: str) -> str:
    """URL/file slug of the official name, e.g. ``kensington-and-chelsea``."""
    code = to_code(code_or_name)
    if code in AGGREGATES:
        return re.sub(r"\s+", "-", AGGREGATES[code].lower())
    return _by_code("slug")[code]


def inner_outer(code_or_name: str) -> str:
    """'Inner' or 'Outer' for a borough (ONS statistical definition)."""
    code = to_code(code_or_name, allow_aggregates=False)
    return _by_code("inner_outer")[code]


def sub_region_code(code: str) -> str:
    """GSS code of the Inner or Outer London aggregate a borough belongs to."""
    return INNER_LONDON_CODE if inner_outer(code) == "Inner" else OUTER_LONDON_CODE


def standardise_column(
    values: pd.Series, *, source: str = "input", column: str = "area", row_offset: int = 2
) -> pd.Series:
    """Resolve a column of names/codes to GSS codes, failing with file, row and column named.

    Row numbers count the header as row 1 (as a spreadsheet shows them) unless
    ``row_offset`` says otherwise.
    """
    from analysis.validate import InputError  # local: validate imports geography

    # each distinct value is resolved once, in order of first appearance, so the first row
    # with an unknown area is still the one named (a survey has 66,000 rows and 33 names)
    positions, distinct = pd.factorize(values)
    resolved: dict[object, str] = {}
    for i, value in enumerate(distinct):
        try:
            resolved[value] = to_code(str(value))
        except UnknownAreaError as err:
            first = int((positions == i).argmax())
            raise InputError(source, str(err), row=first + row_offset, column=column) from None
    return values.map(resolved)


def load_boundaries(path: str | Path | None = None) -> gpd.GeoDataFrame:
    """Borough polygons with columns code, name, slug, inner_outer, geometry.

    ``path`` may be the committed generalised GeoJSON (the default) or the full-resolution
    London Datastore shapefile ``London_Borough_Excluding_MHW.shp`` (British National
    Grid, fields NAME and GSS_CODE). Either way the result is checked to hold exactly the
    33 local authorities and is returned in the file's own CRS.
    """
    import geopandas as gpd

    from analysis.validate import InputError

    path = Path(path) if path is not None else DEFAULT_BOUNDARIES
    if not path.exists():
        raise FileNotFoundError(f"Boundary file not found: {path}")
    shapes = gpd.read_file(path)
    if "GSS_CODE" in shapes.columns:  # London Datastore statistical GIS boundaries
        shapes = shapes.rename(columns={"GSS_CODE": "code"})
    elif "gss_code" in shapes.columns:
        shapes = shapes.rename(columns={"gss_code": "code"})
    else:
        raise InputError(
            str(path), f"expected a GSS_CODE or gss_code column; found {list(shapes.columns)}"
        )
    found = set(shapes["code"])
    expected = set(borough_codes())
    if found != expected:
        raise InputError(
            str(path),
            f"expected the 33 codes E09000001-E09000033; missing {sorted(expected - found)}, "
            f"unexpected {sorted(found - expected)}",
        )
    if shapes.crs is None:  # GeoJSON without a CRS member is longitude/latitude by definition
        shapes = shapes.set_crs("EPSG:4326")
    elif shapes.crs.to_epsg() is None and shapes.crs.to_epsg(min_confidence=20) == 27700:
        # the Datastore's .prj is ESRI WKT "British_National_Grid": name it by its EPSG code
        shapes = shapes.set_crs("EPSG:27700", allow_override=True)
    meta = boroughs().set_index("code")[["name", "slug", "inner_outer"]]
    shapes = shapes[["code", "geometry"]].join(meta, on="code")
    shapes["geometry"] = shapes.geometry.make_valid()
    return shapes.sort_values("code").reset_index(drop=True)[
        ["code", "name", "slug", "inner_outer", "geometry"]
    ]
