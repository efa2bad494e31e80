"""Design-based simulation of the small area estimates: direct against modelled, per borough.

A synthetic population is made with the demo generator (:mod:`analysis.sources.demo`): in
each borough, people with the demo's demographics, grouped into clusters (postcode-sector
like), answering an item by the demo's logistic model with its borough and cluster effects.
The borough truths are the population proportions. Then, many times, a sample is drawn with
the survey family's design (strata of boroughs, clusters drawn with probability proportional
to size, the same number of people taken in each), and each sample is estimated both ways:
the direct design-based borough estimates and the build's Fay-Herriot estimates
(:func:`analysis.sae.boroughs.fit_indicator`, with the demo's covariates). Every wave of the
family is drawn and fitted together, as the build fits them (the borough effects persist from
wave to wave, as the demo's do), and the build's suppression rule applies.

For each borough it prints the mean respondents, the relative root mean squared error
(RRMSE = sqrt(mean((estimate - truth)^2)) / truth) of the direct and the modelled estimates
(the modelled also over the same samples as the direct, which a borough without respondents
lacks), and the coverage of the modelled 95% intervals (and of the direct logit intervals,
where there is one), then the averages.

    python benchmarks/bench_sae.py [--family taking_part] [--item volunteered] [--samples 200]

With ``--gap VARIABLE:REFERENCE:COMPARISON`` (e.g. ``--gap sex:Male:Female``) the target is
each borough's gap between the two groups' rates, estimated directly (the difference with its
design-based variance, :func:`analysis.sae.data.gap_directs`) and by the gap model; the table
then gives the RMSE in percentage points (a gap near zero has no useful relative error).
``--n`` overrides the family's sample size (a gap needs 50 respondents in each group).

A benchmark script, not a test: it takes two minutes or so on an idle machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis import geography, measures, schemas, survey  # noqa: E402
from analysis.sae import boroughs, covariates  # noqa: E402
from analysis.sae import data as sae_data  # noqa: E402
from analysis.sdc import DisclosureRules  # noqa: E402
from analysis.sources import demo  # noqa: E402
from analysis.sources.demo.answers import calibrated_answers  # noqa: E402
from analysis.sources.demo.respondents import draw_demographics  # noqa: E402

CLUSTER_SIZE = 150  # people per population cluster


def population(family: str, item: str, period: str, scale: float, seed: int) -> pd.DataFrame:
    """People in clusters in every borough, with their answer to ``item`` (demo's model)."""
    bp = demo.borough_profile()
    rng = np.random.default_rng(seed)
    adults = bp.population * 1000 * bp.adult_share
    size = np.maximum(np.round(adults * scale), CLUSTER_SIZE).astype(int)
    b = np.repeat(np.arange(len(size)), size)
    cluster = np.concatenate([np.arange(s) // CLUSTER_SIZE for s in size])
    _, cluster_idx = np.unique(b * 100_000 + cluster, return_inverse=True)
    groups = draw_demographics(rng, b)
    spec = demo.profile()["items"][item]
    universe = np.ones(b.size, dtype=bool)
    for var, allowed in spec.get("universe", {}).items():
        idx = [schemas.LEVELS[var].index(a) for a in allowed]
        universe &= np.isin(groups[var], idx)
    y = calibrated_answers(
        rng, item, spec, period, np.ones(b.size), groups, b, cluster_idx, universe
    )
    return pd.DataFrame(
        {"b": b, "cluster": cluster_idx, "y": y}
        | {v: groups[v] for v in ("sex", "disability", "ethnic_group")}
    )


def strata(family: str) -> tuple[np.ndarray, int, int, int]:
    """Each borough's stratum as the demo's clustered design groups them, PSUs per stratum, n."""
    spec = demo.profile()["families"][family]
    if spec["design"] != "clustered":
        raise SystemExit(
            f"{family}: the simulation draws clustered designs (ukhls, taking_part, hbai_frs)"
        )
    bp = demo.borough_profile()
    n_b = len(bp.codes)
    order = np.argsort(np.where(bp.inner, 0, 1) * 100 + np.arange(n_b), kind="stable")
    stratum_of = np.empty(n_b, dtype=int)
    stratum_of[order] = np.arange(n_b) * spec["strata"] // n_b
    return stratum_of, spec["strata"], spec["psus_per_stratum"], spec["n"]


def draw(
    pop: pd.DataFrame,
    clusters: pd.DataFrame,
    stratum_of: np.ndarray,
    n_strata: int,
    m: int,
    n: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """One sample: in each stratum m clusters with probability proportional to size (with
    replacement) and the same number of people from each (self-weighting within stratum)."""
    N_h = clusters.groupby("stratum")["size"].sum().to_numpy(dtype=float)
    n_h = np.maximum(np.round(n * N_h / N_h.sum()).astype(int), 2 * m)
    rows, strat, psu, weight = [], [], [], []
    members = pop.groupby("cluster").indices
    for h in range(n_strata):
        c = clusters[clusters["stratum"] == h]
        take = max(1, n_h[h] // m)
        chosen = rng.choice(c.index.to_numpy(), size=m, p=c["size"].to_numpy() / c["size"].sum())
        for j, ci in enumerate(chosen):
            people = members[ci]
            rows.append(rng.choice(people, size=min(take, len(people)), replace=False))
            strat.append(np.full(len(rows[-1]), h))
            psu.append(np.full(len(rows[-1]), h * m + j))
            weight.append(np.full(len(rows[-1]), N_h[h] / (m * take)))
    idx = np.concatenate(rows)
    return {
        "row": idx,
        "stratum": np.concatenate(strat),
        "psu": np.concatenate(psu),
        "weight": np.concatenate(weight),
    }


def _direct(item: str, period: str, res: survey.DomainEstimates) -> boroughs.Direct:
    est, se = res.estimate, res.se
    return boroughs.Direct(
        "sim",
        item,
        period,
        est[1:],
        se[1:] ** 2,
        res.n[1:].astype(float),
        res.weighted_n[1:],
        float(est[0]),
        float(se[0]),
    )


class _Wave:
    """What :func:`analysis.sae.data.gap_directs` reads of a wave, for a simulated sample."""

    def __init__(self, design: survey.Design, y: np.ndarray, codes: dict[str, np.ndarray]):
        self.design, self.y, self._codes = design, y, codes

    def codes(self, var: str) -> tuple[np.ndarray, int]:
        k = len(geography.borough_codes()) if var == "borough" else len(schemas.LEVELS[var])
        return self._codes[var], k

    def item(self, name: str, universe: object) -> np.ndarray:
        return self.y

    def covers(self, y: np.ndarray) -> bool:
        return True

    def has_breakdown(self, var: str) -> bool:
        return True


def _gap_measure(spec: str) -> measures.Measure:
    """A one-series gap measure ``VARIABLE:REFERENCE:COMPARISON`` of the simulated item."""
    var, ref, comp = spec.split(":")
    template = measures.get("employment_gap")
    series = dataclasses.replace(
        template.series[0],
        indicator=f"sim_gap_{var}",
        variable=var,
        reference_group=ref,
        comparison_group=comp,
    )
    return dataclasses.replace(template, id="sim", series=[series], geographies=["borough"])


def _truth_gap(q: pd.DataFrame, var: str, ref: int, comp: int, k: int) -> np.ndarray:
    ok = q["y"].notna()
    a = q[ok & (q[var] == ref)].groupby("b")["y"].mean().reindex(range(k))
    b = q[ok & (q[var] == comp)].groupby("b")["y"].mean().reindex(range(k))
    return (a - b).to_numpy()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--family", default="taking_part")
    parser.add_argument("--item", default="volunteered")
    parser.add_argument("--period", default="2016/17", help="the wave the table describes")
    parser.add_argument(
        "--waves",
        type=int,
        default=5,
        help="waves fitted together, ending with the family's last (default 5, as the demo)",
    )
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument(
        "--scale", type=float, default=0.05, help="population per adult resident (default 0.05)"
    )
    parser.add_argument("--seed", type=int, default=20180316)
    parser.add_argument(
        "--suppress-below",
        type=int,
        default=DisclosureRules().suppress_below,
        help="respondents below which a borough's direct figure is suppressed and its modelled "
        "one predicted out of sample (default: the build's rule)",
    )
    parser.add_argument("--gap", default=None, help="VARIABLE:REFERENCE:COMPARISON (module)")
    parser.add_argument("--n", type=int, default=None, help="sample size (default: the family's)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    gap = _gap_measure(args.gap) if args.gap else None

    periods = demo.family_periods(args.family)[-args.waves :]
    if args.period not in periods:
        periods = [*periods[1:], args.period] if args.waves > 1 else [args.period]
    target = periods.index(args.period)
    rules = DisclosureRules(args.suppress_below, max(args.suppress_below, 100))
    pops = [population(args.family, args.item, p, args.scale, args.seed) for p in periods]
    pop = pops[target]
    stratum_of, n_strata, m, n = strata(args.family)
    n = args.n or n
    clusters = pop.groupby("cluster").agg(b=("b", "first"), size=("b", "size"))
    clusters["stratum"] = stratum_of[clusters["b"]]
    codes = geography.borough_codes()
    k = len(codes)
    if gap is not None:
        s0 = gap.series[0]
        levels = schemas.LEVELS[str(s0.variable)]
        ref, comp = levels.index(str(s0.reference_group)), levels.index(str(s0.comparison_group))
        truths = [_truth_gap(q, str(s0.variable), ref, comp, k) for q in pops]
    else:
        truths = [
            np.array([q.loc[(q["b"] == i) & q["y"].notna(), "y"].mean() for i in range(k)])
            for q in pops
        ]
    truth = truths[target]
    cov = covariates.demo()
    rng = np.random.default_rng(args.seed + 1)
    b_pop = pop["b"].to_numpy()
    ys = [q["y"].to_numpy() for q in pops]

    direct = np.full((args.samples, k), np.nan)
    direct_cover = np.full((args.samples, k), np.nan)
    modelled = np.full((args.samples, k), np.nan)
    cover = np.full((args.samples, k), np.nan)
    cover_all = []  # every wave's coverage, for the average over waves
    cover_change, cover_naive = [], []  # modelled changes: on their MSE, and on mse_t + mse_s
    resp = np.zeros((args.samples, k))
    failed = 0
    for s in range(args.samples):
        items, results = [], []
        for w, period in enumerate(periods):
            smp = draw(pop, clusters, stratum_of, n_strata, m, n, rng)
            design = survey.Design.from_codes(
                smp["weight"], smp["stratum"], smp["psu"], source="simulation"
            )
            if gap is not None:
                rows = smp["row"]
                codes_w = {
                    "borough": b_pop[rows],
                    **{
                        v: pops[w][v].to_numpy()[rows]
                        for v in ("sex", "disability", "ethnic_group")
                    },
                }
                wave = _Wave(design, ys[w][rows], codes_w)
                items += sae_data.gap_directs(gap, {period: wave})
                continue
            res = survey.domain_means(design, ys[w][smp["row"]], [(b_pop[smp["row"]], k)])
            items.append(_direct(args.item, period, res))
            results.append(res)
        if gap is not None:  # the gap's direct estimate: a Wald interval on its design SE
            d = items[target]
            resp[s] = d.n
            have = np.isfinite(d.estimate)
            half = survey.Z95 * np.sqrt(d.variance)
            direct[s, have] = d.estimate[have]
            direct_cover[s, have] = (np.abs(d.estimate - truth) <= half)[have]
        else:
            res = results[target]
            lo, hi = survey.logit_ci(res.estimate, res.se, res.df, n=res.n)
            resp[s] = res.n[1:]
            have = res.n[1:] > 0
            direct[s, have] = res.estimate[1:][have]
            direct_cover[s, have] = (lo[1:][have] <= truth[have]) & (truth[have] <= hi[1:][have])
        models, lost = boroughs.fit_indicator(items, cov, rules)
        by_period = {mdl.direct.period: mdl.table for mdl in models}
        if args.period not in by_period:
            failed += 1
            continue
        for w, period in enumerate(periods):
            if period in by_period:
                t = by_period[period]
                cover_all.append(
                    (t["lower_ci"].to_numpy() / 100 <= truths[w])
                    & (truths[w] <= t["upper_ci"].to_numpy() / 100)
                )
            if w and period in by_period and periods[w - 1] in by_period:
                t, before = by_period[period], by_period[periods[w - 1]]
                true_change = 100 * (truths[w] - truths[w - 1])
                miss = np.abs(t["change_since_previous"].to_numpy() - true_change)
                cover_change.append(miss <= survey.Z95 * np.sqrt(t["change_mse"].to_numpy()))
                naive = np.sqrt(t["mse"].to_numpy() + before["mse"].to_numpy())
                cover_naive.append(miss <= survey.Z95 * naive)
        t = by_period[args.period]
        modelled[s] = t["eblup"].to_numpy() / 100
        cover[s] = (t["lower_ci"].to_numpy() / 100 <= truth) & (
            truth <= t["upper_ci"].to_numpy() / 100
        )

    def rrmse(e: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():  # a borough never sampled has no direct estimate: NaN
            warnings.filterwarnings("ignore", message="Mean of empty slice")
            rmse = np.sqrt(np.nanmean((e - truth) ** 2, axis=0))
            return 100 * rmse if gap is not None else rmse / truth  # a gap: RMSE in points

    def mean(x: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Mean of empty slice")
            return np.nanmean(x, axis=0)

    # like for like: the modelled estimate over the samples in which the direct one exists
    paired = np.where(np.isfinite(direct), modelled, np.nan)
    table = pd.DataFrame(
        {
            "borough": [geography.name_of(c) for c in codes],
            "respondents": resp.mean(axis=0).round(1),
            "samples_with_direct": np.isfinite(direct).sum(axis=0),
            "truth_pct": (100 * truth).round(1),
            "rrmse_direct": rrmse(direct).round(3),
            "rrmse_modelled": rrmse(modelled).round(3),
            "rrmse_modelled_paired": rrmse(paired).round(3),
            "coverage_modelled": mean(cover).round(3),
            "coverage_direct": mean(direct_cover).round(3),
        }
    )
    small = table["respondents"] < 100
    better = (table["rrmse_modelled_paired"] < table["rrmse_direct"])[small]
    pd.set_option("display.width", 200)
    print(table.to_string(index=False))
    if gap is not None:
        print("(a gap: truth_pct is the gap in points, rrmse_* the RMSE in points)")
    print(
        f"\n{args.family}/{args.item}{' gap ' + args.gap if args.gap else ''} {args.period} ({len(periods)} waves fitted together, "
        f"suppressed below {args.suppress_below}): {args.samples} samples ({failed} with no model), "
        f"population {len(pop):,}, {time.perf_counter() - start:.0f} s"
    )
    print(
        f"mean {'RMSE (points)' if gap is not None else 'RRMSE'} direct {table['rrmse_direct'].mean():.3f}, "
        f"modelled {table['rrmse_modelled'].mean():.3f}; "
        f"modelled below direct (same samples) in {int(better.sum())} of {int(small.sum())} boroughs "
        f"with < 100 respondents"
        + (
            f": not in {', '.join(table.loc[small & ~(table['rrmse_modelled_paired'] < table['rrmse_direct']), 'borough'])}"
            if (~better).any()
            else ""
        )
    )
    print(
        f"average coverage of 95% intervals: modelled {np.nanmean(cover):.3f} "
        f"(all {len(periods)} waves {np.mean(cover_all):.3f}), direct {np.nanmean(direct_cover):.3f}"
    )
    if cover_change:
        print(
            f"modelled changes since the previous wave: coverage of 95% intervals on the MSE of "
            f"the change {np.mean(cover_change):.3f}, on mse_t + mse_s {np.mean(cover_naive):.3f}"
        )
    return 0


if __name__ == "__main__":
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):  # small matrices: threads only spin
        raise SystemExit(main())
