"""``suite history``: every case over the saved runs, with its steps found.

Three series per case, each read from the index (:mod:`suite.results.index`), never
from the run files:

- **work**: instructions per task, where the runs counted them (the sequential case of
  CPU kinds). Exact run to run, so a 1% step is real work;
- **speedup**: the paired speedup over the scenario's sequential case (each cycle's
  ratio, so the machine's speed cancels): the answer to "which model wins";
- **time**: the case's median. Its steps are the ones a user feels, and the ones the
  machine fakes: a step the capacity probe saw too is labelled as the machine's.

A step where the scenario's parameters changed is labelled so: the work asked for
changed, not the code.
"""

from __future__ import annotations

import statistics
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from suite.results import changepoints
from suite.results.changepoints import Step
from suite.results.compare import Comparison, Table
from suite.results.index import Index, RunRow

WORK, SPEEDUP, TIME = "work", "speedup", "time"
#: The smallest step worth reporting, by series: counts are exact, timings are not.
MIN_STEP = {WORK: 0.01, SPEEDUP: 0.05, TIME: 0.05}
#: A time step is the machine's when the probe moved the same way by at least this
#: share of the step.
MACHINE_SHARE = 0.5


class TrendError(ValueError):
    """A history cannot be selected as asked."""


@dataclass(frozen=True)
class Found:
    """One step of one case's series, with what it lands on."""

    scenario: str
    case: str
    interpreter: str
    series: str
    first_run: str
    commit: str
    before: float
    after: float
    change_pct: float
    confidence: float
    note: str
    runs: int


@dataclass
class History:
    runs: list[RunRow]
    found: list[Found] = field(default_factory=list)
    #: Each case's series, by (scenario, case, interpreter, series): (positions in
    #: :attr:`runs`, values).
    series: dict[tuple[str, str, str, str], tuple[list[int], list[float]]] = field(default_factory=dict)
    #: Each speedup series' 95% intervals (lows, highs), where asked for.
    intervals: dict[tuple[str, str, str, str], tuple[list[float | None], list[float | None]]] = field(
        default_factory=dict
    )
    #: Newest runs that start a step beyond ``--fail-on-step``.
    newest: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def select(
    index: Index,
    *,
    save: str | None = None,
    last: int | None = None,
    commits: str | None = None,
    include_quick: bool = False,
    cwd: Path | None = None,
) -> list[RunRow]:
    """The runs a history is over, oldest first."""
    runs = [r for r in index.runs() if include_quick or not r.quick]
    if save is not None:
        runs = [r for r in runs if r.name == save]
    if commits is not None:
        wanted = set(_rev_list(commits, cwd))
        runs = [r for r in runs if r.commit.removesuffix("+dirty") in wanted]
    if last is not None:
        runs = runs[-last:] if last > 0 else []
    return runs


def _rev_list(spec: str, cwd: Path | None) -> list[str]:
    try:
        done = subprocess.run(
            ["git", "rev-list", spec], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
        )
    except OSError as exc:
        raise TrendError(f"--commits {spec}: cannot run git: {exc}") from exc
    if done.returncode != 0:
        raise TrendError(f"--commits {spec}: git rev-list says: {done.stderr.strip()}")
    return done.stdout.split()


def build(
    index: Index,
    runs: Sequence[RunRow],
    scenario: str | None = None,
    fail_on_step: float | None = None,
    intervals: bool = False,
) -> History:
    """Each case's three series over ``runs``, their steps, and what the newest run did
    (``intervals``: keep the speedups' intervals too, for charts)."""
    result = History(list(runs))
    if len(runs) < 2:
        result.warnings.append(f"{len(runs)} run(s) selected: a history needs at least 2")
        return result
    order = {r.id: i for i, r in enumerate(runs)}
    probes: dict[str, dict[int, float]] = {}
    newest = runs[-1].id
    cases = index.series([r.id for r in runs], intervals)
    for case in sorted(cases, key=lambda c: (c.scenario, c.label, c.interpreter)):
        if scenario is not None and case.scenario != scenario:
            continue
        case.ordered(order)
        scen, label, interpreter = case.scenario, case.label, case.interpreter
        picked: dict[str, list[int]] = {
            WORK: [i for i, v in enumerate(case.instructions) if v],
            SPEEDUP: [] if case.model == "sequential" else [i for i, v in enumerate(case.speedups) if v],
            TIME: [i for i, v in enumerate(case.medians) if v > 0],
        }
        columns: dict[str, Sequence[float | int | None]] = {
            WORK: case.instructions,
            SPEEDUP: case.speedups,
            TIME: case.medians,
        }
        for series, kept in picked.items():
            if len(kept) < 2:
                continue
            column = columns[series]
            values = [float(column[i] or 0) for i in kept]
            result.series[(scen, label, interpreter, series)] = ([order[case.runs[i]] for i in kept], values)
            if series == SPEEDUP and case.lows:
                result.intervals[(scen, label, interpreter, series)] = (
                    [case.lows[i] for i in kept],
                    [case.highs[i] for i in kept],
                )
            for step in changepoints.find_steps(values, min_size=MIN_STEP[series]):
                first = runs[order[case.runs[kept[step.at]]]]
                if scen not in probes:
                    probes[scen] = index.probes(scen)
                result.found.append(
                    Found(
                        scen,
                        label,
                        interpreter,
                        series,
                        first.label,
                        first.commit[:12] or "unknown",
                        step.before,
                        step.after,
                        round(step.size * 100, 2),
                        round(step.confidence, 4),
                        _note(
                            series,
                            step,
                            [case.runs[i] for i in kept],
                            [case.params[i] for i in kept],
                            probes[scen],
                        ),
                        len(values),
                    )
                )
            if fail_on_step is not None and case.runs[kept[-1]] == newest:
                moved = changepoints.newest_beyond(values, fail_on_step)
                if moved is not None:
                    result.newest.append(
                        f"{scen} {label} ({interpreter}) {series}: {moved:+.1%} in {runs[-1].label}"
                    )
    return result


def _note(
    series: str, step: Step, runs: Sequence[int], params: Sequence[str], probe: dict[int, float]
) -> str:
    """What else moved at the step: the parameters, or the machine (by the probe)."""
    if params[step.at - 1] != params[step.at]:
        return "the scenario's parameters changed here"
    if series != TIME:
        return ""
    seen_before = [probe[r] for r in runs[: step.at] if r in probe]
    seen_after = [probe[r] for r in runs[step.at :] if r in probe]
    if len(seen_before) < 2 or len(seen_after) < 2:
        return ""
    moved = statistics.median(seen_after) / statistics.median(seen_before) - 1
    if moved * step.size > 0 and abs(moved) >= MACHINE_SHARE * abs(step.size):
        return f"the machine's: its single-core speed moved {moved:+.0%} (capacity probe)"
    return ""


def _fmt(series: str, value: float) -> str:
    if series == WORK:
        return f"{value:,.0f} instr"
    if series == SPEEDUP:
        return f"x{value:.2f}"
    from suite.results.summary import fmt_time

    return fmt_time(value)


def as_comparison(found: History) -> Comparison:
    """The steps as a table the compare renderers print (text, markdown, csv, json)."""
    runs = found.runs
    out = Comparison(warnings=list(found.warnings))
    span = f"{runs[0].label} … {runs[-1].label}" if runs else "none"
    cases = len({key[:3] for key in found.series})
    title = f"Steps over {len(runs)} runs ({span}), {cases} cases: {len(found.found)} found"
    rows = [
        [
            f.scenario,
            f.case,
            f.interpreter,
            f.series,
            f.first_run,
            f.commit,
            f"{_fmt(f.series, f.before)} → {_fmt(f.series, f.after)}",
            f"{f.change_pct:+.1f}%",
            f"{f.confidence:.3f}",
            f.note,
        ]
        for f in found.found
    ]
    out.tables.append(
        Table(
            title,
            [
                "scenario",
                "case",
                "interpreter",
                "series",
                "first run after",
                "commit",
                "level",
                "change",
                "confidence",
                "what moved",
            ],
            rows,
        )
    )
    out.warnings += [f"the newest run starts a step: {line}" for line in found.newest]
    return out
