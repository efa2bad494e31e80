"""The input options both command lines share (``run_all.py`` and ``python -m analysis
estimates``): where the data come from and which survey waves are added.

One definition, so the two entry points cannot drift apart: ``--source``, ``--mirror``,
``--new-editions``, ``--wave`` and ``--codebook`` mean the same in both.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

SYNTHETIC_WAVES_NOTE = (
    "note: the waves join the synthetic demo's earlier waves, so every page stays labelled synthetic "
    "demonstration data; to publish real figures, build with --source real and all your waves."
)


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the input options to ``parser``."""
    parser.add_argument(
        "--source",
        choices=["demo", "real"],
        default="demo",
        help="demo: embedded synthetic data (default); real: the published statistics "
        "and your survey waves (--wave), which then form the survey series",
    )
    parser.add_argument(
        "--mirror", help="folder holding the published files (offline); default: download and cache"
    )
    parser.add_argument(
        "--new-editions",
        action="store_true",
        help="with --source real: accept published files other than the registered editions "
        "(their layout is still checked)",
    )
    parser.add_argument(
        "--wave",
        action="append",
        default=[],
        help="a survey wave file (CSV, .sav, .dta, Parquet); repeatable",
    )
    parser.add_argument(
        "--codebook",
        action="append",
        default=[],
        help="the codebook (YAML) of the --wave before it (docs/codebook.md)",
    )


def check_input_arguments(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> list[tuple[str, str]]:
    """Refuse inconsistent options (``parser.error`` exits); return the (wave, codebook) pairs.

    With the demo, added waves are mixed with synthetic ones, which a note on stderr says."""
    if len(args.wave) != len(args.codebook):
        parser.error("give one --codebook for each --wave")
    if args.source == "demo" and (args.mirror or args.new_editions):
        parser.error(
            "--mirror and --new-editions are for --source real (the demo reads no published files)"
        )
    if args.source == "demo" and args.wave:
        print(SYNTHETIC_WAVES_NOTE, file=sys.stderr)
    return list(zip(args.wave, args.codebook))


def inputs_for(
    source: str, mirror: str | None, waves: list[tuple[str, str]], new_editions: bool = False
) -> tuple[Callable[[], Any], str, dict[str, str]]:
    """The inputs factory for a build, a key that changes when any input changes, and every
    input file with its sha256 (for the manifest): the three things the sources of
    :mod:`analysis.sources.interface` give, in the form the build takes them.

    The wave files are read through their codebooks here, before the build starts, so a
    codebook that does not fit its file stops the build before anything is written."""
    from analysis.sources import interface

    chosen = interface.from_options(source, mirror, waves, new_editions=new_editions)
    return chosen.inputs, chosen.key(), chosen.files()
