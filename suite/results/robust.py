"""Medians and their confidence intervals, distribution-free: what a noisy machine allows.

Round times on a shared machine are not normal (a busy neighbour makes a few rounds much
slower), so intervals here come from order statistics and the binomial distribution,
not from a standard deviation.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

CONFIDENCE = 0.95
#: Significance level of the tests on round times.
ALPHA = 0.05


def _half_binomial_cdf(k: int, n: int) -> float:
    """P(Binomial(n, 1/2) <= k)."""
    return float(sum(math.comb(n, i) for i in range(k + 1))) / float(2**n)


def median_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float]:
    """An interval that holds the true median with at least ``confidence``.

    The k-th smallest and k-th largest value, for the largest k whose coverage is enough.
    With fewer than 6 values no such pair reaches 95%: the whole range is returned.
    """
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        raise ValueError("no values")
    # P(median outside (x_k, x_{n-k+1})) = 2 * P(Binomial(n, 1/2) <= k - 1)
    k = 0
    while k + 1 <= n // 2 and 2 * _half_binomial_cdf(k, n) <= 1 - confidence:
        k += 1
    if k == 0:
        return ordered[0], ordered[-1]
    return ordered[k - 1], ordered[n - k]


def paired_ratios(baseline: dict[int, float], other: dict[int, float]) -> list[float]:
    """``baseline / other`` for each cycle both were measured in (a speedup per cycle)."""
    return [baseline[c] / other[c] for c in sorted(baseline.keys() & other.keys()) if other[c] > 0]


def median_with_interval(values: Sequence[float]) -> tuple[float, float, float]:
    low, high = median_interval(values)
    return statistics.median(values), low, high


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
