"""A thread pool serving requests: ``workers`` threads, a selector thread lending them connections."""

from __future__ import annotations

import socket
import threading
from concurrent.futures import ThreadPoolExecutor

from suite.servers import Server
from suite.servers._sync import SyncLoop
from suite.servers.http11 import Answer, handle


class ThreadPoolServer(Server):
    name = "threads"
    summary = "a pool of `workers` threads; one selector thread hands them requests (the waitress shape)"
    order = 20
    family = "threads"
    _loop: SyncLoop | None = None
    _thread: threading.Thread | None = None
    _pool: ThreadPoolExecutor | None = None

    def handler(self, url: bytes) -> Answer:
        return handle(self.workload, url, self.fanout)

    def start(self, listener: socket.socket) -> None:
        self.workload.prepare(self.workers)
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="serve")
        # Start every thread now, outside the measured window.
        for future in [self._pool.submit(threading.Event().wait, 0.01) for _ in range(self.workers)]:
            future.result()
        self._loop = SyncLoop(listener, self.handler, pool=self._pool)
        self._thread = threading.Thread(target=self._loop.run, name="serve-selector", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.stop()
            self._thread.join(timeout=5)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self.workload.close()


SERVERS = [ThreadPoolServer]
