"""Cache keys: a report is rebuilt only when its key changes (its notebook, parameters, the
data files it reads, the site's details, the boundary file and the library's code)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from analysis import geography
from analysis.build.planning import Job

ROOT = geography.PROJECT_ROOT


def _hash_files(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(str(p.relative_to(ROOT)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def library_version() -> str:
    """A hash of the library's code and data files (changes whenever analysis/ changes)."""
    files = [
        p
        for p in (ROOT / "analysis").rglob("*")
        if p.is_file() and p.suffix in {".py", ".yaml", ".csv", ".html", ".js", ".ttf"}
    ]
    return _hash_files(files + [ROOT / "shapefiles" / "london_boroughs.geojson"])


def data_key(report_inputs: dict[str, Any]) -> str:
    """One key for everything every report reads: the data files' hashes, the boundary
    file's and the site's details."""
    return hashlib.sha256(json.dumps(report_inputs, sort_keys=True).encode()).hexdigest()


def job_key(job: Job, inputs_key: str, lib: str) -> str:
    """A report's key: its notebook, its parameters, the data key and the library version."""
    h = hashlib.sha256()
    h.update(job.path.read_bytes())
    h.update(json.dumps(job.parameters, sort_keys=True).encode())
    h.update(inputs_key.encode())
    h.update(lib.encode())
    return h.hexdigest()
