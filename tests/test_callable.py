"""Your own function as the workload: found by import path, checked before anything runs,
run the same under every model."""

from __future__ import annotations

import dataclasses
import json
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from suite_cli import run_suite

from suite.errors import CaseFailed, ScenarioError
from suite.harness import launcher
from suite.spec import scenario
from suite.spec.cases import Case

# The fast lane (-m 'not slow') leaves this module out: every test runs a callable under the models.
pytestmark = pytest.mark.slow

WriteScenario = Callable[..., Path]
TESTS = Path(__file__).parent


def scenario_with(write_scenario: WriteScenario, workload: str) -> Path:
    return write_scenario(
        "name: mine\nworkload:\n  kind: callable\n  tasks: 4\n" + textwrap.indent(workload, "  ")
    )


def problem(path: Path) -> str:
    with pytest.raises(ScenarioError) as info:
        scenario.load(path)
    return str(info.value)


@pytest.mark.parametrize(
    ("workload", "expected"),
    [
        (
            "target: callables_for_tests:nope\n",
            "workload.target: 'callables_for_tests' has no attribute 'nope'",
        ),
        ("target: no_such_module:f\n", "cannot import 'no_such_module': ModuleNotFoundError"),
        ("target: callables_for_tests:square\n", "cannot be pickled"),
        ("target: callables_for_tests:anyio\n", "is a module, not a function"),
        (
            "target: callables_for_tests:crunch\nasync_target: callables_for_tests:crunch\n",
            "workload.async_target: callables_for_tests:crunch is not a coroutine function",
        ),
        ("target: not a path\n", "workload.target: string should match pattern"),
    ],
)
def test_bad_targets_are_validation_errors_with_the_line(
    write_scenario: WriteScenario, workload: str, expected: str
) -> None:
    path = scenario_with(write_scenario, workload + f"path: [{TESTS}]\n")
    message = problem(path)
    assert expected in message
    assert f"{path}:5: workload." in message or f"{path}:6: workload." in message


def test_path_defaults_to_the_scenario_folder_and_is_relative_to_it(write_scenario: WriteScenario) -> None:
    path = scenario_with(write_scenario, "target: mymod:f\n")
    (path.parent / "mymod.py").write_text("def f():\n    return 1\n")
    assert scenario.load(path).params.path == [str(path.parent.resolve())]  # type: ignore[attr-defined]
    (path.parent / "lib").mkdir()
    (path.parent / "lib" / "other.py").write_text("def g():\n    return 2\n")
    path.write_text(path.read_text().replace("target: mymod:f", "target: other:g\n  path: [lib]"))
    assert scenario.load(path).params.path == [str((path.parent / "lib").resolve())]  # type: ignore[attr-defined]


def test_a_raising_function_fails_the_case_with_its_exception() -> None:
    case = Case(
        scenario="c",
        model="threads",
        workers=2,
        kind="callable",
        params={"tasks": 3, "target": "callables_for_tests:boom", "index_arg": "index", "path": [str(TESTS)]},
        rounds=1,
        warmup=0,
        timeout_s=30,
    )
    with pytest.raises(CaseFailed) as info:
        launcher.run_case(case)
    assert info.value.reason == "ValueError: task 0 refused"
    assert "callables_for_tests.py" in info.value.detail
    with pytest.raises(CaseFailed, match="ValueError: task 0 refused"):
        launcher.run_case(dataclasses.replace(case, model="processes-spawn"))


MODULE = """
import hashlib

def digest(size, *, index=0):
    data = bytes(range(256)) * (size // 256)
    return hashlib.sha256(index.to_bytes(4, "little") + data).hexdigest()

async def digest_async(size, *, index=0):
    return digest(size, index=index)
"""


def test_a_function_outside_the_repository_runs_under_every_model(tmp_path: Path) -> None:
    project = tmp_path / "elsewhere"
    project.mkdir()
    (project / "mywork.py").write_text(MODULE)
    (project / "mine.yaml").write_text(
        "name: mine\nworkload:\n  kind: callable\n  target: mywork:digest\n"
        "  async_target: mywork:digest_async\n"
        "  kwargs: {size: 65536}\n  index_arg: index\n  tasks: 6\n"
        "models: [sequential, asyncio, trio, threads, processes-spawn, multiprocessing-pool]\n"
        "workers: [2]\nrounds: 2\n"
    )
    result = run_suite("run", str(project / "mine.yaml"), "--results", str(tmp_path / "r"), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    [saved] = (tmp_path / "r").glob("*/*.json")
    benchmarks = json.loads(saved.read_text())["benchmarks"]
    assert len(benchmarks) == 6
    assert len({b["extra_info"]["checksum"] for b in benchmarks}) == 1
