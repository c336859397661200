"""Elapsed time and an estimate of what is left, on each case's result line.

Before anything runs, each case's length is estimated from its scenario's parameters
(:func:`case_seconds`: tasks x a rough time per task, spread over the workers that can
run them at once, plus what starting a worker and handing out tasks cost; a serve load
point's own duration). As cases finish, the estimates of the cases left are scaled by how
long the finished ones really took against their estimates, so a machine faster or slower
than assumed is corrected early; the first few cases move it only a little
(:data:`PRIOR_SHARE`). It is a guide, not a promise.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Iterable

from suite.spec import registry
from suite.spec.cases import Case

#: Forking a case's worker from its zygote, reading its result and stopping it.
CASE_OVERHEAD_S = 0.1
#: Starting a pool, per worker process: a copy of the worker (fork) or a new interpreter
#: that imports the suite (spawn, forkserver).
PROCESS_START_S = {"fork": 0.012, "new": 0.12}
#: Starting threads, an event loop or a client session: tens of milliseconds at most.
THREAD_OR_LOOP_START_S = 0.05
#: A Dask ``LocalCluster``: its scheduler, and each worker.
DASK_START_S = (0.3, 0.2)
#: A serve load point beyond its warm-up and window: the load generator, the server's
#: readiness, stopping both.
SERVE_POINT_S = 0.3
#: Handing one task to a worker, by model family (dispatch-overhead's figures here).
DISPATCH_S = {"baseline": 0.0, "event loops": 2e-6, "threads": 25e-6, "processes": 130e-6}
#: Uncertain cases get extra cycles (up to a quarter of the planned time).
EXTRA_ROUNDS = 1.15
#: How much the estimate from parameters weighs against what the finished cases show: as
#: much as this share of the run, run exactly as estimated. Without it, the first scenario
#: alone set the pace: a full run whose first 2 estimated seconds took 7 said 43 minutes
#: left at 0:07, of a run that took 10.
PRIOR_SHARE = 0.05


def startup_seconds(model: str, workers: int) -> float:
    """A rough estimate of starting ``model``'s pool of ``workers`` (its ``startup_s``)."""
    if model == "dask":
        return DASK_START_S[0] + DASK_START_S[1] * workers
    if "processes" not in model and model != "multiprocessing-pool":
        return THREAD_OR_LOOP_START_S
    default = multiprocessing.get_start_method(allow_none=True) or multiprocessing.get_all_start_methods()[0]
    method = getattr(registry.runners().get(model), "method", None) or default  # a server: the default
    return PROCESS_START_S["fork" if method == "fork" else "new"] * workers


def case_seconds(case: Case, cores: int) -> float:
    """A rough estimate of how long ``case`` takes, from its scenario's parameters alone."""
    if case.load is not None:
        window = float(case.load["duration_s"]) + float(case.load["warmup_s"])
        return CASE_OVERHEAD_S + SERVE_POINT_S + startup_seconds(case.model, case.workers) + window
    kind = registry.workload(case.kind)
    runner = registry.runner(case.model)
    workload = kind(kind.Params.model_validate(case.params))
    tasks = int(case.params.get("tasks", 1))
    wait_s, compute_s = workload.rough_task_s()
    # Waits overlap as far as there are workers; computing, as far as there are cores the
    # model can use (one, for a one-thread model or Python code in threads).
    one_at_a_time = runner.one_cpu or (kind.holds_gil and runner.family == "threads")
    waiting = min(case.workers, tasks)
    computing = 1 if one_at_a_time else min(case.workers, cores, tasks)
    handing_out = DISPATCH_S.get(runner.family, 50e-6)
    round_s = tasks * (wait_s / waiting + compute_s / computing + handing_out)
    startup_s = startup_seconds(case.model, case.workers)
    warmup_rounds = case.warmup * case.warmup_tasks / max(1, case.tasks)  # a warm-up round is shorter
    return CASE_OVERHEAD_S + startup_s + (case.rounds + warmup_rounds) * round_s * EXTRA_ROUNDS


def fmt_duration(seconds: float) -> str:
    """``0:42``, ``12:05``, ``1:02:09``."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """Cases of a run by id with their estimated seconds (any weights do); :meth:`done`
    marks one and says where the run is."""

    def __init__(self, weights: dict[str, float], clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._left = dict(weights)
        self._total = sum(weights.values())
        self._started = clock()

    def done(self, case_id: str) -> str | None:
        """Mark ``case_id`` finished; ``None`` if it is not a case of this run or was marked."""
        if self._left.pop(case_id, None) is None:
            return None
        elapsed = self._clock() - self._started
        remaining = sum(self._left.values())
        finished = self._total - remaining
        if not remaining:
            return f"{fmt_duration(elapsed)} elapsed"
        prior = PRIOR_SHARE * self._total
        left = (elapsed + prior) / (finished + prior) * remaining if finished + prior > 0 else 0.0
        return f"{fmt_duration(elapsed)} elapsed, ~{fmt_duration(left)} left"

    @property
    def total(self) -> float:
        """The run's estimated length in seconds, before anything ran."""
        return self._total

    @classmethod
    def of(cls, cases: Iterable[tuple[str, float]], clock: Callable[[], float] = time.monotonic) -> Progress:
        return cls(dict(cases), clock)
