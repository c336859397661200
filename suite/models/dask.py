"""Tasks on a Dask distributed cluster: a local one, or any scheduler given by address.

Without an address the runner starts a ``LocalCluster`` of ``workers`` single-threaded
worker processes on 127.0.0.1; with ``dask: {address: ...}`` in the scenario (or
``--dask-address``) it connects to that scheduler, so the same scenario scales out to
more machines, whose workers must have this suite installed. The cluster, the client
and the workload on every worker are ready before the first round.
"""

from __future__ import annotations

import importlib.util
import time
from typing import Any

from suite.models import RoundResult, Runner, timed
from suite.models._installed import run
from suite.workloads import SharedState, TimedValue, Workload


class DaskRunner(Runner):
    name = "dask"
    summary = "Dask distributed: a LocalCluster of single-threaded processes, or a scheduler's address"
    order = 40
    # Measured on 2 cores, a `LocalCluster` idle between rounds: 15% of a core for 2
    # workers, 24% for 4. Beside them the capacity probe saw 1.71-1.86 of 2 cores during
    # cpu-python's group; with the Dask cases alone, 2.00.
    busy_when_idle = (
        "an idle Dask cluster keeps using CPU (heartbeats, event loops: 15-24% of a core "
        "here), which would slow the rounds of the cases beside it"
    )
    _client: Any = None
    _cluster: Any = None

    @classmethod
    def unavailable_reason(cls) -> str | None:
        if importlib.util.find_spec("distributed") is None:
            return "Dask is an optional extra: pip install 'concurrency-suite[dask]'"
        return None

    @classmethod
    def unavailable_for(cls, workload: type[Workload]) -> str | None:
        if issubclass(workload, SharedState):
            return (
                f"Dask workers share no memory with the process that starts them, so the "
                f"{workload.kind} workload's tasks have no common state to update"
            )
        return None

    def serialize_estimate(self, tasks: int) -> float | None:
        from suite.models.processes import pickling_s

        return pickling_s(self.workload, tasks)

    @property
    def concurrency_per_process(self) -> int:
        return 1

    def start(self) -> None:
        from distributed import Client, LocalCluster

        address = self.options.get("dask_address")
        if address:
            self._client = Client(address, timeout="30s")
        else:
            self._cluster = LocalCluster(
                n_workers=self.workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=40,
            )
            self._client = Client(self._cluster)
        self._client.wait_for_workers(self.workers, timeout=120)
        from suite.models._daskplugin import InstallWorkload

        # A plugin, not client.run: it also prepares workers that join later.
        self._client.register_plugin(InstallWorkload(self.workload))
        # A first task on every worker, untimed: imports and connections are made now.
        workers = list(self._client.scheduler_info()["workers"])
        self._client.gather([self._client.submit(time.sleep, 0, workers=[w], pure=False) for w in workers])

    def run_round(self, tasks: int, round_no: int) -> RoundResult:
        client = self._client
        assert client is not None, "start() was not called"
        inputs = list(self.workload.inputs(tasks))  # before the clock starts

        def batch() -> list[TimedValue]:
            futures = client.map(run, [round_no] * tasks, inputs, pure=False)
            values: list[TimedValue] = client.gather(futures)
            return values

        return timed(batch)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()


RUNNERS = (DaskRunner,)
