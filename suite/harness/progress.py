"""Elapsed time and an estimate of what is left, on each case's result line.

The estimate weighs every case by its rounds (warm-up included): time per round so far,
times the rounds still to run. Cases differ in what a round costs, so the estimate moves
as the run goes; it is a guide, not a promise.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable


def fmt_duration(seconds: float) -> str:
    """``0:42``, ``12:05``, ``1:02:09``."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """Cases of a run by id with their weights; :meth:`done` marks one and says where the run is."""

    def __init__(self, weights: dict[str, int], clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._left = dict(weights)
        self._total = sum(weights.values())
        self._started = clock()

    def done(self, case_id: str) -> str | None:
        """Mark ``case_id`` finished; ``None`` if it is not a case of this run or was marked."""
        if self._left.pop(case_id, None) is None:
            return None
        elapsed = self._clock() - self._started
        remaining = sum(self._left.values())
        finished = self._total - remaining
        if not remaining:
            return f"{fmt_duration(elapsed)} elapsed"
        left = elapsed / finished * remaining if finished else 0.0
        return f"{fmt_duration(elapsed)} elapsed, ~{fmt_duration(left)} left"

    @classmethod
    def of(cls, cases: Iterable[tuple[str, int]], clock: Callable[[], float] = time.monotonic) -> Progress:
        return cls(dict(cases), clock)
