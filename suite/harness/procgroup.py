"""Process groups: who is still running in one, and how to stop all of them.

Workers and servers run in sessions of their own, so a worker, its threads and every
process it started (pool processes, a forkserver, multiprocessing's resource tracker)
can be stopped together by signalling the group.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import time
from typing import Protocol

#: How long a group that was sent SIGTERM may take to exit before SIGKILL. The
#: resource tracker needs a moment after the others have gone to unlink semaphores.
KILL_GRACE_S = 2.0
#: The environment variable in which a parent gives a child its process id.
PARENT_ENV = "SUITE_PARENT_PID"


def die_with_parent(sig: int = signal.SIGTERM) -> bool:
    """Have the kernel send ``sig`` to this process when its parent dies (Linux).

    Returns ``False`` if the parent is already gone (this process was re-parented),
    in which case the caller should exit. The parent names itself in :data:`PARENT_ENV`
    (see :func:`child_env`), so a death before this call is noticed too.
    """
    parent = int(os.environ.get(PARENT_ENV) or os.getppid())
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, sig)  # PR_SET_PDEATHSIG
    return os.getppid() == parent


def child_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's) for a child that calls :func:`die_with_parent`."""
    return {**(os.environ if env is None else env), PARENT_ENV: str(os.getpid())}


def live_members(pgid: int) -> list[int] | None:
    """Live (not zombie) processes in group ``pgid`` from /proc; ``None`` without /proc."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    members = []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue  # exited while we looked
        if int(fields[2]) == pgid and fields[0] != b"Z":
            members.append(int(entry))
    return members


def group_alive(pgid: int) -> bool:
    """Whether any process of group ``pgid`` is still running (zombies waiting to be reaped
    do not count: some init processes reap orphans only every second or two)."""
    members = live_members(pgid)
    if members is not None:
        return bool(members)
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def wait_group(pgid: int, timeout_s: float) -> bool:
    """Wait until group ``pgid`` is empty; ``False`` if it is not after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while group_alive(pgid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True


class Process(Protocol):
    """What :func:`stop_group` needs of a process: a :class:`subprocess.Popen`, or a worker
    the zygote forked."""

    @property
    def pid(self) -> int: ...

    def wait(self, timeout: float | None = None) -> int: ...


def stop_group(proc: Process, grace_s: float = KILL_GRACE_S) -> None:
    """Stop ``proc`` (a group leader) and everything in its group: SIGTERM, then SIGKILL
    for whatever is still running after ``grace_s``. Returns once the group is empty
    (orphans reaped), or after a bounded wait."""
    pgid = proc.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    if not wait_group(pgid, grace_s):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
    proc.wait()
    wait_group(pgid, 5.0)


def pin(pid: int, cpu: int) -> bool:
    """Hold process ``pid``, every thread of it and of its descendants, on CPU ``cpu``.

    Linux sets affinity per thread: pinning the pid alone would leave threads that
    already run (a loop's helpers, a pool's) where they were. Returns ``False`` where
    affinity cannot be set (not Linux, or the process is gone).
    """
    import psutil

    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return False
    pinned = False
    for process in processes:
        try:
            threads = [t.id for t in process.threads()]
        except psutil.Error:
            continue
        for tid in threads:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(tid, {cpu})
                pinned = True
    return pinned
