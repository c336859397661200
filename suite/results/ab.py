"""A change told from noise: the two sides of ``suite ab``, paired cycle by cycle.

Two runs taken at different moments of a shared machine differ by more than most
changes worth knowing about. ``suite ab`` runs both sides of every case in one run
instead: each cycle runs a round of side A and a round of side B back to back, in
shuffled order, so both meet the same moment of the machine. The change is the median of
the per-cycle ``log(B / A)``, with a distribution-free 95% interval (order statistics);
it is called only when a 99% interval excludes no change, the change is beyond a practical
floor and two pairs of worker processes saw it. A case whose 95% interval lies inside the
floor either way is settled as ``same``; anything else is ``not settled``, never a guess.

Pure functions of saved numbers, so the rules are tested with made-up rounds.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from suite.results import paired, robust
from suite.results.history import Run

#: Default practical floor: a paired change smaller than this is not worth a verdict here.
FLOOR = 0.05
#: A change is called only after this many pairs of worker processes saw it (each keeps
#: an offset of its own, up to 1.5% here).
MIN_PAIRS = 2
#: Fewest paired cycles a verdict rests on (see :data:`suite.results.paired.MIN_CYCLES`).
MIN_CYCLES = 5
#: A change is called from a 99% interval, which takes 8 paired cycles or more (their
#: range holds the median with 99.2% confidence).
CHANGE_CONFIDENCE = 0.99
CHANGE_CYCLES = 8
#: An instruction count that moved more than this is a change in the work itself.
COUNT_CHANGE = 0.01

SLOWER, FASTER, SAME, NOT_SETTLED = "slower", "faster", "same", "not settled"


@dataclass(frozen=True)
class PairedChange:
    """Side B against side A for one case: ``ratio`` = median per-cycle B / A."""

    ratio: float
    low: float
    high: float
    cycles: int
    pairs: int
    verdict: str

    @property
    def settled(self) -> bool:
        return self.verdict != NOT_SETTLED

    @property
    def change_pct(self) -> float:
        return (self.ratio - 1) * 100

    def __str__(self) -> str:
        return (
            f"x{self.ratio:.3f} [{self.low:.3f}, {self.high:.3f}] ({self.cycles} cycles, {self.pairs} pairs)"
        )


def log_ratios(a: Mapping[int, float], b: Mapping[int, float]) -> list[float]:
    """log(B/A) of each cycle both sides ran in, in cycle order."""
    return [math.log(b[c] / a[c]) for c in sorted(a.keys() & b.keys()) if a[c] > 0 and b[c] > 0]


def paired_change(
    a: Mapping[int, float],
    b: Mapping[int, float],
    floor: float = FLOOR,
    pairs: int = 1,
    min_pairs: int = MIN_PAIRS,
) -> PairedChange | None:
    """The change from A to B over the cycles both ran in; ``None`` with fewer than 2.

    :param floor: the practical floor, as a fraction (0.05: 5%)
    :param pairs: how many pairs of worker processes measured the rounds
    :param min_pairs: pairs needed to call a change whose interval does not clear the floor
    """
    logs = log_ratios(a, b)
    if len(logs) < 2:
        return None
    middle, low, high = robust.median_with_interval(logs)
    edge = math.log1p(floor)
    verdict = NOT_SETTLED
    if len(logs) >= CHANGE_CYCLES and pairs >= min_pairs:
        # Calling a change takes more than calling none: a 99% interval, so that among the
        # dozens of cases of a run a false change stays rare.
        strict_low, strict_high = robust.median_interval(logs, CHANGE_CONFIDENCE)
        if (strict_low > 0 or strict_high < 0) and abs(middle) >= edge:
            verdict = SLOWER if middle > 0 else FASTER
    if verdict == NOT_SETTLED and len(logs) >= MIN_CYCLES and -edge <= low and high <= edge:
        verdict = SAME
    return PairedChange(math.exp(middle), math.exp(low), math.exp(high), len(logs), pairs, verdict)


#: How far a case's projected interval may miss a verdict and still get extra cycles: the
#: projection is rough, so a case is given up only when it misses by a wide margin.
REACH_SLACK = 1.25


def reachable(a: Mapping[int, float], b: Mapping[int, float], more: int, floor: float = FLOOR) -> bool:
    """Whether ``more`` cycles could plausibly settle a case that is not settled yet.

    The spread of the per-cycle log(B/A) (its MAD, robust to a round that met a slow
    core) projects the interval of their median after ``more`` cycles; a case that could
    become neither ``same`` nor a change beyond the floor, even with
    :data:`REACH_SLACK` to spare, is not worth the machine's time: on a noisy machine
    its extra cycles only buy a narrower "not settled".
    """
    logs = log_ratios(a, b)
    if len(logs) < MIN_CYCLES:
        return True
    middle = statistics.median(logs)
    sigma = 1.4826 * statistics.median(abs(x - middle) for x in logs)
    # The median's standard error, for normal-like noise: 1.2533 sigma / sqrt(n).
    error = 1.2533 * sigma / math.sqrt(len(logs) + more)
    edge = math.log1p(floor)
    could_be_same = abs(middle) + 1.96 * error <= edge * REACH_SLACK
    could_change = abs(middle) >= edge / REACH_SLACK and 2.576 * error <= abs(middle) * REACH_SLACK
    return could_be_same or could_change


def work_moved(moved: float) -> bool:
    """Whether an instruction count that moved by ``moved`` (a fraction) is more work or less."""
    return abs(moved) > COUNT_CHANGE


def count_note(a: float | None, b: float | None) -> str | None:
    """What the instruction counts say of the work itself, if both sides have one."""
    if not a or not b:
        return None
    moved = b / a - 1
    if work_moved(moved):
        return f"work {moved * 100:+.1f}% (instruction count)"
    return "same work (instruction count)"


def calibrated_floor(changes: Sequence[PairedChange], least: float = 0.01) -> float | None:
    """The 95th percentile of the changes an A/A run saw, as a floor (at least ``least``)."""
    sizes = sorted(abs(math.log(c.ratio)) for c in changes)
    if not sizes:
        return None
    rank = min(len(sizes) - 1, math.ceil(0.95 * len(sizes)) - 1)
    return max(least, math.expm1(sizes[rank]))


@dataclass(frozen=True)
class CaseAB:
    """One case of an A/B run: both sides' medians, the paired change and the counts."""

    scenario: str
    label: str
    median_a: float
    median_b: float
    change: PairedChange | None
    count_a: float | None = None
    count_b: float | None = None
    #: Why a side has no measurement, when it failed.
    missing: str | None = None

    @property
    def verdict(self) -> str:
        return self.change.verdict if self.change else NOT_SETTLED

    @property
    def work(self) -> str | None:
        return count_note(self.count_a, self.count_b)


@dataclass
class ABResult:
    cases: list[CaseAB] = field(default_factory=list)
    sides: dict[str, str] = field(default_factory=dict)
    floor: float = FLOOR

    def slower_than(self, pct: float) -> list[CaseAB]:
        return [c for c in self.cases if c.verdict == SLOWER and c.change and c.change.change_pct > pct]


def analyse_run(run: Run) -> list[CaseAB]:
    """Each case of a saved ``suite ab`` run, judged with the floor and pairs it ran with."""
    pairs = run.ab.get("pairs")
    min_pairs = min(MIN_PAIRS, int(pairs)) if isinstance(pairs, int) else MIN_PAIRS
    return analyse(run.measurements, run.floor or FLOOR, min_pairs)


def analyse(measurements: Sequence[Any], floor: float = FLOOR, min_pairs: int = MIN_PAIRS) -> list[CaseAB]:
    """Each case of a saved A/B run (measurements with ``side`` A and B in their info)."""
    sides: dict[tuple[str, str], dict[str, Any]] = {}
    for m in measurements:
        side = m.record.side
        if side in ("A", "B"):
            sides.setdefault((m.scenario, m.label), {})[side] = m
    found = []
    for (scenario, label), pair in sides.items():
        a, b = pair.get("A"), pair.get("B")
        if a is None or b is None:
            found.append(
                CaseAB(
                    scenario,
                    label,
                    a.median if a else 0.0,
                    b.median if b else 0.0,
                    None,
                    missing=f"side {'A' if a is None else 'B'} has no measurement",
                )
            )
            continue
        pairs = min(int(a.record.worker_processes or 1), int(b.record.worker_processes or 1))
        cycles_a, cycles_b = paired.by_cycle(a), paired.by_cycle(b)
        change = paired_change(cycles_a, cycles_b, floor, pairs, min_pairs)
        missing = None if cycles_a and cycles_b else "ran alone, not paired (see the run's warnings)"
        found.append(
            CaseAB(
                scenario,
                label,
                statistics.median(a.rounds) if a.rounds else a.median,
                statistics.median(b.rounds) if b.rounds else b.median,
                change,
                a.record.instructions_per_task,
                b.record.instructions_per_task,
                missing,
            )
        )
    return found


def _fmt_change(c: CaseAB) -> str:
    if c.change is None:
        return c.missing or "-"
    ch = c.change
    return f"x{ch.ratio:.3f} [{ch.low:.3f}, {ch.high:.3f}]"


def rows(result: ABResult) -> list[dict[str, Any]]:
    """One record per case, for every output format."""
    from suite.results.summary import fmt_time

    return [
        {
            "scenario": c.scenario,
            "case": c.label,
            "A": fmt_time(c.median_a) if c.median_a else "-",
            "B": fmt_time(c.median_b) if c.median_b else "-",
            "B/A (95% interval)": _fmt_change(c),
            "cycles": str(c.change.cycles) if c.change else "-",
            "pairs": str(c.change.pairs) if c.change else "-",
            "verdict": c.verdict,
            "work": c.work or "",
        }
        for c in result.cases
    ]


def tally(result: ABResult) -> str:
    counts = {v: sum(c.verdict == v for c in result.cases) for v in (SLOWER, FASTER, SAME, NOT_SETTLED)}
    return f"{len(result.cases)} cases: " + ", ".join(f"{n} {v}" for v, n in counts.items())


def render_text(result: ABResult) -> str:
    out = [f"side {name}: {label}" for name, label in result.sides.items()]
    out.append(
        f"B/A is the median of each cycle's B round over its A round, with its 95% interval; "
        f"slower or faster only when the interval excludes no change and the change is beyond "
        f"{result.floor * 100:.1f}%, same when the interval lies within it"
    )
    records = rows(result)
    for scenario in dict.fromkeys(r["scenario"] for r in records):
        table = [r for r in records if r["scenario"] == scenario]
        headers = [h for h in table[0] if h != "scenario"]
        if not any(r["work"] for r in table):
            headers.remove("work")
        widths = [max(len(h), *(len(r[h]) for r in table)) for h in headers]
        out += ["", scenario]
        out.append("  " + "  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True)))
        for r in table:
            out.append("  " + "  ".join(r[h].rjust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    out += ["", tally(result)]
    return "\n".join(out) + "\n"
