"""Serve mode, the parent's half: load a serving worker, read it, judge the case.

One case is one model x workers x load point. The worker serves the model
(:mod:`suite.harness.serve_worker`); the parent (:func:`run_serve_case`) runs the load
generator (:mod:`suite.harness.loadgen`) in a process of its own against its port, reads
the server's CPU time before and after (its whole process tree), asks the worker whether
its server is whole, stops it, and judges the case: failed when the server died or
stopped answering, degraded when requests failed or the generator, not the server, was
the limit.
"""

from __future__ import annotations

import contextlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

from suite.errors import CaseFailed
from suite.harness import launcher, metrics, protocol, resources
from suite.harness.loadgen import DRAIN_S, LAG_LIMIT_MS, LoadReport, report_from_json
from suite.harness.serve_worker import DESCRIPTOR_MARGIN, STATUS
from suite.results.record import CaseRecord, LoadPoint
from suite.spec.cases import Case


@dataclass
class ServeResult:
    """What one load point measured."""

    case: Case
    report: LoadReport
    startup_s: float
    start_method: str | None
    env: dict[str, Any]
    server_cpu_s: float
    peak_rss_bytes: int
    backend_cpu_s: float | None = None
    memory: dict[str, Any] = field(default_factory=dict)
    status: str = "ok"
    reason: str | None = None

    @property
    def durations_s(self) -> tuple[float, ...]:
        """What pytest-benchmark stores as rounds: request latencies (thinned, in order)."""
        return tuple(self.report.samples_s)


def descriptor_problem(case: Case, hard: int | None = None) -> str | None:
    """Why this machine cannot hold the load point's connections, or ``None``.

    :param hard: the hard RLIMIT_NOFILE to judge by (default: this process's)"""
    assert case.load is not None
    if hard is None:
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = case.load["connections"] + DESCRIPTOR_MARGIN
    if hard != resource.RLIM_INFINITY and needed > hard:
        return (
            f"load point {case.load['label']} needs {needed} file descriptors in the generator and in the "
            f"server ({case.load['connections']} connections + {DESCRIPTOR_MARGIN}) but RLIMIT_NOFILE's hard "
            f"limit is {hard}; raise it (ulimit -Hn) or use fewer connections"
        )
    return None


def _tree_cpu_s(pid: int) -> float:
    counters = resources.cpu_counters(pid)
    return float(counters.get("cpu_user_s", 0.0) + counters.get("cpu_sys_s", 0.0))


def generator_job(case: Case, port: int) -> dict[str, Any]:
    load = case.load
    assert load is not None
    return {
        "host": "127.0.0.1",
        "port": port,
        "mode": load["mode"],
        "connections": load["connections"],
        "duration_s": load["duration_s"],
        "warmup_s": load["warmup_s"],
        "rate_rps": load.get("rate_rps", 0.0),
        "arrival": load.get("arrival", "constant"),
        "tasks": case.tasks,
        "timeout_s": load["timeout_s"],
    }


def run_generator(job: dict[str, Any], on_idle: Any = None, loop: str = "auto") -> LoadReport:
    """Run the load generator in a process of its own; :class:`CaseFailed` if it fails."""
    from suite.harness import procgroup

    limit_s = job["warmup_s"] + job["duration_s"] + job["timeout_s"] + DRAIN_S + 30
    # Files, not pipes: the report is larger than a pipe holds, and nobody reads until the end.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = launcher.start_program(sys.executable, "suite.harness.loadgen", ["--loop", loop], {}, out, err)
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(job).encode() + b"\n")
        proc.stdin.close()
        deadline = time.monotonic() + limit_s
        while proc.poll() is None and time.monotonic() < deadline:
            if on_idle is not None:
                on_idle()
            # Returns as the generator ends, not at the next tick (a sleep here cost
            # half a tick, 50 ms, on every load point).
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=min(launcher.SAMPLE_EVERY_S, max(0.0, deadline - time.monotonic())))
        if proc.poll() is None:
            procgroup.stop_group(proc)
            raise CaseFailed(f"the load generator did not finish within {limit_s:g} s", status="timeout")
        out.seek(0)
        stdout = out.read().decode()
        if proc.returncode != 0 or not stdout.strip():
            raise CaseFailed(
                f"the load generator failed ({launcher.exit_reason(proc.returncode)})",
                detail=launcher.stderr_tail(err),
            )
    return report_from_json(json.loads(stdout.strip().splitlines()[-1]))


def judge(case: Case, report: LoadReport, failure: str | None) -> tuple[str, str | None]:
    """``(status, reason)`` of a load point from what the generator and server said."""
    errors = sum(report.errors.values())
    tried = report.ok + errors
    counts = ", ".join(f"{n} {kind}" for kind, n in sorted(report.errors.items()))
    if failure is not None:
        raise CaseFailed(
            f"{failure} during load point {case.load_label}; "
            f"requests: {report.ok} ok, {counts or 'no errors'}"
        )
    if report.inconsistent:
        raise CaseFailed(f"{report.inconsistent} answers differed from an earlier answer to the same request")
    timeouts = report.errors.get("timeout", 0)
    timeout_s = float(case.load["timeout_s"]) if case.load else 0.0
    if tried == 0:
        raise CaseFailed(
            f"the server stopped answering: nothing was answered in the {report.window_s:g} s window "
            f"({report.sent} requests sent in it; requests sent before it were still waiting, "
            f"timeout_s {timeout_s:g})",
            status="timeout",
        )
    # Hung, not just overloaded: it went quiet. An overloaded server still answers
    # through the window, however many requests time out in its queue.
    silent_s = report.window_s - (report.last_answer_s or 0.0)
    if report.last_answer_s is None or (timeouts and silent_s >= min(timeout_s, report.window_s / 2)):
        last = report.last_answer_s
        when = "" if last is None else f" {max(0.0, last):.1f} s into the window"
        raise CaseFailed(
            f"the server stopped answering{when}: {timeouts} of {tried} requests timed out after "
            f"{timeout_s:g} s ({counts})",
            status="timeout",
        )
    reasons = []
    if errors:
        reasons.append(f"{counts} of {tried} requests")
    busy = report.generator_cpu_s / (report.window_s + (case.load or {}).get("warmup_s", 0.0))
    if report.generator_limited:
        reasons.append(
            f"the load generator fell behind its schedule: it sent requests p99 "
            f"{report.lag_ms['p99']:.1f} ms late (over {LAG_LIMIT_MS:g} ms), using {busy:.0%} of a core, "
            "so it may have limited the load"
        )
    return ("degraded", "; ".join(reasons)) if reasons else ("ok", None)


def run_serve_case(
    case: Case, python: str = sys.executable, endpoint: dict[str, Any] | None = None
) -> ServeResult:
    """Measure one load point: start the model's server, load it, stop it."""
    problem = descriptor_problem(case)
    if problem is not None:
        raise CaseFailed(problem)
    session = launcher.Session(case, python, None, endpoint, paced=True)
    finished = False
    try:
        session.start()
        pid = session.hello["pid"]
        backend_pid = (endpoint or {}).get("pid")
        backend_before = _tree_cpu_s(int(backend_pid)) if backend_pid else None
        cpu_before = _tree_cpu_s(pid)
        report = run_generator(generator_job(case, session.ready["port"]), session.sampler.sample)
        server_cpu_s = _tree_cpu_s(pid) - cpu_before
        backend_cpu_s = (
            _tree_cpu_s(int(backend_pid)) - backend_before
            if backend_pid and backend_before is not None
            else None
        )
        if session.proc.poll() is not None:
            raise CaseFailed(
                f"the server died during load point {case.load_label} "
                f"({launcher.exit_reason(session.proc.returncode)})",
                detail=launcher.stderr_tail(session.stderr),
            )
        session._tell(STATUS)
        failure = session.expect(launcher.STARTUP_TIMEOUT_S, "the server's status")["failure"]
        status, reason = judge(case, report, failure)
        session._tell(protocol.STOP)
        done = session.expect(launcher.STARTUP_TIMEOUT_S, "the server to stop")
        finished = True
    finally:
        session.close(finished)
    return ServeResult(
        case=case,
        report=report,
        startup_s=session.ready["startup_s"],
        start_method=session.ready["start_method"],
        env=session.hello["env"],
        server_cpu_s=server_cpu_s,
        backend_cpu_s=backend_cpu_s,
        peak_rss_bytes=max(session.sampler.peak, done.get("rss_end_bytes") or 0),
        memory={k: done.get(k) for k in ("uss_bytes", "pss_bytes")},
        status=status,
        reason=reason,
    )


def record(result: ServeResult) -> CaseRecord:
    """What pytest-benchmark stores beside a load point's latencies."""
    case, report = result.case, result.report
    assert case.load is not None
    p99 = report.latency_ms.get("p99")
    offered = report.offered_rps
    failed = sum(report.errors.values())
    # Percentiles are of answered requests; one that failed or timed out is slower than
    # any of them, so past 1% of failures no p99 of answered requests meets an SLO.
    failed_share = failed / (report.ok + failed) if report.ok + failed else 1.0
    saturated = (
        (offered is not None and report.achieved_rps < 0.95 * offered)
        or failed_share > 0.01
        or (case.slo_p99_ms is not None and p99 is not None and p99 > case.slo_p99_ms)
    )
    return CaseRecord(
        mode="serve",
        scenario=case.scenario,
        model=case.model,
        workers=case.workers,
        workload=case.kind,
        params=case.params,
        fanout=case.fanout,
        load=LoadPoint.model_validate(case.load),
        checksum=report.checksum,
        **metrics.environment(result.env),
        start_method=result.start_method,
        startup_s=result.startup_s,
        status=result.status,
        reason=result.reason,
        offered_rps=offered,
        achieved_rps=report.achieved_rps,
        requests_sent=report.sent,
        requests_ok=report.ok,
        latency_ms=report.latency_ms,
        errors=report.errors,
        server_cpu_s=result.server_cpu_s,
        generator_cpu_s=report.generator_cpu_s,
        backend_cpu_s=result.backend_cpu_s,
        generator_lag_ms_p99=report.lag_ms.get("p99"),
        generator_limited=report.generator_limited,
        connections_opened=report.connections_opened,
        server_rss_bytes=result.peak_rss_bytes,
        uss_bytes=result.memory.get("uss_bytes"),
        pss_bytes=result.memory.get("pss_bytes"),
        slo_p99_ms=case.slo_p99_ms,
        saturated=saturated,
    )
