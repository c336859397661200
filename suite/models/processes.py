"""A ProcessPoolExecutor of ``workers`` processes, one model per start method.

Each pool process gets the workload once, through the pool's initializer, and prepares
its own data; a task sends only its index and returns an int.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from typing import ClassVar

from ..workloads import Workload
from . import RoundResult, Runner, timed
from ._installed import install, task_for_round


def _pid_after(delay_s: float) -> int:
    time.sleep(delay_s)
    return os.getpid()


def start_processes(workload: Workload, workers: int, method: str) -> ProcessPoolExecutor:
    """A process pool whose processes all run and hold a prepared ``workload``."""
    pool = ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context(method), initializer=install, initargs=(workload,)
    )
    # Pools may start processes on demand; keep submitting short waits until every
    # process has answered, so no round pays for process start-up.
    seen: set[int] = set()
    delay = 0.005
    for _ in range(20):
        if len(seen) == workers:
            break
        seen.update(pool.map(_pid_after, [delay] * workers))
        delay = min(delay * 2, 0.2)
    return pool


class ProcessesRunner(Runner):
    name = "processes"
    summary = "concurrent.futures.ProcessPoolExecutor, the interpreter's default start method"
    order = 30
    method: ClassVar[str | None] = None
    _pool: ProcessPoolExecutor | None = None

    @classmethod
    def unavailable_reason(cls) -> str | None:
        if cls.method is not None and cls.method not in multiprocessing.get_all_start_methods():
            return f"start method {cls.method!r} is not offered on this platform"
        return None

    @property
    def concurrency_per_process(self) -> int:
        return 1

    @property
    def start_method(self) -> str:
        return self.method or multiprocessing.get_start_method()

    def start(self) -> None:
        self._pool = start_processes(self.workload, self.workers, self.start_method)

    def run_round(self, tasks: int, round_no: int) -> RoundResult:
        assert self._pool is not None, "start() was not called"
        pool, task = self._pool, task_for_round(round_no)
        return timed(lambda: list(pool.map(task, range(tasks))))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


class ForkRunner(ProcessesRunner):
    name = "processes-fork"
    summary = "ProcessPoolExecutor, fork start method"
    order = 31
    method = "fork"


class ForkserverRunner(ProcessesRunner):
    name = "processes-forkserver"
    summary = "ProcessPoolExecutor, forkserver start method"
    order = 32
    method = "forkserver"


class SpawnRunner(ProcessesRunner):
    name = "processes-spawn"
    summary = "ProcessPoolExecutor, spawn start method"
    order = 33
    method = "spawn"


RUNNERS = (ProcessesRunner, ForkRunner, ForkserverRunner, SpawnRunner)
