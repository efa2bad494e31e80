"""The registry of published sources: ``analysis/data/sources.yaml``, read and checked once.

The sources are data, like the measures: adding a published file is one entry in the YAML
(plus, at most, a loader module). Each entry is checked when the registry loads, so a
misspelt field, a checksum of the wrong length or a loader that is not ``module:function``
stops with a message naming the file, the entry and the field, instead of failing later in
a download or a build. Loaders are named by import path and resolved with
:mod:`importlib` when used, so nothing here depends on which module defines them.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from importlib import resources
from typing import Any

import yaml

REGISTRY_FILE = "analysis/data/sources.yaml"


class SourceRegistryError(ValueError):
    """The sources registry is malformed (raised when it loads)."""


@dataclass(frozen=True)
class Source:
    """One published file (or a set of files published together, e.g. a shapefile).

    ``url`` is the publisher's direct download address (of the file itself, or of the zip
    ``archive`` that holds it). Files the London Datastore republishes under a new address
    with each update have ``datastore_slug`` instead: the address is looked up at download
    time in the Datastore's dataset API (the resource whose file name is ``files[0]``).
    ``sha256`` pairs with ``files`` and pins the edition this project was built and tested
    against. ``loader`` is the ``module:function`` that reads the file.
    """

    key: str
    title: str
    publisher: str
    files: tuple[str, ...]
    sha256: tuple[str, ...]
    page: str
    licence: str
    loader: str
    url: str | None = None
    archive: str | None = None  # file name of the zip at ``url`` that holds ``files``
    datastore_slug: str | None = None  # London Datastore dataset whose API lists the file
    edition: str = ""
    notes: str = ""


REQUIRED = ("key", "title", "publisher", "files", "sha256", "page", "licence", "loader")
TEXT_FIELDS = ("key", "title", "publisher", "page", "licence", "loader", "edition", "notes")
OPTIONAL_TEXT = ("url", "archive", "datastore_slug")
SHA256 = re.compile(r"[0-9a-f]{64}")
LOADER = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")


def _entry(raw: Any, index: int, where: str) -> Source:
    """One checked entry; every problem of the entry is listed in one message."""
    label = f"{where}: source {index + 1}"
    if not isinstance(raw, Mapping):
        raise SourceRegistryError(f"{label}: expected a mapping of fields, found {raw!r}")
    label = f"{where}: source {raw.get('key', index + 1)!r}"
    known = {f.name for f in fields(Source)}
    problems = []
    unknown = sorted(str(k) for k in raw if k not in known)
    if unknown:  # a misspelt field must not be ignored silently
        problems.append(f"unknown fields {unknown}; known: {sorted(known)}")
    problems += [f"field {name!r} is missing" for name in REQUIRED if name not in raw]
    for name in TEXT_FIELDS:
        if name in raw and not (isinstance(raw[name], str) and raw[name].strip()):
            problems.append(f"field {name!r}: expected text, found {raw[name]!r}")
    for name in OPTIONAL_TEXT:
        if raw.get(name) is not None and not isinstance(raw[name], str):
            problems.append(f"field {name!r}: expected text, found {raw[name]!r}")
    for name in ("files", "sha256"):
        value = raw.get(name)
        if name in raw and not (
            isinstance(value, list) and value and all(isinstance(v, str) for v in value)
        ):
            problems.append(f"field {name!r}: expected a list of text, found {value!r}")
    files, digests = raw.get("files"), raw.get("sha256")
    if isinstance(files, list) and isinstance(digests, list):
        if len(files) != len(digests):
            problems.append(
                f"fields 'files' and 'sha256': expected one checksum per file, "
                f"found {len(files)} files and {len(digests)} checksums"
            )
        bad = [d for d in digests if not (isinstance(d, str) and SHA256.fullmatch(d))]
        if bad:
            problems.append(f"field 'sha256': expected 64 lowercase hex digits, found {bad}")
    for name in ("page", "url"):
        value = raw.get(name)
        if isinstance(value, str) and not value.startswith("https://"):
            problems.append(f"field {name!r}: expected an https:// address, found {value!r}")
    if not raw.get("url") and not raw.get("datastore_slug"):
        problems.append("expected 'url' or 'datastore_slug': where to download the file")
    if raw.get("archive") and not raw.get("url"):
        problems.append("field 'archive' needs 'url' (the address of the zip)")
    loader = raw.get("loader")
    if isinstance(loader, str) and not LOADER.fullmatch(loader):
        problems.append(f"field 'loader': expected 'module:function', found {loader!r}")
    if problems:
        raise SourceRegistryError(f"{label}: " + "; ".join(problems))
    values = dict(raw)
    values["files"], values["sha256"] = tuple(files or ()), tuple(digests or ())
    return Source(**values)


def load_registry(text: str | None = None, where: str = REGISTRY_FILE) -> dict[str, Source]:
    """Parse and check a sources registry (the packaged ``sources.yaml`` by default)."""
    if text is None:
        text = resources.files("analysis.data").joinpath("sources.yaml").read_text(encoding="utf-8")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise SourceRegistryError(f"{where}: not valid YAML ({err})") from None
    entries = raw.get("sources") if isinstance(raw, dict) else None
    if not isinstance(entries, list) or not entries:
        raise SourceRegistryError(f"{where}: expected a list under 'sources:'")
    sources = [_entry(r, i, where) for i, r in enumerate(entries)]
    keys = [s.key for s in sources]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise SourceRegistryError(f"{where}: source keys {dupes} appear more than once")
    return {s.key: s for s in sources}


# read once, when the package is imported: a malformed registry stops everything at once
SOURCES: dict[str, Source] = load_registry()


def get_source(key: str) -> Source:
    """The registered source ``key`` (raises KeyError listing the known keys)."""
    try:
        return SOURCES[key]
    except KeyError:
        raise KeyError(f"unknown source {key!r}; known: {sorted(SOURCES)}") from None


def loader_of(source: Source) -> Callable[..., Any]:
    """The loader function ``source.loader`` names (``module:function``), imported."""
    module, name = source.loader.split(":")
    try:
        function = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as err:
        raise SourceRegistryError(
            f"{REGISTRY_FILE}: source {source.key!r}: field 'loader': "
            f"cannot import {source.loader!r} ({err})"
        ) from None
    if not callable(function):
        raise SourceRegistryError(
            f"{REGISTRY_FILE}: source {source.key!r}: field 'loader': {source.loader!r} is not a function"
        )
    return function
