"""The pytest plugin end to end, in pytester's isolated runs."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import pytest

# The fast lane (-m 'not slow') leaves this module out: every test runs a pytest session that measures cases
# in worker processes.
pytestmark = pytest.mark.slow

SCENARIO = """
workload:
  kind: cpu
  tasks: 4
  iterations: 2000
models: [sequential, threads, processes]
workers: [1, 2]
rounds: 3
max_rounds: 3
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "suite.plugin", "-p", "no:cacheprovider", *args)


def test_scenario_file_becomes_one_benchmark_per_case(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", demo=SCENARIO)
    result = run(pytester, "demo.yaml", "-v", "--benchmark-json=out.json")
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(["*demo.yaml::test_case[[]processes-w2[]] PASSED*"])
    data = json.loads((pytester.path / "out.json").read_text())
    benches = {b["param"]: b for b in data["benchmarks"]}
    assert sorted(benches) == ["processes-w1", "processes-w2", "sequential-w1", "threads-w1", "threads-w2"]
    bench = benches["threads-w2"]
    assert bench["group"] == "demo"
    assert bench["params"] == {
        "scenario": "demo",
        "model": "threads",
        "workers": 2,
        "python": f"cpython-{platform.python_version()}",
    }
    assert bench["stats"]["rounds"] == 3
    assert bench["options"]["timer"] == "worker_perf_counter"
    info = bench["extra_info"]
    for key in (
        "scenario",
        "model",
        "workers",
        "tasks",
        "workload",
        "checksum",
        "python",
        "implementation",
        "gil_enabled",
        "free_threaded",
        "cpu_count",
        "start_method",
        "status",
        "startup_s",
    ):
        assert key in info, key
    assert info["status"] == "ok"
    assert benches["processes-w2"]["extra_info"]["start_method"] in ("fork", "forkserver", "spawn")
    assert len({b["extra_info"]["checksum"] for b in benches.values()}) == 1
    assert "free_threaded" in data["machine_info"]


def test_stored_rounds_are_exactly_the_replayed_durations(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from suite.harness.benchcases import ReplayClock

        clock = ReplayClock()

        @pytest.mark.benchmark(timer=clock)
        def test_replay(benchmark):
            clock.load([0.25, 0.125, 0.5])
            benchmark.pedantic(clock.advance, rounds=3, iterations=1)
        """
    )
    run(pytester, "--benchmark-json=out.json").assert_outcomes(passed=1)
    stats = json.loads((pytester.path / "out.json").read_text())["benchmarks"][0]["stats"]
    assert (stats["min"], stats["max"], stats["median"]) == (0.125, 0.5, 0.25)


def test_overrides_from_the_command_line(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", demo=SCENARIO)
    result = run(
        pytester,
        "demo.yaml",
        "-v",
        "--suite-models=threads",
        "--suite-workers=3",
        "--suite-rounds=2",
        "--benchmark-json=out.json",
    )
    result.assert_outcomes(passed=1)
    bench = json.loads((pytester.path / "out.json").read_text())["benchmarks"][0]
    assert (bench["param"], bench["stats"]["rounds"]) == ("threads-w3", 2)


def test_yaml_in_a_named_folder_is_collected_but_not_deeper(pytester: pytest.Pytester) -> None:
    pytester.mkdir("scen")
    (pytester.path / "scen" / "a.yaml").write_text(
        SCENARIO.replace("[sequential, threads, processes]", "[sequential]")
    )
    pytester.mkdir("scen/data")
    (pytester.path / "scen" / "data" / "not-a-scenario.yaml").write_text("just: data\n")
    run(pytester, "scen").assert_outcomes(passed=1)


def test_broken_scenario_is_a_collection_error_with_file_and_line(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", broken="workload:\n  kind: cpu\n  tasks: 4\n  iteratons: 5\n")
    result = run(pytester, "broken.yaml")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*broken.yaml:4: workload.iteratons: unknown key; did you mean 'iterations'*"]
    )
    assert "Traceback" not in result.stdout.str()


def test_failed_case_fails_only_that_test(pytester: pytest.Pytester) -> None:
    slow = (
        "workload: {kind: sleep, tasks: 2, latency_ms: 10000}\nmodels: [sequential, threads]\n"
        "workers: [2]\nwarmup: 0\nrounds: 1\ntimeout_s: 0.2\n"
    )
    fast = "workload: {kind: sleep, tasks: 2, latency_ms: 1}\nmodels: [threads]\nworkers: [2]\n"
    pytester.makefile(".yaml", slow=slow, fast=fast)
    result = run(pytester, "slow.yaml", "fast.yaml")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*slow threads-w2: timed out after 2.2 s waiting for round 0*"])


def test_plain_test_runs_are_untouched(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain():\n    assert True\n")
    pytester.makefile(".yaml", config="not: a scenario\n")
    run(pytester, "test_plain_test_runs_are_untouched.py").assert_outcomes(passed=1)


@pytest.fixture(autouse=True)
def _suite_importable(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    # pytester's subprocess must import this copy of the suite, installed or not.
    root = str(Path(__file__).resolve().parent.parent)
    monkeypatch.setenv("PYTHONPATH", root)


def test_http_scenario_records_latency_throughput_and_server_cpu(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".yaml",
        web="workload: {kind: http, tasks: 40, latency_ms: 10, body_bytes: 100}\n"
        "models: [asyncio, threads]\nworkers: [20]\nrounds: 2\nmax_rounds: 2\n",
    )
    run(pytester, "web.yaml", "--benchmark-json=out.json").assert_outcomes(passed=2)
    benches = json.loads((pytester.path / "out.json").read_text())["benchmarks"]
    for bench in benches:
        info = bench["extra_info"]
        assert set(info["latency_ms"]) == {"p50", "p90", "p99", "max"}
        assert info["latency_ms"]["p50"] >= 10
        assert info["requests_ok"] == 80
        assert info["errors"] == {}
        assert info["status"] == "ok"
        assert info["throughput_rps"] > 0
        assert info["server_cpu_s"] > 0
        assert info["new_connections"] == 0  # warm: opened during the warm-up round
        assert info["ideal_s"] == pytest.approx(0.02)
        assert 0 < info["efficiency"] <= 1


def test_summary_table_after_the_run(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", demo=SCENARIO)
    result = run(pytester, "demo.yaml")
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(
        [
            "*concurrency suite summary*",
            "demo (cpu, 4 tasks per round)",
            "*median round, x speedup over sequential*",
            "*workers*sequential*threads*processes",
            "*1*x1.00 100%*",
            "*CPU per round of the whole process tree*",
        ]
    )
