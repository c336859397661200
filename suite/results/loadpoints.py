"""Serve-mode results: throughput and tail latency per load point, and what each model
sustained within the latency objective (SLO)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Info = dict[str, Any]


def is_serve(info: Info) -> bool:
    return info.get("mode") == "serve"


def point_label(info: Info) -> str:
    return str((info.get("load") or {}).get("label", "?"))


def _point_order(infos: Sequence[Info]) -> list[str]:
    """Closed points by connections, then open points by rate."""
    points = {point_label(i): i.get("load") or {} for i in infos}

    def key(label: str) -> tuple[int, float]:
        load = points[label]
        if load.get("mode") == "closed":
            return 0, float(load.get("connections", 0))
        return 1, float(load.get("rate_rps", 0))

    return sorted(points, key=key)


def cell(info: Info) -> str:
    if info.get("status") not in ("ok", "degraded"):
        return str(info.get("status", "?")).upper()
    p99 = (info.get("latency_ms") or {}).get("p99")
    text = f"{info.get('achieved_rps', 0):.0f}/s"
    text += f" p99 {p99:.0f}ms" if p99 is not None else ""
    text += " ~" if info.get("saturated") else ""
    return text + ("!" if info.get("status") == "degraded" else "")


def sustained(infos: Sequence[Info]) -> dict[tuple[str, int], float | None]:
    """Per model and workers: the highest open-loop rate answered in full (95%) within the
    SLO, ``None`` if none was; only for runs with an SLO and open load points."""
    found: dict[tuple[str, int], float | None] = {}
    for info in infos:
        load = info.get("load") or {}
        if load.get("mode") != "open" or info.get("slo_p99_ms") is None:
            continue
        key = (info["model"], info["workers"])
        found.setdefault(key, None)
        if info.get("status") in ("ok", "degraded") and not info.get("saturated") and not info.get("errors"):
            best = found[key]
            found[key] = max(best or 0.0, float(load["rate_rps"]))
    return found


def _grid(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
    return [
        "    " + "  ".join(text.rjust(width) for text, width in zip(r, widths, strict=True)).rstrip()
        for r in [header, *rows]
    ]


def summary_lines(scenario: str, infos: Sequence[Info], model_order: Sequence[str]) -> list[str]:
    """One serve scenario's block in the run summary."""
    first = infos[0]
    slo = next((i.get("slo_p99_ms") for i in infos if i.get("slo_p99_ms")), None)
    fanout = first.get("fanout") or 1
    fanned = f", fanout {fanout}" if fanout > 1 else ""
    lines = [f"{scenario} (serve: {first.get('workload', '?')} handler{fanned})"]
    title = "  achieved requests/s and p99 latency per load point (! errors, ~ saturated: under 95% of"
    title += " the offered rate" + (f" or p99 over the SLO of {slo:g} ms)" if slo else ")")
    lines.append(title)
    points = _point_order(infos)
    keys = sorted(
        {(i["model"], i["workers"]) for i in infos},
        key=lambda k: (model_order.index(k[0]) if k[0] in model_order else len(model_order), k[1]),
    )
    by_key = {(i["model"], i["workers"], point_label(i)): i for i in infos}
    rows = [
        [f"{m} w{w}", *(cell(by_key[(m, w, p)]) if (m, w, p) in by_key else "" for p in points)]
        for m, w in keys
    ]
    lines += _grid(["case", *points], rows)
    rates = sustained(infos)
    if rates:
        held = sorted(rates.items(), key=lambda kv: -(kv[1] or 0))
        text = ", ".join(f"{m} w{w} {r:g}/s" if r else f"{m} w{w} none" for (m, w), r in held)
        lines.append(f"  highest offered rate held within p99 <= {slo:g} ms: {text}")
    for info in infos:
        name = f"{info['model']} w{info['workers']} {point_label(info)}"
        if info.get("status") not in ("ok", "degraded"):
            lines.append(f"  warning: {name}: {info.get('status')}: {info.get('reason')}")
        elif info.get("status") == "degraded":
            lines.append(f"  warning: {name}: degraded: {info.get('reason')}")
    return lines


def score(cases: Sequence[Any]) -> tuple[float, float]:
    """How well one model x workers served, for ranking: the highest open-loop rate it
    held within the SLO (0 if none), then its best closed-loop throughput within the SLO
    (any closed throughput when the scenario has no SLO). ``cases`` are
    :class:`~suite.results.history.Measurement` objects of its load points."""
    held = 0.0
    closed = 0.0
    for m in cases:
        info = m.info
        load = info.get("load") or {}
        if info.get("status") not in ("ok", "degraded"):
            continue
        if load.get("mode") == "open":
            if not info.get("saturated"):
                held = max(held, float(load.get("rate_rps", 0)))
        else:
            p99 = (info.get("latency_ms") or {}).get("p99")
            slo = info.get("slo_p99_ms")
            if slo is None or (p99 is not None and p99 <= slo):
                closed = max(closed, float(info.get("achieved_rps") or 0))
    return held, closed


def best_by_model(cases: Sequence[Any]) -> list[tuple[str, int | None, tuple[float, float]]]:
    """Each model's best worker count and its score, best model first."""
    groups: dict[tuple[str, int | None], list[Any]] = {}
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


def markdown_table(infos: Sequence[Info], model_order: Sequence[str]) -> list[str]:
    """The summary's serve table as Markdown: a row per model and workers, a column per
    load point."""
    points = _point_order(infos)
    keys = sorted(
        {(i["model"], i["workers"]) for i in infos},
        key=lambda k: (model_order.index(k[0]) if k[0] in model_order else len(model_order), k[1] or 0),
    )
    by_key = {(i["model"], i["workers"], point_label(i)): i for i in infos}
    lines = ["| case | " + " | ".join(points) + " |", "|---|" + "---|" * len(points)]
    for m, w in keys:
        cells = [cell(by_key[(m, w, p)]) if (m, w, p) in by_key else "" for p in points]
        lines.append(f"| {m} w{w} | " + " | ".join(cells) + " |")
    return lines
