"""Serve-mode results: throughput and tail latency per load point, and what each model
sustained within the latency objective (SLO)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from suite.results.record import CaseRecord

if TYPE_CHECKING:
    from suite.results.history import Measurement


def point_label(record: CaseRecord) -> str:
    return record.point or "?"


def _point_order(records: Sequence[CaseRecord]) -> list[str]:
    """Closed points by connections, then open points by rate."""
    ranks = {point_label(r): r.load.rank if r.load else (1, 0.0) for r in records}
    return sorted(ranks, key=lambda label: ranks[label])


def cell(record: CaseRecord) -> str:
    if not record.measured:
        return record.status.upper()
    p99 = record.p99_ms()
    text = f"{record.achieved_rps or 0:.0f}/s"
    text += f" p99 {p99:.0f}ms" if p99 is not None else ""
    text += " ~" if record.saturated else ""
    return text + ("!" if record.status == "degraded" else "")


def cpu_per_request_ms(record: CaseRecord, backend: bool = False) -> float | None:
    """The server's CPU per answered request, in ms: its whole process tree's CPU over the
    warm-up and the window, over the requests answered at the window's rate in that time.
    What a server costs per request beyond the handler's own work (the kernel's 10 ms
    ticks are a few microseconds a request at these rates)."""
    cpu = record.backend_cpu_s if backend else record.server_cpu_s
    if not record.measured or record.load is None or not record.achieved_rps or cpu is None:
        return None
    seconds = (record.load.duration_s or 0.0) + (record.load.warmup_s or 0.0)
    answered = record.achieved_rps * seconds
    return 1000 * cpu / answered if answered else None


def _cpu_cell(record: CaseRecord) -> str:
    ms = cpu_per_request_ms(record)
    behind = cpu_per_request_ms(record, backend=True)
    if ms is None:
        return ""
    return f"{ms:.2f}" + (f" +{behind:.2f}" if behind is not None else "")


def sustained(records: Sequence[CaseRecord]) -> dict[tuple[str, int], float | None]:
    """Per model and workers: the highest open-loop rate answered in full (95%) within the
    SLO, ``None`` if none was; only for runs with an SLO and open load points."""
    found: dict[tuple[str, int], float | None] = {}
    for record in records:
        load = record.load
        if load is None or load.mode != "open" or record.slo_p99_ms is None:
            continue
        key = (str(record.model), record.workers or 0)
        found.setdefault(key, None)
        if record.measured and not record.saturated and not record.errors:
            best = found[key]
            found[key] = max(best or 0.0, float(load.rate_rps or 0))
    return found


def _grid(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
    return [
        "    " + "  ".join(text.rjust(width) for text, width in zip(r, widths, strict=True)).rstrip()
        for r in [header, *rows]
    ]


def _case_order(records: Sequence[CaseRecord], model_order: Sequence[str]) -> list[tuple[str, int]]:
    """Each model and worker count, in the models' order."""
    return sorted(
        {(str(r.model), r.workers or 0) for r in records},
        key=lambda k: (model_order.index(k[0]) if k[0] in model_order else len(model_order), k[1]),
    )


def _by_case(records: Sequence[CaseRecord]) -> dict[tuple[str, int, str], CaseRecord]:
    return {(str(r.model), r.workers or 0, point_label(r)): r for r in records}


def summary_lines(scenario: str, records: Sequence[CaseRecord], model_order: Sequence[str]) -> list[str]:
    """One serve scenario's block in the run summary."""
    first = records[0]
    slo = next((r.slo_p99_ms for r in records if r.slo_p99_ms), None)
    fanout = first.fanout or 1
    fanned = f", fanout {fanout}" if fanout > 1 else ""
    lines = [f"{scenario} (serve: {first.workload or '?'} handler{fanned})"]
    title = "  achieved requests/s and p99 latency per load point (! errors, ~ saturated: under 95% of"
    title += " the offered rate" + (f" or p99 over the SLO of {slo:g} ms)" if slo else ")")
    lines.append(title)
    points = _point_order(records)
    by_key = _by_case(records)
    rows = [
        [f"{m} w{w}", *(cell(by_key[(m, w, p)]) if (m, w, p) in by_key else "" for p in points)]
        for m, w in _case_order(records, model_order)
    ]
    lines += _grid(["case", *points], rows)
    costs = [
        [f"{m} w{w}", *(_cpu_cell(by_key[(m, w, p)]) if (m, w, p) in by_key else "" for p in points)]
        for m, w in _case_order(records, model_order)
    ]
    if any(any(c) for c in (row[1:] for row in costs)):
        title = "  the server's CPU per answered request, ms (all its processes; warm-up included)"
        if any(r.backend_cpu_s is not None for r in records):
            title += "; + the backend's behind the handler (database, HTTP server)"
        lines.append(title)
        lines += _grid(["case", *points], costs)
    rates = sustained(records)
    if rates and slo:
        held = sorted(rates.items(), key=lambda kv: -(kv[1] or 0))
        text = ", ".join(f"{m} w{w} {r:g}/s" if r else f"{m} w{w} none" for (m, w), r in held)
        lines.append(f"  highest offered rate held within p99 <= {slo:g} ms: {text}")
    for record in records:
        name = f"{record.model} w{record.workers} {point_label(record)}"
        if not record.measured:
            lines.append(f"  warning: {name}: {record.status}: {record.reason}")
        elif record.status == "degraded":
            lines.append(f"  warning: {name}: degraded: {record.reason}")
    return lines


def score(cases: Sequence[Measurement]) -> tuple[float, float]:
    """How well one model x workers served, for ranking: the highest open-loop rate it
    held within the SLO (0 if none), then its best closed-loop throughput within the SLO
    (any closed throughput when the scenario has no SLO), over its load points."""
    held = 0.0
    closed = 0.0
    for m in cases:
        record = m.record
        if not record.measured or record.load is None:
            continue
        if record.load.mode == "open":
            if not record.saturated:
                held = max(held, float(record.load.rate_rps or 0))
        else:
            p99, slo = record.p99_ms(), record.slo_p99_ms
            if slo is None or (p99 is not None and p99 <= slo):
                closed = max(closed, float(record.achieved_rps or 0))
    return held, closed


def best_by_model(cases: Sequence[Measurement]) -> list[tuple[str, int | None, tuple[float, float]]]:
    """Each model's best worker count and its score, best model first."""
    groups: dict[tuple[str, int | None], list[Measurement]] = {}
    for m in cases:
        groups.setdefault((m.model, m.workers), []).append(m)
    best: dict[str, tuple[int | None, tuple[float, float]]] = {}
    for (model, workers), mine in groups.items():
        s = score(mine)
        if model not in best or s > best[model][1]:
            best[model] = (workers, s)
    return sorted(((m, w, s) for m, (w, s) in best.items()), key=lambda row: row[2], reverse=True)


def describe(model: str, workers: int | None, s: tuple[float, float], slo: float | None) -> str:
    who = f"{model} ({workers} workers)" if workers and model != "sequential" else model
    parts = []
    if s[0]:
        parts.append(f"held {s[0]:g} req/s" + (f" within p99 {slo:g} ms" if slo else ""))
    if s[1]:
        parts.append(f"{s[1]:.0f} req/s closed-loop")
    return f"{who}, " + ("; ".join(parts) if parts else "met the SLO at no load point")


def tied_with(winner: tuple[float, float], other: tuple[float, float]) -> bool:
    """Not clearly beaten: the same highest held rate (the rates are a coarse grid) and
    closed-loop throughput within 10%."""
    return other[0] == winner[0] and other[1] >= 0.9 * winner[1]


def markdown_table(records: Sequence[CaseRecord], model_order: Sequence[str]) -> list[str]:
    """The summary's serve table as Markdown: a row per model and workers, a column per
    load point."""
    points = _point_order(records)
    by_key = _by_case(records)
    lines = ["| case | " + " | ".join(points) + " |", "|---|" + "---|" * len(points)]
    for m, w in _case_order(records, model_order):
        cells = [cell(by_key[(m, w, p)]) if (m, w, p) in by_key else "" for p in points]
        lines.append(f"| {m} w{w} | " + " | ".join(cells) + " |")
    return lines
