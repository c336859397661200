"""Native thread pools inside the work: seen, warned about, limited on request."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest
from suite_cli import ROOT, run_suite

from suite.errors import ModelUnavailable
from suite.harness import launcher
from suite.harness.environment import usable_cpus
from suite.results.record import CaseRecord
from suite.results.summary import multithreaded_work, oversubscribed
from suite.spec.cases import Case

# The fast lane (-m 'not slow') leaves this module out: every test starts workers with native pools.
pytestmark = pytest.mark.slow

pytest.importorskip("numpy", reason="numpy is the numeric extra")
pytest.importorskip("threadpoolctl", reason="threadpoolctl is the numeric extra")

CASE = Case(
    scenario="n",
    model="sequential",
    workers=1,
    kind="callable",
    params={
        "tasks": 4,
        "target": "numeric_tasks:matmul",
        "kwargs": {"n": 120},
        "index_arg": "index",
        "requires": ["numpy"],
        "path": [str(ROOT / "scenarios")],
    },
    rounds=2,
    warmup=1,
    timeout_s=60,
)


def test_the_pools_the_work_loaded_are_recorded() -> None:
    result = launcher.run_case(CASE)
    assert result.summary["native_threads"] == {"openblas": usable_cpus()}


@pytest.mark.parametrize("model", ["threads", "processes", "processes-spawn"])
def test_auto_gives_each_worker_its_share_in_every_process(model: str) -> None:
    case = dataclasses.replace(CASE, model=model, workers=2, native_threads="auto")
    result = launcher.run_case(case)
    share = max(1, usable_cpus() // 2)
    assert result.summary["native_threads"] == {"openblas": share}
    # The same work and value, whatever the pools' size.
    assert result.checksum == launcher.run_case(CASE).checksum


def test_a_missing_module_makes_the_case_unavailable() -> None:
    params = {**CASE.params, "requires": ["numpy", "no_such_module_for_the_suite"]}
    with pytest.raises(ModelUnavailable, match="needs no_such_module_for_the_suite, not installed"):
        launcher.run_case(dataclasses.replace(CASE, params=params))


def test_the_summary_says_the_work_is_multithreaded_and_oversubscribed() -> None:
    sequential = CaseRecord(
        model="sequential", parallelism=1.9, cpu_user_s=0.13, native_threads={"openblas": 2}
    )
    said = multithreaded_work(sequential)
    assert said is not None
    assert said.startswith("the work itself is multithreaded (openblas 2 threads): sequential kept ∥1.9")
    assert multithreaded_work(sequential.model_copy(update={"parallelism": 1.0})) is None
    crowded = oversubscribed(
        CaseRecord(model="processes", workers=2, usable_cpus=2, native_threads={"openblas": 2})
    )
    assert crowded == (
        "oversubscribed: 2 workers x 2 native threads each = 4 threads on 2 usable CPUs "
        "(native_threads: auto gives each worker 1)"
    )
    assert (
        oversubscribed(
            CaseRecord(model="processes", workers=2, usable_cpus=2, native_threads={"openblas": 1})
        )
        is None
    )


@pytest.mark.parametrize(("value", "message"), [("many", "found 'many'"), ("0", "found 0")])
def test_bad_native_threads_name_the_line(
    write_scenario: Callable[..., Path], tmp_path: Path, value: str, message: str
) -> None:
    scenario = write_scenario(
        f"workload: {{kind: cpu, tasks: 2, iterations: 10}}\nnative_threads: {value}\nworkers: [2]\n",
        name="bad.yaml",
    )
    done = run_suite("validate", str(scenario), cwd=tmp_path)
    assert done.returncode == 2
    assert (
        "bad.yaml:2: native_threads: value error, expected a number of threads from 1 to 1024, "
        f"or auto; {message}" in done.stderr
    )
