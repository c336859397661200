"""multiprocessing.Pool, the older process pool many programs still use.

Its processes get the workload once, through the initializer, like the
ProcessPoolExecutor models. A round is one ``map_async`` with Pool's default chunking
(what ``pool.map(f, items)`` does). When a pool process dies mid-task, Pool starts a
replacement but the lost task's result never arrives and ``map`` would wait forever
(CPython issue #96062), so the round watches its processes and fails as soon as one
has ended.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.pool
from multiprocessing.process import BaseProcess

from suite.models import RoundResult, timed
from suite.models._installed import install, task_for_round
from suite.models.processes import ProcessModel, died, pid_after, wait_for_processes
from suite.workloads import SharedState, TimedValue

#: How often a waiting round checks that no pool process has died.
WATCH_EVERY_S = 0.05


def pool_members(pool: multiprocessing.pool.Pool) -> list[BaseProcess]:
    """The pool's current processes (Pool keeps them in ``_pool``)."""
    return list(getattr(pool, "_pool", None) or [])


class PoolRunner(ProcessModel):
    name = "multiprocessing-pool"
    summary = "multiprocessing.Pool, map_async with its default chunking"
    order = 34
    family = "processes"
    _pool: multiprocessing.pool.Pool | None = None
    _broken = False

    def start(self) -> None:
        context = multiprocessing.get_context(self.start_method)
        if isinstance(self.workload, SharedState):
            self.workload.share_across_processes(context)
        pool = self._pool = context.Pool(self.workers, initializer=install, initargs=(self.workload,))
        wait_for_processes(lambda delays: pool.map(pid_after, delays, chunksize=1), self.workers)

    def run_round(self, tasks: int, round_no: int) -> RoundResult:
        assert self._pool is not None, "start() was not called"
        pool, task = self._pool, task_for_round(round_no)
        processes = pool_members(pool)
        inputs = self.workload.inputs(tasks)  # before the clock starts

        def run() -> list[TimedValue]:
            pending = pool.map_async(task, inputs)
            while not pending.ready():
                pending.wait(WATCH_EVERY_S)
                if any(p.exitcode is not None for p in processes):
                    self._broken = True
                    lost = "multiprocessing.Pool replaced it, but its task's result is lost"
                    raise died(processes, lost, all_end=False)
            return pending.get()

        return timed(run)

    def close(self) -> None:
        if self._pool is None:
            return
        if self._broken:
            self._pool.terminate()
        else:
            self._pool.close()
        self._pool.join()


RUNNERS = (PoolRunner,)
