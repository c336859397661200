"""Paired rounds for ``suite ab``: both sides of every case in one interleaved group.

Each cycle runs a round of side A and a round of side B of every case back to back, in
shuffled order (the pairs shuffled too), so both sides meet the same moment of the
machine. A case whose model runs every task in one thread is held on one CPU, both sides
on the same one: the two vCPUs of this kind of machine change speed independently, so a
pair of single-core rounds on two CPUs measures the CPUs, not the change.

The rounds come in segments: each segment measures the cases on new worker processes (a
process keeps an offset of its own, up to 1.5% here, which must not pass for a change),
and a case leaves once its paired verdict is settled (:mod:`suite.results.ab`). Cases
still not settled after the last segment are reported so.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from suite.harness.interleave import BetweenCycles, Group, Job, Outcome
from suite.results import ab
from suite.spec import registry


@dataclass(frozen=True)
class Plan:
    """How an A/B group is measured."""

    #: Segments at most, each on a new pair of worker processes per case.
    pairs: int = 3
    #: The practical floor of a change (a fraction).
    floor: float = ab.FLOOR

    @property
    def min_pairs(self) -> int:
        return min(ab.MIN_PAIRS, self.pairs)


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


def _verdict(group: Group, pair: str, keys: Sequence[str], plan: Plan, pairs: int) -> ab.PairedChange | None:
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
    pending = set(members)
    try:
        for segment in range(plan.pairs):
            keys = [k for pair in pending for k in members[pair]]
            if segment == 0:
                group.start()
            else:
                group.renew(keys)
            _pin(group, keys, segment)
            _segment(group, keys, segment, plan, between_cycles)
            settled = set()
            for pair in pending:
                change = _verdict(group, pair, members[pair], plan, segment + 1)
                if change is None or change.settled or all(k in group.outcomes for k in members[pair]):
                    settled.add(pair)
            pending -= settled
            group.park(k for pair in settled for k in members[pair])
            if not pending:
                break
        group.finish()
    finally:
        group.close()
    return group.outcomes


def _segment(
    group: Group, keys: Sequence[str], segment: int, plan: Plan, between_cycles: BetweenCycles | None
) -> None:
    live = [k for k in keys if k in group.live]
    planned = max((group.live[k].case.warmup + group.live[k].case.rounds for k in live), default=0)
    for cycle in range(planned):
        group.cycle(
            k
            for k in live
            if k in group.live and cycle < group.live[k].case.warmup + group.live[k].case.rounds
        )
        if between_cycles is not None:
            between_cycles(cycle + 1, planned, segment)
