"""waitress, the pure-Python WSGI server (Pyramid's default): one process, a thread pool.

Started through its own API (``waitress.create_server`` on the harness's socket) in the
worker process, ``workers`` being its ``threads``: the shape of the ``threads`` model,
whose loop (a selector thread lending connections to pool threads) was written after it.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

from suite.servers import Server
from suite.servers._external import missing
from suite.servers.apps import WsgiApp


class WaitressServer(Server):
    name = "waitress"
    summary = "waitress: one process, a selector thread and `workers` handler threads"
    order = 45
    family = "threads"
    _server: Any = None
    _thread: threading.Thread | None = None

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return super().unavailable_reason() or missing("waitress")

    def start(self, listener: socket.socket) -> None:
        import waitress

        app = WsgiApp(self.workload, self.fanout, self.workers)
        app.prepare()
        self._server = waitress.create_server(
            app,
            sockets=[listener],
            threads=self.workers,
            backlog=4096,
            connection_limit=max(1000, self.workers),
            channel_timeout=120,
            clear_untrusted_proxy_headers=True,
            ident="waitress",
        )
        self._thread = threading.Thread(target=self._server.run, name="serve-waitress", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is not None and thread is not None:
            from waitress import wasyncore

            # Closing waitress's sockets from this thread raced its loop's select (EBADF
            # in the loop's thread); the trigger runs the close in the loop's own thread,
            # and the loop ends when its map is empty.
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map, ignore_all=True))
            thread.join(timeout=2)
            # A handler thread stuck in its task is not waited for: nothing is measured
            # after a load point, and the worker's process ends with the case.
            server.task_dispatcher.shutdown(timeout=0.5)
        self.workload.close()


SERVERS = [WaitressServer]
