"""The `suite` command in real subprocesses, as a user runs it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from suite_cli import ROOT, run_suite

# The fast lane (-m 'not slow') leaves this module out: every test runs the suite command in a process of
# its own.
pytestmark = pytest.mark.slow

WriteScenario = Callable[..., Path]

TINY = """
workload: {kind: cpu, tasks: 4, iterations: 1000}
models: [sequential, threads, processes]
workers: [2]
rounds: 3
max_rounds: 3
"""


def test_validate_good_and_bad(write_scenario: WriteScenario, tmp_path: Path) -> None:
    write_scenario(TINY, name="good.yaml")
    write_scenario("workload: {kind: cpu, tasks: 4, iterations: 10}\nrounds: 0\n", name="bad.yaml")
    done = run_suite("validate", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2
    assert f"ok  {tmp_path / 'good.yaml'} (good: 3 cases)" in done.stdout
    assert (
        done.stderr.strip()
        == f"{tmp_path / 'bad.yaml'}:2: rounds: input should be greater than or equal to 1; found 0"
    )
    assert "Traceback" not in done.stderr


def test_validate_all_good_exits_zero(write_scenario: WriteScenario, tmp_path: Path) -> None:
    assert run_suite("validate", str(write_scenario(TINY)), cwd=tmp_path).returncode == 0


def test_validate_the_shipped_scenarios() -> None:
    done = run_suite("validate", "scenarios", cwd=ROOT)
    assert done.returncode == 0, done.stderr


def test_run_saves_a_numbered_run_readable_upstream(write_scenario: WriteScenario, tmp_path: Path) -> None:
    path = write_scenario(TINY, name="tiny.yaml")
    first = run_suite("run", str(path), "--results", "res", "--save", "first", cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    # The first case carries its scenario's interleaved group: cycles print as they end.
    assert re.search(r"test_case\[sequential-w1\] PASSED \(\d+:\d\d elapsed\) +\[1/3\]", first.stdout)
    assert "tiny: 3 cases side by side, one round of each per cycle in shuffled order" in first.stdout
    assert re.search(r"cycle 4/4 done, \d+:\d\d; the machine gave [\d.]+ of \d+ cores", first.stdout)
    assert "tiny.yaml::test_case[threads-w2] PASSED (0:" in first.stdout
    second = run_suite("run", str(path), "--results", "res", "--models", "threads", "--quick", cwd=tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    saved = sorted(p.name for p in (tmp_path / "res").glob("*/*.json"))
    assert len(saved) == 2
    assert saved[0] == "0001_first.json"
    assert saved[1].startswith("0002_")
    data = json.loads(next((tmp_path / "res").glob("*/0001_first.json")).read_text())
    assert [b["param"] for b in data["benchmarks"]] == ["sequential-w1", "threads-w2", "processes-w2"]
    assert all(len(b["stats"]["data"]) == 3 for b in data["benchmarks"])
    assert data["suite"]["quick"] is False
    assert data["suite"]["schema_version"] == 2
    assert data["suite"]["interleaved"]["tiny"]["cases"] == ["sequential-w1", "threads-w2", "processes-w2"]
    readings = data["suite"]["capacity"]["readings"]
    # Before the scenario, then after every other cycle and the last one.
    assert [(r["scenario"], r["cycle"]) for r in readings] == [("tiny", c) for c in (0, 2, 4)]
    threads = data["benchmarks"][1]["extra_info"]
    assert threads["interleaved"] is True
    assert threads["paired"] is True
    low, high = threads["speedup_interval"]
    assert low <= threads["speedup"] <= high
    assert data["suite"]["scenarios"] == {"tiny": ""}
    quick = json.loads(next((tmp_path / "res").glob(f"*/{saved[1]}")).read_text())
    assert quick["suite"]["quick"] is True
    assert "a --quick look" in second.stdout
    against = run_suite("compare", "1", "2", "--results", "res", "--fail-if-slower", "0", cwd=tmp_path)
    assert against.returncode == 0, against.stdout + against.stderr  # nothing tested, so nothing slower
    assert "not comparable (quick vs full run)" in against.stdout
    assert "is a --quick look and 0001 first is a full run" in against.stdout + against.stderr
    compare = subprocess.run(
        [
            str(Path(sys.executable).with_name("pytest-benchmark")),
            "--storage",
            f"file://{tmp_path / 'res'}",
            "compare",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert compare.returncode == 0, compare.stderr
    assert "test_case[threads-w2]" in compare.stdout


def test_run_with_a_bad_file_runs_nothing(write_scenario: WriteScenario, tmp_path: Path) -> None:
    write_scenario(TINY, name="good.yaml")
    write_scenario("workload: {kind: cpu, tasks: many, iterations: 10}\n", name="bad.yaml")
    done = run_suite("run", str(tmp_path), "--results", "res", cwd=tmp_path)
    assert done.returncode == 2
    assert "bad.yaml:1: workload.tasks" in done.stderr
    assert not (tmp_path / "res").exists()


def test_run_with_a_failing_case_exits_one(write_scenario: WriteScenario, tmp_path: Path) -> None:
    path = write_scenario(
        "workload: {kind: sleep, tasks: 2, latency_ms: 10000}\nmodels: [threads]\nworkers: [2]\n"
        "warmup: 0\nrounds: 1\ntimeout_s: 0.1\n"
    )
    done = run_suite("run", str(path), "--results", "res", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "timed out" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--models", "threads,fibers"], "unknown model(s) fibers; valid: sequential"),
        (["--workers", "0"], "expected whole numbers >= 1"),
        (["--workers", "two"], "expected comma-separated whole numbers"),
    ],
)
def test_run_refuses_bad_options(tmp_path: Path, args: list[str], message: str) -> None:
    done = run_suite("run", *args, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr


def test_run_with_no_matching_models_is_bad_input(write_scenario: WriteScenario, tmp_path: Path) -> None:
    done = run_suite("run", str(write_scenario(TINY)), "--models", "uvloop", cwd=tmp_path)
    assert done.returncode == 2
    assert "no cases to run" in done.stderr


def test_pytest_arguments_after_double_dash(write_scenario: WriteScenario, tmp_path: Path) -> None:
    done = run_suite(
        "run", str(write_scenario(TINY)), "--results", "res", "--", "-k", "threads", cwd=tmp_path
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed, 2 deselected" in done.stdout


def test_list_shows_models_with_availability(write_scenario: WriteScenario, tmp_path: Path) -> None:
    done = run_suite("list", str(write_scenario(TINY, name="tiny.yaml")), cwd=tmp_path)
    assert done.returncode == 0
    assert "processes-spawn" in done.stdout
    assert "[available]" in done.stdout
    assert "tiny" in done.stdout
    assert "3 cases" in done.stdout


def test_schema_is_json(tmp_path: Path) -> None:
    done = run_suite("schema", cwd=tmp_path)
    schema = json.loads(done.stdout)
    assert schema["properties"]["workload"]["discriminator"]["propertyName"] == "kind"


def test_console_script_and_module_agree(tmp_path: Path) -> None:
    done = run_suite("--version", cwd=tmp_path)
    assert done.stdout.startswith("suite ")


def test_progress_names_scenarios_outside_the_current_folder(
    write_scenario: WriteScenario, tmp_path: Path
) -> None:
    path = write_scenario(TINY.replace("[sequential, threads, processes]", "[threads]"), name="away.yaml")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = run_suite("run", str(path), "--results", "res", "--quick", cwd=elsewhere)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "away.yaml::test_case[threads-w2] PASSED" in done.stdout


# Refusals: one clear line, exit 2, before any case runs or any work is lost.


def _refused(done: subprocess.CompletedProcess[str], message: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert "PASSED" not in done.stdout  # no case ran


def test_run_refuses_a_results_folder_it_cannot_write(write_scenario: WriteScenario, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    done = run_suite("run", str(write_scenario(TINY)), "--results", str(blocker / "results"), cwd=tmp_path)
    _refused(done, f"suite run: cannot write in {blocker / 'results'}: Not a directory; choose another")


def test_report_refuses_a_target_it_cannot_write(make_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run = make_run(1, {("s", "sequential", 1): 0.1})
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    done = run_suite("report", str(run), "--html", str(blocker / "report.html"), cwd=tmp_path)
    _refused(done, f"suite report: {blocker} is not a folder; choose another folder with --html")
    done = run_suite("findings", str(run), "--out", str(blocker / "f.md"), cwd=tmp_path)
    _refused(done, f"suite findings: {blocker} is not a folder; choose another folder with --out")


def test_run_of_a_folder_without_scenarios_says_so(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not a scenario")
    done = run_suite("run", "empty", cwd=tmp_path)
    _refused(done, "empty: the folder holds no scenario files (*.yaml, *.yml)")
    assert "selected models" not in done.stderr


def test_run_checks_each_python_once_up_front(write_scenario: WriteScenario, tmp_path: Path) -> None:
    old = tmp_path / "old-python"
    old.write_text(
        '#!/bin/sh\necho \'{"implementation": "cpython", "version": "3.9.18", '
        '"free_threaded": false, "gil_enabled": true, "suite_error": null, "suite_version": null}\'\n'
    )
    old.chmod(0o755)
    scenario = str(write_scenario(TINY))
    done = run_suite("run", scenario, "--python", "/nonexistent", "--python", str(old), cwd=tmp_path)
    _refused(done, "suite run: --python /nonexistent does not run as a Python interpreter")
    assert f"suite run: --python {old} is Python 3.9.18; the suite needs Python 3.11 or newer" in done.stderr
    assert len([line for line in done.stderr.splitlines() if "/nonexistent" in line]) == 1  # not per case


def test_run_refuses_a_python_without_the_suite(write_scenario: WriteScenario, tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True, timeout=120)
    done = run_suite("run", str(write_scenario(TINY)), "--python", str(bare / "bin" / "python"), cwd=tmp_path)
    _refused(done, f"--python {bare / 'bin' / 'python'} cannot import the suite's worker")
    assert "install the suite there:" in done.stderr
