"""`payload`: data each task receives and returns, moved as each model moves it."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from suite_cli import POOL_AND_LOOP_MODELS, run_suite

from suite.harness import launcher
from suite.spec import registry
from suite.spec.cases import Case

# The fast lane (-m 'not slow') leaves this module out: every test moves payloads through pools.
pytestmark = pytest.mark.slow

CASE = Case(
    scenario="p",
    model="sequential",
    workers=1,
    kind="hash",
    params={"tasks": 5, "bytes": 4096, "repeat": 1, "payload": {"in_bytes": 65536, "out_bytes": 1024}},
    rounds=2,
    warmup=1,
    timeout_s=60,
)
MOVING = [*POOL_AND_LOOP_MODELS[1:], "processes-shm"]  # sequential is the reference


@pytest.fixture(scope="module")
def reference() -> str:
    return launcher.run_case(CASE).checksum


@pytest.mark.parametrize("model", MOVING)
def test_every_model_delivers_the_same_data(model: str, reference: str) -> None:
    shm_before = set(os.listdir("/dev/shm"))
    result = launcher.run_case(dataclasses.replace(CASE, model=model, workers=2))
    assert result.checksum == reference
    # The shared-memory block is gone with the case.
    assert set(os.listdir("/dev/shm")) - shm_before == set()


def test_the_checksum_covers_the_data_received(reference: str) -> None:
    without = launcher.run_case(dataclasses.replace(CASE, params={**CASE.params, "payload": None}))
    assert without.checksum != reference


def test_pickling_is_measured_where_the_model_pays_it() -> None:
    copied = launcher.run_case(dataclasses.replace(CASE, model="processes", workers=2))
    shared = launcher.run_case(dataclasses.replace(CASE, model="threads", workers=2))
    assert all(s > 0 for s in copied.summary["counters"]["serialize_s"])
    assert "serialize_s" not in shared.summary["counters"]


def test_models_that_cannot_move_it_say_why() -> None:
    hash_kind = registry.workload("hash")
    params = hash_kind.Params.model_validate(CASE.params)
    reason = registry.runner("interpreters").unavailable_with(params)
    assert reason is not None
    assert "does not move a payload yet" in reason
    assert (
        registry.runner("interpreters").unavailable_with(
            hash_kind.Params.model_validate({"tasks": 2, "bytes": 9})
        )
        is None
    )


def test_shared_memory_without_a_payload_is_the_plain_pool() -> None:
    plain = dataclasses.replace(CASE, params={"tasks": 3, "bytes": 64})
    assert (
        launcher.run_case(dataclasses.replace(plain, model="processes-shm", workers=2)).checksum
        == launcher.run_case(plain).checksum
    )


def test_a_bad_payload_key_names_the_line(write_scenario: Callable[..., Path], tmp_path: Path) -> None:
    scenario = write_scenario(
        "workload:\n  kind: sleep\n  tasks: 2\n  latency_ms: 1\n  payload: {in_byte: 10}\nworkers: [2]\n",
        name="bad.yaml",
    )
    done = run_suite("validate", str(scenario), cwd=tmp_path)
    assert done.returncode == 2
    assert "bad.yaml:5: workload.payload.in_byte: unknown key; did you mean 'in_bytes'?" in done.stderr
