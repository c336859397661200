"""A two-stage pipeline: fetch a body over HTTP, then hash it. Mixed I/O and CPU.

The first stage waits on the network (where coroutines and threads shine), the second
needs the CPU (hashlib, which releases the GIL for buffers of 2 KiB and more). Neither
pure model wins everywhere: async models hash on the event loop, one body at a time;
threads overlap both stages; processes pay to start and to talk to the server.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from suite.workloads.hash import Algorithm
from suite.workloads.http import HttpParams, HttpWorkload


class PipelineParams(HttpParams):
    quick_fields = ("hash_repeat",)
    hash_repeat: int = Field(default=100, ge=1, le=100_000, description="times the body is hashed")
    algorithm: Algorithm = Field(default="sha256", description="a hashlib.algorithms_guaranteed name")


class PipelineWorkload(HttpWorkload):
    kind = "pipeline"
    Params = PipelineParams
    summary = "fetch a body from the local server, then hash it (I/O, then CPU)"
    params: PipelineParams

    def process(self, index: int, body: bytes) -> int:
        import hashlib

        digest = hashlib.new(self.params.algorithm)
        for _ in range(self.params.hash_repeat):
            digest.update(body)
        raw = digest.digest(16) if self.params.algorithm.startswith("shake") else digest.digest()  # type: ignore[call-arg,unused-ignore]
        return int.from_bytes(raw[:8], "little") & 0x7FFFFFFFFFFFFFFF  # >= 0: not an error code

    def rough_task_s(self) -> tuple[float, float]:
        wait, compute = super().rough_task_s()
        return wait, compute + self.params.body_bytes * self.params.hash_repeat / 1e9

    def ideal_s(self, workers: int, baseline_s: float | None, cores: int) -> float | None:
        return None  # no single physical bound: the latency and the CPU both limit it

    @classmethod
    def result_names(
        cls, *, task_ms: dict[str, float] | None, tasks_ok: int, throughput_per_s: float | None
    ) -> dict[str, Any]:
        return {"latency_ms": task_ms, "requests_ok": tasks_ok}


WORKLOAD = PipelineWorkload
