"""The event-loop server the asyncio, uvloop and prefork-async models share.

An :class:`asyncio.Protocol` per connection feeds httptools; each complete request
becomes a coroutine (answers on one connection go out in request order). ``limit``
caps the requests being handled at once, as a deployer caps an async server's
concurrency; requests past it wait for a slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, cast

from suite.servers.http11 import PARSE_ERRORS, RequestParser, handle_async, response
from suite.workloads import Workload


class _Connection(asyncio.Protocol):
    def __init__(self, server: AsyncServing) -> None:
        self.server = server
        self.parser = RequestParser()
        self.transport: asyncio.Transport | None = None
        self.pending: deque[tuple[bytes, bool]] = deque()
        self.busy = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.server.connections.add(self)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            done = self.parser.feed(data)
        except PARSE_ERRORS:
            assert self.transport is not None
            self.transport.write(response(400, b"bad request", False))
            self.transport.close()
            return
        while done:
            self.pending.append(done.popleft())
        if not self.busy and self.pending:
            self.busy = True
            self.server.spawn(self._answer_pending())

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.server.connections.discard(self)

    async def _answer_pending(self) -> None:
        try:
            while self.pending and self.transport is not None:
                url, keep_alive = self.pending.popleft()
                async with self.server.slots:
                    status, body = await handle_async(
                        self.server.workload, url, self.server.fanout, asyncio.gather
                    )
                if self.transport is None:
                    return
                self.transport.write(response(status, body, keep_alive))
                if not keep_alive:
                    self.transport.close()
                    return
        finally:
            self.busy = False


class AsyncServing:
    """Serve on a listening socket inside the running loop until :meth:`close`."""

    def __init__(self, workload: Workload, fanout: int, limit: int) -> None:
        self.workload, self.fanout = workload, fanout
        self.slots = asyncio.Semaphore(limit)
        self.tasks: set[asyncio.Task[None]] = set()
        self.connections: set[_Connection] = set()
        self.server: asyncio.Server | None = None

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def serve(
        self, listener: socket.socket, stopped: asyncio.Event, on_listening: Callable[[], None]
    ) -> None:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: _Connection(self), sock=listener, backlog=4096)
        on_listening()
        try:
            await stopped.wait()
        finally:
            self.server.close()
            for task in list(self.tasks):
                task.cancel()
            for connection in list(self.connections):
                if connection.transport is not None:
                    connection.transport.close()
            await asyncio.sleep(0)  # let the transports close


def run_loop(
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None,
    workload: Workload,
    fanout: int,
    limit: int,
    listener: socket.socket,
    on_ready: Callable[[asyncio.AbstractEventLoop, asyncio.Event], None],
) -> None:
    """Run one event loop serving ``listener`` until the event passed to ``on_ready`` is set."""

    async def main() -> None:
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        await workload.prepare_async(limit)
        try:
            serving = AsyncServing(workload, fanout, limit)
            await serving.serve(listener, stopped, lambda: on_ready(loop, stopped))
        finally:
            await workload.close_async()

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main())
