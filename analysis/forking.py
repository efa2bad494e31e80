"""Run one part of the data step in a forked process while this process does the rest.

The data step is the one serial stretch of a build: every report waits for it. Its parts
(one survey family against the others) are independent, so the largest part runs in a
child process made with ``fork``, which starts at once and shares the parent's memory (the
inputs are not copied or pickled); only the child's result comes back, pickled, through a
pipe. Where ``fork`` is not available, or in a process that may not have children (a
daemonic pool worker), the part simply runs in this process when its result is asked for.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
H = TypeVar("H")


def can_fork() -> bool:
    """Whether ``beside`` would really use a second process here."""
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and not multiprocessing.current_process().daemon
    )


class Beside(Generic[T]):
    """``function(*args, **kwargs)`` running in a forked child (see the module docstring).

    ``result()`` waits for it and returns its value or raises its exception; ``cancel()``
    ends a child whose result is no longer wanted (the parent's own part failed).
    """

    def __init__(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> None:
        self._name = getattr(function, "__name__", repr(function))
        self._call: Callable[[], T] = lambda: function(*args, **kwargs)
        self._child: Any = None
        if not can_fork():
            return
        context = multiprocessing.get_context("fork")
        self._receiver, sender = context.Pipe(duplex=False)

        def run() -> None:
            outcome: tuple[str, Any]
            try:
                outcome = ("ok", self._call())
            except BaseException as err:  # noqa: BLE001 - every failure goes back to the parent
                outcome = ("error", err)
            try:
                sender.send(outcome)
            except Exception as err:  # noqa: BLE001 - e.g. an outcome that cannot be pickled
                sender.send(
                    (
                        "error",
                        RuntimeError(
                            f"{self._name} in a child process: its outcome could not "
                            f"be sent back ({err})"
                        ),
                    )
                )

        self._child = context.Process(target=run, name=f"data step: {self._name}", daemon=True)
        self._child.start()
        sender.close()  # only the child holds the sending end: EOF here means it ended without answering

    def result(self) -> T:
        if self._child is None:  # no fork here: the part runs now, in this process
            return self._call()
        try:
            status, value = self._receiver.recv()
        except EOFError:
            self._child.join()
            raise RuntimeError(
                f"{self._name} in a child process ended without a result "
                f"(exit code {self._child.exitcode})"
            ) from None
        finally:
            self._receiver.close()
        self._child.join()
        if status == "error":
            raise value
        return value

    def cancel(self) -> None:
        if self._child is not None and self._child.is_alive():
            self._child.terminate()
            self._child.join()
            self._receiver.close()


def side_by_side(
    here: Callable[[], H], apart: Callable[..., T] | None, *args: Any
) -> tuple[H, T | None]:
    """``here()`` in this process while ``apart(*args)`` runs in a forked child; both results
    (None for ``apart`` when there is none). If ``here`` fails, the child is ended."""
    child = Beside(apart, *args) if apart is not None else None
    try:
        mine = here()
        return mine, (child.result() if child is not None else None)
    except BaseException:
        if child is not None:
            child.cancel()
        raise
