"""Compression with zlib or lzma: CPU work during which CPython releases the GIL."""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import Field

from suite.tasks import compress_task, text
from suite.workloads import CpuBound, WorkloadParams


class CompressParams(WorkloadParams):
    bytes: int = Field(ge=1, le=64 * 1024 * 1024, description="size of the text each task compresses")
    algorithm: Literal["zlib", "lzma"] = Field(default="zlib", description="zlib.compress or lzma.compress")
    level: int = Field(default=6, ge=0, le=9, description="zlib level or lzma preset")

    def quick(self) -> Self:
        return self.model_copy(update={"bytes": max(1, self.bytes // 4)})


class CompressWorkload(CpuBound):
    kind = "compress"
    Params = CompressParams
    summary = "zlib or lzma over generated text per task (releases the GIL)"
    params: CompressParams

    def prepare(self, concurrency: int) -> None:
        text(self.params.bytes)  # generated here, outside the timed rounds

    def run_task(self, index: int) -> int:
        p = self.params
        return compress_task(index, p.bytes, p.algorithm, p.level)

    def pure_task(self) -> tuple[str, dict[str, Any]]:
        p = self.params
        return "compress", {"size": p.bytes, "algorithm": p.algorithm, "level": p.level}


WORKLOAD = CompressWorkload
