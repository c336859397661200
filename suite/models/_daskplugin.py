"""The Dask worker plugin that prepares the workload on every worker, even late joiners.

Kept apart from :mod:`suite.models.dask` because it needs ``distributed`` at import time,
and model modules are imported on every run, Dask installed or not.
"""

from __future__ import annotations

from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from suite.models._installed import install
from suite.workloads import Workload


class InstallWorkload(WorkerPlugin):
    name = "suite-workload"

    def __init__(self, workload: Workload) -> None:
        self.workload = workload

    def setup(self, worker: Any) -> None:
        install(self.workload)
