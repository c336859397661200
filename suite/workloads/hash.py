"""hashlib over a large buffer: CPU work during which CPython releases the GIL."""

from __future__ import annotations

import hashlib
import random
from typing import Literal, Self

from pydantic import Field

from . import Workload, WorkloadParams

Algorithm = Literal[tuple(sorted(hashlib.algorithms_guaranteed))]  # type: ignore[valid-type]


class HashParams(WorkloadParams):
    bytes: int = Field(ge=1, le=256 * 1024 * 1024, description="buffer size hashed per repeat")
    algorithm: Algorithm = Field(default="sha256", description="a hashlib.algorithms_guaranteed name")  # type: ignore[valid-type]
    repeat: int = Field(default=1, ge=1, le=100_000, description="times each task hashes the buffer")

    def quick(self) -> Self:
        return self.model_copy(update={"repeat": max(1, self.repeat // 4)})


class HashWorkload(Workload):
    kind = "hash"
    Params = HashParams
    summary = "hashlib over a buffer per task (releases the GIL from 2 KiB)"
    params: HashParams
    _buffer = b""

    def prepare(self) -> None:
        self._buffer = random.Random(self.params.bytes).randbytes(self.params.bytes)

    def run_task(self, index: int) -> int:
        digest = hashlib.new(self.params.algorithm)
        # The index goes in first so every task hashes a different message.
        digest.update(index.to_bytes(8, "little"))
        for _ in range(self.params.repeat):
            digest.update(self._buffer)
        raw = digest.digest(16) if self.params.algorithm.startswith("shake") else digest.digest()  # type: ignore[call-arg]
        return int.from_bytes(raw[:8], "little")


WORKLOAD = HashWorkload
