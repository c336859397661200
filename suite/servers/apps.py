"""The handler as the frameworks take it: a WSGI app and an ASGI app around the same work.

The real servers (gunicorn, uvicorn, waitress, gevent's pywsgi) run in processes the
suite does not write: they import an app by name. :func:`wsgi` and :func:`asgi` are
those apps' factories. They rebuild the case's workload from :data:`APP_ENV`, which the
server model fills (:func:`app_env`), and answer ``GET /task?i=N`` through
:func:`suite.servers.http11.handle` / :func:`~suite.servers.http11.handle_async`, the
same code, and so the same value, as every other server model.

Each process that serves says it is ready by creating a file in :data:`READY_ENV`'s
folder once its workload is prepared, so the model can wait for every process of a
prefork server, not only the first to answer.
"""

from __future__ import annotations

import asyncio
import base64
import os
import pickle
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from pathlib import Path
from typing import Any

from suite.servers.http11 import REASONS, Answer, handle, handle_async
from suite.workloads import Workload

#: The pickled workload and fanout of the case, base64, for the app factories.
APP_ENV = "SUITE_SERVE_APP"
#: The folder where each serving process marks itself ready.
READY_ENV = "SUITE_SERVE_READY"

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def app_env(workload: Workload, fanout: int, ready_dir: str) -> dict[str, str]:
    """The environment variables a server process needs to build the app."""
    blob = base64.b64encode(pickle.dumps((workload, fanout))).decode("ascii")
    return {APP_ENV: blob, READY_ENV: ready_dir}


def _from_env() -> tuple[Workload, int]:
    blob = os.environ.get(APP_ENV)
    if not blob:
        raise RuntimeError(f"{APP_ENV} is not set: this app is started by a suite server model")
    workload, fanout = pickle.loads(base64.b64decode(blob))
    return workload, fanout


def mark_ready() -> None:
    """Say this process serves (a file named by its pid in the ready folder)."""
    folder = os.environ.get(READY_ENV)
    if folder:
        Path(folder, str(os.getpid())).touch()


def ready_count(folder: str) -> int:
    return len(os.listdir(folder))


def _headers(body: bytes) -> list[tuple[str, str]]:
    return [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]


def _status_line(status: int) -> str:
    return f"{status} {REASONS.get(status, b'Error').decode()}"


class WsgiApp:
    """The handler as a WSGI application. Prepared lazily, in the process that serves:
    a prefork server imports the app before it forks, and a connection pool made then
    would be shared by every child."""

    def __init__(self, workload: Workload, fanout: int, concurrency: int) -> None:
        self.workload, self.fanout, self.concurrency = workload, fanout, concurrency
        self.prepared_in: int | None = None

    def prepare(self) -> None:
        """Prepare the workload in this process (once) and mark the process ready."""
        if self.prepared_in != os.getpid():
            self.workload.prepare(self.concurrency)
            self.prepared_in = os.getpid()
        mark_ready()

    def answer(self, url: bytes) -> Answer:
        if self.prepared_in != os.getpid():
            self.prepare()
        return handle(self.workload, url, self.fanout)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        query = environ.get("QUERY_STRING", "")
        url = (environ.get("PATH_INFO", "/") + ("?" + query if query else "")).encode("latin-1")
        status, body = self.answer(url)
        start_response(_status_line(status), _headers(body))
        return [body]


def wsgi() -> WsgiApp:
    """The WSGI app of the case in :data:`APP_ENV` (gunicorn: ``suite.servers.apps:wsgi()``)."""
    workload, fanout = _from_env()
    return WsgiApp(workload, fanout, int(os.environ.get("SUITE_SERVE_CONCURRENCY", "1")))


def wsgi_prepared() -> WsgiApp:
    """The WSGI app, prepared in the process that loads it (granian loads its target in
    each worker process, and has no hook after the fork as gunicorn has)."""
    app = wsgi()
    app.prepare()
    return app


class AsgiApp:
    """The handler as an ASGI application; its lifespan prepares the workload."""

    def __init__(self, workload: Workload, fanout: int, concurrency: int) -> None:
        self.workload, self.fanout, self.concurrency = workload, fanout, concurrency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        url = scope["path"].encode("latin-1")
        if scope.get("query_string"):
            url += b"?" + scope["query_string"]
        status, body = await handle_async(self.workload, url, self.fanout, asyncio.gather)
        headers = [(k.lower().encode(), v.encode()) for k, v in _headers(body)]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.workload.prepare_async(self.concurrency)
                mark_ready()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.workload.close_async()
                await send({"type": "lifespan.shutdown.complete"})
                return


def asgi() -> AsgiApp:
    """The ASGI app of the case in :data:`APP_ENV` (uvicorn: ``--factory suite.servers.apps:asgi``)."""
    workload, fanout = _from_env()
    return AsgiApp(workload, fanout, int(os.environ.get("SUITE_SERVE_CONCURRENCY", "100")))
