"""Work counted, not timed: instruction counts under valgrind are exact and follow the work."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from suite_cli import run_suite

from suite.harness import workcount
from suite.results import ab, history
from suite.results.compare import SAME_WORK, compare
from suite.spec.cases import Case

# The fast lane (-m 'not slow') leaves this module out: every test counts instructions under valgrind.
pytestmark = pytest.mark.slow

needs_valgrind = pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
CPU = Case("s", "sequential", 1, "cpu", {"tasks": 2, "iterations": 20000}, 3, 1, 10.0)


@needs_valgrind
def test_a_task_counts_the_same_twice_and_more_work_counts_more() -> None:
    first, again = workcount.count(CPU), workcount.count(CPU)
    assert first.instructions is not None
    assert first.instructions > 1_000_000
    assert first.instructions == again.instructions
    bigger = workcount.count(dataclasses.replace(CPU, params={"tasks": 2, "iterations": 23000}))
    assert bigger.instructions is not None
    assert bigger.instructions / first.instructions == pytest.approx(1.15, abs=0.01)


def test_without_valgrind_the_count_says_how_to_get_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workcount.shutil, "which", lambda name: None)
    found = workcount.count(CPU)
    assert found.instructions is None
    assert found.reason is not None
    assert "apt-get install valgrind" in found.reason


def test_only_cpu_work_without_a_fault_is_counted() -> None:
    assert workcount.countable(CPU)
    assert not workcount.countable(
        dataclasses.replace(CPU, kind="sleep", params={"tasks": 2, "latency_ms": 1})
    )
    faulty = {"tasks": 2, "iterations": 10, "fault": {"kind": "raise", "at_task": 0}}
    assert not workcount.countable(dataclasses.replace(CPU, params=faulty))


def test_a_shell_shim_is_followed_to_the_interpreter(tmp_path: Path) -> None:
    shim = tmp_path / "python3"
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    shim.chmod(0o755)
    assert Path(workcount.real_executable(str(shim))).resolve() == Path(sys.executable).resolve()
    assert workcount.real_executable(sys.executable) == sys.executable


def test_compare_says_same_work_when_only_the_timing_moved(make_run) -> None:  # type: ignore[no-untyped-def]
    cases = {("s", "sequential", 1): 1.0}
    before = history.read_run(make_run(1, cases, extra={"instructions_per_task": 1_000_000}))
    same = history.read_run(
        make_run(2, {("s", "sequential", 1): 1.3}, extra={"instructions_per_task": 1_000_100})
    )
    more = history.read_run(
        make_run(3, {("s", "sequential", 1): 1.0}, extra={"instructions_per_task": 1_150_000})
    )
    (timing,) = compare([before, same]).changes
    assert timing.verdict == SAME_WORK
    (work,) = compare([before, more]).changes
    assert work.verdict == "more work"
    assert work.work_pct == pytest.approx(15.0)
    assert compare([before, more]).slower_than(10) == [work]


@needs_valgrind
def test_suite_run_saves_the_count_and_ab_reports_the_work_moved(tmp_path: Path) -> None:
    (tmp_path / "tiny.yaml").write_text(
        "workload: {kind: cpu, tasks: 2, iterations: 20000}\nmodels: [sequential]\nrounds: 3\n"
    )
    done = run_suite("ab", "tiny.yaml", "--set-b", "workload.iterations=23000", "--pairs", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "work +15.0% (instruction count)" in done.stdout
    run = history.read_run(next((tmp_path / "results").glob("*/0001_ab.json")))
    counts = {m.record.side: m.record.instructions_per_task for m in run.measurements}
    assert counts["B"] / counts["A"] == pytest.approx(1.15, abs=0.01)
    assert [c.work for c in ab.analyse(run.measurements)] == ["work +15.0% (instruction count)"]


def test_git_revisions_become_the_two_sides(tmp_path: Path) -> None:
    repo = tmp_path / "proj"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    module = repo / "mywork.py"
    module.write_text("def f(index=0):\n    return sum(range(20000)) + index\n")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    module.write_text("def f(index=0):\n    return sum(range(60000)) + index\n")
    subprocess.run([*git, "commit", "-qam", "two"], check=True)
    (repo / "mine.yaml").write_text(
        "workload: {kind: callable, target: 'mywork:f', index_arg: index, tasks: 2}\n"
        "models: [sequential]\nrounds: 3\n"
    )
    done = run_suite(
        "ab", "mine.yaml", "--rev", "HEAD~1", "--rev", "HEAD", "--pairs", "1", "--no-count", cwd=repo
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "code at HEAD~1" in done.stdout
    assert "code at HEAD" in done.stdout
    run = history.read_run(next((repo / "results").glob("*/0001_ab.json")))
    checksums = {m.record.side: m.record.checksum for m in run.measurements}
    assert checksums["A"] != checksums["B"]  # each side ran its own revision's function
    listed = subprocess.run([*git, "worktree", "list"], capture_output=True, text=True, check=True).stdout
    assert len(listed.strip().splitlines()) == 1  # the worktrees are gone
