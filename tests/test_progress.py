"""Elapsed time and what is left, on each case's result line: the arithmetic, with a fake clock."""

from __future__ import annotations

from suite.harness.progress import Progress, fmt_duration


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_durations_read_as_clock_time() -> None:
    assert fmt_duration(0.4) == "0:00"
    assert fmt_duration(42) == "0:42"
    assert fmt_duration(725) == "12:05"
    assert fmt_duration(3729) == "1:02:09"


def test_what_is_left_is_weighted_by_rounds() -> None:
    clock = FakeClock()
    progress = Progress.of([("a", 10), ("b", 30), ("c", 20)], clock)
    clock.now += 20  # 10 rounds in 20 s: 2 s a round
    assert progress.done("a") == "0:20 elapsed, ~1:40 left"  # 50 rounds to go
    clock.now += 40
    assert progress.done("b") == "1:00 elapsed, ~0:30 left"  # 40 rounds in 60 s, 20 to go
    clock.now += 25
    assert progress.done("c") == "1:25 elapsed"


def test_unknown_or_repeated_cases_change_nothing() -> None:
    clock = FakeClock()
    progress = Progress.of([("a", 1), ("b", 1)], clock)
    clock.now += 5
    assert progress.done("not-a-case") is None
    assert progress.done("a") == "0:05 elapsed, ~0:05 left"
    assert progress.done("a") is None
