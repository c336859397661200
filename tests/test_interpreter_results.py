"""Interpreters side by side in saved runs: one baseline across them, the contention note,
the chart, and the findings section with its verdict on free-threaded threads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from suite_cli import ROOT, run_suite

from suite.results import across_interpreters, charts, history
from suite.results.compare import Baseline, compare
from suite.results.feeds import Feeds
from suite.results.record import CaseRecord
from suite.results.summary import busy_not_faster

FEEDS = Feeds.of_files([ROOT / "scenarios"])

MiB = 2**20
GIL = {"python": "3.11.7", "implementation": "cpython", "free_threaded": False, "gil_enabled": True}
FREE = {"python": "3.13.0", "implementation": "cpython", "free_threaded": True, "gil_enabled": False}


def case(
    scenario: str, model: str, workers: int, median: float, env: dict[str, Any], **info: Any
) -> dict[str, Any]:
    data = [median * f for f in (0.99, 1.0, 1.01, 1.0, 1.0)]
    label = f"cpython-{env['python']}" + ("t (GIL off)" if env["free_threaded"] else "")
    return {
        "group": scenario,
        "name": f"test_case[{model}-w{workers}-{label}]",
        "params": {"scenario": scenario, "model": model, "workers": workers, "python": label},
        "extra_info": {
            "scenario": scenario,
            "model": model,
            "workers": workers,
            "status": "ok",
            "checksum": "abc",
            "usable_cpus": 2,
            **env,
            **info,
        },
        "stats": {"data": data, "median": median, "rounds": 5},
    }


def cpu(
    env: dict[str, Any], seq: float, threads: float, threads_cpu: float, procs: float
) -> list[dict[str, Any]]:
    return [
        case("cpu-python", "sequential", 1, seq, env, speedup=1.0, parallelism=1.0, cpu_user_s=seq),
        case(
            "cpu-python",
            "threads",
            2,
            threads,
            env,
            speedup=seq / threads,
            parallelism=threads_cpu / threads,
            cpu_user_s=threads_cpu,
        ),
        case(
            "cpu-python",
            "processes",
            2,
            procs,
            env,
            speedup=seq / procs,
            parallelism=1.9,
            cpu_user_s=seq * 1.05,
        ),
    ]


def run_file(tmp_path: Path, *, local_threads: float = 0.19) -> Path:
    benchmarks = [
        *cpu(GIL, 0.30, 0.31, 0.30, 0.16),
        *cpu(FREE, 0.35, 0.31, 0.59, 0.18),
        case("cpu-python", "interpreters", 2, 0.18, FREE, speedup=1.94, parallelism=1.9, cpu_user_s=0.35),
        case("cpu-python-local", "sequential", 1, 0.33, FREE, speedup=1.0, parallelism=1.0, cpu_user_s=0.33),
        case(
            "cpu-python-local",
            "threads",
            2,
            local_threads,
            FREE,
            speedup=0.33 / local_threads,
            parallelism=1.9,
            cpu_user_s=0.35,
        ),
        case("cpu-python-local", "processes", 2, 0.18, FREE, speedup=1.83, parallelism=1.9, cpu_user_s=0.35),
        case("memory-per-worker", "processes", 1, 1.3, FREE, pss_bytes=60 * MiB, startup_s=0.02),
        case(
            "memory-per-worker", "processes", 64, 0.06, FREE, pss_bytes=60 * MiB + 63 * 9 * MiB, startup_s=0.5
        ),
        case("memory-per-worker", "interpreters", 1, 1.3, FREE, pss_bytes=50 * MiB, startup_s=0.1),
        case(
            "memory-per-worker",
            "interpreters",
            64,
            0.06,
            FREE,
            pss_bytes=50 * MiB + 63 * 4 * MiB,
            startup_s=6.0,
        ),
    ]
    document = {
        "machine_info": {"node": "box", "cpu": {"count": 2}, "python_version": "3.11.7", "gil_enabled": True},
        "commit_info": {},
        "benchmarks": benchmarks,
        "datetime": "2026-11-26T10:00:00",
        "version": "5.3.1",
    }
    folder = tmp_path / "results" / "Linux-CPython-3.11-64bit"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "0001_interpreters.json"
    path.write_text(json.dumps(document))
    return path


def test_baseline_parses_and_says_what_it_expects() -> None:
    assert Baseline.parse("cpython-3.11.7:sequential") == Baseline("cpython-3.11.7", "sequential")
    assert Baseline.parse("cpython-3.13.0t:threads-w2") == Baseline("cpython-3.13.0t", "threads", 2)
    assert Baseline("cpython-3.13.0t", "threads").matches_interpreter("cpython-3.13.0t (GIL off)")
    with pytest.raises(ValueError, match="expected INTERPRETER:MODEL"):
        Baseline.parse("sequential")


def test_one_baseline_puts_threads_on_313t_and_processes_on_311_in_one_number(tmp_path: Path) -> None:
    run = history.read_run(run_file(tmp_path))
    table = compare([run], by="interpreter", baseline=Baseline.parse("cpython-3.11.7:sequential")).tables[0]
    assert "over cpython-3.11.7:sequential" in table.title
    rows = {row[0]: row[1:] for row in table.rows}
    assert table.headers[1:] == ["cpython-3.11.7", "cpython-3.13.0t (GIL off)"]
    # 0.30 s sequential on 3.11 against 0.31 s threads on 3.13t and 0.16 s processes on 3.11.
    assert rows["threads-w2"][1].endswith("x0.97")
    assert rows["processes-w2"][0].endswith("x1.88")
    # Without a baseline each interpreter's cases are over its own sequential.
    own = compare([run], by="interpreter").tables[0]
    assert "over its own sequential" in own.title


def test_a_baseline_that_is_not_in_the_run_is_named(tmp_path: Path) -> None:
    run = history.read_run(run_file(tmp_path))
    result = compare([run], by="interpreter", baseline=Baseline.parse("cpython-3.99.0:sequential"))
    assert any("no interpreter 'cpython-3.99.0'" in w for w in result.warnings)


def test_busy_but_not_faster_is_explained_in_numbers() -> None:
    seq = CaseRecord(model="sequential", cpu_user_s=0.35)
    contended = CaseRecord(model="threads", parallelism=1.9, speedup=1.13, cpu_user_s=0.59)
    text = busy_not_faster(contended, seq)
    assert text is not None
    assert "1.9 cores busy but only x1.13 faster" in text
    assert "590.0ms of CPU against 350.0ms sequentially (1.7x)" in text
    # Parallel and faster, or too little CPU to tell: nothing to explain.
    assert busy_not_faster(contended.model_copy(update={"speedup": 1.8}), seq) is None
    assert busy_not_faster(contended.model_copy(update={"cpu_user_s": 0.02}), seq) is None


def test_the_verdict_follows_the_numbers(tmp_path: Path) -> None:
    data = across_interpreters.ByInterpreter(history.read_run(run_file(tmp_path)), FEEDS)
    verdict = across_interpreters.free_threaded_threads(data)
    assert verdict.verdict.startswith("Only for code that shares no objects")
    assert any("cores busy but only" in line for line in verdict.evidence)
    # Threads that lose on task-local objects too: no contention to blame.
    slow_local = across_interpreters.ByInterpreter(
        history.read_run(run_file(tmp_path / "b", local_threads=0.30)), FEEDS
    )
    assert across_interpreters.free_threaded_threads(slow_local).verdict.startswith("False here")


def test_no_free_threaded_build_means_not_measured(tmp_path: Path) -> None:
    path = run_file(tmp_path)
    document = json.loads(path.read_text())
    document["benchmarks"] = [b for b in document["benchmarks"] if not b["extra_info"]["free_threaded"]]
    path.write_text(json.dumps(document))
    verdict = across_interpreters.free_threaded_threads(
        across_interpreters.ByInterpreter(history.read_run(path), FEEDS)
    )
    assert verdict.verdict == "Not measured in this run"


def test_the_section_has_tables_memory_and_the_checksum_line(tmp_path: Path) -> None:
    lines = "\n".join(across_interpreters.render_section(history.read_run(run_file(tmp_path)), {}, FEEDS))
    assert "### cpu-python by interpreter" in lines
    assert "| cpython-3.13.0t (GIL off) |" in lines
    # Memory per added worker: (64 - 1) workers cost 63 x 4 MiB for subinterpreters.
    assert "| cpython-3.13.0t (GIL off) | interpreters | 6.00s at 64 workers | 4.0 MiB |" in lines
    assert "| cpython-3.13.0t (GIL off) | processes | 500.0ms at 64 workers | 9.0 MiB |" in lines
    assert "Same checksum for every model under every interpreter" in lines


def test_a_chart_per_scenario_puts_interpreters_side_by_side(tmp_path: Path) -> None:
    run = history.read_run(run_file(tmp_path))
    found = {c.slug: c for c in charts.charts([run])}
    assert "cpu-python-interpreters" in found
    bars = [p for p in found["cpu-python-interpreters"].figure.axes[0].patches if p.get_height() > 0]
    # 3.11: sequential, threads, processes; 3.13t: those and interpreters.
    assert len(bars) == 7


@pytest.mark.slow
def test_findings_with_an_interpreter_run(tmp_path: Path) -> None:
    main = run_file(tmp_path / "main")
    across = run_file(tmp_path / "across")
    out = tmp_path / "docs" / "findings.md"
    done = run_suite(
        "findings",
        str(main),
        "--interpreters",
        str(across),
        "--out",
        str(out),
        "--plots",
        str(tmp_path / "docs" / "findings"),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "## Across interpreters" in text
    assert "“Free-threaded Python makes threads the answer for CPU work”" in text
    assert (tmp_path / "docs" / "findings" / "cpu-python-interpreters.svg").exists()


def test_several_runs_add_their_scenarios_and_lost_updates(tmp_path: Path) -> None:
    first = history.read_run(run_file(tmp_path / "a"))
    path = run_file(tmp_path / "b")
    document = json.loads(path.read_text())
    document["benchmarks"] = [
        case("shared-counter", "sequential", 1, 0.03, GIL, workload="shared"),
        case("shared-counter", "threads", 2, 0.03, GIL, workload="shared"),
    ]
    document["suite"] = {
        "cases": [
            {
                "scenario": "shared-counter",
                "model": "threads",
                "workers": 2,
                "interpreter": "cpython-3.13.0t (GIL off)",
                "status": "incorrect",
                "lost_updates": 1_633_576,
                "updates": 4_000_000,
            }
        ]
    }
    path.write_text(json.dumps(document))
    lines = "\n".join(across_interpreters.render_section([first, history.read_run(path)], {}, FEEDS))
    assert "### shared-counter: lost updates by interpreter" in lines
    assert "| cpython-3.11.7 | none lost | none lost |" in lines
    assert "| cpython-3.13.0t (GIL off) | - | **1,633,576** of 4,000,000 (40.8%) |" in lines
    # The first run's scenarios are still there.
    assert "### cpu-python by interpreter" in lines
