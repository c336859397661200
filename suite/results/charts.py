"""The charts of a run, for ``suite report`` and ``suite findings``: each a matplotlib Figure.

Every model keeps its look from :mod:`suite.results.style`; legends stand outside the
data, to the right.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

from suite.results import ab, trend
from suite.results.compare import Baseline
from suite.results.history import Measurement, Run
from suite.results.style import DASHES, model_order, style

FANOUT_KINDS = ("http", "sleep")
#: With this many worker counts or fewer, speedups are bars, not lines.
FEW_LEVELS = 2
HATCHES = ("", "//", "..", "xx")


@dataclass(frozen=True)
class Chart:
    scenario: str
    slug: str
    title: str
    figure: Figure


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _plain_ticks(axis: Axis) -> None:
    # Log axes: ticks at 1, 2 and 5 of each decade, written as plain numbers.
    formatter = ScalarFormatter()
    formatter.set_scientific(False)
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(formatter)
    axis.set_minor_formatter(NullFormatter())


def _legend_outside(ax: Axes, **kwargs: object) -> None:
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, frameon=False, **kwargs)


def _by_scenario(run: Run) -> dict[str, list[Measurement]]:
    grouped: dict[str, list[Measurement]] = {}
    for m in run.measurements:
        grouped.setdefault(m.scenario, []).append(m)
    return grouped


def _speedups(cases: Sequence[Measurement]) -> dict[str, dict[int, float]]:
    base = next((m for m in cases if m.model == "sequential"), None)
    found: dict[str, dict[int, float]] = {}
    for m in cases:
        speedup = m.record.speedup or (base.median / m.median if base and m.median else None)
        if m.model != "sequential" and m.workers is not None and speedup:
            found.setdefault(m.model, {})[m.workers] = float(speedup)
    return {model: found[model] for model in model_order(list(found))}


def speedup_chart(scenario: str, cases: Sequence[Measurement]) -> Chart | None:
    lines = _speedups(cases)
    if not lines:
        return None
    levels = sorted({w for points in lines.values() for w in points})
    fig = Figure(figsize=(8.5, 4.2), layout="constrained")
    ax = fig.subplots()
    ax.axhline(1, color="grey", linewidth=0.8, linestyle="--")
    ax.set_ylabel("speedup over sequential")
    if len(levels) <= FEW_LEVELS:
        _speedup_bars(ax, lines, levels)
    else:
        _speedup_lines(ax, lines, levels)
    ax.set_title(f"{scenario}: speedup over sequential")
    return Chart(scenario, f"{slug(scenario)}-speedup", "Speedup over sequential", fig)


def _speedup_lines(ax: Axes, lines: dict[str, dict[int, float]], levels: list[int]) -> None:
    for model, points in lines.items():
        look = style(model)
        workers = sorted(points)
        ax.plot(
            workers,
            [points[w] for w in workers],
            marker=look.marker,
            linestyle=look.dash,
            color=look.colour,
            label=model,
        )
    ax.set_xscale("log", base=2)
    ax.set_xticks(levels, [str(w) for w in levels])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("workers")
    _legend_outside(ax, fontsize="small")


def _speedup_bars(ax: Axes, lines: dict[str, dict[int, float]], levels: list[int]) -> None:
    """Grouped bars: one group per model, one bar per worker count (told apart by hatching)."""
    width = 0.8 / len(levels)
    for position, (model, points) in enumerate(lines.items()):
        look = style(model)
        for k, workers in enumerate(levels):
            if workers in points:
                bars = ax.bar(
                    position - 0.4 + width * (k + 0.5),
                    points[workers],
                    width,
                    color=look.colour,
                    hatch=HATCHES[k % len(HATCHES)],
                    edgecolor="white",
                    label=model if k == 0 else None,
                )
                ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    ax.set_xticks(range(len(lines)), list(lines), rotation=30, ha="right", fontsize="small")
    ax.set_xlabel("model")
    keys = [
        Patch(facecolor="#bbbbbb", edgecolor="white", hatch=HATCHES[k % len(HATCHES)], label=f"{w} workers")
        for k, w in enumerate(levels)
    ]
    ax.legend(handles=keys, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, frameon=False)


def interpreter_chart(
    scenario: str, cases: Sequence[Measurement], baseline: Baseline | None = None
) -> Chart | None:
    """Several interpreters in one scenario: one group of bars per model, one bar per
    interpreter, each the model's best case there as a speedup over ``baseline`` (default:
    the sequential case of the same interpreter)."""
    interpreters = sorted({m.interpreter for m in cases})
    base = baseline.find(cases) if baseline is not None else None
    if len(interpreters) < 2 or (baseline is not None and base is None):
        return None
    best: dict[tuple[str, str], Measurement] = {}
    for m in cases:
        key = (m.model, m.interpreter)
        if m.median > 0 and (key not in best or m.median < best[key].median):
            best[key] = m
    own = {i: best.get(("sequential", i)) for i in interpreters}
    models = model_order(list(dict.fromkeys(m.model for m in cases)))
    fig = Figure(figsize=(9.5, 4.4), layout="constrained")
    ax = fig.subplots()
    ax.axhline(1, color="grey", linewidth=0.8, linestyle="--")
    if not any(best.get(("sequential", i)) for i in interpreters) and base is None:
        return None  # nothing to measure speedups against (memory-per-worker has no sequential)
    width = 0.8 / len(interpreters)
    for k, interp in enumerate(interpreters):
        heights, positions = [], []
        for position, model in enumerate(models):
            case, reference = best.get((model, interp)), base or own[interp]
            if case is not None and reference is not None:
                heights.append(reference.median / case.median)
                positions.append(position - 0.4 + width * (k + 0.5))
        bars = ax.bar(positions, heights, width, label=interp, color=f"C{k}", hatch=HATCHES[k % len(HATCHES)])
        ax.bar_label(bars, fmt="%.2f", fontsize=6, padding=1)
    over = f"{base.interpreter} {base.label}" if base is not None else "each interpreter's own sequential"
    ax.set_ylabel(f"speedup over {over}", fontsize="small")
    ax.set_xticks(range(len(models)), models, rotation=30, ha="right", fontsize="small")
    ax.set_xlabel("model (its fastest worker count)")
    ax.set_title(f"{scenario}: by interpreter")
    _legend_outside(ax, fontsize="small")
    return Chart(scenario, f"{slug(scenario)}-interpreters", "Speedup by interpreter", fig)


def cdf_chart(scenario: str, cases: Sequence[Measurement]) -> Chart | None:
    curves = [m for m in cases if m.record.task_cdf_ms]
    if not curves or cases[0].record.workload not in FANOUT_KINDS:
        return None
    order = model_order(list(dict.fromkeys(m.model for m in curves)))
    curves.sort(key=lambda m: (order.index(m.model), m.workers or 0))
    levels = sorted({m.workers or 0 for m in curves})
    fig = Figure(figsize=(8.5, 4.5), layout="constrained")
    ax = fig.subplots()
    for m in curves:
        cdf, look = m.record.task_cdf_ms or [], style(m.model)
        ax.plot(
            cdf,
            [k / (len(cdf) - 1) for k in range(len(cdf))],
            label=m.label,
            color=look.colour,
            marker=look.marker,
            markevery=max(1, len(cdf) // 8),
            markersize=4,
            linestyle=DASHES[levels.index(m.workers or 0) % len(DASHES)],
        )
    ax.set_xscale("log")
    _plain_ticks(ax.xaxis)
    ax.set_xlabel("task latency (ms)")
    ax.set_ylabel("fraction of tasks")
    ax.set_title(f"{scenario}: latency distribution")
    _legend_outside(ax, fontsize="x-small", ncol=1 if len(curves) <= 22 else 2)
    return Chart(scenario, f"{slug(scenario)}-latency-cdf", "Latency distribution (CDF)", fig)


def history_chart(scenario: str, runs: Sequence[Run]) -> Chart | None:
    series: dict[str, list[tuple[int, float]]] = {}
    models: dict[str, str] = {}
    for index, run in enumerate(runs):
        for m in run.measurements:
            if m.scenario == scenario:
                series.setdefault(m.label, []).append((index, m.median))
                models[m.label] = m.model
    if len(runs) < 2 or not series:
        return None
    fig = Figure(figsize=(8.5, 4.2), layout="constrained")
    ax = fig.subplots()
    dashes: dict[str, int] = {}
    order = model_order(list(dict.fromkeys(models.values())))
    for label in sorted(series, key=lambda lb: order.index(models[lb])):
        look, points = style(models[label]), series[label]
        dash = DASHES[dashes.setdefault(models[label], 0) % len(DASHES)]
        dashes[models[label]] += 1
        ax.plot(
            [i for i, _ in points],
            [m * 1000 for _, m in points],
            marker=look.marker,
            label=label,
            color=look.colour,
            linestyle=dash,
        )
    ax.set_xticks(range(len(runs)), [r.label for r in runs], rotation=30, ha="right", fontsize="small")
    ax.set_ylabel("median round (ms)")
    ax.set_yscale("log")
    _plain_ticks(ax.yaxis)
    ax.set_title(f"{scenario}: median over runs")
    _legend_outside(ax, fontsize="x-small", ncol=1 if len(series) <= 22 else 2)
    return Chart(scenario, f"{slug(scenario)}-history", "Median over runs", fig)


#: At most this many run labels on a history's x axis (every k-th run is labelled).
HISTORY_TICKS = 16


def trend_charts(found: trend.History) -> list[Chart]:
    """``suite report --history``: per scenario, each case's median, paired speedup (with
    its 95% interval, shaded) and instructions per task (where counted) over the runs,
    one look per model, with every step found marked where it begins (the steps at one
    run named together)."""
    labels = [r.label for r in found.runs]
    where = {label: i for i, label in enumerate(labels)}
    scenarios = dict.fromkeys(key[0] for key in found.series)
    charts_found = []
    for scenario in scenarios:
        panels = [
            s
            for s in (trend.TIME, trend.SPEEDUP, trend.WORK)
            if any(k[0] == scenario and k[3] == s for k in found.series)
        ]
        fig = Figure(figsize=(9.5, 3.4 * len(panels)), layout="constrained")
        axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
        models = {k[1]: k[1].split("-w")[0] for k in found.series if k[0] == scenario}
        order = model_order(list(dict.fromkeys(models.values())))
        for ax, series in zip(axes, panels, strict=True):
            dashes: dict[str, int] = {}
            keys = sorted(
                (k for k in found.series if k[0] == scenario and k[3] == series),
                key=lambda k: (order.index(models[k[1]]), k[1], k[2]),
            )
            for key in keys:
                positions, values = found.series[key]
                model = models[key[1]]
                look = style(model)
                dash = DASHES[dashes.setdefault(model, 0) % len(DASHES)]
                dashes[model] += 1
                scale = 1000 if series == trend.TIME else 1
                band = found.intervals.get(key)
                if band is not None:
                    shown = [(x, lo, hi) for x, lo, hi in zip(positions, *band, strict=True) if lo and hi]
                    if shown:
                        ax.fill_between(
                            [x for x, _, _ in shown],
                            [lo for _, lo, _ in shown],
                            [hi for _, _, hi in shown],
                            color=look.colour,
                            alpha=0.12,
                            linewidth=0,
                        )
                ax.plot(
                    positions,
                    [v * scale for v in values],
                    marker=look.marker if len(positions) <= 60 else None,
                    markersize=3,
                    label=key[1] if len({k[2] for k in keys}) == 1 else f"{key[1]} {key[2]}",
                    color=look.colour,
                    linestyle=dash,
                    linewidth=1,
                )
            marked: dict[int, list[str]] = {}
            for step in (f for f in found.found if f.scenario == scenario and f.series == series):
                x = where.get(step.first_run)
                if x is not None:
                    marked.setdefault(x, []).append(f"{step.case} {step.change_pct:+.0f}%")
            for x, texts in marked.items():
                ax.axvline(x - 0.5, color="black", linestyle=":", linewidth=1)
                ax.annotate(
                    "\n".join(texts),
                    (x - 0.5, 0.98),
                    xycoords=("data", "axes fraction"),
                    xytext=(-3, 0),
                    textcoords="offset points",
                    va="top",
                    ha="right",
                    fontsize="x-small",
                )
            if series == trend.TIME:
                ax.set_ylabel("median round (ms)")
                ax.set_yscale("log")
                _plain_ticks(ax.yaxis)
            elif series == trend.SPEEDUP:
                ax.set_ylabel("paired speedup (x)")
            else:
                ax.set_ylabel("instructions per task")
            _legend_outside(ax, fontsize="x-small", ncol=1 if len(keys) <= 22 else 2)
        every = max(1, -(-len(labels) // HISTORY_TICKS))
        ticks = list(range(0, len(labels), every))
        axes[-1].set_xticks(ticks, [labels[i] for i in ticks], rotation=30, ha="right", fontsize="small")
        axes[0].set_title(f"{scenario}: over {len(labels)} runs, steps marked")
        charts_found.append(
            Chart(scenario, f"{slug(scenario)}-trend", "Over the runs, with the steps found", fig)
        )
    return charts_found


def latency_chart(scenario: str, cases: Sequence[Measurement]) -> Chart | None:
    """Serve mode: p99 latency against achieved throughput, a line per model and worker
    count through its open-loop points (closed-loop points as hollow markers); the SLO
    as a dashed line."""
    # Each answered load point: its case, load, achieved rate and p99.
    points = [
        (m, m.record.load, m.record.achieved_rps or 0.0, p99)
        for m in cases
        if m.record.load is not None and (p99 := m.record.p99_ms())
    ]
    if not points:
        return None
    served = [m for m, *_ in points]
    fig = Figure(figsize=(8.5, 4.6), layout="constrained")
    ax = fig.subplots()
    levels = sorted({m.workers or 0 for m in served})
    for model in model_order(list({m.model for m in served})):
        look = style(model)
        for workers in levels:
            mine = [p for p in points if p[0].model == model and (p[0].workers or 0) == workers]
            open_ = sorted((p for p in mine if p[1].mode == "open"), key=lambda p: p[1].rank)
            closed = [p for p in mine if p[1].mode == "closed"]
            label = f"{model} w{workers}"
            if open_:
                ax.plot(
                    [rps for _, _, rps, _ in open_],
                    [p99 for _, _, _, p99 in open_],
                    marker=look.marker,
                    color=look.colour,
                    linestyle=DASHES[levels.index(workers) % len(DASHES)],
                    label=label,
                )
            if closed:
                ax.scatter(
                    [rps for _, _, rps, _ in closed],
                    [p99 for _, _, _, p99 in closed],
                    marker=look.marker,
                    facecolors="none",
                    edgecolors=look.colour,
                    label=None if open_ else label,
                )
    slo = next((m.record.slo_p99_ms for m in served if m.record.slo_p99_ms), None)
    if slo:
        ax.axhline(slo, color="grey", linewidth=1, linestyle="--", label=f"SLO: p99 {slo:g} ms")
    ax.set_yscale("log")
    _plain_ticks(ax.yaxis)
    ax.set_xlabel("achieved requests per second (hollow: closed-loop load points)")
    ax.set_ylabel("p99 latency (ms)")
    ax.set_title(f"{scenario}: tail latency against throughput")
    _legend_outside(ax, fontsize="x-small")
    return Chart(scenario, f"{slug(scenario)}-latency", "p99 latency against throughput", fig)


def ab_chart(scenario: str, cases: Sequence[ab.CaseAB], floor: float) -> Chart | None:
    """An A/B run: each case's paired B/A with its 95% interval, the floor shaded."""
    shown = [c for c in cases if c.scenario == scenario and c.change is not None]
    if not shown:
        return None
    fig = Figure(figsize=(8.5, 0.6 + 0.35 * len(shown)), layout="constrained")
    ax = fig.subplots()
    ax.axvspan(1 / (1 + floor), 1 + floor, color="#eeeeee", label=f"within the floor ({floor:.0%})")
    ax.axvline(1.0, color="grey", linewidth=0.8)
    for row, c in enumerate(shown):
        assert c.change is not None
        look = style(c.label.split("-w")[0])
        ax.errorbar(
            [c.change.ratio],
            [row],
            xerr=[[c.change.ratio - c.change.low], [c.change.high - c.change.ratio]],
            marker=look.marker,
            color=look.colour,
            capsize=3,
        )
        ax.annotate(
            c.verdict, (c.change.high, row), xytext=(4, -3), textcoords="offset points", fontsize="x-small"
        )
    ax.set_yticks(range(len(shown)), [c.label for c in shown], fontsize="small")
    ax.invert_yaxis()
    ax.set_xlabel("B / A, median of each cycle's ratio, with its 95% interval")
    ax.set_title(f"{scenario}: side B against side A, paired by cycle")
    _legend_outside(ax, fontsize="x-small")
    return Chart(scenario, f"{slug(scenario)}-ab", "Side B against side A", fig)


def charts(runs: Sequence[Run], baseline: Baseline | None = None) -> list[Chart]:
    """The charts of the last run (with the history of the earlier ones); a scenario that
    ran under several interpreters gets one chart of them side by side."""
    found = []
    sided = ab.analyse_run(runs[-1])
    for scenario, cases in _by_scenario(runs[-1]).items():
        makers: tuple[Chart | None, ...]
        if sided:
            makers = (ab_chart(scenario, sided, runs[-1].floor or ab.FLOOR),)
        elif any(m.point is not None for m in cases):
            makers = (latency_chart(scenario, cases),)
        elif len({m.interpreter for m in cases}) > 1:
            makers = (interpreter_chart(scenario, cases, baseline),)
        else:
            makers = (
                speedup_chart(scenario, cases),
                cdf_chart(scenario, cases),
                history_chart(scenario, runs),
            )
        for chart in makers:
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
