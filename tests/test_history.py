"""The index of saved runs and `suite history`: series over runs, steps found, CI gate."""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
from suite_cli import run_suite

from suite.results import history, index
from suite.results.compare import RunsAtHand
from suite.results.index import INDEX_FILE, Index

MACHINE = "Linux-CPython-3.11-64bit"


def write_run(
    results: Path,
    number: int,
    medians: dict[tuple[str, str, int], float],
    *,
    commit: str = "a" * 40,
    name: str = "",
    quick: bool = False,
    instructions: float | None = None,
    single_s: float = 0.012,
    iterations: int = 1000,
) -> Path:
    benchmarks: list[dict[str, Any]] = []
    for (scenario, model, workers), median in medians.items():
        info: dict[str, Any] = {
            "scenario": scenario,
            "model": model,
            "workers": workers,
            "status": "ok",
            "params": {"iterations": iterations},
        }
        if model == "sequential" and instructions is not None:
            info["instructions_per_task"] = int(instructions)
        base = medians.get((scenario, "sequential", 1))
        if base and model != "sequential":
            info.update(speedup=base / median, speedup_interval=[base / median * 0.97, base / median * 1.03])
        benchmarks.append(
            {
                "group": scenario,
                "name": f"test_case[{model}-w{workers}]",
                "params": {},
                "extra_info": info,
                "stats": {"data": [median * f for f in (0.99, 1.0, 1.01)], "median": median, "rounds": 3},
            }
        )
    document = {
        "machine_info": {
            "node": "box",
            "cpu": {"count": 2},
            "python_version": "3.11.7",
            "python_implementation": "CPython",
        },
        "commit_info": {"id": commit, "dirty": False},
        "benchmarks": benchmarks,
        "datetime": f"2026-12-04T10:{number // 60:02d}:{number % 60:02d}",
        "version": "5.3.1",
        "suite": {
            "complete": True,
            "exit": "finished",
            "cases": [],
            "not_run": [],
            "quick": quick,
            "capacity": {
                "cpus": 2,
                "readings": [{"time": 0, "scenario": "cpu", "single_s": single_s, "parallelism": 2.0}],
            },
        },
    }
    folder = results / MACHINE
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{number:04d}_{name or commit + '_20261204_100000'}.json"
    path.write_text(json.dumps(document))
    return path


def cases(work: float, rng: random.Random, noise: float = 0.02) -> dict[tuple[str, str, int], float]:
    def jitter(v: float) -> float:
        return v * rng.lognormvariate(0, noise)

    return {
        ("cpu", "sequential", 1): jitter(0.2 * work),
        ("cpu", "threads", 2): jitter(0.2 * work),
        ("cpu", "processes", 2): jitter(0.11 * work),
    }


def stepped_history(results: Path, runs: int = 14, step_at: int = 8, step: float = 0.2) -> None:
    rng = random.Random(5)
    for n in range(1, runs + 1):
        work = 1 + step if n > step_at else 1.0
        commit = ("b" if n > step_at else "a") * 40
        write_run(results, n, cases(work, rng), commit=commit, instructions=400_000_000 * work)


def test_the_index_follows_the_folder(tmp_path: Path) -> None:
    rng = random.Random(1)
    for n in (1, 2, 3):
        write_run(tmp_path, n, cases(1.0, rng))
    with Index.open(tmp_path) as idx:
        assert [r.number for r in idx.runs()] == ["0001", "0002", "0003"]
        assert len(idx.cases()) == 9
    assert (tmp_path / INDEX_FILE).exists()
    # A new run, a deleted one and a changed one: only those are read again.
    write_run(tmp_path, 4, cases(1.0, rng))
    (tmp_path / MACHINE / f"0001_{'a' * 40}_20261204_100000.json").unlink()
    changed = write_run(tmp_path, 2, {("cpu", "sequential", 1): 9.0})
    os.utime(changed, ns=(1, 1))
    with Index.open(tmp_path) as idx:
        assert [r.number for r in idx.runs()] == ["0002", "0003", "0004"]
        (again,) = [r for r in idx.runs() if r.path == changed]
        assert [c.median for c in idx.cases([again.id])] == [9.0]
        assert {c.run for c in idx.cases([again.id])} == {again.id}
        assert idx.sync() == 0  # nothing changed since


def test_a_broken_or_older_index_is_rebuilt_from_the_files(tmp_path: Path) -> None:
    write_run(tmp_path, 1, cases(1.0, random.Random(2)))
    (tmp_path / INDEX_FILE).write_bytes(b"not a database at all" * 100)
    with Index.open(tmp_path) as idx:
        assert len(idx.runs()) == 1
    with sqlite3.connect(tmp_path / INDEX_FILE) as db:
        db.execute("UPDATE meta SET value = '0' WHERE key = 'version'")
    with Index.open(tmp_path) as idx:
        assert len(idx.cases()) == 3


def test_an_unreadable_run_is_listed_and_skipped_not_fatal(tmp_path: Path) -> None:
    write_run(tmp_path, 1, cases(1.0, random.Random(3)))
    bad = tmp_path / MACHINE / "0002_broken.json"
    bad.write_text("{ half a file")
    with Index.open(tmp_path) as idx:
        assert [r.number for r in idx.runs()] == ["0001"]
        ((path, why),) = idx.unreadable()
        assert path == bad
        assert "cannot read a saved run" in why
        assert idx.sync() == 0  # not read again until it changes


def test_a_folder_that_cannot_be_written_gets_an_index_in_memory(tmp_path: Path) -> None:
    write_run(tmp_path, 1, cases(1.0, random.Random(4)))
    tmp_path.chmod(0o555)
    try:
        if os.access(tmp_path, os.W_OK):
            pytest.skip("running as root: every folder can be written")
        with Index.open(tmp_path) as idx:
            assert idx.where.startswith("in memory")
            assert len(idx.runs()) == 1
    finally:
        tmp_path.chmod(0o755)


def test_the_index_gives_compare_the_same_spread_as_the_runs_read_whole(tmp_path: Path) -> None:
    rng = random.Random(6)
    paths = [write_run(tmp_path, n, cases(1.0, rng, noise=0.05)) for n in range(1, 7)]
    runs = [history.read_run(p) for p in paths]
    base, new = runs[0], runs[-1]
    with Index.open(tmp_path) as idx:
        for m in base.measurements:
            from_index = sorted(idx.same_code_medians(base, new, m))
            assert from_index == sorted(RunsAtHand(runs).same_code_medians(base, new, m))
            assert len(from_index) == 4


def test_history_finds_the_step_where_the_commit_changed(tmp_path: Path) -> None:
    stepped_history(tmp_path)
    result = run_suite("history", "--results", str(tmp_path), "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)["records"]
    work = [r for r in rows if r["series"] == "work"]
    assert [(r["case"], r["first run after"], r["commit"]) for r in work] == [
        ("sequential-w1", f"0009 {'b' * 7} 12-04 10:00", "b" * 12)
    ]
    assert work[0]["change"] == "+20.0%"
    times = {r["case"] for r in rows if r["series"] == "time"}
    assert times == {"sequential-w1", "threads-w2", "processes-w2"}
    assert all(r["first run after"].startswith("0009 ") for r in rows)
    # Speedups did not move: every model got 20% more work.
    assert not [r for r in rows if r["series"] == "speedup"]


def test_a_step_the_probe_saw_is_the_machines(tmp_path: Path) -> None:
    rng = random.Random(8)
    for n in range(1, 15):  # a rank test needs 7 runs a side to reach p 0.001
        slow = 1.3 if n > 7 else 1.0
        write_run(tmp_path, n, cases(slow, rng), single_s=0.012 * slow)
    result = run_suite("history", "--results", str(tmp_path), "--format", "json", cwd=tmp_path)
    rows = json.loads(result.stdout)["records"]
    assert {r["series"] for r in rows} == {"time"}
    assert all(r["what moved"].startswith("the machine's: its single-core speed moved +30%") for r in rows)


def test_fail_on_step_gates_the_newest_run(tmp_path: Path) -> None:
    rng = random.Random(9)
    for n in range(1, 11):
        write_run(tmp_path, n, cases(1.0, rng))
    calm = run_suite("history", "--results", str(tmp_path), "--fail-on-step", "10", cwd=tmp_path)
    assert calm.returncode == 0, calm.stdout + calm.stderr
    write_run(tmp_path, 11, cases(1.25, rng), instructions=None)
    jumped = run_suite("history", "--results", str(tmp_path), "--fail-on-step", "10", cwd=tmp_path)
    assert jumped.returncode == 1
    assert "step: cpu sequential-w1 (cpython-3.11.7) time: +" in jumped.stderr
    assert "the newest run starts a step" in jumped.stdout


def test_history_selects_by_name_last_and_commits(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo)]
    subprocess.run([*git, "init", "-q"], check=True)
    commits = []
    for i in range(3):
        subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", f"c{i}"], check=True)
        commits.append(
            subprocess.run(
                [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
            ).stdout.strip()
        )
    rng = random.Random(10)
    results = tmp_path / "results"
    for n in range(1, 10):
        write_run(results, n, cases(1.0, rng), commit=commits[(n - 1) // 3], name=f"r{n % 2}")
    idx = Index.open(results)
    from suite.results import trend

    with idx:
        assert [r.number for r in trend.select(idx, save="r1")] == ["0001", "0003", "0005", "0007", "0009"]
        assert [r.number for r in trend.select(idx, last=2)] == ["0008", "0009"]
        picked = trend.select(idx, commits=f"{commits[0]}..{commits[2]}", cwd=repo)
        assert [r.number for r in picked] == ["0004", "0005", "0006", "0007", "0008", "0009"]
        with pytest.raises(trend.TrendError, match="git rev-list says"):
            trend.select(idx, commits="nosuch..alsonot", cwd=repo)


def test_report_history_draws_each_scenario_with_its_steps(tmp_path: Path) -> None:
    stepped_history(tmp_path / "results")
    result = run_suite("report", "--history", "--html", "history.html", "--plots", "plots", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "history.html").read_text()
    assert "Steps over 14 runs" in page
    assert page.count("<svg") == 1
    assert (tmp_path / "plots" / "cpu-trend.png").exists()


def test_saving_a_run_updates_the_index(tmp_path: Path) -> None:
    write_run(tmp_path, 1, cases(1.0, random.Random(11)))
    index.updated(tmp_path)
    with sqlite3.connect(tmp_path / INDEX_FILE) as db:
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone() == (1,)


def test_a_history_keeps_the_speedups_intervals_only_when_asked(tmp_path: Path) -> None:
    from suite.results import trend

    stepped_history(tmp_path)
    with Index.open(tmp_path) as idx:
        runs = trend.select(idx)
        plain = trend.build(idx, runs)
        drawn = trend.build(idx, runs, intervals=True)
    key = ("cpu", "threads-w2", "cpython-3.11.7", trend.SPEEDUP)
    assert plain.intervals == {}
    lows, highs = drawn.intervals[key]
    values = drawn.series[key][1]
    assert len(lows) == len(values) == 14
    assert all(lo < v < hi for lo, v, hi in zip(lows, values, highs, strict=True))
    assert plain.found == drawn.found
