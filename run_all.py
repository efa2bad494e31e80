#!/usr/bin/env python3
"""Build every report: estimates once, then each notebook to HTML and PDF under ``reports/``.

    python run_all.py                      # everything from the embedded synthetic demo
    python run_all.py --only camden        # one borough (also: measure:get_on_well, boroughs, london)
    python run_all.py --jobs 2 --out site  # two worker processes, another output folder
    python run_all.py --force              # rebuild even what is unchanged
    python run_all.py --source real --mirror ../shared/real-data      # the published statistics
    python run_all.py --source real --new-editions                    # download, accepting newer editions
    python run_all.py --wave wave.sav --codebook wave.yaml             # add a survey wave (repeatable)

Exits non-zero if any report failed; the last good version of a failed report stays in place.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from analysis import build
from analysis.cli import add_input_arguments, check_input_arguments, inputs_for
from analysis.sources.published import SourceUnavailable
from analysis.validate import InputError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default="reports", help="output folder (default: reports)")
    parser.add_argument(
        "--jobs", type=int, default=None, help="worker processes (default: all cores)"
    )
    parser.add_argument("--only", action="append", help="build only these reports (repeatable)")
    parser.add_argument("--force", action="store_true", help="rebuild reports even if unchanged")
    parser.add_argument(
        "--boundaries", help="boundary file for maps (default: the committed GeoJSON)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--publication-date",
        help="the date the reports show as published (YYYY-MM-DD; "
        "default: analysis/data/publication.yaml)",
    )
    add_input_arguments(parser)
    args = parser.parse_args(argv)
    waves = check_input_arguments(parser, args)
    start = time.perf_counter()
    out = Path(args.out)
    existed = out.exists()
    try:
        factory, key, files = inputs_for(
            args.source, args.mirror, waves, new_editions=args.new_editions
        )
        config = build.BuildConfig(
            out=out,
            jobs=args.jobs,
            only=args.only,
            force=args.force,
            progress=not args.no_progress,
            boundaries=args.boundaries,
            inputs_factory=factory,
            inputs_key=key,
            input_files=files,
            synthetic_analyses=args.source == "demo",
            publication_date=args.publication_date,
        )
        result = build.build(config)
    except (InputError, SourceUnavailable) as err:
        if not existed and out.is_dir() and not any(out.iterdir()):
            out.rmdir()  # refused inputs leave nothing behind, not even the folder the build made
        print(f"error: {err}", file=sys.stderr)
        return 2
    built = sum(r.status == "built" for r in result.results)
    unchanged = sum(r.status == "unchanged" for r in result.results)
    print(
        f"{built} built, {unchanged} unchanged, {len(result.failures)} failed in {time.perf_counter() - start:.1f} s "
        f"-> {args.out}/index.html"
    )
    for f in result.failures:
        print(f"  failed: {f.output}: cell {f.cell}: {f.error}", file=sys.stderr)
    if built and build.pdf_font_subsetter() == "fonttools":
        print(f"note: {build.SUBSETTER_HINT}", file=sys.stderr)
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())
