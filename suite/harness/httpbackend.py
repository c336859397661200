"""The HTTP backend: an aiohttp server on uvloop, in a process of its own, loopback only.

``python -m suite.harness.httpbackend`` binds 127.0.0.1 on a port the OS picks and prints one JSON
line, ``{"url": ..., "pid": ..., "nofile": ...}``, once it accepts connections. Requests:

``GET /work?i=N&latency_ms=L&body_bytes=B&seed=S&error_rate=E``
    waits L ms, then answers B deterministic bytes (the same for the same ``seed`` and
    ``i``), or a 503 for the fraction E of indices chosen by ``seed``. Out-of-range
    parameters get a 400 naming the parameter and its bounds.
``GET /stats``
    this process's CPU seconds so far and the connections it has served requests on,
    ``{"cpu_s": ..., "connections": ...}``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import signal
import sys
import time
from dataclasses import dataclass, field

from aiohttp import web

from suite.harness.resources import raise_descriptor_limit
from suite.workloads.http import MAX_BODY_BYTES, MAX_LATENCY_MS

HOST = "127.0.0.1"
MAX_INDEX = 10**9
BACKLOG = 16384


@dataclass(frozen=True)
class Bound:
    low: float
    high: float
    integer: bool = False


BOUNDS = {
    "i": Bound(0, MAX_INDEX, integer=True),
    "latency_ms": Bound(0, MAX_LATENCY_MS),
    "body_bytes": Bound(0, MAX_BODY_BYTES, integer=True),
    "seed": Bound(0, 2**63 - 1, integer=True),
    "error_rate": Bound(0, 1),
}
DEFAULTS = {"i": 0, "latency_ms": 0.0, "body_bytes": 0, "seed": 0, "error_rate": 0.0}


def body(seed: int, index: int, size: int) -> bytes:
    """The bytes the server sends for task ``index``: the same for every client."""
    block = hashlib.sha256(f"{seed}:{index}".encode()).digest()
    return (block * (size // len(block) + 1))[:size]


def fails(seed: int, index: int, error_rate: float) -> bool:
    """Whether request ``index`` is one of the injected failures (deterministic)."""
    return error_rate > 0 and random.Random(f"{seed}:{index}:error").random() < error_rate


def parse(query: dict[str, str]) -> dict[str, float]:
    """Validate the query against :data:`BOUNDS`; ``ValueError`` names the bad parameter."""
    unknown = set(query) - set(BOUNDS)
    if unknown:
        raise ValueError(f"unknown parameter(s): {', '.join(sorted(unknown))}")
    values: dict[str, float] = dict(DEFAULTS)
    for name, text in query.items():
        bound = BOUNDS[name]
        try:
            value = int(text) if bound.integer else float(text)
        except ValueError:
            raise ValueError(
                f"{name} must be a {'whole ' if bound.integer else ''}number, got {text!r}"
            ) from None
        if not bound.low <= value <= bound.high:  # also refuses NaN
            raise ValueError(f"{name} must be between {bound.low:g} and {bound.high:g}, got {text}")
        values[name] = value
    return values


@dataclass
class Connections:
    """Counts connections that carried a request. A connection is known by its client
    address and its aiohttp protocol object: the kernel reuses client ports, so the
    address alone would miss new connections (the object cannot be weakly referenced)."""

    by_peer: dict[object, int] = field(default_factory=dict)
    count: int = 0

    def saw(self, peer: object, protocol: object) -> None:
        if self.by_peer.get(peer) != id(protocol):
            self.by_peer[peer] = id(protocol)
            self.count += 1


PEERS = web.AppKey("connections", Connections)


async def work(request: web.Request) -> web.Response:
    peer = request.transport.get_extra_info("peername") if request.transport else None
    request.app[PEERS].saw(peer, request.protocol)
    try:
        p = parse(dict(request.query))
    except ValueError as exc:
        return web.Response(status=400, text=str(exc))
    index, seed = int(p["i"]), int(p["seed"])
    if p["latency_ms"]:
        await asyncio.sleep(p["latency_ms"] / 1000)
    if fails(seed, index, p["error_rate"]):
        return web.Response(status=503, text="injected failure")
    return web.Response(body=body(seed, index, int(p["body_bytes"])))


async def stats(request: web.Request) -> web.Response:
    return web.json_response({"cpu_s": time.process_time(), "connections": request.app[PEERS].count})


def make_app() -> web.Application:
    app = web.Application()
    app[PEERS] = Connections()
    app.router.add_get("/work", work)
    app.router.add_get("/stats", stats)
    return app


async def serve(port: int = 0) -> None:
    nofile = raise_descriptor_limit()
    runner = web.AppRunner(make_app(), access_log=None, handle_signals=False)
    await runner.setup()
    # Always an explicit loopback address: host=None would bind every interface.
    site = web.TCPSite(runner, HOST, port, backlog=BACKLOG)
    await site.start()
    host, bound_port = runner.addresses[0][:2]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    ready = {"url": f"http://{host}:{bound_port}", "pid": os.getpid(), "nofile": nofile}
    print(json.dumps(ready), flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> int:
    import uvloop

    from suite.harness.procgroup import die_with_parent

    if not die_with_parent(signal.SIGKILL):  # nothing to clean up: no orphaned server
        return 1
    uvloop.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
