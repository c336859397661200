"""CPU, context switches and memory of a worker's whole process tree (psutil).

The tree is the worker, its threads and every process it started (pool processes, a
forkserver), so a model is not flattered by work that happens in its children.
"""

from __future__ import annotations

import contextlib
import os
import resource

import psutil


def tree(pid: int | None = None) -> list[psutil.Process]:
    """The process ``pid`` (default: this one) and all its live descendants."""
    try:
        root = psutil.Process(pid or os.getpid())
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:  # it ended (and was reaped: by the zygote that forked it)
        return []


def cpu_counters(pid: int | None = None) -> dict[str, float]:
    """Monotonic CPU and context-switch totals of the tree, for per-round differences."""
    totals = {"cpu_user_s": 0.0, "cpu_sys_s": 0.0, "ctx_voluntary": 0.0, "ctx_involuntary": 0.0}
    for proc in tree(pid):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            with proc.oneshot():
                cpu, ctx = proc.cpu_times(), proc.num_ctx_switches()
            totals["cpu_user_s"] += cpu.user
            totals["cpu_sys_s"] += cpu.system
            totals["ctx_voluntary"] += ctx.voluntary
            totals["ctx_involuntary"] += ctx.involuntary
    return totals


def rss_bytes(pid: int | None = None) -> int:
    """Resident memory of the tree now, summed over its processes (shared pages counted
    in each, as the kernel reports them)."""
    total = 0
    for proc in tree(pid):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += proc.memory_info().rss
    return total


def unique_and_proportional_bytes(pid: int | None = None) -> tuple[int | None, int | None]:
    """USS and PSS of the tree, summed over its processes, where the platform gives them.

    USS counts pages no other process maps; copy-on-write pages a forked child still
    shares with its parent count in neither, so summed USS understates a forked tree.
    PSS splits each shared page between its sharers: summed, it is the tree's footprint.
    """
    uss = pss = 0
    for proc in tree(pid):
        try:
            full = proc.memory_full_info()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if not hasattr(full, "uss"):
            return None, None
        uss += full.uss
        pss += getattr(full, "pss", 0)
    return uss, pss or None


class PeakSampler:
    """Keeps the highest tree RSS seen; :meth:`sample` is called while waiting."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self.samples = 0

    def sample(self) -> None:
        with contextlib.suppress(psutil.Error):
            self.peak = max(self.peak, rss_bytes(self.pid))
            self.samples += 1


def raise_descriptor_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft
