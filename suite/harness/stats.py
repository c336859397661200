"""Small summaries of samples: percentiles the way the results report them."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def percentiles_ms(samples_s: Sequence[float]) -> dict[str, float] | None:
    """``p50``, ``p90``, ``p99`` and ``max`` of durations in seconds, as milliseconds."""
    if not samples_s:
        return None
    ms = sorted(s * 1000 for s in samples_s)
    if len(ms) == 1:
        return {"p50": ms[0], "p90": ms[0], "p99": ms[0], "max": ms[0]}
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return {"p50": cuts[49], "p90": cuts[89], "p99": cuts[98], "max": ms[-1]}


def cdf_ms(samples_s: Sequence[float], points: int = 101) -> list[float]:
    """The distribution in ``points`` evenly spaced quantiles (0 to 100%), in milliseconds."""
    if not samples_s:
        return []
    ms = sorted(s * 1000 for s in samples_s)
    last = len(ms) - 1
    return [ms[round(last * k / (points - 1))] for k in range(points)]
