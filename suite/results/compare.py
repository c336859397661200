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
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from suite.results import ab, loadpoints, machine, paired
from suite.results.history import Measurement, Run, case_label
from suite.results.record import CaseRecord
from suite.results.robust import ALPHA, can_reach_significance, p_value
from suite.results.summary import fmt_time
from suite.spec import registry

__all__ = ["ALPHA", "MIN_CHANGE_PCT", "Change", "Comparison", "can_reach_significance", "compare", "p_value"]

#: Verdicts the instruction counts give: the work itself moved, whatever the timing says;
#: or the timing moved while the work stayed the same.
MORE_WORK, LESS_WORK, SAME_WORK = "more work", "less work", "same work"
UNSTABLE_WHY = "its rounds were unstable in one of the runs (pyperf's rule); suite ab pairs them"
#: Kinds whose speed rests on something the capacity probe (a CPU loop) does not read.
UNPROBED_KINDS = ("file",)
#: Changes smaller than this are "unchanged" even when significant: the same practical
#: floor as winners and ``suite ab`` use. Steady rounds make a 2% shift between two runs
#: significant, and on a shared machine nobody should act on it.
MIN_CHANGE_PCT = paired.FLOOR * 100


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
    verdict: str  # slower, faster, unchanged, untested, not comparable, cannot tell from noise
    #: The smallest change this comparison can tell from run-to-run noise, and why.
    floor_pct: float = MIN_CHANGE_PCT
    floor_why: str = "--min-change"
    #: A serve case's load point; ``None`` in batch mode.
    point: str | None = None
    #: How much the instructions of one task moved, in percent (both runs counted them).
    work_pct: float | None = None

    @property
    def label(self) -> str:
        return case_label(self.model, self.workers, self.point)


@dataclass
class Comparison:
    tables: list[Table] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def slower_than(self, pct: float) -> list[Change]:
        """Cases slower by more than ``pct``: by time beyond the noise, or by the work counted."""
        return [
            c
            for c in self.changes
            if (c.verdict == "slower" and c.change_pct > pct)
            or (c.verdict == MORE_WORK and c.work_pct is not None and c.work_pct > pct)
        ]


def _model_order(names: Sequence[str]) -> list[str]:
    known = list(registry.runners())
    return sorted(set(names), key=lambda n: (known.index(n) if n in known else len(known), n))


def _rank(model: str, workers: int | None) -> tuple[int, str, int]:
    """Sort key of a case: models in registry order (unknown ones last), then workers."""
    known = list(registry.runners())
    return (known.index(model) if model in known else len(known), model, workers or 0)


def _by_scenario(
    measurements: Sequence[Measurement], by_interpreter: bool = False
) -> dict[str, list[Measurement]]:
    """Cases by scenario; ``by_interpreter``: by scenario and interpreter (``cpu-python on
    cpython-3.14.10``) when several interpreters ran them, whose cases share their keys."""
    several = by_interpreter and len({m.interpreter for m in measurements}) > 1
    grouped: dict[str, list[Measurement]] = {}
    for m in measurements:
        name = f"{m.scenario} on {m.interpreter}" if several else m.scenario
        if m.record.side:  # suite ab: each side's cases apart (they share their keys)
            name += f", side {m.record.side}"
        grouped.setdefault(name, []).append(m)
    return grouped


def _speedup(m: Measurement, cases: Sequence[Measurement]) -> float | None:
    if m.record.speedup:
        return float(m.record.speedup)
    base = next((c for c in cases if c.model == "sequential"), None)
    return base.median / m.median if base and m.median > 0 else None


def winner_table(scenario: str, cases: Sequence[Measurement]) -> Table:
    """Rows = workers, columns = models: median, speedup, efficiency; * winner, ≈ tie."""
    best = paired.fastest_first(cases)[0]
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
            mark = "*" if m is best else ("≈" if not paired.beaten(best, m) else "")
            speedup, efficiency = _speedup(m, cases), m.record.efficiency
            text = mark + fmt_time(m.median)
            text += f" x{speedup:.2f}" if speedup else ""
            text += f" {efficiency:.0%}" if efficiency else ""
            row.append(text)
        rows.append(row)
    title = (
        f"{scenario}: median, x speedup, % of ideal (* fastest, ≈ not clearly beaten: the paired "
        f"ratio's 95% interval does not clear {paired.FLOOR:.0%})"
    )
    return Table(title, ["workers", *models], rows)


def serve_table(scenario: str, cases: Sequence[Measurement]) -> Table:
    """A serve scenario: rows = model and workers, columns = load points; each cell the
    requests answered per second and their p99 (~ saturated, ! requests failed)."""
    points = list(dict.fromkeys(m.point for m in sorted(cases, key=_point_rank) if m.point))
    keys = sorted({(m.model, m.workers) for m in cases}, key=lambda k: _rank(*k))
    by_key = {(m.model, m.workers, m.point): m for m in cases}
    rows = [
        [
            f"{model}-w{workers}",
            *(
                loadpoints.cell(by_key[(model, workers, p)].record) if (model, workers, p) in by_key else ""
                for p in points
            ),
        ]
        for model, workers in keys
    ]
    title = f"{scenario}: requests answered per second and p99 latency (~ saturated, ! requests failed)"
    return Table(title, ["case", *points], rows)


def _point_rank(m: Measurement) -> tuple[int, float]:
    return m.record.load.rank if m.record.load else (1, 0.0)


def change(
    base: Measurement,
    new: Measurement,
    base_run: Run,
    run: Run,
    min_change_pct: float = MIN_CHANGE_PCT,
    floor: tuple[float, str] | None = None,
) -> Change:
    """One case from ``base_run`` to ``run``: significant (Mann-Whitney U on the rounds)
    and beyond the noise floor (``floor``: percent and why; default ``--min-change``)."""
    pct = (new.median / base.median - 1) * 100 if base.median > 0 else 0.0
    # A serve load point's latencies queue behind one another: they are not independent
    # samples, and a test on thousands of them finds "significant" what the next run
    # does not repeat (23 of 90 load points between two runs of the same code). One run
    # a side is left untested; several runs a side test the runs' medians.
    independent = base.point is None
    p = p_value(base.rounds, new.rounds) if base_run.quick == run.quick and independent else None
    floor_pct, why = floor or (min_change_pct, "--min-change")
    verdict = _verdict(pct, p, min_change_pct, floor_pct, base_run.quick == run.quick)
    if verdict in ("slower", "faster") and (base.record.unstable or new.record.unstable):
        # Rounds that vary this much within a run moved as much between runs of the same code
        # (every false change between three back-to-back full runs was such a case).
        verdict, why = "cannot tell from noise", UNSTABLE_WHY
    work = work_pct(base.record, new.record)
    if work is not None and verdict != "not comparable":
        verdict = _with_work(verdict, work)
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
        floor_pct,
        why,
        base.point,
        work,
    )


def work_pct(before: CaseRecord, after: CaseRecord) -> float | None:
    """How much one task's instruction count moved, in percent; ``None`` unless both have one."""
    a, b = before.instructions_per_task, after.instructions_per_task
    if not a or not b:
        return None
    return (float(b) / float(a) - 1) * 100


def _with_work(verdict: str, work: float) -> str:
    """The timing verdict in the light of the counts: work that moved is a change whatever
    the timing noise; a timing change with the same work is the machine's or the model's."""
    if ab.work_moved(work / 100):
        expected = "slower" if work > 0 else "faster"
        return verdict if verdict == expected else (MORE_WORK if work > 0 else LESS_WORK)
    return SAME_WORK if verdict in ("slower", "faster") else verdict


def _verdict(pct: float, p: float | None, min_change_pct: float, floor_pct: float, comparable: bool) -> str:
    if not comparable:
        return "not comparable"  # a --quick look did less work per case than a full run
    if p is None:
        return "untested"
    if p >= ALPHA or abs(pct) < min_change_pct:
        return "unchanged"
    if abs(pct) < floor_pct:
        return "cannot tell from noise"
    return "slower" if pct > 0 else "faster"


def drift_pct(a: Run, b: Run, scenario: str) -> float | None:
    """How much the machine itself moved between two runs during ``scenario``, by the
    capacity probe: the larger change of single-core speed and of available cores."""
    seen = []
    for run in (a, b):
        readings = [r for r in run.probe_readings if r.get("scenario") == scenario] or run.probe_readings
        seen.append(machine.summary(readings))
    first, second = seen
    if first is None or second is None:
        return None
    single = abs(second["single_s"] / first["single_s"] - 1)
    cores = abs(second["parallelism"] / first["parallelism"] - 1)
    return 100 * max(single, cores)


class SameCode(Protocol):
    """Where the medians of other runs of the same code come from: the index of the saved
    runs (:class:`suite.results.index.Index`), or runs at hand (:class:`RunsAtHand`)."""

    def same_code_medians(self, base_run: Run, run: Run, m: Measurement) -> list[float]: ...


@dataclass(frozen=True)
class RunsAtHand:
    """Runs already read, asked as the index would be."""

    runs: Sequence[Run]

    def same_code_medians(self, base_run: Run, run: Run, m: Measurement) -> list[float]:
        same_code = [
            h
            for h in self.runs
            if base_run.commit and h.commit == base_run.commit and not h.quick
            if h.path not in (base_run.path, run.path)
        ]
        return [
            c.median
            for other in same_code
            for c in other.measurements
            if c.key == m.key
            and c.interpreter == m.interpreter
            and c.median > 0
            and c.record.params == m.record.params  # the same work, not another size
        ]


def history_spread_pct(history: SameCode, m: Measurement, base_run: Run, run: Run) -> float | None:
    """This case's run-to-run spread over other saved full runs of the baseline's code
    and the same work (same commit and parameters, 3 runs or more; never the two runs
    compared): the range of their medians, as a percent of the lowest."""
    medians = history.same_code_medians(base_run, run, m)
    if len(medians) < 3:
        return None
    return (max(medians) / min(medians) - 1) * 100


def noise_floor(
    base_run: Run, run: Run, m: Measurement, min_change_pct: float, history: SameCode = RunsAtHand(())
) -> tuple[float, str]:
    """The smallest change that can be told from noise between two single runs."""
    floor, why = min_change_pct, "--min-change"
    drift = drift_pct(base_run, run, m.scenario)
    if drift is not None and drift > floor:
        floor, why = drift, "the machine moved this much between the runs (capacity probe)"
    spread = history_spread_pct(history, m, base_run, run)
    if spread is not None and spread > floor:
        floor, why = spread, "this case's medians spread this much across other runs of the same code"
    baseline = baseline_drift_pct(base_run, run, m)
    if baseline is not None:
        # The baseline's own move, and the cases' noise on top of it.
        beyond = ((1 + baseline / 100) * (1 + min_change_pct / 100) - 1) * 100
        if beyond > floor:
            floor, why = (
                beyond,
                f"the scenario's sequential baseline moved {baseline:.0f}% (and --min-change)",
            )
    return floor, why


def baseline_drift_pct(base_run: Run, run: Run, m: Measurement) -> float | None:
    """How far the scenario's sequential case moved between the runs, for kinds whose speed
    the capacity probe does not read (:data:`UNPROBED_KINDS`, none of them counted): a
    disk moves a whole scenario (file-io ran 79% slower in one of two back-to-back runs of
    the same code, every model alike, while the probe moved 7%). ``None`` for other
    kinds, or without a sequential case in both runs."""
    if m.record.workload not in UNPROBED_KINDS:
        return None
    before, after = (_sequential(r, m) for r in (base_run, run))
    if before is None or after is None or before.median <= 0:
        return None
    return abs(after.median / before.median - 1) * 100


def _sequential(run: Run, m: Measurement) -> Measurement | None:
    """The sequential case beside ``m`` in ``run`` (same scenario, interpreter and side)."""
    return next(
        (
            c
            for c in run.measurements
            if c.scenario == m.scenario
            and c.model == "sequential"
            and c.interpreter == m.interpreter
            and c.record.side == m.record.side
        ),
        None,
    )


def _work_note(c: Change) -> str:
    if c.work_pct is None:
        return ""
    if ab.work_moved(c.work_pct / 100):
        return f"; work {c.work_pct:+.1f}% (instruction count)"
    if c.verdict == SAME_WORK:
        return "; same work: the machine or the model moved (instruction count)"
    return ""


def _change_cell(c: Change) -> str:
    return _timing_cell(c) + _work_note(c)


def _timing_cell(c: Change) -> str:
    if c.verdict in (MORE_WORK, LESS_WORK, SAME_WORK):
        return f"{fmt_time(c.median_s)} {c.change_pct:+.1f}% {c.verdict}"
    if c.verdict == "not comparable":
        return f"{fmt_time(c.median_s)} not comparable (quick vs full run)"
    if c.verdict == "cannot tell from noise" and c.floor_why == UNSTABLE_WHY:
        return f"{fmt_time(c.median_s)} {c.change_pct:+.1f}% cannot tell from noise (unstable rounds)"
    if c.verdict == "cannot tell from noise":
        return f"{fmt_time(c.median_s)} {c.change_pct:+.1f}% cannot tell from noise (< {c.floor_pct:.0f}%)"
    if c.p_value is not None:
        p = f", p={c.p_value:.3f}"
    elif c.point is not None:
        p = " (a serve load point: compare several runs a side to test it)"
    else:
        p = " (too few rounds to test)"
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
                    (
                        c
                        for c in changes
                        if c.run == run.label and (c.scenario, c.model, c.workers, c.point) == m.key
                    ),
                    None,
                )
                row.append(_change_cell(found) if found else "missing")
            rows.append(row)
        tables.append(
            Table(f"{scenario}: change from {base.label} (Mann-Whitney U, alpha {ALPHA})", headers, rows)
        )
    return tables


@dataclass(frozen=True)
class Baseline:
    """One case every interpreter's cases are measured against: ``cpython-3.11.7:sequential``."""

    interpreter: str
    model: str
    workers: int | None = None

    @classmethod
    def parse(cls, text: str) -> Baseline:
        """``INTERPRETER:MODEL`` or ``INTERPRETER:MODEL-wN``; ``ValueError`` says what was expected."""
        interpreter, _, case = text.rpartition(":")
        model, _, workers = case.rpartition("-w")
        if not model or not workers.isdigit():
            model, workers = case, ""
        if not interpreter.strip() or not model.strip():
            raise ValueError(
                f"--baseline {text!r}: expected INTERPRETER:MODEL or INTERPRETER:MODEL-wN, "
                "e.g. cpython-3.11.7:sequential or cpython-3.13.0t:threads-w2"
            )
        return cls(interpreter.strip(), model.strip(), int(workers) if workers else None)

    def matches_interpreter(self, label: str) -> bool:
        """``cpython-3.13.0t`` names ``cpython-3.13.0t (GIL off)``: the GIL part may be left out."""
        wanted = self.interpreter.lower()
        return label.lower() == wanted or label.split(" (")[0].lower() == wanted

    def find(self, cases: Sequence[Measurement]) -> Measurement | None:
        """This baseline's case among one scenario's cases (fewest workers if none was named)."""
        found = [
            m
            for m in cases
            if self.matches_interpreter(m.interpreter)
            and m.model == self.model
            and (self.workers is None or m.workers == self.workers)
        ]
        return min(found, key=lambda m: m.workers or 0) if found else None

    def __str__(self) -> str:
        workers = "" if self.workers is None else f"-w{self.workers}"
        return f"{self.interpreter}:{self.model}{workers}"


def interpreter_tables(
    runs: Sequence[Run], baseline: Baseline | None = None
) -> tuple[list[Table], list[str]]:
    """Cases side by side by the interpreter that ran them (the latest run wins), and what
    the reader must know about them.

    Without ``baseline`` each speedup is over the sequential case of the same interpreter;
    with one, every speedup in a scenario is over that one case, so "threads on 3.13t" and
    "processes on 3.11" compare in one number.
    """
    latest: dict[tuple[tuple[str, str, int | None, str | None], str], tuple[Measurement, Run]] = {}
    for run in runs:
        for m in run.measurements:
            latest[(m.key, m.interpreter)] = (m, run)
    interpreters = sorted({interp for _, interp in latest})
    tables, notes = [], []
    if baseline is not None and not any(baseline.matches_interpreter(i) for i in interpreters):
        notes.append(
            f"--baseline {baseline}: no interpreter {baseline.interpreter!r} in these runs "
            f"(they have {', '.join(interpreters)})"
        )
    for scenario in dict.fromkeys(key[0] for key, _ in latest):
        in_scenario = [(m, run) for (key, _), (m, run) in latest.items() if key[0] == scenario]
        base = base_run = None
        if baseline is not None:
            base = baseline.find([m for m, _ in in_scenario])
            base_run = next((run for m, run in in_scenario if m is base), None)
            if base is None:
                notes.append(f"{scenario}: no case {baseline} to measure against; its speedups are left out")
        moments = False
        cases = sorted(
            {(key, m.label) for (key, _), (m, _) in latest.items() if key[0] == scenario},
            key=lambda kl: (*_rank(kl[0][1], kl[0][2]), kl[0][3] or ""),
        )
        rows = []
        for key, label in cases:
            row = [label]
            for interp in interpreters:
                entry = latest.get((key, interp))
                if entry is None:
                    row.append("")
                    continue
                found, run = entry
                speedup: float | None
                mark = ""
                if baseline is None:
                    speedup = found.record.speedup
                elif base is not None and found.median > 0:
                    speedup = base.median / found.median
                    if run is not base_run:
                        mark, moments = "†", True
                else:
                    speedup = None
                row.append(mark + fmt_time(found.median) + (f" x{speedup:.2f}" if speedup else ""))
            rows.append(row)
        if moments:
            notes.append(
                f"{scenario}: † marks a case from another run than the baseline {baseline}: its "
                "speedup rests on two moments of a machine whose speed moves between runs; run the "
                "interpreters together (suite run --python A --python B) for one interleaved run"
            )
        over = "its own sequential" if baseline is None else str(baseline)
        tables.append(
            Table(f"{scenario}: median by interpreter (x speedup over {over})", ["case", *interpreters], rows)
        )
    return tables, notes


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


def compare(
    runs: Sequence[Run],
    by: str | None = None,
    min_change_pct: float = MIN_CHANGE_PCT,
    history: Sequence[Run] | SameCode = (),
    baseline: Baseline | None = None,
) -> Comparison:
    """One run: winners and ties. Several: each case's change from the first run, told
    from noise by the capacity probe's drift and ``history``'s run-to-run spread."""
    result = Comparison(
        warnings=environment_warnings(runs)
        + quick_warnings(runs)
        + [w for run in runs for w in run.warnings()]
    )
    if by == "interpreter":
        result.tables, notes = interpreter_tables(runs, baseline)
        result.warnings += notes
        return result
    if len(runs) == 1:
        grouped = _by_scenario(runs[0].measurements, by_interpreter=True)
        several = sorted({m.interpreter for m in runs[0].measurements})
        if len(several) > 1:
            result.warnings.append(
                f"this run has {len(several)} interpreters ({', '.join(several)}): `--by interpreter` "
                "puts them side by side, and `--baseline INTERPRETER:MODEL` measures all against one case"
            )
        result.tables = [
            serve_table(s, cases) if any(m.point for m in cases) else winner_table(s, cases)
            for s, cases in grouped.items()
        ]
        for scenario, cases in grouped.items():
            if any(m.point for m in cases):
                continue
            fewest = min(len(m.rounds) for m in cases)
            if not can_reach_significance(fewest, fewest):
                result.warnings.append(
                    f"{scenario}: {fewest} rounds per case are too few to test differences "
                    "(4 or more are needed)"
                )
        return result
    base = runs[0]
    same_code = RunsAtHand(history) if isinstance(history, Sequence) else history
    for run in runs[1:]:
        new_by_key = {m.key: m for m in run.measurements}
        for m in base.measurements:
            if m.key in new_by_key:
                floor = noise_floor(base, run, m, min_change_pct, same_code)
                result.changes.append(change(m, new_by_key[m.key], base, run, min_change_pct, floor))
    result.tables = machine_tables(runs) + history_tables(runs, result.changes)
    result.warnings += drift_warnings(runs, min_change_pct)
    return result


def machine_tables(runs: Sequence[Run]) -> list[Table]:
    """The capacity probe of each run side by side (none when no run has readings)."""
    seen = [(run, machine.summary(run.probe_readings)) for run in runs]
    if all(s is None for _, s in seen):
        return []
    first = next(s for _, s in seen if s is not None)
    rows = []
    for run, s in seen:
        if s is None:
            rows.append([run.label, "0", "-", "-", "-", "-"])
            continue
        rows.append(
            [
                run.label,
                str(len(run.probe_readings)),
                f"{s['parallelism']:.2f} of {run.capacity.get('cpus') or '?'}",
                f"{s['parallelism_min']:.2f}",
                f"{s['single_s'] * 1000:.1f}ms",
                f"{(s['single_s'] / first['single_s'] - 1) * 100:+.1f}%",
            ]
        )
    headers = ["run", "readings", "cores given (median)", "lowest", "probe loop", "loop vs first"]
    return [Table("The machine during each run (capacity probe)", headers, rows)]


def drift_warnings(runs: Sequence[Run], min_change_pct: float) -> list[str]:
    notes = []
    for run in runs[1:]:
        scenarios = dict.fromkeys(m.scenario for m in run.measurements)
        moved = {
            s: d for s in scenarios if (d := drift_pct(runs[0], run, s)) is not None and d > min_change_pct
        }
        if moved:
            worst = max(moved, key=moved.__getitem__)
            notes.append(
                f"the machine itself moved between {runs[0].label} and {run.label}: by up to "
                f"{moved[worst]:.0f}% ({worst}; capacity probe). Changes smaller than that in a "
                "scenario are reported as 'cannot tell from noise', not as slower or faster"
            )
        elif not run.probe_readings or not runs[0].probe_readings:
            notes.append(
                f"{run.label} or {runs[0].label} has no capacity probe readings: how much the machine "
                "moved between them is unknown, and only --min-change guards against it"
            )
    return notes


def compare_sides(
    before: Sequence[Run], after: Sequence[Run], min_change_pct: float = MIN_CHANGE_PCT
) -> Comparison:
    """Several runs per side: each case's run medians, before against after (Welch's t-test
    on their logarithms), so the run-to-run variance is inside the test."""
    runs = [*before, *after]
    result = Comparison(
        warnings=environment_warnings(runs) + quick_warnings(runs) + [w for r in runs for w in r.warnings()]
    )
    label_a = f"{before[0].label} (+{len(before) - 1} runs)" if len(before) > 1 else before[0].label
    label_b = f"{after[0].label} (+{len(after) - 1} runs)" if len(after) > 1 else after[0].label
    comparable = all(r.quick == runs[0].quick for r in runs)
    keys = dict.fromkeys(m.key for run in before for m in run.measurements)
    for key in keys:
        a = [m.median for run in before for m in run.measurements if m.key == key and m.median > 0]
        b = [m.median for run in after for m in run.measurements if m.key == key and m.median > 0]
        if not a or not b:
            continue
        pct = (statistics.median(b) / statistics.median(a) - 1) * 100
        p = median_test(a, b) if comparable else None
        verdict = _verdict(pct, p, min_change_pct, min_change_pct, comparable)
        median_a, median_b = statistics.median(a), statistics.median(b)
        change_ = Change(
            key[0],
            key[1],
            key[2],
            label_a,
            label_b,
            median_a,
            median_b,
            pct,
            p,
            verdict,
            min_change_pct,
            "the runs' own spread is in the test",
            key[3],
        )
        result.changes.append(change_)
    result.tables = machine_tables(runs) + _sides_tables(result.changes, label_a, label_b)
    return result


def median_test(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Two-sided p-value that two sets of run medians differ: Welch's t-test on their
    logarithms (a slowdown is a ratio); ``None`` with fewer than 2 runs on a side."""
    if len(a) < 2 or len(b) < 2:
        return None
    logs_a, logs_b = [math.log(v) for v in a], [math.log(v) for v in b]
    if statistics.pvariance(logs_a) == 0 and statistics.pvariance(logs_b) == 0:
        return 1.0 if statistics.fmean(logs_a) == statistics.fmean(logs_b) else 0.0
    from scipy.stats import ttest_ind  # type: ignore[import-untyped]

    return float(ttest_ind(logs_a, logs_b, equal_var=False).pvalue)


def _sides_tables(changes: Sequence[Change], label_a: str, label_b: str) -> list[Table]:
    tables = []
    for scenario in dict.fromkeys(c.scenario for c in changes):
        rows = [
            [c.label, fmt_time(c.baseline_median_s), _change_cell(c)]
            for c in sorted(
                (c for c in changes if c.scenario == scenario), key=lambda c: _rank(c.model, c.workers)
            )
        ]
        title = f"{scenario}: change of the runs' medians (Welch's t-test on logs, alpha {ALPHA})"
        tables.append(Table(title, ["case", label_a, label_b], rows))
    return tables


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
