"""Pure-Python CPU work: a loop that holds the GIL for its whole duration."""

from __future__ import annotations

from typing import Self

from pydantic import Field

from . import CpuBound, WorkloadParams


class CpuParams(WorkloadParams):
    iterations: int = Field(ge=1, le=10**9, description="loop iterations per task")

    def quick(self) -> Self:
        return self.model_copy(update={"iterations": max(1, self.iterations // 4)})


class CpuWorkload(CpuBound):
    kind = "cpu"
    Params = CpuParams
    summary = "pure-Python loop per task (holds the GIL)"
    params: CpuParams

    def run_task(self, index: int) -> int:
        # A linear congruential generator: cheap, pure Python, and impossible to skip.
        x = index
        for _ in range(self.params.iterations):
            x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        return x


WORKLOAD = CpuWorkload
