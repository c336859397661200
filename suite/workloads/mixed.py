"""Wait, then compute: the shape of most request handlers (query a database, then build
the answer in Python). The wait overlaps under any concurrent model; the pure-Python
part holds the GIL, so only processes (or a free-threaded build) run it in parallel."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from suite.tasks import cpu_task
from suite.workloads import ROUGH_LOOP_S, WaitsOnLoop, WorkloadParams, sleep_at_least


class MixedParams(WorkloadParams):
    quick_fields = ("latency_ms", "iterations")
    latency_ms: float = Field(ge=0, le=60_000, description="how long each task first waits")
    iterations: int = Field(ge=1, le=10**9, description="pure-Python loop iterations after the wait")


class MixedWorkload(WaitsOnLoop):
    kind = "mixed"
    Params = MixedParams
    summary = "each task waits, then runs a pure-Python loop (a handler: query, then render)"
    params: MixedParams

    def rough_task_s(self) -> tuple[float, float]:
        return self.params.latency_ms / 1000, self.params.iterations * ROUGH_LOOP_S

    def pure_task(self) -> tuple[str, dict[str, Any]]:
        return "mixed", {"latency_ms": self.params.latency_ms, "iterations": self.params.iterations}

    async def run_task_async(self, index: int) -> int:
        await sleep_at_least(self._async_sleep, self.params.latency_ms / 1000)
        return cpu_task(index, self.params.iterations)


WORKLOAD = MixedWorkload
