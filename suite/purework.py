"""The tasks of the CPU and waiting kinds as plain functions, importing only the stdlib.

Workloads call these, and so does anything that cannot import the rest of the suite:
a subinterpreter with its own GIL can load no extension module that lacks
subinterpreter support (pydantic's cannot), so it runs exactly these functions.
"""

from __future__ import annotations

import hashlib
import random
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


def bind(kind: str, arguments: dict[str, Any]) -> Callable[[int], int]:
    """Task ``kind`` with its arguments fixed: a function of the task index."""
    function = TASKS[kind]
    return lambda index: function(index, **arguments)
