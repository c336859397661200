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
