"""Does the load generator tell the truth? Three checks, with the figures they print.

``python -m suite.selfcheck.loadcheck`` (``tox -e bench-serve``):

1. **Honesty**: against a server that answers at once (the suite's uvloop server, a
   handler that does nothing), an open load of 2,000 requests a second for 5 s: how
   late the generator sent (schedule lag p99; target <= 2 ms on 2 cores) and what it
   achieved; then 50,000 a second, far past what one core can send: the generator must
   say that it, not the server, was the limit.
2. **Coordinated omission**: a server that answers one request at a time and stalls
   once for 500 ms in a 5 s window at 100 requests a second. From the schedule (open
   load), p99 must be >= 400 ms; a closed loop of one connection waits out the stall
   with one slow request, and its p99 hides it.
3. **Cross-check with wrk** (skipped when ``wrk`` is not installed; Debian: ``apt-get
   install wrk``): the same closed load (connections, duration) from wrk and from the
   suite against the same server; their throughputs should be within 20%.

Each server runs in a process of its own, and the generator in another, as in a run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from suite.harness.loadgen import LoadReport
from suite.harness.serve_case import run_generator
from suite.harness.serve_worker import listener
from suite.spec import registry
from suite.workloads.sleep import SleepWorkload

LAG_TARGET_MS = 2.0
STALL_S = 0.5


class StallOnce(SleepWorkload):
    """Answers at once, except the first time request :data:`STALL_AT` comes: 500 ms."""

    stalled = False

    def run_task(self, index: int) -> int:
        if index == STALL_AT and not StallOnce.stalled:
            StallOnce.stalled = True
            time.sleep(STALL_S)
        return index


STALL_AT = 250  # 2.5 s into a 5 s window at 100 requests a second


def _serve(model: str, workload: Any, ready: Any, port: Any) -> None:
    sock = listener()
    server = registry.server(model)(workload, 64)
    server.start(sock)
    port.value = sock.getsockname()[1]
    ready.set()
    while True:
        time.sleep(3600)


class ServerProcess:
    def __init__(self, model: str, workload: Any) -> None:
        context = multiprocessing.get_context("fork")
        ready, self.port = context.Event(), context.Value("i", 0)
        self.process = context.Process(target=_serve, args=(model, workload, ready, self.port), daemon=True)
        self.process.start()
        if not ready.wait(timeout=30):
            raise RuntimeError(f"the {model} server did not start")

    def __enter__(self) -> int:
        return int(self.port.value)

    def __exit__(self, *exc: object) -> None:
        self.process.kill()
        self.process.join(timeout=5)


def load(port: int, **fields: Any) -> LoadReport:
    job = {
        "host": "127.0.0.1",
        "port": port,
        "mode": "open",
        "connections": 64,
        "duration_s": 5.0,
        "warmup_s": 0.5,
        "rate_rps": 0.0,
        "arrival": "constant",
        "tasks": 1000,
        "timeout_s": 10.0,
        **fields,
    }
    return run_generator(job)


def _sleep_workload(cls: type[SleepWorkload] = SleepWorkload, tasks: int = 1000) -> SleepWorkload:
    return cls(cls.Params.model_validate({"tasks": tasks, "latency_ms": 0.0}))


def honesty() -> bool:
    with ServerProcess("uvloop", _sleep_workload()) as port:
        steady = load(port, rate_rps=2000.0)
        flood = load(port, rate_rps=50000.0, duration_s=2.0)
    lag = steady.lag_ms.get("p99", float("nan"))
    print(
        "honesty: open 2000 req/s for 5 s against an immediate server: "
        f"achieved {steady.achieved_rps:.0f}/s, "
        f"schedule lag p99 {lag:.2f} ms (target <= {LAG_TARGET_MS:g}), p99 latency "
        f"{steady.latency_ms.get('p99', 0):.2f} ms, generator CPU {steady.generator_cpu_s:.2f} s, "
        f"errors {steady.errors or 'none'}"
    )
    print(
        f"honesty: open 50000 req/s: achieved {flood.achieved_rps:.0f}/s, schedule lag p99 "
        f"{flood.lag_ms.get('p99', 0):.0f} ms; the generator says it was the limit: {flood.generator_limited}"
    )
    return lag <= LAG_TARGET_MS and flood.generator_limited


def omission() -> bool:
    with ServerProcess("sequential", _sleep_workload(StallOnce)) as port:
        opened = load(port, rate_rps=100.0)
    with ServerProcess("sequential", _sleep_workload(StallOnce)) as port:
        closed = load(port, mode="closed", connections=1)
    print(
        f"coordinated omission: one 500 ms stall in 5 s at 100 req/s: open-loop p99 "
        f"{opened.latency_ms.get('p99', 0):.0f} ms (target >= 400), "
        f"max {opened.latency_ms.get('max', 0):.0f} ms; "
        f"closed loop of 1 connection: p99 {closed.latency_ms.get('p99', 0):.1f} ms, "
        f"max {closed.latency_ms.get('max', 0):.0f} ms (the stall is one request among "
        f"{closed.ok})"
    )
    return opened.latency_ms.get("p99", 0) >= 400


def wrk_requests_per_s(port: int, connections: int, seconds: int) -> float:
    done = subprocess.run(
        ["wrk", f"-c{connections}", "-t2", f"-d{seconds}s", f"http://127.0.0.1:{port}/task?i=1"],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    )
    found = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    if found is None:
        raise RuntimeError(f"wrk printed no Requests/sec: {done.stdout}")
    return float(found.group(1))


def cross_check(connections: int = 16, seconds: int = 5) -> bool | None:
    if shutil.which("wrk") is None:
        print("wrk cross-check: skipped, wrk is not installed (Debian: apt-get install wrk)")
        return None
    workload = SleepWorkload(SleepWorkload.Params.model_validate({"tasks": 1000, "latency_ms": 1.0}))
    with ServerProcess("asyncio", workload) as port:
        ours = load(port, mode="closed", connections=connections, duration_s=float(seconds))
        theirs = wrk_requests_per_s(port, connections, seconds)
    ratio = ours.achieved_rps / theirs
    print(
        f"wrk cross-check: {connections} connections, {seconds} s, asyncio server, 1 ms handler: "
        f"suite {ours.achieved_rps:.0f} req/s, wrk {theirs:.0f} req/s (suite/wrk = {ratio:.2f}; within 20%: "
        f"{abs(ratio - 1) <= 0.2})"
    )
    return abs(ratio - 1) <= 0.2


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m suite.selfcheck.loadcheck", description=__doc__)
    parser.add_argument("--json", action="store_true", help="also print the results as one JSON line")
    args = parser.parse_args(argv)
    results = {"honesty": honesty(), "omission": omission(), "wrk": cross_check()}
    if args.json:
        print(json.dumps(results))
    return 0 if all(v is not False for v in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
