"""The runner contract, checked against every model the suite knows."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from pathlib import Path

import pytest

from suite.models import Runner
from suite.models.processes import ProcessesRunner
from suite.spec import registry
from suite.workloads import Workload
from suite.workloads.cpu import CpuWorkload

# The fast lane (-m 'not slow') leaves this module out: every test starts a model's pool or event loop.
pytestmark = pytest.mark.slow

PARAMS = {
    "cpu": {"tasks": 5, "iterations": 500},
    "hash": {"tasks": 5, "bytes": 4096, "repeat": 2},
    "sleep": {"tasks": 5, "latency_ms": 1},
    "compress": {"tasks": 5, "bytes": 20_000, "algorithm": "lzma", "level": 1},
    "file": {"tasks": 5, "bytes": 10_000},
    "callable": {
        "tasks": 5,
        "target": "callables_for_tests:crunch",
        "async_target": "callables_for_tests:crunch_async",
        "kwargs": {"n": 300},
        "index_arg": "index",
        "path": [str(Path(__file__).parent)],
    },
}


def make_workload(kind: str) -> Workload:
    cls = registry.workload(kind)
    return cls(cls.Params.model_validate(PARAMS[kind]))


def expected_values(kind: str) -> list[int]:
    workload = make_workload(kind)
    workload.prepare(1)
    return [workload.run_task(i) for i in range(PARAMS[kind]["tasks"])]


def run_rounds(runner: Runner, tasks: int, rounds: int = 2) -> list[list[int]]:
    runner.start()
    try:
        return [list(runner.run_round(tasks, n).values) for n in range(rounds)]
    finally:
        runner.close()


@pytest.mark.parametrize("kind", sorted(PARAMS))
def test_every_model_returns_the_same_values_in_task_order(model: str, kind: str) -> None:
    runner = registry.runner(model)(make_workload(kind), workers=3)
    for values in run_rounds(runner, PARAMS[kind]["tasks"]):
        assert values == expected_values(kind)


def test_round_durations_are_positive(model: str) -> None:
    runner = registry.runner(model)(make_workload("sleep"), workers=2)
    runner.start()
    try:
        result = runner.run_round(4, 0)
    finally:
        runner.close()
    # Four 1 ms sleeps on at most two workers cannot take less than 2 ms.
    assert result.duration_s >= 0.002
    # Every task started and ended inside its round, and took at least its 1 ms sleep.
    end = result.started + result.duration_s
    for _, task_start, task_end in result.tasks:
        assert result.started <= task_start <= task_end <= end
        assert task_end - task_start >= 0.001


@pytest.mark.asyncio
async def test_an_async_wait_lasts_its_full_time() -> None:
    """uvloop's timers run on a per-iteration millisecond clock: a few in a thousand
    ``sleep(0.001)`` end early. The workloads' wait must not (same work in every model)."""
    import asyncio

    from suite.workloads import sleep_at_least

    shortest = 1.0
    for _ in range(1500):
        start = time.perf_counter()
        await sleep_at_least(asyncio.sleep, 0.001)
        shortest = min(shortest, time.perf_counter() - start)
    assert shortest >= 0.001


def test_more_workers_than_tasks(model: str) -> None:
    runner = registry.runner(model)(make_workload("cpu"), workers=8)
    assert run_rounds(runner, 3, rounds=1) == [expected_values("cpu")[:3]]


def test_close_without_start_is_safe(model: str) -> None:
    registry.runner(model)(make_workload("cpu"), workers=2).close()


class Boom(Exception):
    pass


class FailingCpu(CpuWorkload):
    """Module level, so process pools can unpickle it by reference."""

    def run_task(self, index: int) -> int:
        raise Boom(f"task {index}")


def test_task_exception_propagates(model: str) -> None:
    runner = registry.runner(model)(FailingCpu(make_workload("cpu").params), workers=2)
    runner.start()
    try:
        with pytest.raises(Boom, match=r"task \d"):
            runner.run_round(3, 0)
    finally:
        runner.close()


class CountingCpu(CpuWorkload):
    """Records its hooks, to check the order the runners call them in."""

    calls: list[str]

    def prepare(self, concurrency: int) -> None:
        self.calls = [f"prepare({concurrency})"]

    def begin_round(self, round_no: int) -> None:
        self.calls.append(f"begin_round({round_no})")

    def close(self) -> None:
        self.calls.append("close")


@pytest.mark.parametrize("model", ["sequential", "asyncio", "uvloop", "trio", "asyncio+threads", "threads"])
def test_hooks_run_in_order_in_process(model: str) -> None:
    # Pool processes call the hooks in their own processes: test_http checks them there.
    workload = CountingCpu(make_workload("cpu").params)
    runner = registry.runner(model)(workload, workers=3)
    run_rounds(runner, 2, rounds=2)
    expected_concurrency = 1 if model == "sequential" else 3  # threads share one client
    assert workload.calls == [f"prepare({expected_concurrency})", "begin_round(0)", "begin_round(1)", "close"]


def test_registry_names_are_unique_and_ordered() -> None:
    names = list(registry.runners())
    assert names == [
        "sequential",
        "asyncio",
        "uvloop",
        "trio",
        "asyncio+threads",
        "asyncio+processes",
        "gevent",
        "threads",
        "interpreters",
        "processes",
        "processes-fork",
        "processes-forkserver",
        "processes-spawn",
        "multiprocessing-pool",
        "processes-shm",
        "dask",
    ]


def test_unknown_model_lists_valid_names() -> None:
    with pytest.raises(Exception, match=r"unknown model 'fibers'; valid: .*threads"):
        registry.runner("fibers")


def test_start_method_of_each_process_model() -> None:
    assert registry.runner("processes-spawn")(make_workload("cpu"), 1).start_method == "spawn"
    assert registry.runner("processes")(make_workload("cpu"), 1).start_method == (
        multiprocessing.get_start_method()
    )
    assert registry.runner("threads")(make_workload("cpu"), 1).start_method is None


def test_trio_that_cannot_start_fails_instead_of_hanging(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_trio(name: str, *args: object, **kwargs: object) -> object:
        if name == "trio":
            raise ModuleNotFoundError("No module named 'trio'")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_trio)
    runner = registry.runner("trio")(make_workload("cpu"), workers=2)
    with pytest.raises(ModuleNotFoundError, match="trio"):
        runner.start()
    runner.close()


def test_missing_start_method_makes_model_unavailable() -> None:
    class Imaginary(ProcessesRunner):
        name = "processes-imaginary"
        method = "imaginary"

    reason = Imaginary.unavailable_reason()
    assert reason is not None
    assert "imaginary" in reason


def test_sleep_ideal_is_the_latency_bound() -> None:
    workload = make_workload("sleep")  # 5 tasks of 1 ms
    assert workload.ideal_s(2, None, 2) == pytest.approx(0.003)
    assert workload.ideal_s(5, None, 2) == pytest.approx(0.001)


class WhoRan(CpuWorkload):
    """Returns the process id (or, in one process, the thread id) that ran the task."""

    def run_task(self, index: int) -> int:
        time.sleep(0.002)  # long enough for every pool member to get work
        return os.getpid() if self.params.iterations == 1 else threading.get_native_id()


@pytest.mark.parametrize(
    ("model", "by_process"),
    [
        ("threads", False),
        ("asyncio+threads", False),
        ("processes", True),
        ("processes-spawn", True),
        ("asyncio+processes", True),
    ],
)
def test_pools_start_once_not_every_round(model: str, by_process: bool) -> None:
    params = make_workload("cpu").params.model_copy(
        update={"iterations": 1 if by_process else 2, "tasks": 12}
    )
    runner = registry.runner(model)(WhoRan(params), workers=3)
    rounds = run_rounds(runner, 12, rounds=3)
    members = [set(values) for values in rounds]
    assert all(len(m) <= 3 for m in members)
    assert set().union(*members) == members[0] | members[1] | members[2]
    assert len(set().union(*members)) <= 3  # the same three threads or processes throughout
