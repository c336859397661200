"""The tables printed after a run: one block per scenario, readable at a glance."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from suite.results import loadpoints
from suite.results.record import CaseRecord

#: The server used this share of the round in CPU time: it, not the model, may be the limit.
SERVER_BUSY = 0.8
#: From this many tasks per round, the cost per task is worth its own table.
MANY_TASKS = 1000
#: From this much start-up (building pools, clusters), it is worth its own table.
SLOW_STARTUP_S = 0.5

Info = CaseRecord


def fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f}µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f}ms"
    return f"{seconds:.2f}s"


def fmt_bytes(count: float | None) -> str:
    return "-" if not count else f"{count / 2**20:.0f}M"


def _time_cell(info: Info, winner: bool) -> str:
    if info.status not in ("ok", "degraded"):
        return str(info.status).upper()
    parts = [("*" if winner else "") + fmt_time(info.median_s or 0.0)]
    if info.speedup:
        parts.append(f"x{info.speedup:.2f}")
    if info.efficiency:
        parts.append(f"{info.efficiency:.0%}")
    return " ".join(parts) + ("!" if info.status == "degraded" else "")


def _marked_time_cell(info: Info, best: Info | None) -> str:
    return _time_cell(info, info is best)


def _cost_cell(info: Info) -> str:
    if info.status not in ("ok", "degraded"):
        return "-"
    cpu = (info.cpu_user_s or 0) + (info.cpu_sys_s or 0)
    # The kernel counts CPU time in clock ticks (10 ms here).
    cpu_text = fmt_time(cpu) if cpu >= 0.01 else "<10ms"
    parallel = f" ∥{info.parallelism:.1f}" if info.parallelism is not None else ""
    # PSS where there is one: summed RSS counts each page a forked pool shares once per process.
    memory = info.pss_bytes or info.peak_rss_bytes
    return f"{cpu_text}{parallel} {fmt_bytes(memory)}"


def _startup_cell(info: Info) -> str:
    return "-" if info.startup_s is None else fmt_time(info.startup_s)


def _per_task_cell(info: Info) -> str:
    return "-" if info.status not in ("ok", "degraded") else f"{info.us_per_task:.1f}µs"


def table(title: str, infos: Sequence[Info], cell: Callable[[Info], str], models: Sequence[str]) -> list[str]:
    """Rows = workers, columns = models; ``cell`` renders one case."""
    by_key = {(i.workers, i.model): i for i in infos}
    workers = sorted({i.workers for i in infos}, key=lambda w: w or 0)
    header = ["workers", *models]
    rows = [[str(w), *(cell(by_key[(w, m)]) if (w, m) in by_key else "" for m in models)] for w in workers]
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return (
            "    " + "  ".join(text.rjust(width) for text, width in zip(cells, widths, strict=True)).rstrip()
        )

    return [title, line(header), *map(line, rows)]


#: Less CPU per round than this (ten of the kernel's 10 ms ticks) says nothing about parallelism.
MEASURABLE_CPU_S = 0.1
#: A case that kept at least this many cores busy ...
BUSY_CORES = 1.5
#: ... yet turned less than this share of them into speedup spent its CPU on something
#: other than the work: contention (shared objects, locks, caches) or overhead.
USEFUL_SHARE = 0.6


def _cpu(info: Info) -> float:
    return float((info.cpu_user_s or 0) + (info.cpu_sys_s or 0))


def busy_not_faster(info: Info, baseline: Info | None) -> str | None:
    """Why a case that kept several cores busy was hardly faster, in numbers, or ``None``.

    Parallelism near the core count says the cores worked; speedup says how much of that
    was the task's own work. When the second is far below the first, the same work cost
    more CPU than in the baseline.
    """
    parallelism, speedup = info.parallelism, info.speedup
    if info.model == "sequential" or not parallelism or not speedup or info.status != "ok":
        return None
    if parallelism < BUSY_CORES or speedup >= USEFUL_SHARE * parallelism:
        return None
    # The kernel counts CPU in 10 ms ticks: a round of a few ticks has no parallelism to speak of.
    if _cpu(info) < MEASURABLE_CPU_S or parallelism > (info.usable_cpus or parallelism) + 0.5:
        return None
    text = f"{parallelism:.1f} cores busy but only x{speedup:.2f} faster"
    if baseline is not None and _cpu(baseline) > 0 and _cpu(info) > 0:
        text += (
            f": the same work took {fmt_time(_cpu(info))} of CPU against {fmt_time(_cpu(baseline))} "
            f"sequentially ({_cpu(info) / _cpu(baseline):.1f}x)"
        )
    return text + "; the extra CPU went to contention or overhead, not to the work"


#: Without a sequential case: pickling a round's data took at least this share of the round.
TRANSFER_SHARE = 0.5


def transfer_dominated(info: Info, baseline: Info | None = None) -> str | None:
    """Whether moving the tasks' data (``payload``), not the work, dominated a round, in
    numbers: pickling it once (a lower bound of the move) took longer than each worker's
    share of the work (the sequential round over the workers). ``None`` when it did not
    or was not measured."""
    moved, median_s, workers = info.serialize_s, info.median_s, info.workers or 1
    if not moved or not median_s:
        return None
    if baseline is not None and baseline.median_s:
        share = baseline.median_s / workers
        if moved < share:
            return None
        return (
            f"pickling the round's data once took {fmt_time(moved)}, more than each worker's share "
            f"of the work ({fmt_time(share)}, the sequential round over {workers} workers): moving "
            "data, not the work, dominated"
        )
    if moved < TRANSFER_SHARE * median_s:
        return None
    return (
        f"pickling the round's data once took {fmt_time(moved)} of its {fmt_time(median_s)} median "
        "(and the pool also unpickles and copies it): moving data, not the work, dominated"
    )


#: A sequential case at this parallelism or more already ran in parallel by itself.
SELF_PARALLEL = 1.3


def multithreaded_work(baseline: Info | None) -> str | None:
    """Whether the work itself runs in parallel (a native pool in the sequential case)."""
    if baseline is None or (baseline.parallelism or 0) < SELF_PARALLEL or _cpu(baseline) < MEASURABLE_CPU_S:
        return None
    pools = baseline.native_threads or {}
    named = f" ({', '.join(f'{k} {v} threads' for k, v in pools.items())})" if pools else ""
    return (
        f"the work itself is multithreaded{named}: sequential kept ∥{baseline.parallelism:.1f} cores "
        "busy, so a speedup over sequential is not a measure of the model"
    )


def oversubscribed(info: Info) -> str | None:
    """Whether the case's workers times each one's native threads exceed the usable CPUs."""
    pools, cpus, workers = info.native_threads or {}, info.usable_cpus, info.workers or 1
    if not pools or not cpus or info.model == "sequential":
        return None
    per_worker = max(pools.values())
    if workers * per_worker <= cpus:
        return None
    return (
        f"oversubscribed: {workers} workers x {per_worker} native threads each = {workers * per_worker} "
        f"threads on {cpus} usable CPUs (native_threads: auto gives each worker {max(1, cpus // workers)})"
    )


def warnings(infos: Sequence[Info]) -> list[str]:
    notes = []
    baseline = next((i for i in infos if i.model == "sequential" and i.status == "ok"), None)
    itself = multithreaded_work(baseline)
    if itself:
        notes.append(itself)
    for info in infos:
        name = f"{info.model} w{info.workers}"
        if info.status not in ("ok", "degraded"):
            notes.append(f"{name}: {info.status}: {info.reason}")
            continue
        if info.status == "degraded":
            notes.append(f"{name}: degraded: {info.reason}")
        if info.unstable:
            notes.append(
                f"{name}: unstable rounds (cv {info.cv:.0%}); rerun with more rounds or a quieter machine"
            )
        if info.free_threaded and info.gil_enabled:
            notes.append(
                f"{name}: the GIL was on in this free-threaded build (PYTHON_GIL=1, or an imported "
                "extension module without free-threading support turned it back on)"
            )
        crowded = oversubscribed(info)
        if crowded:
            notes.append(f"{name}: {crowded}")
        moved = transfer_dominated(info, baseline)
        if moved:
            notes.append(f"{name}: {moved}")
        why = busy_not_faster(info, baseline)
        if why:
            notes.append(f"{name}: {why}")
        busy = info.server_cpu_s
        if busy and info.median_s and busy / info.median_s >= SERVER_BUSY:
            share = busy / info.median_s
            notes.append(
                f"{name}: the server was busy {share:.0%} of the round: it may be the limit, not the model"
            )
    return notes


def render(infos: Sequence[Info], model_order: Sequence[str], server_order: Sequence[str] = ()) -> list[str]:
    """Every scenario's tables and warnings, as lines."""
    lines: list[str] = []
    several = len({i.interpreter for i in infos}) > 1
    keys = dict.fromkeys((i.scenario, i.interpreter, i.side) for i in infos)
    for scenario, interpreter, side in keys:
        everything = [
            i for i in infos if (i.scenario, i.interpreter, i.side) == (scenario, interpreter, side)
        ]
        if any(i.serve for i in everything):
            lines += ["", *loadpoints.summary_lines(str(scenario), everything, server_order)]
            continue
        # Models that cannot run here get one line, not a column of empty cells.
        cases = [i for i in everything if i.status != "unavailable"]
        unavailable = {i.model: i.reason for i in everything if i.status == "unavailable"}
        if not cases:
            lines += ["", f"{scenario}: no model could run here"]
            lines += [f"  not run here: {model}: {reason}" for model, reason in unavailable.items()]
            continue
        models = [m for m in model_order if any(i.model == m for i in cases)]
        measured = [i for i in cases if i.status in ("ok", "degraded")]
        best = min(measured, key=lambda i: i.median_s or 0.0, default=None)
        kind, tasks = cases[0].workload or "?", cases[0].tasks or 0
        on = (f" on {interpreter}" if several else "") + (f", side {side}" if side else "")
        lines += ["", f"{scenario} ({kind}, {tasks} tasks per round){on}"]
        lines += table(
            "  median round, x speedup over sequential, % of the ideal (* fastest, ! with errors)",
            cases,
            functools.partial(_marked_time_cell, best=best),
            models,
        )
        lines += table(
            "  CPU per round of the whole process tree, ∥ parallelism, memory (PSS)",
            cases,
            _cost_cell,
            models,
        )
        if tasks >= MANY_TASKS:
            lines += table("  cost per task", cases, _per_task_cell, models)
        if max((i.startup_s or 0 for i in measured), default=0) >= SLOW_STARTUP_S:
            lines += table(
                "  start-up (pool, loop or cluster; never inside a round)", cases, _startup_cell, models
            )
        lines += [f"  not run here: {model}: {reason}" for model, reason in unavailable.items()]
        lines += how_measured(measured)
        lines += [f"  warning: {note}" for note in warnings(cases)]
    return lines


def how_measured(infos: Sequence[Info]) -> list[str]:
    """Whether the rounds ran side by side (interleaved) and which cases ran alone, and why."""
    side_by_side = [i for i in infos if i.interleaved]
    notes = []
    if side_by_side:
        paired = any(i.paired and i.model != "sequential" for i in side_by_side)
        notes.append(
            f"  rounds: {len(side_by_side)} cases side by side, one round each per cycle in shuffled order"
            + ("; speedups are the median of each cycle's ratio to sequential" if paired else "")
        )
    notes += [f"  ran alone: {i.model} w{i.workers}: {i.alone_reason}" for i in infos if i.alone_reason]
    return notes
