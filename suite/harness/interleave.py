"""Interleaved rounds: every case of a scenario up at once, one round of each per cycle.

A shared machine drifts: its speed and the cores it really gives change over minutes.
Cases measured one after another each meet a different machine, and the drift lands on
some models and not on others. Here every case's worker starts first (pools, loops and
clusters built, start-up measured one at a time, as before); then the rounds run in
cycles, one round of every case per cycle in a new shuffled order each cycle, so drift
falls on every model alike, and the rounds of one cycle can be compared pairwise.

Rounds adapt: after each case's ``warmup + rounds`` cycles, cases whose median is still
uncertain (the 95% interval of the median of their rounds wider than
:attr:`Adapt.precision`) get more cycles, side by side with the other uncertain ones,
until they are tight, reach :attr:`Adapt.max_rounds`, or the scenario's time budget for
extra cycles runs out. Extra cycles leave the sequential baseline out unless it is
uncertain itself (its rounds can be the longest by far), so paired speedups come from
the planned cycles.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from suite.errors import CaseFailed, ModelUnavailable
from suite.harness.launcher import CaseResult, Session
from suite.results import robust
from suite.spec.cases import Case

Outcome = CaseResult | CaseFailed | ModelUnavailable
#: Without a budget of its own, extra cycles may take this share of the time the
#: scenario's planned cycles took.
EXTRA_SHARE = 0.25


@dataclass(frozen=True)
class Job:
    """One case of an interleaved group: its key (the pytest id), interpreter and backend."""

    key: str
    case: Case
    python: str
    endpoint: dict[str, Any] | None


@dataclass(frozen=True)
class Adapt:
    """When a case gets rounds beyond its scenario's ``rounds``."""

    #: Measured rounds per case at most (never fewer than the scenario's ``rounds``).
    max_rounds: int = 0
    #: Tight enough: the 95% interval of the median within this share of it, both ways.
    precision: float = 0.03
    #: Seconds extra cycles may take in all; ``None``: :data:`EXTRA_SHARE` of the planned.
    budget_s: float | None = None


#: Called after each cycle with (cycles done, cycles planned, cases still being refined).
BetweenCycles = Callable[[int, int, int], None]


class Group:
    """The live workers of one interleaved group, and what each has measured."""

    def __init__(self, jobs: Sequence[Job], seed: int) -> None:
        self.jobs = {job.key: job for job in jobs}
        self.seed = seed
        self.order = random.Random(seed)
        self.live: dict[str, Session] = {}
        self.outcomes: dict[str, Outcome] = {}
        self.cycles = 0

    def start(self) -> None:
        for job in self.jobs.values():  # one at a time, so each start-up is measured alone
            session = Session(job.case, job.python, None, job.endpoint, paced=True, group=self.seed)
            try:
                session.start()
            except (CaseFailed, ModelUnavailable) as exc:
                self.outcomes[job.key] = exc
                session.close(finished=False)
                continue
            self.live[job.key] = session

    def cycle(self, keys: Iterable[str]) -> None:
        """One round of each of ``keys`` (those still live), in shuffled order."""
        wanted = set(keys)
        order = [key for key in self.live if key in wanted]
        self.order.shuffle(order)
        for key in order:
            try:
                self.live[key].next_round(self.cycles)
            except CaseFailed as exc:
                self.outcomes[key] = exc
                self.live.pop(key).close(finished=False)
        self.cycles += 1

    def measured(self, key: str) -> dict[int, float]:
        """A live case's measured rounds by cycle."""
        return {r["index"]: r["duration_s"] for r in self.live[key].rounds if not r["warmup"]}

    def tight(self, key: str, precision: float) -> bool:
        values = list(self.measured(key).values())
        if len(values) < 2:
            return False
        middle, low, high = robust.median_with_interval(values)
        return max(middle - low, high - middle) <= precision * middle

    def finish(self) -> None:
        for key in list(self.live):
            session = self.live.pop(key)
            try:
                self.outcomes[key] = session.finish()
            except CaseFailed as exc:
                self.outcomes[key] = exc
                session.close(finished=False)
            else:
                session.close(finished=True)

    def close(self) -> None:
        for session in self.live.values():
            session.close(finished=False)


def run_interleaved(
    jobs: Sequence[Job], seed: int, between_cycles: BetweenCycles | None = None, adapt: Adapt = Adapt()
) -> dict[str, Outcome]:
    """Measure ``jobs`` side by side; every job gets a :class:`CaseResult` or its failure.

    :param seed: the shuffles' seed, saved with the run so its order can be told again
    """
    group = Group(jobs, seed)
    try:
        group.start()
        planned = max((s.case.warmup + s.case.rounds for s in group.live.values()), default=0)
        began = time.monotonic()
        for cycle in range(planned):
            group.cycle(k for k, s in group.live.items() if cycle < s.case.warmup + s.case.rounds)
            if between_cycles is not None:
                between_cycles(cycle + 1, planned, 0)
        _refine(group, adapt, time.monotonic() - began, planned, between_cycles)
        group.finish()
    finally:
        group.close()
    return group.outcomes


def _refine(
    group: Group, adapt: Adapt, planned_s: float, planned: int, between_cycles: BetweenCycles | None
) -> None:
    """Extra cycles for the cases that are not yet tight."""
    budget = adapt.budget_s if adapt.budget_s is not None else EXTRA_SHARE * planned_s
    began = time.monotonic()
    while time.monotonic() - began < budget:
        pending = {
            key
            for key, session in group.live.items()
            if len(group.measured(key)) < max(adapt.max_rounds, session.case.rounds)
            and not group.tight(key, adapt.precision)
        }
        if not pending:
            return
        group.cycle(pending)
        if between_cycles is not None:
            between_cycles(group.cycles, planned, len(pending))
