"""Subinterpreters, each with its own GIL, driven by one thread each (Python 3.13+).

A subinterpreter with its own GIL can import only extension modules that support it,
so it runs the task from :mod:`suite.tasks`, the same function every other model
runs. The thread passes the task index in and reads ``value start end`` back through a
pipe of that interpreter's own. Python 3.14 has ``concurrent.interpreters``; 3.13 only
the private ``_interpreters`` (the PyPI backport hangs in its executor on 3.13.0).
"""

from __future__ import annotations

import importlib.util
import json
import os
import queue
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from suite.models import RoundResult, Runner, timed
from suite.models.threads import start_threads
from suite.workloads import SharedState, TimedValue, Workload, WorkloadParams

SETUP = """
import json as _json, os as _os, sys as _sys, time as _time
_sys.path[:] = _json.loads(path)
from suite import tasks as _purework
_task = _purework.bind(kind, _json.loads(arguments), _json.loads(fault))
_fd = fd
"""
TASK = """
_start = _time.perf_counter()
_value = _task(index)
_end = _time.perf_counter()
_os.write(_fd, f"{_value} {_start!r} {_end!r}\\n".encode())
"""


class SubinterpreterError(RuntimeError):
    """Code run in a subinterpreter raised; the message carries its exception."""


class Subinterpreter:
    """One interpreter with its own GIL, on whichever API this Python offers."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        if sys.version_info >= (3, 14):
            from concurrent import interpreters  # type: ignore[attr-defined,unused-ignore]

            self._interp: Any = interpreters.create()
        else:
            import _interpreters  # type: ignore[import-not-found]

            self._interp = _interpreters.create()

    def run(self, code: str, **shared: Any) -> None:
        if sys.version_info >= (3, 14):
            self._interp.prepare_main(**shared)
            try:
                self._interp.exec(code)
            except Exception as exc:  # interpreters.ExecutionFailed
                raise SubinterpreterError(str(exc)) from exc
            return
        import _interpreters

        failure = _interpreters.exec(self._interp, code, shared=shared)
        if failure is not None:
            raise SubinterpreterError(f"{failure.type.__name__}: {failure.msg}")

    def read_line(self) -> str:
        data = b""
        while not data.endswith(b"\n"):
            chunk = os.read(self.read_fd, 4096)
            if not chunk:
                raise SubinterpreterError("the subinterpreter's pipe closed")
            data += chunk
        return data.decode()

    def close(self) -> None:
        try:
            if sys.version_info >= (3, 14):
                self._interp.close()
            else:
                import _interpreters

                _interpreters.destroy(self._interp)
        finally:
            os.close(self.read_fd)
            os.close(self.write_fd)


class InterpretersRunner(Runner):
    name = "interpreters"
    summary = "subinterpreters with their own GIL, one per worker thread (3.13+)"
    order = 25
    _pool: ThreadPoolExecutor | None = None

    def __init__(self, workload: Workload, workers: int, options: dict[str, Any] | None = None) -> None:
        super().__init__(workload, workers, options)
        self._free: queue.SimpleQueue[Subinterpreter] = queue.SimpleQueue()
        self._all: list[Subinterpreter] = []

    @classmethod
    def unavailable_reason(cls) -> str | None:
        if sys.version_info < (3, 13):
            return (
                "subinterpreters with their own GIL need Python 3.13 or later; "
                "run the workers under one with --python"
            )
        if sys.version_info < (3, 14) and importlib.util.find_spec("_interpreters") is None:
            return "this Python 3.13 build has no _interpreters module"
        return None

    @classmethod
    def unavailable_for(cls, workload: type[Workload]) -> str | None:
        if issubclass(workload, SharedState):
            return (
                f"subinterpreters share no Python objects, so the {workload.kind} workload's tasks "
                "have no common state to update"
            )
        if workload.pure_task is Workload.pure_task:
            return f"the {workload.kind} workload has no dependency-free task to run in a subinterpreter"
        return None

    @classmethod
    def unavailable_with(cls, params: WorkloadParams) -> str | None:
        if params.payload is not None:
            return (
                "the subinterpreters model passes each task only its index (through a pipe): "
                "it does not move a payload yet"
            )
        return None

    def start(self) -> None:
        spec = self.workload.pure_task()
        assert spec is not None
        kind, arguments = spec
        for _ in range(self.workers):
            sub = Subinterpreter()
            self._all.append(sub)
            sub.run(
                SETUP,
                path=json.dumps(sys.path),
                kind=kind,
                arguments=json.dumps(arguments),
                fault=json.dumps(self.workload.fault_spec()),
                fd=sub.write_fd,
            )
            self._free.put(sub)
        self._pool = start_threads(self.workers)

    def _run(self, index: int) -> TimedValue:
        sub = self._free.get()  # as many interpreters as threads: never waits
        try:
            sub.run(TASK, index=index)
            value, start, end = sub.read_line().split()
        finally:
            self._free.put(sub)
        return int(value), float(start), float(end)

    def run_round(self, tasks: int, round_no: int) -> RoundResult:
        assert self._pool is not None, "start() was not called"
        pool = self._pool
        return timed(lambda: list(pool.map(self._run, range(tasks))))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        for sub in self._all:
            sub.close()
        self.workload.close()  # what pure_task() made (a file kind's folder)


RUNNERS = (InterpretersRunner,)
