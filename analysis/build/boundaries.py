"""The maps' boundary file (``--boundaries``): its content key, and a check that the maps can
read it, made before any work so that a bad file stops the build with one error."""

from __future__ import annotations

import glob
import hashlib
from pathlib import Path

from analysis import geography
from analysis.outputs import file_sha256
from analysis.validate import InputError


def boundaries_hash(path: str | Path) -> str:
    """sha256 over a boundary file and its sidecars (a shapefile's .shx, .dbf, .prj, ...)."""
    path = Path(path)
    if not path.exists():
        raise InputError(str(path), "boundary file not found (--boundaries)")
    h = hashlib.sha256()
    for part in sorted(p for p in path.parent.glob(f"{path.stem}.*") if p.is_file()) or [path]:
        h.update(part.name.encode())
        h.update(file_sha256(part).encode())
    return h.hexdigest()


def check_boundaries(path: str | Path) -> None:
    """Read a ``--boundaries`` file as the maps will, so that a bad one stops the build with one
    error naming it, instead of failing every report that draws a map.

    A shapefile is three files or more: without its ``.shx`` (index) or ``.dbf`` (attributes,
    where the borough codes are) it cannot be used, and the error says which is missing.
    """
    path = Path(path)
    if path.suffix.lower() == ".shp":
        missing = [
            f"{path.stem}{ext}"
            for ext in (".shx", ".dbf")
            if not any(
                p.suffix.lower() == ext for p in path.parent.glob(f"{glob.escape(path.stem)}.*")
            )
        ]
        if missing:
            raise InputError(
                str(path),
                f"a shapefile needs its sidecar files beside it; not found: {', '.join(missing)} "
                f"(--boundaries)",
            )
    try:
        geography.load_boundaries(path)
    except InputError:
        raise
    except Exception as err:  # GDAL's and pyogrio's errors: not a file the maps can read
        raise InputError(
            str(path), f"cannot be read as borough boundaries (--boundaries): {err}"
        ) from None
