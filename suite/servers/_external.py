"""Servers the suite does not write, started as their users start them: a command line.

:class:`CommandServer` runs ``python -m <server> ...`` with the harness's listening
socket passed down as a file descriptor (gunicorn's ``fd://N``, uvicorn's ``--fd N``) and
the case's app in the environment (:mod:`suite.servers.apps`). It waits until every
serving process has prepared its workload and marked itself ready, so start-up stays
outside the measured window; :meth:`CommandServer.failure` reports the server's exit
with the end of its log; :meth:`CommandServer.stop` stops the whole tree, by the
server's own signal first, then by killing what is left.
"""

from __future__ import annotations

import abc
import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from typing import IO, ClassVar

import psutil

from suite.servers import Server
from suite.servers.apps import app_env, ready_count

#: How long every process of a server may take to start and prepare its workload.
READY_TIMEOUT_S = 120.0
#: The end of the server's log that a failure quotes.
LOG_TAIL_BYTES = 1500
LOG_TAIL_LINES = 3


#: What each process of a prefork event-loop server sizes its workload's clients for
#: (uvicorn and granian do not cap requests in flight; the suite's own prefork event
#: loops allow 100 each).
PER_PROCESS_CONCURRENCY = 100


def missing(*packages: str) -> str | None:
    """Why a model built on ``packages`` cannot run here (the install line), or ``None``."""
    absent = [p for p in packages if importlib.util.find_spec(p) is None]
    if absent:
        return f"{' and '.join(absent)} not installed for this interpreter: pip install {' '.join(absent)}"
    return None


def port_of(listener: socket.socket) -> int:
    return int(listener.getsockname()[1])


def _processes(pids: Iterable[int]) -> list[psutil.Process]:
    found = []
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            found.append(psutil.Process(pid))
    return found


def _running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class CommandServer(Server):
    """A server started as a command in a process tree of its own."""

    #: The packages the command needs (their absence makes the model unavailable).
    packages: ClassVar[tuple[str, ...]] = ()
    _proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None
    _ready_dir: str | None = None
    #: The processes that marked themselves ready (they serve the requests).
    _serving: tuple[psutil.Process, ...] = ()

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return super().unavailable_reason() or missing(*cls.packages)

    @abc.abstractmethod
    def command(self, listener: socket.socket) -> list[str]:
        """The command line (after ``python``) serving on ``listener``."""

    def processes(self) -> int:
        """How many processes serve, each marking itself ready."""
        return 1

    def concurrency(self) -> int:
        """What each serving process prepares its workload for (its client's size)."""
        return self.workers

    def start(self, listener: socket.socket) -> None:
        self._ready_dir = tempfile.mkdtemp(prefix="suite-serve-ready-")
        self._log = tempfile.TemporaryFile(prefix="suite-serve-log-")  # noqa: SIM115 (closed in stop())
        env = {
            **os.environ,
            **app_env(self.workload, self.fanout, self._ready_dir),
            "SUITE_SERVE_CONCURRENCY": str(self.concurrency()),
            # This process's import path, so the pickled workload (a user's module's
            # callable, say) unpickles in the server's processes too.
            "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        }
        command = self.command(listener)  # may close it (a server that binds itself)
        self._proc = subprocess.Popen(
            [sys.executable, *command],
            env=env,
            pass_fds=(listener.fileno(),) if listener.fileno() >= 0 else (),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + READY_TIMEOUT_S
        wanted = self.processes()
        while ready_count(self._ready_dir) < wanted:
            reason = self.failure()
            if reason is not None:
                self.stop()
                raise RuntimeError(f"{self.name} did not start: {reason}")
            if time.monotonic() > deadline:
                seen = ready_count(self._ready_dir)
                self.stop()
                raise RuntimeError(
                    f"{self.name}: {seen} of {wanted} processes ready after {READY_TIMEOUT_S:.0f} s"
                )
            time.sleep(0.02)
        self._serving = tuple(_processes(int(name) for name in os.listdir(self._ready_dir)))

    def log_tail(self) -> str:
        if self._log is None:
            return ""
        with contextlib.suppress(OSError, ValueError):
            self._log.seek(0, os.SEEK_END)
            size = self._log.tell()
            self._log.seek(max(0, size - LOG_TAIL_BYTES))
            lines = self._log.read().decode("utf-8", "replace").strip().splitlines()
            return " | ".join(line.strip() for line in lines[-LOG_TAIL_LINES:])
        return ""

    def failure(self) -> str | None:
        if self._proc is None:
            return None
        code = self._proc.poll()
        if code is None:
            # A prefork server replaces a worker that dies and goes on; the case still
            # lost the requests that worker held, and fails as the suite's prefork does.
            gone = [p.pid for p in self._serving if not _running(p)]
            if not gone:
                return None
            tail = self.log_tail()
            return f"{self.name}'s serving process {gone[0]} died" + (
                f"; its log ends: {tail}" if tail else ""
            )
        how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"
        tail = self.log_tail()
        return f"{self.name} (pid {self._proc.pid}) {how}" + (f"; its log ends: {tail}" if tail else "")

    def stop(self) -> None:
        """Kill the whole tree at once. Nothing is measured after a load point and nothing
        of a server's needs flushing; a graceful stop cost up to 2 s a load point
        (uvicorn's supervisor, gunicorn's arbiter), most of a quick run's serving."""
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
            except psutil.NoSuchProcess:
                tree = []
            for member in tree:
                with contextlib.suppress(psutil.NoSuchProcess):
                    member.kill()
            proc.wait()
            # Killed children of a killed parent are zombies until init reaps them:
            # gone for this purpose (psutil.wait_procs waited for the reaping, ~1 s).
            deadline = time.monotonic() + 2
            while any(_running(member) for member in tree) and time.monotonic() < deadline:
                time.sleep(0.01)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._ready_dir is not None:
            shutil.rmtree(self._ready_dir, ignore_errors=True)
            self._ready_dir = None


class LoopPerProcess(CommandServer):
    """A server that spawns ``workers`` processes, each an event loop (uvicorn, granian's ASGI)."""

    family = "processes"

    def processes(self) -> int:
        return self.workers

    def concurrency(self) -> int:
        return PER_PROCESS_CONCURRENCY

    @property
    def start_method(self) -> str | None:
        return "spawn" if self.workers > 1 else None
