"""A ThreadPoolExecutor of ``workers`` threads in the worker process."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from suite.models import RoundResult, Runner, timed


def start_threads(workers: int) -> ThreadPoolExecutor:
    """A thread pool with all its threads already started (the executor starts them lazily)."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="suite")
    # Keep each thread busy until every one exists, so no round pays for starting one.
    barrier = threading.Barrier(workers)
    list(pool.map(lambda _: barrier.wait(timeout=30), range(workers)))
    return pool


class ThreadsRunner(Runner):
    name = "threads"
    summary = "concurrent.futures.ThreadPoolExecutor"
    order = 20
    family = "threads"
    _pool: ThreadPoolExecutor | None = None

    def start(self) -> None:
        # One client (connection pool) shared by all threads, sized for all of them.
        self.workload.prepare(self.workers)
        self._pool = start_threads(self.workers)

    def run_round(self, tasks: int, round_no: int) -> RoundResult:
        assert self._pool is not None, "start() was not called"
        self.workload.begin_round(round_no)
        pool, task = self._pool, self.workload.run_timed
        inputs = self.workload.inputs(tasks)
        return timed(lambda: list(pool.map(task, inputs)))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self.workload.close()


RUNNERS = (ThreadsRunner,)
