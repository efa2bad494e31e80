"""Build ``shapefiles/london_boroughs.geojson`` from the vega-datasets London TopoJSON.

The input is ``data/londonBoroughs.json`` from the npm package ``vega-datasets``: a
quantized TopoJSON topology (lon/lat, no CRS) with one object, ``boroughs``, whose 33
Polygon/MultiPolygon geometries carry the borough name in ``id``. The data is a
simplified derivative of the London Datastore ``London_Borough_Excluding_MHW``
shapefile (Open Government Licence v3).

This script decodes the TopoJSON arcs itself (no topojson dependency), builds shapely
geometries, repairs invalid ones with :func:`shapely.make_valid` keeping only the
polygonal parts, attaches the GSS code, slug and Inner/Outer flag from
``analysis/data/boroughs.csv`` and writes a GeoJSON (EPSG:4326, coordinates rounded to
5 decimals, features sorted by GSS code). Output is byte-for-byte deterministic.

Usage, from the repository root::

    npm pack vega-datasets && tar xzf vega-datasets-*.tgz   # in a scratch directory
    .venv/bin/python shapefiles/make_boundaries.py --topojson /path/to/package/data/londonBoroughs.json

Optionally ``--reference London_Borough_Excluding_MHW.shp`` prints each borough's area
relative to the full-resolution boundaries and checks Inner/Outer against ``ONS_INNER``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "shapefiles" / "london_boroughs.geojson"
DEFAULT_BOROUGHS = REPO_ROOT / "analysis" / "data" / "boroughs.csv"
OBJECT_NAME = "boroughs"
LAYER_NAME = "london_boroughs"
PRECISION = 5  # decimal places in the output (~1 m); the source quantization is ~6 m
EXPECTED_CODES = [f"E090000{i:02d}" for i in range(1, 34)]
COLUMNS = ["gss_code", "name", "slug", "inner_outer"]

Point = tuple[float, float]
Ring = list[Point]


# --------------------------------------------------------------------------- TopoJSON


def decode_arcs(topology: dict[str, Any]) -> list[Ring]:
    """Return every arc of ``topology`` as absolute (lon, lat) points.

    Quantized topologies (with a ``transform``) store each arc as a first position in
    grid units followed by deltas; positions are ``translate + scale * cumulative sum``.
    Unquantized topologies store absolute positions and are returned unchanged.
    """
    transform = topology.get("transform")
    arcs: list[Ring] = []
    if transform is None:
        for arc in topology["arcs"]:
            arcs.append([(float(p[0]), float(p[1])) for p in arc])
        return arcs
    sx, sy = transform["scale"]
    tx, ty = transform["translate"]
    for arc in topology["arcs"]:
        x = y = 0
        points: Ring = []
        for position in arc:
            x += position[0]
            y += position[1]
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def stitch_ring(arc_indices: Sequence[int], arcs: Sequence[Ring]) -> Ring:
    """Join arcs into one ring.

    A negative index ``i`` means arc ``~i`` (bitwise not, i.e. ``-i - 1``) traversed
    backwards. Consecutive arcs share an end point, so the first point of every arc after
    the first is dropped.
    """
    ring: Ring = []
    for index in arc_indices:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        ring.extend(arc if not ring else arc[1:])
    if not ring or ring[0] != ring[-1]:
        raise ValueError(f"arcs {list(arc_indices)} do not form a closed ring")
    return ring


def is_degenerate(ring: Ring) -> bool:
    """True for a ring that encloses no area (fewer than three distinct points).

    Simplification can collapse a tiny island to a there-and-back ring, e.g. Newham's
    arcs ``[101, 102]`` in the vega-datasets file; such rings are dropped.
    """
    return len(set(ring)) < 3


def polygon_from_arcs(
    rings: Sequence[Sequence[int]], arcs: Sequence[Ring], name: str = ""
) -> Polygon | None:
    """Build a Polygon from TopoJSON rings (first ring exterior, the rest holes).

    Returns None when the exterior ring is degenerate; degenerate holes are dropped.
    """
    shell, *holes = (stitch_ring(r, arcs) for r in rings)
    if is_degenerate(shell):
        print(f"{name}: dropped zero-area ring from arcs {list(rings[0])}", file=sys.stderr)
        return None
    return Polygon(shell, [h for h in holes if not is_degenerate(h)])


def geometry_from_topojson(geometry: dict[str, Any], arcs: Sequence[Ring]) -> BaseGeometry:
    """Convert one TopoJSON Polygon or MultiPolygon geometry object to shapely."""
    kind, name = geometry["type"], str(geometry.get("id"))
    if kind == "Polygon":
        polygons = [polygon_from_arcs(geometry["arcs"], arcs, name)]
    elif kind == "MultiPolygon":
        polygons = [polygon_from_arcs(p, arcs, name) for p in geometry["arcs"]]
    else:
        raise ValueError(f"unsupported geometry type {kind!r} for {name!r}")
    kept = [p for p in polygons if p is not None]
    if not kept:
        raise ValueError(f"{name!r} has no polygon with non-zero area")
    return kept[0] if kind == "Polygon" or len(kept) == 1 else MultiPolygon(kept)


def polygonal_part(geom: BaseGeometry) -> Polygon | MultiPolygon:
    """Keep only the polygons of ``geom`` (make_valid may add lines or points)."""
    if isinstance(geom, (Polygon, MultiPolygon)):
        return geom
    parts: list[Polygon] = []
    for part in getattr(geom, "geoms", []):
        if isinstance(part, Polygon):
            parts.append(part)
        elif isinstance(part, MultiPolygon):
            parts.extend(part.geoms)
    if not parts:
        raise ValueError(f"no polygonal part left in {geom.geom_type}")
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def repair(name: str, geom: BaseGeometry) -> Polygon | MultiPolygon:
    """Return ``geom`` made valid, reporting what was wrong on stderr."""
    if geom.is_valid:
        return polygonal_part(geom)
    reason = shapely.is_valid_reason(geom)
    fixed = polygonal_part(shapely.make_valid(geom))
    print(
        f"repaired {name}: {reason}; area {geom.area:.8f} -> {fixed.area:.8f} deg^2, "
        f"{fixed.geom_type} with {shapely.get_num_geometries(fixed)} part(s)",
        file=sys.stderr,
    )
    return fixed


def read_topojson(path: Path, object_name: str = OBJECT_NAME) -> list[tuple[str, BaseGeometry]]:
    """Read ``(name, geometry)`` pairs from the named object of a TopoJSON file."""
    topology = json.loads(path.read_text(encoding="utf-8"))
    if topology.get("type") != "Topology":
        raise ValueError(f"{path} is not a TopoJSON Topology")
    arcs = decode_arcs(topology)
    collection = topology["objects"][object_name]
    return [(g["id"], geometry_from_topojson(g, arcs)) for g in collection["geometries"]]


# --------------------------------------------------------------------------- names


def name_key(text: str) -> str:
    """Comparison key for a place name: case-folded, '&' read as 'and', spacing collapsed."""
    key = text.strip().casefold().replace("&", " and ")
    return re.sub(r"\s+", " ", key).strip()


def read_boroughs(path: Path) -> tuple[list[dict[str, str]], dict[str, str]]:
    """Read boroughs.csv; return its rows and a map from name/alias key to GSS code."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    codes = sorted(r["gss_code"] for r in rows)
    if codes != EXPECTED_CODES:
        raise ValueError(f"{path}: expected codes E09000001..E09000033, got {codes}")
    lookup: dict[str, str] = {}
    for row in rows:
        for label in [row["name"], *row["aliases"].split("|")]:
            if not label.strip():
                continue
            key = name_key(label)
            if lookup.get(key, row["gss_code"]) != row["gss_code"]:
                raise ValueError(f"{path}: {label!r} names both {lookup[key]} and {row['gss_code']}")
            lookup[key] = row["gss_code"]
    return rows, lookup


# --------------------------------------------------------------------------- build


def build(topojson: Path, boroughs_csv: Path) -> gpd.GeoDataFrame:
    """Decode, repair and label the borough geometries; one row per GSS code."""
    rows, lookup = read_boroughs(boroughs_csv)
    meta = {r["gss_code"]: r for r in rows}
    records: list[dict[str, Any]] = []
    unmatched: list[str] = []
    for name, geom in read_topojson(topojson):
        code = lookup.get(name_key(name))
        if code is None:
            unmatched.append(name)
            continue
        geom = repair(name, geom)
        # Snap to the output grid while keeping the geometry valid, then orient rings the
        # RFC 7946 way (exterior counter-clockwise) so the written file is valid as-is.
        geom = shapely.set_precision(geom, 10.0**-PRECISION)
        geom = shapely.orient_polygons(geom, exterior_cw=False)
        records.append({**{c: meta[code][c] for c in COLUMNS}, "geometry": geom})
    if unmatched:
        raise ValueError(f"names in {topojson} not found in {boroughs_csv}: {unmatched}")
    found = [r["gss_code"] for r in records]
    duplicated = sorted({c for c in found if found.count(c) > 1})
    missing = sorted(set(EXPECTED_CODES) - set(found))
    if duplicated or missing:
        raise ValueError(f"{topojson}: missing codes {missing}, duplicated codes {duplicated}")
    frame = gpd.GeoDataFrame(records, columns=[*COLUMNS, "geometry"], crs="EPSG:4326")
    frame = frame.sort_values("gss_code").reset_index(drop=True)
    invalid = frame.loc[~frame.is_valid, "name"].tolist()
    if invalid:
        raise ValueError(f"geometries still invalid after repair: {invalid}")
    return frame


def write(frame: gpd.GeoDataFrame, out: Path) -> None:
    """Write ``frame`` as GeoJSON via a temporary file, replacing ``out`` atomically."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(suffix=".geojson", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        tmp.unlink()  # let GDAL create the file itself
        frame.to_file(
            tmp, driver="GeoJSON", layer=LAYER_NAME, index=False,
            COORDINATE_PRECISION=PRECISION, WRITE_BBOX="NO",
        )
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


# --------------------------------------------------------------------------- checks


def compare(frame: gpd.GeoDataFrame, reference: Path) -> None:
    """Print area ratios against the full-resolution shapefile and check ONS_INNER."""
    ref = gpd.read_file(reference)
    ref = ref.set_index("GSS_CODE")
    ours = frame.to_crs(ref.crs).set_index("gss_code")
    ratio = (ours.area / ref.area.reindex(ours.index)).rename("ratio")
    print(f"{'code':<10} {'name':<24} {'ratio':>7}")
    for code, value in ratio.items():
        print(f"{code:<10} {ours.at[code, 'name']:<24} {value:7.4f}")
    total = ours.area.sum() / ref.area.sum()
    print(
        f"area ratio min {ratio.min():.4f} median {ratio.median():.4f} "
        f"max {ratio.max():.4f}; total {total:.4f}"
    )
    ons = ref["ONS_INNER"].reindex(ours.index).map({"T": "Inner", "F": "Outer"})
    mismatch = ours.index[ons != ours["inner_outer"]].tolist()
    if mismatch:
        for code in mismatch:
            print(
                f"inner/outer MISMATCH {code}: boroughs.csv {ours.at[code, 'inner_outer']}, "
                f"ONS_INNER {ref.at[code, 'ONS_INNER']}"
            )
    else:
        print("inner/outer: all 33 agree with ONS_INNER (T=Inner, F=Outer)")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--topojson", type=Path, required=True,
        help="londonBoroughs.json from the vega-datasets npm package (data/londonBoroughs.json)",
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT,
        help="output GeoJSON (default: shapefiles/london_boroughs.geojson in the repository)",
    )
    parser.add_argument(
        "--boroughs", type=Path, default=DEFAULT_BOROUGHS,
        help="borough table with gss_code,name,slug,inner_outer,aliases "
        "(default: analysis/data/boroughs.csv)",
    )
    parser.add_argument(
        "--reference", type=Path,
        help="optional full-resolution London_Borough_Excluding_MHW.shp to compare areas "
        "and Inner/Outer against (nothing is copied from it)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Build and write the boundaries file; optionally compare with the reference."""
    args = parse_args(argv)
    frame = build(args.topojson, args.boroughs)
    write(frame, args.out)
    print(f"wrote {len(frame)} boroughs to {args.out} ({args.out.stat().st_size:,} bytes)")
    if args.reference is not None:
        compare(frame, args.reference)
    return 0


if __name__ == "__main__":
    sys.exit(main())
