"""hashlib over a large buffer: CPU work during which CPython releases the GIL."""

from __future__ import annotations

import hashlib
import random
from typing import Literal, Self

from pydantic import Field

from . import CpuBound, WorkloadParams

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
    bytes: int = Field(ge=1, le=256 * 1024 * 1024, description="buffer size hashed per repeat")
    algorithm: Algorithm = Field(default="sha256", description="a hashlib.algorithms_guaranteed name")
    repeat: int = Field(default=1, ge=1, le=100_000, description="times each task hashes the buffer")

    def quick(self) -> Self:
        return self.model_copy(update={"repeat": max(1, self.repeat // 4)})


class HashWorkload(CpuBound):
    kind = "hash"
    Params = HashParams
    summary = "hashlib over a buffer per task (releases the GIL from 2 KiB)"
    params: HashParams
    _buffer = b""

    def prepare(self, concurrency: int) -> None:
        self._buffer = random.Random(self.params.bytes).randbytes(self.params.bytes)

    def run_task(self, index: int) -> int:
        digest = hashlib.new(self.params.algorithm)
        # The index goes in first so every task hashes a different message.
        digest.update(index.to_bytes(8, "little"))
        for _ in range(self.params.repeat):
            digest.update(self._buffer)
        raw = digest.digest(16) if self.params.algorithm.startswith("shake") else digest.digest()  # type: ignore[call-arg,unused-ignore]
        return int.from_bytes(raw[:8], "little")


WORKLOAD = HashWorkload
