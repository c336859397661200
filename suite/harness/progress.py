"""Elapsed time and an estimate of what is left, on each case's result line.

Before anything runs, each case's length is estimated from its scenario's parameters
(:func:`case_seconds`: tasks x a rough time per task, spread over the workers that can
run them at once, plus what starting a worker and handing out tasks cost; a serve load
point's own duration). As cases finish, the estimates of the cases left are scaled by how
long the finished ones really took against their estimates, so a machine faster or slower
than assumed is corrected early. It is a guide, not a promise.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from suite.spec import registry
from suite.spec.cases import Case

#: Starting a case's worker process, its pool, and stopping them: outside its rounds.
CASE_OVERHEAD_S = 0.6
#: Handing one task to a worker, by model family (dispatch-overhead's figures here).
DISPATCH_S = {"baseline": 0.0, "event loops": 2e-6, "threads": 25e-6, "processes": 130e-6}
#: Uncertain cases get extra cycles (up to a quarter of the planned time).
EXTRA_ROUNDS = 1.15


def case_seconds(case: Case, cores: int) -> float:
    """A rough estimate of how long ``case`` takes, from its scenario's parameters alone."""
    if case.load is not None:
        return CASE_OVERHEAD_S + float(case.load["duration_s"]) + float(case.load["warmup_s"]) + 1.0
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
    return CASE_OVERHEAD_S + (case.rounds + case.warmup) * round_s * EXTRA_ROUNDS


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
        left = elapsed / finished * remaining if finished else 0.0
        return f"{fmt_duration(elapsed)} elapsed, ~{fmt_duration(left)} left"

    @property
    def total(self) -> float:
        """The run's estimated length in seconds, before anything ran."""
        return self._total

    @classmethod
    def of(cls, cases: Iterable[tuple[str, float]], clock: Callable[[], float] = time.monotonic) -> Progress:
        return cls(dict(cases), clock)
