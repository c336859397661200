"""gunicorn, the WSGI server most Python web services are deployed with, in its worker kinds.

Started as ``python -m gunicorn`` on the harness's socket (``--bind fd://N``), with
``--preload`` (the app is imported once, in the arbiter, before it forks; each worker
then prepares its own workload) and the handler as a WSGI app
(:mod:`suite.servers.apps`):

- ``gunicorn-sync``: ``workers`` processes of the ``sync`` worker, one request each,
  then the connection closes (the shape of the ``processes`` model);
- ``gunicorn-gthread``: one process of the ``gthread`` worker with ``workers`` threads
  (the shape of the ``threads`` model);
- ``gunicorn-gevent``: ``workers`` processes of the ``gevent`` worker, each a greenlet
  per connection over a patched standard library (gunicorn's default of at most
  :data:`PER_PROCESS_CONNECTIONS`: a greenlet holds its connection while it is kept
  alive, so a smaller cap would leave keep-alive clients waiting to be accepted);
- ``gunicorn-sync+reuseport``: as ``gunicorn-sync`` with ``--reuse-port``: each worker
  binds a socket of its own to the port, and the kernel spreads connections over them.
"""

from __future__ import annotations

import socket
from typing import ClassVar

from suite.servers._external import CommandServer, port_of

#: gunicorn's default ``--worker-connections``, per process of the gevent worker.
PER_PROCESS_CONNECTIONS = 1000


class GunicornSync(CommandServer):
    name = "gunicorn-sync"
    summary = "gunicorn's sync worker: `workers` processes, one request per connection"
    order = 60
    family = "processes"
    packages: ClassVar[tuple[str, ...]] = ("gunicorn",)
    worker_class: ClassVar[str] = "sync"
    reuse_port: ClassVar[bool] = False

    def processes(self) -> int:
        return self.workers

    def concurrency(self) -> int:
        return 1

    def settings(self) -> list[str]:
        return ["--workers", str(self.workers)]

    @property
    def start_method(self) -> str | None:
        return "fork"

    def command(self, listener: socket.socket) -> list[str]:
        bind = f"127.0.0.1:{port_of(listener)}" if self.reuse_port else f"fd://{listener.fileno()}"
        return [
            "-m",
            "gunicorn",
            "--bind",
            bind,
            *(["--reuse-port"] if self.reuse_port else []),
            "--worker-class",
            self.worker_class,
            *self.settings(),
            "--preload",
            "--config",
            "python:suite.servers._gunicorn_conf",
            "--backlog",
            "4096",
            "--timeout",
            "120",
            "--graceful-timeout",
            "2",
            "--log-level",
            "warning",
            "suite.servers.apps:wsgi()",
        ]


class GunicornSyncReusePort(GunicornSync):
    name = "gunicorn-sync+reuseport"
    summary = "gunicorn's sync worker with --reuse-port: a socket per process, the kernel balancing"
    order = 61
    reuse_port = True


class GunicornGthread(GunicornSync):
    name = "gunicorn-gthread"
    summary = "gunicorn's gthread worker: one process with `workers` threads"
    order = 62
    family = "threads"
    worker_class = "gthread"

    def processes(self) -> int:
        return 1

    def concurrency(self) -> int:
        return self.workers

    def settings(self) -> list[str]:
        return ["--workers", "1", "--threads", str(self.workers)]

    @property
    def start_method(self) -> str | None:
        return None


class GunicornGevent(GunicornSync):
    name = "gunicorn-gevent"
    summary = "gunicorn's gevent worker: `workers` processes, each a greenlet per connection (up to 1000)"
    order = 63
    worker_class = "gevent"
    packages = ("gunicorn", "gevent")

    def concurrency(self) -> int:
        return PER_PROCESS_CONNECTIONS

    def settings(self) -> list[str]:
        return ["--workers", str(self.workers), "--worker-connections", str(PER_PROCESS_CONNECTIONS)]


SERVERS = [GunicornSync, GunicornSyncReusePort, GunicornGthread, GunicornGevent]
