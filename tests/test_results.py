"""What the plugin stores beside the round times, computed from known numbers."""

from __future__ import annotations

import pytest

from suite.cases import Case
from suite.launcher import CaseResult
from suite.plugin import extra_info

CASE = Case(
    scenario="s",
    model="threads",
    workers=4,
    kind="http",
    params={"tasks": 10, "latency_ms": 100},
    rounds=3,
    warmup=1,
    timeout_s=5,
)
ENV = {
    "python": "3.11.7",
    "implementation": "cpython",
    "gil_enabled": True,
    "free_threaded": False,
    "cpu_count": 2,
    "usable_cpus": 2,
}


def result(**summary: object) -> CaseResult:
    base = {
        "ideal_s": 0.3,
        "ok_per_round": [10, 10, 8],
        "errors": {},
        "counters": {"server_cpu_s": [0.1, 0.3, 0.2]},
        "task_ms": {"p50": 100.0, "p90": 101.0, "p99": 102.0, "max": 103.0},
        "queue_ms": None,
        "task_cdf_ms": [],
    }
    return CaseResult(
        case=CASE,
        durations_s=(0.5, 0.4, 0.6),
        warmup_s=(0.9,),
        checksum="c",
        startup_s=0.01,
        start_method=None,
        env=ENV,
        summary={**base, **summary},
    )


def test_efficiency_is_ideal_over_median() -> None:
    info = extra_info(result())
    assert info["ideal_s"] == 0.3
    assert info["efficiency"] == pytest.approx(0.3 / 0.5)


def test_throughput_is_the_median_of_ok_tasks_per_second() -> None:
    # Rounds: 10/0.5 = 20, 10/0.4 = 25, 8/0.6 = 13.3 -> median 20.
    info = extra_info(result())
    assert info["throughput_per_s"] == pytest.approx(20)
    assert info["throughput_rps"] == pytest.approx(20)
    assert info["tasks_ok"] == info["requests_ok"] == 28


def test_counters_are_reported_per_round_median() -> None:
    assert extra_info(result())["server_cpu_s"] == pytest.approx(0.2)


def test_errors_make_the_case_degraded_with_a_reason() -> None:
    info = extra_info(result(errors={"http_503": 2, "timeout": 1}))
    assert info["status"] == "degraded"
    assert info["reason"] == "2 http_503, 1 timeout in 3 measured rounds of 10 tasks"
    assert extra_info(result())["status"] == "ok"


def test_no_ideal_means_no_efficiency() -> None:
    info = extra_info(result(ideal_s=None))
    assert info["efficiency"] is None
