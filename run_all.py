#!/usr/bin/env python3
"""Build every report: estimates once, then each notebook to HTML and PDF under ``reports/``.

    python run_all.py                      # everything from the embedded synthetic demo
    python run_all.py --only camden        # one borough (also: measure:get_on_well, boroughs, london)
    python run_all.py --jobs 2 --out site  # two worker processes, another output folder
    python run_all.py --force              # rebuild even what is unchanged
    python run_all.py --source real --mirror ../shared/real-data      # the published statistics
    python run_all.py --wave wave.sav --codebook wave.yaml             # add a survey wave (repeatable)

Exits non-zero if any report failed; the last good version of a failed report stays in place.
"""

from __future__ import annotations

import argparse
import sys
import time

from analysis import build
from analysis.validate import InputError


def inputs_for(source: str, mirror: str | None, waves: list[tuple[str, str]]):
    """The inputs factory for a build and a key that changes when any input changes."""
    import hashlib
    from pathlib import Path

    def factory():
        if source == "real":
            from analysis.sources import real

            inputs = real.real_inputs(mirror)
        else:
            from analysis import pipeline

            inputs = pipeline.demo_inputs()
        if waves:
            from analysis.sources import waves as wave_files

            inputs = wave_files.add_waves(inputs, waves)
        return inputs

    h = hashlib.sha256()
    if source == "real":
        from analysis.sources import real

        h.update(real.inputs_key(mirror).encode())
    else:
        h.update(b"demo")
    for data, codebook in waves:
        h.update(Path(data).read_bytes())
        h.update(Path(codebook).read_bytes())
    return factory, f"{source}:{h.hexdigest()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="reports", help="output folder (default: reports)")
    parser.add_argument("--jobs", type=int, default=None, help="worker processes (default: cores + 1)")
    parser.add_argument("--only", action="append", help="build only these reports (repeatable)")
    parser.add_argument("--force", action="store_true", help="rebuild reports even if unchanged")
    parser.add_argument("--boundaries", help="boundary file for maps (default: the committed GeoJSON)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--source", choices=["demo", "real"], default="demo",
                        help="demo: embedded synthetic data (default); real: the published statistics")
    parser.add_argument("--mirror", help="folder holding the published files (offline); default: download and cache")
    parser.add_argument("--wave", action="append", default=[], help="a survey wave file (CSV, .sav, .dta, Parquet)")
    parser.add_argument("--codebook", action="append", default=[], help="the codebook (YAML) of the --wave before it")
    args = parser.parse_args(argv)
    if len(args.wave) != len(args.codebook):
        parser.error("give one --codebook for each --wave")
    start = time.perf_counter()
    try:
        factory, key = inputs_for(args.source, args.mirror, list(zip(args.wave, args.codebook)))
        result = build.build(args.out, jobs=args.jobs, only=args.only, force=args.force,
                             progress=not args.no_progress, boundaries=args.boundaries,
                             inputs_factory=factory, inputs_key=key)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    built = sum(r.status == "built" for r in result.results)
    unchanged = sum(r.status == "unchanged" for r in result.results)
    print(f"{built} built, {unchanged} unchanged, {len(result.failures)} failed in {time.perf_counter() - start:.1f} s "
          f"-> {args.out}/index.html")
    for f in result.failures:
        print(f"  failed: {f.output}: cell {f.cell}: {f.error}", file=sys.stderr)
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())
