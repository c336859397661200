"""The baseline server: one thread answers one request at a time, across all connections."""

from __future__ import annotations

import socket
import threading

from suite.servers import Server
from suite.servers._sync import SyncLoop
from suite.servers.http11 import Answer, handle


class SequentialServer(Server):
    name = "sequential"
    summary = "one request at a time: a selector loop that answers each request before the next"
    order = 0
    family = "baseline"
    fixed_workers = 1
    _loop: SyncLoop | None = None
    _thread: threading.Thread | None = None

    def handler(self, url: bytes) -> Answer:
        return handle(self.workload, url, self.fanout)

    def start(self, listener: socket.socket) -> None:
        self.workload.prepare(1)
        self._loop = SyncLoop(listener, self.handler, pool=None)
        self._thread = threading.Thread(target=self._loop.run, name="serve", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.stop()
            self._thread.join(timeout=5)
        self.workload.close()


SERVERS = [SequentialServer]
