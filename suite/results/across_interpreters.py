"""The "Across interpreters" section of ``docs/findings.md``: one run of a few scenarios
under several interpreters (``suite run --python A --python B ...``), whose cases ran side
by side, so one interpreter's figures compare with another's within the same moments.

Every figure and verdict comes from the run; nothing is written by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from suite.results.compare import Baseline
from suite.results.feeds import Feeds
from suite.results.history import Measurement, Run
from suite.results.summary import busy_not_faster, fmt_time
from suite.spec import registry

#: The models the tables show (the run file has the others): the choices the question is about.
FOCUS = ("sequential", "asyncio", "threads", "interpreters", "processes")
#: Threads "are the answer" when they come this close to the best model on the same interpreter.
CLOSE = 0.9
MIB = 2**20


@dataclass
class Verdict:
    claim: str
    verdict: str
    evidence: list[str] = field(default_factory=list)


def version_key(label: str) -> tuple[tuple[int, ...], str]:
    """``cpython-3.13.0t (GIL off)`` sorts by its version numbers, then by build."""
    version = label.split("-", 1)[-1].split()[0].rstrip("t")
    return tuple(int(p) for p in version.split(".") if p.isdigit()), label


class ByInterpreter:
    """Runs' cases by scenario and interpreter. With several runs, each scenario's cases
    come from the last run that has it, so they all met the same moments."""

    def __init__(self, runs: Run | Sequence[Run], feeds: Feeds | None = None) -> None:
        self.runs = [runs] if isinstance(runs, Run) else list(runs)
        #: Which scenario plays which part in a claim (the scenario files say).
        self.feeds = feeds or Feeds()
        self.source = {scenario: run for run in self.runs for scenario in run.scenarios}
        self.measurements = [
            m for run in self.runs for m in run.measurements if self.source[m.scenario] is run
        ]
        self.unmeasured = [
            c for run in self.runs for c in run.unmeasured if self.source.get(str(c.scenario)) is run
        ]
        self.cases: dict[tuple[str, str], list[Measurement]] = {}
        for m in self.measurements:
            self.cases.setdefault((m.scenario, m.interpreter), []).append(m)
        labels = {m.interpreter for m in self.measurements} | {
            str(c.interpreter) for c in self.unmeasured if c.interpreter
        }
        self.interpreters = sorted(labels, key=version_key)
        self.scenarios = list(dict.fromkeys(m.scenario for m in self.measurements))

    def free_threaded(self) -> list[str]:
        return [i for i in self.interpreters if any(m.record.free_threaded for m in self.under(i))]

    def under(self, interpreter: str) -> list[Measurement]:
        """Every case the interpreter ran, in any scenario."""
        return [m for (_, i), ms in self.cases.items() if i == interpreter for m in ms]

    def of(self, scenario: str, interpreter: str) -> list[Measurement]:
        return self.cases.get((scenario, interpreter), [])

    def everywhere(self, scenario: str) -> list[Measurement]:
        """The scenario's cases under every interpreter."""
        return [m for i in self.interpreters for m in self.of(scenario, i)]

    def at(
        self, scenario: str, interpreter: str, model: str, workers: int | None = None
    ) -> Measurement | None:
        """The model's case at ``workers`` (default: its fastest)."""
        found = [m for m in self.of(scenario, interpreter) if m.model == model]
        if workers is not None:
            found = [m for m in found if m.workers == workers]
        return min(found, key=lambda m: m.median, default=None)

    def baseline(self) -> Baseline | None:
        """The oldest GIL build's sequential case: what "before migrating" ran."""
        gil = [i for i in self.interpreters if i not in self.free_threaded()]
        return Baseline(gil[0].split(" (")[0], "sequential") if gil else None


def _x(value: float | None) -> str:
    return "-" if value is None else f"x{value:.2f}"


def _speedup(m: Measurement | None) -> float | None:
    return float(m.record.speedup) if m is not None and m.record.speedup else None


def headline_workers(cases: Sequence[Measurement]) -> int | None:
    """The worker count a scenario's table shows: the fewest above one (2 on this machine)."""
    levels = sorted({m.workers for m in cases if m.workers and m.model != "sequential"})
    above_one = [w for w in levels if w > 1]
    return above_one[0] if above_one else (levels[0] if levels else None)


def scenario_table(data: ByInterpreter, scenario: str) -> list[str]:
    """Rows = interpreters, columns = models at the headline worker count: speedup over the
    same interpreter's sequential, over the run's baseline, and parallelism."""
    everything = data.everywhere(scenario)
    workers = headline_workers(everything)
    known = list(registry.runners())
    present = {m.model for m in everything}
    models = sorted(
        (present & set(FOCUS)) or present, key=lambda n: known.index(n) if n in known else len(known)
    )
    baseline = data.baseline()
    base = baseline.find(everything) if baseline is not None else None
    lines = [
        f"| interpreter | {' | '.join(m if m == 'sequential' else f'{m} ({workers})' for m in models)} |",
        "|---|" + "---|" * len(models),
    ]
    for interp in data.interpreters:
        cells = []
        for model in models:
            m = data.at(scenario, interp, model, None if model == "sequential" else workers)
            if m is None:
                cells.append("-")
                continue
            parts = [fmt_time(m.median)]
            if model != "sequential":
                parts.append(_x(_speedup(m)))
            if base is not None and m is not base:
                parts.append(f"({_x(base.median / m.median)})")
            if m.record.parallelism and model != "sequential":
                parts.append(f"∥{m.record.parallelism:.1f}")
            cells.append(" ".join(parts))
        lines.append(f"| {interp} | {' | '.join(cells)} |")
    return lines


def memory_table(data: ByInterpreter, scenario: str) -> list[str]:
    """Start-up at the most workers, and memory each added worker costs (PSS of the tree)."""
    lines = ["| interpreter | model | start-up | memory per added worker |", "|---|---|---|---|"]
    for interp in data.interpreters:
        for model in ("threads", "interpreters", "processes"):
            cases = sorted(
                (m for m in data.of(scenario, interp) if m.model == model and m.record.pss_bytes),
                key=lambda m: m.workers or 0,
            )
            if len(cases) < 2:
                continue
            low, high = cases[0], cases[-1]
            per_worker = ((high.record.pss_bytes or 0) - (low.record.pss_bytes or 0)) / (
                (high.workers or 1) - (low.workers or 1)
            )
            startup = high.record.startup_s
            lines.append(
                f"| {interp} | {model} | {fmt_time(startup) if startup is not None else '-'} at "
                f"{high.workers} workers | {per_worker / MIB:.1f} MiB |"
            )
    return lines if len(lines) > 2 else []


def free_threaded_threads(data: ByInterpreter) -> Verdict:
    """ "Free-threaded Python makes threads the answer for CPU work", checked."""
    claim, key = "Free-threaded Python makes threads the answer for CPU work", "free-threaded-threads"
    cpu, task_local = data.feeds.first(key, "gil-bound"), data.feeds.first(key, "task-local")
    free = data.free_threaded()
    if not free or cpu not in data.scenarios:
        return Verdict(claim, "Not measured in this run", [f"needs {cpu} under a free-threaded build"])
    evidence, answers = [], []
    baseline = data.baseline()
    for interp in free:
        threads, procs = data.at(cpu, interp, "threads"), data.at(cpu, interp, "processes")
        subs = data.at(cpu, interp, "interpreters")
        local = data.at(task_local, interp, "threads")
        local_procs = data.at(task_local, interp, "processes")
        if threads is None or procs is None:
            continue
        best_other = min((m for m in (procs, subs) if m is not None), key=lambda m: m.median)
        line = (
            f"{cpu} on {interp}: threads {_x(_speedup(threads))} ({threads.workers} workers, "
            f"∥{threads.record.parallelism or 0:.1f}), processes {_x(_speedup(procs))}"
            + (f", subinterpreters {_x(_speedup(subs))}" if subs is not None else "")
        )
        evidence.append(line)
        own_seq = data.at(cpu, interp, "sequential")
        why = busy_not_faster(threads.record, own_seq.record if own_seq else None)
        if why:
            evidence.append(f"threads on {interp}: {why}")
        if local is not None:
            evidence.append(
                f"{data.feeds.named(key, 'task-local', task_local)} on {interp}: threads "
                f"{_x(_speedup(local))} (∥{local.record.parallelism or 0:.1f})"
                + (f", processes {_x(_speedup(local_procs))}" if local_procs is not None else "")
            )
        base = baseline.find(data.everywhere(cpu)) if baseline else None
        gil_procs = data.at(cpu, base.interpreter, "processes") if base is not None else None
        if base is not None and gil_procs is not None:
            evidence.append(
                f"against {base.interpreter}'s sequential, in the same run: threads on {interp} "
                f"{_x(base.median / threads.median)}, processes on {base.interpreter} "
                f"{_x(base.median / gil_procs.median)}; sequential on {interp} "
                f"{_x(base.median / own_seq.median) if own_seq else '-'}"
            )
        shared_close = threads.median <= best_other.median / CLOSE
        local_close = (
            local is not None and local_procs is not None and local.median <= local_procs.median / CLOSE
        )
        answers.append((interp, shared_close, local_close, local is not None))
    if not answers:
        return Verdict(claim, "Not measured in this run", ["needs threads and processes in cpu-python"])
    interp, shared_close, local_close, has_local = answers[0]
    if shared_close:
        verdict = f"True here on {interp}: threads kept up with processes on pure-Python work"
    elif local_close:
        verdict = (
            f"Only for code that shares no objects, on {interp}: threads matched processes when each task "
            "made its own objects, and lost to them on the same loop with shared constants (contention "
            "on reference counts: both cores busy, little faster)"
        )
    else:
        verdict = f"False here on {interp}: processes and subinterpreters beat threads on pure-Python work"
        if not has_local:
            verdict += " (run cpu-python-local to tell contention from a lack of parallelism)"
    return Verdict(claim, verdict, evidence)


def lost_updates_table(data: ByInterpreter, scenario: str) -> list[str]:
    """A shared-state scenario: per interpreter and case, the updates lost (a correct case
    lost none: it is the one saved as a measurement)."""
    cells: dict[tuple[str, str], str] = {}
    for m in data.everywhere(scenario):
        cells[(m.interpreter, m.label)] = "none lost"
    for c in data.unmeasured:
        if c.scenario == scenario and c.lost is not None:
            label = f"{c.model}-w{c.workers}"
            lost, tried = c.lost
            cells[(str(c.interpreter), label)] = f"**{lost:,}** of {tried:,} ({lost / tried:.1%})"
    if not cells:
        return []
    known = list(registry.runners())

    def rank(label: str) -> tuple[int, int]:
        model, _, workers = label.rpartition("-w")
        return (known.index(model) if model in known else len(known), int(workers or 0))

    labels = sorted({label for _, label in cells}, key=rank)
    lines = [f"| interpreter | {' | '.join(labels)} |", "|---|" + "---|" * len(labels)]
    for interp in data.interpreters:
        row = [cells.get((interp, label), "-") for label in labels]
        if any(cell != "-" for cell in row):
            lines.append(f"| {interp} | {' | '.join(row)} |")
    return lines


def render_section(
    runs: Run | Sequence[Run], plots: dict[str, list[str]], feeds: Feeds | None = None
) -> list[str]:
    """The section's lines; empty when the runs have only one interpreter."""
    data = ByInterpreter(runs, feeds)
    if len(data.interpreters) < 2:
        return []
    files = " and ".join(f"`{run.path.name}` ({run.datetime or 'unknown date'})" for run in data.runs)
    out = [
        "## Across interpreters",
        "",
        f"From {files}: every case of these scenarios "
        f"under {', '.join(data.interpreters)}, all cases of a scenario side by side (one round "
        "of each per cycle, in shuffled order), so the interpreters met the same moments of the "
        "machine. In each cell: the median round, the speedup over the same interpreter's "
        "sequential case, in brackets the speedup over "
        + (f"`{data.baseline()}`" if data.baseline() else "the first interpreter's sequential")
        + " (the migration question in one number), and the parallelism (CPU time over wall time). "
        "Columns: the models this question is about; the run file has every case.",
        "",
    ]
    verdict = free_threaded_threads(data)
    out += [f"### \u201c{verdict.claim}\u201d", "", f"**{verdict.verdict}.**", ""]
    out += [f"- {line}" for line in verdict.evidence]
    out.append("")
    shared = list(dict.fromkeys(str(c.scenario) for c in data.unmeasured if c.lost is not None))
    shared += [
        s
        for s in data.scenarios
        if s not in shared and any(m.record.workload == "shared" for m in data.everywhere(s))
    ]
    for scenario in shared:
        out += [
            f"### {scenario}: lost updates by interpreter",
            "",
            "Updates lost out of those tried (tasks x updates over every round); a case that lost "
            "any is reported incorrect and saved without timings.",
            "",
            *lost_updates_table(data, scenario),
            "",
        ]
        if data.everywhere(scenario):
            out += ["Medians of the cases that lost nothing:", "", *scenario_table(data, scenario), ""]
    batch = [
        s
        for s in data.scenarios
        if s not in shared and not any(m.point is not None for m in data.everywhere(s))
    ]
    for scenario in batch:
        out += [f"### {scenario} by interpreter", "", *scenario_table(data, scenario), ""]
        if scenario in data.feeds.fed("processes-cost-memory", "memory"):
            memory = memory_table(data, scenario)
            if memory:
                out += ["Start-up and memory each added worker costs:", "", *memory, ""]
        why = []
        for interp in data.interpreters:
            cases = data.of(scenario, interp)
            seq = next((m for m in cases if m.model == "sequential"), None)
            for m in cases:
                text = busy_not_faster(m.record, seq.record if seq else None)
                if text:
                    why.append(f"- {m.label} on {interp}: {text}")
        out += [*why, ""] if why else []
        pictures = [f"![{scenario} by interpreter]({p})" for p in plots.get(scenario, [])]
        out += [*pictures, ""] if pictures else []
    same: list[str] = []
    differ: list[str] = []
    for scenario in batch:
        sums = {m.record.checksum for m in data.everywhere(scenario)}
        (same if len(sums) == 1 else differ).append(scenario)
    if same:
        out.append(
            f"- Same checksum for every model under every interpreter (the same work everywhere): "
            f"{', '.join(same)}."
        )
    if differ:
        out.append(f"- Checksums differ between cases (not the same work): {', '.join(differ)}.")
    return [*out, ""]
