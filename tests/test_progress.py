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


def test_what_is_left_is_scaled_by_how_long_the_finished_cases_took() -> None:
    clock = FakeClock()
    progress = Progress.of([("a", 10), ("b", 30), ("c", 20)], clock)
    # The estimate counts as 3 s (5% of 60) run as estimated, beside what really ran.
    clock.now += 20  # estimated 10 s, took 20 s: the machine is about twice as slow as assumed
    assert progress.done("a") == "0:20 elapsed, ~1:28 left"  # 50 to go x (20 + 3) / (10 + 3)
    clock.now += 40
    assert progress.done("b") == "1:00 elapsed, ~0:29 left"  # 20 to go x (60 + 3) / (40 + 3)
    clock.now += 25
    assert progress.done("c") == "1:25 elapsed"


def test_unknown_or_repeated_cases_change_nothing() -> None:
    clock = FakeClock()
    progress = Progress.of([("a", 1), ("b", 1)], clock)
    clock.now += 5
    assert progress.done("not-a-case") is None
    assert progress.done("a") == "0:05 elapsed, ~0:05 left"  # 1 x (5 + 0.1) / (1 + 0.1), 4.6 s
    assert progress.done("a") is None


def test_a_case_is_estimated_from_its_parameters() -> None:
    import dataclasses

    from suite.harness.progress import CASE_OVERHEAD_S, SERVE_POINT_S, case_seconds, startup_seconds
    from suite.spec.cases import Case

    cpu = Case(
        "s", "sequential", 1, "cpu", {"tasks": 8, "iterations": 400_000}, rounds=5, warmup=1, timeout_s=60
    )
    alone = case_seconds(cpu, cores=2)
    # 8 tasks of 400,000 loop iterations, about 34 ms each: about 0.27 s a round, 6 rounds.
    assert 1.5 < alone - CASE_OVERHEAD_S < 2.5
    # Processes spread CPU work over the cores; threads hand out tasks at a cost too.
    assert case_seconds(dataclasses.replace(cpu, model="processes", workers=4), cores=2) < alone
    sleep = Case(
        "s", "asyncio", 100, "sleep", {"tasks": 100, "latency_ms": 20}, rounds=5, warmup=1, timeout_s=60
    )
    # Waiting tasks overlap as far as there are workers: one 20 ms wait a round.
    assert case_seconds(sleep, cores=2) - CASE_OVERHEAD_S - startup_seconds("asyncio", 100) < 0.2
    assert case_seconds(dataclasses.replace(sleep, model="sequential", workers=1), cores=2) > 10
    point = dataclasses.replace(sleep, mode="serve", load={"duration_s": 3.0, "warmup_s": 0.5})
    overhead = CASE_OVERHEAD_S + SERVE_POINT_S + startup_seconds("asyncio", 100)
    assert case_seconds(point, cores=2) == overhead + 3.5


def test_a_pool_of_new_interpreters_is_estimated_to_start_slower_than_forked_copies() -> None:
    from suite.harness.progress import startup_seconds

    assert startup_seconds("processes-spawn", 16) > 5 * startup_seconds("processes-fork", 16)
    assert startup_seconds("processes-forkserver", 16) == startup_seconds("processes-spawn", 16)
    assert startup_seconds("processes-spawn", 16) > startup_seconds("processes-spawn", 2)
    assert startup_seconds("threads", 16) < 0.1
    assert startup_seconds("dask", 4) > 1


def test_the_first_case_alone_does_not_set_the_pace() -> None:
    clock = FakeClock()
    progress = Progress.of([("first", 2)] + [(f"c{i}", 8) for i in range(96)], clock)  # 770 s
    clock.now += 7  # the first case took 3.5 times its estimate
    said = progress.done("first")
    assert said is not None
    left_min = int(said.split("~")[1].split(":")[0])
    assert 12 <= left_min <= 15  # 768 s x (7 + 38.5) / (2 + 38.5), not 768 x 3.5 (45 min)
