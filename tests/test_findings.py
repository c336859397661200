"""docs/findings.md: verdicts follow the numbers, and the document regenerates from a run."""

from __future__ import annotations

import json
import types
from pathlib import Path
from typing import Any

import pytest
from suite_cli import ROOT, run_suite

from suite.results import findings, history
from suite.results.feeds import Feeds

#: Which shipped scenario feeds which claim (their files say).
FEEDS = Feeds.of_files([ROOT / "scenarios"])

MiB = 2**20


def case(scenario: str, model: str, workers: int, median: float, **info: Any) -> dict[str, Any]:
    data = [median * f for f in (0.99, 1.0, 1.01, 1.0, 1.0)]
    return {
        "group": scenario,
        "name": f"test_case[{model}-w{workers}]",
        "params": {"scenario": scenario, "model": model, "workers": workers},
        "extra_info": {"scenario": scenario, "model": model, "workers": workers, "status": "ok", **info},
        "stats": {"data": data, "median": median, "rounds": 5},
    }


def run_file(
    tmp_path: Path, *, threads_cpu: float = 0.27, threads_hash: float = 0.07, threads_busy: float = 1.0
) -> Path:
    benchmarks = [
        case("cpu-python", "sequential", 1, 0.27, speedup=1.0, parallelism=1.0),
        case("cpu-python", "threads", 2, threads_cpu, parallelism=threads_busy),
        case("cpu-python", "processes", 2, 0.15, parallelism=1.9),
        case("cpu-hashing", "sequential", 1, 0.135, parallelism=1.0),
        case("cpu-hashing", "threads", 2, threads_hash, parallelism=1.95),
        case("cpu-hashing", "processes", 2, 0.08, parallelism=1.9),
        case("dispatch-overhead", "sequential", 1, 0.01, us_per_task=0.5),
        case("dispatch-overhead", "processes", 2, 2.0, us_per_task=95.0),
        case("sleep-fanout", "threads", 100, 0.0215, efficiency=0.93),
        case("web-fanout", "asyncio", 10, 1.05, efficiency=0.95),
        case("web-fanout", "threads", 10, 1.07, efficiency=0.93),
        case("web-fanout", "asyncio", 100, 0.113, efficiency=0.89),
        case("web-fanout", "threads", 100, 0.175, efficiency=0.57),
        case("memory-per-worker", "threads", 1, 1.3, pss_bytes=40 * MiB),
        case("memory-per-worker", "threads", 64, 0.05, pss_bytes=41 * MiB),
        case("memory-per-worker", "processes", 1, 1.3, pss_bytes=59 * MiB),
        case("memory-per-worker", "processes", 64, 0.06, pss_bytes=491 * MiB),
        case("fault-tolerance", "dask", 2, 0.18),
    ]
    failed = [
        {"scenario": "fault-tolerance", "model": m, "workers": 2, "status": "failed", "reason": r}
        for m, r in [
            ("threads", "worker died (exit code 3)"),
            ("processes", "worker died: pool process 7 exit"),
        ]
    ]
    document = {
        "machine_info": {
            "node": "box",
            "cpu": {"count": 2, "brand_raw": "Test CPU"},
            "python_version": "3.11.7",
            "python_implementation": "CPython",
            "gil_enabled": True,
            "system": "Linux",
        },
        "commit_info": {},
        "benchmarks": benchmarks,
        "datetime": "2026-11-25T10:00:00",
        "version": "5.3.1",
        "suite": {"complete": True, "exit": "finished", "cases": failed, "not_run": []},
    }
    folder = tmp_path / "results" / "Linux-CPython-3.11-64bit"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "0001_findings.json"
    path.write_text(json.dumps(document))
    return path


def verdicts(path: Path) -> dict[str, str]:
    ms = findings.Measurements(history.read_run(path), FEEDS)
    return {v.claim: v.verdict for v in (claim(ms) for claim in findings.CLAIMS)}


def test_verdicts_follow_the_numbers(tmp_path: Path) -> None:
    found = verdicts(run_file(tmp_path))
    assert found["Threads never run Python in parallel"] == (
        "True for pure-Python code on a GIL build; false for code that releases the GIL "
        "(hashlib, zlib): those threads ran in parallel"
    )
    assert found["Processes are faster for CPU work"].startswith("True for pure-Python work")
    assert (
        "false for tiny tasks, where sending each one costs 190x the task"
        in found["Processes are faster for CPU work"]
    )
    assert found["Threads are for I/O"].startswith("True")
    assert found["asyncio beats threads for I/O"] == (
        "True at high concurrency (at 100 workers threads take x1.55 as long); "
        "at low concurrency they are within 5%"
    )
    assert found["Processes cost memory"].startswith("True: each process added about 6.9 MiB")
    assert found["If one process fails, the work goes on"] == (
        "False for 2 of 3 models: one dead process failed the whole batch. It went on only under: dask"
    )


def test_a_different_machine_gets_a_different_verdict(tmp_path: Path) -> None:
    # Threads that ran pure Python in parallel (as on a free-threaded build) flip the claim.
    found = verdicts(run_file(tmp_path, threads_cpu=0.14, threads_busy=1.93))
    assert found["Threads never run Python in parallel"].startswith(
        "False here: threads ran pure Python x1.93"
    )


def test_a_claim_without_its_scenario_says_so(tmp_path: Path) -> None:
    path = run_file(tmp_path)
    data = json.loads(path.read_text())
    data["benchmarks"] = [b for b in data["benchmarks"] if b["group"] != "memory-per-worker"]
    path.write_text(json.dumps(data))
    assert verdicts(path)["Processes cost memory"] == "Not measured in this run"


@pytest.mark.slow
def test_findings_command_writes_the_document_plots_and_readme_block(tmp_path: Path) -> None:
    run_file(tmp_path)
    readme = tmp_path / "README.md"
    readme.write_text(f"# Mine\n\nbefore\n{findings.README_START}\nold table\n{findings.README_END}\nafter\n")
    result = run_suite(
        "findings",
        "findings",
        "--results",
        "results",
        "--out",
        "docs/findings.md",
        "--plots",
        "docs/findings",
        "--readme",
        "README.md",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "docs" / "findings.md").read_text()
    assert "- Machine: box, Test CPU, 2 logical CPUs" in text
    assert "### “Threads never run Python in parallel”" in text
    assert "Winner: **processes (2 workers)**" in text  # cpu-python
    assert "![cpu-python: cpu-python-speedup](findings/cpu-python-speedup.svg)" in text
    assert (tmp_path / "docs" / "findings" / "cpu-python-speedup.svg").read_text().startswith("<?xml")
    new_readme = readme.read_text()
    assert "old table" not in new_readme
    assert new_readme.startswith("# Mine\n\nbefore\n")
    assert new_readme.endswith(f"{findings.README_END}\nafter\n")
    assert "| `cpu-python` |  | processes (2 workers), 150.0ms | " in new_readme


@pytest.mark.slow
def test_findings_refuses_a_readme_without_the_block(tmp_path: Path) -> None:
    run_file(tmp_path)
    (tmp_path / "README.md").write_text("# Mine\n")
    result = run_suite(
        "findings", "--results", "results", "--out", "f.md", "--readme", "README.md", cwd=tmp_path
    )
    assert result.returncode == 2
    assert "has no block between" in result.stderr
    assert (tmp_path / "README.md").read_text() == "# Mine\n"


def _with(path: Path, benchmarks: list[dict[str, Any]], cases: list[dict[str, Any]]) -> Path:
    data = json.loads(path.read_text())
    data["benchmarks"] += benchmarks
    data["suite"]["cases"] += cases
    path.write_text(json.dumps(data))
    return path


def test_lost_updates_decide_whether_the_gil_prevents_conflicts(tmp_path: Path) -> None:
    lost = {"scenario": "shared-dict", "model": "threads", "workers": 8, "status": "incorrect"}
    path = _with(
        run_file(tmp_path),
        [
            case("shared-counter", "threads", 8, 0.05),
            case("shared-counter", "sequential", 1, 0.05),
            case("shared-counter-lock", "threads", 8, 0.15),
        ],
        [
            {**lost, "reason": "lost 12 of 320,000", "lost_updates": 12, "updates": 320_000},
            {**lost, "scenario": "shared-counter", "model": "processes", "lost_updates": 9, "updates": 100},
        ],
    )
    verdict = verdicts(path)["The GIL prevents conflicts between threads sharing data"]
    assert verdict.startswith("False (GIL enabled: True): threads lost updates in shared-dict")
    ms = findings.Measurements(history.read_run(path), FEEDS)
    evidence = findings.gil_prevents_conflicts(ms).evidence
    assert "threads (8) lost 12 of 320,000 (0.00%)" in evidence[1]
    assert "processes (8) lost 9 of 100 (9.00%)" in evidence[0]
    assert any("3.0x the unlocked time" in line for line in evidence)


def test_a_copy_that_costs_more_than_the_work_decides_big_data(tmp_path: Path) -> None:
    payload = {"params": {"payload": {"in_bytes": 8 * MiB}}}
    path = _with(
        run_file(tmp_path),
        [
            case("big-payload", "sequential", 1, 0.40, **payload),
            case("big-payload", "threads", 2, 0.21, **payload),
            case("big-payload", "processes", 2, 0.35, serialize_s=0.2, **payload),
            case("big-payload", "processes-shm", 2, 0.22, **payload),
        ],
        [],
    )
    verdict = verdicts(path)["Processes are faster for big data"]
    assert verdict == (
        "False here: with 8 MiB per task, threads (a reference) beat a process pool (a copy); "
        "shared memory took back part of the copy"
    )


def test_oversubscription_decides_whether_processes_speed_up_numpy(tmp_path: Path) -> None:
    blas = {"native_threads": {"openblas": 2}}
    one = {"native_threads": {"openblas": 1}}
    path = _with(
        run_file(tmp_path),
        [
            case("numpy-blas", "sequential", 1, 0.061, parallelism=2.0, **blas),
            case("numpy-blas", "threads", 2, 0.067, speedup=0.91, **blas),
            case("numpy-blas", "processes", 2, 0.197, speedup=0.31, **blas),
            case("numpy-blas-auto", "sequential", 1, 0.061, parallelism=2.0, **blas),
            case("numpy-blas-auto", "processes", 2, 0.040, speedup=1.5, **one),
        ],
        [],
    )
    verdict = verdicts(path)["Use processes to speed up numpy"]
    assert verdict.startswith("Only with native threads limited: left alone, processes ran x0.31")
    assert verdict.endswith("with native_threads: auto, x1.50")


def _with_threads_speedup(
    path: Path, value: float, low: float, high: float, busy: float | None = 1.0
) -> Path:
    document = json.loads(path.read_text())
    for bench in document["benchmarks"]:
        info = bench["extra_info"]
        if info["scenario"] == "cpu-python" and info["model"] == "threads":
            info.update(speedup=value, speedup_interval=[low, high], parallelism=busy)
    path.write_text(json.dumps(document))
    return path


def test_a_claim_whose_interval_straddles_its_line_is_not_settled(tmp_path: Path) -> None:
    claim = "Threads never run Python in parallel"
    straddles = verdicts(_with_threads_speedup(run_file(tmp_path), 1.15, 0.9, 1.5, busy=None))[claim]
    assert (
        straddles
        == "Not settled on this machine: threads ran pure Python x1.15 [0.90, 1.50] against the line at x1.20"
    )
    between = verdicts(_with_threads_speedup(run_file(tmp_path), 1.15, 0.9, 1.5, busy=1.3))[claim]
    assert between.startswith("Not settled on this machine: ")
    assert between.endswith(", keeping ∥1.30 cores busy")
    below = verdicts(_with_threads_speedup(run_file(tmp_path), 1.05, 0.9, 1.15))[claim]
    assert below.startswith("True for pure-Python code on a GIL build;")
    above = verdicts(_with_threads_speedup(run_file(tmp_path), 1.6, 1.4, 1.9, busy=1.9))[claim]
    assert above.startswith("False here: threads ran pure Python x1.60 faster")


def test_cores_busy_settle_what_a_noisy_speedup_cannot(tmp_path: Path) -> None:
    # A full run's pure-Python threads: paired speedup [0.67, 1.56] over 7 cycles, while
    # CPU time over wall time read 1.00-1.02 in every run (2-core VM, 2026-12-04).
    claim = "Threads never run Python in parallel"
    one_core = verdicts(_with_threads_speedup(run_file(tmp_path), 0.89, 0.67, 1.56, busy=1.008))[claim]
    assert one_core.startswith(
        "True for pure-Python code on a GIL build: threads kept at most ∥1.01 cores busy "
        "(their speedup, x0.89 [0.67, 1.56], is too noisy here to settle it alone)"
    )
    # Faster while one core was busy: the baseline met a slow moment, not parallel work.
    lucky = verdicts(_with_threads_speedup(run_file(tmp_path), 1.5, 1.3, 1.7, busy=1.0))[claim]
    assert lucky.startswith("Not settled on this machine: threads ran pure Python x1.50 [1.30, 1.70]")
    # Two cores busy and nothing gained (contended free-threading) is still parallel.
    busy = verdicts(_with_threads_speedup(run_file(tmp_path), 1.0, 0.8, 1.3, busy=1.9))[claim]
    assert busy.startswith("False here: threads kept ∥1.90 cores busy running pure Python, though only x1.00")


def test_reruns_that_only_move_to_not_settled_are_stable(tmp_path: Path) -> None:
    from suite.selfcheck import stability

    one = history.read_run(_with_threads_speedup(run_file(tmp_path / "1"), 1.05, 0.9, 1.15))
    two = history.read_run(_with_threads_speedup(run_file(tmp_path / "2"), 1.15, 0.9, 1.5, busy=None))
    three = history.read_run(_with_threads_speedup(run_file(tmp_path / "3"), 1.6, 1.4, 1.9, busy=1.9))
    _, flipped = stability.claim_table([one, two], FEEDS)
    assert flipped == []
    _, flipped = stability.claim_table([one, two, three], FEEDS)
    assert flipped == ["Threads never run Python in parallel"]
    checked, problems = stability.winner_problems([one, two])
    assert checked > 0
    assert problems == []


def test_the_findings_name_no_scenario_the_scenario_files_say_what_they_feed() -> None:
    names = [p.stem for p in (ROOT / "scenarios").glob("*.yaml")]
    for module in (ROOT / "suite" / "results").glob("*.py"):
        text = module.read_text()
        named = [n for n in names if f'"{n}"' in text]
        assert named == [], f"{module.name} names scenario(s) {named}"


def test_a_renamed_or_own_scenario_feeds_a_claim(tmp_path: Path, write_scenario) -> None:  # type: ignore[no-untyped-def]
    path = run_file(tmp_path)
    data = json.loads(path.read_text())
    for bench in data["benchmarks"]:
        if bench["group"] == "memory-per-worker":
            bench["group"] = bench["extra_info"]["scenario"] = "my-memory"
    path.write_text(json.dumps(data))
    run = history.read_run(path)
    claim = "Processes cost memory"
    shipped = {v.claim: v for v in (c(findings.Measurements(run, FEEDS)) for c in findings.CLAIMS)}
    assert shipped[claim].verdict == "Not measured in this run"
    assert shipped[claim].evidence == ["needs scenario(s): memory-per-worker"]
    mine = write_scenario(
        """
        name: my-memory
        workload: {kind: sleep, tasks: 100, latency_ms: 1}
        feeds:
          - {claim: processes-cost-memory, role: memory}
        """
    )
    own = Feeds.of_files([mine])
    assert findings.processes_cost_memory(findings.Measurements(run, own)).verdict.startswith(
        "True: each process"
    )
    nobody = findings.processes_cost_memory(findings.Measurements(run, Feeds()))
    assert nobody.evidence == [
        "needs a scenario whose file says feeds: [{claim: processes-cost-memory, role: memory}]"
    ]


def test_a_feed_the_findings_do_not_know_names_the_line(write_scenario) -> None:  # type: ignore[no-untyped-def]
    from suite.errors import ScenarioError
    from suite.spec.scenario import load

    path = write_scenario(
        """
        workload: {kind: sleep, tasks: 10, latency_ms: 1}
        feeds:
          - {claim: threads-are-for-io, role: io}
          - {claim: threads-are-for-oi, role: io}
          - {claim: threads-are-for-io, role: disk}
        """
    )
    try:
        load(path)
    except ScenarioError as exc:
        text = "\n".join(map(str, exc.problems))
    else:
        raise AssertionError("loaded")
    assert (
        f"{path}:4: feeds[1].claim: unknown claim 'threads-are-for-oi'; did you mean 'threads-are-for-io'?"
        in text
    )
    assert f"{path}:5: feeds[2].role: threads-are-for-io has no role 'disk'; valid: io" in text


def test_a_model_is_tied_when_any_of_its_worker_counts_is(tmp_path: Path) -> None:
    # Start methods, back-to-back runs: spawn's best median was at 16 workers, clearly
    # behind the winner, while its 4-worker rounds could not be told from the winner's.
    path = run_file(tmp_path)
    document = json.loads(path.read_text())
    spread = case("start-methods", "processes-spawn", 4, 0.045)
    spread["stats"]["data"] = [0.025, 0.030, 0.045, 0.060, 0.070]
    document["benchmarks"] += [
        case("start-methods", "processes-fork", 4, 0.030),
        case("start-methods", "processes-spawn", 16, 0.040),
        spread,
    ]
    path.write_text(json.dumps(document))
    (standing,) = [
        s
        for s in findings.standings(findings.Measurements(history.read_run(path), FEEDS))
        if s.scenario == "start-methods"
    ]
    assert standing.winner.label == "processes-fork-w4"
    assert standing.rows[1][0].label == "processes-spawn-w16"
    assert [m.label for m in standing.ties()] == ["processes-spawn-w4"]


@pytest.mark.parametrize(("other", "tied"), [(0.0319, True), (0.036, True), (0.0390, False)])
def test_cases_measured_at_different_moments_need_25_percent_to_part(
    tmp_path: Path, other: float, tied: bool
) -> None:
    # web-fanout-10k's two cases run one after the other, not in shuffled cycles: asyncio
    # 2.5% ahead in one run, uvloop's rounds all 10-20% under asyncio's in another.
    path = run_file(tmp_path)
    document = json.loads(path.read_text())
    document["benchmarks"] += [
        case("fanout-10k", "uvloop", 10000, 0.030),
        case("fanout-10k", "asyncio", 10000, other),
    ]
    path.write_text(json.dumps(document))
    standings = findings.standings(findings.Measurements(history.read_run(path), FEEDS))
    (standing,) = [s for s in standings if s.scenario == "fanout-10k"]
    assert standing.winner.model == "uvloop"
    assert [m.model for m in standing.ties()] == (["asyncio"] if tied else [])


def test_database_drivers_are_judged_at_each_models_best_pool_and_say_where_they_stopped_gaining(
    tmp_path: Path,
) -> None:
    reads = [
        case("db-read", "sequential", 1, 1.0),
        case("db-read", "asyncio", 4, 0.40),
        case("db-read", "asyncio", 16, 0.20),
        case("db-read", "asyncio", 64, 0.20),
        case("db-read", "threads", 4, 0.45),
        case("db-read", "threads", 16, 0.30),
        case("db-read", "threads", 64, 0.29),
    ]
    path = _with(run_file(tmp_path), reads, [])
    ms = findings.Measurements(history.read_run(path), FEEDS)
    verdict = findings.async_drivers_beat_threads(ms)
    assert verdict.verdict.startswith("True here: db-read (threads' best x1.")
    assert "db-read: each model stopped gaining (by median) at workers: asyncio at 16, threads at 16" in (
        verdict.evidence
    )
    # Threads as fast as asyncio at their best: not a win for either.
    even = [*reads[:4], case("db-read", "threads", 16, 0.2), case("db-read", "threads", 64, 0.2)]
    ms = findings.Measurements(history.read_run(_with(run_file(tmp_path), even, [])), FEEDS)
    assert findings.async_drivers_beat_threads(ms).verdict.startswith("Not settled")
    ms = findings.Measurements(history.read_run(run_file(tmp_path)), FEEDS)
    assert findings.async_drivers_beat_threads(ms).verdict == "Not measured in this run"


def test_a_model_stopped_gaining_where_the_next_pool_size_was_not_clearly_faster() -> None:
    def m(workers: int, median: float) -> Any:
        return types.SimpleNamespace(workers=workers, median=median)

    assert findings.stopped_gaining([m(1, 1.0), m(4, 0.3), m(16, 0.29), m(64, 0.1)]) == 4
    assert findings.stopped_gaining([m(1, 1.0), m(4, 0.5), m(16, 0.25)]) == 16
    assert findings.stopped_gaining([m(4, 0.5)]) is None


def test_a_gzipped_run_reads_as_the_run_itself(tmp_path: Path) -> None:
    import gzip

    path = run_file(tmp_path)
    packed = tmp_path / "run-kept.json.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    assert history.matches(str(packed), tmp_path / "results") == [packed]
    assert verdicts(packed) == verdicts(path)
    broken = tmp_path / "broken.json.gz"
    broken.write_bytes(gzip.compress(path.read_bytes())[:100])
    with pytest.raises(history.HistoryError, match="cannot read a saved run"):
        history.read_run(broken)
