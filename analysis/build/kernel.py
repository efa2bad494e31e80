"""The warm kernel: one Jupyter kernel per worker process, reused from notebook to notebook.

Starting Python and importing pandas, matplotlib and geopandas costs seconds; a worker pays it
once, not once per report. Between notebooks the kernel's namespace is reset (``RESET_SOURCE``)
so each notebook runs as if in a fresh kernel, while imported modules and their caches stay.
"""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path
from typing import Any

from analysis.build.config import NOTEBOOKS

_KERNEL: Any = None
_CLIENT: Any = None


def warm_kernel() -> tuple[Any, Any]:
    """This worker's Jupyter kernel and a connected client, started once (again if it died).

    The client is kept between notebooks: a new one waits for the kernel to be ready and then
    for 0.2 s of quiet on its output channel, a fixed cost on every report otherwise.
    """
    global _KERNEL, _CLIENT
    from jupyter_client.manager import KernelManager

    if _KERNEL is None or not _KERNEL.is_alive():
        if _CLIENT is not None:
            _CLIENT.stop_channels()
        if _KERNEL is not None:
            _KERNEL.cleanup_resources()  # the dead kernel's connection file and ports
        _KERNEL = KernelManager(kernel_name="python3")
        # the kernel's own log (start-up notices) is not the build's output; cell errors come
        # back through the messaging protocol and are reported per report
        _KERNEL.start_kernel(
            cwd=str(NOTEBOOKS),
            stderr=subprocess.DEVNULL,
            env={**os.environ, "MPLBACKEND": "Agg", "PYDEVD_DISABLE_FILE_VALIDATION": "1"},
        )
        _CLIENT = _KERNEL.client()
        # as nbclient's own clients: input() fails instead of waiting forever
        _CLIENT.allow_stdin = False
        _CLIENT.start_channels()
        _CLIENT.wait_for_ready(timeout=60)
    return _KERNEL, _CLIENT


def shutdown_kernel() -> None:
    """Stop this worker's kernel (the worker is ending)."""
    if _CLIENT is not None:
        _CLIENT.stop_channels()
    if _KERNEL is not None and _KERNEL.is_alive():
        _KERNEL.shutdown_kernel(now=True)


# forget the previous notebook's names and output history and close its figures; cheaper than
# %reset -f or the display hook's flush, which both run a full garbage collection
RESET_SOURCE = (
    "for _name in [n for n in list(globals()) if not n.startswith('_') and n not in ('In', 'Out', 'get_ipython', 'exit', 'quit')]:\n"
    "    del globals()[_name]\n"
    "_shell = get_ipython()\n"
    "for _space in (_shell.user_ns, _shell.user_ns_hidden):  # past outputs: _1, _2, ... in both namespaces\n"
    "    for _name in [n for n in list(_space) if n[:1] == '_' and n[1:].isdigit()]:\n"
    "        del _space[_name]\n"
    "Out.clear()\n"
    "_shell.displayhook._ = _shell.displayhook.__ = _shell.displayhook.___ = ''\n"
    "_shell.push({'_': '', '__': '', '___': ''}, interactive=False)\n"
    "import matplotlib.pyplot as _plt\n"
    "_plt.close('all')"
)


def with_reset(path: Path) -> Any:
    """The notebook with a first cell that forgets the previous notebook's variables, so a
    warm kernel runs it as if fresh (imported modules and their caches stay warm)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    cell = nbformat.v4.new_code_cell(RESET_SOURCE)
    cell.metadata["tags"] = ["researcher"]  # never shown in reports
    nb.cells.insert(0, cell)
    return nb


WARM_ENGINE = "warm-kernel"


def register_engine() -> None:
    """Register with papermill an engine that runs notebooks on this worker's warm kernel.

    It is papermill's nbclient engine, except that the notebook client is handed the kernel
    client kept by ``warm_kernel`` (nbclient only takes a kernel manager and would make a new
    client for every notebook).
    """
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines

    class WarmKernelEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man,
            kernel_name,
            log_output=False,
            stdout_file=None,
            stderr_file=None,
            start_timeout=60,
            execution_timeout=None,
            **kwargs,
        ):
            km, kc = warm_kernel()
            client = PapermillNotebookClient(
                nb_man,
                km=km,
                kernel_name=kernel_name,
                timeout=execution_timeout,
                startup_timeout=start_timeout,
                log=logging.getLogger("papermill"),
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
            )
            client.kc = kc
            return client.execute()

    papermill_engines.register(WARM_ENGINE, WarmKernelEngine)


def execute(path: Path, parameters: dict[str, Any]) -> Any:
    """Run a notebook with papermill on the warm kernel; the executed notebook."""
    import papermill

    register_engine()
    return papermill.execute_notebook(
        with_reset(path),
        None,
        parameters=parameters,
        kernel_name="python3",
        engine_name=WARM_ENGINE,
        progress_bar=False,
        cwd=str(path.parent),
        log_output=False,
    )
