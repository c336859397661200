"""hashlib over a large buffer: CPU work during which CPython releases the GIL."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from suite.tasks import buffer
from suite.workloads import CpuBound, WorkloadParams

# hashlib.algorithms_guaranteed, spelled out so type checkers and the JSON Schema see it.
Algorithm = Literal[
    "blake2b",
    "blake2s",
    "md5",
    "sha1",
    "sha224",
    "sha256",
    "sha384",
    "sha512",
    "sha3_224",
    "sha3_256",
    "sha3_384",
    "sha3_512",
    "shake_128",
    "shake_256",
]


class HashParams(WorkloadParams):
    quick_fields = ("repeat",)
    bytes: int = Field(ge=1, le=256 * 1024 * 1024, description="buffer size hashed per repeat")
    algorithm: Algorithm = Field(default="sha256", description="a hashlib.algorithms_guaranteed name")
    repeat: int = Field(default=1, ge=1, le=100_000, description="times each task hashes the buffer")


class HashWorkload(CpuBound):
    kind = "hash"
    Params = HashParams
    summary = "hashlib over a buffer per task (releases the GIL from 2 KiB)"
    params: HashParams

    def prepare(self, concurrency: int) -> None:
        buffer(self.params.bytes)  # made here, outside the timed rounds

    holds_gil = False

    def rough_task_s(self) -> tuple[float, float]:
        return 0.0, self.params.bytes * self.params.repeat / 1e9  # sha256: about 1 GB/s

    def pure_task(self) -> tuple[str, dict[str, Any]]:
        p = self.params
        return "hash", {"size": p.bytes, "algorithm": p.algorithm, "repeat": p.repeat}


WORKLOAD = HashWorkload
