"""Interleaved rounds: every case up at once, one round of each per cycle, shuffled."""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Any

import psutil
import pytest

from suite.errors import CaseFailed
from suite.harness import launcher, metrics, zygote
from suite.harness.interleave import Adapt, Job, run_interleaved
from suite.spec.cases import Case

# The fast lane (-m 'not slow') leaves this module out: every test runs interleaved groups of worker
# processes.
pytestmark = pytest.mark.slow

BASE = Case(
    scenario="t",
    model="sequential",
    workers=1,
    kind="cpu",
    params={"tasks": 4, "iterations": 2000},
    rounds=4,
    warmup=1,
    timeout_s=30,
)


def job(model: str, workers: int = 2, **params: Any) -> Job:
    case = dataclasses.replace(BASE, model=model, workers=1 if model == "sequential" else workers)
    if params:
        case = dataclasses.replace(case, params={**case.params, **params})
    return Job(case.id, case, sys.executable, None)


def children() -> set[int]:
    """This process's descendants, but for the zygotes (they outlive the cases they fork)."""
    return {p.pid for p in psutil.Process(os.getpid()).children(recursive=True)} - zygote.pids()


@pytest.fixture
def order(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every round the parent asks for, as (case, cycle), in the order it asked."""
    asked: list[tuple[str, int]] = []
    original = launcher.Session.next_round

    def next_round(self: launcher.Session, cycle: int | None = None) -> dict[str, Any]:
        asked.append((self.case.id, -1 if cycle is None else cycle))
        return original(self, cycle)

    monkeypatch.setattr(launcher.Session, "next_round", next_round)
    return asked


def test_each_cycle_runs_one_round_of_every_case_in_a_new_order(order: list[tuple[str, int]]) -> None:
    before = children()
    jobs = [job("sequential"), job("threads"), job("processes"), job("asyncio")]
    outcomes = run_interleaved(jobs, seed=7)
    assert set(outcomes) == {j.key for j in jobs}
    cycles = [[key for key, c in order if c == cycle] for cycle in range(BASE.warmup + BASE.rounds)]
    assert all(sorted(keys) == sorted(j.key for j in jobs) for keys in cycles)
    assert len({tuple(keys) for keys in cycles}) > 1  # shuffled, not the same order each cycle
    for result in outcomes.values():
        assert isinstance(result, launcher.CaseResult)
        assert result.group == 7
        assert result.cycles == (1, 2, 3, 4)
        assert len(result.durations_s) == BASE.rounds
        assert len(result.warmup_s) == BASE.warmup
    assert len({r.checksum for r in outcomes.values() if isinstance(r, launcher.CaseResult)}) == 1
    assert children() <= before


def test_the_same_seed_gives_the_same_order(order: list[tuple[str, int]]) -> None:
    jobs = [job("sequential"), job("threads"), job("asyncio")]
    run_interleaved(jobs, seed=3)
    first = list(order)
    order.clear()
    run_interleaved(jobs, seed=3)
    assert order == first


def test_a_case_that_fails_leaves_the_others_measured() -> None:
    before = children()
    broken = job("threads", fault={"kind": "raise", "at_task": 2})
    outcomes = run_interleaved([job("sequential"), broken, job("processes")], seed=1)
    assert isinstance(outcomes[broken.key], CaseFailed)
    assert "fault injected at task 2" in outcomes[broken.key].reason
    assert isinstance(outcomes["sequential-w1"], launcher.CaseResult)
    assert isinstance(outcomes["processes-w2"], launcher.CaseResult)
    assert children() <= before


def test_speedup_is_paired_by_cycle_with_an_interval() -> None:
    def result(durations: tuple[float, ...], group: int | None) -> launcher.CaseResult:
        cycles = tuple(range(1, len(durations) + 1)) if group is not None else ()
        return launcher.CaseResult(BASE, durations, (), "c", 0.0, None, group=group, cycles=cycles)

    # The machine slowed down in cycles 3-4 for both: each cycle's ratio is still 2.
    base = result((1.0, 1.0, 2.0, 2.0, 1.0, 1.0), group=5)
    fast = result((0.5, 0.5, 1.0, 1.0, 0.5, 0.5), group=5)
    paired = metrics.speedup(fast, base)
    assert paired == {"speedup": 2.0, "speedup_interval": [2.0, 2.0], "paired": True}
    # Measured apart (no group), the medians are compared instead.
    apart = metrics.speedup(result((0.5, 0.5, 0.5, 1.0, 1.0, 1.0), None), base)
    assert apart["paired"] is False
    assert apart["speedup"] == pytest.approx(1.0 / 0.75)
    assert apart["speedup_interval"] is None


def test_uncertain_cases_get_more_rounds_up_to_the_limit() -> None:
    jobs = [job("sequential"), job("threads")]
    # A precision no real machine meets: every case goes on to max_rounds.
    outcomes = run_interleaved(jobs, seed=2, adapt=Adapt(max_rounds=7, precision=1e-9, budget_s=60))
    for result in outcomes.values():
        assert isinstance(result, launcher.CaseResult)
        assert len(result.durations_s) == 7
        assert result.cycles == tuple(range(1, 8))


def test_tight_cases_stop_at_their_rounds() -> None:
    jobs = [job("sequential"), job("threads")]
    outcomes = run_interleaved(jobs, seed=2, adapt=Adapt(max_rounds=9, precision=10.0, budget_s=60))
    assert all(
        len(r.durations_s) == BASE.rounds for r in outcomes.values() if isinstance(r, launcher.CaseResult)
    )


def test_extra_rounds_stop_when_the_budget_is_spent() -> None:
    outcomes = run_interleaved([job("sequential"), job("threads")], seed=2, adapt=Adapt(50, 1e-9, budget_s=0))
    assert all(
        len(r.durations_s) == BASE.rounds for r in outcomes.values() if isinstance(r, launcher.CaseResult)
    )


def test_who_runs_alone_and_why() -> None:
    from suite.harness.groups import ALONE_WORKERS, alone_reason

    assert alone_reason(BASE) is None
    assert "interleave: false" in (alone_reason(dataclasses.replace(BASE, interleave=False)) or "")
    crowd = dataclasses.replace(BASE, model="asyncio", workers=ALONE_WORKERS)
    assert f"{ALONE_WORKERS} workers are too many" in (alone_reason(crowd) or "")
    # An idle Dask cluster heartbeats: beside other cases it would take their CPU.
    dask = alone_reason(dataclasses.replace(BASE, model="dask", workers=2))
    assert dask is not None
    assert "idle Dask cluster keeps using CPU" in dask
