"""``python -m analysis.sources.published --mirror DIR [KEY ...]``: load each source, one line each."""

from __future__ import annotations

from collections.abc import Sequence

from analysis.sources.published.fetching import SourceUnavailable, load
from analysis.sources.published.registry import SOURCES
from analysis.validate import InputError


def main(argv: Sequence[str] | None = None) -> int:
    """Load each source named (default: all) and print its shape; 2 if any failed."""
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
    parser.add_argument(
        "--new-editions",
        action="store_true",
        help="accept files other than the registered editions (their layout is still checked)",
    )
    args = parser.parse_args(argv)
    status = 0
    for key in args.keys or sorted(SOURCES):
        try:
            table = load(
                key, mirror=args.mirror, cache_dir=args.cache, verify=not args.new_editions
            )
        except (InputError, SourceUnavailable, KeyError) as err:
            print(f"{key}: error: {err}", file=sys.stderr)
            status = 2
            continue
        print(f"{key}: {len(table)} rows x {table.shape[1]} columns")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
