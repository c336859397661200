"""Tasks that only wait: the I/O-bound limit, with no I/O stack in the way."""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field

from suite.workloads import WaitsOnLoop, WorkloadParams, sleep_at_least


class SleepParams(WorkloadParams):
    quick_fields = ("latency_ms",)
    latency_ms: float = Field(ge=0, le=60_000, description="how long each task waits")


class SleepWorkload(WaitsOnLoop):
    kind = "sleep"
    Params = SleepParams
    summary = "each task only waits (time.sleep / the loop's sleep)"
    params: SleepParams

    def rough_task_s(self) -> tuple[float, float]:
        return self.params.latency_ms / 1000, 0.0

    def pure_task(self) -> tuple[str, dict[str, Any]]:
        return "sleep", {"latency_ms": self.params.latency_ms}

    async def run_task_async(self, index: int) -> int:
        await sleep_at_least(self._async_sleep, self.params.latency_ms / 1000)
        return index

    def ideal_s(self, workers: int, baseline_s: float | None, cores: int) -> float:
        return math.ceil(self.params.tasks / workers) * self.params.latency_ms / 1000


WORKLOAD = SleepWorkload
