"""``suite report``: plots (PNG and SVG) and one self-contained HTML file.

The HTML has no scripts and loads nothing: every chart is inline SVG, so the file can be
mailed, archived or opened offline.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

from . import registry
from .compare import Table, compare
from .history import Measurement, Run
from .saving import write_atomic

FANOUT_KINDS = ("http", "sleep")


@dataclass(frozen=True)
class Chart:
    scenario: str
    slug: str
    title: str
    figure: Figure


DASHES = ("-", "--", ":", "-.")


def colour(model: str) -> str:
    """The same colour for a model in every chart."""
    known = list(registry.runners())
    index = known.index(model) if model in known else len(known) + sum(map(ord, model))
    return f"C{index % 10}" if index < 10 else f"tab:{('olive', 'cyan', 'brown', 'pink')[index % 4]}"


def _plain_ticks(axis: Axis) -> None:
    # Log axes: ticks at 1, 2 and 5 of each decade, written as plain numbers.
    formatter = ScalarFormatter()
    formatter.set_scientific(False)
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(formatter)
    axis.set_minor_formatter(NullFormatter())


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _by_scenario(run: Run) -> dict[str, list[Measurement]]:
    grouped: dict[str, list[Measurement]] = {}
    for m in run.measurements:
        grouped.setdefault(m.scenario, []).append(m)
    return grouped


def speedup_chart(scenario: str, cases: Sequence[Measurement]) -> Chart | None:
    base = next((m for m in cases if m.model == "sequential"), None)
    lines: dict[str, list[tuple[int, float]]] = {}
    for m in cases:
        speedup = m.info.get("speedup") or (base.median / m.median if base and m.median else None)
        if m.model != "sequential" and m.workers is not None and speedup:
            lines.setdefault(m.model, []).append((m.workers, float(speedup)))
    if not lines:
        return None
    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.subplots()
    for model, points in lines.items():
        points.sort()
        ax.plot([w for w, _ in points], [s for _, s in points], marker="o", label=model, color=colour(model))
    ax.axhline(1, color="grey", linewidth=0.8, linestyle="--")
    ax.set_xscale("log", base=2)
    levels = sorted({w for points in lines.values() for w, _ in points})
    ax.set_xticks(levels, [str(w) for w in levels])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("workers")
    ax.set_ylabel("speedup over sequential")
    ax.set_title(f"{scenario}: speedup vs workers")
    ax.legend(fontsize="small")
    return Chart(scenario, f"{_slug(scenario)}-speedup", "Speedup vs workers", fig)


def cdf_chart(scenario: str, cases: Sequence[Measurement]) -> Chart | None:
    curves = [m for m in cases if m.info.get("task_cdf_ms")]
    if not curves or cases[0].info.get("workload") not in FANOUT_KINDS:
        return None
    levels = sorted({m.workers or 0 for m in curves})
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    for m in curves:
        cdf = m.info["task_cdf_ms"]
        ax.plot(
            cdf,
            [k / (len(cdf) - 1) for k in range(len(cdf))],
            label=m.label,
            color=colour(m.model),
            linestyle=DASHES[levels.index(m.workers or 0) % len(DASHES)],
        )
    ax.set_xscale("log")
    _plain_ticks(ax.xaxis)
    ax.set_xlabel("task latency (ms)")
    ax.set_ylabel("fraction of tasks")
    ax.set_title(f"{scenario}: latency distribution")
    ax.legend(fontsize="small")
    return Chart(scenario, f"{_slug(scenario)}-latency-cdf", "Latency distribution (CDF)", fig)


def history_chart(scenario: str, runs: Sequence[Run]) -> Chart | None:
    series: dict[str, list[tuple[int, float]]] = {}
    for index, run in enumerate(runs):
        for m in run.measurements:
            if m.scenario == scenario:
                series.setdefault(m.label, []).append((index, m.median))
    if len(runs) < 2 or not series:
        return None
    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.subplots()
    styles: dict[str, int] = {}
    for label, points in series.items():
        model = label.rsplit("-w", 1)[0]
        dash = DASHES[styles.setdefault(model, 0) % len(DASHES)]
        styles[model] += 1
        ax.plot(
            [i for i, _ in points],
            [m * 1000 for _, m in points],
            marker="o",
            label=label,
            color=colour(model),
            linestyle=dash,
        )
    ax.set_xticks(range(len(runs)), [r.label for r in runs], rotation=30, ha="right", fontsize="small")
    ax.set_ylabel("median round (ms)")
    ax.set_yscale("log")
    _plain_ticks(ax.yaxis)
    ax.set_title(f"{scenario}: median over runs")
    ax.legend(fontsize="x-small", ncol=2)
    return Chart(scenario, f"{_slug(scenario)}-history", "Median over runs", fig)


def charts(runs: Sequence[Run]) -> list[Chart]:
    current = runs[-1]
    found = []
    for scenario, cases in _by_scenario(current).items():
        for chart in (
            speedup_chart(scenario, cases),
            cdf_chart(scenario, cases),
            history_chart(scenario, runs),
        ):
            if chart is not None:
                found.append(chart)
    return found


def svg_text(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog: the SVG goes inline


def save_plots(found: Sequence[Chart], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for chart in found:
        for fmt in ("png", "svg"):
            chart.figure.savefig(folder / f"{chart.slug}.{fmt}", format=fmt, dpi=110)


def _table_html(table: Table) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in table.rows
    )
    return (
        f"<h3>{html.escape(table.title)}</h3><div class='scroll'><table><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table></div>"
    )


def _environment_html(runs: Sequence[Run]) -> str:
    headers = ["run", "date", "machine", "cpu count", "interpreter", "GIL enabled", "start methods"]
    rows = []
    for run in runs:
        env = run.environment()
        rows.append(
            [
                run.label,
                run.datetime,
                str(env["machine"]),
                str(env["cpu count"]),
                str(env["interpreter"]),
                str(env["GIL enabled"]),
                ", ".join(run.start_methods()) or "-",
            ]
        )
    return _table_html(Table("Environment of each run", headers, rows))


def case_warnings(run: Run) -> list[str]:
    notes = []
    for m in run.measurements:
        status = m.info.get("status", "ok")
        if status != "ok":
            notes.append(f"{run.label} {m.scenario} {m.label}: {status}: {m.info.get('reason')}")
        if m.info.get("unstable"):
            notes.append(
                f"{run.label} {m.scenario} {m.label}: unstable rounds (cv {m.info.get('cv', 0):.0%})"
            )
    return notes


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; white-space: nowrap; }
th { background: #f0f0f0; }
.scroll { overflow-x: auto; max-width: 100%; }
figure { display: inline-block; margin: 0 1em 1em 0; }
figure svg { width: 640px; height: auto; }
.warnings li { color: #8a4b00; }
"""


def render_html(runs: Sequence[Run], found: Sequence[Chart]) -> str:
    comparison = compare(runs)
    warnings = comparison.warnings + [w for run in runs for w in case_warnings(run)]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Concurrency suite report: {html.escape(runs[-1].label)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Concurrency suite report</h1><p>{len(runs)} run(s); current: {html.escape(runs[-1].label)}</p>",
        "<h2>Warnings</h2>",
        "<ul class='warnings'>" + "".join(f"<li>{html.escape(w)}</li>" for w in warnings) + "</ul>"
        if warnings
        else "<p>None.</p>",
        "<h2>Environment</h2>",
        _environment_html(runs),
        "<h2>Tables</h2>",
        *(_table_html(t) for t in comparison.tables),
    ]
    for scenario in dict.fromkeys(c.scenario for c in found):
        parts.append(f"<h2 id='{_slug(scenario)}'>{html.escape(scenario)}</h2>")
        for chart in (c for c in found if c.scenario == scenario):
            parts.append(
                f"<figure class='chart' id='{chart.slug}'>{svg_text(chart.figure)}"
                f"<figcaption>{html.escape(chart.title)}</figcaption></figure>"
            )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(runs: Sequence[Run], html_path: Path, plots: Path | None = None) -> None:
    found = charts(runs)
    if plots is not None:
        save_plots(found, plots)
    write_atomic(html_path, render_html(runs, found).encode())  # never half a report
