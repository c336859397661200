"""The runner contract: one concurrency model, one interface.

A model is one module in this package that defines :class:`Runner` subclasses and lists
them in ``RUNNERS``. Runners live only in a worker process, never in pytest's. Models may
import :mod:`suite.workloads`, :mod:`suite.tasks`, :mod:`suite.loops` and
:mod:`suite.errors`, never
:mod:`suite.harness`, :mod:`suite.spec` or :mod:`suite.results`.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from suite.workloads import TimedValue, Workload, WorkloadParams


@dataclass(frozen=True)
class RoundResult:
    """One timed round: when it started, its wall time, and each task's value, start and
    end (``perf_counter``), in task order."""

    started: float
    duration_s: float
    tasks: Sequence[TimedValue]

    @property
    def values(self) -> list[int]:
        return [value for value, _, _ in self.tasks]


class Runner(abc.ABC):
    """Runs the tasks of one workload under one concurrency model.

    Lifecycle, driven by the worker process: :meth:`start` once (not timed; its cost is
    reported as start-up), :meth:`run_round` once per warm-up and measured round,
    :meth:`close` once, also after a failure.

    :param workload: the work; its tasks are run by index, ``0 .. tasks - 1``
    :param workers: pool size for threads and processes; the most tasks in flight at
        once for async models
    :param options: settings of the case for this model (e.g. ``dask_address``)
    """

    #: The model's name as scenario files and the CLI spell it.
    name: ClassVar[str]
    #: One line for ``suite list``.
    summary: ClassVar[str]
    #: Position in listings and in the default model order.
    order: ClassVar[int] = 100
    #: The kind of model, for grouping in charts and tables: ``baseline``, ``event loops``,
    #: ``threads``, ``processes`` or ``others``.
    family: ClassVar[str] = "others"
    #: Whether a scenario that names no models runs this one (a variant that differs only
    #: with some parameter is run when named).
    by_default: ClassVar[bool] = True
    #: Set when the model ignores ``workers`` (the sequential baseline runs with 1).
    fixed_workers: ClassVar[int | None] = None
    #: Why the model's started workers keep using CPU between rounds, if they do. Such
    #: a case runs alone, not interleaved: beside other cases it would take CPU from
    #: their rounds (the interleaved group keeps every case's workers up at once).
    busy_when_idle: ClassVar[str | None] = None
    #: Whether every task runs in the worker's main thread, one at a time (the baseline
    #: and the event loops): such a case uses one CPU, so an A/B comparison holds both of
    #: its sides on the same CPU, whose speed then falls on both alike.
    one_cpu: ClassVar[bool] = False

    def __init__(self, workload: Workload, workers: int, options: Mapping[str, Any] | None = None) -> None:
        self.workload = workload
        self.workers = workers
        self.options = dict(options or {})

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """Why this model cannot run on this interpreter, or ``None`` when it can.

        The reason says what to do about it (what to install, which Python to use).
        """
        return None

    @classmethod
    def unavailable_for(cls, workload: type[Workload]) -> str | None:
        """Why this model cannot run ``workload``'s kind, or ``None`` when it can."""
        return None

    @classmethod
    def unavailable_with(cls, params: WorkloadParams) -> str | None:
        """Why this model cannot run a workload with these parameters (a payload, say)."""
        return None

    def serialize_estimate(self, tasks: int) -> float | None:
        """Seconds to pickle a round's task data (``payload``) once each way, timed apart
        from the round, for models that copy it between processes; ``None`` for the rest."""
        return None

    @property
    def start_method(self) -> str | None:
        """The multiprocessing start method, for models that start processes."""
        return None

    def start(self) -> None:
        """Build the pool, loop or session; everything a round needs but should not time."""

    @property
    def concurrency_per_process(self) -> int:
        """The most tasks one process runs at once under this model (sizes clients and
        the file-descriptor pre-flight)."""
        return self.workers

    @abc.abstractmethod
    def run_round(self, tasks: int, round_no: int) -> RoundResult:
        """Run tasks ``0 .. tasks - 1`` once and time the batch, excluding set-up.

        Calls the workload's ``begin_round(round_no)`` in each process first.

        :raises Exception: whatever a task raised; the worker reports it as the case's failure
        """

    def close(self) -> None:
        """Release what :meth:`start` built. Must be safe to call after a failed start."""


def timed(fn: Callable[[], Sequence[TimedValue]]) -> RoundResult:
    """Time ``fn`` with ``perf_counter`` around the call and nothing else."""
    start = time.perf_counter()
    tasks = fn()
    return RoundResult(start, time.perf_counter() - start, _arrived(tasks))


def _arrived(tasks: Sequence[TimedValue]) -> Sequence[TimedValue]:
    """Drop the data tasks returned (``payload.out_bytes``) once it has arrived, untimed."""
    if tasks and len(tasks[0]) > 3:
        return [(value, start, end) for value, start, end, *_ in tasks]
    return tasks


async def timed_async(fn: Callable[[], Awaitable[Sequence[TimedValue]]]) -> RoundResult:
    """Like :func:`timed`, with the clock read inside the already-running loop."""
    start = time.perf_counter()
    tasks = await fn()
    return RoundResult(start, time.perf_counter() - start, _arrived(tasks))
