"""The worker program: measures one case and reports over its stdout. Run by the launcher.

It reads a :class:`~suite.cases.Case` as JSON on stdin. Anything the measured code prints
goes to stderr, so stdout carries only protocol messages.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
import traceback
from typing import TextIO

from . import environment, protocol, registry
from .cases import Case
from .models import Runner


def _die_with_parent() -> None:
    # If the parent is killed outright, the kernel kills this worker too (Linux only).
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _rounds(case: Case, runner: Runner, out: TextIO) -> None:
    expected: str | None = None
    for index in range(case.warmup + case.rounds):
        result = runner.run_round(case.tasks)
        if len(result.values) != case.tasks:
            raise RuntimeError(f"round {index} returned {len(result.values)} values for {case.tasks} tasks")
        digest = protocol.checksum(result.values)
        if expected is not None and digest != expected:
            raise RuntimeError(f"checksum changed between rounds: {expected} then {digest}")
        expected = digest
        protocol.send(
            out,
            protocol.ROUND,
            index=index,
            warmup=index < case.warmup,
            duration_s=result.duration_s,
            checksum=digest,
        )


def measure(case: Case, out: TextIO) -> None:
    """Start the case's runner, run its rounds, and report each step on ``out``."""
    protocol.send(out, protocol.HELLO, pid=os.getpid(), env=environment.describe())
    runner_class = registry.runner(case.model)
    reason = runner_class.unavailable_reason()
    if reason is not None:
        protocol.send(out, protocol.UNAVAILABLE, reason=reason)
        return
    workload_class = registry.workload(case.kind)
    workload = workload_class(workload_class.Params.model_validate(case.params))
    runner = runner_class(workload, case.workers)
    try:
        began = time.perf_counter()
        runner.start()
        protocol.send(
            out, protocol.READY, startup_s=time.perf_counter() - began, start_method=runner.start_method
        )
        _rounds(case, runner, out)
    finally:
        runner.close()
    protocol.send(out, protocol.DONE)


def main() -> int:
    _die_with_parent()
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    try:
        measure(Case.from_json(sys.stdin.read()), out)
    except BaseException as exc:  # reported, then the exit code says it failed
        protocol.send(
            out,
            protocol.ERROR,
            type=type(exc).__qualname__,
            message=str(exc),
            traceback="".join(traceback.format_exception(exc)),
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
