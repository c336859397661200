"""A ProcessPoolExecutor of ``workers`` processes, one model per start method.

Each pool process gets the workload once, through the pool's initializer, and prepares
its own data; a task sends only its index (and its ``payload``, pickled) and returns an
int (and its returned payload).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.process import BaseProcess
from typing import ClassVar, TypeVar

from suite.errors import WorkerDied
from suite.models import RoundResult, Runner, timed
from suite.models._installed import install, task_for_round
from suite.workloads import SharedState, Workload, payload_bytes

T = TypeVar("T")
A = TypeVar("A")


def pid_after(delay_s: float) -> int:
    time.sleep(delay_s)
    return os.getpid()


def wait_for_processes(map_pids: Callable[[list[float]], Iterable[int]], workers: int) -> None:
    """Keep mapping short waits over the pool until every one of its ``workers``
    processes has answered: pools may start processes on demand, and no round should
    pay for process start-up."""
    seen: set[int] = set()
    delay = 0.005
    for _ in range(20):
        if len(seen) == workers:
            break
        seen.update(map_pids([delay] * workers))
        delay = min(delay * 2, 0.2)


def start_processes(workload: Workload, workers: int, method: str) -> ProcessPoolExecutor:
    """A process pool whose processes all run and hold a prepared ``workload``."""
    context = multiprocessing.get_context(method)
    if isinstance(workload, SharedState):
        workload.share_across_processes(context)
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=install, initargs=(workload,))
    wait_for_processes(lambda delays: pool.map(pid_after, delays), workers)
    return pool


def pickling_s(workload: Workload, tasks: int, inputs: Sequence[object] | None = None) -> float | None:
    """Seconds to pickle a round's task inputs and the data the tasks return, once: what
    a pool pays at least to move them (then it unpickles them and copies them through a
    pipe). ``None`` when tasks move no data."""
    payload = workload.params.payload
    if payload is None or not (payload.in_bytes or payload.out_bytes):
        return None
    sent = list(workload.inputs(tasks) if inputs is None else inputs)
    returned = [payload_bytes(i, payload.out_bytes) for i in range(tasks)] if payload.out_bytes else []
    start = time.perf_counter()
    pickle.dumps(sent, protocol=pickle.HIGHEST_PROTOCOL)
    for data in returned:
        pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
    return time.perf_counter() - start


def members(pool: ProcessPoolExecutor) -> list[BaseProcess]:
    """The pool's processes (the executor keeps them in ``_processes``, pid -> Process)."""
    return list((getattr(pool, "_processes", None) or {}).values())


#: What multiprocessing says of a forkserver child whose exit status the forkserver did not
#: report back (popen_forkserver.poll: end of file on its status pipe, a race seen under
#: Debian's Python 3.11.2 in about one case of six).
FORKSERVER_LOST_STATUS = 255


def how_ended(process: BaseProcess) -> str:
    code = process.exitcode
    if code is None:
        return "still running"
    if code < 0:
        return f"killed by signal {signal.Signals(-code).name}"
    if code == FORKSERVER_LOST_STATUS and getattr(process, "_start_method", None) == "forkserver":
        return "ended, how not known (the forkserver did not report its exit status)"
    return f"exit code {code}"


def died(processes: Sequence[BaseProcess], what: str, *, all_end: bool, wait_s: float = 1.0) -> WorkerDied:
    """A :class:`WorkerDied` naming the processes that ended by themselves.

    A broken ProcessPoolExecutor terminates (SIGTERM) the rest (``all_end``): wait until
    every exit code is known, since the pool's own thread may reap the first death after
    the others. SIGTERM deaths are named only when nothing else explains the failure.
    """
    deadline = time.monotonic() + wait_s
    settled = all if all_end else any
    while time.monotonic() < deadline and not settled(p.exitcode is not None for p in processes):
        time.sleep(0.01)
    ended = [p for p in processes if p.exitcode is not None]
    first = [p for p in ended if p.exitcode != -signal.SIGTERM] or ended
    names = ", ".join(f"pool process {p.pid} {how_ended(p)}" for p in first) or "a pool process ended"
    return WorkerDied(f"worker died: {names}; {what}")


def map_or_explain(pool: ProcessPoolExecutor, fn: Callable[[A], T], items: Iterable[A]) -> list[T]:
    """``list(pool.map(fn, items))``, raising :class:`WorkerDied` when the pool breaks."""
    processes = members(pool)
    try:
        return list(pool.map(fn, items))
    except BrokenProcessPool as exc:
        raise died(processes, f"the ProcessPoolExecutor is broken ({exc})", all_end=True) from exc


class ProcessModel(Runner):
    """What the process-pool models share: a start method, one task per process at once."""

    #: The start method; ``None`` for the interpreter's default.
    method: ClassVar[str | None] = None

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

    def serialize_estimate(self, tasks: int) -> float | None:
        return pickling_s(self.workload, tasks)


class ProcessesRunner(ProcessModel):
    name = "processes"
    summary = "concurrent.futures.ProcessPoolExecutor, the interpreter's default start method"
    order = 30
    family = "processes"
    _pool: ProcessPoolExecutor | None = None

    def start(self) -> None:
        self._pool = start_processes(self.workload, self.workers, self.start_method)

    def run_round(self, tasks: int, round_no: int) -> RoundResult:
        assert self._pool is not None, "start() was not called"
        pool, task = self._pool, task_for_round(round_no)
        inputs = self.workload.inputs(tasks)
        return timed(lambda: map_or_explain(pool, task, inputs))

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
