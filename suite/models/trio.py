"""Coroutines on trio, with the same worker-coroutine limit as the asyncio models.

trio has no loop object to keep between calls, so one ``trio.run`` lives for the whole
case in a helper thread; each round enters it with ``trio.from_thread.run`` and is timed
inside, as on asyncio.
"""

from __future__ import annotations

import importlib.util
import threading
from typing import Any

from suite.models import RoundResult, Runner, timed_async
from suite.workloads import TimedValue, Workload


class TrioRunner(Runner):
    name = "trio"
    summary = "coroutines on trio (tasks in one nursery)"
    order = 12
    family = "event loops"
    one_cpu = True
    _token: Any = None
    _thread: threading.Thread | None = None
    _stop: Any = None
    _failure: BaseException | None = None

    @classmethod
    def unavailable_reason(cls) -> str | None:
        if importlib.util.find_spec("trio") is None:
            return "trio is not installed for this interpreter: pip install trio"
        return None

    @classmethod
    def unavailable_for(cls, workload: type[Workload]) -> str | None:
        if "trio" not in workload.async_libraries:
            libraries = ", ".join(sorted(workload.async_libraries))
            return f"the {workload.kind} workload's async client runs on {libraries} only"
        return None

    def start(self) -> None:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), name="suite-trio", daemon=True)
        self._thread.start()
        if not ready.wait(timeout=60):
            raise RuntimeError("trio's event loop did not start within 60 s")
        if self._failure is not None:
            raise self._failure

    def _serve(self, ready: threading.Event) -> None:
        try:
            self._run_trio(ready)
        except BaseException as exc:  # handed to the worker's thread by start()
            self._failure = exc
        finally:
            ready.set()  # whatever happened, start() must not wait forever

    def _run_trio(self, ready: threading.Event) -> None:
        import trio

        async def main() -> None:
            self._token = trio.lowlevel.current_trio_token()
            self._stop = trio.Event()
            try:
                await self.workload.prepare_async(self.workers)
            finally:
                ready.set()
            await self._stop.wait()
            await self.workload.close_async()

        trio.run(main)

    def run_round(self, tasks: int, round_no: int) -> RoundResult:
        import trio

        assert self._token is not None, "start() was not called"
        result: RoundResult = trio.from_thread.run(self._round, tasks, round_no, trio_token=self._token)
        return result

    async def _round(self, tasks: int, round_no: int) -> RoundResult:
        await self.workload.begin_round_async(round_no)
        return await timed_async(lambda: self._gather(tasks))

    async def _gather(self, tasks: int) -> list[TimedValue]:
        import trio

        values: list[TimedValue] = [(0, 0.0, 0.0)] * tasks
        indices, inputs = iter(range(tasks)), self.workload.inputs(tasks)
        task = self.workload.run_timed_async

        async def worker() -> None:
            for i in indices:
                values[i] = await task(inputs[i])

        try:
            async with trio.open_nursery() as nursery:
                for _ in range(min(self.workers, tasks)):
                    nursery.start_soon(worker)
        except BaseExceptionGroup as group_error:
            # Report what the first failing task raised, as the other models do.
            raise group_error.exceptions[0] from group_error
        return values

    def close(self) -> None:
        if self._token is not None and self._thread is not None and self._thread.is_alive():
            import trio

            trio.from_thread.run_sync(self._stop.set, trio_token=self._token)
            self._thread.join(timeout=30)


RUNNERS = (TrioRunner,)
