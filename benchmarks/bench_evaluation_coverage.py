"""Coverage of the difference-in-differences intervals with few project sites (a simulation, not a timed test).

For 5, 10 and 30 sites, draws many evaluation samples from the synthetic demo
(``analysis/sources/evaluation_demo.py``: unequal site sizes, every site holding both groups,
site-to-site variation in everyone's change and in the programme effect) and counts how often
each method's 95% interval for the difference-in-differences holds the planted effect:

* CR1: the usual cluster-robust errors, t on sites minus one degrees of freedom;
* CR2 with Bell-McCaffrey degrees of freedom;
* the wild cluster restricted bootstrap (Webb weights below 12 sites, Rademacher otherwise);
  its interval is the set of values its test does not reject, so it covers the truth exactly
  when the test at the true value gives p > 0.05, which is what is counted;
* "chosen": whichever of the last two :func:`analysis.cluster_robust.choose_method` picks.

Usage::

    python benchmarks/bench_evaluation_coverage.py [--reps 1000] [--sites 5 10 30] [--draws 999]
        [--site-effect-sd 0.04]

It prints a Markdown table (the README's) with each coverage and its Monte Carlo standard error.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis import cluster_robust as cr  # noqa: E402
from analysis import evaluation_stats as es  # noqa: E402
from analysis.sources import evaluation_demo  # noqa: E402

INITIATIVE = "london_family_fund"
OUTCOME = "someone_to_rely_on"


def one(n_sites: int, rep: int, draws: int, effect_sd: float) -> dict[str, bool]:
    frame = evaluation_demo.generate(
        INITIATIVE, n_sites=n_sites, label=f"coverage-{rep}", site_effect_sd=effect_sd
    )
    truth = evaluation_demo.planted_effects(INITIATIVE)[OUTCOME]
    w = es.changes(frame, OUTCOME)
    X = np.column_stack([np.ones(len(w)), (w["group"] == "programme").to_numpy(float)])
    fit = cr.ClusteredOLS(X, 100.0 * w["change"].to_numpy(float), w["site"].to_numpy())
    est = fit.beta[1]
    se1 = fit.cr1_se(1)
    se2, df = fit.cr2(1)
    q1, q2 = (cr.stats.t.ppf(0.975, d) for d in (fit.G - 1, df))
    boot = fit.bootstrap_p(1, truth, fit.weights(draws, seed=rep)) > cr.ALPHA
    out = {
        "CR1": abs(est - truth) <= q1 * se1,
        "CR2": abs(est - truth) <= q2 * se2,
        "bootstrap": boot,
    }
    out["chosen"] = out[cr.choose_method(fit.G)]
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--sites", type=int, nargs="+", default=[5, 10, 30])
    parser.add_argument("--draws", type=int, default=999)
    parser.add_argument(
        "--site-effect-sd",
        type=float,
        default=evaluation_demo.SITE_EFFECT_SD,
        help="site-to-site SD of the programme effect (proportion; the demo's by default)",
    )
    args = parser.parse_args(argv)
    rows = []
    for g in args.sites:
        start = time.perf_counter()
        hits = {k: 0 for k in ("CR1", "CR2", "bootstrap", "chosen")}
        for rep in range(args.reps):
            for k, v in one(g, rep, args.draws, args.site_effect_sd).items():
                hits[k] += bool(v)
        rows.append(
            (
                g,
                {k: v / args.reps for k, v in hits.items()},
                cr.choose_method(g),
                time.perf_counter() - start,
            )
        )
        print(f"{g} sites done in {rows[-1][3]:.0f} s", file=sys.stderr, flush=True)
    mcse = lambda p: math.sqrt(p * (1 - p) / args.reps)  # noqa: E731
    print(
        f"\nCoverage of 95% intervals for the difference-in-differences ({args.reps} samples per row, demo "
        f"'{OUTCOME}', planted effect {evaluation_demo.planted_effects(INITIATIVE)[OUTCOME]:.0f} points varying "
        f"by site with SD {100 * args.site_effect_sd:.0f} points; bootstrap {args.draws} draws)\n"
    )
    print(
        "| sites | CR1, t(G-1) | CR2, Bell-McCaffrey | wild cluster bootstrap | chosen method | coverage of chosen |"
    )
    print("|---:|---:|---:|---:|---|---:|")
    for g, cov, method, _ in rows:
        name = "CR2, Bell-McCaffrey" if method == "CR2" else cr.bootstrap_name(g)
        print(
            f"| {g} | {100 * cov['CR1']:.1f}% | {100 * cov['CR2']:.1f}% | {100 * cov['bootstrap']:.1f}% | {name} | "
            f"{100 * cov['chosen']:.1f}% (± {100 * mcse(cov['chosen']):.1f}) |"
        )


if __name__ == "__main__":
    main()
