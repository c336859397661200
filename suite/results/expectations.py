"""A scenario's expectations judged against a run: holds, false here, or not settled.

A scenario may say what its results should show (``expect:``, see
:class:`suite.spec.scenario.Expectation`): "processes at least x1.5 as fast as threads",
"asyncio within 10% of uvloop". Each is judged per worker count from the two cases'
paired rounds (:func:`suite.results.paired.slower`: the per-cycle ratio with its 95%
interval), never from two medians taken at different moments: it holds when the whole
interval satisfies it, is false here when the whole interval misses it, and is not
settled otherwise (the machine was too noisy for the margin asked). Only a false one
makes ``suite run --check-expectations`` exit 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from suite.results.history import Measurement, Run
from suite.results.paired import Interval, slower
from suite.spec.scenario import Expectation, Scenario


@dataclass(frozen=True)
class Judged:
    """One expectation at one worker count of its model."""

    scenario: str
    expectation: Expectation
    #: ``processes-w4 vs threads-w4``; empty when nothing was measured.
    pair: str
    #: How many times as fast ``model`` was as ``than`` (their paired time ratio).
    speed: Interval | None
    state: str

    def __str__(self) -> str:
        figure = f": x{self.speed.value:.2f} as fast{_interval(self.speed)}" if self.speed else ""
        pair = f" ({self.pair}{figure})" if self.pair else ""
        return f"{self.state}: {self.scenario}: {self.expectation}{pair}"


#: What an expectation is, judged: the whole interval satisfies it, misses it, or straddles
#: the line; or the run did not measure it.
HOLDS, FALSE, NOT_SETTLED, NOT_MEASURED = "holds", "FALSE here", "not settled", "not measured"


def _interval(speed: Interval) -> str:
    if speed.high == float("inf"):
        return ", too few paired rounds to tell"
    if speed.low == speed.high:
        return " (medians: not paired)"
    return f" [{speed.low:.2f}, {speed.high:.2f}]"


def state(expectation: Expectation, speed: Interval) -> str:
    """The verdict on ``speed`` (``than``'s time over ``model``'s, with its interval)."""
    if expectation.at_least is not None:
        if speed.low >= expectation.at_least:
            return HOLDS
        return FALSE if speed.high < expectation.at_least else NOT_SETTLED
    assert expectation.within is not None
    top = 1 + expectation.within  # the time ratio model/than = 1/speed, within [1/top, top]
    if speed.high <= top and speed.low >= 1 / top:
        return HOLDS
    return FALSE if speed.low > top or speed.high < 1 / top else NOT_SETTLED


def _counterpart(case: Measurement, others: Sequence[Measurement]) -> Measurement | None:
    """``than``'s case at the same worker count, or its only one (sequential's w1)."""
    same = [m for m in others if m.workers == case.workers]
    if same:
        return same[0]
    return others[0] if len(others) == 1 else None


def judge(scenario: str, expectation: Expectation, cases: Iterable[Measurement]) -> list[Judged]:
    """``expectation`` at each worker count of its model that ran, among ``cases``."""
    batch = [m for m in cases if m.scenario == scenario and m.point is None and not m.record.side]
    mine = [m for m in batch if m.model == expectation.model]
    if expectation.workers is not None:
        mine = [m for m in mine if m.workers == expectation.workers]
    others = [m for m in batch if m.model == expectation.than]
    found = []
    for case in sorted(mine, key=lambda m: m.workers or 0):
        other = _counterpart(case, others)
        if other is None:
            continue
        speed = slower(case, other)
        found.append(
            Judged(scenario, expectation, f"{case.label} vs {other.label}", speed, state(expectation, speed))
        )
    return found or [Judged(scenario, expectation, "", None, NOT_MEASURED)]


def judge_run(run: Run, scenarios: Sequence[Scenario]) -> list[Judged]:
    """Every expectation of ``scenarios`` that ran in ``run``."""
    ran = {m.scenario for m in run.measurements}
    return [
        judged
        for scenario in scenarios
        if scenario.name in ran
        for expectation in scenario.expect
        for judged in judge(scenario.name, expectation, run.measurements)
    ]


def render(judged: Sequence[Judged]) -> list[str]:
    """The lines ``suite run`` prints: every verdict, false ones first, then a count."""
    if not judged:
        return []
    order = {FALSE: 0, NOT_SETTLED: 1, NOT_MEASURED: 2, HOLDS: 3}
    lines = [f"expectations ({len(judged)}):"]
    lines += [f"  {j}" for j in sorted(judged, key=lambda j: order[j.state])]
    false = sum(j.state == FALSE for j in judged)
    unsettled = sum(j.state == NOT_SETTLED for j in judged)
    lines.append(
        f"  {sum(j.state == HOLDS for j in judged)} hold, {false} false here, {unsettled} not settled"
        + (
            " (the interval straddles the line: rerun on a quieter machine or with more rounds)"
            if unsettled
            else ""
        )
    )
    return lines
