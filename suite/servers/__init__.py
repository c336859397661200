"""Serve mode: each concurrency model as a web server whose handler runs one task.

A server model is one module in this package that names its :class:`Server` subclasses
in ``SERVERS``. Every model speaks HTTP/1.1 through :mod:`suite.servers.http11` (one
parser, httptools, for all), answers ``GET /task?i=N`` with the value of request ``N``'s
work, and keeps connections alive. The harness binds the listening socket (127.0.0.1,
a port the OS picks), hands it to :meth:`Server.start`, points a load generator at it
and calls :meth:`Server.stop`.

Servers may import :mod:`suite.workloads`, :mod:`suite.tasks`, :mod:`suite.loops` and
:mod:`suite.errors`,
nothing else of the suite; the harness runs them, never the other way round.
"""

from __future__ import annotations

import abc
import contextlib
import ctypes
import importlib.util
import multiprocessing
import os
import signal
import socket
from collections.abc import Mapping
from typing import Any, ClassVar

from suite.workloads import Workload


class Server(abc.ABC):
    """A model serving requests on a socket it is given.

    :param workload: the handler's work; request ``i`` runs its tasks
        ``i * fanout .. i * fanout + fanout - 1``
    :param workers: what a deployer sets for the model: the thread pool's size, the
        number of processes, the most requests in flight on an event loop
    :param fanout: tasks per request (backend calls, for the ``http`` kind)
    """

    #: The model's name as serve scenarios spell it.
    name: ClassVar[str]
    summary: ClassVar[str]
    order: ClassVar[int] = 100
    #: ``baseline``, ``event loops``, ``threads``, ``processes``: as the batch models'.
    family: ClassVar[str] = "others"
    #: Set when the model ignores ``workers`` (the one-at-a-time baseline).
    fixed_workers: ClassVar[int | None] = None
    #: Whether each process of the model listens on a socket of its own, bound to one
    #: port with ``SO_REUSEPORT`` so the kernel spreads connections over them. The
    #: harness then binds the port with ``SO_REUSEPORT`` but does not listen on it (a
    #: listening socket would take its share of the connections); it only holds the port.
    reuse_port: ClassVar[bool] = False
    #: Whether the server binds the port itself (granian takes an address, not a
    #: socket): the model closes the harness's socket, which only reserved the port,
    #: just before its server binds it.
    binds_itself: ClassVar[bool] = False

    def __init__(
        self, workload: Workload, workers: int, fanout: int = 1, options: Mapping[str, Any] | None = None
    ) -> None:
        self.workload = workload
        self.workers = workers
        self.fanout = fanout
        self.options = dict(options or {})

    @classmethod
    def listens_itself(cls) -> bool:
        """Whether the harness's socket only reserves the port (it does not listen)."""
        return cls.reuse_port or cls.binds_itself

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """Why the model cannot serve on this interpreter (what to install), or ``None``."""
        if importlib.util.find_spec("httptools") is None:
            return "every server model parses HTTP with httptools: pip install httptools"
        return None

    @abc.abstractmethod
    def start(self, listener: socket.socket) -> None:
        """Serve on ``listener`` (bound, listening) in the background; return once ready."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop serving and release everything :meth:`start` made (threads, processes)."""

    def failure(self) -> str | None:
        """Why the server can no longer answer (a process of it died), or ``None``."""
        return None

    @property
    def start_method(self) -> str | None:
        return None


class ProcessFamily:
    """Processes serving one listening socket, each forked from the worker (the prefork
    shape of gunicorn and uvicorn's ``--workers``): any of them may accept a connection,
    which then stays with it."""

    def __init__(self) -> None:
        self.processes: list[Any] = []

    def spawn(self, count: int, target: Any, *args: Any) -> None:
        # fork: the listening socket and the prepared workload parameters are inherited,
        # as a prefork server does it; no threads run in the worker yet.
        context = multiprocessing.get_context("fork")
        ready = context.Barrier(count + 1)
        for _ in range(count):
            process = context.Process(target=_child, args=(ready, target, *args), daemon=True)
            process.start()
            self.processes.append(process)
        ready.wait(timeout=60)

    def failure(self) -> str | None:
        for process in self.processes:
            code = process.exitcode
            if code is not None:
                how = (
                    f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"
                )
                return f"server process {process.pid} {how}"
        return None

    def stop(self) -> None:
        for process in self.processes:
            if process.exitcode is None and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        for process in self.processes:
            process.join(timeout=2)
            if process.exitcode is None:
                process.kill()
                process.join(timeout=2)
        self.processes = []


def own_listener(listener: socket.socket) -> socket.socket:
    """A listening socket of this process's own on ``listener``'s port (``SO_REUSEPORT``).

    The socket inherited from the parent is closed here: it is not listening, and the
    port stays bound by the new one."""
    port = listener.getsockname()[1]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(4096)
    listener.close()
    return sock


def _child(ready: Any, target: Any, *args: Any) -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    target(ready, *args)
