"""``suite report``: plots (PNG and SVG) and one self-contained HTML file.

The HTML has no scripts and loads nothing: every chart is inline SVG, so the file can be
mailed, archived or opened offline.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from suite.results import ab, findings, trend
from suite.results.charts import Chart, charts, save_plots, slug, svg_text, trend_charts
from suite.results.compare import (
    Baseline,
    Table,
    compare,
    environment_warnings,
    interpreter_tables,
    quick_warnings,
)
from suite.results.findings import Measurements, scenario_verdicts
from suite.results.history import Run
from suite.results.saving import write_atomic


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
    headers = [
        "run",
        "file, commit, date",
        "machine",
        "cpu count",
        "interpreter",
        "GIL enabled",
        "start methods",
    ]
    rows = []
    for run in runs:
        env = run.environment()
        rows.append(
            [
                run.label,
                run.identity,
                str(env["machine"]),
                str(env["cpu count"]),
                str(env["interpreter"]),
                str(env["GIL enabled"]),
                ", ".join(run.start_methods()) or "-",
            ]
        )
    return _table_html(Table("Environment of each run", headers, rows))


def warning_groups(runs: Sequence[Run], comparison_warnings: Sequence[str]) -> dict[str, list[str]]:
    """Every warning about the runs, grouped by kind, each kind in the order a reader needs."""
    groups: dict[str, list[str]] = {
        "runs differ in their environment": environment_warnings(runs),
        "the machine gave less than it claims, or changed": [
            f"{run.label}: {w}" for run in runs for w in run.capacity_warnings()
        ],
        "incomplete runs": [],
        "cases that could not be measured": [],
        "degraded cases (errors in their rounds)": [],
        "unstable cases (cv >= 10%)": [],
    }
    groups["quick looks (fewer, smaller tasks)"] = quick_warnings(runs) or [
        f"{run.label} is a --quick look: fewer, smaller tasks than a full run" for run in runs if run.quick
    ]
    for run in runs:
        for note in run.warnings():
            kind = "incomplete runs" if "incomplete run" in note else "cases that could not be measured"
            groups[kind].append(note)
        for m in run.measurements:
            status = m.record.status
            if status != "ok":
                groups["degraded cases (errors in their rounds)"].append(
                    f"{run.label} {m.scenario} {m.label}: {status}: {m.record.reason}"
                )
            if m.record.unstable:
                groups["unstable cases (cv >= 10%)"].append(
                    f"{run.label} {m.scenario} {m.label}: cv {m.record.cv or 0:.0%}"
                )
    known = {w for notes in groups.values() for w in notes}
    groups["other"] = [w for w in comparison_warnings if w not in known]
    return {kind: notes for kind, notes in groups.items() if notes}


def _warnings_html(groups: dict[str, list[str]]) -> str:
    if not groups:
        return "<p>None.</p>"
    return "".join(
        f"<details class='warnings'><summary>{len(notes)} {html.escape(kind)}</summary><ul>"
        + "".join(f"<li>{html.escape(n)}</li>" for n in notes)
        + "</ul></details>"
        for kind, notes in groups.items()
    )


def _verdicts_html(run: Run, questions: dict[str, str]) -> str:
    rows = scenario_verdicts(Measurements(run), questions)
    if not rows:
        return "<p>No case was measured in this run.</p>"
    body = "".join(
        f"<tr><td class='text'><a href='#{slug(v.scenario)}'>{html.escape(v.scenario)}</a></td>"
        f"<td class='text'>{html.escape(v.question)}</td>"
        f"<td class='text'><strong>{html.escape(v.winner)}</strong></td>"
        f"<td class='text'>{html.escape(', '.join(v.tied) or '-')}</td>"
        f"<td class='text'>{html.escape(v.runner_up)}</td></tr>"
        for v in rows
    )
    return (
        "<div class='scroll'><table class='verdicts'><thead><tr><th>scenario</th><th>question</th>"
        "<th>winner</th><th>not clearly beaten by the winner</th><th>runner-up</th></tr></thead>"
        f"<tbody>{body}</tbody></table></div>"
        "<p class='note'>Winner: the model whose best case had the lowest median round. "
        "Not clearly beaten: the 95% interval of its ratio to the winner, paired by cycle, does "
        "not clear 5%; another run may rank them differently.</p>"
    )


def _ab_html(cases: Sequence[ab.CaseAB]) -> str:
    """An A/B run's cases: both medians, the paired change, its verdict and the work counted."""
    result = ab.ABResult(list(cases))
    records = ab.rows(result)
    headers = list(records[0])
    return _table_html(Table("Paired by cycle", headers, [[r[h] for h in headers] for r in records])) + (
        f"<p class='note'>{html.escape(ab.tally(result))}. Slower or faster only when the 95% interval "
        "excludes no change and the change is beyond the floor; same when the interval lies inside it.</p>"
    )


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; white-space: nowrap; }
td.text { text-align: left; white-space: normal; }
th { background: #f0f0f0; }
.scroll { overflow-x: auto; max-width: 100%; }
figure { display: inline-block; margin: 0 1em 1em 0; }
figure svg { width: 760px; max-width: 100%; height: auto; }
details.warnings { margin: 0.3em 0; }
details.warnings summary { color: #8a4b00; cursor: pointer; }
.note { color: #555; font-size: 0.85em; }
"""


def render_html(
    runs: Sequence[Run], found: Sequence[Chart], questions: dict[str, str], baseline: Baseline | None = None
) -> str:
    """Verdicts first, then the environment, tables and charts; warnings last, grouped."""
    comparison = compare(runs)
    if baseline is not None or len({m.interpreter for m in runs[-1].measurements}) > 1:
        # Interpreters side by side: the migration question in one table per scenario.
        tables, notes = interpreter_tables([runs[-1]], baseline)
        comparison.tables += tables
        comparison.warnings += notes
    current = runs[-1]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Concurrency suite report: {html.escape(current.label)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Concurrency suite report</h1><p>{len(runs)} run(s); current: {html.escape(current.label)}"
        + (" (a --quick look)" if current.quick else "")
        + "</p>",
        "<h2 id='verdicts'>What wins where</h2>",
        _verdicts_html(current, questions),
    ]
    warnings = warning_groups(runs, comparison.warnings)
    if warnings:
        counts = "; ".join(f"{len(notes)} {kind}" for kind, notes in warnings.items())
        parts.append(
            f"<p class='note'>Read with the <a href='#warnings'>warnings</a>: {html.escape(counts)}.</p>"
        )
    sided = ab.analyse_run(current)
    if sided:
        parts += ["<h2 id='ab'>Side B against side A</h2>", _ab_html(sided)]
    parts += [
        "<h2>Environment</h2>",
        _environment_html(runs),
        "<h2>Tables</h2>",
        *(_table_html(t) for t in comparison.tables),
        "<h2 id='warnings'>Warnings</h2>",
        _warnings_html(warnings),
    ]
    for scenario in dict.fromkeys(c.scenario for c in found):
        parts.append(f"<h2 id='{slug(scenario)}'>{html.escape(scenario)}</h2>")
        if questions.get(scenario):
            parts.append(f"<p>{html.escape(questions[scenario])}</p>")
        for chart in (c for c in found if c.scenario == scenario):
            parts.append(
                f"<figure class='chart' id='{chart.slug}'>{svg_text(chart.figure)}"
                f"<figcaption>{html.escape(chart.title)}</figcaption></figure>"
            )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(
    runs: Sequence[Run],
    html_path: Path,
    plots: Path | None = None,
    scenarios: Sequence[Path] = (),
    baseline: Baseline | None = None,
) -> None:
    """Write the report (and the plots); ``scenarios`` supply questions the runs did not save."""
    found = charts(runs, baseline)
    if plots is not None:
        save_plots(found, plots)
    page = render_html(runs, found, findings.questions(runs[-1], scenarios), baseline)
    write_atomic(html_path, page.encode())  # never half a report


def write_history_report(found: trend.History, html_path: Path, plots: Path | None = None) -> None:
    """``suite report --history``: the steps table first, then each scenario's series."""
    drawn = trend_charts(found)
    if plots is not None:
        save_plots(drawn, plots)
    comparison = trend.as_comparison(found)
    runs = found.runs
    span = f"{runs[0].label} … {runs[-1].label}" if runs else "no runs"
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>Concurrency suite history</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Concurrency suite history</h1><p>{len(runs)} run(s): {html.escape(span)}</p>",
        *(_table_html(t) for t in comparison.tables),
        "<h2 id='warnings'>Warnings</h2>",
        _warnings_html({"notes": comparison.warnings} if comparison.warnings else {}),
    ]
    for chart in drawn:
        parts.append(f"<h2 id='{slug(chart.scenario)}'>{html.escape(chart.scenario)}</h2>")
        parts.append(
            f"<figure class='chart' id='{chart.slug}'>{svg_text(chart.figure)}"
            f"<figcaption>{html.escape(chart.title)}</figcaption></figure>"
        )
    parts.append("</body></html>")
    write_atomic(html_path, "\n".join(parts).encode())
