"""Every kind of mistake in a scenario file is reported with its file, line and key path."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from suite.errors import Problem, ScenarioError
from suite.spec import scenario
from suite.spec.yamlload import MAX_BYTES, MAX_DEPTH

WriteScenario = Callable[..., Path]

VALID = """
description: a small valid scenario
workload:
  kind: cpu
  tasks: 4
  iterations: 1000
models: [sequential, threads]
workers: [2]
"""


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(ScenarioError) as info:
        scenario.load(path)
    assert all(p.file == str(path) for p in info.value.problems)
    return list(info.value.problems)


def only_problem(path: Path) -> Problem:
    problems = problems_of(path)
    assert len(problems) == 1, problems
    return problems[0]


def test_valid_scenario_loads_with_defaults(write_scenario: WriteScenario) -> None:
    loaded = scenario.load(write_scenario(VALID, name="my-cpu.yaml"))
    assert loaded.name == "my-cpu"
    assert loaded.kind == "cpu"
    assert loaded.params.tasks == 4
    assert (loaded.rounds, loaded.warmup, loaded.timeout_s) == (5, 1, 60.0)
    assert loaded.models == ("sequential", "threads")
    assert loaded.workers == (2,)


def test_defaults_for_models_and_workers(write_scenario: WriteScenario) -> None:
    loaded = scenario.load(write_scenario("workload: {kind: sleep, tasks: 1, latency_ms: 0}\n"))
    assert loaded.models is None
    assert loaded.workers == scenario.DEFAULT_WORKERS


def test_misspelt_top_level_key(write_scenario: WriteScenario) -> None:
    problem = only_problem(write_scenario(VALID + "rouns: 3\n"))
    assert (problem.line, problem.path) == (8, "rouns")
    assert "did you mean 'rounds'" in problem.message


def test_misspelt_workload_key(write_scenario: WriteScenario) -> None:
    path = write_scenario(VALID.replace("iterations: 1000", "iteration: 1000"))
    problems = problems_of(path)
    by_path = {p.path: p for p in problems}
    assert by_path["workload.iteration"].line == 5
    assert "did you mean 'iterations'" in by_path["workload.iteration"].message
    assert by_path["workload.iterations"].message == "required key is missing"


def test_wrong_type_names_expected_and_found(write_scenario: WriteScenario) -> None:
    problem = only_problem(write_scenario(VALID.replace("tasks: 4", 'tasks: "4"')))
    assert (problem.line, problem.path) == (4, "workload.tasks")
    assert "valid integer" in problem.message
    assert "found '4'" in problem.message


def test_bool_is_not_a_number(write_scenario: WriteScenario) -> None:
    problem = only_problem(write_scenario(VALID + "rounds: true\n"))
    assert (problem.line, problem.path) == (8, "rounds")


def test_out_of_range_value(write_scenario: WriteScenario) -> None:
    problem = only_problem(write_scenario(VALID.replace("tasks: 4", "tasks: 0")))
    assert (problem.line, problem.path) == (4, "workload.tasks")
    assert "greater than or equal to 1" in problem.message


@pytest.mark.parametrize(
    ("line", "path"),
    [
        ("tasks: 1000000000000", "workload.tasks"),
        ("iterations: 1000000000000000", "workload.iterations"),
    ],
)
def test_absurd_sizes_are_refused(write_scenario: WriteScenario, line: str, path: str) -> None:
    key = line.split(":")[0]
    text = VALID.replace("tasks: 4", "tasks: 4" if key != "tasks" else line)
    text = text.replace("iterations: 1000", line if key == "iterations" else "iterations: 1000")
    problem = only_problem(write_scenario(text))
    assert problem.path == path
    assert "less than or equal" in problem.message


def test_bad_worker_item_points_at_the_item(write_scenario: WriteScenario) -> None:
    problem = only_problem(write_scenario(VALID.replace("workers: [2]", "workers:\n  - 2\n  - 0\n")))
    assert (problem.line, problem.path) == (9, "workers[1]")


def test_unknown_kind_lists_valid_kinds(write_scenario: WriteScenario) -> None:
    problem = only_problem(write_scenario(VALID.replace("kind: cpu", "kind: cpus")))
    assert (problem.line, problem.path) == (3, "workload.kind")
    assert "did you mean 'cpu'" in problem.message
    assert "callable, compress, cpu, db, file, hash, http, mixed, pipeline, shared, sleep" in problem.message


def test_missing_kind(write_scenario: WriteScenario) -> None:
    problem = only_problem(write_scenario("workload:\n  tasks: 3\n"))
    assert (problem.line, problem.path) == (1, "workload")
    assert "`kind` is missing" in problem.message


def test_missing_workload(write_scenario: WriteScenario) -> None:
    problem = only_problem(write_scenario("rounds: 3\n"))
    assert problem.path == "workload"
    assert problem.message == "required key is missing"


def test_unknown_model_lists_valid_models(write_scenario: WriteScenario) -> None:
    problem = only_problem(write_scenario(VALID.replace("[sequential, threads]", "[sequential, thread]")))
    assert (problem.line, problem.path) == (6, "models[1]")
    assert "did you mean 'threads'" in problem.message
    assert "processes-spawn" in problem.message


def test_model_listed_twice(write_scenario: WriteScenario) -> None:
    problem = only_problem(write_scenario(VALID.replace("[sequential, threads]", "[threads, threads]")))
    assert (problem.path, problem.message) == ("models[1]", "'threads' is listed twice")


def test_bad_name_pattern(write_scenario: WriteScenario) -> None:
    problem = only_problem(write_scenario("name: My_Scenario\n" + VALID))
    assert (problem.line, problem.path) == (1, "name")


def test_unknown_hash_algorithm(write_scenario: WriteScenario) -> None:
    path = write_scenario("workload: {kind: hash, tasks: 1, bytes: 10, algorithm: sha257}\n")
    problem = only_problem(path)
    assert problem.path == "workload.algorithm"
    assert "sha256" in problem.message


def test_all_mistakes_reported_in_one_pass(write_scenario: WriteScenario) -> None:
    text = VALID.replace("tasks: 4", "tasks: -1").replace("threads]", "thread]") + "rouns: 3\n"
    paths = {p.path for p in problems_of(write_scenario(text))}
    assert {"workload.tasks", "models[1]", "rouns"} <= paths


def test_duplicate_key_names_both_lines(write_scenario: WriteScenario) -> None:
    problem = only_problem(write_scenario(VALID + "workers: [4]\n"))
    assert (problem.line, problem.path) == (8, "workers")
    assert "first given on line 7" in problem.message


def test_alias_is_refused(write_scenario: WriteScenario) -> None:
    problem = only_problem(write_scenario("a: &x [1, 2]\nworkload: *x\n"))
    assert problem.line == 2
    assert "aliases" in problem.message


def test_python_tag_is_refused(write_scenario: WriteScenario) -> None:
    problem = only_problem(write_scenario("workload: !!python/object/apply:os.system [true]\n"))
    assert problem.line == 1
    assert "tags are not allowed" in problem.message


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"   \n# only a comment\n", "empty"),
        (b"- 1\n- 2\n", "found a list"),
        (b"just text\n", "found a single value"),
        (b"name: caf\xe9\n", "not UTF-8"),
        (b"\x00\x01\x02binary", "binary data"),
        (b"a: [1, 2\n", "expected"),
    ],
)
def test_unusable_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_bytes(content)
    assert message in only_problem(path).message


def test_too_large_file_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"# x\n" * (MAX_BYTES // 4 + 1))
    assert "larger than" in only_problem(path).message


def test_deep_nesting_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n")
    assert "nesting deeper" in only_problem(path).message


def test_folder_reports_bad_file_and_keeps_good_ones(write_scenario: WriteScenario, tmp_path: Path) -> None:
    write_scenario(VALID, name="good.yaml")
    write_scenario("workload: {kind: nope, tasks: 1}\n", name="bad.yaml")
    loaded, problems = scenario.load_all([tmp_path])
    assert [s.name for s in loaded] == ["good"]
    assert [Path(p.file).name for p in problems] == ["bad.yaml"]


def test_duplicate_scenario_names_in_one_run(write_scenario: WriteScenario, tmp_path: Path) -> None:
    write_scenario("name: same\n" + VALID, name="a.yaml")
    write_scenario("name: same\n" + VALID, name="b.yaml")
    loaded, problems = scenario.load_all([tmp_path])
    assert len(loaded) == 1
    assert problems[0].path == "name"
    assert "also used by" in problems[0].message


def test_missing_path_is_a_problem(tmp_path: Path) -> None:
    _, problems = scenario.load_all([tmp_path / "nope.yaml"])
    assert problems[0].message == "no such file or folder"


def test_json_schema_covers_every_kind_and_model() -> None:
    schema = scenario.json_schema()
    text = json.dumps(schema)
    for kind in ("CpuWorkload", "HashWorkload", "SleepWorkload"):
        assert kind in schema["$defs"]
    assert '"processes-spawn"' in text
    assert schema["additionalProperties"] is False
    assert schema["$schema"].endswith("2020-12/schema")
