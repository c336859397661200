"""Verdicts inside one run from paired rounds: who beats whom, and whether a claim holds.

The cases of a scenario run in shuffled cycles, one round of each per cycle, so two
cases' rounds of the same cycle met the same moment of the machine. The ratio of two
cases is read cycle by cycle, as a median with a distribution-free 95% interval, and a
verdict is drawn only when that interval clears a practical floor or threshold: a
rerun may then move a verdict between settled and not settled, not to its opposite.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from suite.results import robust
from suite.results.history import Measurement

#: A case beats another only when their paired ratio's interval clears this floor.
FLOOR = 0.05
#: Cases not paired by cycle were measured at different moments (a case that runs alone,
#: a plain pytest-benchmark file): one beats the other only beyond this, however many
#: rounds each has. web-fanout-10k's asyncio and uvloop run alone, one after the other:
#: over six back-to-back full runs uvloop was 1-6% ahead in five and asyncio 2.5% ahead
#: in one, and in another uvloop's five rounds all ran 10-20% under asyncio's, measured
#: 20 s later. Two numbers taken at different moments here cannot settle a 20% question.
UNPAIRED_FLOOR = 0.25
#: Fewest paired rounds a verdict rests on: the range of 5 ratios holds their median with
#: 94% confidence, of 6 with 97% (robust.median_interval); of 4, only 88%.
MIN_CYCLES = 5
#: What a claim is when its figure's interval straddles the line it is judged by.
NOT_SETTLED = "Not settled on this machine"


@dataclass(frozen=True)
class Interval:
    """A ratio with its 95% interval (``low == value == high`` when only a point is known)."""

    value: float
    low: float
    high: float

    def above(self, line: float) -> bool:
        return self.low > line

    def below(self, line: float) -> bool:
        return self.high < line

    @classmethod
    def unknown(cls, value: float) -> Interval:
        """A figure with too few paired rounds behind it to settle anything."""
        return cls(value, 0.0, math.inf)

    def __str__(self) -> str:
        if math.isinf(self.high):
            return f"x{self.value:.2f} (too few paired rounds to tell)"
        if self.low == self.high == self.value:
            return f"x{self.value:.2f}"
        return f"x{self.value:.2f} [{self.low:.2f}, {self.high:.2f}]"


def by_cycle(m: Measurement) -> dict[int, float]:
    """A case's measured rounds by the cycle they ran in (runs saved before cycles were kept
    get them in :func:`suite.results.history.migrate`); empty for a case that ran alone."""
    cycles = m.record.cycles or []
    return dict(zip((int(c) for c in cycles), m.rounds, strict=False))


def ratio(a: Measurement, b: Measurement) -> Interval | None:
    """``b``'s rounds over ``a``'s, paired by cycle; ``None`` when they were not paired
    (different runs or groups, a case that ran alone) or share fewer than 2 cycles."""
    if a.scenario != b.scenario or a.record.side != b.record.side:
        return None
    ca, cb = by_cycle(a), by_cycle(b)
    values = [cb[c] / ca[c] for c in sorted(ca.keys() & cb.keys()) if ca[c] > 0]
    if len(values) < MIN_CYCLES:
        return None
    return Interval(*robust.median_with_interval(values))


def speedup(m: Measurement) -> Interval | None:
    """The case's paired speedup over sequential with its interval, or its point figure."""
    value = m.record.speedup
    if not value:
        return None
    interval = m.record.speedup_interval
    planned = len(m.rounds) - int(m.record.extra_rounds or 0)  # the cycles sequential ran in
    if m.record.paired and planned < MIN_CYCLES and m.model != "sequential":
        return Interval.unknown(float(value))
    if isinstance(interval, list) and len(interval) == 2:
        return Interval(float(value), float(interval[0]), float(interval[1]))
    return Interval(float(value), float(value), float(value))


def fastest_first(cases: Sequence[Measurement]) -> list[Measurement]:
    """``cases`` from fastest to slowest: by their paired speedup over sequential when every
    one has it (each cycle's sequential round over the case's, so the machine's moves
    cancel), else by median round."""
    if cases and all(m.record.paired and m.record.speedup for m in cases):
        return sorted(cases, key=lambda m: (-(m.record.speedup or 0.0), m.median))
    return sorted(cases, key=lambda m: m.median)


def slower(winner: Measurement, other: Measurement) -> Interval:
    """How much longer ``other`` takes than ``winner``: paired, or the ratio of medians."""
    found = ratio(winner, other)
    if found is not None:
        return found
    point = other.median / winner.median if winner.median > 0 else float("inf")
    if by_cycle(winner) and by_cycle(other):  # paired, but over too few rounds
        return Interval.unknown(point)
    return Interval(point, point, point)


def beaten(winner: Measurement, other: Measurement, floor: float = FLOOR) -> bool:
    """Whether ``winner`` clearly beats ``other``: the paired ratio's interval lies above
    1 + ``floor``. Cases that were not paired must differ significantly (Mann-Whitney U on
    their rounds), where their rounds can be tested at all, and by more than
    :data:`UNPAIRED_FLOOR`: they met the machine at different moments."""
    found = ratio(winner, other)
    if found is not None:
        return found.above(1 + floor)
    beyond = other.median > (1 + max(floor, UNPAIRED_FLOOR)) * winner.median
    p = robust.p_value(winner.rounds, other.rounds)
    # Too few rounds to test at all (a --quick look): the medians decide, and the reader is
    # told the rounds are too few.
    return beyond if p is None else p < robust.ALPHA and beyond
