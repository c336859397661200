"""Pure-Python CPU work: a loop that holds the GIL for its whole duration."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from suite.workloads import ROUGH_LOOP_S, CpuBound, WorkloadParams


class CpuParams(WorkloadParams):
    quick_fields = ("iterations",)
    iterations: int = Field(ge=1, le=10**9, description="loop iterations per task")
    constants: Literal["shared", "local"] = Field(
        default="shared",
        description="shared: the loop's constants are literals, objects every thread shares; "
        "local: each task makes its own (same work, same value), to tell contention on shared "
        "objects from a lack of parallelism",
    )


class CpuWorkload(CpuBound):
    kind = "cpu"
    Params = CpuParams
    summary = "pure-Python loop per task (holds the GIL)"
    params: CpuParams

    def rough_task_s(self) -> tuple[float, float]:
        return 0.0, self.params.iterations * ROUGH_LOOP_S

    def pure_task(self) -> tuple[str, dict[str, Any]]:
        return "cpu", {"iterations": self.params.iterations, "constants": self.params.constants}


WORKLOAD = CpuWorkload
