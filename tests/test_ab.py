"""suite ab: the paired maths, the sides, the merged pairs of processes, and a real run."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from suite_cli import run_suite

from suite.errors import CaseFailed, ScenarioError
from suite.harness import procgroup, zygote
from suite.harness.interleave import Group, Job, merge
from suite.harness.launcher import CaseResult, Session
from suite.results import ab, history
from suite.spec import sides
from suite.spec.cases import Case

CASE = Case("s", "sequential", 1, "cpu", {"tasks": 2, "iterations": 10}, 3, 1, 10.0)


def cycles(values: list[float], start: int = 0) -> dict[int, float]:
    return {start + i: v for i, v in enumerate(values)}


def test_a_change_is_called_from_eight_cycles_of_two_pairs_of_processes() -> None:
    a = cycles([1.0, 1.02, 0.98, 1.0, 1.01, 0.99, 1.0, 1.0])
    b = cycles([1.10, 1.14, 1.08, 1.12, 1.09, 1.11, 1.1, 1.13])
    found = ab.paired_change(a, b, floor=0.05, pairs=2)
    assert found is not None
    assert found.verdict == ab.SLOWER
    assert found.ratio == pytest.approx(1.105, abs=0.02)
    assert ab.paired_change(a, b, floor=0.05, pairs=1).verdict == ab.NOT_SETTLED  # type: ignore[union-attr]
    six = ab.paired_change(cycles(list(a.values())[:6]), cycles(list(b.values())[:6]), 0.05, pairs=2)
    assert six is not None
    assert six.verdict == ab.NOT_SETTLED  # a 99% interval needs 8 cycles
    one_odd = cycles([1.10, 1.14, 1.08, 1.12, 1.09, 1.11, 1.1, 0.97])
    assert ab.paired_change(a, one_odd, 0.05, pairs=2).verdict == ab.NOT_SETTLED  # type: ignore[union-attr]


def test_same_needs_the_whole_interval_inside_the_floor() -> None:
    a = cycles([1.0] * 8)
    assert (
        ab.paired_change(a, cycles([1.01, 0.99, 1.02, 1.0, 0.98, 1.01, 1.0, 0.99]), 0.05).verdict == ab.SAME
    )  # type: ignore[union-attr]
    noisy = cycles([1.2, 0.8, 1.1, 0.9, 1.15, 0.85, 1.0, 1.05])
    assert ab.paired_change(a, noisy, 0.05, pairs=3).verdict == ab.NOT_SETTLED  # type: ignore[union-attr]
    faster = cycles([0.8, 0.82, 0.79, 0.81, 0.8, 0.78, 0.8, 0.81])
    assert ab.paired_change(a, faster, 0.05, pairs=2).verdict == ab.FASTER  # type: ignore[union-attr]


def test_extra_cycles_go_only_to_a_case_they_could_settle() -> None:
    a = cycles([1.0] * 6)
    # +10% with a spread of a few percent: more cycles would call it.
    assert ab.reachable(a, cycles([1.1, 1.12, 1.08, 1.11, 1.09, 1.13]), more=10)
    # Close to no change, a little spread: more cycles would call it the same.
    assert ab.reachable(a, cycles([1.02, 0.98, 1.03, 0.97, 1.01, 1.0]), more=10)
    # +2% inside a +-20% scatter: ten cycles more can make it neither.
    scatter = cycles([1.25, 0.8, 1.2, 0.85, 1.02, 1.3])
    assert not ab.reachable(a, scatter, more=10)
    # Fewer cycles than a verdict takes: no projection yet, so it may go on.
    assert ab.reachable(cycles([1.0] * 3), cycles([1.25, 0.8, 1.2]), more=10)


def test_only_cycles_both_sides_ran_count() -> None:
    a = cycles([1.0, 1.0, 1.0], start=0)
    b = cycles([2.0, 2.0, 2.0], start=2)
    assert ab.paired_change(a, b) is None  # one shared cycle
    found = ab.paired_change(cycles([1.0] * 4), cycles([2.0] * 4))
    assert found is not None
    assert found.cycles == 4


def test_the_calibrated_floor_is_the_95th_percentile_of_the_a_a_changes() -> None:
    changes = [ab.PairedChange(1 + i / 1000, 1, 1, 10, 3, ab.SAME) for i in range(100)]
    assert ab.calibrated_floor(changes) == pytest.approx(0.094, abs=0.002)
    assert ab.calibrated_floor([ab.PairedChange(1.001, 1, 1, 10, 3, ab.SAME)]) == 0.01  # at least 1%
    assert ab.calibrated_floor([]) is None


def test_counts_say_whether_the_work_moved() -> None:
    assert ab.count_note(1_000_000, 1_150_000) == "work +15.0% (instruction count)"
    assert ab.count_note(1_000_000, 1_004_000) == "same work (instruction count)"
    assert ab.count_note(None, 5) is None


def test_a_side_sets_workload_keys_and_names_itself_when_wrong(write_scenario) -> None:  # type: ignore[no-untyped-def]
    path = write_scenario(
        """
        workload: {kind: cpu, tasks: 4, iterations: 1000}
        models: [sequential]
        """
    )
    key, value = sides.parse_set("workload.iterations=1150")
    assert (key, value) == ("workload.iterations", 1150)
    scenario = sides.load(path, sides.Side("B", sets=((key, value),)))
    assert scenario.params.iterations == 1150  # type: ignore[attr-defined]
    with pytest.raises(ScenarioError, match=r"scenario.yaml:1: workload.iterations: .*side B sets"):
        sides.load(path, sides.Side("B", sets=(("workload.iterations", "many"),)))
    with pytest.raises(ValueError, match="workload keys only"):
        sides.parse_set("rounds=9")
    with pytest.raises(ValueError, match="KEY=VALUE"):
        sides.parse_set("workload.iterations")


@pytest.mark.slow
def test_a_side_imports_a_callable_from_its_own_folder(write_scenario, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for name in ("old", "new"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "mywork.py").write_text("def f(index=0):\n    return index\n")
    path = write_scenario(
        """
        workload: {kind: callable, target: "mywork:f", tasks: 2, path: [old]}
        models: [sequential]
        """
    )
    assert sides.load(path, sides.Side("A")).params.path == [str(tmp_path / "old")]  # type: ignore[attr-defined]
    moved = sides.load(path, sides.Side("B", callable_path=(str(tmp_path / "new"),)))
    assert moved.params.path == [str(tmp_path / "new")]  # type: ignore[attr-defined]
    tree = tmp_path / "tree"
    (tree / "old").mkdir(parents=True)
    remapped = sides.load(path, sides.Side("B", remap=((str(tmp_path), str(tree)),)))
    assert remapped.params.path == [str(tree / "old")]  # type: ignore[attr-defined]
    assert sides.Side.from_json(sides.Side("B", "/py", (("workload.x", 1),)).to_json()).sets == (
        ("workload.x", 1),
    )


def result(durations: tuple[float, ...], cycles_: tuple[int, ...], checksum: str = "c") -> CaseResult:
    return CaseResult(
        CASE,
        durations,
        (0.5,),
        checksum,
        0.1,
        None,
        summary={
            "errors": {"timeout": 1},
            "ok_per_round": [2] * len(durations),
            "counters": {"x": list(durations)},
        },
        cycles=cycles_,
    )


def test_rounds_of_several_worker_processes_merge_into_one_case() -> None:
    merged = merge([result((1.0, 2.0), (1, 2)), result((3.0,), (5,))])
    assert merged.durations_s == (1.0, 2.0, 3.0)
    assert merged.cycles == (1, 2, 5)
    assert merged.warmup_s == (0.5, 0.5)
    assert merged.summary["worker_processes"] == 2
    assert merged.summary["errors"] == {"timeout": 2}
    assert merged.summary["counters"]["x"] == [1.0, 2.0, 3.0]
    with pytest.raises(CaseFailed, match="different checksums"):
        merge([result((1.0,), (1,), "a"), result((1.0,), (2,), "b")])


def test_the_two_sides_of_a_pair_run_back_to_back() -> None:
    jobs = [Job(f"{name}-{side}", CASE, sys.executable, None, name) for name in "xyz" for side in "AB"]
    group = Group(jobs, seed=3)
    group.live = {job.key: object() for job in jobs}  # type: ignore[misc]
    for _ in range(20):
        order = group._ordered(group.live)
        assert sorted(order) == sorted(group.live)
        pairs = [order[i][0] for i in range(0, len(order), 2)]
        assert all(order[i][0] == order[i + 1][0] for i in range(0, len(order), 2))
        assert sorted(pairs) == ["x", "y", "z"]


def _parent(session: Session) -> int:
    return psutil.Process(session.proc.pid).ppid()


@pytest.mark.slow
def test_each_side_and_pair_of_processes_forks_from_a_zygote_of_its_own() -> None:
    """Forked workers share their zygote's hash seed and layout: the pairs of worker
    processes an A/B comparison spreads a case over must each have their own."""
    a, b = dataclasses.replace(CASE, side="A"), dataclasses.replace(CASE, side="B")
    jobs = [Job("x-A", a, sys.executable, None, "x"), Job("x-B", b, sys.executable, None, "x")]
    group = Group([*jobs, Job("y", CASE, sys.executable, None)], seed=1)
    group.start()
    try:
        first = {key: _parent(session) for key, session in group.live.items()}
        assert all(isinstance(session.proc, zygote.Forked) for session in group.live.values())
        assert len(set(first.values())) == 3  # side A, side B and the plain case: three zygotes
        group.cycle(list(group.live))
        group.renew(["x-A", "x-B"])  # the next pair of processes
        second = {key: _parent(group.live[key]) for key in ("x-A", "x-B")}
        assert len(set(second.values())) == 2
        assert not set(second.values()) & set(first.values())
    finally:
        for session in group.live.values():
            session.close(finished=False)


@pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2, reason="needs 2 CPUs"
)
@pytest.mark.slow
def test_pin_holds_every_thread_of_a_process_tree_on_one_cpu() -> None:
    code = (
        "import threading, time, subprocess, sys\n"
        "threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n"
        "print('up', flush=True); time.sleep(30)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "up"
        assert procgroup.pin(proc.pid, 1)
        import psutil

        tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
        threads = [t.id for p in tree for t in p.threads()]
        assert len(threads) >= 3
        assert all(os.sched_getaffinity(tid) == {1} for tid in threads)
    finally:
        import psutil

        for child in psutil.Process(proc.pid).children(recursive=True):
            child.kill()
        proc.kill()
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


SCENARIO = """
name: tiny-cpu
workload: {kind: cpu, tasks: 2, iterations: 20000}
models: [sequential, threads]
workers: [2]
rounds: 4
"""


@pytest.mark.slow
def test_suite_ab_runs_both_sides_in_one_run_and_says_what_changed(tmp_path: Path) -> None:
    (tmp_path / "tiny.yaml").write_text(SCENARIO)
    done = run_suite(
        "ab", "tiny.yaml", "--set-b", "workload.iterations=60000", "--pairs", "2", "--no-count", cwd=tmp_path
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "side B: iterations=60000" in done.stdout
    run = history.read_run(next((tmp_path / "results").glob("*/0001_ab.json")))
    assert {m.record.side for m in run.measurements} == {"A", "B"}
    assert run.ab["floor"] == 0.05
    assert [s["name"] for s in run.ab["sides"]] == ["A", "B"]
    cases = {c.label: c for c in ab.analyse(run.measurements)}
    sequential = cases["sequential-w1"]
    assert sequential.change is not None
    assert sequential.change.ratio == pytest.approx(3.0, rel=0.35)  # three times the work
    assert sequential.verdict == ab.SLOWER
    # Both sides of a case ran in the same cycles, on as many processes as it took.
    a, b = (m for m in run.measurements if m.label == "sequential-w1")
    assert set(a.record.cycles) == set(b.record.cycles)
    assert a.record.worker_processes == b.record.worker_processes


@pytest.mark.slow
def test_suite_ab_refuses_a_side_it_cannot_build(tmp_path: Path) -> None:
    (tmp_path / "tiny.yaml").write_text(SCENARIO)
    done = run_suite("ab", "tiny.yaml", "--set-b", "workload.iteration=5", cwd=tmp_path)
    assert done.returncode == 2
    assert "tiny.yaml" in done.stderr
    assert "workload.iteration" in done.stderr
    assert "side B" in done.stderr
    done = run_suite("ab", "tiny.yaml", "--rev", "HEAD", cwd=tmp_path)
    assert done.returncode == 2
    assert "callable" in done.stderr


@pytest.mark.slow
def test_saved_ab_runs_load_with_their_sides(tmp_path: Path) -> None:
    path = tmp_path / "0001_ab.json"
    info = {"scenario": "s", "model": "sequential", "workers": 1, "cycles": [0, 1, 2], "worker_processes": 2}
    benches = [
        {
            "group": "s",
            "name": "n",
            "extra_info": {**info, "side": side},
            "stats": {"data": data, "median": data[1]},
        }
        for side, data in (("A", [1.0, 1.0, 1.0]), ("B", [2.0, 2.1, 1.9]))
    ]
    path.write_text(json.dumps({"benchmarks": benches, "suite": {"ab": {"floor": 0.07}}}))
    run = history.read_run(path)
    assert run.floor == 0.07
    (case,) = ab.analyse(run.measurements, run.floor or ab.FLOOR)
    assert case.change is not None
    assert case.change.ratio == pytest.approx(2.0)
    text = ab.render_text(ab.ABResult([case], floor=0.07))
    assert "sequential-w1" in text
    assert "x2.000" in text
    assert "beyond 7.0%" in text


@pytest.mark.slow
def test_side_b_may_be_another_file_with_the_same_cases(write_scenario, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a = write_scenario("workload: {kind: cpu, tasks: 2, iterations: 10}\nmodels: [sequential]\n", "a.yaml")
    b = write_scenario("workload: {kind: cpu, tasks: 2, iterations: 20}\nmodels: [sequential]\n", "b.yaml")
    scenario = sides.load(a, sides.Side("B", file=str(b)))
    assert scenario.name == "a"  # named as side A's, so the cases pair
    assert scenario.params.iterations == 20  # type: ignore[attr-defined]


def test_a_case_s_rounds_are_split_over_the_planned_pairs() -> None:
    from suite.harness.paired import share

    assert [share(5, 2, s) for s in range(2)] == [3, 2]
    assert [share(6, 2, s) for s in range(2)] == [3, 3]
    assert share(5, 1, 0) == 5
