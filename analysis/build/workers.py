"""The worker processes: each runs notebooks in its own IPython shell (:mod:`analysis.build.execution`) and turns one
report after another into HTML and PDF (:func:`run_job`).

A failing report returns a failed :class:`JobResult` and never stops the others; a worker
ends with the build's process however that ends.
"""

from __future__ import annotations

import concurrent.futures as futures
import multiprocessing
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

__all__ = ["BrokenProcessPool", "GC_THRESHOLDS", "prepare", "run_job", "start_pool"]

#: whether the workers are forked from a warm fork server (see ``prepare``) where the platform
#: has one; a test that patches the workers' code in its own process sets it False, so that
#: they are forked from that process and see the patch
FORK_SERVER = True
#: what the fork server imports before it forks any worker: importing it readies a worker
WARM_MODULE = "analysis.build.warm"


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


def _fork_server() -> Any | None:
    """The multiprocessing context whose workers come from the warm fork server (None where
    there is no fork server: the platform's default way of starting processes)."""
    if (
        not FORK_SERVER
        or "forkserver" not in multiprocessing.get_all_start_methods()
        or not _main_can_be_imported()
    ):
        return None
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([WARM_MODULE])
    return context


def _main_can_be_imported() -> bool:
    """Whether the program's main module can be imported again in a worker, which
    multiprocessing does in each process that it does not fork from the program itself.

    True for a module run with ``-m`` (``python -m analysis``), a notebook or interactive
    session (no file), and a script that guards what it runs with
    ``if __name__ == "__main__":`` (``run_all.py`` does). An unguarded script would run again
    in each worker, so its workers are forked from it instead.
    """
    main = sys.modules.get("__main__")
    if main is None or getattr(getattr(main, "__spec__", None), "name", None):
        return True
    path = getattr(main, "__file__", None)
    if path is None:
        return True
    try:
        return "__main__" in Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def prepare() -> bool:
    """Start, now, the process the workers will be forked from; whether there is one.

    It imports and readies what every report needs (``worker_init``, by importing
    :mod:`analysis.build.warm`) once, on another core while the caller computes the
    estimates. Each worker forked from it then starts ready in milliseconds, sharing those
    imports, instead of making them itself: one worker's start-up (about 2.5 s of CPU) less
    per build, at the moment the estimates are being computed. Without a fork server
    (``False``), workers import for themselves when the pool starts them.
    """
    if _fork_server() is None:
        return False
    from multiprocessing import forkserver

    forkserver.ensure_running()  # returns at once: the server imports in its own time
    return True


def start_pool(workers: int, warm: bool = True) -> futures.ProcessPoolExecutor:
    """Worker processes, each with its imports and IPython shell ready (see ``worker_init``),
    forked from the warm fork server where there is one (see ``prepare``).

    With ``warm`` the workers are started now (the executor otherwise starts them at the first
    submitted job), so their start-up overlaps whatever the caller does next.
    """
    pool = futures.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=_fork_server(),
        initializer=_worker_start,
        initargs=(os.getpid(),),
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
    """A worker's first act: tie its life to the build's process, then ``worker_init`` (which
    finds it all done in a worker forked from the warm fork server)."""
    _end_with_build(build_pid)
    worker_init()


def _end_with_build(build_pid: int) -> None:
    """End this worker when the build's process ends, however it ends.

    A build killed outright (SIGKILL) would otherwise leave its workers finishing their reports
    and writing into the output folder while the next build runs. A worker forked by the
    build itself asks Linux to kill it when its parent dies; one forked from the fork server
    (whose parent is the server) watches the build's process instead (``_watch_build``).
    """
    if os.getppid() != build_pid:
        _watch_build(build_pid)
        return
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


def _watch_build(build_pid: int) -> None:
    """End this worker as soon as the build's process ends: a thread waits on a descriptor of
    that process (Linux's pidfd, at no cost while it waits), or where there is none, looks for
    the process five times a second."""
    import select
    import threading

    try:
        handle: int | None = os.pidfd_open(build_pid)
    except (AttributeError, OSError):  # not Linux 5.3 or later, or the build has already ended
        handle = None

    def wait() -> None:
        if handle is not None:
            select.select([handle], [], [])
        else:
            while True:
                try:
                    os.kill(build_pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=wait, name="end-with-the-build", daemon=True).start()


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
