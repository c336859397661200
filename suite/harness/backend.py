"""Servers the parent runs for the cases that need one (``Workload.backend``).

Each backend is a program, ``python -m suite.harness.<name>``, that prints one JSON line (its
endpoint) when it is ready. It runs in a session of its own, outside every timed region,
and is shared by all the cases of a run; it is stopped with its whole process group.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from typing import Any

from suite.errors import SuiteError
from suite.harness.launcher import LineReader, exit_reason, stderr_tail
from suite.harness.procgroup import child_env, stop_group

READY_TIMEOUT_S = 15.0


class BackendError(SuiteError):
    """A backend server did not come up, or died while cases still needed it."""


class Backend:
    """One server process. :meth:`start` returns the endpoint it reported."""

    def __init__(
        self, name: str, python: str = sys.executable, ready_timeout_s: float = READY_TIMEOUT_S
    ) -> None:
        self.name, self.python, self.ready_timeout_s = name, python, ready_timeout_s
        self.proc: subprocess.Popen[bytes] | None = None
        self.endpoint: dict[str, Any] = {}
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())

    def command(self) -> list[str]:
        return [self.python, "-m", f"suite.harness.{self.name}"]

    def start(self) -> dict[str, Any]:
        self.proc = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        reader = LineReader(self.proc.stdout)
        try:
            ready = reader.next(self.ready_timeout_s)
        except TimeoutError:
            self.stop()
            raise BackendError(
                f"the backend suite.harness.{self.name} did not report ready "
                f"within {self.ready_timeout_s:g} s"
            ) from None
        finally:
            reader.close()
        if ready is None:
            self.proc.wait(timeout=5)
            detail = stderr_tail(self._stderr)
            code = exit_reason(self.proc.returncode)
            self.stop()
            raise BackendError(
                f"the backend suite.harness.{self.name} exited before it was ready ({code})\n{detail}"
            )
        self.endpoint = ready
        return ready

    def check_alive(self) -> None:
        """Raise if the server has died since it started: it is never restarted silently."""
        if self.proc is not None and self.proc.poll() is not None:
            tail = stderr_tail(self._stderr)
            raise BackendError(
                f"the backend suite.harness.{self.name} died during the run "
                f"({exit_reason(self.proc.returncode)})" + (f"; its last words: {tail}" if tail else "")
            )

    def stop(self) -> None:
        if self.proc is not None:
            stop_group(self.proc)
            assert self.proc.stdout is not None
            self.proc.stdout.close()
            self.proc = None
        self._stderr.close()


class Backends:
    """The backends of one run, each started when a case first needs it."""

    def __init__(self, python: str = sys.executable, given: dict[str, dict[str, Any]] | None = None) -> None:
        self.python = python
        self._running: dict[str, Backend] = {}
        self._failed: dict[str, BackendError] = {}
        #: Endpoints the user gave (``--postgres DSN``): used as they are, never started.
        self._given = dict(given or {})

    def endpoint(self, name: str) -> dict[str, Any]:
        if name in self._given:
            return self._given[name]
        if name in self._failed:  # one failed start fails every case that needs it, fast
            raise self._failed[name]
        backend = self._running.get(name)
        if backend is None:
            backend = Backend(name, self.python)
            try:
                backend.start()
            except BackendError as exc:
                self._failed[name] = exc
                raise
            self._running[name] = backend
        backend.check_alive()
        return backend.endpoint

    def close(self) -> None:
        for backend in self._running.values():
            backend.stop()
        self._running.clear()
