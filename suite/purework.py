"""The tasks of the CPU and waiting kinds as plain functions, importing only the stdlib.

Workloads call these, and so does anything that cannot import the rest of the suite:
a subinterpreter with its own GIL can load no extension module that lacks
subinterpreter support (pydantic's cannot), so it runs exactly these functions.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import signal
import time
from collections.abc import Callable
from typing import Any

_buffers: dict[int, bytes] = {}


def buffer(size: int) -> bytes:
    """The deterministic buffer the hash kind hashes, made once per process (or interpreter)."""
    if size not in _buffers:
        _buffers[size] = random.Random(size).randbytes(size)
    return _buffers[size]


def cpu_task(index: int, iterations: int) -> int:
    # A linear congruential generator: cheap, pure Python, and impossible to skip.
    x = index
    for _ in range(iterations):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
    return x


def hash_task(index: int, size: int, algorithm: str, repeat: int) -> int:
    data = buffer(size)
    digest = hashlib.new(algorithm)
    # The index goes in first so every task hashes a different message.
    digest.update(index.to_bytes(8, "little"))
    for _ in range(repeat):
        digest.update(data)
    raw = digest.digest(16) if algorithm.startswith("shake") else digest.digest()  # type: ignore[call-arg,unused-ignore]
    return int.from_bytes(raw[:8], "little")


def sleep_task(index: int, latency_ms: float) -> int:
    time.sleep(latency_ms / 1000)
    return index


TASKS: dict[str, Callable[..., int]] = {"cpu": cpu_task, "hash": hash_task, "sleep": sleep_task}

#: What ``workload.fault.kind`` can ask for (see :func:`inject`).
FAULT_KINDS = ("raise", "exit", "crash", "hang", "block", "ignore_cancel")
#: The exit code of the ``exit`` fault.
FAULT_EXIT_CODE = 3


class InjectedFault(RuntimeError):
    """The exception of the ``raise`` fault."""


def fault_due(fault: dict[str, Any] | None, index: int) -> bool:
    """Whether task ``index`` must fail now: it is the fault's task, running the first time.

    "First time" holds across processes through a marker file created with ``O_EXCL``
    (``fault["marker"]``): a task that a pool or cluster retries elsewhere runs normally.
    Without a marker the fault fires once per process.
    """
    if fault is None or index != fault["at_task"]:
        return False
    marker = fault.get("marker")
    if marker is None:
        fired = bool(fault.get("fired"))
        fault["fired"] = True
        return not fired
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        return False
    return True


def inject(kind: str, index: int) -> None:
    """Fail the way ``kind`` says, in the calling thread; returns only for unknown kinds."""
    if kind == "raise":
        raise InjectedFault(f"fault injected at task {index} (workload.fault.kind: raise)")
    if kind == "exit":
        os._exit(FAULT_EXIT_CODE)
    if kind == "crash":
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file from this crash
        os.kill(os.getpid(), signal.SIGSEGV)
        time.sleep(60)  # the signal arrives before this ends
    if kind == "hang":
        while True:  # pure Python that never yields, never sleeps
            pass
    if kind == "block":
        time.sleep(24 * 3600)
    if kind == "ignore_cancel":
        while True:
            with contextlib.suppress(BaseException):  # swallowing everything is the point
                time.sleep(3600)


def bind(kind: str, arguments: dict[str, Any], fault: dict[str, Any] | None = None) -> Callable[[int], int]:
    """Task ``kind`` with its arguments fixed: a function of the task index (that first
    fails as ``fault`` says, when one is given)."""
    function = TASKS[kind]
    if fault is None:
        return lambda index: function(index, **arguments)

    def task(index: int) -> int:
        if fault_due(fault, index):
            inject(fault["kind"], index)
        return function(index, **arguments)

    return task
