"""HTTP requests to a real local aiohttp server: the web-service fan-out question.

Each task is one GET to the suite's backend (:mod:`suite.harness.httpbackend`), which waits the task's
latency and answers its body. Clients, one per model and equally fair:

- async models: one ``aiohttp.ClientSession`` per worker process, its connector limited
  to ``workers`` connections;
- threads: one ``urllib3.HTTPConnectionPool(maxsize=workers, block=True)`` shared by
  all threads (what ``PoolManager`` keeps per host, without the host lookup);
- each pool process and the sequential baseline: a pool of one keep-alive connection.

A failed request does not stop the round: its task value encodes the error class.
"""

from __future__ import annotations

import importlib.util
import json
import math
import random
import urllib.request
import zlib
from typing import TYPE_CHECKING, Any, Literal, Self
from urllib.parse import urlencode, urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from suite.workloads import QUICK_DIVISOR, QUICK_MAX_WAIT_MS, Workload, WorkloadParams

#: What the backend server (:mod:`suite.harness.httpbackend`) accepts; it refuses more with 400.
MAX_LATENCY_MS = 60_000.0
MAX_BODY_BYTES = 16 * 1024 * 1024

if TYPE_CHECKING:  # both clients are imported only in the processes that use them
    import aiohttp
    import urllib3

TIMEOUT, CONNECTION = -1, -2


class LatencyDistribution(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    distribution: Literal["uniform", "exponential", "lognormal"]
    mean_ms: float = Field(gt=0, le=MAX_LATENCY_MS / 10, description="mean latency")
    sigma: float = Field(default=1.0, gt=0, le=3, description="lognormal shape (std. dev. of the log)")
    seed: int = Field(default=0, ge=0, description="the same seed gives the same latencies")

    def draw_ms(self, index: int) -> float:
        rng = random.Random(f"{self.seed}:{index}:latency")
        if self.distribution == "uniform":
            value = rng.uniform(0, 2 * self.mean_ms)
        elif self.distribution == "exponential":
            value = rng.expovariate(1 / self.mean_ms)
        else:
            value = rng.lognormvariate(math.log(self.mean_ms) - self.sigma**2 / 2, self.sigma)
        return min(value, MAX_LATENCY_MS)


class HttpParams(WorkloadParams):
    latency_ms: float | None = Field(
        default=None, ge=0, le=MAX_LATENCY_MS, description="fixed server latency"
    )
    latency: LatencyDistribution | None = Field(default=None, description="latency drawn per request instead")
    body_bytes: int = Field(default=1024, ge=0, le=MAX_BODY_BYTES, description="response size")
    error_rate: float = Field(default=0.0, ge=0, le=1, description="fraction of requests answered 503")
    connections: Literal["warm", "cold"] = Field(
        default="warm", description="warm: connections kept across rounds; cold: new ones every round"
    )
    request_timeout_s: float = Field(default=30.0, gt=0, le=600, description="limit for one request")
    seed: int = Field(default=0, ge=0, description="chooses bodies and failing requests")

    @model_validator(mode="after")
    def _one_latency(self) -> Self:
        if (self.latency_ms is None) == (self.latency is None):
            raise ValueError("give exactly one of latency_ms (fixed) or latency (a distribution)")
        return self

    def quick(self) -> Self:
        quicker = super().quick()
        if quicker.latency_ms is not None:
            latency_ms = min(quicker.latency_ms / QUICK_DIVISOR, QUICK_MAX_WAIT_MS)
            return quicker.model_copy(update={"latency_ms": latency_ms})
        assert quicker.latency is not None
        mean_ms = min(quicker.latency.mean_ms / QUICK_DIVISOR, QUICK_MAX_WAIT_MS)
        return quicker.model_copy(update={"latency": quicker.latency.model_copy(update={"mean_ms": mean_ms})})

    def latency_for(self, index: int) -> float:
        return self.latency_ms if self.latency_ms is not None else self.latency.draw_ms(index)  # type: ignore[union-attr]


class HttpWorkload(Workload):
    kind = "http"
    Params = HttpParams
    summary = "GET requests to a local aiohttp server with set latency and body size"
    backend = "httpbackend"

    @classmethod
    def unavailable_reason(cls) -> str | None:
        # aiohttp is the async client and urllib3 the sync one; both are dependencies of
        # the suite, but an interpreter with no build of aiohttp may lack it.
        missing = [name for name in ("aiohttp", "urllib3") if importlib.util.find_spec(name) is None]
        if missing:
            return (
                f"{' and '.join(missing)} not installed for this interpreter: pip install {' '.join(missing)}"
            )
        return None

    async_libraries = frozenset({"asyncio"})  # aiohttp runs on asyncio event loops only
    params: HttpParams
    _pool: urllib3.HTTPConnectionPool | None = None
    _session: aiohttp.ClientSession | None = None
    _concurrency = 1

    def path(self, index: int) -> str:
        p = self.params
        query = {
            "i": index,
            "latency_ms": f"{p.latency_for(index):.3f}",
            "body_bytes": p.body_bytes,
            "seed": p.seed,
        }
        if p.error_rate:
            query["error_rate"] = p.error_rate
        return f"/work?{urlencode(query)}"

    @property
    def url(self) -> str:
        url: str = self.endpoint["url"]
        return url

    # Synchronous client: urllib3.

    def prepare(self, concurrency: int) -> None:
        self._concurrency = concurrency
        self._open_pool()

    def _open_pool(self) -> None:
        import urllib3

        where = urlsplit(self.url)
        self._pool = urllib3.HTTPConnectionPool(
            where.hostname or "127.0.0.1",
            where.port,
            maxsize=self._concurrency,
            block=True,
            retries=False,
            timeout=urllib3.Timeout(total=self.params.request_timeout_s),
        )

    def begin_round(self, round_no: int) -> None:
        if self.params.connections == "cold" and self._pool is not None:
            self._pool.close()
            self._open_pool()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()

    def process(self, index: int, body: bytes) -> int:
        """What a task does with the body it fetched; its value. Here: a CRC of it."""
        return zlib.crc32(body)

    def run_task(self, index: int) -> int:
        body = self.fetch(index)
        return body if isinstance(body, int) else self.process(index, body)

    def fetch(self, index: int) -> bytes | int:
        """Task ``index``'s response body, or its (negative) error code."""
        import urllib3

        assert self._pool is not None, "prepare() was not called"
        try:
            response = self._pool.request("GET", self.path(index), preload_content=True)
        except urllib3.exceptions.NewConnectionError:  # subclasses ConnectTimeoutError in urllib3 2
            return CONNECTION
        except urllib3.exceptions.TimeoutError:
            return TIMEOUT
        except urllib3.exceptions.HTTPError:
            return CONNECTION
        if response.status != 200:
            return -int(response.status)
        return bytes(response.data)

    # Asynchronous client: aiohttp.

    async def prepare_async(self, concurrency: int) -> None:
        self._concurrency = concurrency
        self._open_session()

    def _open_session(self) -> None:
        import aiohttp

        self._session = aiohttp.ClientSession(
            self.url,
            connector=aiohttp.TCPConnector(limit=self._concurrency),
            timeout=aiohttp.ClientTimeout(total=self.params.request_timeout_s),
        )

    async def begin_round_async(self, round_no: int) -> None:
        if self.params.connections == "cold" and self._session is not None:
            await self._session.close()
            self._open_session()

    async def close_async(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def run_task_async(self, index: int) -> int:
        body = await self.fetch_async(index)
        return body if isinstance(body, int) else self.process(index, body)

    async def fetch_async(self, index: int) -> bytes | int:
        import aiohttp

        assert self._session is not None, "prepare_async() was not called"
        try:
            async with self._session.get(self.path(index)) as response:
                data = await response.read()
        except TimeoutError:  # asyncio.TimeoutError is TimeoutError from 3.11
            return TIMEOUT
        except aiohttp.ClientError:
            return CONNECTION
        if response.status != 200:
            return -int(response.status)
        return data

    # What the worker reads around rounds.

    def error_class(self, value: int) -> str | None:
        if value >= 0:
            return None
        return {TIMEOUT: "timeout", CONNECTION: "connection"}.get(value, f"http_{-value}")

    def counters(self) -> dict[str, float]:
        with urllib.request.urlopen(f"{self.url}/stats", timeout=10) as response:
            stats = json.load(response)
        return {"server_cpu_s": float(stats["cpu_s"]), "new_connections": float(stats["connections"])}

    def descriptors_needed(self, concurrency: int) -> int:
        return concurrency  # one socket per request in flight

    def rough_task_s(self) -> tuple[float, float]:
        p = self.params
        mean_ms = p.latency_ms if p.latency_ms is not None else p.latency.mean_ms  # type: ignore[union-attr]
        return mean_ms / 1000, 1e-3  # the client's own work for a request: about a millisecond

    def ideal_s(self, workers: int, baseline_s: float | None, cores: int) -> float | None:
        tasks = self.params.tasks
        if self.params.latency_ms is not None:
            return math.ceil(tasks / workers) * self.params.latency_ms / 1000
        # Drawn latencies: no schedule beats the slowest request, nor the total spread
        # evenly over the workers.
        draws = [self.params.latency_for(i) for i in range(tasks)]
        return max(max(draws), sum(draws) / workers) / 1000

    @classmethod
    def result_names(
        cls, *, task_ms: dict[str, float] | None, tasks_ok: int, throughput_per_s: float | None
    ) -> dict[str, Any]:
        return {"latency_ms": task_ms, "requests_ok": tasks_ok, "throughput_rps": throughput_per_s}


WORKLOAD = HttpWorkload
