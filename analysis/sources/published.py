"""Loaders for the real published files behind the measures, read exactly as published.

Each ``load_*`` function takes the path of one published file, checks its layout up front
(sheet names, header text, expected columns) and returns a tidy, validated table keyed by GSS
code. Borough names and aliases become codes through :mod:`analysis.geography`. When the layout
is not what the loader expects it raises :class:`analysis.validate.InputError` naming the file
(and sheet, row and column where that is meaningful) with what was expected and what was found.

The :data:`SOURCES` registry records, for every file, where the publisher puts it, the licence
and the sha256 of the edition this project was built against. :func:`fetch` returns a local
copy: from a mirror folder when one is given (searched recursively by file name, so
``fetch(key, mirror="/path/to/real-data")`` works with sub-folders), otherwise from a download
cache filled once with :mod:`pooch` (``~/.cache/london-social-integration``, or ``$LSI_CACHE``).

Public API (returned columns):

* :func:`load_borough_profiles` (CSV or XLSX): wide, indexed by ``area_code``; snake_case
  column names, numbers as floats, a few text columns (``area_name``, ``inner_outer_london``,
  country-of-birth and political-control columns).
* :func:`load_population_components`: ``area_code, year, population, internal_in,
  internal_out, international_in, international_out``.
* :func:`load_adults`: ``area_code, year, population, adults``.
* :func:`load_electorate_proxy`: ``area_code, year, electors``.
* :func:`hate_crime_monthly`: ``borough, area_code, major, minor, month, count`` (every row).
* :func:`load_hate_crime`: ``area_code, year, hate_crimes``.
* :func:`load_gcse`: ``area_code, year, pupils, pupils_achieving`` (canonical ``gcse`` table).
* :func:`load_employment_by_ethnicity`, :func:`load_employment_by_sex_disability`:
  ``area_code, year, variable, group, rate, ci_half_width, numerator, denominator, marker``.

Command line: ``python -m analysis.sources.published --mirror DIR [KEY ...]`` loads each
source and prints a one-line summary.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import geography, schemas
from analysis.outputs import file_sha256
from analysis.validate import Column, InputError, Schema, validate

__all__ = [
    "SOURCES",
    "Source",
    "SourceUnavailable",
    "cache_root",
    "datastore_url",
    "fetch",
    "get_source",
    "load",
    "load_borough_profiles",
    "load_population_components",
    "load_adults",
    "load_electorate_proxy",
    "hate_crime_monthly",
    "load_hate_crime",
    "load_gcse",
    "load_employment_by_ethnicity",
    "load_employment_by_sex_disability",
    "HATE_CRIME_SERIES",
]

OGL = "Open Government Licence v3.0"
DATASTORE = "https://data.london.gov.uk"
ONS_MYE = (
    "https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/populationestimates/"
    "datasets/populationestimatesforukenglandandwalesscotlandandnorthernireland"
)
ONS_MYE_FILE = (
    "https://www.ons.gov.uk/file?uri=/peoplepopulationandcommunity/populationandmigration/"
    "populationestimates/datasets/populationestimatesforukenglandandwalesscotlandandnorthernireland"
)


# =======================================================================================
# Registry and fetching


class SourceUnavailable(RuntimeError):
    """A registered file could not be found in the mirror or downloaded."""


@dataclass(frozen=True)
class Source:
    """One published file (or a set of files published together, e.g. a shapefile).

    ``url`` is the publisher's direct download address (of the file itself, or of the zip
    ``archive`` that holds it). Files the London Datastore republishes under a new address
    with each update have ``datastore_slug`` instead: the address is looked up at download
    time in the Datastore's dataset API (the resource whose file name is ``files[0]``).
    ``sha256`` pairs with ``files`` and pins the edition this project was built and tested
    against.
    """

    key: str
    title: str
    publisher: str
    files: tuple[str, ...]
    sha256: tuple[str, ...]
    page: str
    licence: str
    url: str | None = None
    archive: str | None = None  # file name of the zip at ``url`` that holds ``files``
    datastore_slug: str | None = None  # London Datastore dataset whose API lists the file
    loader: str | None = None  # loader function: a name in this module or "module:function"
    edition: str = ""
    notes: str = ""


SOURCES: dict[str, Source] = {
    s.key: s
    for s in (
        Source(
            key="borough_profiles_csv",
            title="London Borough Profiles and Atlas (CSV)",
            publisher="Greater London Authority, London Datastore",
            files=("london-borough-profiles.csv",),
            sha256=("b4e2014964be11b08d9ced40852b8310832a9a7bbba0633d2d7765c32c922090",),
            page=f"{DATASTORE}/dataset/london-borough-profiles",
            url=f"{DATASTORE}/download/london-borough-profiles/c1693b82-68b1-44ee-beb2-3decf17dc1f8/"
            "london-borough-profiles.csv",
            licence=OGL,
            loader="load_borough_profiles",
            edition="2017 edition (GLA population estimate 2017; most indicators 2014-2016)",
            notes="The copy held is UTF-8 with a BOM; the Datastore original may be cp1252. If the "
            "publisher's bytes differ, fetch refuses the download: use a mirror.",
        ),
        Source(
            key="borough_profiles_xlsx",
            title="London Borough Profiles and Atlas (workbook)",
            publisher="Greater London Authority, London Datastore",
            files=("london-borough-profiles.xlsx",),
            sha256=("171a93c0bde4779f62e55d9c140c622402cb45a467b64713aaf1f49bb0e11726",),
            page=f"{DATASTORE}/dataset/london-borough-profiles",
            url=f"{DATASTORE}/download/london-borough-profiles/80647ce7-14f3-4e31-b1cd-d5f7ea3553be/"
            "london-borough-profiles.xlsx",
            licence=OGL,
            loader="load_borough_profiles",
            edition="2017 edition (last saved by GLA 2017-03-02); sheet 'Data', unrounded values",
        ),
        Source(
            key="population_components",
            title="Mid-year population estimates: summary components of change series (MYEB3)",
            publisher="Office for National Statistics",
            files=("MYEB3_summary_components_of_change_series_UK_(2018).csv",),
            sha256=("98f0828de46730c8adf648911e621975517cf0fd332046d3c063debbba9d82ea",),
            page=f"{ONS_MYE}/mid2001tomid2018detailedtimeseries",
            url=f"{ONS_MYE_FILE}/mid2001tomid2018detailedtimeseries/ukdetailedtimeseries20012018.zip",
            archive="ukdetailedtimeseries20012018.zip",
            licence=OGL,
            loader="load_population_components",
            edition="mid-2018 estimates, LAD 2018 geography, years mid-2001 to mid-2018",
            notes="ONS later reissued the series on 2019 geography "
            "('..._(2018_geog19).csv'); if the archive no longer holds this file, fetch says so.",
        ),
        Source(
            key="population_age",
            title="Population estimates for the UK: mid-2019, by single year of age (MYE2)",
            publisher="Office for National Statistics",
            files=("ukmidyearestimates20192020ladcodes.xls",),
            sha256=("9a9d628135f999540a5ed8ee4057cb31658320dd0d92e95e2922c302cbb98255",),
            page=ONS_MYE,
            url=f"{ONS_MYE_FILE}/mid2019april2020localauthoritydistrictcodes/"
            "ukmidyearestimates20192020ladcodes.xls",
            licence=OGL,
            loader="load_adults",
            edition="mid-2019, April 2020 local authority codes",
        ),
        Source(
            key="electorate_proxy",
            title="EU referendum results by counting area (electorate)",
            publisher="The Electoral Commission",
            files=("EU-referendum-result-data.csv",),
            sha256=("a84c27eb36e8d693230530bbeefc45560a0c1702b64037e34cdd622d11589b49",),
            page="https://www.electoralcommission.org.uk/research-reports-and-data/"
            "our-reports-and-data-past-elections-and-referendums/eu-referendum",
            url="https://www.electoralcommission.org.uk/sites/default/files/2019-07/"
            "EU-referendum-result-data.csv",
            licence=OGL,
            loader="load_electorate_proxy",
            edition="23 June 2016 results (first published at http://www.electoralcommission.org.uk/"
            "__data/assets/file/0014/212135/EU-referendum-result-data.csv)",
            notes="A proxy only: the referendum franchise, not ONS local government electors.",
        ),
        Source(
            key="hate_crime",
            title="MPS Hate Crime or Special Crime Dashboard Data (borough, monthly)",
            publisher="Metropolitan Police Service, via MOPAC and the London Datastore",
            files=("Monthly Crime Other Crime Borough Level Off Type.csv",),
            sha256=("fc74074f866152754dd9b025ad1a27c0af0dd2a189098db31fbca45438e3d6e3",),
            page=f"{DATASTORE}/dataset/mps-hate-crime-or-special-crime-dashboard-data",
            datastore_slug="mps-hate-crime-or-special-crime-dashboard-data",
            licence=OGL,
            loader="load_hate_crime",
            edition="April 2010 to May 2021",
            notes="A rolling file, replaced every month under a new address (found through the "
            "Datastore API). Later editions have other checksums: use them with new editions "
            "accepted (run_all.py --new-editions).",
        ),
        Source(
            key="gcse",
            title="GCSE results by borough",
            publisher="Department for Education, compiled by the GLA (London Datastore)",
            files=("gcse-results.xlsx",),
            sha256=("ffe0389b311edf5e2196ba660410d029fe72fd95baed057de21d9eefcbbf2c1a",),
            page=f"{DATASTORE}/dataset/gcse-results-by-borough",
            url=f"{DATASTORE}/download/gcse-results-by-borough/a8a71d73-cc48-4b30-9eb5-c5f605bc845c/"
            "gcse-results.xlsx",
            licence=OGL,
            loader="load_gcse",
            edition="academic years 2015-16 to 2021-22 (created March 2023)",
        ),
        Source(
            key="employment_ethnicity",
            title="Employment rates by ethnicity (Annual Population Survey), borough",
            publisher="Office for National Statistics (APS, Nomis), compiled by the GLA",
            files=("employment-rate-ethnic-borough.xlsx",),
            sha256=("5f82786e12ab513545d6c469fef0ee3ebf94d5aca6e61fbb03421b35edbb3bfe",),
            page=f"{DATASTORE}/dataset/employment-rates-by-ethnicity",
            url=f"{DATASTORE}/download/employment-rates-by-ethnicity/cf8a5d62-6918-4046-a53b-627ef5dae54e/"
            "employment-rate-ethnic-borough.xlsx",
            licence=OGL,
            loader="load_employment_by_ethnicity",
            edition="calendar years 2004-2020 (created May 2021)",
        ),
        Source(
            key="employment_sex_disability",
            title="Employment rates by gender, age and disability (Annual Population Survey)",
            publisher="Office for National Statistics (APS, Nomis), compiled by the GLA",
            files=("employment-rate-gender-age-disability.xlsx",),
            sha256=("a1388db1967ec1af626fd3a25fb89c744d104ba87965de7404d23d58801c3bea",),
            page=f"{DATASTORE}/dataset/employment-rates-by-gender-and-age",
            datastore_slug="employment-rates-by-gender-and-age",
            licence=OGL,
            loader="load_employment_by_sex_disability",
            edition="calendar years 2004-2020 (created April 2021)",
            notes="The pinned copy was re-saved by a third party (an extra 'Sheet1'), so the "
            "publisher's own file has another checksum: download it with new editions accepted "
            "(run_all.py --new-editions). The loader checks its layout either way.",
        ),
        Source(
            key="boundaries",
            title="Statistical GIS Boundary Files for London: London boroughs",
            publisher="Greater London Authority, London Datastore (contains ONS and OS data)",
            files=tuple(
                f"London_Borough_Excluding_MHW.{ext}" for ext in ("shp", "shx", "dbf", "prj")
            ),
            sha256=(
                "5d296f021b931c091b9b97fdfb4118406ee82376f7f1a73bf348236b1f68c0a5",
                "743d103b9b1210cb3337f8e1723b03ead25377443f8b3a7635d699bf38702400",
                "6391c2d0a91adc887eb424d7caa590de0575d4b5e039ae7ddd3fc75af1e9e275",
                "fdd6daa5b46cf1186ebbbb0f44d8c1aee9fc6f5022698f90f6629281925ea8ad",
            ),
            page=f"{DATASTORE}/dataset/statistical-gis-boundary-files-london",
            url=f"{DATASTORE}/download/statistical-gis-boundary-files-london/"
            "9ba8c833-6370-4b11-abdc-314aa020d5e0/statistical-gis-boundaries-london.zip",
            archive="statistical-gis-boundaries-london.zip",
            licence=OGL + "; contains OS data © Crown copyright and database right 2012",
            loader="analysis.geography:load_boundaries",
            edition="2011 boundaries (statistical-gis-boundaries-london/ESRI)",
        ),
    )
}


def get_source(key: str) -> Source:
    """The registered source ``key`` (raises KeyError listing the known keys)."""
    try:
        return SOURCES[key]
    except KeyError:
        raise KeyError(f"unknown source {key!r}; known: {sorted(SOURCES)}") from None


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """Download cache: ``cache_dir``, else ``$LSI_CACHE``, else ``~/.cache/london-social-integration``."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get("LSI_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "london-social-integration"


def fetch(
    key: str,
    mirror: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    *,
    verify: bool = True,
) -> Path:
    """Local path of source ``key`` (its first file, e.g. the ``.shp`` of a shapefile).

    With ``mirror``, the file is looked up by name anywhere below that folder (all files of a
    multi-file source must sit side by side). Without it, the file is downloaded once into the
    cache (see :func:`cache_root`). Either way it must have the registered sha256, unless
    ``verify=False`` (a new edition: the loaders' layout checks still apply). Raises
    :class:`SourceUnavailable` with what to do when neither works (e.g. offline).
    """
    source = get_source(key)
    if mirror is not None:
        return _from_mirror(source, Path(mirror).expanduser(), verify)
    return _download(source, cache_root(cache_dir), verify)


DATASTORE_API = f"{DATASTORE}/api/dataset"


def datastore_url(source: Source, timeout: float = 30) -> str:
    """The current download address of ``source`` from the London Datastore dataset API.

    The API (``/api/dataset/<slug>``) lists the dataset's resources with their addresses; the
    one whose file name (or title) is the source's file name is taken. None, or several, is an
    error listing what the dataset has.
    """
    import json
    import urllib.parse
    import urllib.request

    api = f"{DATASTORE_API}/{source.datastore_slug}"
    try:
        with urllib.request.urlopen(api, timeout=timeout) as response:
            listing = json.load(response)
    except Exception as err:  # offline, HTTP error, not JSON
        raise SourceUnavailable(
            f"source {source.key!r}: could not read the Datastore listing {api} ({type(err).__name__}: {err}). "
            f"If you are offline, pass mirror=<folder holding {list(source.files)}>."
        ) from err
    resources = listing.get("resources") if isinstance(listing, dict) else None
    if not isinstance(resources, dict):
        raise SourceUnavailable(
            f"source {source.key!r}: {api} did not list resources (has the API changed?)"
        )
    wanted = source.files[0].lower()

    def file_name(resource: dict) -> str:
        return urllib.parse.unquote(
            Path(urllib.parse.urlparse(str(resource.get("url", ""))).path).name
        )

    matches = [
        r
        for r in resources.values()
        if isinstance(r, dict)
        and r.get("url")
        and wanted in (file_name(r).lower(), str(r.get("title", "")).lower())
    ]
    if not matches:
        found = sorted(
            file_name(r) or str(r.get("title")) for r in resources.values() if isinstance(r, dict)
        )
        raise SourceUnavailable(
            f"source {source.key!r}: the Datastore dataset {source.datastore_slug!r} no longer lists "
            f"{source.files[0]!r}; it lists {found}. See {source.page}"
        )
    if len(matches) > 1:  # the listing says nothing reliable about which is the current one
        raise SourceUnavailable(
            f"source {source.key!r}: the Datastore dataset {source.datastore_slug!r} lists {len(matches)} files "
            f"named {source.files[0]!r} ({', '.join(str(r['url']) for r in matches)}); download the one "
            f"you want and pass mirror=<folder holding it>"
        )
    return urllib.parse.urljoin(f"{DATASTORE}/", str(matches[0]["url"]))


def _from_mirror(source: Source, mirror: Path, verify: bool) -> Path:
    if not mirror.is_dir():
        raise SourceUnavailable(
            f"mirror folder {mirror} does not exist (looking for {source.files[0]!r})"
        )
    found: dict[str, list[Path]] = {name: [] for name in source.files}
    for folder, _, names in os.walk(mirror):
        for name in names:
            if name in found:
                found[name].append(Path(folder) / name)
    missing = [name for name, paths in found.items() if not paths]
    if missing:
        raise SourceUnavailable(
            f"source {source.key!r}: {missing} not found under mirror {mirror}; "
            f"the publisher's page is {source.page}"
        )
    candidates = sorted(found[source.files[0]])
    problems = []
    for first in candidates:  # try each folder holding the first file
        paths = [first.parent / name for name in source.files]
        if not all(p.is_file() for p in paths):
            problems.append(f"{first.parent}: not all of {list(source.files)} are there")
            continue
        if verify:
            bad = []
            for p, want in zip(paths, source.sha256):
                got = file_sha256(p)
                if got != want:
                    bad.append(f"{p} has sha256 {got}, expected {want}")
            if bad:
                problems.extend(bad)
                continue
        return first
    raise SourceUnavailable(
        f"source {source.key!r}: no usable copy under mirror {mirror}: "
        + "; ".join(problems)
        + (
            " (a different edition? accept it with verify=False; run_all.py --new-editions)"
            if verify
            else ""
        )
    )


def _download(source: Source, root: Path, verify: bool = True) -> Path:
    import pooch  # imported here: the loaders do not need it

    target = root / source.key
    cached = source.archive or source.files[0]
    single = target / source.files[0]
    if (
        verify
        and source.archive is None
        and single.exists()
        and file_sha256(single) == source.sha256[0]
    ):
        return single  # the registered edition, downloaded before: no need to look its address up
    if source.url is not None:
        url = source.url
    elif source.datastore_slug is not None:
        url = datastore_url(source)
    else:
        raise SourceUnavailable(
            f"source {source.key!r}: no download address is registered for {list(source.files)}; "
            f"download it from {source.page} and pass mirror=<folder holding it>"
        )
    if not verify:
        # any edition: one cached copy per address, so that a file republished under a new
        # address (as the Datastore does) is downloaded again rather than read from the cache
        target = target / "by-address" / hashlib.sha256(url.encode()).hexdigest()[:16]
    offline_hint = (
        f"If you are offline, pass mirror=<folder holding {list(source.files)}> "
        f"(e.g. --mirror /path/to/real-data) or put {cached!r} in {target}."
    )
    try:
        if source.archive is None:
            known = f"sha256:{source.sha256[0]}" if verify else None
            return Path(
                pooch.retrieve(
                    url, known_hash=known, fname=source.files[0], path=target, progressbar=False
                )
            )
        extracted = pooch.retrieve(
            url,
            known_hash=None,
            fname=source.archive,
            path=target,
            processor=pooch.Unzip(),
            progressbar=False,
        )
    except ValueError as err:
        if "hash" not in str(err).lower():
            raise SourceUnavailable(
                f"source {source.key!r}: could not download {url} ({err}). " + offline_hint
            ) from err
        # pooch: the downloaded file's hash is not the registered one
        raise SourceUnavailable(
            f"source {source.key!r}: the file at {url} is not the edition registered here "
            f"({err}). Use a mirror holding the registered edition, or accept new editions "
            "(verify=False; run_all.py --new-editions)."
        ) from err
    except Exception as err:  # requests/urllib3 connection errors, HTTP errors, OSError
        detail = str(err)
        detail = detail if len(detail) <= 200 else detail[:200] + "..."
        raise SourceUnavailable(
            f"source {source.key!r}: could not download {url}. {offline_hint} "
            f"[{type(err).__name__}: {detail}]"
        ) from err
    by_name = {Path(p).name: Path(p) for p in extracted}
    missing = [name for name in source.files if name not in by_name]
    if missing:
        raise SourceUnavailable(
            f"source {source.key!r}: the archive {source.archive} from {url} does not hold "
            f"{missing} (found e.g. {sorted(by_name)[:8]}); the publisher may have reissued it"
        )
    for name, want in zip(source.files, source.sha256):
        if verify and (got := file_sha256(by_name[name])) != want:
            raise SourceUnavailable(
                f"source {source.key!r}: {name} in {source.archive} has sha256 {got}, expected {want} "
                "(a different edition). Use a mirror holding the registered edition, or accept new "
                "editions (verify=False; run_all.py --new-editions)."
            )
    return by_name[source.files[0]]


def load(
    key: str,
    mirror: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    *,
    verify: bool = True,
):
    """Fetch source ``key`` (see :func:`fetch`) and run its registered loader."""
    source = get_source(key)
    if source.loader is None:
        raise ValueError(f"source {key!r} has no registered loader")
    path = fetch(key, mirror=mirror, cache_dir=cache_dir, verify=verify)
    if ":" in source.loader:
        import importlib

        module, name = source.loader.split(":")
        return getattr(importlib.import_module(module), name)(path)
    return globals()[source.loader](path)


# =======================================================================================
# Shared helpers

LONDON_CODES: frozenset[str] = frozenset(geography.borough_codes()) | frozenset(
    geography.AGGREGATES
)
BOROUGH_CODES: frozenset[str] = frozenset(geography.borough_codes())
CITY = "E09000001"
MISSING_TEXT = frozenset({"", ".", "-", "n/a", "N/A", ":", ".."})


def _closest(name: str, found: Iterable[str], cutoff: float = 0.6) -> str:
    close = difflib.get_close_matches(str(name), [str(f) for f in found], n=2, cutoff=cutoff)
    return f" (closest found: {', '.join(repr(c) for c in close)})" if close else ""


def _require_columns(
    found: Sequence[str],
    expected: Sequence[str],
    source: str,
    *,
    row: int | None = 1,
    labels: dict[str, Any] | None = None,
) -> None:
    """Fail naming the first expected header that is absent and the closest unexpected ones.

    ``labels`` maps cleaned names back to the headers as published, for the message.
    """
    have = set(found)
    missing = [c for c in expected if c not in have]
    if missing:
        first = missing[0]
        more = f" and {len(missing) - 1} more ({missing[1:4]}...)" if len(missing) > 1 else ""
        wanted = set(expected)
        unexpected = [f for f in found if f not in wanted] or list(found)
        hint = _closest(first, unexpected, cutoff=0.5)
        if labels and hint:
            close = difflib.get_close_matches(first, unexpected, n=2, cutoff=0.5)
            hint = f" (closest found: {', '.join(repr(labels.get(c, c)) for c in close)})"
        raise InputError(
            source, f"expected a column {first!r}{more}; found no such column{hint}", row=row
        )


def _is_blank(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, float) and np.isnan(value))
        or (isinstance(value, str) and value.strip() == "")
    )


def _london_code(
    code: Any, name: Any, source: str, row: int, code_col: str, name_col: str | None
) -> str | None:
    """GSS code of a London row (borough or aggregate) or None for other places.

    The name must agree with the code, so a shifted or mistyped row is caught.
    """
    text = "" if _is_blank(code) else str(code).strip()
    if text not in LONDON_CODES:
        if text.startswith("E09"):
            raise InputError(
                source,
                f"expected a London borough code E09000001-E09000033, found {text!r}",
                row=row,
                column=code_col,
            )
        return None
    if name_col is not None and not _is_blank(name):
        try:
            by_name = geography.to_code(str(name))
        except geography.UnknownAreaError as err:
            raise InputError(
                source,
                f"expected the name of {text} ({geography.name_of(text)}): {err}",
                row=row,
                column=name_col,
            ) from None
        if by_name != text:
            raise InputError(
                source,
                f"code {text} is {geography.name_of(text)!r} but the name is {name!r} ({by_name})",
                row=row,
                column=name_col,
            )
    return text


def _require_areas(codes: Iterable[str], expected: Iterable[str], source: str, what: str) -> None:
    missing = sorted(set(expected) - set(codes))
    if missing:
        names = [geography.name_of(c) for c in missing]
        raise InputError(source, f"expected rows for {what}; missing {names}")


def _number(
    value: Any,
    source: str,
    row: int,
    column: str,
    *,
    missing: frozenset[str] = MISSING_TEXT,
    what: str = "a number",
) -> float:
    """A published cell as a float: numbers, '1,234', '£1,234'; missing markers become NaN."""
    if value is None:
        return np.nan
    if isinstance(value, bool):
        raise InputError(source, f"expected {what}, found {value!r}", row=row, column=column)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    text = str(value).strip()
    if text in missing:
        return np.nan
    cleaned = text.replace(",", "").replace("£", "").strip()
    try:
        return float(cleaned)
    except ValueError:
        raise InputError(
            source, f"expected {what}, found {value!r}", row=row, column=column
        ) from None


def _read_text(path: Path, source: str) -> str:
    """File text with any BOM removed (UTF-8, else cp1252) and line endings made '\\n'.

    Handles CR-only (old Mac) files such as the Electoral Commission's referendum CSV.
    """
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    if not text.strip():
        raise InputError(source, "expected a CSV file with a header row, found an empty file")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _read_csv_text(path: Path, source: str) -> pd.DataFrame:
    """A CSV as strings, exactly as written (no missing-value guessing); header = row 1."""
    text = _read_text(path, source)
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, ValueError) as err:
        raise InputError(source, f"expected a comma-separated file: {err}") from None


def _open_xlsx(path: Path, source: str):
    import openpyxl

    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # zipfile.BadZipFile, InvalidFileException, KeyError
        raise InputError(
            source, f"expected an Excel .xlsx workbook; openpyxl could not read it ({err})"
        ) from None


def _sheet_rows(book, name: str, source: str) -> list[tuple]:
    if name not in book.sheetnames:
        raise InputError(source, f"expected a sheet named {name!r}; found sheets {book.sheetnames}")
    rows = [tuple(r) for r in book[name].iter_rows(values_only=True)]
    width = max((len(r) for r in rows), default=0)
    return [r + (None,) * (width - len(r)) for r in rows]


def _cell_name(col: int, header: Any = None) -> str:
    from openpyxl.utils import get_column_letter

    letter = get_column_letter(col + 1)
    return f"{letter} ({header})" if header not in (None, "") else letter


def _checked(frame: pd.DataFrame, schema: Schema | str, source: str) -> pd.DataFrame:
    """Validate a produced table; errors point at the file's own row (and sheet).

    ``frame`` may carry ``_row`` (the row in the file) and ``_sheet`` (its sheet): they are
    dropped from the result and used only to place an error. A string ``schema`` names a
    canonical admin table (:func:`analysis.schemas.validate_admin`).
    """
    frame = frame.reset_index(drop=True)
    rows = frame.pop("_row") if "_row" in frame.columns else None
    sheets = frame.pop("_sheet") if "_sheet" in frame.columns else None
    try:
        if isinstance(schema, str):
            return schemas.validate_admin(frame, schema, source=source, row_offset=0)
        return validate(frame, schema, source=source, row_offset=0)
    except InputError as err:
        if err.row is None or rows is None:
            raise
        where = source if sheets is None else f"{source}, sheet {sheets.iloc[err.row]!r}"
        raise InputError(
            where, err.detail, row=int(rows.iloc[err.row]), column=err.column
        ) from None


def _area_column(codes: Iterable[str] = BOROUGH_CODES) -> Column:
    return Column("area_code", "code", allowed=frozenset(codes))


def _count_schema(
    name: str,
    counts: Sequence[str],
    *,
    areas: Iterable[str] = BOROUGH_CODES,
    parts: Sequence[tuple[str, str]] = (),
    positive: Sequence[str] = (),
) -> Schema:
    cols = [_area_column(areas), Column("year", "int", minimum=1990, maximum=2100)]
    cols += [Column(c, "int", minimum=0) for c in counts]
    return Schema(
        name=name,
        columns=tuple(cols),
        keys=("area_code", "year"),
        extra_columns_allowed=False,
        rules=(schemas.parts_within_wholes(parts), schemas.positive_columns(positive)),
    )


def _ordered(frame: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    return frame.sort_values(list(by), kind="stable").reset_index(drop=True)


# =======================================================================================
# London Borough Profiles

# columns of the profiles that hold text, not numbers (snake_case names)
PROFILE_TEXT_COLUMNS = frozenset(
    {
        "area_name",
        "inner_outer_london",
        "largest_migrant_population_by_country_of_birth_2011",
        "second_largest_migrant_population_by_country_of_birth_2011",
        "third_largest_migrant_population_by_country_of_birth_2011",
        "largest_migrant_population_arrived_during_2015_16",
        "second_largest_migrant_population_arrived_during_2015_16",
        "third_largest_migrant_population_arrived_during_2015_16",
        "political_control_in_council",
    }
)
PROFILE_REQUIRED = (
    "code",
    "area_name",
    "inner_outer_london",
    "gla_population_estimate_2017",
    "pct_of_resident_population_born_abroad_2015",
    "pct_of_population_from_bame_groups_2016",
    "employment_rate_pct_2015",
    "turnout_at_2014_local_elections",
)


def snake_case(header: Any) -> str:
    """Profile header → snake_case: ``'%_of_resident_..._(2015)'`` → ``'pct_of_resident_..._2015'``.

    The CSV (underscores) and the workbook (spaces) headers map to the same names.
    """
    text = str(header).strip().lower()
    text = text.replace("%", " pct ").replace("£", " gbp ").replace("+", " plus ")
    text = re.sub(r"[^0-9a-z]+", "_", text)
    return text.strip("_")


def load_borough_profiles(path: str | os.PathLike) -> pd.DataFrame:
    """London Borough Profiles (GLA, 2017 edition) as a wide table indexed by ``area_code``.

    Reads either ``london-borough-profiles.csv`` (UTF-8 with BOM or cp1252; missing values
    ``.``, ``-``, ``n/a``; numbers such as ``"3,611"`` and ``"£29,420"``) or the workbook
    ``london-borough-profiles.xlsx`` (sheet ``Data``: header, a blank row, then the areas; the
    GSS codes are in its ``New code`` column, unrounded values). Rows: the 33 boroughs, Inner
    London (E13000001), Outer London (E13000002) and London (E12000007), in file order; the
    England and United Kingdom comparator rows are dropped. Columns keep the published headers
    in snake_case (``%`` → ``pct``, ``£`` → ``gbp``, ``+`` → ``plus``), the same for both
    formats; every column is a float except :data:`PROFILE_TEXT_COLUMNS`.
    """
    path = Path(path)
    source = path.name
    suffix = path.suffix.lower()
    if suffix == ".csv":
        table = _read_csv_text(path, source)
        header = list(table.columns)
        records = [tuple(r) for r in table.itertuples(index=False, name=None)]
        first_row = 2
    elif suffix in (".xlsx", ".xlsm"):
        book = _open_xlsx(path, source)
        try:
            rows = _sheet_rows(book, "Data", source)
        finally:
            book.close()
        if len(rows) < 3:
            raise InputError(
                source,
                f"sheet 'Data': expected a header, a blank row and data rows; found {len(rows)} rows",
            )
        header = list(rows[0])
        if not all(_is_blank(v) for v in rows[1]):
            shown = [v for v in rows[1] if not _is_blank(v)][:3]
            raise InputError(
                f"{source}, sheet 'Data'",
                f"expected a blank row under the header, found {shown}",
                row=2,
            )
        records = rows[2:]
        first_row = 3
    else:
        raise InputError(source, f"expected a .csv or .xlsx file, found {suffix!r}")

    names = [snake_case(h) if not _is_blank(h) else "" for h in header]
    where = source if suffix == ".csv" else f"{source}, sheet 'Data'"
    if "" in names:
        raise InputError(
            where,
            f"expected a header text in every column; column {names.index('') + 1} has none",
            row=1,
        )
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(
            where, f"expected distinct column names; {dupes} appear more than once", row=1
        )
    _require_columns(names, PROFILE_REQUIRED, where, labels=dict(zip(names, header)))
    code_col = "new_code" if "new_code" in names else "code"
    code_at, name_at = names.index(code_col), names.index("area_name")
    value_cols = [(i, n) for i, n in enumerate(names) if n not in ("code", "new_code")]

    out_rows: list[dict[str, Any]] = []
    for offset, record in enumerate(records):
        row = first_row + offset
        if all(_is_blank(v) for v in record):
            continue
        code = _london_code(
            record[code_at], record[name_at], where, row, header[code_at], header[name_at]
        )
        if code is None:
            continue  # England, United Kingdom, the "National comparator" footnote
        entry: dict[str, Any] = {"area_code": code, "_row": row}
        for i, name in value_cols:
            value = record[i]
            if name in PROFILE_TEXT_COLUMNS:
                entry[name] = (
                    None
                    if _is_blank(value) or str(value).strip() in MISSING_TEXT
                    else str(value).strip()
                )
            else:
                entry[name] = _number(
                    value,
                    where,
                    row,
                    str(header[i]),
                    what="a number (or '.', '-', 'n/a' for a missing value)",
                )
        out_rows.append(entry)
    frame = pd.DataFrame(out_rows)
    _require_areas(
        frame.get("area_code", []),
        LONDON_CODES,
        where,
        "the 33 boroughs, Inner, Outer London and London",
    )
    cols = [_area_column(LONDON_CODES)]
    cols += [
        Column(n, "str" if n in PROFILE_TEXT_COLUMNS else "float", nullable=n != "area_name")
        for _, n in value_cols
    ]
    schema = Schema("london borough profiles", tuple(cols), keys=("area_code",))
    checked = _checked(frame, schema, where)
    return checked.set_index("area_code")


# =======================================================================================
# ONS population: components of change (MYEB3) and single year of age (MYE2)

FLOWS = ("internal_in", "internal_out", "international_in", "international_out")


def load_population_components(path: str | os.PathLike) -> pd.DataFrame:
    """ONS MYEB3 summary components of change → ``area_code, year, population, internal_in,
    internal_out, international_in, international_out`` for the 33 boroughs.

    ``population`` is the mid-year population of ``year``; the four flows are the moves in
    the year to mid-``year`` (mid-2001 to mid-2002 is year 2002). Years are those of the file
    (2002-2018 in the mid-2018 edition). Internal flows count moves between local
    authorities, so moves between two London boroughs appear in both boroughs' figures.
    """
    path = Path(path)
    source = path.name
    table = _read_csv_text(path, source)
    header = list(table.columns)
    code_col = next((c for c in header if re.fullmatch(r"ladcode\d{2}", c)), None)
    name_col = next((c for c in header if re.fullmatch(r"laname\d{2}", c)), None)
    if code_col is None or name_col is None:
        raise InputError(
            source,
            f"expected columns 'ladcodeYY' and 'lanameYY' (e.g. ladcode18), found {header[:4]}",
            row=1,
        )
    years = sorted(
        {int(m.group(1)) for c in header if (m := re.fullmatch(r"internal_in_(\d{4})", c))}
    )
    if not years:
        raise InputError(
            source,
            f"expected columns such as 'internal_in_2016'; found none{_closest('internal_in_2016', header)}",
            row=1,
        )
    expected = [
        f"{part}_{y}" for y in range(years[0], years[-1] + 1) for part in (*FLOWS, "population")
    ]
    _require_columns(header, expected, source)

    out = []
    for i, (code, name) in enumerate(zip(table[code_col], table[name_col])):
        row = i + 2
        area = _london_code(code, name, source, row, code_col, name_col)
        if area is None or area not in BOROUGH_CODES:
            continue
        for year in range(years[0], years[-1] + 1):
            entry: dict[str, Any] = {"area_code": area, "year": year, "_row": row}
            for part in ("population", *FLOWS):
                col = f"{part}_{year}"
                entry[part] = _number(table[col].iloc[i], source, row, col, missing=frozenset({""}))
            out.append(entry)
    frame = pd.DataFrame(out)
    _require_areas(frame.get("area_code", []), BOROUGH_CODES, source, "the 33 London boroughs")
    schema = _count_schema(
        "population components", ("population", *FLOWS), positive=("population",)
    )
    return _ordered(_checked(frame, schema, source), ["area_code", "year"])


def load_adults(path: str | os.PathLike) -> pd.DataFrame:
    """ONS mid-year estimates by single year of age (sheet ``MYE2 - Persons``, legacy .xls)
    → ``area_code, year, population, adults`` for the 33 boroughs.

    ``adults`` is the sum of ages 18 to 89 and ``90+``; ``population`` is ``All ages`` (checked
    to equal the sum over single years). ``year`` is read from the sheet title ("mid-2019").
    """
    import xlrd

    path = Path(path)
    source = path.name
    try:
        book = xlrd.open_workbook(path, on_demand=True)
    except Exception as err:  # xlrd.XLRDError for xlsx and other formats
        raise InputError(
            source, f"expected a legacy Excel .xls workbook; xlrd could not read it ({err})"
        ) from None
    try:
        wanted = {"mye2persons", "mye2-persons"}
        sheet_name = next(
            (n for n in book.sheet_names() if re.sub(r"\s+", "", n.lower()) in wanted), None
        )
        if sheet_name is None:
            raise InputError(
                source, f"expected a sheet 'MYE2 - Persons'; found sheets {book.sheet_names()}"
            )
        sheet = book.sheet_by_name(sheet_name)
        where = f"{source}, sheet {sheet_name!r}"
        rows = [sheet.row_values(i) for i in range(sheet.nrows)]
    finally:
        book.release_resources()

    head = next((i for i, r in enumerate(rows[:15]) if r and str(r[0]).strip() == "Code"), None)
    if head is None:
        raise InputError(
            where,
            "expected a header row starting 'Code' in the first 15 rows (row 5 in the "
            f"mid-2019 edition); found {[r[0] for r in rows[:6]]}",
        )
    title = " ".join(str(v) for r in rows[:head] for v in r if isinstance(v, str))
    found_year = re.search(r"mid-(\d{4})", title)
    if found_year is None:
        raise InputError(
            where,
            f"expected a title naming the year (e.g. 'mid-2019') above the header; found {title[:120]!r}",
        )
    year = int(found_year.group(1))
    header = rows[head]
    fixed = [str(v).strip() for v in header[:4]]
    if fixed != ["Code", "Name", "Geography1", "All ages"]:
        raise InputError(
            where,
            f"expected columns ['Code', 'Name', 'Geography1', 'All ages'], found {fixed}",
            row=head + 1,
        )
    ages: dict[int, int] = {}
    for col, label in enumerate(header[4:], start=4):
        if _is_blank(label):
            continue
        text = str(label).strip()
        age = (
            90
            if text == "90+"
            else (int(float(text)) if re.fullmatch(r"\d+(\.0)?", text) else None)
        )
        if age is None:
            raise InputError(
                where,
                f"expected single years of age 0 to 89 and '90+' as headers, found {label!r}",
                row=head + 1,
                column=_cell_name(col),
            )
        ages[age] = col
    if sorted(ages) != list(range(91)):
        missing = sorted(set(range(91)) - set(ages))
        raise InputError(
            where, f"expected age columns 0 to 89 and '90+'; missing {missing}", row=head + 1
        )

    out = []
    for i in range(head + 1, len(rows)):
        r, row = rows[i], i + 1
        area = _london_code(r[0], r[1], where, row, "Code", "Name")
        if area is None or area not in BOROUGH_CODES:
            continue
        counts = {
            a: _number(r[c], where, row, _cell_name(c, header[c]), missing=frozenset())
            for a, c in ages.items()
        }
        total = _number(r[3], where, row, "All ages", missing=frozenset())
        if abs(sum(counts.values()) - total) > 0.5:
            raise InputError(
                where,
                f"expected single years of age to add up to 'All ages' ({total:.0f}), "
                f"found {sum(counts.values()):.0f}",
                row=row,
                column="All ages",
            )
        out.append(
            {
                "area_code": area,
                "year": year,
                "population": total,
                "adults": sum(v for a, v in counts.items() if a >= 18),
                "_row": row,
            }
        )
    frame = pd.DataFrame(out)
    _require_areas(frame.get("area_code", []), BOROUGH_CODES, where, "the 33 London boroughs")
    schema = _count_schema(
        "population by age",
        ("population", "adults"),
        parts=(("adults", "population"),),
        positive=("population", "adults"),
    )
    return _ordered(_checked(frame, schema, where), ["area_code", "year"])


# =======================================================================================
# Electoral Commission: EU referendum electorate (proxy for electors)

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
    table = _read_csv_text(path, source)
    _require_columns(list(table.columns), ("Area_Code", "Area", "Electorate"), source)
    out = []
    for i, (code, name, electors) in enumerate(
        zip(table["Area_Code"], table["Area"], table["Electorate"])
    ):
        row = i + 2
        area = _london_code(code, name, source, row, "Area_Code", "Area")
        if area is None or area not in BOROUGH_CODES:
            continue
        out.append(
            {
                "area_code": area,
                "year": REFERENDUM_YEAR,
                "electors": _number(electors, source, row, "Electorate", missing=frozenset({""})),
                "_row": row,
            }
        )
    frame = pd.DataFrame(out)
    _require_areas(
        frame.get("area_code", []), BOROUGH_CODES, source, "the 33 London counting areas"
    )
    schema = _count_schema("electorate", ("electors",), positive=("electors",))
    return _ordered(_checked(frame, schema, source), ["area_code", "year"])


# =======================================================================================
# Metropolitan Police: hate crime

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
    table = _read_csv_text(path, source)
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
                f"found {available}{_closest(name, available)}",
                column="MinorText",
            )
    chosen = hate[hate["minor"].isin(list(series)) & hate["area_code"].notna()].copy()
    _require_areas(
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
    schema = _count_schema("hate crime", ("hate_crimes",), areas=BOROUGH_CODES)
    return _ordered(_checked(frame, schema, source), ["area_code", "year"])


# =======================================================================================
# DfE via the London Datastore: GCSE results

GCSE_PUPILS = "number of pupils at the end of key stage 4"
GCSE_STANDARD = "percentage of pupils who achieved a standard 9-4 pass"
GCSE_AC = "percentage of pupils who achieved a*-c in english and maths gcses"
GCSE_SUPPRESSED = frozenset({"", "-", ".", "x", "c", "z", ":"})


def _norm(text: Any) -> str:
    return re.sub(r"\s+", " ", str(text)).strip().lower()


def load_gcse(path: str | os.PathLike) -> pd.DataFrame:
    """GCSE results by borough (DfE, London Datastore) → ``area_code, year, pupils,
    pupils_achieving``, the canonical ``gcse`` admin table.

    One sheet per academic year (``2015-16`` … ``2021-22``); ``year`` is the year the
    academic year ends (2016 for 2015-16). ``pupils`` is the number of pupils at the end of
    key stage 4 and ``pupils_achieving`` = round(pupils × % / 100), rounding halves up, where %
    is, for all pupils:

    * 2017 onwards: the percentage achieving a **standard 9-4 pass in English and maths**.
      This headline replaced "5 or more A*-C including English and maths" (the registry
      measure's wording) when GCSEs were regraded 9-1; it is not the same measure;
    * 2016 (sheet ``2015-16``): the percentage achieving **A*-C in English and maths**, the
      letter-grade forerunner of the 9-4 standard pass (this file has no 5 A*-C measure).

    2020 and 2021 grades were centre- and teacher-assessed (exams cancelled) and are not
    comparable with other years. Figures are for state-funded schools by school location.
    Suppressed or empty rows (the City of London, whose rows are empty, ``-`` or ``.``) are
    dropped, not set to zero. The basis of each year is in ``frame.attrs["basis"]``.
    """
    path = Path(path)
    source = path.name
    book = _open_xlsx(path, source)
    try:
        sheets = [n for n in book.sheetnames if re.fullmatch(r"\d{4}-\d{2}", n.strip())]
        if not sheets:
            raise InputError(
                source,
                f"expected one sheet per academic year named like '2015-16'; found sheets {book.sheetnames}",
            )
        parts, basis = [], {}
        for name in sheets:
            frame, year, label = _gcse_sheet(
                _sheet_rows(book, name, source), f"{source}, sheet {name!r}", name
            )
            parts.append(frame.assign(_sheet=name))
            basis[year] = label
    finally:
        book.close()
    frame = pd.concat(parts, ignore_index=True)
    dup = frame.duplicated(["area_code", "year"]).to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InputError(source, f"two sheets give academic year ending {frame['year'].iloc[i]}")
    out = _ordered(_checked(frame, "gcse", source), ["area_code", "year"])
    out.attrs["basis"] = dict(sorted(basis.items()))
    return out


def _gcse_sheet(rows: list[tuple], where: str, name: str) -> tuple[pd.DataFrame, int, str]:
    start, end = (int(x) for x in name.strip().split("-"))
    if end != (start + 1) % 100:
        raise InputError(where, f"expected an academic year name such as '2015-16', found {name!r}")
    year = start + 1
    if len(rows) < 5:
        raise InputError(where, f"expected three header rows and data rows, found {len(rows)} rows")
    top, middle, bottom = rows[0], rows[1], rows[2]
    if [_norm(v) for v in bottom[:2]] != ["code", "area"]:
        raise InputError(
            where, f"expected 'Code' and 'Area' in columns A and B, found {list(bottom[:2])}", row=3
        )
    blocks = [i for i, v in enumerate(top) if not _is_blank(v)]
    if not blocks or _norm(top[blocks[0]]) != "all":
        raise InputError(
            where,
            f"expected 'All' over the first block of columns, found {[top[i] for i in blocks]}",
            row=1,
        )
    lo, hi = blocks[0], (blocks[1] if len(blocks) > 1 else len(top))
    pupils_col = next((i for i in range(lo, hi) if _norm(middle[i]) == GCSE_PUPILS), None)
    if pupils_col is None:
        raise InputError(
            where,
            f"expected a column headed 'Number of pupils at the end of key stage 4' under 'All'; "
            f"found {[middle[i] for i in range(lo, hi) if not _is_blank(middle[i])]}",
            row=2,
        )
    headers = {i: _norm(bottom[i]) for i in range(lo, hi) if not _is_blank(bottom[i])}
    pct_col = next((i for i, t in headers.items() if t == GCSE_STANDARD), None)
    label = "standard 9-4 pass in English and maths"
    if pct_col is None and year <= 2016:
        pct_col = next((i for i, t in headers.items() if t == GCSE_AC), None)
        label = "A*-C in English and maths"
    if pct_col is None:
        raise InputError(
            where,
            "expected a column headed 'Percentage of pupils who achieved a standard 9-4 pass' "
            "(2015-16: '... A*-C in English and maths GCSEs') under 'All'; "
            f"found {list(headers.values())}",
            row=3,
        )

    out, seen = [], set()
    for i in range(3, len(rows)):
        r, row = rows[i], i + 1
        area = _london_code(r[0], r[1], where, row, "Code", "Area")
        if area is None or area not in BOROUGH_CODES:
            continue
        seen.add(area)
        pupils = _number(
            r[pupils_col],
            where,
            row,
            _cell_name(pupils_col, middle[pupils_col]),
            missing=GCSE_SUPPRESSED,
        )
        pct = _number(
            r[pct_col], where, row, _cell_name(pct_col, bottom[pct_col]), missing=GCSE_SUPPRESSED
        )
        if np.isnan(pupils) or np.isnan(pct):
            continue  # suppressed or not published: dropped, not zero
        if not 0 <= pct <= 100:
            raise InputError(
                where,
                f"expected a percentage from 0 to 100, found {pct}",
                row=row,
                column=_cell_name(pct_col, bottom[pct_col]),
            )
        out.append(
            {
                "area_code": area,
                "year": year,
                "pupils": pupils,
                "pupils_achieving": float(np.floor(pupils * pct / 100 + 0.5)),
                "_row": row,
            }
        )
    _require_areas(seen, BOROUGH_CODES, where, "the 33 London boroughs")
    return pd.DataFrame(out), year, label


# =======================================================================================
# ONS Annual Population Survey via the London Datastore: employment rates

APS_MARKERS: dict[str, str] = {
    "!": "estimate and interval not available: group sample size zero or disclosive (0-2)",
    "*": "estimate and interval unreliable: group sample size small (3-9)",
    "~": "estimate is less than 500",
    "#": "count not shown (undocumented; used where '~', estimate less than 500, would be)",
    "-": "figure missing",
}
MARKER_ORDER = "!*~#-"

ETHNIC_HEADINGS: dict[str, str | None] = {
    "working age employment rate - white": "White",
    "working age employment rate - ethnic minority": None,  # BAME total: not a canonical level
    "working age employment rate for all mixed ethnic group": "Mixed",
    "working age employment rate for all indians": "Indian",
    "working age employment rate for all pakistanis/bangladeshis": "Pakistani/Bangladeshi",
    "working age employment rate for all black or black british": "Black",
    "working age employment rate for all other ethnic group": "Other",
}
DISABILITY_HEADINGS: dict[str, dict[str, str]] = {
    # current definition (Equality Act 2010 core or work-limiting), 2013/2014 onwards
    "current": {
        "equality act core or work-limiting disabled": "Disabled",
        "not ea core or work-limiting disabled": "Not disabled",
    },
    # previous definition (Disability Discrimination Act or work-limiting), to 2012
    "previous": {"all disabled": "Disabled", "not disabled": "Not disabled"},
}
EMPLOYMENT_COLUMNS = (
    "area_code",
    "year",
    "variable",
    "group",
    "rate",
    "ci_half_width",
    "numerator",
    "denominator",
    "marker",
)


def _employment_schema() -> Schema:
    levels = {v: schemas.LEVELS[v] for v in ("ethnic_group", "sex", "disability")}
    levels["all"] = ("all",)  # all people of working age (the 'Persons' sheet)

    def rule(frame: pd.DataFrame, source: str, row_offset: int) -> None:
        for i, (var, group) in enumerate(zip(frame["variable"], frame["group"])):
            if group not in levels[var]:
                raise InputError(
                    source,
                    f"group {group!r} is not a level of {var}: {list(levels[var])}",
                    row=i + row_offset,
                    column="group",
                )
        both = frame["numerator"].notna() & frame["denominator"].notna()
        bad = (both & (frame["numerator"] > frame["denominator"])).to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                source,
                f"numerator ({frame['numerator'].iloc[i]}) exceeds denominator "
                f"({frame['denominator'].iloc[i]})",
                row=i + row_offset,
                column="numerator",
            )
        bad_marker = ~frame["marker"].map(lambda m: set(m) <= set(MARKER_ORDER)).to_numpy(
            dtype=bool
        )
        if bad_marker.any():
            i = int(np.flatnonzero(bad_marker)[0])
            raise InputError(
                source,
                f"unknown marker {frame['marker'].iloc[i]!r}",
                row=i + row_offset,
                column="marker",
            )

    return Schema(
        "employment rates",
        (
            _area_column(LONDON_CODES),
            Column("year", "int", minimum=1990, maximum=2100),
            Column("variable", "code", allowed=frozenset(levels)),
            Column("group", "code", allowed=frozenset(g for v in levels.values() for g in v)),
            Column("rate", "float", nullable=True, minimum=0, maximum=100),
            Column("ci_half_width", "float", nullable=True, minimum=0),
            Column("numerator", "float", nullable=True, minimum=0),
            Column("denominator", "float", nullable=True, minimum=0),
            Column("marker", "str"),
        ),
        keys=("area_code", "year", "variable", "group"),
        extra_columns_allowed=False,
        rules=(rule,),
    )


def _aps_block(
    cells: Sequence[Any], labels: Sequence[str], where: str, row: int
) -> dict[str, Any] | None:
    """Numerator, denominator, percent, interval cells → values and the markers found."""
    if all(_is_blank(v) for v in cells):
        return None
    values, markers = [], set()
    for value, label in zip(cells, labels):
        if isinstance(value, str) and value.strip() in APS_MARKERS:
            markers.add(value.strip())
            values.append(np.nan)
        else:
            values.append(
                _number(
                    value,
                    where,
                    row,
                    label,
                    missing=frozenset({""}),
                    what="a number or one of the markers ! * ~ # -",
                )
            )
    numerator, denominator, rate, ci = values
    return {
        "rate": rate,
        "ci_half_width": ci,
        "numerator": numerator,
        "denominator": denominator,
        "marker": "".join(m for m in MARKER_ORDER if m in markers),
    }


def _aps_areas(rows: list[tuple], first: int, where: str) -> list[tuple[int, str, tuple]]:
    """(row number, code, row) for the London rows (boroughs, Inner/Outer London, London)."""
    out = []
    for i in range(first, len(rows)):
        area = _london_code(rows[i][0], rows[i][1], where, i + 1, "Code", "Area")
        if area is not None:
            out.append((i + 1, area, rows[i]))
    _require_areas(
        [a for _, a, _ in out],
        BOROUGH_CODES | {geography.LONDON_CODE},
        where,
        "the 33 London boroughs and London",
    )
    return out


def load_employment_by_ethnicity(path: str | os.PathLike) -> pd.DataFrame:
    """APS employment rates by ethnic group (London Datastore) → ``area_code, year, variable,
    group, rate, ci_half_width, numerator, denominator, marker`` with ``variable`` =
    ``ethnic_group``.

    One sheet per calendar year (``2004`` … ``2020``; Jan-Dec APS). Working-age (16-64)
    employment rate in % (``rate``), the published 95% confidence interval half-width in
    percentage points (``ci_half_width``), people in employment (``numerator``) and the
    working-age population of the group (``denominator``). Groups are the canonical levels:
    White, Mixed, Indian, Pakistani/Bangladeshi, Black, Other; the published "ethnic
    minority" (BAME) total is left out. Rows: the 33 boroughs, Inner and Outer London and
    London. Markers are kept in ``marker`` (any of ``! * ~ # -``, see :data:`APS_MARKERS`)
    with the marked cells NaN: ``!`` rows have no rate; ``*`` rows keep the published rate,
    which is unreliable; ``-`` is usually an interval not computed for a 100% rate.
    """
    path = Path(path)
    source = path.name
    book = _open_xlsx(path, source)
    try:
        sheets = [n for n in book.sheetnames if re.fullmatch(r"\d{4}", n.strip())]
        if not sheets:
            raise InputError(
                source,
                f"expected one sheet per calendar year named like '2016'; found sheets {book.sheetnames}",
            )
        out = []
        for name in sheets:
            out.extend(
                _ethnic_sheet(_sheet_rows(book, name, source), f"{source}, sheet {name!r}", name)
            )
    finally:
        book.close()
    return _employment_table(out, source)


def _ethnic_sheet(rows: list[tuple], where: str, name: str) -> list[dict[str, Any]]:
    year = int(name)
    if len(rows) < 4:
        raise InputError(
            where, f"expected two header rows, a blank row and data rows; found {len(rows)} rows"
        )
    top, sub = rows[0], rows[1]
    if [_norm(v) for v in sub[:2]] != ["code", "area"]:
        raise InputError(
            where, f"expected 'Code' and 'Area' in columns A and B, found {list(sub[:2])}", row=2
        )
    blocks: dict[str, int] = {}
    for col, heading in enumerate(top):
        if _is_blank(heading):
            continue
        key = _norm(heading)
        if key not in ETHNIC_HEADINGS:
            raise InputError(
                where,
                f"expected a group heading such as 'working age employment rate - white', "
                f"found {heading!r}{_closest(key, ETHNIC_HEADINGS)}",
                row=1,
                column=_cell_name(col),
            )
        want = ["number", "denominator", "percent", "confidence"]
        got = [_norm(v) for v in sub[col : col + 4]]
        if got != want:
            raise InputError(
                where,
                f"expected sub-headings {want} under {heading!r}, found {got}",
                row=2,
                column=_cell_name(col),
            )
        group = ETHNIC_HEADINGS[key]
        if group is not None:
            blocks[group] = col
    missing = [g for g in schemas.LEVELS["ethnic_group"] if g not in blocks]
    if missing:
        raise InputError(
            where, f"expected a block of columns for each ethnic group; missing {missing}", row=1
        )
    out = []
    for row, area, r in _aps_areas(rows, 3, where):
        for group, col in blocks.items():
            labels = [_cell_name(col + k, f"{group} {sub[col + k]}") for k in range(4)]
            block = _aps_block(r[col : col + 4], labels, where, row)
            if block is not None:
                out.append(
                    {
                        "area_code": area,
                        "year": year,
                        "variable": "ethnic_group",
                        "group": group,
                        **block,
                        "_row": row,
                        "_sheet": name,
                    }
                )
    return out


def _calendar_year(label: Any, where: str, row: int, column: str) -> int:
    m = re.fullmatch(r"jan\s*(\d{4})\s*-\s*dec\s*(\d{4})", _norm(label))
    if m is None or m.group(1) != m.group(2):
        raise InputError(
            where,
            f"expected a calendar-year period such as 'Jan 2016-Dec 2016', found {label!r}",
            row=row,
            column=column,
        )
    return int(m.group(1))


def load_employment_by_sex_disability(
    path: str | os.PathLike, *, include_previous_definition: bool = False
) -> pd.DataFrame:
    """APS employment rates by sex and disability (London Datastore) → ``area_code, year,
    variable, group, rate, ci_half_width, numerator, denominator, marker``.

    * ``variable = "sex"`` (``Male``/``Female``) from sheets ``Males`` and ``Females``: the 33
      boroughs, Inner and Outer London and London, calendar years 2004-2020, with numerator,
      denominator, rate and published 95% interval half-width, markers as in
      :func:`load_employment_by_ethnicity`.
    * ``variable = "disability"`` (``Disabled``/``Not disabled``) from sheet ``Emp Disabled``:
      **London only** (the file has no borough figures), number employed and rate, no
      denominator or interval. ``Disabled`` is "Equality Act core or work-limiting disabled"
      and ``Not disabled`` "Not EA core or work-limiting disabled" (2014 onwards). The earlier
      series (DDA or work-limiting, "All disabled" / "Not disabled", 2004-2012) is a different
      definition and is only included with ``include_previous_definition=True``; 2013 is in
      neither.

    The ``Persons`` sheet (all people) and the age sheets are not read.
    """
    path = Path(path)
    source = path.name
    book = _open_xlsx(path, source)
    try:
        for name in ("Males", "Females", "Emp Disabled"):
            if name not in book.sheetnames:
                raise InputError(
                    source, f"expected a sheet named {name!r}; found sheets {book.sheetnames}"
                )
        out = []
        for name, group in (("Males", "Male"), ("Females", "Female")):
            out.extend(
                _sex_sheet(
                    _sheet_rows(book, name, source), f"{source}, sheet {name!r}", name, group
                )
            )
        out.extend(
            _disability_sheet(
                _sheet_rows(book, "Emp Disabled", source),
                f"{source}, sheet 'Emp Disabled'",
                include_previous_definition,
            )
        )
    finally:
        book.close()
    return _employment_table(out, source)


def load_employment_all_persons(path: str | os.PathLike) -> pd.DataFrame:
    """APS employment rates of all people aged 16-64 (sheet ``Persons`` of the file read by
    :func:`load_employment_by_sex_disability`) → the same columns with ``variable`` and
    ``group`` both ``"all"``: the 33 boroughs, Inner and Outer London and London, calendar
    years 2004-2020, markers as in :func:`load_employment_by_ethnicity`.

    It is the whole-population series the group rates sit beside, so a page can map and rank
    the employment rate without pooling the groups.
    """
    path = Path(path)
    source = path.name
    book = _open_xlsx(path, source)
    try:
        if "Persons" not in book.sheetnames:
            raise InputError(
                source, f"expected a sheet named 'Persons'; found sheets {book.sheetnames}"
            )
        out = _sex_sheet(
            _sheet_rows(book, "Persons", source),
            f"{source}, sheet 'Persons'",
            "Persons",
            "all",
            variable="all",
        )
    finally:
        book.close()
    return _employment_table(out, source)


def _sex_sheet(
    rows: list[tuple], where: str, name: str, group: str, variable: str = "sex"
) -> list[dict[str, Any]]:
    if len(rows) < 4:
        raise InputError(
            where, f"expected two header rows, a blank row and data rows; found {len(rows)} rows"
        )
    top, sub = rows[0], rows[1]
    if [_norm(v) for v in sub[:2]] != ["code", "area"]:
        raise InputError(
            where, f"expected 'Code' and 'Area' in columns A and B, found {list(sub[:2])}", row=2
        )
    blocks: dict[int, int] = {}
    for col in range(2, len(top)):
        if _is_blank(top[col]):
            continue
        year = _calendar_year(top[col], where, 1, _cell_name(col))
        want = ["numerator", "denominator", "percent", "conf"]
        got = [_norm(v) for v in sub[col : col + 4]]
        if got != want:
            raise InputError(
                where,
                f"expected sub-headings {want} under {top[col]!r}, found {got}",
                row=2,
                column=_cell_name(col),
            )
        blocks[year] = col
    if not blocks:
        raise InputError(
            where, "expected periods such as 'Jan 2016-Dec 2016' across row 1, found none", row=1
        )
    out = []
    for row, area, r in _aps_areas(rows, 3, where):
        for year, col in blocks.items():
            labels = [_cell_name(col + k, f"{year} {sub[col + k]}") for k in range(4)]
            block = _aps_block(r[col : col + 4], labels, where, row)
            if block is not None:
                out.append(
                    {
                        "area_code": area,
                        "year": year,
                        "variable": variable,
                        "group": group,
                        **block,
                        "_row": row,
                        "_sheet": name,
                    }
                )
    return out


def _disability_sheet(
    rows: list[tuple], where: str, include_previous: bool
) -> list[dict[str, Any]]:
    """The London block of 'Emp Disabled': headings rows, a 'London | Number | Rate' row, then years."""
    out: list[dict[str, Any]] = []
    columns: dict[str, int] | None = None  # group -> column of 'Number' (London block)
    definition = None
    seen = set()
    for i, r in enumerate(rows):
        row = i + 1
        first = _norm(r[0]) if not _is_blank(r[0]) else ""
        cells: dict[str, int] = {}
        for col, v in enumerate(r):
            if col > 0 and not _is_blank(v):
                cells.setdefault(_norm(v), col)  # first occurrence: the London block
        for name, headings in DISABILITY_HEADINGS.items():
            if all(h in cells for h in headings):
                # the first occurrence of each heading is the London block (UK repeats it to the right)
                columns = {group: cells[h] for h, group in headings.items()}
                definition = name
                seen.add(name)
        if first == "london" and columns is not None:
            for group, col in columns.items():
                got = [_norm(r[col]), _norm(r[col + 1])]
                if got != ["number", "rate"]:
                    raise InputError(
                        where,
                        f"expected 'Number' and 'Rate' under {group!r}, found {got}",
                        row=row,
                        column=_cell_name(col),
                    )
        if first.startswith("jan") and columns is not None:
            year = _calendar_year(r[0], where, row, "A")
            if definition == "previous" and not include_previous:
                continue
            for group, col in columns.items():
                block = _aps_block(
                    (r[col], None, r[col + 1], None),
                    [
                        _cell_name(col, f"{group} Number"),
                        "",
                        _cell_name(col + 1, f"{group} Rate"),
                        "",
                    ],
                    where,
                    row,
                )
                if block is not None:
                    out.append(
                        {
                            "area_code": geography.LONDON_CODE,
                            "year": year,
                            "variable": "disability",
                            "group": group,
                            **block,
                            "_row": row,
                            "_sheet": "Emp Disabled",
                        }
                    )
    if "current" not in seen:
        raise InputError(
            where,
            "expected headings 'Equality Act core or work-limiting disabled' and "
            "'Not EA core or work-limiting disabled' over the London columns; found none",
        )
    return out


def _employment_table(records: list[dict[str, Any]], source: str) -> pd.DataFrame:
    frame = pd.DataFrame(records, columns=[*EMPLOYMENT_COLUMNS, "_row", "_sheet"])
    frame = frame.sort_values(["variable", "year", "area_code", "group"], kind="stable")
    checked = _checked(frame, _employment_schema(), source)
    order = {
        v: {g: i for i, g in enumerate(schemas.LEVELS[v])}
        for v in ("ethnic_group", "sex", "disability")
    }
    order["all"] = {"all": 0}
    checked["_g"] = [order[v][g] for v, g in zip(checked["variable"], checked["group"])]
    checked = checked.sort_values(["variable", "year", "area_code", "_g"], kind="stable").drop(
        columns="_g"
    )
    return checked.reset_index(drop=True)[list(EMPLOYMENT_COLUMNS)]


# =======================================================================================
# Command line


def main(argv: Sequence[str] | None = None) -> int:
    import argparse
    import sys

    parser = argparse.ArgumentParser(
        prog="python -m analysis.sources.published",
        description="Fetch and load the published source files.",
    )
    parser.add_argument(
        "keys", nargs="*", help=f"sources to load (default: all): {sorted(SOURCES)}"
    )
    parser.add_argument(
        "--mirror", help="folder holding the published files (searched recursively)"
    )
    parser.add_argument(
        "--cache", help="download cache (default $LSI_CACHE or ~/.cache/london-social-integration)"
    )
    args = parser.parse_args(argv)
    status = 0
    for key in args.keys or sorted(SOURCES):
        try:
            table = load(key, mirror=args.mirror, cache_dir=args.cache)
        except (InputError, SourceUnavailable, KeyError) as err:
            print(f"{key}: error: {err}", file=sys.stderr)
            status = 2
            continue
        print(f"{key}: {len(table)} rows x {table.shape[1]} columns")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
