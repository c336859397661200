"""aiohttp's own server (``aiohttp.web``) with the handler as a route, on asyncio or uvloop.

One process, one event loop (in a thread of the worker, as the ``asyncio`` model's),
an ``AppRunner`` on the harness's socket (``web.SockSite``); at most ``workers``
requests are handled at once, as the ``asyncio`` and ``uvloop`` models cap them, so
each is compared with the hand-written model of its shape at the same setting. What
aiohttp adds is its own HTTP parser, request and response objects, router and
middleware chain.
"""

from __future__ import annotations

import asyncio
import socket
import threading

from suite import loops
from suite.servers import Server
from suite.servers._external import missing
from suite.servers.http11 import handle_async


class AiohttpServer(Server):
    name = "aiohttp"
    summary = "aiohttp.web on asyncio's loop: one process, at most `workers` requests at once"
    order = 40
    family = "event loops"
    use_uvloop = False
    _thread: threading.Thread | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _stopped: asyncio.Event | None = None
    _error: BaseException | None = None

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return super().unavailable_reason() or missing("aiohttp")

    async def _serve(self, listener: socket.socket, ready: threading.Event) -> None:
        from aiohttp import web

        workload, fanout = self.workload, self.fanout
        await workload.prepare_async(self.workers)
        slots = asyncio.Semaphore(self.workers)

        async def task(request: web.Request) -> web.Response:
            async with slots:
                status, body = await handle_async(
                    workload, request.path_qs.encode("latin-1"), fanout, asyncio.gather
                )
            return web.Response(status=status, body=body, content_type="text/plain")

        app = web.Application()
        app.router.add_get("/{tail:.*}", task)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            await web.SockSite(runner, listener).start()
            self._loop, self._stopped = asyncio.get_running_loop(), asyncio.Event()
            ready.set()
            await self._stopped.wait()
        finally:
            await runner.cleanup()
            await workload.close_async()

    def _run(self, listener: socket.socket, ready: threading.Event) -> None:
        try:
            with asyncio.Runner(loop_factory=loops.factory(self.use_uvloop)) as runner:
                runner.run(self._serve(listener, ready))
        except BaseException as exc:  # reported by failure() and start()
            self._error = exc
            ready.set()

    def start(self, listener: socket.socket) -> None:
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(listener, ready), name="serve-aiohttp", daemon=True
        )
        self._thread.start()
        if not ready.wait(timeout=60):
            raise RuntimeError("aiohttp did not start serving within 60 s")
        if self._error is not None:
            raise RuntimeError(f"aiohttp did not start: {self._error!r}")

    def failure(self) -> str | None:
        if self._error is not None:
            return f"aiohttp's loop ended: {self._error!r}"
        return None

    def stop(self) -> None:
        loop, stopped, thread = self._loop, self._stopped, self._thread
        if loop is not None and stopped is not None and thread is not None:
            loop.call_soon_threadsafe(stopped.set)
            thread.join(timeout=5)


class AiohttpUvloopServer(AiohttpServer):
    name = "aiohttp+uvloop"
    summary = "aiohttp.web on uvloop: one process, at most `workers` requests at once"
    order = 41
    use_uvloop = True

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return super().unavailable_reason() or loops.uvloop_missing()


SERVERS = [AiohttpServer, AiohttpUvloopServer]
