"""Compression with zlib or lzma: CPU work during which CPython releases the GIL."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from suite.tasks import text
from suite.workloads import CpuBound, WorkloadParams


class CompressParams(WorkloadParams):
    quick_fields = ("bytes",)
    bytes: int = Field(ge=1, le=64 * 1024 * 1024, description="size of the text each task compresses")
    algorithm: Literal["zlib", "lzma"] = Field(default="zlib", description="zlib.compress or lzma.compress")
    level: int = Field(default=6, ge=0, le=9, description="zlib level or lzma preset")


class CompressWorkload(CpuBound):
    kind = "compress"
    Params = CompressParams
    summary = "zlib or lzma over generated text per task (releases the GIL)"
    params: CompressParams

    def prepare(self, concurrency: int) -> None:
        text(self.params.bytes)  # generated here, outside the timed rounds

    holds_gil = False

    def rough_task_s(self) -> tuple[float, float]:
        return 0.0, self.params.bytes / (150e6 if self.params.algorithm == "zlib" else 12e6)

    def pure_task(self) -> tuple[str, dict[str, Any]]:
        p = self.params
        return "compress", {"size": p.bytes, "algorithm": p.algorithm, "level": p.level}


WORKLOAD = CompressWorkload
