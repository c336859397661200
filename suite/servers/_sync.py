"""The blocking server loop the sequential, thread-pool and prefork models share.

One thread waits on a selector for new connections and for requests on open ones (the
shape of waitress and of a prefork "sync worker" with keep-alive). A complete request is
handled either right there, one at a time (``pool=None``), or by a thread of a pool, to
which the connection is lent until its answer is sent; then it returns to the selector.
"""

from __future__ import annotations

import contextlib
import queue
import selectors
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from suite.servers.http11 import PARSE_ERRORS, Answer, RequestParser, response

RECV_BYTES = 65536


def answer_one(conn: socket.socket, handler: Callable[[bytes], Answer]) -> None:
    """Read one request from a blocking connection, answer it with ``Connection: close``."""
    parser = RequestParser()
    try:
        while not parser.done:
            data = conn.recv(RECV_BYTES)
            if not data:
                return
            parser.feed(data)
    except OSError:
        return
    except PARSE_ERRORS:
        return
    url, _ = parser.done.popleft()
    status, body = handler(url)
    with contextlib.suppress(OSError):
        conn.sendall(response(status, body, keep_alive=False))


class SyncLoop:
    def __init__(
        self,
        listener: socket.socket,
        handler: Callable[[bytes], Answer],
        pool: ThreadPoolExecutor | None,
    ) -> None:
        self.listener, self.handler, self.pool = listener, handler, pool
        self.selector = selectors.DefaultSelector()
        self.parsers: dict[socket.socket, RequestParser] = {}
        self.returned: queue.SimpleQueue[socket.socket] = queue.SimpleQueue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self.stopping = threading.Event()

    def wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def stop(self) -> None:
        self.stopping.set()
        self.wake()

    def run(self) -> None:
        self.listener.setblocking(False)
        self.selector.register(self.listener, selectors.EVENT_READ)
        self.selector.register(self._wake_r, selectors.EVENT_READ)
        try:
            while not self.stopping.is_set():
                for key, _ in self.selector.select(timeout=1.0):
                    sock = key.fileobj
                    if sock is self.listener:
                        self._accept()
                    elif sock is self._wake_r:
                        with contextlib.suppress(BlockingIOError):
                            self._wake_r.recv(4096)
                    else:
                        assert isinstance(sock, socket.socket)
                        self._read(sock)
                while not self.returned.empty():
                    conn = self.returned.get()
                    if conn.fileno() >= 0:
                        self.selector.register(conn, selectors.EVENT_READ)
        finally:
            for conn in list(self.parsers):
                self._close(conn)
            self.selector.close()
            self._wake_r.close()
            self._wake_w.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # e.g. out of descriptors: the client sees it refused
            conn.setblocking(True)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.parsers[conn] = RequestParser()
            self.selector.register(conn, selectors.EVENT_READ)

    def _close(self, conn: socket.socket) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(conn)
        self.parsers.pop(conn, None)
        conn.close()

    def _read(self, conn: socket.socket) -> None:
        try:
            data = conn.recv(RECV_BYTES)
        except OSError:
            data = b""
        if not data:
            self._close(conn)
            return
        parser = self.parsers[conn]
        try:
            requests = parser.feed(data)
        except PARSE_ERRORS:
            with contextlib.suppress(OSError):
                conn.sendall(response(400, b"bad request", False))
            self._close(conn)
            return
        if not requests:
            return
        if self.pool is None:
            self._answer(conn, parser)
            return
        self.selector.unregister(conn)  # lent to a pool thread until answered
        self.pool.submit(self._answer_and_return, conn, parser)

    def _answer(self, conn: socket.socket, parser: RequestParser) -> bool:
        """Answer every complete request of ``conn``; ``False`` if it was closed."""
        while parser.done:
            url, keep_alive = parser.done.popleft()
            status, body = self.handler(url)
            try:
                conn.sendall(response(status, body, keep_alive))
            except OSError:
                keep_alive = False
            if not keep_alive:
                self._close(conn)
                return False
        return True

    def _answer_and_return(self, conn: socket.socket, parser: RequestParser) -> None:
        try:
            open_ = self._answer(conn, parser)
        except BaseException:
            self._close(conn)
            raise
        if open_:
            self.returned.put(conn)
            self.wake()
