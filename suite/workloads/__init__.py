"""The workload contract: what one task does, in a sync and an async flavour.

A workload kind is one module in this package that defines a :class:`Workload`
subclass and names it ``WORKLOAD``; its task functions live in :mod:`suite.tasks`.
Workloads may import :mod:`suite.tasks` and :mod:`suite.errors`, nothing else of the
suite (the backend server reads the HTTP kinds' limits from here, not the other way).
"""

from __future__ import annotations

import abc
import contextlib
import os
import sys
import time
import zlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from suite import tasks as purework

MAX_TASKS = 1_000_000
#: About how long one iteration of the ``cpu`` kind's loop takes here (85 ns on this kind
#: of 2-core VM): for the estimate of a run's length only.
ROUGH_LOOP_S = 85e-9
#: ``--quick`` runs this fraction of each task's work (see :meth:`WorkloadParams.quick`).
QUICK_DIVISOR = 4
#: ... and waits no task longer than this (a field in ms, after the division): a 1 s
#: latency at a quarter would still make every quick round of a fan-out a second a wave.
QUICK_MAX_WAIT_MS = 50.0
#: The most bytes a task receives or returns (``payload``).
MAX_PAYLOAD = 1 << 30

#: A task's value and when it started and ended (``time.perf_counter``, which is the
#: system-wide monotonic clock on Linux, so times from pool processes compare).
TimedValue = tuple[int, float, float]


class FaultParams(BaseModel):
    """A task that fails the first time it runs (in the warm-up round when there is one)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    kind: Literal["raise", "exit", "crash", "hang", "block", "ignore_cancel"] = Field(
        description="raise: an exception; exit: os._exit(3); crash: SIGSEGV to its own process; "
        "hang: pure Python that never yields; block: a blocking sleep far past timeout_s; "
        "ignore_cancel: waits forever and swallows every exception and cancellation"
    )
    at_task: int = Field(default=0, ge=0, le=MAX_TASKS, description="index of the failing task (0-based)")


class PayloadParams(BaseModel):
    """Data each task receives and returns, to show what moving it to a worker costs."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    in_bytes: int = Field(default=0, ge=0, le=MAX_PAYLOAD, description="bytes each task receives")
    out_bytes: int = Field(default=0, ge=0, le=MAX_PAYLOAD, description="bytes each task returns")


@dataclass(frozen=True, slots=True)
class TaskInput:
    """A task's index and the data it receives (``payload.in_bytes``): threads get a
    reference to it, process pools a pickled copy, ``processes-shm`` where it lies in
    shared memory (``data`` is then empty and ``where`` names the block and span)."""

    index: int
    data: bytes = b""
    where: tuple[str, int, int] | None = None


class WorkloadParams(BaseModel):
    """Parameters every workload kind takes; subclasses add their own fields."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    tasks: int = Field(ge=1, le=MAX_TASKS, description="independent tasks per round")
    fault: FaultParams | None = Field(
        default=None, description="make one task fail, to see what each model does about it"
    )
    payload: PayloadParams | None = Field(
        default=None,
        description="data each task receives and returns beside its work (default: none), "
        "so the cost of moving data to and from a worker shows per model",
    )

    @model_validator(mode="after")
    def _fault_in_range(self) -> Self:
        if self.fault is not None and self.fault.at_task >= self.tasks:
            raise ValueError(f"fault.at_task is {self.fault.at_task} but tasks run 0 .. {self.tasks - 1}")
        return self

    #: The fields ``--quick`` divides by :data:`QUICK_DIVISOR` (an integer stays at least 1).
    quick_fields: ClassVar[tuple[str, ...]] = ()

    def quick(self) -> Self:
        """Smaller parameters for ``--quick``: same shape, a fraction of the work."""
        update = {}
        for name in self.quick_fields:
            value = getattr(self, name)
            update[name] = max(1, value // QUICK_DIVISOR) if isinstance(value, int) else value / QUICK_DIVISOR
            if name.endswith("_ms"):
                update[name] = min(update[name], QUICK_MAX_WAIT_MS)
        return self.model_copy(update=update) if update else self

    def bind_to(self, folder: Path) -> Self:
        """These parameters with paths made absolute against the scenario file's folder."""
        return self

    def problems(self) -> list[tuple[str, str]]:
        """Mistakes only a closer look finds (``(key, message)``), after validation."""
        return []


class Workload(abc.ABC):
    """One kind of work, split into ``tasks`` independent tasks per round.

    Every model runs the same tasks: :meth:`run_task` in threads, processes and the
    sequential baseline, :meth:`run_task_async` on event loops. Both must do the same
    work and return the same value for the same index, so the checksum of a round is
    identical under every model.

    Hooks run in every process that runs tasks, in this order: :meth:`prepare` (or
    :meth:`prepare_async` inside the event loop) once, :meth:`begin_round` before each
    round's first task, :meth:`close` at the end. None of them is timed, except that a
    pool process calls :meth:`begin_round` when its first task of a round arrives.
    """

    #: The name used as ``workload.kind`` in scenario files.
    kind: ClassVar[str]
    #: The pydantic model of this kind's parameters (``extra="forbid"``).
    Params: ClassVar[type[WorkloadParams]]
    #: What the kind measures, one line, for ``suite list``.
    summary: ClassVar[str]
    #: A server the parent must run for this kind (module ``suite.<backend>``), if any.
    backend: ClassVar[str | None] = None

    @classmethod
    def backend_for(cls, params: Mapping[str, Any]) -> str | None:
        """The server a workload with these (raw) parameters needs: :attr:`backend`, or
        none for a kind that needs one only with some parameters (``db`` on SQLite)."""
        return cls.backend

    #: Async libraries :meth:`run_task_async` works under (its clients may tie it to one).
    async_libraries: ClassVar[frozenset[str]] = frozenset({"asyncio", "trio"})

    def __init__(
        self, params: WorkloadParams, endpoint: dict[str, Any] | None = None, scratch: str | None = None
    ) -> None:
        self.params = params
        #: What the parent's backend reported when it came up (its URL, limits).
        self.endpoint = endpoint or {}
        #: An empty folder of the case's own, shared by all its processes (files, markers).
        self.scratch = scratch
        self.fault = self.fault_spec()
        self._inputs: list[TaskInput] = []
        self._pure: Callable[[int], int] | None = None
        self._out_bytes = params.payload.out_bytes if params.payload is not None else 0

    @classmethod
    def unavailable_with(cls, params: WorkloadParams) -> str | None:
        """Why a workload with these parameters cannot run on this interpreter (a module
        its tasks need is missing), or ``None``."""
        return None

    def load_modules(self) -> None:
        """Import what this kind's tasks import (for reading the native thread pools they
        load, after the rounds); most kinds use only the standard library."""

    #: Whether a task's work is CPU work that an instruction count measures exactly
    #: (counted under valgrind once per scenario, outside the rounds).
    counted: ClassVar[bool] = False

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """Why this kind cannot run on this interpreter (what to install), or ``None``."""
        return None

    def __getstate__(self) -> dict[str, Any]:
        # Only parameters travel to pool processes; each process prepares its own data.
        return {"params": self.params, "endpoint": self.endpoint, "scratch": self.scratch}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["params"], state["endpoint"], state["scratch"])  # type: ignore[misc]

    def fault_spec(self) -> dict[str, Any] | None:
        """The fault as :func:`suite.tasks.fault_due` takes it; ``None`` without one."""
        fault = self.params.fault
        if fault is None:
            return None
        # The marker's creation (O_EXCL) tells every process of the case the fault has fired.
        marker = os.path.join(self.scratch, "fault-fired") if self.scratch else None
        return {"kind": fault.kind, "at_task": fault.at_task, "marker": marker}

    def prepare(self, concurrency: int) -> None:
        """Build what tasks need (buffers, clients) in the process that runs them.

        :param concurrency: the most tasks this process runs at once (its pool size
            for threads and async models, 1 for the baseline and each pool process)
        """

    async def prepare_async(self, concurrency: int) -> None:
        """:meth:`prepare` for event loops, called inside the running loop."""
        self.prepare(concurrency)

    def begin_round(self, round_no: int) -> None:
        """Called before each round's first task in this process (``round_no`` from 0)."""

    async def begin_round_async(self, round_no: int) -> None:
        self.begin_round(round_no)

    def close(self) -> None:
        """Release what :meth:`prepare` built."""

    async def close_async(self) -> None:
        self.close()

    def run_task(self, index: int) -> int:
        """Do task ``index`` (0-based) and return an int folded into the round checksum.

        The default runs the :mod:`suite.tasks` function that :meth:`pure_task` names, so
        a kind that has one defines its task once; the others override this.
        """
        run = self._pure
        if run is None:
            task = self.pure_task()
            if task is None:
                raise NotImplementedError(f"the {self.kind} kind defines neither run_task nor pure_task")
            run = self._pure = purework.bind(*task)
        return run(index)

    async def run_task_async(self, index: int) -> int:
        """The same task inside a coroutine.

        The default runs :meth:`run_task` on the event loop, which is the honest
        result of doing CPU work in a coroutine; waiting kinds override it.
        """
        return self.run_task(index)

    def inputs(self, tasks: int) -> Sequence[int | TaskInput]:
        """What a round hands its tasks: their indexes, or with ``payload.in_bytes`` each
        index with its data, made once in the process that dispatches the tasks."""
        payload = self.params.payload
        if payload is None or not payload.in_bytes:
            return range(tasks)
        if len(self._inputs) != tasks:
            self._inputs = [TaskInput(i, payload_bytes(i, payload.in_bytes)) for i in range(tasks)]
        return self._inputs

    @staticmethod
    def _received(arg: int | TaskInput) -> tuple[int, int | None]:
        """A task's index and the checksum of the data it received (``None`` without)."""
        if type(arg) is int:  # no payload: the hot path of near-empty tasks stays as it was
            return arg, None
        assert isinstance(arg, TaskInput)
        if arg.where is not None:
            return arg.index, _crc_of_shared(*arg.where)
        return arg.index, zlib.crc32(arg.data)

    def _answer(self, index: int, value: int, received: int | None, start: float) -> TimedValue:
        # The data received counts in the value, so the checksum proves it arrived whole;
        # the data returned travels back with the value and is dropped on arrival.
        if received is not None:
            value = (value * 1_000_003 + received) & 0xFFFFFFFFFFFFFFFF
        if self._out_bytes:
            return value, start, time.perf_counter(), payload_bytes(index, self._out_bytes)  # type: ignore[return-value]
        return value, start, time.perf_counter()

    def run_timed(self, arg: int | TaskInput) -> TimedValue:
        index, received = self._received(arg)
        if self.fault is not None and purework.fault_due(self.fault, index):
            purework.inject(self.fault["kind"], index)
        start = time.perf_counter()
        value = self.run_task(index)
        if received is None and not self._out_bytes:
            return value, start, time.perf_counter()
        return self._answer(index, value, received, start)

    async def run_timed_async(self, arg: int | TaskInput) -> TimedValue:
        index, received = self._received(arg)
        if self.fault is not None and purework.fault_due(self.fault, index):
            await _inject_async(self.fault["kind"], index)
        start = time.perf_counter()
        value = await self.run_task_async(index)
        if received is None and not self._out_bytes:
            return value, start, time.perf_counter()
        return self._answer(index, value, received, start)

    def error_class(self, value: int) -> str | None:
        """The error a task value stands for (``timeout``, ``http_503``...), ``None`` if ok.

        Kinds whose tasks can fail without stopping the round encode failures in the
        value; the worker counts them and keeps them out of latency samples.
        """
        return None

    def pure_task(self) -> tuple[str, dict[str, Any]] | None:
        """The task as a :mod:`suite.tasks` kind and its arguments: what :meth:`run_task`
        runs by default, what a runner that can import nothing else runs
        (subinterpreters) and what valgrind counts; ``None`` if the kind has none."""
        return None

    def counters(self) -> dict[str, float]:
        """Monotonic counters read before and after each round, outside the timed region
        (e.g. the server's CPU seconds); the worker records how much each grew."""
        return {}

    def descriptors_needed(self, concurrency: int) -> int:
        """File descriptors one process running ``concurrency`` tasks at once needs."""
        return 0

    #: Whether a task's computing holds the GIL (Python code): threads then compute one at
    #: a time on a GIL build. For the estimate of a run's length only.
    holds_gil: ClassVar[bool] = True

    def rough_task_s(self) -> tuple[float, float]:
        """About how long one task waits and how long it computes, alone on one core of this
        kind of machine: for the estimate of a run's length only, before anything is
        measured (it corrects itself as cases finish). Never used in a result."""
        return 0.0, 0.001

    def ideal_s(self, workers: int, baseline_s: float | None, cores: int) -> float | None:
        """The physical lower bound of one round with ``workers``, if the kind knows it.

        :param baseline_s: the sequential model's median round in the same run, if it ran
        :param cores: CPUs the worker may use
        """
        return None

    @classmethod
    def result_names(
        cls, *, task_ms: dict[str, float] | None, tasks_ok: int, throughput_per_s: float | None
    ) -> dict[str, Any]:
        """The case's figures again under the names this kind's users expect (a fan-out's
        task times are request latencies), kept in its record beside the general ones."""
        return {}


def payload_bytes(index: int, size: int) -> bytes:
    """``size`` bytes that differ per task (the index first, then zeros)."""
    head = index.to_bytes(8, "little")
    return (head + bytes(max(0, size - len(head))))[:size]


_attached: dict[str, Any] = {}


def _crc_of_shared(name: str, offset: int, size: int) -> int:
    """The checksum of a span of a shared-memory block, read in place (attached once per process)."""
    from multiprocessing import shared_memory

    block = _attached.get(name)
    if block is None:
        # Only the owner may unlink the block: an attaching process's resource tracker
        # would at its exit (3.13+: track=False; before, unregister by hand).
        untracked: dict[str, Any] = {"track": False} if sys.version_info >= (3, 13) else {}
        block = _attached[name] = shared_memory.SharedMemory(name=name, **untracked)
        if not untracked:
            from multiprocessing import resource_tracker

            resource_tracker.unregister(block._name, "shared_memory")  # type: ignore[attr-defined]
    buffer = block.buf
    assert buffer is not None
    with buffer[offset : offset + size] as span:
        return zlib.crc32(span)


async def sleep_at_least(sleep: Any, seconds: float) -> None:
    """Wait ``seconds`` by the wall clock on any event loop.

    uvloop schedules timers on libuv's clock, which is cached once per loop iteration and
    counts whole milliseconds, so one ``sleep(0.001)`` can end 36 us after it began (seen
    in CI). Every model must do the same work, so an async wait sleeps again until its
    full time has passed, as ``time.sleep`` does.
    """
    deadline = time.perf_counter() + seconds
    while (left := deadline - time.perf_counter()) > 0:
        await sleep(left)


async def _inject_async(kind: str, index: int) -> None:
    """A fault inside a coroutine: ``ignore_cancel`` awaits and swallows cancellation; the
    others block the event loop the way they block a thread (``hang`` never yields)."""
    if kind != "ignore_cancel":
        purework.inject(kind, index)
        return
    import anyio  # the running loop's sleep, asyncio's or trio's

    while True:
        with contextlib.suppress(BaseException):  # swallowing cancellation is the point
            await anyio.sleep(3600)


class WaitsOnLoop(Workload):
    """A kind whose tasks wait with the running loop's own sleep (anyio's: asyncio's or
    trio's) on event loops, and with ``time.sleep`` elsewhere."""

    _async_sleep: Callable[[float], Awaitable[None]]

    def prepare(self, concurrency: int) -> None:
        # Imported here, in the worker, so that loading scenarios does not import anyio
        # before pytest.
        import anyio

        self._async_sleep = anyio.sleep

    async def prepare_async(self, concurrency: int) -> None:
        self.prepare(concurrency)
        # anyio loads the running loop's backend at its first call, about 20 ms of CPU.
        # Paid here, not by a first request: 64 prefork processes paying it at once
        # inside a load point's short warm-up held 2 cores for most of a second (p99 over
        # 600 ms at 800 req/s, where the same processes, warm, answered within 23 ms).
        await self._async_sleep(0)


class SharedState(Workload):
    """A capability: tasks that update one state they all share, which the worker checks
    after each round (``shared``). Models that can share nothing with their tasks
    (subinterpreters, Dask) refuse such kinds; process pools make the state reachable."""

    @abc.abstractmethod
    def share_across_processes(self, context: Any) -> None:
        """Make the state reachable from pool processes started by ``context`` (a
        multiprocessing context); a process model calls it before it starts its pool."""

    @abc.abstractmethod
    def reset_shared(self) -> None:
        """Set the shared state back to empty before a round (not timed)."""

    @abc.abstractmethod
    def shared_outcome(self, tasks: int) -> tuple[int, int]:
        """After a round of ``tasks`` tasks: the updates expected and the updates the shared
        state shows."""


class CpuBound(Workload):
    """A kind whose tasks need the CPU: the best any model can do is the sequential
    time spread over as many cores as it can use."""

    counted = True

    def ideal_s(self, workers: int, baseline_s: float | None, cores: int) -> float | None:
        if baseline_s is None:
            return None
        return baseline_s / min(workers, cores, self.params.tasks)
