"""The build's driver: the data step once, then every chosen report whose key changed, in
worker processes, then the index and the manifest (see :mod:`analysis.build`)."""

from __future__ import annotations

import concurrent.futures as futures
import contextlib
import functools
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from analysis import pages
from analysis.build import datastep, index, keys, manifest, render, workers
from analysis.build.boundaries import boundaries_hash, check_boundaries
from analysis.build.config import BuildConfig
from analysis.build.planning import Job, JobResult, balanced, plan, select
from analysis.outputs import file_sha256, remove_stale_temporaries


@dataclass
class BuildResult:
    """What a build did: a result per chosen report, the manifest written, the seconds taken."""

    results: list[JobResult]
    manifest: dict[str, Any]
    seconds: float

    @property
    def failures(self) -> list[JobResult]:
        return [r for r in self.results if r.status == "failed"]


def build(config: BuildConfig | str | Path = "reports", /, **options: Any) -> BuildResult:
    """Build the reports a :class:`BuildConfig` asks for (see :mod:`analysis.build`).

    ``build(config)`` is the call; ``build(out_dir, only=[...], ...)`` is a shortcut for
    ``build(BuildConfig(out=out_dir, only=[...], ...))``, and options given beside a config
    replace its fields.
    """
    if not isinstance(config, BuildConfig):
        config = BuildConfig(out=Path(config), **options)
    elif options:
        config = config.replace(**options)
    return _build(config)


def _build(config: BuildConfig) -> BuildResult:
    start = time.perf_counter()
    out = config.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    # half-written files of a build that was killed outright (its processes are gone)
    remove_stale_temporaries(out)
    manifest_path = out / "manifest.json"
    old = manifest.read(manifest_path)
    lib = keys.library_version()
    workers_wanted = config.workers
    inputs_factory = config.inputs_factory
    if inputs_factory is None:
        from analysis import pipeline

        # the demo's largest survey is generated beside the others
        inputs_factory = functools.partial(pipeline.demo_inputs, processes=workers_wanted)
    # the maps' file, by content: editing it rebuilds the reports that draw it (checked first,
    # so a wrong path stops the build before any work)
    boundary_key = boundaries_hash(config.boundaries) if config.boundaries else None
    if config.boundaries:  # read once here: a file the maps cannot use stops the build now
        check_boundaries(config.boundaries)
    pages.site_context(None, config.publication_date)  # likewise a malformed --publication-date
    # the reports' titles come from the estimates (a proxy measure's says so): planned again
    # once they are computed; this plan chooses the reports and sizes the pool
    all_jobs = plan(
        out / "data", config.boundaries, config.synthetic_analyses, config.notebooks, titles=False
    )
    chosen = select(all_jobs, config.only)
    pool = None
    pool_size = 0  # the workers to start when the estimates are written (0: none)
    if config.force or not datastep.estimates_current(out, config.key + lib, old):
        # new estimates mean the chosen reports and the spreadsheet are rebuilt: the workers'
        # imports are made on the other core while this process computes, by the fork server
        # they will be forked from once the estimates are written, or else by the workers
        # themselves, started now
        pool_size = min(workers_wanted, len(chosen) + 1)
        if not workers.prepare():
            pool = workers.start_pool(pool_size)
    early: list[futures.Future[float]] = []

    def start_workbook(synthetic: bool) -> None:
        """The spreadsheet needs only ``estimates.csv``: a worker writes it while this process
        writes the other tables (a core is otherwise idle then)."""
        nonlocal pool
        if pool_size == 0:
            return
        if pool is None:
            pool = workers.start_pool(pool_size)
        published = pages.site_context(synthetic, config.publication_date)["published"]
        # a pool already broken: the spreadsheet is written later, beside the reports
        with contextlib.suppress(BrokenProcessPool):
            early.append(
                pool.submit(datastep.write_workbook, str(out / "data"), synthetic, published)
            )

    try:
        estimates_info, est_seconds, workbook_due = datastep.estimates_step(
            out,
            inputs_factory,
            config.key + lib,
            old,
            config.force,
            processes=workers_wanted,
            estimates_written=start_workbook,
        )
    except BaseException:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        raise
    all_jobs = plan(out / "data", config.boundaries, config.synthetic_analyses, config.notebooks)
    chosen = select(all_jobs, config.only)
    report_inputs: dict[str, Any] = {
        k: v for k, v in estimates_info["files"].items() if k.endswith(".csv")
    }
    if boundary_key:
        report_inputs["boundaries"] = boundary_key
    # every page shows the publication's metadata: another date or status rebuilds them
    site = pages.site_context(estimates_info.get("synthetic"), config.publication_date)
    report_inputs["site"] = site
    data_key = keys.data_key(report_inputs)
    # every report's key for this build: the chosen ones are compared with the manifest, and the
    # index marks any other report left by an earlier build with another key as out of date
    current = {job.output: keys.job_key(job, data_key, lib) for job in all_jobs}

    previous = {r["output"]: r for r in old.get("reports", [])}
    results: dict[str, JobResult] = {}
    pending = []
    for job in chosen:
        key = current[job.output]
        if not config.force and _still_good(out, job, key, previous.get(job.output)):
            results[job.output] = JobResult(job.output, "unchanged", key)
        else:
            pending.append((job, key))

    if pending or workbook_due:
        if pool is None:
            pool = workers.start_pool(
                max(1, min(workers_wanted, len(pending) + int(workbook_due))), warm=False
            )
        _run_reports(
            pool,
            pending,
            results,
            out,
            site,
            estimates_info,
            workbook_due,
            config,
            old,
            early[0] if early else None,
        )
    elif pool is not None:
        pool.shutdown()
    if workbook_due:
        for name in ("estimates.xlsx", "estimates.parquet"):
            estimates_info["files"][name] = file_sha256(out / "data" / name)

    # reports not selected this time keep their previous manifest entries
    merged = {**previous, **{k: asdict(v) for k, v in results.items()}}
    for k, v in merged.items():
        if (
            v.get("status") == "failed"
            and k in previous
            and previous[k].get("status") in ("built", "unchanged")
        ):
            v["last_good_key"] = previous[k].get("key")
    index.write_index(out, all_jobs, merged, estimates_info, current, site=site)
    written = manifest.compose(
        config,
        library=lib,
        estimates_info=estimates_info,
        site=site,
        reports=[merged[k] for k in sorted(merged)],
        timings={
            "estimates_seconds": est_seconds,
            "total_seconds": time.perf_counter() - start,
        },
        pdf_font_subsetter=render.pdf_font_subsetter(),
    )
    manifest.write(manifest_path, written)
    return BuildResult(list(results.values()), written, time.perf_counter() - start)


def _still_good(out: Path, job: Job, key: str, prev: dict[str, Any] | None) -> bool:
    """Whether the report's HTML and PDF there were built, with this key, by an earlier build."""
    return (
        prev is not None
        and prev.get("key") == key
        and prev.get("status") in ("built", "unchanged")
        and (out / f"{job.output}.html").exists()
        and (out / f"{job.output}.pdf").exists()
    )


def _run_reports(
    pool: futures.ProcessPoolExecutor,
    pending: list[tuple[Job, str]],
    results: dict[str, JobResult],
    out: Path,
    site: dict[str, Any],
    estimates_info: dict[str, Any],
    workbook_due: bool,
    config: BuildConfig,
    previous_manifest: dict[str, Any],
    workbook_future: futures.Future[float] | None = None,
) -> None:
    """The pending reports (and the spreadsheet, when due and not already started as
    ``workbook_future``) on the pool; results by output."""
    bar = _progress(len(pending), config.progress)
    synthetic = bool(estimates_info.get("synthetic"))
    data_dir = str(out / "data")
    with pool:
        if workbook_due and workbook_future is None:
            try:  # the spreadsheet is written by a worker while the notebooks run
                workbook_future = pool.submit(
                    datastep.write_workbook, data_dir, synthetic, site["published"]
                )
            except BrokenProcessPool:  # no worker could start (see the reports' errors)
                datastep.write_workbook(data_dir, synthetic, site["published"])
        submitted = {}
        # the reports each took in the previous build, to hand out the longest first
        timed = {r["output"]: r.get("seconds") or 0.0 for r in previous_manifest.get("reports", [])}
        for job, key in balanced(pending, timed):
            try:
                submitted[pool.submit(workers.run_job, job, str(out), key, site)] = job
            except BrokenProcessPool as err:  # e.g. a worker could not start
                results[job.output] = JobResult(
                    job.output, "failed", key, error=f"worker failed to start: {err}"
                )
        keys = {job.output: key for job, key in pending}
        broken: list[tuple[Job, str]] = []
        for fut in futures.as_completed(submitted):
            job = submitted[fut]
            try:
                res = fut.result()
            except BrokenProcessPool:  # a worker died: this report and any beside it are re-run
                broken.append((job, keys[job.output]))
                continue
            except Exception as err:  # e.g. a result that could not be sent back
                res = JobResult(job.output, "failed", "", error=str(err))
            _record(res, results, bar)
        for res in results.values():
            if res.status == "failed" and (res.error or "").startswith("worker failed to start"):
                bar.write(f"FAILED {res.output}: {res.error}")
        if workbook_future is not None:
            try:
                workbook_future.result()  # an error in it is a build error, not a report failure
            except BrokenProcessPool:  # its worker died or never started: write it here
                datastep.write_workbook(data_dir, synthetic, site["published"])
    if broken:
        _one_by_one(broken, results, out, site, bar)
    bar.close()


# why a report failed whose worker process ended while running it, twice
WORKER_DIED = (
    "its worker process ended abruptly while running this report, also when the report was "
    "run again alone (a crash in a library's native code, or the machine ran out of memory)"
)


def _one_by_one(
    broken: list[tuple[Job, str]],
    results: dict[str, JobResult],
    out: Path,
    site: dict[str, Any],
    bar: Any,
) -> None:
    """Run again, one at a time in a worker of their own, the reports that were running or
    waiting when a worker process died (a notebook crashed the interpreter, or the memory
    killer ended it).

    The notebooks run in the workers' own processes, so a crash ends the pool and every report
    not yet done. Run alone, a report that kills its worker again is the cause and fails by
    itself; the others build, as they would have in a build without it.
    """
    pool = None
    for job, key in broken:
        try:
            if pool is None:
                pool = workers.start_pool(1)
            res = pool.submit(workers.run_job, job, str(out), key, site).result()
        except BrokenProcessPool:
            if pool is not None:
                pool.shutdown(wait=True)
            pool = None
            res = JobResult(job.output, "failed", key, error=WORKER_DIED)
        _record(res, results, bar)
    if pool is not None:
        pool.shutdown()


def _record(res: JobResult, results: dict[str, JobResult], bar: Any) -> None:
    results[res.output] = res
    bar.update(1)
    if res.status == "failed":
        bar.write(f"FAILED {res.output}: cell {res.cell}: {res.error}")


class _NoBar:
    def update(self, n: int) -> None: ...

    def write(self, s: str) -> None:
        print(s, file=sys.stderr)

    def close(self) -> None: ...


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc="reports", unit="report", file=sys.stderr)
