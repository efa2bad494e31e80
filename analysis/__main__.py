"""Command line: ``python -m analysis estimates --out reports/data`` computes the estimates table.

The full report build (notebooks, HTML, PDF) is ``run_all.py``; this entry point runs only the
data step, for researchers who want the tables. It takes the same input options
(``--source``, ``--mirror``, ``--new-editions``, ``--wave``, ``--codebook``; see
:mod:`analysis.cli`).
"""

from __future__ import annotations

import argparse
import sys
import time

from analysis import pipeline
from analysis.cli import add_input_arguments, check_input_arguments, inputs_for
from analysis.sdc import DisclosureRules
from analysis.sources.published import SourceUnavailable
from analysis.validate import InputError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    est = sub.add_parser(
        "estimates",
        help="compute estimates.csv, estimates_detail.csv, changes.csv, trends.csv "
        "and the briefing's briefing.csv and revisions.csv",
    )
    est.add_argument("--out", default="reports/data", help="output folder (default: reports/data)")
    est.add_argument(
        "--suppress-below", type=int, default=50, help="unweighted base below which values are [c]"
    )
    est.add_argument(
        "--flag-below", type=int, default=100, help="unweighted base below which values are [u]"
    )
    est.add_argument("--no-parquet", action="store_true", help="skip estimates.parquet")
    add_input_arguments(est)
    args = parser.parse_args(argv)
    waves = check_input_arguments(est, args)

    start = time.perf_counter()
    try:
        factory, _, _ = inputs_for(args.source, args.mirror, waves, new_editions=args.new_editions)
        inputs = factory()
        results = pipeline.compute(
            inputs, rules=DisclosureRules(args.suppress_below, args.flag_below)
        )
    except (InputError, SourceUnavailable) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    paths = pipeline.write_results(results, args.out, parquet=not args.no_parquet)
    kind = "synthetic demonstration data" if inputs.synthetic else "real data"
    print(
        f"{len(results.estimates)} estimates in {time.perf_counter() - start:.1f} s ({kind}) -> {paths['estimates']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
