"""uvicorn, the ASGI server of FastAPI and Starlette deployments, with the handler as an ASGI app.

Started as ``python -m uvicorn --fd N --factory suite.servers.apps:asgi`` with
``--http httptools``; ``workers`` is its ``--workers``, the processes it starts (with
``multiprocessing``'s spawn) to share the socket, each one event loop: the shape of the
``processes+uvloop`` and ``processes+asyncio`` models. Each process prepares its workload
in the ASGI lifespan's start-up, before the measured window.
"""

from __future__ import annotations

import socket
from typing import ClassVar

from suite.servers._external import LoopPerProcess


class Uvicorn(LoopPerProcess):
    name = "uvicorn"
    summary = "uvicorn on uvloop and httptools: `workers` processes (--workers), an event loop each"
    order = 50
    packages: ClassVar[tuple[str, ...]] = ("uvicorn", "uvloop")
    loop: ClassVar[str] = "uvloop"

    def command(self, listener: socket.socket) -> list[str]:
        return [
            "-m",
            "uvicorn",
            "--fd",
            str(listener.fileno()),
            "--workers",
            str(self.workers),
            "--loop",
            self.loop,
            "--http",
            "httptools",
            "--lifespan",
            "on",
            "--backlog",
            "4096",
            "--timeout-graceful-shutdown",
            "2",
            "--log-level",
            "warning",
            "--no-access-log",
            "--factory",
            "suite.servers.apps:asgi",
        ]


class UvicornAsyncio(Uvicorn):
    name = "uvicorn+asyncio"
    summary = "uvicorn on asyncio's own loop and httptools: `workers` processes, an event loop each"
    order = 51
    packages = ("uvicorn",)
    loop = "asyncio"


SERVERS = [Uvicorn, UvicornAsyncio]
