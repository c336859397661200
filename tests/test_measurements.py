"""Each measurement checked on a workload where its value is known."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from suite.harness import launcher
from suite.harness.metrics import record
from suite.results import summary
from suite.results.record import CaseRecord
from suite.spec.cases import Case

# The fast lane (-m 'not slow') leaves this module out: every test measures cases in worker processes.
pytestmark = pytest.mark.slow

CPU = Case(
    scenario="m",
    model="sequential",
    workers=1,
    kind="cpu",
    params={"tasks": 4, "iterations": 300_000},
    rounds=3,
    warmup=1,
    timeout_s=60,
)


def measure(**changes: Any) -> CaseRecord:
    result = launcher.run_case(dataclasses.replace(CPU, **changes))
    return record(result)


def test_sleeping_tasks_use_almost_no_cpu() -> None:
    info = measure(model="threads", workers=4, kind="sleep", params={"tasks": 8, "latency_ms": 50})
    assert info.parallelism is not None
    assert info.parallelism < 0.2
    assert info.cpu_s < 0.05


def test_cpu_in_pool_processes_is_counted() -> None:
    sequential = measure()
    processes = measure(model="processes", workers=2)
    seq_cpu, proc_cpu = sequential.cpu_s, processes.cpu_s
    # The children did the work: the tree's CPU is about the sequential CPU, not near zero.
    assert proc_cpu == pytest.approx(seq_cpu, rel=0.5)
    assert sequential.parallelism == pytest.approx(1.0, abs=0.25)


def test_four_processes_take_more_memory_than_four_threads() -> None:
    threads = measure(model="threads", workers=4)
    processes = measure(model="processes", workers=4)
    assert processes.peak_rss_bytes > threads.peak_rss_bytes
    # PSS, not USS: pages a forked child shares with its parent are unique to neither.
    assert processes.pss_bytes > threads.pss_bytes
    assert processes.uss_bytes > 0


def test_peak_memory_is_sampled_during_measured_rounds() -> None:
    result = launcher.run_case(dataclasses.replace(CPU, model="threads", workers=2))
    assert result.rss_samples >= 1
    assert result.peak_rss_bytes > 10 * 2**20


def records(*infos: dict[str, Any]) -> list[CaseRecord]:
    return [CaseRecord.model_validate(i) for i in infos]


def info(model: str, workers: int, median_s: float, **extra: Any) -> dict[str, Any]:
    return {
        "scenario": "s",
        "workload": "cpu",
        "tasks": 4000,
        "model": model,
        "workers": workers,
        "median_s": median_s,
        "status": "ok",
        "speedup": None,
        "efficiency": None,
        "cpu_user_s": 0.1,
        "cpu_sys_s": 0.0,
        "parallelism": 1.0,
        "peak_rss_bytes": 50 * 2**20,
        "us_per_task": 25.0,
        "unstable": False,
        "cv": 0.01,
        **extra,
    }


def test_summary_has_a_block_per_interpreter() -> None:
    infos = [
        {**info("sequential", 1, 1.0), "interpreter": "cpython-3.11.7"},
        {**info("sequential", 1, 2.0), "interpreter": "cpython-3.13.0"},
    ]
    text = "\n".join(summary.render(records(*infos), ["sequential"]))
    assert "s (cpu, 4000 tasks per round) on cpython-3.11.7" in text
    assert "s (cpu, 4000 tasks per round) on cpython-3.13.0" in text
    assert "*1.00s" in text
    assert "*2.00s" in text


def test_summary_marks_the_winner_and_warns() -> None:
    infos = [
        info("sequential", 1, 1.0, speedup=1.0, efficiency=1.0),
        info("threads", 2, 0.9, speedup=1.11, efficiency=0.55, unstable=True, cv=0.2),
        info("processes", 2, 0.55, speedup=1.82, efficiency=0.91, server_cpu_s=0.5),
        {
            "scenario": "s",
            "model": "asyncio",
            "workers": 2,
            "status": "timeout",
            "reason": "timed out after 3 s",
        },
        {
            "scenario": "s",
            "model": "interpreters",
            "workers": 2,
            "status": "unavailable",
            "reason": "needs 3.13",
        },
    ]
    lines = summary.render(records(*infos), ["sequential", "asyncio", "threads", "interpreters", "processes"])
    text = "\n".join(lines)
    assert "s (cpu, 4000 tasks per round)" in text
    row = next(line for line in lines if line.strip().startswith("2 ") and "TIMEOUT" in line)
    assert "*550.0ms x1.82 91%" in row
    assert "900.0ms x1.11 55%" in row
    assert "cost per task" in text
    assert "warning: threads w2: unstable rounds (cv 20%)" in text
    assert "warning: asyncio w2: timeout: timed out after 3 s" in text
    assert "warning: processes w2: the server was busy 91% of the round" in text
    assert "  not run here: interpreters: needs 3.13" in text
    assert "interpreters" not in lines[2]  # no column for it


def test_summary_shows_start_up_only_where_it_is_slow() -> None:
    quick = [info("sequential", 1, 1.0, startup_s=0.01), info("threads", 2, 0.9, startup_s=0.02)]
    assert "start-up" not in "\n".join(summary.render(records(*quick), ["sequential", "threads"]))
    slow = [*quick, info("processes", 16, 0.5, startup_s=1.53)]
    lines = summary.render(records(*slow), ["sequential", "threads", "processes"])
    title = lines.index("  start-up (pool, loop or cluster; never inside a round)")
    assert lines[title + 4].split() == ["16", "1.53s"]
    assert lines[title + 3].split() == ["2", "20.0ms"]
