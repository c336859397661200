"""Steps in a series of runs: where a case's figure moved to another level, and stayed.

The search is PELT (Killick, Fearnhead and Eckley, 2012) as `ruptures` implements it in
C (``KernelCPD`` with the linear kernel: the least-squares cost): the exact best
segmentation for a cost plus a penalty per change, in linear time on average, fast
enough for a thousand runs of every case. Chosen over E-Divisive means (MongoDB's
``signal-processing-algorithms``) for being one small, well-kept library on numpy and
scipy, already dependencies here, and exact rather than permutation-driven; the
significance E-Divisive gets from permutations comes here from a rank test of each
step's two sides. Details:

- values are taken as logarithms, so a step is a ratio (+15% is the same step at any
  level);
- timings are searched as ranks: a run on one of the VM's slow moments is one rank
  however slow it was, and ranks' variance is known (1/12 of the range squared), so the
  penalty needs no estimate of the noise. Steady series (instruction counts, whose
  run-to-run spread is under :data:`NOISE_FLOOR`) are searched as they are, with that
  floor as their noise, so a 1% step in the work is found;
- each step must then be at least ``min_size`` (a practical floor: no one acts on 2%)
  and its two sides must differ by a Mann-Whitney test at ``alpha`` (Welch's t-test for
  series that agree run to run, such as instruction counts); its confidence is one minus
  that p-value. A rank test needs seven runs a side to reach 0.001.

``tox -e history-truth`` measures how often this finds a known step, and how often it
finds one where there is none.
"""

from __future__ import annotations

import math
import statistics
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: Fewest runs on either side of a step.
MIN_SEGMENT = 3
#: The run-to-run noise assumed at least (as a log ratio): counts that agree exactly
#: still find only steps beyond this.
NOISE_FLOOR = 0.002
#: PELT's penalty per change, in units of the searched signal's variance times log(n).
PENALTY = 3.0
#: The rank test's level for a step's two sides.
ALPHA = 0.001


@dataclass(frozen=True)
class Step:
    """The series moved from ``before`` to ``after`` at position ``at`` (the first value
    at the new level)."""

    at: int
    before: float
    after: float
    p: float

    @property
    def size(self) -> float:
        """The change as a share: +0.15 is 15% higher."""
        return self.after / self.before - 1 if self.before else math.inf

    @property
    def confidence(self) -> float:
        return 1 - self.p


def noise(logs: Sequence[float]) -> float:
    """The series' run-to-run noise: a robust spread of neighbours' differences (a step
    moves one difference, not the spread of all of them)."""
    import numpy as np

    if len(logs) < 3:
        return NOISE_FLOOR
    diffs = np.diff(np.asarray(logs, dtype=float))
    mad = float(np.median(np.abs(diffs - np.median(diffs))))
    return max(1.4826 * mad / math.sqrt(2), NOISE_FLOOR)


#: How far (in runs) a step found among ranks may move when placed by the values.
PLACE_WITHIN = 3


def _l1(part: Any) -> float:
    import numpy as np

    return float(np.abs(part - np.median(part)).sum())


def _placed(logs: Any, bounds: list[int], min_segment: int) -> list[int]:
    """Each step moved to where the values (not their ranks) put it, within
    :data:`PLACE_WITHIN` runs: ranks keep a slow run from making a step, but they do not
    see that the last run before a step sat far below the first after it."""
    placed = list(bounds)
    for i in range(1, len(placed) - 1):
        low, high = placed[i - 1] + min_segment, placed[i + 1] - min_segment
        options = range(max(low, placed[i] - PLACE_WITHIN), min(high, placed[i] + PLACE_WITHIN) + 1)
        placed[i] = min(
            options,
            key=lambda c: (_l1(logs[placed[i - 1] : c]) + _l1(logs[c : placed[i + 1]]), abs(c - placed[i])),
            default=placed[i],
        )
    return placed


def find_steps(
    values: Sequence[float],
    *,
    min_size: float,
    alpha: float = ALPHA,
    penalty: float = PENALTY,
    min_segment: int = MIN_SEGMENT,
) -> list[Step]:
    """The steps in ``values`` (positive figures, oldest first) at least ``min_size``
    (0.05 for 5%) and significant at ``alpha``."""
    import numpy as np
    import ruptures
    from scipy.stats import mannwhitneyu, rankdata, ttest_ind  # type: ignore[import-untyped]

    figures = np.asarray(values, dtype=float)
    if len(figures) < 2 * min_segment or not (np.isfinite(figures).all() and (figures > 0).all()):
        return []
    logs = np.log(figures)
    scale = noise(logs)
    exact = scale <= NOISE_FLOOR
    n = len(logs)
    if exact:
        # Values that agree run to run (instruction counts): their own scale, floored.
        signal, cost = logs, scale**2
    else:
        # Ranks: a run on a slow moment is one rank, however slow; their variance is 1/12.
        signal, cost = rankdata(logs) / n, 1 / 12
    search = ruptures.KernelCPD(kernel="linear", min_size=min_segment).fit(signal.reshape(-1, 1))
    ends = search.predict(pen=penalty * cost * math.log(n))
    bounds = [0, *ends]
    if not exact:
        bounds = _placed(logs, bounds, min_segment)
    steps = []
    for i in range(1, len(bounds) - 1):
        left, right = logs[bounds[i - 1] : bounds[i]], logs[bounds[i] : bounds[i + 1]]
        before, after = math.exp(float(np.median(left))), math.exp(float(np.median(right)))
        if abs(after / before - 1) < min_size or left.min() == left.max() == right.min() == right.max():
            continue
        if exact:
            # Ranks cannot say more than their count allows (7 runs a side at best reach
            # p 0.0006); for values this steady Welch's t can. Sides that are each
            # constant and apart differ for certain (the t-test cannot say so: no variance).
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                p = float(ttest_ind(left, right, equal_var=False).pvalue)
            if math.isnan(p):
                p = 0.0 if left.max() < right.min() or right.max() < left.min() else 1.0
        else:
            p = float(mannwhitneyu(left, right, alternative="two-sided").pvalue)
        if p <= alpha:
            steps.append(Step(int(bounds[i]), before, after, p))
    return steps


def newest_beyond(values: Sequence[float], pct: float, min_segment: int = MIN_SEGMENT) -> float | None:
    """Whether the newest value starts a step beyond ``pct`` percent: outside every value
    of the level before it (since that level's last step) and ``pct`` from its median.
    A step of one run cannot be tested, so this is what a CI gate can ask; the next runs
    settle it. Returns the change as a share, or ``None``."""
    if len(values) < min_segment + 1:
        return None
    *older, newest = values
    steps = find_steps(older, min_size=pct / 100)
    level = older[steps[-1].at :] if steps else older
    if len(level) < min_segment:
        return None
    middle = statistics.median(level)
    change = newest / middle - 1
    outside = newest > max(level) if change > 0 else newest < min(level)
    return change if outside and abs(change) * 100 > pct else None
