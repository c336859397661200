"""Comparisons that know run-to-run noise: the probe's drift, several runs per side, history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from suite_cli import run_suite

from suite.results import history
from suite.results.compare import compare, compare_sides, median_test

CASES = {("cpu", "sequential", 1): 1.0, ("cpu", "processes", 2): 0.5, ("cpu", "threads", 2): 1.0}


def annotate(path: Path, single_ms: float | None = 25.0, cores: float = 1.95, commit: str = "abc") -> Path:
    """Add what the suite saves beside pytest-benchmark's data: probe readings, the commit."""
    data = json.loads(path.read_text())
    readings = []
    if single_ms is not None:
        readings = [
            {
                "time": 100.0 + k,
                "scenario": "cpu",
                "cycle": k,
                "single_s": single_ms / 1000,
                "parallelism": cores,
            }
            for k in range(5)
        ]
    data["suite"] = {"capacity": {"cpus": 2, "readings": readings}, "cases": [], "complete": True}
    data["commit_info"] = {"id": commit, "dirty": False}
    path.write_text(json.dumps(data))
    return path


def run(make_run, number: int, scale: float = 1.0, **probe: object) -> history.Run:  # type: ignore[no-untyped-def]
    cases = {key: median * scale for key, median in CASES.items()}
    return history.read_run(annotate(make_run(number, cases, name=f"r{number}", seed=number), **probe))  # type: ignore[arg-type]


def test_a_change_inside_the_machines_own_drift_cannot_be_told_from_noise(make_run) -> None:  # type: ignore[no-untyped-def]
    before = run(make_run, 1, single_ms=25.0)
    # The machine ran 20% faster in the second run, and so did every case: no code changed.
    after = run(make_run, 2, scale=0.83, single_ms=20.0)
    comparison = compare([before, after])
    assert {c.verdict for c in comparison.changes} == {"cannot tell from noise"}
    assert comparison.changes[0].floor_pct == pytest.approx(20)
    assert comparison.slower_than(0) == []
    assert any("the machine itself moved between" in w and "by up to 20%" in w for w in comparison.warnings)
    machine = comparison.tables[0]
    assert machine.title == "The machine during each run (capacity probe)"
    assert [row[-1] for row in machine.rows] == ["+0.0%", "-20.0%"]


def test_a_change_beyond_the_drift_is_still_reported(make_run) -> None:  # type: ignore[no-untyped-def]
    before = run(make_run, 1, single_ms=25.0)
    after = run(make_run, 2, scale=1.4, single_ms=26.0)  # 40% slower on a machine 4% slower
    comparison = compare([before, after])
    assert {c.verdict for c in comparison.changes} == {"slower"}
    assert len(comparison.slower_than(30)) == 3


def test_fewer_cores_given_also_raise_the_floor(make_run) -> None:  # type: ignore[no-untyped-def]
    before = run(make_run, 1, cores=1.95)
    after = run(make_run, 2, scale=1.1, cores=1.3)
    verdicts = {c.verdict for c in compare([before, after]).changes}
    assert verdicts == {"cannot tell from noise"}


def test_without_readings_the_floor_is_min_change_and_the_reader_is_told(make_run) -> None:  # type: ignore[no-untyped-def]
    comparison = compare([run(make_run, 1, single_ms=None), run(make_run, 2, scale=1.1, single_ms=None)])
    assert {c.verdict for c in comparison.changes} == {"slower"}
    assert any("no capacity probe readings" in w for w in comparison.warnings)


def test_other_runs_of_the_same_code_set_the_floor(make_run) -> None:  # type: ignore[no-untyped-def]
    saved = [run(make_run, n, scale=s) for n, s in ((1, 1.0), (2, 1.12), (3, 0.98), (4, 1.05))]
    other_code = run(make_run, 5, scale=1.5, commit="def")  # never part of the floor
    base, after = saved[0], run(make_run, 6, scale=1.08)
    history_runs = [*saved, other_code, after]
    changes = compare([base, after], history=history_runs).changes
    assert {c.verdict for c in changes} == {"cannot tell from noise"}
    assert changes[0].floor_pct == pytest.approx((1.12 / 0.98 - 1) * 100, abs=1.5)
    assert "other runs of the same code" in changes[0].floor_why


def test_several_runs_per_side_test_the_runs_medians(make_run) -> None:  # type: ignore[no-untyped-def]
    # Run-to-run spread of a few percent; +15% after.
    before = [run(make_run, n, scale=s) for n, s in ((1, 1.0), (2, 1.04), (3, 0.97))]
    after = [run(make_run, n, scale=1.15 * s) for n, s in ((4, 1.02), (5, 0.99), (6, 1.03))]
    changed = compare_sides(before, after)
    assert {c.verdict for c in changed.changes} == {"slower"}
    assert all(c.p_value is not None and c.p_value < 0.05 for c in changed.changes)
    same = compare_sides(before, [run(make_run, n, scale=s) for n, s in ((7, 0.99), (8, 1.03), (9, 1.0))])
    assert {c.verdict for c in same.changes} == {"unchanged"}


def test_median_test_needs_two_runs_a_side() -> None:
    assert median_test([1.0], [2.0, 2.1]) is None
    assert median_test([1.0, 1.0], [1.0, 1.0]) == 1.0
    p = median_test([1.0, 1.02, 0.99], [1.2, 1.22, 1.18])
    assert p is not None
    assert p < 0.01


@pytest.mark.slow
def test_cli_takes_sides_as_lists_or_repeated_names(make_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    results = tmp_path / "results"
    for n, scale in ((1, 1.0), (2, 1.03), (3, 0.98), (4, 1.3), (5, 1.33), (6, 1.28)):
        name = "before" if n <= 3 else "after"
        annotate(make_run(n, {k: v * scale for k, v in CASES.items()}, name=name, seed=n))
    by_list = run_suite("compare", "1,2,3", "4,5,6", "--results", str(results), cwd=tmp_path)
    by_name = run_suite("compare", "before", "after", "--results", str(results), cwd=tmp_path)
    assert by_list.returncode == 0, by_list.stderr
    assert by_list.stdout == by_name.stdout
    assert "change of the runs' medians (Welch's t-test on logs" in by_list.stdout
    assert "0001 before (+2 runs)" in by_list.stdout
    gate = run_suite(
        "compare", "before", "after", "--fail-if-slower", "20", "--results", str(results), cwd=tmp_path
    )
    assert gate.returncode == 1
    three = run_suite("compare", "1,2", "3", "4", "--results", str(results), cwd=tmp_path)
    assert three.returncode == 2
    assert "give exactly two sides" in three.stderr


def test_a_disk_that_moved_a_whole_file_scenario_cannot_be_told_from_a_change(make_run) -> None:  # type: ignore[no-untyped-def]
    cases = {("io", "sequential", 1): 1.0, ("io", "threads", 4): 0.3}
    before = history.read_run(annotate(make_run(1, cases, extra={"workload": "file"})))
    slower_disk = {key: value * 1.8 for key, value in cases.items()}
    after = history.read_run(annotate(make_run(2, slower_disk, extra={"workload": "file"})))
    changes = compare([before, after]).changes
    assert {c.verdict for c in changes} == {"cannot tell from noise"}
    assert all("sequential baseline moved 80%" in c.floor_why for c in changes)
    # A CPU loop's probe reads a sleep's or a CPU task's machine: there the rule does not apply.
    assert compare([run(make_run, 3), run(make_run, 4, scale=1.4)]).changes[0].verdict == "slower"


def test_a_case_with_unstable_rounds_is_not_called_changed_between_runs(make_run) -> None:  # type: ignore[no-untyped-def]
    before = history.read_run(annotate(make_run(1, CASES, extra={"unstable": True})))
    after = history.read_run(annotate(make_run(2, {k: v * 1.3 for k, v in CASES.items()})))
    changes = compare([before, after]).changes
    assert {c.verdict for c in changes} == {"cannot tell from noise"}
    assert all("unstable" in c.floor_why for c in changes)
