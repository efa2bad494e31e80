"""Benchmark: every survey measure and breakdown on a 1,000,000-respondent demo survey.

The survey is one synthetic sample carrying every survey item (five waves of 200,000
respondents, stratified by borough and clustered), so every survey measure of the registry,
every population-group breakdown, Inner/Outer London, the 33 boroughs, the employment gaps
and the pooled-wave borough gaps are all estimated.

In the same run, the like-for-like part of that work (every proportion measure: London,
groups, Inner/Outer and boroughs, each with its interval and test against London) is also
done by a plain pandas baseline that estimates one domain at a time with ``groupby``, the
way the calculation is usually written by hand. Each side runs in its own process so its
peak memory can be measured; the script prints times, the ratio, peak memory and the largest
difference between the two sides' numbers.

    python benchmarks/bench_estimates.py [--respondents 1000000] [--waves 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis import geography, measures, pipeline, schemas, survey  # noqa: E402
from analysis.sources import demo  # noqa: E402

FAMILY = "omnibus"


def make_survey(respondents: int, waves: int, path: Path) -> None:
    """Write the benchmark survey (all items, ``waves`` waves) to Parquet."""
    items = tuple(i for family in schemas.survey_items().values() for i in family)
    periods = demo.family_periods("pas")[:waves]
    frames = [demo.survey_wave("pas", p, n=respondents // waves, items=items) for p in periods]
    pd.concat(frames, ignore_index=True).to_parquet(path, index=False)


def survey_registry(proportions_only: bool) -> list[measures.Measure]:
    """Every survey measure, pointed at the one benchmark survey."""
    out = []
    for m in measures.registry():
        if m.is_survey and (m.kind == "survey_proportion" or not proportions_only):
            out.append(dataclasses.replace(m, source_family=FAMILY))
    return out


def run_library(frame: pd.DataFrame, proportions_only: bool) -> pd.DataFrame:
    # the survey comes from the library's own generator, so schema validation (timed separately
    # in the full run) is not repeated inside the estimation timing
    inputs = pipeline.Inputs(surveys={FAMILY: frame}, synthetic=True, validated=True)
    return pipeline.compute(inputs, survey_registry(proportions_only)).detail


def _naive_variance(wave: pd.DataFrame, z: np.ndarray) -> float:
    """Stratified with-replacement variance of a total, written with pandas groupby."""
    t = pd.DataFrame({"stratum": wave["stratum"].to_numpy(), "psu": wave["psu"].to_numpy(), "z": z})
    t = t.groupby(["stratum", "psu"], sort=False)["z"].sum().reset_index()
    n_h = t.groupby("stratum")["z"].transform("size")
    mean_h = t.groupby("stratum")["z"].transform("mean")
    return float((n_h / (n_h - 1) * (t["z"] - mean_h) ** 2).sum())


def run_baseline(frame: pd.DataFrame) -> pd.DataFrame:
    """One domain at a time: subset mask, weighted mean, linearised values, groupby variance."""
    rows = []
    inner = set(geography.boroughs().query("inner_outer == 'Inner'")["code"])
    for m in survey_registry(proportions_only=True):
        for s in m.series:
            for period, wave in frame.groupby("period", sort=True):
                wave = wave.reset_index(drop=True)
                design_df = len(wave.groupby(["stratum", "psu"])) - wave["stratum"].nunique()
                y = wave[s.item]
                if m.universe:
                    y = y.where(wave[m.universe["variable"]].isin(m.universe["values"]))
                domains = [("E12000007", "all", "all", pd.Series(True, index=wave.index))]
                for var in m.breakdowns:
                    for level in schemas.LEVELS[var]:
                        domains.append(("E12000007", var, level, wave[var] == level))
                in_inner = wave["borough"].isin(inner)
                domains += [
                    ("E13000001", "all", "all", in_inner),
                    ("E13000002", "all", "all", ~in_inner),
                ]
                if "borough" in m.geographies:
                    for code in geography.borough_codes():
                        domains.append((code, "all", "all", wave["borough"] == code))
                z_all = None
                for area, breakdown, group, mask in domains:
                    inside = mask & y.notna()
                    w = wave["weight"].where(inside, 0.0)
                    total_w = w.sum()
                    p = (w * y.fillna(0)).sum() / total_w
                    z = (w * (y.fillna(0) - p) / total_w).to_numpy()
                    se = np.sqrt(_naive_variance(wave, z))
                    # the domain's degrees of freedom: PSUs with members minus strata with members
                    members = wave[mask.to_numpy()]
                    domain_df = max(
                        len(members.groupby(["stratum", "psu"])) - members["stratum"].nunique(), 1
                    )
                    df = design_df if area == "E12000007" and breakdown == "all" else domain_df
                    lo, hi = survey.logit_ci(p, se, df, n=int(inside.sum()))
                    if z_all is None:
                        z_all, p_all, p_value = z, p, np.nan
                    else:
                        diff_se = np.sqrt(_naive_variance(wave, z - z_all))
                        p_value = float(survey.t_test_p(p - p_all, diff_se, df))
                    rows.append(
                        {
                            "indicator": s.indicator,
                            "period": period,
                            "area_code": area,
                            "breakdown": breakdown,
                            "group": group,
                            "value": 100 * p,
                            "se": 100 * se,
                            "lower_ci": 100 * float(lo),
                            "upper_ci": 100 * float(hi),
                            "p_vs_london": p_value,
                        }
                    )
    return pd.DataFrame(rows)


def child(mode: str, data: Path, out: Path) -> None:
    """Run one side in this process and report its time."""
    frame = pd.read_parquet(data)
    start = time.perf_counter()
    if mode == "library-full":
        result = run_library(frame, proportions_only=False)
    elif mode == "validation":
        from analysis import validate

        items = tuple(i for family in schemas.survey_items().values() for i in family)
        validate.validate(frame, schemas.survey_schema("pas", items), source="benchmark survey")
        result = pd.DataFrame({"rows": [len(frame)]})
    elif mode == "library":
        result = run_library(frame, proportions_only=True)
    else:
        result = run_baseline(frame)
    seconds = time.perf_counter() - start
    result.to_parquet(out, index=False)
    print(json.dumps({"seconds": seconds, "rows": len(result)}))


def run_child(mode: str, data: Path, out: Path) -> dict:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", mode, str(data), str(out)],
        stdout=subprocess.PIPE,
        text=True,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{mode} failed")
    report = json.loads(proc.stdout.read().strip().splitlines()[-1])
    report["peak_mb"] = usage.ru_maxrss / 1024  # Linux reports kilobytes
    return report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--respondents", type=int, default=1_000_000)
    parser.add_argument("--waves", type=int, default=5)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child[0:1], Path(args.child[1]), Path(args.child[2]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = tmp / "survey.parquet"
        t0 = time.perf_counter()
        make_survey(args.respondents, args.waves, data)
        n = len(pd.read_parquet(data, columns=["weight"]))
        print(
            f"benchmark survey: {n:,} respondents in {args.waves} waves "
            f"(generated in {time.perf_counter() - t0:.0f} s, not timed below)"
        )
        full = run_child("library-full", data, tmp / "full.parquet")
        print(
            f"library, every survey measure incl. gaps and pooled boroughs: {full['seconds']:.2f} s, "
            f"{full['rows']:,} estimates, peak memory {full['peak_mb']:.0f} MB (target < 5 s, < 2048 MB)"
        )
        check = run_child("validation", data, tmp / "validation.parquet")
        print(f"schema validation of the same survey: {check['seconds']:.2f} s")
        if args.skip_baseline:
            return
        lib = run_child("library", data, tmp / "lib.parquet")
        base = run_child("baseline", data, tmp / "base.parquet")
        a = pd.read_parquet(tmp / "lib.parquet")
        b = pd.read_parquet(tmp / "base.parquet")
        key = ["indicator", "period", "area_code", "breakdown", "group"]
        joined = a.merge(b, on=key, suffixes=("", "_naive"))
        diffs = {
            c: float(np.nanmax(np.abs(joined[c] - joined[f"{c}_naive"])))
            for c in ("value", "se", "lower_ci", "upper_ci")
        }
        print(f"like-for-like (proportion measures, {len(b):,} estimates):")
        print(f"  library         {lib['seconds']:8.2f} s   peak {lib['peak_mb']:6.0f} MB")
        print(f"  pandas baseline {base['seconds']:8.2f} s   peak {base['peak_mb']:6.0f} MB")
        print(f"  ratio (baseline / library): {base['seconds'] / lib['seconds']:.1f}x")
        print(
            f"  rows matched: {len(joined):,} of {len(b):,}; largest absolute differences: "
            + ", ".join(f"{k} {v:.1e}" for k, v in diffs.items())
        )


if __name__ == "__main__":
    main()
