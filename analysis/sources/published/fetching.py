"""Getting a local copy of a registered published file: from a mirror folder or a download cache.

:func:`fetch` returns a local copy: from a mirror folder when one is given (searched
recursively by file name, so ``fetch(key, mirror="/path/to/real-data")`` works with
sub-folders), otherwise from a download cache filled once with :mod:`pooch`
(``~/.cache/london-social-integration``, or ``$LSI_CACHE``). Files the London Datastore
republishes under a new address are looked up in its dataset API (:func:`datastore_url`).
Every copy must be the registered edition (its sha256) unless new editions are accepted,
because a new edition changes the figures and the reports must say so by being rebuilt.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from analysis.outputs import file_sha256
from analysis.sources.published.registry import Source, get_source, loader_of

DATASTORE = "https://data.london.gov.uk"
DATASTORE_API = f"{DATASTORE}/api/dataset"


class SourceUnavailable(RuntimeError):
    """A registered file could not be found in the mirror or downloaded."""


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
) -> Any:
    """Fetch source ``key`` (see :func:`fetch`) and run its registered loader."""
    source = get_source(key)
    loader = loader_of(source)  # before fetching: a registry mistake is not a download problem
    return loader(fetch(key, mirror=mirror, cache_dir=cache_dir, verify=verify))
