"""Prefork servers: ``workers`` processes forked from one parent, sharing its listening socket.

- ``processes``: each process accepts a connection when idle, answers its one request
  and closes it (gunicorn's "sync worker");
- ``processes+asyncio`` / ``processes+uvloop``: each process runs an event loop (several
  async workers behind one port, as ``uvicorn --workers`` does), up to
  :data:`PER_PROCESS_LIMIT` requests at once in each;
- ``processes+reuseport`` / ``processes+uvloop+reuseport``: the same, each process
  listening on a socket of its own bound to the port with ``SO_REUSEPORT``, so the
  kernel hashes each new connection to one process instead of waking the processes
  waiting on one shared socket (gunicorn's ``--reuse-port``).
"""

from __future__ import annotations

import socket
from typing import Any

from suite import loops
from suite.servers import ProcessFamily, Server, own_listener
from suite.servers._async import run_loop
from suite.servers._sync import answer_one
from suite.servers.http11 import handle
from suite.workloads import Workload

#: Requests one process of an async prefork server handles at once (aiohttp's default
#: connection limit, and the sizing of its clients for the ``http`` kind).
PER_PROCESS_LIMIT = 100


def _serve_sync(
    ready: Any, workload: Workload, fanout: int, listener: socket.socket, reuse_port: bool = False
) -> None:
    """gunicorn's sync worker: a blocking accept (the kernel wakes one idle process per
    connection), one request, ``Connection: close``. Keeping connections alive would
    tie each to one process and queue its requests behind another connection's there."""
    workload.prepare(1)
    if reuse_port:
        listener = own_listener(listener)
    listener.setblocking(True)
    ready.wait(timeout=60)
    while True:
        conn, _ = listener.accept()
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            answer_one(conn, lambda url: handle(workload, url, fanout))


def _serve_async(
    ready: Any,
    use_uvloop: bool,
    workload: Workload,
    fanout: int,
    listener: socket.socket,
    reuse_port: bool = False,
) -> None:
    if reuse_port:
        listener = own_listener(listener)
    run_loop(
        loops.factory(use_uvloop),
        workload,
        fanout,
        PER_PROCESS_LIMIT,
        listener,
        lambda *_: ready.wait(timeout=60),
    )


class PreforkServer(Server):
    name = "processes"
    summary = "`workers` forked processes sharing one socket, each: accept, answer one request, close"
    order = 30
    family = "processes"
    _family: ProcessFamily | None = None

    def start(self, listener: socket.socket) -> None:
        self._family = ProcessFamily()
        self._family.spawn(self.workers, _serve_sync, self.workload, self.fanout, listener, self.reuse_port)

    @property
    def start_method(self) -> str | None:
        return "fork"

    def failure(self) -> str | None:
        return self._family.failure() if self._family is not None else None

    def stop(self) -> None:
        if self._family is not None:
            self._family.stop()


class PreforkAsyncioServer(PreforkServer):
    name = "processes+asyncio"
    summary = f"`workers` forked processes, each an asyncio loop (up to {PER_PROCESS_LIMIT} requests at once)"
    order = 31
    use_uvloop = False

    def start(self, listener: socket.socket) -> None:
        self._family = ProcessFamily()
        self._family.spawn(
            self.workers, _serve_async, self.use_uvloop, self.workload, self.fanout, listener, self.reuse_port
        )


class PreforkUvloopServer(PreforkAsyncioServer):
    name = "processes+uvloop"
    summary = f"`workers` forked processes, each a uvloop loop (up to {PER_PROCESS_LIMIT} requests at once)"
    order = 32
    use_uvloop = True

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return super().unavailable_reason() or loops.uvloop_missing()


class PreforkReusePortServer(PreforkServer):
    name = "processes+reuseport"
    summary = "as `processes`, each process listening on a socket of its own (SO_REUSEPORT)"
    order = 33
    reuse_port = True


class PreforkUvloopReusePortServer(PreforkUvloopServer):
    name = "processes+uvloop+reuseport"
    summary = "as `processes+uvloop`, each process listening on a socket of its own (SO_REUSEPORT)"
    order = 34
    reuse_port = True


SERVERS = [
    PreforkServer,
    PreforkAsyncioServer,
    PreforkUvloopServer,
    PreforkReusePortServer,
    PreforkUvloopReusePortServer,
]
