"""asyncio with an executor: coroutines that hand each task to a thread or a process.

This is how asyncio code usually meets blocking or CPU work, so it is measured rather
than guessed. ``workers`` is both the coroutines in flight and the pool's size.

The tasks go through ``loop.run_in_executor`` to a pool built before the first round.
anyio's ``to_thread``/``to_process`` would be the other idiom, but they tie their worker
threads and processes to the root task of each event-loop run, and the suite enters the
loop once per round: every round would start its pool again, inside the timed region.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from suite.models import RoundResult
from suite.models._installed import task_for_round
from suite.models.asyncio import AsyncioRunner
from suite.models.processes import ProcessModel, died, members, start_processes
from suite.models.threads import start_threads
from suite.workloads import TaskInput, TimedValue


class AsyncioThreadsRunner(AsyncioRunner):
    name = "asyncio+threads"
    summary = "asyncio coroutines, each task sent to a thread pool (run_in_executor)"
    order = 13
    family = "event loops"
    one_cpu = False  # its tasks run in a thread pool
    _pool: Executor | None = None
    _task: Any = None

    def start(self) -> None:
        self.workload.prepare(self.workers)  # one synchronous client, shared by the threads
        self._pool = start_threads(self.workers)
        self._task = self.workload.run_timed
        super().start()

    async def prepare(self) -> None:
        pass  # the workload runs in the pool, not on the loop

    async def begin_round(self, round_no: int) -> None:
        self.workload.begin_round(round_no)

    async def run_one(self, arg: int | TaskInput) -> TimedValue:
        result: TimedValue = await asyncio.get_running_loop().run_in_executor(self._pool, self._task, arg)
        return result

    async def release(self) -> None:
        self.workload.close()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)


class AsyncioProcessesRunner(ProcessModel, AsyncioThreadsRunner):
    name = "asyncio+processes"
    summary = "asyncio coroutines, each task sent to a process pool (run_in_executor)"
    order = 14

    def start(self) -> None:
        self._pool = start_processes(self.workload, self.workers, self.start_method)
        AsyncioRunner.start(self)

    async def begin_round(self, round_no: int) -> None:
        self._task = task_for_round(round_no)  # each process begins the round itself

    def run_round(self, tasks: int, round_no: int) -> RoundResult:
        assert isinstance(self._pool, ProcessPoolExecutor), "start() was not called"
        processes = members(self._pool)
        try:
            return super().run_round(tasks, round_no)
        except BrokenProcessPool as exc:
            raise died(processes, f"the ProcessPoolExecutor is broken ({exc})", all_end=True) from exc

    async def release(self) -> None:
        pass  # the workload lives in the pool's processes


RUNNERS = (AsyncioThreadsRunner, AsyncioProcessesRunner)
