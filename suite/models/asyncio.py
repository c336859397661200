"""Coroutines on one event loop: the standard asyncio loop and uvloop's.

``workers`` is a limit on tasks in flight, not a pool: that many coroutines take task
indices from one shared iterator until none are left.
"""

from __future__ import annotations

import asyncio

from suite.loops import LoopFactory, OnUvloop
from suite.models import RoundResult, Runner, timed_async
from suite.workloads import TaskInput, TimedValue


class AsyncioRunner(Runner):
    name = "asyncio"
    summary = "coroutines on the standard asyncio event loop"
    order = 10
    family = "event loops"
    one_cpu = True
    _loop_runner: asyncio.Runner | None = None
    _result: RoundResult | None = None

    def loop_factory(self) -> LoopFactory | None:
        return None

    def start(self) -> None:
        self._loop_runner = asyncio.Runner(loop_factory=self.loop_factory())
        # Create the loop and the workload's clients (sessions) now, outside any round.
        self._loop_runner.run(self.prepare())

    async def prepare(self) -> None:
        """Inside the loop, before any round: the workload's async clients."""
        await self.workload.prepare_async(self.workers)

    async def run_one(self, arg: int | TaskInput) -> TimedValue:
        """One task (its index, or its index and data), as this model runs it."""
        return await self.workload.run_timed_async(arg)

    def run_round(self, tasks: int, round_no: int) -> RoundResult:
        assert self._loop_runner is not None, "start() was not called"
        self._loop_runner.run(self._round(tasks, round_no))
        assert self._result is not None
        result, self._result = self._result, None
        return result

    async def _round(self, tasks: int, round_no: int) -> None:
        # The result is kept here, not returned: on leaving run(), asyncio.Runner restores
        # its SIGINT handler and CPython formats the main task's repr, result included,
        # which for 20,000 task values costs tens of milliseconds.
        await self.begin_round(round_no)
        self._result = await timed_async(lambda: self._gather(tasks))

    async def begin_round(self, round_no: int) -> None:
        """Inside the loop, before each round's clock starts."""
        await self.workload.begin_round_async(round_no)

    async def release(self) -> None:
        """Inside the loop, after the last round."""
        await self.workload.close_async()

    async def _gather(self, tasks: int) -> list[TimedValue]:
        values: list[TimedValue] = [(0, 0.0, 0.0)] * tasks
        indices, inputs = iter(range(tasks)), self.workload.inputs(tasks)
        task = self.run_one

        async def worker() -> None:
            for i in indices:
                values[i] = await task(inputs[i])

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(min(self.workers, tasks)):
                    group.create_task(worker())
        except BaseExceptionGroup as group_error:
            # Report what the first failing task raised, as the other models do.
            raise group_error.exceptions[0] from group_error
        return values

    def close(self) -> None:
        if self._loop_runner is not None:
            try:
                self._loop_runner.run(self.release())
            finally:
                self._loop_runner.close()


class UvloopRunner(OnUvloop, AsyncioRunner):
    name = "uvloop"
    summary = "coroutines on asyncio with uvloop's event loop (libuv)"


RUNNERS = (AsyncioRunner, UvloopRunner)
