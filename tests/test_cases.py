"""From a scenario to its cases: models, worker levels, overrides and --quick."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from suite.harness.launcher import job_json
from suite.spec import registry, scenario
from suite.spec.cases import (
    QUICK_MAX_TASKS,
    QUICK_MAX_WORKERS,
    QUICK_ROUNDS,
    QUICK_SERVE_S,
    Case,
    Overrides,
    build,
)

WriteScenario = Callable[..., Path]

TEXT = """
workload: {kind: cpu, tasks: 6, iterations: 4000}
models: [sequential, threads, processes]
workers: [2, 4]
rounds: 7
warmup: 2
timeout_s: 9
"""


def test_sequential_runs_once_with_one_worker(write_scenario: WriteScenario) -> None:
    cases = build(scenario.load(write_scenario(TEXT)))
    assert [c.id for c in cases] == [
        "sequential-w1",
        "threads-w2",
        "threads-w4",
        "processes-w2",
        "processes-w4",
    ]
    assert {(c.rounds, c.warmup, c.timeout_s, c.tasks) for c in cases} == {(7, 2, 9.0, 6)}


def test_default_models_are_every_known_model_but_variants_run_when_named(
    write_scenario: WriteScenario,
) -> None:
    cases = build(
        scenario.load(write_scenario("workload: {kind: cpu, tasks: 1, iterations: 1}\nworkers: [3]\n"))
    )
    assert [c.model for c in cases] == [m for m in registry.runners() if m != "processes-shm"]
    named = build(
        scenario.load(
            write_scenario(
                "workload: {kind: cpu, tasks: 1, iterations: 1}\nmodels: [processes-shm]\nworkers: [3]\n"
            )
        )
    )
    assert [c.model for c in named] == ["processes-shm"]


def test_overrides_narrow_models_and_replace_workers(write_scenario: WriteScenario) -> None:
    loaded = scenario.load(write_scenario(TEXT))
    cases = build(loaded, Overrides(models=["threads", "uvloop"], workers=[8], rounds=3))
    assert [(c.model, c.workers, c.rounds) for c in cases] == [("threads", 8, 3)]


def test_quick_cuts_rounds_and_work_but_keeps_few_tasks(write_scenario: WriteScenario) -> None:
    cases = build(scenario.load(write_scenario(TEXT)), Overrides(quick=True))
    assert {(c.rounds, c.warmup, c.params["iterations"], c.tasks) for c in cases} == {
        (QUICK_ROUNDS, 1, 1000, 6)
    }


BIG = """
workload: {kind: sleep, tasks: 10000, latency_ms: 20}
models: [sequential, asyncio, threads]
workers: [4, 16, 100, 10000]
"""


def test_quick_caps_tasks_workers_and_latency(write_scenario: WriteScenario) -> None:
    cases = build(scenario.load(write_scenario(BIG)), Overrides(quick=True))
    assert [c.id for c in cases] == [
        "sequential-w1",
        "asyncio-w4",
        "asyncio-w16",
        "threads-w4",
        "threads-w16",
    ]
    assert {(c.tasks, c.params["latency_ms"]) for c in cases} == {(QUICK_MAX_TASKS, 5.0)}
    assert QUICK_MAX_WORKERS == 16


def test_quick_keeps_worker_counts_given_on_the_command_line(write_scenario: WriteScenario) -> None:
    cases = build(scenario.load(write_scenario(BIG)), Overrides(quick=True, workers=[100]))
    assert [c.id for c in cases] == ["sequential-w1", "asyncio-w100", "threads-w100"]


def test_quick_keeps_the_task_a_fault_is_injected_into(write_scenario: WriteScenario) -> None:
    text = "workload: {kind: cpu, tasks: 500, iterations: 40, fault: {kind: raise, at_task: 99}}\n"
    cases = build(scenario.load(write_scenario(text)), Overrides(quick=True, models=["threads"]))
    assert {c.tasks for c in cases} == {100}


def test_case_round_trips_through_the_worker_job(write_scenario: WriteScenario) -> None:
    case = build(scenario.load(write_scenario(TEXT)))[1]
    job = json.loads(job_json(case, {"url": "http://127.0.0.1:1"}))
    assert Case(**job["case"]) == case
    assert job["endpoint"] == {"url": "http://127.0.0.1:1"}


def test_quick_keeps_the_fewest_and_the_most_workers(write_scenario: WriteScenario) -> None:
    text = "workload: {kind: cpu, tasks: 8, iterations: 40}\nmodels: [threads]\nworkers: [1, 4, 8, 64, 2]\n"
    cases = build(scenario.load(write_scenario(text)), Overrides(quick=True))
    assert [c.id for c in cases] == ["threads-w1", f"threads-w{QUICK_MAX_WORKERS}"]


SERVE = """
mode: serve
workload: {kind: sleep, tasks: 1, latency_ms: 20}
models: [sequential, asyncio]
workers: [8, 64]
load:
  closed: {connections: [16, 64]}
  open: {rates_rps: [800, 2800, 400]}
  duration_s: 3.0
  warmup_s: 1.0
"""


def test_quick_serves_the_most_workers_at_the_highest_rate(write_scenario: WriteScenario) -> None:
    full = build(scenario.load(write_scenario(SERVE)))
    assert len(full) == (1 + 2) * 5  # sequential serves with one worker
    cases = build(scenario.load(write_scenario(SERVE)), Overrides(quick=True))
    assert [c.id for c in cases] == ["sequential-w1-open2800", f"asyncio-w{QUICK_MAX_WORKERS}-open2800"]
    assert {(c.load or {})["duration_s"] for c in cases} == {QUICK_SERVE_S}
    # Without an open load, the closed points are what there is.
    closed_only = SERVE.replace("  open: {rates_rps: [800, 2800, 400]}\n", "")
    cases = build(scenario.load(write_scenario(closed_only)), Overrides(quick=True))
    assert [c.id for c in cases] == [
        "sequential-w1-closed16",
        "sequential-w1-closed64",
        f"asyncio-w{QUICK_MAX_WORKERS}-closed16",
        f"asyncio-w{QUICK_MAX_WORKERS}-closed64",
    ]


def test_a_warm_up_round_is_a_quarter_of_the_tasks_but_reaches_every_worker_and_the_fault() -> None:
    def warm(workers: int, tasks: int, **params: object) -> int:
        return Case("s", "threads", workers, "cpu", {"tasks": tasks, **params}, 1, 1, 9.0).warmup_tasks

    assert warm(1, 500) == 125  # a quarter
    assert warm(100, 500) == 200  # two a worker
    assert warm(16, 20) == 20  # never more than a round
    assert warm(2, 16, fault={"kind": "crash", "at_task": 9}) == 10  # the fault still fires in it


def test_quick_waits_at_most_50_ms_a_task(write_scenario: WriteScenario) -> None:
    long = "workload: {kind: http, tasks: 100, latency_ms: 1000}\nmodels: [asyncio]\nworkers: [100]\n"
    fixed = build(scenario.load(write_scenario(long)), Overrides(quick=True))
    assert {c.params["latency_ms"] for c in fixed} == {50.0}
    slept = build(scenario.load(write_scenario(long.replace("http", "sleep"))), Overrides(quick=True))
    assert {c.params["latency_ms"] for c in slept} == {50.0}
