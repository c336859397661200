"""The `shared` kind: tasks update one shared state; a lost update is a wrong result."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from suite_cli import POOL_AND_LOOP_MODELS, run_suite

from suite.errors import CaseFailed, ModelUnavailable
from suite.harness import launcher
from suite.spec import registry
from suite.spec.cases import Case

# The fast lane (-m 'not slow') leaves this module out: every test runs pools that share state.
pytestmark = pytest.mark.slow

CASE = Case(
    scenario="s",
    model="sequential",
    workers=1,
    kind="shared",
    params={"tasks": 6, "op": "counter", "updates": 2000, "guard": "lock"},
    rounds=2,
    warmup=1,
    timeout_s=60,
)
SHARING = POOL_AND_LOOP_MODELS


@pytest.mark.parametrize("op", ["counter", "dict", "list-append"])
@pytest.mark.parametrize("model", SHARING)
def test_a_lock_loses_nothing_under_every_model_that_shares(model: str, op: str) -> None:
    updates = 2000 if op == "counter" or "process" not in model else 100  # a Manager: a round trip each
    case = dataclasses.replace(
        CASE,
        model=model,
        workers=1 if model == "sequential" else 3,
        params={**CASE.params, "op": op, "updates": updates},
    )
    result = launcher.run_case(case)
    reference = launcher.run_case(dataclasses.replace(case, model="sequential", workers=1))
    assert result.checksum == reference.checksum
    assert len(result.durations_s) == 2


def test_unguarded_updates_from_two_processes_are_lost_and_counted() -> None:
    # Two processes on a multiprocessing.Value, 200,000 read-modify-writes each, no lock:
    # on two cores some interleave.
    case = dataclasses.replace(
        CASE, model="processes", workers=2, params={"tasks": 2, "op": "counter", "updates": 200_000}, warmup=0
    )
    with pytest.raises(CaseFailed) as info:
        launcher.run_case(case)
    assert info.value.status == "incorrect"
    lost, updates = info.value.fields["lost_updates"], info.value.fields["updates"]
    assert updates == 2 * 2 * 200_000  # two rounds of two tasks
    assert 0 < lost < updates
    assert info.value.reason.startswith(f"lost {lost:,} of {updates:,} updates")


@pytest.mark.parametrize("model", ["interpreters", "dask"])
def test_models_that_share_nothing_say_so(model: str) -> None:
    workload = registry.workload("shared")
    reason = registry.runner(model).unavailable_for(workload)
    assert reason is not None
    assert "share no" in reason
    if registry.runner(model).unavailable_reason() is None:
        with pytest.raises(ModelUnavailable, match="share no"):
            launcher.run_case(dataclasses.replace(CASE, model=model, workers=2))


def test_a_lost_update_is_never_saved_as_a_measurement(
    write_scenario: Callable[..., Path], tmp_path: Path
) -> None:
    scenario = write_scenario(
        "workload: {kind: shared, op: counter, tasks: 2, updates: 200000}\n"
        "models: [sequential, processes]\nworkers: [2]\nrounds: 2\n",
        name="lossy.yaml",
    )
    done = run_suite("run", str(scenario), "--results", "res", "--save", "lossy", cwd=tmp_path)
    # Unguarded updates that are lost answer the scenario's question: not a failed run.
    assert done.returncode == 0, done.stdout[-3000:]
    assert "INCORRECT" in done.stdout
    saved = json.loads(next((tmp_path / "res").glob("*/0001_lossy.json")).read_text())
    assert [b["params"]["model"] for b in saved["benchmarks"]] == ["sequential"]
    lossy = next(c for c in saved["suite"]["cases"] if c["model"] == "processes")
    assert lossy["status"] == "incorrect"
    assert lossy["lost_updates"] > 0
    # Every round counts, the warm-up and any extra round for an uncertain median too.
    per_round = 2 * 200_000
    assert lossy["updates"] % per_round == 0
    assert lossy["updates"] >= 3 * per_round


def test_bad_keys_name_the_line(write_scenario: Callable[..., Path], tmp_path: Path) -> None:
    scenario = write_scenario(
        "workload:\n  kind: shared\n  op: counters\n  tasks: 2\n  updates: 10\n"
        "models: [threads]\nworkers: [2]\n",
        name="bad.yaml",
    )
    done = run_suite("validate", str(scenario), cwd=tmp_path)
    assert done.returncode == 2
    assert "bad.yaml:3: workload.op:" in done.stderr
    assert "'counter', 'dict' or 'list-append'" in done.stderr
