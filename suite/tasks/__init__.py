"""The work itself: every kind's task as a plain function, importing only the stdlib.

Workloads (:mod:`suite.workloads`) call these, and so does anything that cannot import
the rest of the suite: a subinterpreter with its own GIL can load no extension module
that lacks subinterpreter support (pydantic's cannot), so it runs exactly these
functions. This package imports nothing but the standard library, and nothing of the
suite.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import signal
import time
import zlib
from collections.abc import Callable
from typing import Any

_buffers: dict[int, bytes] = {}


def buffer(size: int) -> bytes:
    """The deterministic buffer the hash kind hashes, made once per process (or interpreter)."""
    if size not in _buffers:
        _buffers[size] = random.Random(size).randbytes(size)
    return _buffers[size]


def cpu_task(index: int, iterations: int, constants: str = "shared") -> int:
    # A linear congruential generator: cheap, pure Python, and impossible to skip.
    if constants == "local":
        return _cpu_task_local(index, iterations)
    x = index
    for _ in range(iterations):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
    return x


def _cpu_task_local(index: int, iterations: int) -> int:
    """The same loop and value, on objects this call made itself.

    The literals of :func:`cpu_task` are objects of its code, shared by every thread that
    runs it; each use changes their reference count. On a free-threaded build, counts of
    objects another thread owns are updated atomically, and two cores writing the same
    cache line take turns. Here each task makes its own constants (``int()`` of a string
    builds a new object), so nothing the loop touches is shared.
    """
    a, c, m = int("1103515245"), int("12345"), int("2147483647")
    x = index
    for _ in range(iterations):
        x = (x * a + c) & m
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


_texts: dict[int, bytes] = {}


def text(size: int) -> bytes:
    """Deterministic text of ``size`` bytes that compresses like prose (words drawn from
    a small vocabulary), made once per process (or interpreter)."""
    if size not in _texts:
        rng = random.Random(f"text:{size}")
        letters = "etaoinshrdlcumwfgypbvkjxqz"
        words = ["".join(rng.choices(letters, k=rng.randint(2, 9))).encode() for _ in range(600)]
        chunk = b" ".join(rng.choices(words, k=4096)) + b"\n"
        _texts[size] = (chunk * (size // len(chunk) + 1))[:size]
    return _texts[size]


def compress_task(index: int, size: int, algorithm: str, level: int) -> int:
    # The index goes in first so every task compresses a different message.
    data = index.to_bytes(8, "little") + text(size)
    if algorithm == "zlib":
        packed = zlib.compress(data, level)
    else:
        import lzma

        packed = lzma.compress(data, preset=level)
    return zlib.crc32(packed)


def file_task(index: int, folder: str, size: int, fsync: bool) -> int:
    """Write a file of ``size`` bytes, read it back, delete it: real file-system calls."""
    path = os.path.join(folder, f"task-{index}.bin")
    with open(path, "wb") as fh:
        fh.write(index.to_bytes(8, "little"))
        fh.write(text(size))
        if fsync:
            fh.flush()
            os.fsync(fh.fileno())
    with open(path, "rb") as fh:
        data = fh.read()
    os.unlink(path)
    return zlib.crc32(data)


_targets: dict[str, Callable[..., Any]] = {}


def resolve(target: str, path: list[str] | tuple[str, ...] = ()) -> Callable[..., Any]:
    """The object named ``module:qualified.name``, imported with ``path`` on sys.path."""
    if target not in _targets:
        import importlib
        import sys

        for folder in reversed(path):
            if folder not in sys.path:
                sys.path.insert(0, folder)
        module_name, _, qualname = target.partition(":")
        found: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            found = getattr(found, part)
        _targets[target] = found
    return _targets[target]


def fold(value: object) -> int:
    """A task's return value as an int for the checksum: ints as they are, anything
    else by a digest of its repr (equal values give equal digests in every process)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int.from_bytes(hashlib.sha256(repr(value).encode()).digest()[:8], "little")


def call_arguments(
    index: int, args: list[Any], kwargs: dict[str, Any], index_arg: str | None
) -> tuple[list[Any], dict[str, Any]]:
    return args, ({**kwargs, index_arg: index} if index_arg else kwargs)


def callable_task(
    index: int,
    target: str,
    path: list[str],
    args: list[Any],
    kwargs: dict[str, Any],
    index_arg: str | None,
) -> int:
    function = resolve(target, path)
    positional, keywords = call_arguments(index, args, kwargs, index_arg)
    return fold(function(*positional, **keywords))


def sleep_task(index: int, latency_ms: float) -> int:
    time.sleep(latency_ms / 1000)
    return index


def mixed_task(index: int, latency_ms: float, iterations: int) -> int:
    """Wait (a database call, say), then compute (render the answer): holds the GIL for
    the second part only."""
    time.sleep(latency_ms / 1000)
    return cpu_task(index, iterations)


TASKS: dict[str, Callable[..., int]] = {
    "cpu": cpu_task,
    "hash": hash_task,
    "sleep": sleep_task,
    "mixed": mixed_task,
    "compress": compress_task,
    "file": file_task,
    "callable": callable_task,
}

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
