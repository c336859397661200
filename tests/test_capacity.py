"""The capacity probe, for real, and what its readings make the suite say."""

from __future__ import annotations

import os
from pathlib import Path

import psutil
import pytest

from suite.harness.probe import CapacityProbe
from suite.results import machine
from suite.results.robust import median_interval


@pytest.mark.slow
def test_probe_measures_this_machine_and_leaves_nothing_running() -> None:
    before = {p.pid for p in psutil.Process(os.getpid()).children(recursive=True)}
    probe = CapacityProbe()
    try:
        first = probe.probe(scenario="s", cycle=0)
        assert first is not None
        assert first["cpus"] == len(os.sched_getaffinity(0))
        assert len(first["parallel_s"]) == first["cpus"]
        assert 0 < first["single_s"] < 5
        assert 0 < first["parallelism"] <= first["cpus"] * 2
        assert first["scenario"] == "s"
        assert probe.probe(scenario="s", cycle=1) is not None
        assert [r["cycle"] for r in probe.readings] == [0, 1]
    finally:
        probe.close()
    assert {p.pid for p in psutil.Process(os.getpid()).children(recursive=True)} <= before
    assert probe.probe(scenario="s") is None  # closed: no reading, no error


def reading(t: float, scenario: str, parallelism: float, single_ms: float = 25.0) -> dict[str, object]:
    return {
        "time": t,
        "scenario": scenario,
        "parallelism": parallelism,
        "single_s": single_ms / 1000,
        "cpus": 2,
    }


def test_a_scenario_short_of_cores_at_most_readings_is_named_with_when() -> None:
    readings = [reading(100 + k, "cpu-python", 1.2) for k in range(4)] + [reading(104, "cpu-python", 2.0)]
    readings += [reading(200 + k, "sleep", 1.95) for k in range(5)]
    notes = machine.warnings(readings, 2)
    assert len(notes) == 1
    assert notes[0].startswith("only 1.2 of 2 cores were available during cpu-python")
    assert "short at 4 of 5 readings, 0:00-0:03 into the run" in notes[0]
    assert "parallel speedups are understated" in notes[0]


def test_a_passing_dip_is_not_a_warning() -> None:
    readings = [reading(k, "cpu-python", 1.1 if k == 2 else 1.95) for k in range(6)]
    assert machine.warnings(readings, 2) == []


def test_a_scenario_on_a_slower_machine_is_named() -> None:
    readings = [reading(k, "a", 1.9, 25.0) for k in range(5)] + [
        reading(10 + k, "b", 1.9, 25.0) for k in range(5)
    ]
    readings += [reading(20 + k, "c", 1.9, 31.0) for k in range(5)]
    notes = machine.warnings(readings, 2)
    assert notes == [
        "c ran on a machine 24% slower (single-core) than the run's median (capacity probe): compare its "
        "absolute times with other scenarios' with care; its models met the same machine"
    ]


def test_median_interval_covers_at_least_95_percent() -> None:
    assert median_interval([3.0, 1.0, 2.0]) == (1.0, 3.0)  # too few for 95%: the whole range
    assert median_interval([float(v) for v in range(1, 11)]) == (2.0, 9.0)
    assert median_interval([float(v) for v in range(1, 21)]) == (6.0, 15.0)


def test_a_single_core_speed_that_jumps_between_readings_is_named() -> None:
    readings = [reading(k, "cpu-python", 1.9, ms) for k, ms in enumerate((17.0, 26.0, 25.5, 16.5, 26.2))]
    notes = machine.warnings(readings, 2)
    assert len(notes) == 1
    assert notes[0].startswith("single-core speed varied by 59% between readings during cpu-python: ")
    assert "16.5-26.2 ms a probe loop" in notes[0]
    elsewhere = [reading(10 + k, "sleep", 1.9, ms) for k, ms in enumerate((17.0, 26.0, 25.0))]
    (both,) = machine.warnings(readings + elsewhere, 2)
    assert "between readings in 2 scenarios (cpu-python, sleep): 16.5-26.2 ms" in both


def test_one_paragraph_says_how_the_machine_moved_and_why_paired_results_hold() -> None:
    from suite.results import machine

    readings = [
        {"time": t, "scenario": s, "single_s": single, "parallelism": cores, "cpus": 2}
        for t, (s, single, cores) in enumerate(
            [("a", 0.020, 2.0), ("a", 0.021, 1.9), ("b", 0.030, 1.2), ("b", 0.031, 1.1), ("c", 0.020, 2.0)]
        )
    ]
    text = machine.paragraph(readings, 2)
    assert text is not None
    assert text.startswith("The machine moved during this run (capacity probe, 5 readings)")
    assert "20.0-31.0 ms" in text
    assert "slower: b 45%" in text
    assert "Fewer than 85% of the cores were free during b" in text
    assert "hold" in text
    assert machine.paragraph([], 2) is None


def test_runs_are_labelled_short() -> None:
    from suite.results.history import Run

    autosaved = Run(
        Path("x"), "0003", f"{'58542ba' + 'c' * 33}_20261202_110617_uncommited-changes", "", {}, ()
    )
    assert autosaved.label == "0003 58542ba+ 12-02 11:06"
    assert Run(Path("x"), "0004", "before", "", {}, ()).label == "0004 before"
    long = Run(Path("x"), "0005", "a-very-long-name-for-a-saved-run-indeed", "", {}, ())
    assert len(long.label) <= 30
