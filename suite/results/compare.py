"""Compare saved runs: who wins, what changed, and whether the difference is real.

Differences are tested on the raw round times with the Mann-Whitney U test (scipy): it
assumes no distribution, which suits round times with their long right tails. With few
rounds it cannot reach significance at all (3 vs 3 rounds: p >= 0.1), so runs meant for
comparison want 5 rounds or more.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from suite.results.history import Measurement, Run
from suite.results.summary import fmt_time
from suite.spec import registry

ALPHA = 0.05
#: Changes smaller than this are "unchanged" even when significant: very steady rounds
#: make a 0.5% shift significant, and nobody should act on it.
MIN_CHANGE_PCT = 2.0


def can_reach_significance(n: int, m: int) -> bool:
    """Whether n and m rounds can reach significance at all: the smallest two-sided
    p-value of the exact test is 2 / C(n + m, n)."""
    return n >= 1 and m >= 1 and 2 / math.comb(n + m, n) < ALPHA


def p_value(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Two-sided Mann-Whitney U p-value of two sets of round times; ``None`` when there
    are too few rounds to ever reach significance (plain pytest-benchmark files may keep
    none, and 3 vs 3 rounds cannot go below p = 0.1)."""
    if not can_reach_significance(len(a), len(b)):
        return None
    if len(set(a) | set(b)) == 1:
        return 1.0
    from scipy.stats import mannwhitneyu  # type: ignore[import-untyped]

    return float(mannwhitneyu(a, b, alternative="two-sided").pvalue)


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Change:
    """One case's change from the baseline run to another run."""

    scenario: str
    model: str
    workers: int | None
    baseline: str
    run: str
    baseline_median_s: float
    median_s: float
    change_pct: float
    p_value: float | None
    verdict: str  # slower, faster, unchanged, untested, not comparable

    @property
    def label(self) -> str:
        return self.model if self.workers is None else f"{self.model}-w{self.workers}"


@dataclass
class Comparison:
    tables: list[Table] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def slower_than(self, pct: float) -> list[Change]:
        return [c for c in self.changes if c.verdict == "slower" and c.change_pct > pct]


def _model_order(names: Sequence[str]) -> list[str]:
    known = list(registry.runners())
    return sorted(set(names), key=lambda n: (known.index(n) if n in known else len(known), n))


def _rank(model: str, workers: int | None) -> tuple[int, str, int]:
    """Sort key of a case: models in registry order (unknown ones last), then workers."""
    known = list(registry.runners())
    return (known.index(model) if model in known else len(known), model, workers or 0)


def _by_scenario(measurements: Sequence[Measurement]) -> dict[str, list[Measurement]]:
    grouped: dict[str, list[Measurement]] = {}
    for m in measurements:
        grouped.setdefault(m.scenario, []).append(m)
    return grouped


def _speedup(m: Measurement, cases: Sequence[Measurement]) -> float | None:
    if m.info.get("speedup"):
        return float(m.info["speedup"])
    base = next((c for c in cases if c.model == "sequential"), None)
    return base.median / m.median if base and m.median > 0 else None


def winner_table(scenario: str, cases: Sequence[Measurement]) -> Table:
    """Rows = workers, columns = models: median, speedup, efficiency; * winner, ≈ tie."""
    best = min(cases, key=lambda m: m.median)
    models = _model_order([m.model for m in cases])
    levels = sorted({m.workers for m in cases}, key=lambda w: -1 if w is None else w)
    by_key = {(m.workers, m.model): m for m in cases}
    rows = []
    for workers in levels:
        row = ["-" if workers is None else str(workers)]
        for model in models:
            m = by_key.get((workers, model))
            if m is None:
                row.append("")
                continue
            p = p_value(m.rounds, best.rounds)
            mark = "*" if m is best else ("≈" if p is not None and p >= ALPHA else "")
            speedup, efficiency = _speedup(m, cases), m.info.get("efficiency")
            text = mark + fmt_time(m.median)
            text += f" x{speedup:.2f}" if speedup else ""
            text += f" {efficiency:.0%}" if efficiency else ""
            row.append(text)
        rows.append(row)
    title = f"{scenario}: median, x speedup, % of ideal (* fastest, ≈ not significantly slower than it)"
    return Table(title, ["workers", *models], rows)


def change(
    base: Measurement, new: Measurement, base_run: Run, run: Run, min_change_pct: float = MIN_CHANGE_PCT
) -> Change:
    pct = (new.median / base.median - 1) * 100 if base.median > 0 else 0.0
    p = p_value(base.rounds, new.rounds) if base_run.quick == run.quick else None
    if base_run.quick != run.quick:
        verdict = "not comparable"  # a --quick look did less work per case than a full run
    elif p is None:
        verdict = "untested"
    elif p >= ALPHA or abs(pct) < min_change_pct:
        verdict = "unchanged"
    else:
        verdict = "slower" if pct > 0 else "faster"
    return Change(
        base.scenario,
        base.model,
        base.workers,
        base_run.label,
        run.label,
        base.median,
        new.median,
        pct,
        p,
        verdict,
    )


def _change_cell(c: Change) -> str:
    if c.verdict == "not comparable":
        return f"{fmt_time(c.median_s)} not comparable (quick vs full run)"
    p = " (too few rounds to test)" if c.p_value is None else f", p={c.p_value:.3f}"
    return f"{fmt_time(c.median_s)} {c.change_pct:+.1f}% {c.verdict}{p}"


def history_tables(runs: Sequence[Run], changes: Sequence[Change]) -> list[Table]:
    base = runs[0]
    tables = []
    for scenario, cases in _by_scenario(base.measurements).items():
        headers = ["case", f"{base.label}", *(r.label for r in runs[1:])]
        rows = []
        for m in sorted(cases, key=lambda m: _rank(m.model, m.workers)):
            row = [m.label, fmt_time(m.median)]
            for run in runs[1:]:
                found = next(
                    (c for c in changes if c.run == run.label and (c.scenario, c.model, c.workers) == m.key),
                    None,
                )
                row.append(_change_cell(found) if found else "missing")
            rows.append(row)
        tables.append(
            Table(f"{scenario}: change from {base.label} (Mann-Whitney U, alpha {ALPHA})", headers, rows)
        )
    return tables


def interpreter_tables(runs: Sequence[Run]) -> list[Table]:
    """Cases side by side by the interpreter that ran them (the latest run wins)."""
    latest: dict[tuple[str, str, int | None, str], Measurement] = {}
    for run in runs:
        for m in run.measurements:
            latest[(*m.key, m.interpreter)] = m
    interpreters = sorted({k[3] for k in latest})
    tables = []
    for scenario in dict.fromkeys(k[0] for k in latest):
        cases = sorted(
            {(k[1], k[2]) for k in latest if k[0] == scenario},
            key=lambda mw: _rank(*mw),
        )
        rows = []
        for model, workers in cases:
            row = [model if workers is None else f"{model}-w{workers}"]
            for interp in interpreters:
                found = latest.get((scenario, model, workers, interp))
                speedup = found.info.get("speedup") if found else None
                row.append(
                    "" if found is None else fmt_time(found.median) + (f" x{speedup:.2f}" if speedup else "")
                )
            rows.append(row)
        tables.append(
            Table(
                f"{scenario}: median by interpreter (x speedup over its own sequential)",
                ["case", *interpreters],
                rows,
            )
        )
    return tables


def environment_warnings(runs: Sequence[Run]) -> list[str]:
    base = runs[0].environment()
    notes = []
    for run in runs[1:]:
        env = run.environment()
        for key, value in env.items():
            if value != base[key]:
                notes.append(f"{run.label} differs from {runs[0].label} in {key}: {value} vs {base[key]}")
    return notes


def quick_warnings(runs: Sequence[Run]) -> list[str]:
    """A --quick look does a fraction of a full run's work per case: never test one against the other."""
    base = runs[0]
    return [
        f"{run.label} is {'a --quick look' if run.quick else 'a full run'} and {base.label} is "
        f"{'a --quick look' if base.quick else 'a full run'}: their cases did different work, "
        "so no change between them is tested"
        for run in runs[1:]
        if run.quick != base.quick
    ]


def compare(runs: Sequence[Run], by: str | None = None, min_change_pct: float = MIN_CHANGE_PCT) -> Comparison:
    result = Comparison(
        warnings=environment_warnings(runs)
        + quick_warnings(runs)
        + [w for run in runs for w in run.warnings()]
    )
    if by == "interpreter":
        result.tables = interpreter_tables(runs)
        return result
    if len(runs) == 1:
        grouped = _by_scenario(runs[0].measurements)
        result.tables = [winner_table(s, cases) for s, cases in grouped.items()]
        for scenario, cases in grouped.items():
            fewest = min(len(m.rounds) for m in cases)
            if not can_reach_significance(fewest, fewest):
                result.warnings.append(
                    f"{scenario}: {fewest} rounds per case are too few to test differences "
                    "(4 or more are needed)"
                )
        return result
    base = runs[0]
    for run in runs[1:]:
        new_by_key = {m.key: m for m in run.measurements}
        for m in base.measurements:
            if m.key in new_by_key:
                result.changes.append(change(m, new_by_key[m.key], base, run, min_change_pct))
    result.tables = history_tables(runs, result.changes)
    return result


def render_text(comparison: Comparison) -> str:
    out: list[str] = []
    for table in comparison.tables:
        widths = [max(len(r[i]) for r in [table.headers, *table.rows]) for i in range(len(table.headers))]
        out += ["", table.title]
        for row in [table.headers, *table.rows]:
            out.append("  " + "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    out += [f"warning: {w}" for w in comparison.warnings]
    return "\n".join(out).lstrip("\n") + "\n"


def render_markdown(comparison: Comparison) -> str:
    out: list[str] = []
    for table in comparison.tables:
        out += [
            f"### {table.title}",
            "",
            "| " + " | ".join(table.headers) + " |",
            "|" + "---|" * len(table.headers),
        ]
        out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in table.rows]
        out.append("")
    out += [f"> warning: {w}" for w in comparison.warnings]
    return "\n".join(out) + "\n"


def records(comparison: Comparison) -> list[dict[str, Any]]:
    if comparison.changes:
        return [asdict(c) for c in comparison.changes]
    return [
        {"table": t.title, **dict(zip(t.headers, row, strict=True))}
        for t in comparison.tables
        for row in t.rows
    ]


def render_csv(comparison: Comparison) -> str:
    rows = records(comparison)
    buffer = io.StringIO()
    fields = list(dict.fromkeys(k for row in rows for k in row))
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def render_json(comparison: Comparison) -> str:
    return json.dumps({"records": records(comparison), "warnings": comparison.warnings}, indent=2) + "\n"


RENDERERS = {"text": render_text, "markdown": render_markdown, "csv": render_csv, "json": render_json}
