"""Run the `suite` command as a user would: a real subprocess, this copy of the suite."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: The models whose tasks can share the worker's state or receive data from it: every
#: model but subinterpreters and Dask (and uvloop, which runs as asyncio does).
POOL_AND_LOOP_MODELS = [
    "sequential",
    "asyncio",
    "trio",
    "threads",
    "asyncio+threads",
    "processes",
    "processes-spawn",
    "multiprocessing-pool",
    "asyncio+processes",
]

#: What a worker imports (the report's plotting and statistics stay in the parent).
WORKER_DEPENDENCIES = [
    "pydantic",
    "pyyaml",
    "anyio",
    "psutil",
    "urllib3",
    "aiohttp",
    "pytest",
    "pytest-benchmark",
]


def run_suite(
    *args: str, cwd: Path, timeout: float = 300, check: bool = False
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "suite", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )


def start_suite(*args: str, cwd: Path, log: Path, background: bool = False) -> subprocess.Popen[bytes]:
    """Start `suite` without waiting; its output goes to ``log`` as it is written.

    ``background`` starts it as a non-interactive shell starts ``cmd &``: with SIGINT
    ignored, which the suite must undo for Ctrl-C to work.
    """
    import signal

    def ignore_sigint() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "suite", *args],
            cwd=cwd,
            env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=ignore_sigint if background else None,
        )


def wait_for_text(log: Path, text: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    """Wait until ``text`` appears in ``log``; fail if ``proc`` ends first."""
    import time

    deadline = time.monotonic() + timeout
    while text not in log.read_text(errors="replace"):
        if proc.poll() is not None:
            raise AssertionError(
                f"the suite ended ({proc.returncode}) before printing {text!r}:\n{log.read_text()}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} did not appear within {timeout} s:\n{log.read_text()}")
        time.sleep(0.05)


def alive(pids: Iterable[int]) -> set[int]:
    """Which of ``pids`` still run (zombies waiting for their parent to reap them do not)."""
    import psutil

    running = set()
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                running.add(pid)
        except psutil.NoSuchProcess:
            pass
    return running
