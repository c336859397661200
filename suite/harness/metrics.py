"""From what a worker measured to the figures that explain a result (a case's record (``extra_info``)).

Pure functions of their inputs, so the maths is tested with made-up numbers.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from suite.harness.launcher import CaseResult
from suite.results import robust
from suite.results.record import CaseRecord
from suite.spec import registry

ENV_KEYS = ("python", "implementation", "gil_enabled", "free_threaded", "cpu_count", "usable_cpus")
#: pyperf's rules: unstable when the standard deviation is >= 10% of the mean, or the
#: minimum or maximum is >= 50% away from it.
UNSTABLE_STDEV, UNSTABLE_SPREAD = 0.10, 0.50


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def variation(durations: Sequence[float]) -> tuple[float | None, bool]:
    """Coefficient of variation of the rounds, and whether pyperf would call them unstable."""
    if len(durations) < 2:
        return None, False
    mean = statistics.fmean(durations)
    if mean <= 0:
        return None, False
    cv = statistics.stdev(durations) / mean
    spread = max(mean - min(durations), max(durations) - mean) / mean
    return cv, cv >= UNSTABLE_STDEV or spread >= UNSTABLE_SPREAD


def _per_round(summary: dict[str, Any], name: str) -> list[float]:
    values: list[float] = (summary.get("counters") or {}).get(name, [])
    return values


def resource_use(result: CaseResult) -> dict[str, Any]:
    """CPU, parallelism, context switches and memory of the worker's process tree."""
    summary = result.summary
    user, system = _per_round(summary, "cpu_user_s"), _per_round(summary, "cpu_sys_s")
    cpu_total = sum(user) + sum(system)
    wall = sum(result.durations_s)
    return {
        "cpu_user_s": median(user),
        "cpu_sys_s": median(system),
        "parallelism": cpu_total / wall if user and wall > 0 else None,
        "ctx_switches": {
            "voluntary": median(_per_round(summary, "ctx_voluntary")),
            "involuntary": median(_per_round(summary, "ctx_involuntary")),
        },
        "peak_rss_bytes": result.peak_rss_bytes or None,
        "uss_bytes": summary.get("uss_bytes"),
        "pss_bytes": summary.get("pss_bytes"),
    }


def speedup(result: CaseResult, baseline: CaseResult | None) -> dict[str, Any]:
    """Speedup over the sequential case: paired by cycle when both ran in one interleaved
    group (the median of each cycle's ratio, with its 95% interval), else the ratio of
    the medians."""
    if baseline is None:
        return {"speedup": None, "speedup_interval": None, "paired": False}
    if result.group is not None and result.group == baseline.group:
        ratios = robust.paired_ratios(
            dict(zip(baseline.cycles, baseline.durations_s, strict=True)),
            dict(zip(result.cycles, result.durations_s, strict=True)),
        )
        if ratios:
            value, low, high = robust.median_with_interval(ratios)
            return {"speedup": value, "speedup_interval": [low, high], "paired": True}
    base, median_s = statistics.median(baseline.durations_s), statistics.median(result.durations_s)
    return {"speedup": base / median_s if median_s > 0 else None, "speedup_interval": None, "paired": False}


def environment(env: dict[str, Any]) -> dict[str, Any]:
    """The worker's interpreter and CPUs, as a case's record keeps them."""
    return {key: env.get(key) for key in ENV_KEYS}


def record(result: CaseResult, baseline: CaseResult | None = None) -> CaseRecord:
    """What pytest-benchmark stores beside the round times: what ran, where, and why it won.

    :param baseline: the sequential case of the same scenario and interpreter in this run
    """
    case, summary = result.case, result.summary
    median_s = statistics.median(result.durations_s)
    baseline_s = statistics.median(baseline.durations_s) if baseline is not None else None
    workload_class = registry.workload(case.kind)
    workload = workload_class(workload_class.Params.model_validate(case.params))
    ideal_s = workload.ideal_s(case.workers, baseline_s, result.env.get("usable_cpus") or 1)
    cv, unstable = variation(result.durations_s)
    ok_per_round = summary.get("ok_per_round", [])
    known = {"cpu_user_s", "cpu_sys_s", "ctx_voluntary", "ctx_involuntary"}
    # The kind's own counters (a server's CPU, bytes pickled), by their names.
    counters: dict[str, Any] = {
        name: median(per_round)
        for name, per_round in (summary.get("counters") or {}).items()
        if name not in known
    }
    reason = None
    if result.status == "degraded":
        counts = ", ".join(f"{n} {kind}" for kind, n in sorted(result.errors.items()))
        reason = f"{counts} in {len(result.durations_s)} measured rounds of {case.tasks} tasks"
    tasks_ok = sum(ok_per_round)
    throughput = median([ok / d for ok, d in zip(ok_per_round, result.durations_s, strict=False) if d > 0])
    task_ms = summary.get("task_ms")
    return CaseRecord(
        scenario=case.scenario,
        model=case.model,
        workers=case.workers,
        tasks=case.tasks,
        workload=case.kind,
        params=case.params,
        checksum=result.checksum,
        **environment(result.env),
        start_method=result.start_method,
        startup_s=result.startup_s,
        warmup_s=list(result.warmup_s),
        status=result.status,
        reason=reason,
        task_ms=task_ms,
        queue_ms=summary.get("queue_ms"),
        task_cdf_ms=summary.get("task_cdf_ms"),
        native_threads=summary.get("native_threads") or None,
        native_limit=case.native_limit(int(result.env.get("usable_cpus") or 1)),
        us_per_task=median_s / case.tasks * 1e6,
        errors=result.errors,
        tasks_ok=tasks_ok,
        throughput_per_s=throughput,
        **speedup(result, baseline),
        interleaved=result.group is not None,
        cycles=list(result.cycles),
        worker_processes=summary.get("worker_processes", 1),
        extra_rounds=max(0, len(result.durations_s) - case.rounds),
        ideal_s=ideal_s,
        efficiency=ideal_s / median_s if ideal_s and median_s > 0 else None,
        cv=cv,
        unstable=unstable,
        **resource_use(result),
        **counters,
        **workload_class.result_names(task_ms=task_ms, tasks_ok=tasks_ok, throughput_per_s=throughput),
    )
