"""Faults in tasks, workers and servers: each case fails with its reason, fast, and
leaves nothing running; the run goes on."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import time
from typing import Any

import psutil
import pytest
from suite_cli import alive

from suite import tasks as purework
from suite.errors import CaseFailed
from suite.harness import launcher, procgroup
from suite.spec.cases import Case

# The fast lane (-m 'not slow') leaves this module out: every test runs a case whose worker or pool fails on
# purpose.
pytestmark = pytest.mark.slow

BASE = Case(
    scenario="f",
    model="sequential",
    workers=2,
    kind="cpu",
    params={"tasks": 6, "iterations": 2000, "fault": {"kind": "raise", "at_task": 3}},
    rounds=2,
    warmup=1,
    timeout_s=30,
)
HAS_DASK = importlib.util.find_spec("distributed") is not None


def faulty(model: str, kind: str, **changes: Any) -> Case:
    params = {**BASE.params, "fault": {"kind": kind, "at_task": 3}}
    return dataclasses.replace(BASE, model=model, params=params, **changes)


def run_and_watch(case: Case) -> tuple[CaseFailed, float, list[int]]:
    """Run a case that must fail: its failure, how long it took, and the worker tree
    seen while it ran (to check afterwards that nothing of it is left)."""
    seen: set[int] = set()

    def watch(event: dict[str, Any]) -> None:
        if event["event"] == "hello":
            seen.add(event["pid"])
        if event["event"] in ("ready", "round"):
            for pid in list(seen):
                with contextlib.suppress(psutil.NoSuchProcess):
                    seen.update(c.pid for c in psutil.Process(pid).children(recursive=True))

    started = time.monotonic()
    with pytest.raises(CaseFailed) as info:
        launcher.run_case(case, on_event=watch)
    return info.value, time.monotonic() - started, sorted(seen)


def test_exception_in_a_task_fails_the_case_with_type_message_and_traceback(model: str) -> None:
    # ``model``: every model the suite knows (conftest), unavailable ones skipped with why.
    failure, _, pids = run_and_watch(faulty(model, "raise"))
    assert failure.status == "failed"
    assert failure.reason.startswith("InjectedFault: fault injected at task 3"), failure.reason
    assert "Traceback" in failure.detail
    assert "InjectedFault" in failure.detail
    assert alive(pids) == set()


@pytest.mark.parametrize("kind", ["exit", "crash"])
@pytest.mark.parametrize("model", ["processes", "processes-forkserver", "asyncio+processes"])
def test_dead_pool_process_fails_the_case_fast_naming_how_it_ended(model: str, kind: str) -> None:
    failure, elapsed, pids = run_and_watch(faulty(model, kind))
    ending = "exit code 3" if kind == "exit" else "killed by signal SIGSEGV"
    assert failure.reason.startswith("worker died: pool process "), failure.reason
    # The forkserver relays its children's exit status, and sometimes loses it (a race in
    # multiprocessing): then the reason says so instead of naming a made-up code.
    lost = "ended, how not known (the forkserver did not report its exit status)"
    assert ending in failure.reason or (model == "processes-forkserver" and lost in failure.reason)
    assert "exit code 255" not in failure.reason
    assert "ProcessPoolExecutor is broken" in failure.reason
    assert elapsed < 5 + 1  # start-up of a forkserver pool included; the death itself ~0.2 s
    assert alive(pids) == set()


@pytest.mark.parametrize("kind", ["exit", "crash"])
def test_dead_process_under_multiprocessing_pool_does_not_hang_the_round(kind: str) -> None:
    # Pool replaces the process but never returns the lost task's result; the round's
    # watch notices the death long before the case's deadline of 30 s.
    failure, elapsed, pids = run_and_watch(faulty("multiprocessing-pool", kind))
    assert failure.reason.startswith("worker died: pool process "), failure.reason
    assert "result is lost" in failure.reason
    assert elapsed < 5
    assert alive(pids) == set()


@pytest.mark.parametrize("model", ["sequential", "threads", "asyncio", "trio"])
def test_task_that_kills_its_own_process_fails_the_case_with_the_exit_code(model: str) -> None:
    failure, elapsed, pids = run_and_watch(faulty(model, "exit"))
    assert failure.reason.startswith("worker died (exit code 3) while waiting for round 0"), failure.reason
    assert elapsed < 5
    assert alive(pids) == set()


@pytest.mark.parametrize(
    ("model", "kind"),
    [
        ("sequential", "hang"),
        ("threads", "hang"),
        ("asyncio", "hang"),  # a coroutine that never yields
        ("trio", "hang"),
        ("processes", "hang"),
        ("multiprocessing-pool", "hang"),
        ("threads", "block"),
        ("uvloop", "block"),
        ("asyncio", "ignore_cancel"),
        ("trio", "ignore_cancel"),
        ("threads", "ignore_cancel"),
    ],
)
@pytest.mark.usefixtures("short_grace")
def test_task_that_never_finishes_times_out_and_its_tree_is_killed(model: str, kind: str) -> None:
    failure, elapsed, pids = run_and_watch(faulty(model, kind, timeout_s=0.5))
    assert failure.status == "timeout"
    assert "round 0" in failure.reason
    assert elapsed < 0.5 + launcher.GRACE_S + procgroup.KILL_GRACE_S + 1.5
    assert pids
    assert alive(pids) == set()


@pytest.mark.skipif(not HAS_DASK, reason="dask is not installed")
def test_dask_retries_the_task_of_a_dead_worker_and_the_work_goes_on() -> None:
    # The one model whose work survives a dead process: the nanny restarts the worker
    # and the scheduler runs the lost task elsewhere (the fault fires only once).
    reference = launcher.run_case(dataclasses.replace(BASE, params={"tasks": 6, "iterations": 2000}))
    result = launcher.run_case(faulty("dask", "exit"))
    assert result.checksum == reference.checksum
    assert len(result.durations_s) == BASE.rounds


def test_fault_fires_once_across_processes(tmp_path: Any) -> None:
    fault = {"kind": "raise", "at_task": 2, "marker": str(tmp_path / "fired")}
    assert not purework.fault_due(fault, 1)
    assert purework.fault_due(fault, 2)
    assert not purework.fault_due(dict(fault), 2)  # another process, same marker
    without_marker = {"kind": "raise", "at_task": 0}
    assert purework.fault_due(without_marker, 0)
    assert not purework.fault_due(without_marker, 0)


def test_fault_outside_the_tasks_is_a_validation_error(write_scenario: Any) -> None:
    from suite.errors import ScenarioError
    from suite.spec.scenario import load

    path = write_scenario(
        """
        name: f
        workload:
          kind: cpu
          tasks: 4
          iterations: 10
          fault: {kind: raise, at_task: 4}
        """
    )
    with pytest.raises(ScenarioError) as info:
        load(path)
    assert "fault.at_task is 4 but tasks run 0 .. 3" in str(info.value)
    assert f"{path}:2" in str(info.value)


def test_a_forkserver_child_whose_status_was_lost_is_not_given_a_made_up_code() -> None:
    from types import SimpleNamespace

    from suite.models.processes import how_ended

    lost = SimpleNamespace(exitcode=255, _start_method="forkserver")
    assert how_ended(lost) == "ended, how not known (the forkserver did not report its exit status)"  # type: ignore[arg-type]
    assert how_ended(SimpleNamespace(exitcode=255, _start_method="fork")) == "exit code 255"  # type: ignore[arg-type]
    assert how_ended(SimpleNamespace(exitcode=-11, _start_method="forkserver")) == "killed by signal SIGSEGV"  # type: ignore[arg-type]
