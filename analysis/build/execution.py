"""Notebooks run in the worker's own IPython shell: the same interpreter that a Jupyter kernel
wraps, without the kernel process and its messages.

A Jupyter kernel is a second process per worker that imports the libraries again, and every
cell's request, outputs and reply cross ZeroMQ as signed JSON: about 0.1 s of CPU a report
(measured on a borough page: 0.46 s through a warm kernel against 0.37 s in the worker's
process). Here the worker's IPython shell runs the cells and keeps their outputs as the
kernel would have sent them: rich displays as ``display_data``, a cell's last value as
``execute_result``, printed text as ``stream``. The notebook is parameterised by papermill,
as ``papermill`` on the command line would. Between notebooks the shell forgets the previous
notebook's names (``RESET_SOURCE``), so each runs as if in a fresh kernel while imported
modules and their caches stay warm.

Like a kernel, the shell makes its namespace the process's ``__main__`` module, so that what a
notebook defines can be pickled. A function defined in the build caller's own ``__main__``
can therefore not be sent to a worker; the build only sends functions of the ``analysis``
package.
"""

from __future__ import annotations

import base64
import contextlib
import os
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_SHELL: Any = None

# forget the previous notebook's names and output history; cheaper than %reset -f or the
# display hook's flush, which both run a full garbage collection
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
    "del _shell, _space, _name"
)


class _Outputs:
    """The current cell's outputs, in the order they were made."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def stream(self, name: str, text: str) -> None:
        # consecutive text on one stream is one output, as Jupyter clients merge it
        if self.items and self.items[-1].get("name") == name:
            self.items[-1]["text"] += text
        elif text:
            self.items.append({"output_type": "stream", "name": name, "text": text})

    def rich(self, kind: str, data: dict[str, Any], metadata: Any, **extra: Any) -> None:
        # as the kernel sends them: binary images as base64 text
        encoded = {
            mime: base64.b64encode(v).decode("ascii") if isinstance(v, bytes) else v
            for mime, v in data.items()
        }
        self.items.append(
            {"output_type": kind, "data": encoded, "metadata": dict(metadata or {}), **extra}
        )


_CURRENT = _Outputs()


class _Stream:
    """``sys.stdout`` or ``sys.stderr`` while a cell runs: its text becomes a stream output."""

    encoding = "utf-8"

    def __init__(self, name: str) -> None:
        self.name = name

    def write(self, text: str) -> int:
        _CURRENT.stream(self.name, text)
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def shell() -> Any:
    """This worker's IPython shell, made once: displays and cell values are kept as outputs
    rather than printed, and no history is written to disk."""
    global _SHELL
    if _SHELL is not None:
        return _SHELL
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets import Type
    from traitlets.config import Config

    class Publisher(DisplayPublisher):
        def publish(self, data, metadata=None, source=None, *, transient=None, update=False):
            _CURRENT.rich("display_data", data, metadata)

        def clear_output(self, wait=False):
            _CURRENT.items.clear()

    class Hook(DisplayHook):
        def write_output_prompt(self):
            pass

        def write_format_data(self, format_dict, md_dict=None):
            _CURRENT.rich("execute_result", format_dict, md_dict, execution_count=None)

        def finish_displayhook(self):
            self._is_active = False

    class ReportShell(InteractiveShell):
        displayhook_class = Type(Hook)
        display_pub_class = Type(Publisher)

    config = Config()
    config.HistoryManager.enabled = False  # no SQLite file of every cell run by the build
    _SHELL = ReportShell.instance(config=config)
    return _SHELL


@contextlib.contextmanager
def _in_folder(folder: Path) -> Iterator[None]:
    before = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def execute(path: Path, parameters: dict[str, Any]) -> Any:
    """The notebook at ``path`` with ``parameters`` injected (as papermill does) and every code
    cell run in this process's shell, in the notebook's folder; the executed notebook.

    A cell that raises stops the notebook with papermill's ``PapermillExecutionError`` (its
    source, error name and message), as a notebook run by papermill would.
    """
    import nbformat
    from papermill.exceptions import PapermillExecutionError
    from papermill.parameterize import parameterize_notebook

    nb = nbformat.read(path, as_version=4)
    # as papermill reads a notebook: every cell has tags (its parameters cell is found by them)
    nb.metadata.setdefault("papermill", {"parameters": {}})
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])
    nb = parameterize_notebook(nb, parameters, kernel_name="python3", language="python")
    ip = shell()
    global _CURRENT
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:  # a researcher's pyplot figures from the previous notebook
        pyplot.close("all")
    with _in_folder(path.parent):
        ip.run_cell(RESET_SOURCE, store_history=False, silent=True)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            _CURRENT = _Outputs()
            count = ip.execution_count
            stdout, stderr = sys.stdout, sys.stderr
            sys.stdout, sys.stderr = _Stream("stdout"), _Stream("stderr")
            try:
                result = ip.run_cell(cell.source, store_history=True)
            finally:
                sys.stdout, sys.stderr = stdout, stderr
            cell.execution_count = count
            for output in _CURRENT.items:
                if output["output_type"] == "execute_result":
                    output["execution_count"] = count
            cell.outputs = [nbformat.from_dict(o) for o in _CURRENT.items]
            error = result.error_before_exec or result.error_in_exec
            if error is not None:
                raise PapermillExecutionError(
                    index,
                    count,
                    cell.source,
                    type(error).__name__,
                    str(error),
                    traceback.format_exception(error),
                )
    _CURRENT = _Outputs()
    return nb
