"""What the build's fork server imports before it forks any worker (see
:func:`analysis.build.workers.prepare`): importing this module readies a worker's process.

If readying fails here, the server still starts, and each worker forked from it readies
itself (``worker_init`` again), where the failure is reported with the reports it stops.
"""

from __future__ import annotations

from analysis.build.workers import worker_init

try:
    worker_init()
    READY = True
except Exception:  # each worker then tries again and reports the error itself
    READY = False
