"""Paired rounds for ``suite ab``: both sides of every case in one interleaved group.

Each cycle runs a round of side A and a round of side B of every case back to back, in
shuffled order (the pairs shuffled too), so both sides meet the same moment of the
machine. A case whose model runs every task in one thread is held on one CPU, both sides
on the same one: the two vCPUs of this kind of machine change speed independently, so a
pair of single-core rounds on two CPUs measures the CPUs, not the change.

The rounds come in segments: each segment measures the cases on new worker processes (a
process keeps an offset of its own, up to 1.5% here, which must not pass for a change).
After them (:class:`Plan`) a case whose paired verdict is settled (:mod:`suite.results.ab`)
leaves; the others get more cycles within a time budget. Cases still not settled then
are reported so.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

from suite.harness.interleave import BetweenCycles, Group, Job, Outcome
from suite.results import ab
from suite.spec import registry


@dataclass(frozen=True)
class Plan:
    """How an A/B group is measured.

    A case's measured rounds (its scenario's ``rounds``, at least
    :data:`suite.results.ab.MIN_CYCLES`) are split over ``pairs`` pairs of worker
    processes, one after the other, each with its own warm-up. A case still not settled
    then gets more cycles on its last pair, as a ``suite run`` gives its uncertain cases
    more rounds: within :data:`EXTRA_SHARE` of the planned time and at most
    :data:`EXTRA_ROUNDS` times its rounds. Each side so gets about as many rounds as one
    ``suite run`` gives a case.
    """

    #: Pairs of worker processes per case.
    pairs: int = 2
    #: The practical floor of a change (a fraction).
    floor: float = ab.FLOOR

    @property
    def min_pairs(self) -> int:
        return min(ab.MIN_PAIRS, self.pairs)


#: Extra cycles, for the cases not settled, may take this share of the planned time: a
#: change is called from 8 cycles or more, and a case has 5 planned. On a quiet machine
#: cases settle early; on a noisy one a verdict costs time, and that is the trade here.
EXTRA_SHARE = 1.0
#: Extra cycles per case at most, in multiples of its rounds.
EXTRA_ROUNDS = 2


def share(rounds: int, pairs: int, segment: int) -> int:
    """Measured rounds of a case in ``segment``: its rounds split over the pairs, the
    first ones taking the remainder."""
    return rounds // pairs + (1 if segment < rounds % pairs else 0)


def one_cpu(job: Job) -> bool:
    """Whether the job's case uses one CPU (its model runs every task in one thread)."""
    return registry.runner(job.case.model).one_cpu


def _pin(group: Group, keys: Sequence[str], segment: int) -> None:
    """Hold each single-CPU pair on one CPU, both sides on the same; pairs take the CPUs
    in turn, and each segment moves them on by one."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) < 2:
        return
    pairs = list(dict.fromkeys(group.jobs[k].pair or k for k in keys if one_cpu(group.jobs[k])))
    for key in keys:
        job = group.jobs[key]
        if key in group.live and one_cpu(job):
            cpu = cpus[(pairs.index(job.pair or key) + segment) % len(cpus)]
            group.live[key].pin(cpu)


def _verdict(group: Group, keys: Sequence[str], plan: Plan, pairs: int) -> ab.PairedChange | None:
    sides = {group.jobs[k].case.side: k for k in keys}
    if set(sides) != {"A", "B"} or any(k in group.outcomes for k in keys):
        return None
    return ab.paired_change(
        group.by_cycle(sides["A"]), group.by_cycle(sides["B"]), plan.floor, pairs, plan.min_pairs
    )


def run_paired(
    jobs: Sequence[Job], seed: int, between_cycles: BetweenCycles | None = None, plan: Plan = Plan()
) -> dict[str, Outcome]:
    """Measure the two sides of every job's pair side by side until each pair is settled."""
    group = Group(jobs, seed)
    members: dict[str, list[str]] = {}
    for job in jobs:
        members.setdefault(job.pair or job.key, []).append(job.key)
    began = time.monotonic()
    try:
        for segment in range(plan.pairs):
            if segment == 0:
                group.start()
            else:
                group.renew(list(group.live))
            _pin(group, list(group.live), segment)
            _segment(group, list(group.live), segment, plan, between_cycles)
        _refine(group, members, plan, time.monotonic() - began, between_cycles)
        group.finish()
    finally:
        group.close()
    return group.outcomes


def _refine(
    group: Group,
    members: dict[str, list[str]],
    plan: Plan,
    planned_s: float,
    between_cycles: BetweenCycles | None,
) -> None:
    """More cycles on the last pair of processes for the cases not yet settled, within
    :data:`EXTRA_SHARE` of the planned time and :data:`EXTRA_ROUNDS` times their rounds.
    A case those cycles could not plausibly settle (:func:`suite.results.ab.reachable`)
    gets none: it is reported "not settled" at once."""
    began = time.monotonic()
    extra = 0
    pending = set(members)
    while True:
        done = {
            pair
            for pair in pending
            if _settled(group, members[pair], plan, plan.pairs)
            or not _reachable(group, members[pair], plan, _allowed(group, members[pair]) - extra)
        }
        pending -= done
        group.park(k for pair in done for k in members[pair])
        keys = [k for pair in pending for k in members[pair] if k in group.live]
        if not keys or time.monotonic() - began > EXTRA_SHARE * planned_s:
            return
        if any(extra >= _allowed(group, [k]) for k in keys):
            return
        group.cycle(keys)
        extra += 1
        if between_cycles is not None:
            between_cycles(extra, 0, plan.pairs)


def _allowed(group: Group, keys: Sequence[str]) -> int:
    """Extra cycles the cases of ``keys`` may have in all."""
    return min(EXTRA_ROUNDS * group.jobs[k].case.rounds for k in keys)


def _reachable(group: Group, keys: Sequence[str], plan: Plan, more: int) -> bool:
    """Whether ``more`` cycles could settle the pair (:func:`suite.results.ab.reachable`)."""
    sides = {group.jobs[k].case.side: k for k in keys}
    if set(sides) != {"A", "B"}:
        return False
    return ab.reachable(group.by_cycle(sides["A"]), group.by_cycle(sides["B"]), more, plan.floor)


def _settled(group: Group, keys: Sequence[str], plan: Plan, pairs: int) -> bool:
    if all(k in group.outcomes for k in keys):
        return True
    change = _verdict(group, keys, plan, pairs)
    return change is None or change.settled


def _segment(
    group: Group, keys: Sequence[str], segment: int, plan: Plan, between_cycles: BetweenCycles | None
) -> None:
    live = [k for k in keys if k in group.live]
    lengths = {
        k: group.live[k].case.warmup + share(group.live[k].case.rounds, plan.pairs, segment) for k in live
    }
    planned = max(lengths.values(), default=0)
    for cycle in range(planned):
        group.cycle(k for k in live if k in group.live and cycle < lengths[k])
        if between_cycles is not None:
            between_cycles(cycle + 1, planned, segment)
