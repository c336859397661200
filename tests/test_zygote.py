"""The zygote: a pre-imported process that forks each case's worker, and its fallbacks."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from suite.harness import executables, launcher, procgroup, zygote
from suite.spec.cases import Case

# The fast lane (-m 'not slow') leaves this module out: every test starts processes.
pytestmark = pytest.mark.slow

CASE = Case(
    scenario="t",
    model="threads",
    workers=2,
    kind="cpu",
    params={"tasks": 8, "iterations": 3000},
    rounds=2,
    warmup=1,
    timeout_s=30,
)


def parent_of_worker(case: Case) -> tuple[int, Any]:
    """The parent pid of the case's worker (seen while it runs), and the case's result."""
    parents: list[int] = []

    def seen(event: dict[str, Any]) -> None:
        if event["event"] == "hello":
            parents.append(psutil.Process(event["pid"]).ppid())

    result = launcher.run_case(case, on_event=seen)
    return parents[0], result


@contextlib.contextmanager
def started() -> Iterator[launcher.Worker]:
    """A worker waiting for its job; at the end its pipes closed and it reaped."""
    with tempfile.TemporaryFile() as err:
        proc = launcher.start_worker(sys.executable, {}, err)
        assert proc.stdin is not None
        assert proc.stdout is not None
        try:
            yield proc
        finally:
            proc.stdin.close()
            proc.wait(timeout=30)
            proc.stdout.close()


def test_a_forked_worker_does_the_work_of_one_started_from_scratch(monkeypatch: pytest.MonkeyPatch) -> None:
    forked_parent, forked = parent_of_worker(CASE)
    assert forked_parent in zygote.pids()
    assert parent_of_worker(CASE)[0] == forked_parent  # one zygote for every case (and test)
    monkeypatch.setenv(zygote.SWITCH_ENV, "0")
    fresh_parent, fresh = parent_of_worker(CASE)
    assert fresh_parent == os.getpid()
    assert forked.checksum == fresh.checksum
    assert forked.env["python"] == fresh.env["python"]


def test_a_forked_worker_killed_by_a_signal_says_so() -> None:
    with started() as proc:
        assert isinstance(proc, zygote.Forked)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
        assert launcher.exit_reason(proc.returncode) == "killed by signal SIGKILL"


def test_with_the_zygote_switched_off_a_worker_starts_from_scratch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(zygote.SWITCH_ENV, "0")
    with started() as proc:
        assert isinstance(proc, subprocess.Popen)


def test_a_zygote_with_a_thread_refuses_and_cases_start_from_scratch(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(
        "import threading, time\nthreading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
    )
    base = procgroup.child_env(executables.worker_env(sys.executable))
    path = os.pathsep.join(p for p in (str(tmp_path), base.get("PYTHONPATH", "")) if p)
    threaded = zygote.Zygote(sys.executable, {**base, "PYTHONPATH": path})
    try:
        assert threaded.refused is not None
        assert "threads after importing the suite" in threaded.refused
        assert not threaded.alive
        assert threaded.proc.wait(timeout=10) == 0
    finally:
        threaded.close()


def test_what_changes_from_case_to_case_makes_no_new_zygote(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zygote, "_zygotes", {})
    base = procgroup.child_env(executables.worker_env(sys.executable))
    try:
        first = zygote.for_python(sys.executable, {**base, "PYTEST_CURRENT_TEST": "a"})
        assert zygote.for_python(sys.executable, {**base, "PYTEST_CURRENT_TEST": "b"}) is first
        assert zygote.for_python(sys.executable, {**base, "PYTHONHASHSEED": "1"}) is not first
    finally:
        zygote.close_all()


def test_idle_zygotes_beyond_the_limit_are_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zygote, "MAX_ZYGOTES", 1)
    monkeypatch.setattr(zygote, "_zygotes", {})
    base = procgroup.child_env(executables.worker_env(sys.executable))
    first = zygote.for_python(sys.executable, {**base, "SUITE_TEST_ENV": "1"})
    second = zygote.for_python(sys.executable, {**base, "SUITE_TEST_ENV": "2"})
    try:
        assert first is not None
        assert second is not None
        assert first.proc.wait(timeout=10) is not None
        assert zygote.pids() == {second.proc.pid}
    finally:
        zygote.close_all()
    assert not second.alive


def kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        return next(int(line.split()[1]) for line in rollup if line.startswith(field + ":"))


def test_a_worker_a_zygote_forked_holds_its_memory_as_its_own() -> None:
    """Pages the worker still shared with its zygote would count half in its PSS, where a
    worker started from scratch holds them alone: it makes its own copies first thing."""
    with started() as proc:
        for _ in range(100):
            shared, private = kib(proc.pid, "Shared_Dirty"), kib(proc.pid, "Private_Dirty")
            if shared < private / 4:
                break
            time.sleep(0.05)
        assert shared < private / 4, f"{shared} kB shared with the zygote, {private} kB its own"


def test_a_zygote_outlives_no_run(tmp_path: Path) -> None:
    """A run that forked workers leaves no zygote behind when it ends."""
    script = tmp_path / "run.py"
    script.write_text(
        "import sys, tempfile\n"
        "from suite.harness import launcher, zygote\n"
        "with tempfile.TemporaryFile() as err:\n"
        "    proc = launcher.start_worker(sys.executable, {}, err)\n"
        "    proc.stdin.close(); proc.wait(timeout=30)\n"
        "print(*zygote.pids())\n"
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    (pid,) = (int(p) for p in out.stdout.split())
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
