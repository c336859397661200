"""Cases run in real worker processes: the protocol, failures, deadlines, clean-up."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from typing import Any

import pytest

from suite.errors import CaseFailed
from suite.harness import executables, launcher, procgroup
from suite.spec.cases import Case

# The fast lane (-m 'not slow') leaves this module out: every test starts a worker process.
pytestmark = pytest.mark.slow

BASE = Case(
    scenario="t",
    model="sequential",
    workers=1,
    kind="cpu",
    params={"tasks": 4, "iterations": 2000},
    rounds=3,
    warmup=1,
    timeout_s=30,
)


def case(**changes: Any) -> Case:
    return dataclasses.replace(BASE, **changes)


def group_is_gone(pgid: int) -> bool:
    return not procgroup.group_alive(pgid)


def test_events_arrive_in_protocol_order() -> None:
    events: list[dict[str, Any]] = []
    result = launcher.run_case(case(), on_event=events.append)
    names = [e["event"] for e in events]
    assert names == ["hello", "ready", "round", "round", "round", "round", "done"]
    assert [e["warmup"] for e in events[2:6]] == [True, False, False, False]
    assert result.durations_s == tuple(e["duration_s"] for e in events[3:6])
    assert result.warmup_s == (events[2]["duration_s"],)
    assert group_is_gone(events[0]["pid"])


def test_a_warm_up_round_runs_a_share_of_the_tasks_and_the_rounds_all_of_them() -> None:
    events: list[dict[str, Any]] = []
    measured = case(model="threads", workers=2, params={"tasks": 40, "iterations": 500}, warmup=2, rounds=2)
    result = launcher.run_case(measured, on_event=events.append)
    rounds = [(e["warmup"], e["tasks"]) for e in events if e["event"] == "round"]
    assert rounds == [(True, 10), (True, 10), (False, 40), (False, 40)]
    # A measured round's checksum is over all 40 tasks: the same as with no warm-up at all.
    assert result.checksum == launcher.run_case(dataclasses.replace(measured, warmup=0)).checksum


def test_result_carries_interpreter_facts() -> None:
    result = launcher.run_case(case(model="processes-fork", workers=2))
    assert result.start_method == "fork"
    assert result.startup_s > 0
    assert result.env["implementation"] == "cpython"
    assert result.env["gil_enabled"] is True
    assert result.env["cpu_count"] == os.cpu_count()


def test_every_model_reports_the_same_checksum(model: str) -> None:
    for kind, params in [("cpu", {"tasks": 3, "iterations": 100}), ("hash", {"tasks": 3, "bytes": 3000})]:
        reference = launcher.run_case(case(kind=kind, params=params)).checksum
        measured = launcher.run_case(case(model=model, workers=2, kind=kind, params=params, rounds=1))
        assert measured.checksum == reference, (model, kind)


def test_error_in_worker_fails_the_case_with_type_and_traceback() -> None:
    with pytest.raises(CaseFailed) as info:
        launcher.run_case(case(params={"tasks": 0, "iterations": 1}))
    assert info.value.status == "failed"
    assert info.value.reason.startswith("ValidationError")
    assert "Traceback" in info.value.detail


@pytest.mark.parametrize("model", ["sequential", "threads", "asyncio", "processes"])
@pytest.mark.usefixtures("short_grace")
def test_round_past_its_timeout_is_stopped_and_its_processes_killed(model: str) -> None:
    events: list[dict[str, Any]] = []
    slow = case(
        model=model,
        workers=2,
        kind="sleep",
        params={"tasks": 4, "latency_ms": 20_000},
        warmup=0,
        timeout_s=0.5,
    )
    started = time.monotonic()
    with pytest.raises(CaseFailed) as info:
        launcher.run_case(slow, on_event=events.append)
    elapsed = time.monotonic() - started
    assert info.value.status == "timeout"
    assert "round 0" in info.value.reason
    assert elapsed < 0.5 + launcher.GRACE_S + 3 * procgroup.KILL_GRACE_S + 2
    assert group_is_gone(events[0]["pid"])


def test_interpreter_without_the_suite_fails_with_the_reason(tmp_path: Any) -> None:
    bare = "/usr/bin/python3"
    if not os.path.exists(bare):
        pytest.skip("no system interpreter to try")
    with pytest.raises(CaseFailed) as info:
        launcher.run_case(case(), python=bare)
    assert info.value.reason.startswith(f"{bare} cannot run the suite's worker (ModuleNotFoundError: ")
    assert "install this project and its dependencies for that interpreter" in info.value.reason


def test_task_output_does_not_corrupt_the_protocol() -> None:
    # Measured code that prints must not break the JSON lines on the worker's stdout.
    program = (
        "import sys, suite.harness.worker as w, suite.workloads.cpu as c\n"
        "run = c.CpuWorkload.run_task\n"
        "c.CpuWorkload.run_task = lambda self, i: (print('noise from task', i), run(self, i))[1]\n"
        "sys.exit(w.main())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        input=launcher.job_json(case()),
        capture_output=True,
        text=True,
        timeout=60,
        env=executables.worker_env(sys.executable),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    events = [json.loads(line)["event"] for line in done.stdout.splitlines()]
    assert events[-1] == "done"
    assert "noise from task 3" in done.stderr
