"""What the plugin stores beside the round times, computed from made-up measurements."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from pydantic import ValidationError

from suite.harness.launcher import CaseResult
from suite.harness.metrics import record, variation
from suite.results.record import CaseRecord
from suite.spec.cases import Case

HTTP = Case(
    scenario="s",
    model="threads",
    workers=4,
    kind="http",
    params={"tasks": 12, "latency_ms": 100},
    rounds=3,
    warmup=1,
    timeout_s=5,
)
CPU = dataclasses.replace(HTTP, kind="cpu", params={"tasks": 8, "iterations": 10})
ENV = {
    "python": "3.11.7",
    "implementation": "cpython",
    "gil_enabled": True,
    "free_threaded": False,
    "cpu_count": 2,
    "usable_cpus": 2,
}


def result(case: Case = HTTP, durations: tuple[float, ...] = (0.5, 0.4, 0.6), **summary: Any) -> CaseResult:
    base = {
        "ok_per_round": [12, 12, 10],
        "errors": {},
        "counters": {
            "server_cpu_s": [0.1, 0.3, 0.2],
            "cpu_user_s": [0.8, 0.7, 0.9],
            "cpu_sys_s": [0.1, 0.1, 0.1],
            "ctx_voluntary": [5, 7, 6],
            "ctx_involuntary": [1, 3, 2],
        },
        "task_ms": {"p50": 100.0, "p90": 101.0, "p99": 102.0, "max": 103.0},
        "queue_ms": None,
        "task_cdf_ms": [],
        "uss_bytes": 1000,
    }
    return CaseResult(
        case=case,
        durations_s=durations,
        warmup_s=(0.9,),
        checksum="c",
        startup_s=0.01,
        start_method=None,
        env=ENV,
        summary={**base, **summary},
        peak_rss_bytes=5000,
    )


def sequential(median_s: float) -> CaseResult:
    """A sequential case measured apart from the others (no interleaved group)."""
    return dataclasses.replace(result(CPU), durations_s=(median_s,) * 3)


def test_waiting_kind_efficiency_is_the_latency_bound_over_median() -> None:
    info = record(result())
    assert info.ideal_s == pytest.approx(0.3)  # ceil(12 / 4) x 100 ms
    assert info.efficiency == pytest.approx(0.3 / 0.5)


def test_cpu_kind_ideal_is_sequential_time_over_usable_cores() -> None:
    # 4 workers, 8 tasks, but only 2 usable CPUs: the best is the baseline halved.
    info = record(result(CPU), baseline=sequential(1.0))
    assert info.ideal_s == pytest.approx(0.5)
    assert info.efficiency == pytest.approx(1.0)
    assert info.speedup == pytest.approx(2.0)


def test_cpu_kind_ideal_is_limited_by_tasks() -> None:
    one_task = dataclasses.replace(CPU, params={"tasks": 1, "iterations": 10})
    assert record(result(one_task), baseline=sequential(1.0)).ideal_s == pytest.approx(1.0)


def test_without_a_sequential_run_there_is_no_speedup_or_cpu_ideal() -> None:
    info = record(result(CPU))
    assert (info.speedup, info.ideal_s, info.efficiency) == (None, None, None)


def test_parallelism_is_cpu_over_wall() -> None:
    # CPU 0.9 + 0.8 + 1.0 = 2.7 s over 1.5 s of rounds.
    assert record(result()).parallelism == pytest.approx(1.8)


def test_resources_are_per_round_medians() -> None:
    info = record(result())
    assert info.cpu_user_s == pytest.approx(0.8)
    assert info.cpu_sys_s == pytest.approx(0.1)
    assert info.ctx_switches == {"voluntary": 6, "involuntary": 2}
    assert info.server_cpu_s == pytest.approx(0.2)
    assert (info.peak_rss_bytes, info.uss_bytes) == (5000, 1000)
    assert info.figure("ctx_voluntary") is None
    assert "ctx_voluntary" not in info.stored()


def test_throughput_is_the_median_of_ok_tasks_per_second() -> None:
    # Rounds: 12/0.5 = 24, 12/0.4 = 30, 10/0.6 = 16.7 -> median 24.
    info = record(result())
    assert info.throughput_per_s == pytest.approx(24)
    assert info.throughput_rps == pytest.approx(24)
    assert info.tasks_ok == info.requests_ok == 34
    assert info.us_per_task == pytest.approx(0.5 / 12 * 1e6)


def test_errors_make_the_case_degraded_with_a_reason() -> None:
    info = record(result(errors={"http_503": 2, "timeout": 1}))
    assert info.status == "degraded"
    assert info.reason == "2 http_503, 1 timeout in 3 measured rounds of 12 tasks"
    assert record(result()).status == "ok"


@pytest.mark.parametrize(
    ("durations", "unstable"),
    [
        ((1.0, 1.01, 0.99, 1.0), False),
        ((1.0, 1.3, 0.7, 1.0), True),  # standard deviation over 10% of the mean
        ((1.0,) * 99 + (1.6,), True),  # cv 0.06, but one round 59% away from the mean
    ],
)
def test_unstable_rounds_follow_pyperf(durations: tuple[float, ...], unstable: bool) -> None:
    cv, flagged = variation(durations)
    assert flagged is unstable
    assert cv is not None
    assert record(result(durations=durations)).unstable is unstable


def test_one_round_has_no_variation() -> None:
    assert variation([1.0]) == (None, False)


def test_the_record_reads_back_as_it_was_stored() -> None:
    """What the harness stores is what every reader gets: no field lost or retyped."""
    built = record(result(CPU), baseline=sequential(1.0))
    stored = json.loads(json.dumps(built.stored()))
    again = CaseRecord.model_validate(stored)
    assert again == built
    assert again.figure("server_cpu_s") == pytest.approx(0.2)  # a kind's own counter
    assert again.figure("no_such_figure") is None


def test_a_mistyped_record_field_is_refused_not_coerced() -> None:
    with pytest.raises(ValidationError, match="workers"):
        CaseRecord.model_validate({"workers": "4"})
