"""The worker program: measures one case and reports over its stdout. Run by the launcher.

It reads a job (a :class:`~suite.spec.cases.Case` and the endpoint of the backend it needs)
as JSON on stdin. Anything the measured code prints goes to stderr, so stdout carries
only protocol messages.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from suite.errors import LostUpdates, SuiteError
from suite.harness import environment, native, procgroup, protocol, resources, serve_worker, stats
from suite.harness.resources import raise_descriptor_limit
from suite.models import RoundResult, Runner
from suite.spec import registry
from suite.spec.cases import Case
from suite.workloads import SharedState, Workload

#: Descriptors a worker keeps for itself beyond what its tasks need (pipes, imports, logs).
DESCRIPTOR_MARGIN = 64


class ResourceLimitError(Exception):
    """The case needs more of a resource than this machine allows."""


#: How long the processes this worker started may take to exit after SIGTERM.
STOP_GRACE_S = 1.0


def _tracker_pid() -> int | None:
    # multiprocessing's resource tracker ignores SIGTERM and unlinks leaked semaphores
    # once every process using it has gone: it must outlive the others, not be killed.
    tracker = getattr(sys.modules.get("multiprocessing.resource_tracker"), "_resource_tracker", None)
    return getattr(tracker, "_pid", None)


def stop_tree(signum: int, _frame: object = None) -> None:
    """SIGTERM handler: stop every process this worker started, then exit at once.

    Runs when the launcher stops the case or the parent died. Nothing is cancelled or
    joined: a hung task, a thread that cannot be stopped, or a coroutine that swallows
    cancellation cannot hold the exit up.
    """
    if os.getpid() != _WORKER_PID:  # a forked pool process inherited this handler
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    pgid = os.getpgid(0)
    spared = {os.getpid(), _tracker_pid()}
    with contextlib.suppress(OSError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    others = [p for p in procgroup.live_members(pgid) or [] if p not in spared]
    while others and time.monotonic() < deadline:
        time.sleep(0.01)
        others = [p for p in procgroup.live_members(pgid) or [] if p not in spared]
    for pid in others:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    if _SCRATCH and os.getppid() != _PARENT_PID:
        # The parent died outright and cannot remove the case's folder: every process
        # that used it is gone now, so this worker does.
        shutil.rmtree(_SCRATCH, ignore_errors=True)
    os._exit(128 + signum)


_WORKER_PID, _PARENT_PID = os.getpid(), os.getppid()
#: The case's own folder (the parent made it and removes it after the case).
_SCRATCH: str | None = None


def check_descriptors(workload: Workload, runner: Runner, limit: int, server_limit: int | None) -> None:
    """Refuse a case that would run out of file descriptors, before anything starts."""
    per_process = workload.descriptors_needed(runner.concurrency_per_process)
    if not per_process:
        return
    needed = per_process + DESCRIPTOR_MARGIN
    if needed > limit:
        raise ResourceLimitError(
            f"needs {needed} file descriptors per process ({per_process} sockets for "
            f"{runner.concurrency_per_process} concurrent tasks + {DESCRIPTOR_MARGIN} margin) but "
            f"RLIMIT_NOFILE allows {limit}; raise the hard limit (ulimit -Hn) or use fewer workers"
        )
    total = workload.descriptors_needed(runner.workers) + DESCRIPTOR_MARGIN
    if server_limit is not None and total > server_limit:
        raise ResourceLimitError(
            f"the server would need {total} file descriptors ({runner.workers} connections + "
            f"{DESCRIPTOR_MARGIN} margin) but its RLIMIT_NOFILE allows {server_limit}"
        )


@dataclass
class Tally:
    """What the measured rounds add up to, beyond their durations."""

    task_s: list[float] = field(default_factory=list)
    queue_s: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    ok_per_round: list[int] = field(default_factory=list)
    counters: dict[str, list[float]] = field(default_factory=dict)

    def add(self, result: RoundResult, errors: list[str | None], grown: dict[str, float]) -> None:
        ok = 0
        for (_, start, end), error in zip(result.tasks, errors, strict=True):
            self.queue_s.append(start - result.started)
            if error is None:
                ok += 1
                self.task_s.append(end - start)
            else:
                self.errors[error] += 1
        self.ok_per_round.append(ok)
        for name, amount in grown.items():
            self.counters.setdefault(name, []).append(amount)

    def summary(self) -> dict[str, Any]:
        return {
            "task_ms": stats.percentiles_ms(self.task_s),
            "queue_ms": stats.percentiles_ms(self.queue_s),
            "task_cdf_ms": stats.cdf_ms(self.task_s),
            "errors": dict(self.errors),
            "ok_per_round": self.ok_per_round,
            "counters": self.counters,
        }


def _grown(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before[name] for name in after if name in before}


def _counters(workload: Workload) -> dict[str, float]:
    # The whole tree's CPU and context switches, plus what the workload counts (server CPU).
    return {**resources.cpu_counters(), **workload.counters()}


def _round_indexes(case: Case, paced: TextIO | None) -> Iterator[int]:
    """Every round at once, or (``paced``) one round each time the parent says so."""
    if paced is None:
        yield from range(case.warmup + case.rounds)
        return
    index = 0
    while paced.readline().strip() == protocol.GO:
        yield index
        index += 1


def _rounds(case: Case, runner: Runner, workload: Workload, out: TextIO, paced: TextIO | None) -> Tally:
    expected: str | None = None
    tally = Tally()
    lost = updates = rounds = 0
    shared = workload if isinstance(workload, SharedState) else None
    for index in _round_indexes(case, paced):
        if shared is not None:
            shared.reset_shared()
        warmup = index < case.warmup
        tasks = case.warmup_tasks if warmup else case.tasks
        workload.inputs(tasks)  # the tasks' data, made (once) before any clock starts
        before = _counters(workload)
        result = runner.run_round(tasks, index)
        grown = _grown(before, _counters(workload))
        serialize_s = runner.serialize_estimate(tasks)  # untimed, after the round
        if serialize_s is not None:
            grown["serialize_s"] = serialize_s
        outcome = shared.shared_outcome(tasks) if shared is not None else None
        if outcome is not None:
            lost, updates, rounds = lost + outcome[0] - outcome[1], updates + outcome[0], rounds + 1
        if len(result.tasks) != tasks:
            raise RuntimeError(f"round {index} returned {len(result.tasks)} values for {tasks} tasks")
        digest = protocol.checksum(result.values)
        classes = [workload.error_class(v) for v in result.values]
        errors = sum(c is not None for c in classes)
        if not warmup:  # a warm-up round runs fewer tasks: its checksum is its own
            if expected is not None and digest != expected and not errors:
                raise RuntimeError(f"checksum changed between rounds: {expected} then {digest}")
            expected = expected if errors else digest
            tally.add(result, classes, grown)
        protocol.send(
            out,
            protocol.ROUND,
            index=index,
            warmup=warmup,
            tasks=tasks,
            duration_s=result.duration_s,
            checksum=digest,
            errors=errors,
            counters=grown,
        )
    if lost:
        # Every round ran (more updates tried, a truer count); none of them is a measurement.
        raise LostUpdates(lost, updates, rounds)
    return tally


def measure(
    case: Case,
    endpoint: dict[str, Any] | None,
    out: TextIO,
    scratch: str | None = None,
    paced: TextIO | None = None,
) -> None:
    """Start the case's runner, run its rounds, and report each step on ``out``.

    :param scratch: an empty folder of the case's own, shared by its processes and
        removed by the launcher after the case
    :param paced: where the parent says ``go`` before each round (interleaved rounds);
        ``None`` runs them all at once
    """
    limit = raise_descriptor_limit()
    protocol.send(out, protocol.HELLO, pid=os.getpid(), env=environment.describe())
    runner_class = registry.runner(case.model)
    workload_class = registry.workload(case.kind)
    reason = (
        runner_class.unavailable_reason()
        or workload_class.unavailable_reason()
        or runner_class.unavailable_for(workload_class)
    )
    if reason is not None:
        protocol.send(out, protocol.UNAVAILABLE, reason=reason)
        return
    workload = workload_class(workload_class.Params.model_validate(case.params), endpoint, scratch)
    reason = workload_class.unavailable_with(workload.params) or runner_class.unavailable_with(
        workload.params
    )
    if reason is not None:
        protocol.send(out, protocol.UNAVAILABLE, reason=reason)
        return
    runner = runner_class(workload, case.workers, case.options)
    check_descriptors(workload, runner, limit, (endpoint or {}).get("nofile"))
    try:
        began = time.perf_counter()
        runner.start()
        limited = native.limit(case.native_limit(environment.usable_cpus()))  # noqa: F841 (kept alive)
        protocol.send(
            out, protocol.READY, startup_s=time.perf_counter() - began, start_method=runner.start_method
        )
        tally = _rounds(case, runner, workload, out, paced)
        # Memory while the pool still stands: USS is too slow to sample during rounds.
        uss, pss = resources.unique_and_proportional_bytes()
        memory: dict[str, Any] = {"rss_end_bytes": resources.rss_bytes(), "uss_bytes": uss, "pss_bytes": pss}
        memory["native_threads"] = native.pools(workload)
    finally:
        runner.close()
    # An extension module that does not declare free-threading support turns the GIL back
    # on when it is imported (by the pool, the loop or the task): say how the rounds ran.
    protocol.send(out, protocol.DONE, **memory, **tally.summary(), gil_enabled=environment.gil_enabled())


def _leaf(exc: BaseException) -> BaseException:
    # Trio's nurseries wrap a task's exception in an ExceptionGroup of one: name the task's.
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def main() -> int:
    global _WORKER_PID, _PARENT_PID
    _WORKER_PID, _PARENT_PID = os.getpid(), os.getppid()  # also in a child of the zygote
    signal.signal(signal.SIGTERM, stop_tree)
    # If the parent is killed outright, the kernel sends this worker SIGTERM and the
    # handler takes the worker's whole process group down with it.
    if not procgroup.die_with_parent(signal.SIGTERM):
        return 1
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    try:
        job = json.loads(sys.stdin.readline())
        global _SCRATCH
        _SCRATCH = job.get("scratch")
        paced = sys.stdin if job.get("paced") else None
        case = Case(**job["case"])
        if case.mode == "serve":
            serve_worker.serve(case, job.get("endpoint"), out, job.get("scratch"), sys.stdin)
            # Everything is reported: leave now. A handler thread that hangs (a fault)
            # would otherwise hold the interpreter's exit, which joins pool threads.
            out.flush()
            os._exit(0)
        else:
            measure(case, job.get("endpoint"), out, job.get("scratch"), paced)
    except BaseException as exc:  # reported, then the exit code says it failed
        leaf = _leaf(exc)
        protocol.send(
            out,
            protocol.ERROR,
            type=type(leaf).__qualname__,
            message=str(leaf),
            # The suite's own errors are worded for the reader; others are named by type.
            reason=str(leaf) if isinstance(leaf, SuiteError) else None,
            fields=getattr(leaf, "fields", None) if isinstance(leaf, LostUpdates) else None,
            traceback="".join(traceback.format_exception(exc)),
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
