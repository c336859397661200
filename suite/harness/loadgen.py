"""The load generator: a process of its own that loads a server and times every answer.

``python -m suite.harness.loadgen`` reads a :class:`LoadJob` as JSON on stdin and
prints a :class:`LoadReport` as JSON. Two ways to load, as wrk and wrk2 do:

- ``closed``: ``connections`` connections, each sending its next request when the
  answer to the last one arrives. Latency runs from the send. The server's speed sets
  the rate, so a stall shows as fewer requests, not as slow ones.
- ``open``: requests at a fixed arrival rate (evenly spaced, or Poisson), whatever the
  answers do, over up to ``connections`` connections (a request waits for a free one).
  Latency runs from the request's *scheduled* send time, so a stalled server cannot
  hide its stall by holding the generator back (coordinated omission). How late the
  generator itself sent (its schedule lag) is reported: when it is large, the
  generator, not the server, was the limit.

It runs on uvloop when installed (``--loop asyncio`` to choose), with httptools' response
parser. Requests go to ``/task?i=N``, ``N`` counting up modulo ``tasks``; each answer's
value is kept per ``N`` and must never change, and the values of ``0 .. tasks - 1`` give
the checksum that proves every model did the same work.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import math
import random
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, cast

import httptools

#: Latencies kept in the report beyond its percentiles (evenly thinned, in send order).
MAX_SAMPLES = 500
#: Schedule lag p99 past which the generator, not the server, limited an open load.
LAG_LIMIT_MS = 5.0
#: The shortest wait between sends (see :meth:`Generator.open`).
MIN_SLEEP_S = 0.001
#: How long answers to requests sent in the window may take to arrive after it.
DRAIN_S = 1.0


@dataclass
class LoadJob:
    host: str
    port: int
    mode: str  # closed | open
    connections: int
    duration_s: float
    warmup_s: float = 0.0
    rate_rps: float = 0.0
    arrival: str = "constant"  # constant | poisson
    tasks: int = 64
    timeout_s: float = 10.0
    seed: int = 0


@dataclass
class LoadReport:
    mode: str
    window_s: float
    sent: int
    ok: int
    errors: dict[str, int]
    offered_rps: float | None
    achieved_rps: float
    latency_ms: dict[str, float]
    samples_s: list[float]
    lag_ms: dict[str, float]
    generator_cpu_s: float
    checksum: str | None
    inconsistent: int = 0
    connections_opened: int = 0
    #: When the last answer inside the window arrived (to any request), from the window's
    #: start; ``None``: none did.
    last_answer_s: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def generator_limited(self) -> bool:
        return self.mode == "open" and self.lag_ms.get("p99", 0.0) > LAG_LIMIT_MS


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of sorted values, by the nearest-rank method (exact)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


def summary_ms(values_s: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values_s)
    if not ordered:
        return {}
    out = {f"p{name}": percentile(ordered, q) * 1000 for name, q in (("50", 0.5), ("90", 0.9), ("99", 0.99))}
    out["p999"] = percentile(ordered, 0.999) * 1000
    out["max"] = ordered[-1] * 1000
    out["mean"] = sum(ordered) / len(ordered) * 1000
    return out


def thin(values: Sequence[float], most: int = MAX_SAMPLES) -> list[float]:
    if len(values) <= most:
        return list(values)
    step = len(values) / most
    return [values[int(k * step)] for k in range(most)]


def schedule(job: LoadJob) -> list[float]:
    """Send offsets from the load's start for an open load: warm-up and window."""
    total = job.warmup_s + job.duration_s
    if job.arrival == "poisson":
        rng = random.Random(job.seed)
        offsets: list[float] = []
        t = 0.0
        while True:
            t += rng.expovariate(job.rate_rps)
            if t >= total:
                return offsets
            offsets.append(t)
    count = int(total * job.rate_rps)
    return [k / job.rate_rps for k in range(count)]


class _Client(asyncio.Protocol):
    """One keep-alive connection with at most one request outstanding."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.body = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionError(f"bad response: {exc}"))

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        if not self.parser.should_keep_alive():  # the server said Connection: close
            self.closed = True
            if self.transport is not None:
                self.transport.close()
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result((self.parser.get_status_code(), bytes(self.body)))
        self.body = bytearray()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(ConnectionResetError("the server closed the connection"))

    def _fail(self, exc: Exception) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)

    async def get(self, index: int) -> tuple[int, bytes]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(b"GET /task?i=%d HTTP/1.1\r\nHost: suite\r\n\r\n" % index)
        return await self.waiter

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class Generator:
    def __init__(self, job: LoadJob) -> None:
        self.job = job
        self.latencies: list[float] = []
        self.lags: list[float] = []
        self.errors: Counter[str] = Counter()
        self.values: dict[int, bytes] = {}
        self.inconsistent = 0
        self.sent = 0
        self.ok = 0
        self.opened = 0
        self.live = 0
        self.clients: list[_Client] = []
        self.last_answer: float | None = None
        self.window = (0.0, 0.0)
        self.completed_in_window = 0
        self.idle: deque[_Client] = deque()
        self.waiting: deque[asyncio.Future[_Client]] = deque()
        self.count = 0

    async def connect(self) -> _Client:
        loop = asyncio.get_running_loop()
        _, client = await loop.create_connection(_Client, self.job.host, self.job.port)
        self.opened += 1
        self.clients.append(client)
        return client

    def record(self, index: int, status: int, body: bytes, latency: float) -> None:
        if status != 200:
            self.errors[f"http_{status}"] += 1
            return
        self.ok += 1
        self.latencies.append(latency)
        seen = self.values.setdefault(index, body)
        if seen != body:
            self.inconsistent += 1

    async def one(self, client: _Client, index: int, counted: bool, began: float) -> bool:
        """One request on ``client``; latency from ``began``, and so is the timeout (an
        open load's requests may have waited for a connection). False if it broke."""
        try:
            async with asyncio.timeout(max(0.0, began + self.job.timeout_s - time.perf_counter())):
                status, body = await client.get(index)
        except TimeoutError:
            if counted:
                self.errors["timeout"] += 1
            client.close()
            return False
        except OSError:
            if counted:
                self.errors["connection"] += 1
            return False
        now = time.perf_counter()
        if status == 200 and self.window[0] <= now < self.window[1]:
            self.completed_in_window += 1
            self.last_answer = now
        if counted:
            self.record(index, status, body, now - began)
        return not client.closed

    def next_index(self) -> int:
        index = self.count % self.job.tasks
        self.count += 1
        return index

    # closed loop

    async def closed(self, start: float, window: tuple[float, float]) -> None:
        async def connection() -> None:
            client: _Client | None = None
            while time.perf_counter() < window[1]:
                if client is None or client.closed:
                    try:
                        client = await self.connect()
                    except OSError:
                        if time.perf_counter() >= window[0]:
                            self.errors["connection"] += 1
                        await asyncio.sleep(0.01)
                        continue
                began = time.perf_counter()
                counted = window[0] <= began < window[1]
                self.sent += counted
                if not await self.one(client, self.next_index(), counted, began):
                    client = None
            if client is not None:
                client.close()

        await asyncio.gather(*(connection() for _ in range(self.job.connections)))

    # open loop

    async def borrow(self) -> _Client:
        """An idle connection, a new one while fewer than ``connections`` are open, or
        the next one given back."""
        while self.idle:
            client = self.idle.popleft()
            if not client.closed:
                return client
            self.live -= 1
        if self.live < self.job.connections:
            self.live += 1
            try:
                return await self.connect()
            except BaseException:
                self.live -= 1
                raise
        waiter: asyncio.Future[_Client] = asyncio.get_running_loop().create_future()
        self.waiting.append(waiter)
        return await waiter

    def give_back(self, client: _Client, broken: bool) -> None:
        if broken or client.closed:
            client.close()
            self.live -= 1
            next_waiter = self._next_waiter()
            if next_waiter is not None:  # it gets a new connection instead
                self.live += 1
                task = asyncio.ensure_future(self.connect())
                task.add_done_callback(lambda t: self._hand_over(next_waiter, t))
            return
        waiter = self._next_waiter()
        if waiter is not None:
            waiter.set_result(client)
        else:
            self.idle.append(client)

    def _next_waiter(self) -> asyncio.Future[_Client] | None:
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                return waiter
        return None

    def _hand_over(self, waiter: asyncio.Future[_Client], task: asyncio.Task[_Client]) -> None:
        error = None if task.cancelled() else task.exception()
        if task.cancelled() or error is not None:
            self.live -= 1
            if not waiter.done():
                waiter.set_exception(error or ConnectionError("connect cancelled"))
        elif waiter.done():
            self.idle.append(task.result())
        else:
            waiter.set_result(task.result())

    async def fire(self, index: int, due: float, counted: bool) -> None:
        try:
            # Waiting for a free connection counts against the request's timeout too.
            async with asyncio.timeout(max(0.0, due + self.job.timeout_s - time.perf_counter())):
                client = await self.borrow()
        except TimeoutError:
            if counted:
                self.errors["timeout"] += 1
            return
        except OSError:
            if counted:
                self.errors["connection"] += 1
            return
        ok = await self.one(client, index, counted, due)
        self.give_back(client, broken=not ok)

    async def open(self, start: float, window: tuple[float, float]) -> None:
        offsets = schedule(self.job)
        pending: set[asyncio.Task[None]] = set()
        k = 0
        while k < len(offsets):
            now = time.perf_counter()
            due = start + offsets[k]
            if due > now:
                # Event loop timers have millisecond resolution (libuv's, epoll's): a
                # shorter sleep would return at once and spin a core the server needs.
                # Waking up to 1 ms late is the lag the report shows.
                await asyncio.sleep(max(due - now, MIN_SLEEP_S))
                continue
            # Everything due by now goes out at once: each waits for a connection, if it
            # must, inside its own task, so one slow answer delays no other send.
            while k < len(offsets) and start + offsets[k] <= now:
                due = start + offsets[k]
                counted = window[0] <= due < window[1]
                if counted:
                    self.lags.append(now - due)
                    self.sent += 1
                task = asyncio.get_running_loop().create_task(self.fire(self.next_index(), due, counted))
                pending.add(task)
                task.add_done_callback(pending.discard)
                k += 1
        if pending:
            await asyncio.wait(list(pending), timeout=self.job.timeout_s + DRAIN_S)
        for task in pending:
            task.cancel()

    async def run(self) -> LoadReport:
        job = self.job
        cpu_before = time.process_time()
        start = time.perf_counter()
        window = (start + job.warmup_s, start + job.warmup_s + job.duration_s)
        self.window = window
        if job.mode == "closed":
            await self.closed(start, window)
        else:
            await self.open(start, window)
        for client in self.clients:
            client.close()
        await asyncio.sleep(0)  # let the transports close
        return self.report(time.process_time() - cpu_before)

    def report(self, cpu_s: float) -> LoadReport:
        job = self.job
        ok = self.ok
        checksum = None
        if all(i in self.values for i in range(job.tasks)):
            joined = b",".join(self.values[i] for i in range(job.tasks))
            checksum = hashlib.sha256(joined).hexdigest()[:16]
        notes = []
        if self.inconsistent:
            notes.append(f"{self.inconsistent} answers differed from an earlier answer to the same request")
        return LoadReport(
            mode=job.mode,
            window_s=job.duration_s,
            sent=self.sent,
            ok=ok,
            errors=dict(self.errors),
            # What the schedule really sent in the window (a Poisson schedule's count varies
            # around the rate); the nominal rate is in the job.
            offered_rps=self.sent / job.duration_s if job.mode == "open" else None,
            # Answers that arrived inside the window, whenever their request was sent: what
            # the server delivered, not what it caught up on after the window.
            achieved_rps=self.completed_in_window / job.duration_s,
            latency_ms=summary_ms(self.latencies),
            samples_s=thin(self.latencies),
            lag_ms=summary_ms(self.lags),
            generator_cpu_s=cpu_s,
            checksum=checksum,
            inconsistent=self.inconsistent,
            connections_opened=self.opened,
            last_answer_s=None if self.last_answer is None else self.last_answer - self.window[0],
            notes=notes,
        )


def loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if name == "uvloop" or name == "auto":
        try:
            import uvloop
        except ImportError:
            if name == "uvloop":
                raise
            return None
        return uvloop.new_event_loop
    return None


def generate(job: LoadJob, loop: str = "auto") -> LoadReport:
    with asyncio.Runner(loop_factory=loop_factory(loop)) as runner:
        return runner.run(Generator(job).run())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m suite.harness.loadgen", description=__doc__)
    parser.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto")
    args = parser.parse_args(argv)
    job = LoadJob(**json.loads(sys.stdin.readline()))
    with contextlib.suppress(OSError, AttributeError):
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # die with the parent
    report = generate(job, args.loop)
    print(json.dumps({**asdict(report), "generator_limited": report.generator_limited}), flush=True)
    return 0


def report_from_json(data: dict[str, Any]) -> LoadReport:
    data = dict(data)
    data.pop("generator_limited", None)
    return LoadReport(**data)


if __name__ == "__main__":
    sys.exit(main())
