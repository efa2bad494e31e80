"""Benchmark: the full report build against a naive loop, in the same run.

The build (``run_all.py``) computes the estimates once and runs the notebooks in worker
processes with warm kernels, converting in-process. The naive loop does what a first script
would: for each report, the papermill command line, then the nbconvert command line (HTML,
code hidden), then a PDF from that HTML with the WeasyPrint command line, one after another.

Prints wall time, the ratio, the no-op rebuild time and the peak memory of the whole build
(the build process and all its children), and for each build the CPU time of its whole
process tree and the CPU time the hypervisor stole from the machine meanwhile.

    python benchmarks/bench_build.py [--repeat N] [--naive-sample N]

``--naive-sample N`` times the naive loop on N reports spread over the kinds and scales it
to the full set (the full naive loop takes several minutes). ``--repeat N`` times N full
builds, each into a fresh folder, and reports the median (and the best and worst): on a
machine whose speed varies from minute to minute one run says little.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis import build  # noqa: E402


def tree_rss_mb(root: int) -> float:
    """Resident memory of a process and all its descendants (Linux /proc), in MB."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            rss[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[21]) * os.sysconf(
                "SC_PAGE_SIZE"
            )
        except (OSError, ValueError, IndexError):
            continue
    family, frontier = {root}, [root]
    while frontier:
        kids = [p for p, pp in parents.items() if pp in frontier and p not in family]
        family.update(kids)
        frontier = kids
    return sum(rss.get(p, 0) for p in family) / 2**20


def stolen_seconds() -> float:
    """CPU time the hypervisor has taken from this machine's virtual CPUs so far, in seconds
    summed over CPUs (Linux /proc/stat "steal"; 0 where not reported)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK") if len(fields) > 8 else 0.0
    except (OSError, ValueError):
        return 0.0


def children_cpu_seconds() -> float:
    """User and system CPU of every finished child process (and theirs) so far."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def adopt_orphans() -> bool:
    """Make this process the one that collects its descendants when their parent ends first
    (Linux's child subreaper); whether it could.

    The build's workers are forked from its fork server, which outlives the build by a moment:
    adopted here, it and the workers it collected are counted in this process's children's
    CPU time once ``reap_orphans`` has waited for it.
    """
    try:
        import ctypes

        pr_set_child_subreaper = 36
        return ctypes.CDLL(None, use_errno=True).prctl(pr_set_child_subreaper, 1) == 0
    except (OSError, AttributeError):
        return False


def reap_orphans() -> None:
    """Wait for every descendant this process adopted (see ``adopt_orphans``) to end."""
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def run_sampled(cmd: list[str], **kw) -> tuple[float, float, float, float]:
    """Run a command, sampling the memory of its whole process tree.

    Returns (seconds, peak MB, CPU seconds of the whole tree, seconds stolen by the
    hypervisor meanwhile). On a shared virtual machine the last two tell a slow run caused
    by more work from one caused by a busy host.
    """
    cpu0, stolen0 = children_cpu_seconds(), stolen_seconds()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, tree_rss_mb(proc.pid))
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed")
    reap_orphans()  # the fork server and its workers: their CPU time counts too
    return (
        seconds,
        peak,
        children_cpu_seconds() - cpu0,
        stolen_seconds() - stolen0,
    )


def run(cmd: list[str], **kw) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    return time.perf_counter() - start


def naive(jobs: list[build.Job], out: Path) -> float:
    """papermill CLI -> nbconvert CLI -> WeasyPrint CLI, one report at a time."""
    bin_dir = Path(sys.executable).parent
    total = 0.0
    for job in jobs:
        executed = out / f"{job.output}.ipynb"
        executed.parent.mkdir(parents=True, exist_ok=True)
        params = [a for k, v in job.parameters.items() if v is not None for a in ("-p", k, str(v))]
        total += run(
            [
                str(bin_dir / "papermill"),
                str(job.path),
                str(executed),
                *params,
                "--cwd",
                str(job.path.parent),
                "--no-progress-bar",
            ]
        )
        total += run(
            [str(bin_dir / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(executed)]
        )
        total += run(
            [
                str(bin_dir / "weasyprint"),
                str(executed.with_suffix(".html")),
                str(out / f"{job.output}.pdf"),
            ]
        )
    return total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--naive-sample", type=int, default=0, help="time the naive loop on N reports and scale up"
    )
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="full builds to time, each into a fresh folder (a noisy machine needs several)",
    )
    args = parser.parse_args()
    adopt_orphans()
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        times, peaks = [], []
        for i in range(max(1, args.repeat)):
            out = tmp / ("fast" if i == 0 else f"fast{i}")
            seconds, peak, cpu, stolen = run_sampled(
                [
                    sys.executable,
                    str(ROOT / "run_all.py"),
                    "--out",
                    str(out),
                    "--no-progress",
                    *(["--jobs", str(args.jobs)] if args.jobs else []),
                ],
                cwd=ROOT,
            )
            estimates = json.loads((out / "manifest.json").read_text())["timings"][
                "estimates_seconds"
            ]
            print(
                f"full build {i + 1}: {seconds:.1f} s (estimates {estimates:.1f} s), {cpu:.0f} s of CPU, "
                f"{stolen:.1f} s stolen by the host, peak memory {peak:.0f} MB",
                flush=True,
            )
            times.append(seconds)
            peaks.append(peak)
        fast, peak_mb = statistics.median(times), max(peaks)
        manifest = json.loads((tmp / "fast" / "manifest.json").read_text())
        n = len(manifest["reports"])
        noop = run(
            [sys.executable, str(ROOT / "run_all.py"), "--out", str(tmp / "fast"), "--no-progress"],
            cwd=ROOT,
        )
        print(
            f"build: {n} reports in {fast:.1f} s (median of {len(times)}; best {min(times):.1f} s, worst "
            f"{max(times):.1f} s), no-op rebuild {noop:.2f} s, peak memory of the whole build {peak_mb:.0f} MB "
            f"(targets: < 60 s, < 2 s, whole build < 4 GB)",
            flush=True,
        )
        jobs = build.plan(tmp / "fast" / "data")
        if args.naive_sample:
            step = max(1, len(jobs) // args.naive_sample)
            sample = jobs[::step][: args.naive_sample]
            t = naive(sample, tmp / "naive")
            estimate = t / len(sample) * len(jobs)
            print(
                f"naive loop: {len(sample)} reports in {t:.1f} s -> about {estimate:.0f} s for all {len(jobs)} "
                f"(scaled; the naive loop also needs the estimates, not counted)"
            )
        else:
            estimate = naive(jobs, tmp / "naive")
            print(f"naive loop: {len(jobs)} reports in {estimate:.1f} s (estimates not counted)")
        print(f"ratio (naive / median build): {estimate / fast:.1f}x (target at least 5x)")


if __name__ == "__main__":
    main()
