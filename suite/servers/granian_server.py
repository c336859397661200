"""granian: a Rust HTTP server (tokio, hyper) calling the Python handler.

Started as ``python -m granian`` with ``--factory``; granian binds the port itself, so
the harness only reserves one (:attr:`~suite.servers.Server.binds_itself`). Two forms:

- ``granian``: the WSGI interface, one process whose handler runs in ``workers``
  blocking threads (``--blocking-threads``) while Rust reads and writes the sockets:
  the ``threads`` model's shape with the I/O moved out of Python;
- ``granian-asgi``: the ASGI interface, ``workers`` processes (``--workers``), each an
  event loop (uvloop): the shape of ``uvicorn`` and ``processes+uvloop``.
"""

from __future__ import annotations

import socket
from typing import ClassVar

from suite.servers._external import CommandServer, LoopPerProcess, port_of


class Granian(CommandServer):
    name = "granian"
    summary = "granian (Rust I/O), WSGI: one process, `workers` blocking threads run the handler"
    order = 70
    family = "threads"
    binds_itself = True
    packages: ClassVar[tuple[str, ...]] = ("granian",)

    def settings(self) -> list[str]:
        return [
            "--interface",
            "wsgi",
            "--workers",
            "1",
            "--blocking-threads",
            str(self.workers),
            "--factory",
            "suite.servers.apps:wsgi_prepared",
        ]

    def command(self, listener: socket.socket) -> list[str]:
        port = port_of(listener)
        listener.close()  # it only reserved the port: granian binds it
        return [
            "-m",
            "granian",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backlog",
            "4096",
            "--log-level",
            "warning",
            "--no-ws",
            *self.settings(),
        ]


class GranianAsgi(LoopPerProcess, Granian):
    name = "granian-asgi"
    summary = "granian (Rust I/O), ASGI: `workers` processes, a uvloop event loop each"
    order = 71
    packages = ("granian", "uvloop")

    def settings(self) -> list[str]:
        return [
            "--interface",
            "asgi",
            "--workers",
            str(self.workers),
            "--loop",
            "uvloop",
            "--factory",
            "suite.servers.apps:asgi",
        ]


SERVERS = [Granian, GranianAsgi]
