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

import dataclasses
import random
import statistics
import time
from collections import Counter
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
    #: Jobs with the same pair (the two sides of one case in an A/B comparison) run
    #: back to back in each cycle, in shuffled order, so that they meet the same moment.
    pair: str | None = None


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
    """The live workers of one interleaved group, and what each has measured.

    A case may be measured by several worker processes in turn (:meth:`renew`): each
    keeps an offset of its own (memory layout, hash seed), which a comparison must not
    take for a change. Their rounds are merged into one :class:`CaseResult` at the end.
    """

    def __init__(self, jobs: Sequence[Job], seed: int) -> None:
        self.jobs = {job.key: job for job in jobs}
        self.seed = seed
        self.order = random.Random(seed)
        self.live: dict[str, Session] = {}
        self.outcomes: dict[str, Outcome] = {}
        #: Results of the worker processes a case has already used up (see :meth:`renew`).
        self.parts: dict[str, list[CaseResult]] = {}
        self.cycles = 0
        #: How many worker processes each case has had (an A/B side's pairs of processes).
        self.starts: Counter[str] = Counter()

    def _start(self, job: Job) -> None:
        # Each side of an A/B pair, at each of its pairs of worker processes, forks from a
        # zygote of its own: its own hash seed and memory layout, the per-process offset
        # the pairs average out (as workers started from scratch, at a fork's cost).
        lineage = ""
        if job.pair is not None:
            lineage = f"{job.case.side or job.key}#{self.starts[job.key]}"
            self.starts[job.key] += 1
        session = Session(
            job.case, job.python, None, job.endpoint, paced=True, group=self.seed, lineage=lineage
        )
        try:
            session.start()
        except (CaseFailed, ModelUnavailable) as exc:
            self.outcomes[job.key] = exc
            session.close(finished=False)
            return
        self.live[job.key] = session

    def start(self) -> None:
        for job in self.jobs.values():  # one at a time, so each start-up is measured alone
            self._start(job)

    def _ordered(self, keys: Iterable[str]) -> list[str]:
        """Live ``keys`` in a fresh shuffled order; the jobs of one pair stay side by side."""
        wanted = set(keys)
        units: dict[str, list[str]] = {}
        for key in self.live:
            if key in wanted:
                units.setdefault(self.jobs[key].pair or key, []).append(key)
        order = list(units.values())
        self.order.shuffle(order)
        for unit in order:
            self.order.shuffle(unit)
        return [key for unit in order for key in unit]

    def cycle(self, keys: Iterable[str]) -> None:
        """One round of each of ``keys`` (those still live), in shuffled order."""
        for key in self._ordered(keys):
            try:
                self.live[key].next_round(self.cycles)
            except CaseFailed as exc:
                self.outcomes[key] = exc
                self.live.pop(key).close(finished=False)
        self.cycles += 1

    def measured(self, key: str) -> dict[int, float]:
        """A live case's measured rounds by cycle."""
        return {r["cycle"]: r["duration_s"] for r in self.live[key].rounds if not r["warmup"]}

    def by_cycle(self, key: str) -> dict[int, float]:
        """Every measured round of a case by cycle, from each worker process it used."""
        found = {
            c: d
            for part in self.parts.get(key, ())
            for c, d in zip(part.cycles, part.durations_s, strict=True)
        }
        if key in self.live:
            found.update(self.measured(key))
        return found

    def tight(self, key: str, precision: float) -> bool:
        values = list(self.measured(key).values())
        if len(values) < 2:
            return False
        middle, low, high = robust.median_with_interval(values)
        return max(middle - low, high - middle) <= precision * middle

    def park(self, keys: Iterable[str]) -> None:
        """Stop the worker processes of ``keys``, keeping what they measured."""
        keys = list(keys)
        for key in keys:  # all at once: their pools shut down side by side, not in turn
            if key in self.live:
                self.live[key].ask_to_stop()
        for key in keys:
            session = self.live.pop(key, None)
            if session is None:
                continue
            try:
                self.parts.setdefault(key, []).append(session.finish())
            except CaseFailed as exc:
                self.outcomes[key] = exc
                session.close(finished=False)
            else:
                session.close(finished=True)

    def renew(self, keys: Iterable[str]) -> None:
        """Measure ``keys`` on in new worker processes from the next cycle on."""
        keys = [key for key in keys if key in self.live]
        self.park(keys)
        for key in keys:
            if key not in self.outcomes:
                self._start(self.jobs[key])

    def finish(self) -> None:
        self.park(list(self.live))
        for key, parts in self.parts.items():
            if key not in self.outcomes:
                try:
                    self.outcomes[key] = merge(parts)
                except CaseFailed as exc:
                    self.outcomes[key] = exc

    def close(self) -> None:
        for session in self.live.values():
            session.close(finished=False)


def merge(parts: Sequence[CaseResult]) -> CaseResult:
    """One case measured by several worker processes in turn, as one result: every
    round, the median start-up, the latency percentiles of the last process.

    :raises CaseFailed: the processes computed different checksums
    """
    first, last = parts[0], parts[-1]
    if len(parts) == 1:
        return first
    checksums = list(dict.fromkeys(p.checksum for p in parts))
    if len(checksums) > 1:
        raise CaseFailed(f"worker processes of one case computed different checksums: {', '.join(checksums)}")
    errors: Counter[str] = Counter()
    counters: dict[str, list[float]] = {}
    for part in parts:
        errors.update(part.errors)
        for name, values in (part.summary.get("counters") or {}).items():
            counters.setdefault(name, []).extend(values)
    summary = {
        **last.summary,
        "errors": dict(errors),
        "ok_per_round": [n for p in parts for n in p.summary.get("ok_per_round", [])],
        "counters": counters,
        "worker_processes": len(parts),
    }
    return dataclasses.replace(
        first,
        durations_s=tuple(d for p in parts for d in p.durations_s),
        warmup_s=tuple(d for p in parts for d in p.warmup_s),
        startup_s=statistics.median(p.startup_s for p in parts),
        env=last.env,
        summary=summary,
        peak_rss_bytes=max(p.peak_rss_bytes for p in parts),
        rss_samples=sum(p.rss_samples for p in parts),
        cycles=tuple(c for p in parts for c in p.cycles),
    )


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
