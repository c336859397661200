"""The dask model on a LocalCluster and on a scheduler started outside the suite."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from suite.errors import ScenarioError
from suite.harness import launcher, procgroup
from suite.spec import scenario
from suite.spec.cases import Case, Overrides, build

# The fast lane (-m 'not slow') leaves this module out: every test starts a Dask cluster.
pytestmark = pytest.mark.slow

pytest.importorskip("distributed", reason="Dask is an optional extra: pip install 'concurrency-suite[dask]'")

ROOT = Path(__file__).resolve().parent.parent
HASH = Case(
    scenario="d",
    model="sequential",
    workers=1,
    kind="hash",
    params={"tasks": 8, "bytes": 200_000, "repeat": 2},
    rounds=2,
    warmup=1,
    timeout_s=60,
)


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A `dask scheduler` and two `dask worker` processes, started as a user would."""
    folder = tmp_path_factory.mktemp("dask")
    file = folder / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # the workers must import the suite
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    procs = [
        subprocess.Popen(
            [*dask, "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(file)],
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while not file.exists() or not file.read_text().strip():
            assert time.monotonic() < deadline, "the dask scheduler did not start"
            time.sleep(0.1)
        address: str = json.loads(file.read_text())["address"]
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "distributed.cli.dask_worker",
                    address,
                    "--nthreads",
                    "1",
                    "--nworkers",
                    "2",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                ],
                env=env,
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        yield address
    finally:
        for proc in procs:
            procgroup.stop_group(proc)  # type: ignore[arg-type]


def test_local_cluster_does_the_same_work() -> None:
    reference = launcher.run_case(HASH)
    local = launcher.run_case(dataclasses.replace(HASH, model="dask", workers=2))
    assert local.checksum == reference.checksum
    assert local.startup_s > 0


def test_scheduler_given_by_address(scheduler: str) -> None:
    reference = launcher.run_case(dataclasses.replace(HASH, model="processes", workers=2))
    remote = launcher.run_case(
        dataclasses.replace(HASH, model="dask", workers=2, options={"dask_address": scheduler})
    )
    assert remote.checksum == reference.checksum


def test_address_from_the_scenario_or_the_command_line(write_scenario: Callable[..., Path]) -> None:
    loaded = scenario.load(
        write_scenario(
            "workload: {kind: cpu, tasks: 2, iterations: 10}\nmodels: [dask]\nworkers: [2]\n"
            "dask: {address: 'tcp://10.0.0.5:8786'}\n"
        )
    )
    assert build(loaded)[0].options == {"dask_address": "tcp://10.0.0.5:8786"}
    overridden = build(loaded, Overrides(dask_address="tcp://127.0.0.1:9999"))
    assert overridden[0].options == {"dask_address": "tcp://127.0.0.1:9999"}


def test_bad_address_is_a_scenario_error(write_scenario: Callable[..., Path]) -> None:
    with pytest.raises(ScenarioError) as info:
        scenario.load(
            write_scenario("workload: {kind: cpu, tasks: 2, iterations: 10}\ndask: {address: nowhere}\n")
        )
    problem = info.value.problems[0]
    assert (problem.line, problem.path) == (2, "dask.address")
