"""The worker processes: each runs notebooks in its own IPython shell (:mod:`analysis.build.execution`) and turns one
report after another into HTML and PDF (:func:`run_job`).

A failing report returns a failed :class:`JobResult` and never stops the others; a worker
ends with the build's process however that ends.
"""

from __future__ import annotations

import concurrent.futures as futures
import os
import sys
import time
import traceback
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from analysis import pages
from analysis.build import execution, render
from analysis.build.planning import Job, JobResult
from analysis.outputs import atomic_write

__all__ = ["BrokenProcessPool", "GC_THRESHOLDS", "run_job", "start_pool"]


def run_job(job: Job, out_dir: str, key: str, site: dict[str, Any] | None = None) -> JobResult:
    """Execute one notebook and write its HTML and PDF (in a worker process)."""
    start = time.perf_counter()
    timings: dict[str, float] = {}
    out = Path(out_dir)
    try:
        t = time.perf_counter()
        executed = execution.execute(job.path, job.parameters)
        timings["execute"] = time.perf_counter() - t
        t = time.perf_counter()
        page = render.render_report(job.title, render.notebook_html(executed), job.output, site)
        timings["html"] = time.perf_counter() - t
        # the PDF first: if WeasyPrint fails, neither file is replaced, so the last good HTML
        # and PDF stay together as a pair
        t = time.perf_counter()
        html_path = out / f"{job.output}.html"
        atomic_write(out / f"{job.output}.pdf", lambda p: render.write_pdf(page, p, html_path))
        timings["pdf"] = time.perf_counter() - t
        atomic_write(html_path, lambda p: Path(p).write_text(page, encoding="utf-8"))
        return JobResult(job.output, "built", key, time.perf_counter() - start, timings=timings)
    except Exception as err:  # a failing report must not stop the others
        cell, message = describe_failure(err, job.path)
        return JobResult(
            job.output,
            "failed",
            key,
            time.perf_counter() - start,
            error=message,
            cell=cell,
            timings=timings,
        )


def describe_failure(err: Exception, notebook: Path) -> tuple[int | None, str]:
    """(cell number in the notebook file, counting from 1; error text)."""
    from papermill.exceptions import PapermillExecutionError

    if isinstance(err, PapermillExecutionError):
        import nbformat

        cells = nbformat.read(notebook, as_version=4).cells
        matches = [i + 1 for i, c in enumerate(cells) if c.source == err.source]
        return (matches[0] if matches else None), f"{err.ename}: {err.evalue}"
    return None, "".join(traceback.format_exception_only(type(err), err)).strip()


def start_pool(workers: int, warm: bool = True) -> futures.ProcessPoolExecutor:
    """Worker processes, each with its imports and IPython shell ready (see ``worker_init``).

    With ``warm`` the workers are started now (the executor otherwise starts them at the first
    submitted job), so their start-up overlaps whatever the caller does next.
    """
    pool = futures.ProcessPoolExecutor(
        max_workers=workers, initializer=_worker_start, initargs=(os.getpid(),)
    )
    if warm:
        for _ in range(workers):
            try:
                pool.submit(_ready)
            except BrokenProcessPool:
                # a worker whose start-up failed has already broken the pool; the caller's
                # submissions meet the same error and fail their reports with its reason
                break
    return pool


def _worker_start(build_pid: int) -> None:
    """A worker's first act: tie its life to the build's process, then ``worker_init``."""
    _die_with_parent(build_pid)
    worker_init()


def _die_with_parent(build_pid: int) -> None:
    """End this worker when the build's process ends, however it ends (Linux).

    A build killed outright (SIGKILL) would otherwise leave its workers finishing their reports
    and writing into the output folder while the next build runs.
    """
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the workers end when they next look for work
        return
    try:  # the build may have ended before the request above took effect
        os.kill(build_pid, 0)
    except ProcessLookupError:
        os._exit(1)


def _ready() -> None:
    """A no-op job: submitting one per worker makes the pool start them."""


# the garbage collector's thresholds in the build's workers (CPython's default is
# 700, 10, 10): the first generation is collected after 20,000 allocations instead of 700
GC_THRESHOLDS = (20_000, 20, 20)


def worker_init() -> None:
    """Import what every report needs and make the shell the notebooks run in, once."""
    # the charts draw on Matplotlib's Agg canvas; a notebook that uses pyplot gets no window
    os.environ["MPLBACKEND"] = "Agg"
    os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    # nbformat's jsonschema would import rfc3987_syntax, which compiles an IRI grammar for about
    # a second; the notebook schema has no "format" checks, so the worker goes without it
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    import papermill  # noqa: F401  (warm imports: paid once per worker, not per report)
    import weasyprint  # noqa: F401

    render.html_exporter()  # loads nbconvert and its templates
    pages._page_template()
    execution.shell()
    # mapclassify too: it brings scipy.stats and scikit-learn (about 2.5 s), which the first
    # map would otherwise import while a report waits
    # gc.freeze: the imported libraries' objects live for the whole build, so the collector
    # need not walk them again on every collection while the notebooks run; and collections
    # less often (charts and page layouts allocate hundreds of thousands of short-lived
    # objects), which made drawing and PDF layout about a tenth faster for a little memory
    import gc

    import geopandas  # noqa: F401
    import mapclassify  # noqa: F401

    import analysis.charts  # noqa: F401
    import analysis.report  # noqa: F401

    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
