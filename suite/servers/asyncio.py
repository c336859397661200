"""One event loop serving every connection: asyncio's own loop, and uvloop's."""

from __future__ import annotations

import asyncio
import socket
import threading

from suite.loops import LoopFactory, OnUvloop
from suite.servers import Server
from suite.servers._async import run_loop


class AsyncioServer(Server):
    name = "asyncio"
    summary = "one asyncio event loop, a coroutine per request, at most `workers` handled at once"
    order = 10
    family = "event loops"
    _thread: threading.Thread | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _stopped: asyncio.Event | None = None

    def loop_factory(self) -> LoopFactory | None:
        return None

    def start(self, listener: socket.socket) -> None:
        ready = threading.Event()

        def on_ready(loop: asyncio.AbstractEventLoop, stopped: asyncio.Event) -> None:
            self._loop, self._stopped = loop, stopped
            ready.set()

        # The loop runs in a thread of its own so the worker's main thread stays free to
        # answer its parent (and to stop a loop that a task has blocked).
        self._thread = threading.Thread(
            target=run_loop,
            args=(self.loop_factory(), self.workload, self.fanout, self.workers, listener, on_ready),
            name="serve-loop",
            daemon=True,
        )
        self._thread.start()
        if not ready.wait(timeout=60):
            raise RuntimeError("the event loop did not start serving within 60 s")

    def stop(self) -> None:
        if self._loop is not None and self._stopped is not None and self._thread is not None:
            stopped = self._stopped
            self._loop.call_soon_threadsafe(stopped.set)
            self._thread.join(timeout=5)


class UvloopServer(OnUvloop, AsyncioServer):
    name = "uvloop"
    summary = "the asyncio server on uvloop's event loop (libuv)"


SERVERS = [AsyncioServer, UvloopServer]
