"""The workload contract: what one task does, in a sync and an async flavour.

A workload kind is one module in this package that defines a :class:`Workload`
subclass and names it ``WORKLOAD``.
"""

from __future__ import annotations

import abc
import time
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field

MAX_TASKS = 1_000_000

#: A task's value and when it started and ended (``time.perf_counter``, which is the
#: system-wide monotonic clock on Linux, so times from pool processes compare).
TimedValue = tuple[int, float, float]


class WorkloadParams(BaseModel):
    """Parameters every workload kind takes; subclasses add their own fields."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    tasks: int = Field(ge=1, le=MAX_TASKS, description="independent tasks per round")

    def quick(self) -> Self:
        """Smaller parameters for ``--quick``: same shape, a fraction of the work."""
        return self


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
    #: Async libraries :meth:`run_task_async` works under (its clients may tie it to one).
    async_libraries: ClassVar[frozenset[str]] = frozenset({"asyncio", "trio"})

    def __init__(self, params: WorkloadParams, endpoint: dict[str, Any] | None = None) -> None:
        self.params = params
        #: What the parent's backend reported when it came up (its URL, limits).
        self.endpoint = endpoint or {}

    def __getstate__(self) -> dict[str, Any]:
        # Only parameters travel to pool processes; each process prepares its own data.
        return {"params": self.params, "endpoint": self.endpoint}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["params"], state["endpoint"])  # type: ignore[misc]

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

    @abc.abstractmethod
    def run_task(self, index: int) -> int:
        """Do task ``index`` (0-based) and return an int folded into the round checksum."""

    async def run_task_async(self, index: int) -> int:
        """The same task inside a coroutine.

        The default runs :meth:`run_task` on the event loop, which is the honest
        result of doing CPU work in a coroutine; waiting kinds override it.
        """
        return self.run_task(index)

    def run_timed(self, index: int) -> TimedValue:
        start = time.perf_counter()
        value = self.run_task(index)
        return value, start, time.perf_counter()

    async def run_timed_async(self, index: int) -> TimedValue:
        start = time.perf_counter()
        value = await self.run_task_async(index)
        return value, start, time.perf_counter()

    def error_class(self, value: int) -> str | None:
        """The error a task value stands for (``timeout``, ``http_503``...), ``None`` if ok.

        Kinds whose tasks can fail without stopping the round encode failures in the
        value; the worker counts them and keeps them out of latency samples.
        """
        return None

    def pure_task(self) -> tuple[str, dict[str, Any]] | None:
        """The task as a :mod:`suite.purework` kind and its arguments, for runners that
        can import nothing else (subinterpreters); ``None`` if the kind has none."""
        return None

    def counters(self) -> dict[str, float]:
        """Monotonic counters read before and after each round, outside the timed region
        (e.g. the server's CPU seconds); the worker records how much each grew."""
        return {}

    def descriptors_needed(self, concurrency: int) -> int:
        """File descriptors one process running ``concurrency`` tasks at once needs."""
        return 0

    def ideal_s(self, workers: int, baseline_s: float | None, cores: int) -> float | None:
        """The physical lower bound of one round with ``workers``, if the kind knows it.

        :param baseline_s: the sequential model's median round in the same run, if it ran
        :param cores: CPUs the worker may use
        """
        return None

    @classmethod
    def result_names(cls, info: dict[str, Any]) -> dict[str, Any]:
        """Extra ``extra_info`` entries under the names this kind's users expect."""
        return {}


class CpuBound(Workload):
    """A kind whose tasks need the CPU: the best any model can do is the sequential
    time spread over as many cores as it can use."""

    def ideal_s(self, workers: int, baseline_s: float | None, cores: int) -> float | None:
        if baseline_s is None:
            return None
        return baseline_s / min(workers, cores, self.params.tasks)
