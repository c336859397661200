"""gevent: greenlets over a patched standard library, the common alternative to asyncio.

The tasks run the workload's ordinary (blocking) code, as threads would, in a
``gevent.pool.Pool`` of ``workers`` greenlets; gevent's patches make each blocking
call (a socket read, ``time.sleep``) switch to another greenlet instead of waiting.
Patching must come before anything imports the standard library's blocking parts,
so the pool lives in a process of its own started with ``monkey.patch_all()`` as its
first statement (:mod:`suite.models._gevent_child`), one per case; the round's clock
runs in that process. Like an event loop, every task runs in one thread: one CPU.
"""

from __future__ import annotations

import contextlib
import importlib.util
import signal
import socket
import subprocess
import sys
from multiprocessing.connection import Connection
from typing import Any

from suite.errors import WorkerDied
from suite.models import RoundResult, Runner

BOOT = "from gevent import monkey; monkey.patch_all(); from suite.models._gevent_child import main; main()"
#: How long the process may take to start, import gevent and prepare the workload.
START_TIMEOUT_S = 60.0


class GeventRunner(Runner):
    name = "gevent"
    summary = "a gevent greenlet pool of `workers` over a patched standard library (its own process)"
    order = 15
    family = "event loops"
    one_cpu = True
    _proc: subprocess.Popen[bytes] | None = None
    _conn: Connection | None = None

    @classmethod
    def unavailable_reason(cls) -> str | None:
        if importlib.util.find_spec("gevent") is None:
            return "gevent is not installed for this interpreter (pip install gevent)"
        return None

    def start(self) -> None:
        ours, theirs = socket.socketpair()
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", BOOT, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        finally:
            theirs.close()
        self._conn = Connection(ours.detach())
        self._conn.send(sys.path)
        self._conn.send((self.workload, self.workers))
        if not self._conn.poll(START_TIMEOUT_S):
            raise WorkerDied(f"the gevent process did not start within {START_TIMEOUT_S:.0f} s")
        self._receive()

    def _receive(self) -> Any:
        assert self._conn is not None
        assert self._proc is not None
        try:
            return self._conn.recv()
        except (EOFError, OSError):
            code = self._proc.wait(timeout=5)
            how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"
            raise WorkerDied(f"worker died: the gevent process (pid {self._proc.pid}) {how}") from None

    def run_round(self, tasks: int, round_no: int) -> RoundResult:
        assert self._conn is not None, "start() was not called"
        self._conn.send(("round", tasks, round_no))
        answer = self._receive()
        if answer[0] == "error":
            raise answer[1]
        _, started, duration, values = answer
        return RoundResult(started, duration, values)

    def close(self) -> None:
        conn, proc = self._conn, self._proc
        self._conn = self._proc = None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.send(("close",))
            conn.close()
        if proc is not None:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


RUNNERS = (GeventRunner,)
