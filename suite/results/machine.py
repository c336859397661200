"""What the capacity probe saw during a run, in words: when the machine gave less.

Readings come from :mod:`suite.harness.probe`: each has its time, the scenario (and
cycle) it was taken before, the single-core loop time and the available parallelism.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

#: Below this share of the CPUs the run claims, parallel speedups are understated.
SHORT_OF_CORES = 0.85
#: A change of single-core speed larger than this, within a run, is worth saying.
DRIFT = 0.10
#: Single-core speed that varies more than this between one scenario's readings moves
#: its speedups from round to round (seen here: a 17 ms loop alone at times, 26 ms at
#: others, while two at once ran 26 ms each).
VARIES = 0.25

Reading = dict[str, Any]


def _clock(seconds: float) -> str:
    minutes, secs = divmod(max(0, round(seconds)), 60)
    return f"{minutes}:{secs:02d}"


def by_scenario(readings: Sequence[Reading]) -> dict[str, list[Reading]]:
    grouped: dict[str, list[Reading]] = {}
    for reading in readings:
        grouped.setdefault(str(reading.get("scenario", "?")), []).append(reading)
    return grouped


def summary(readings: Sequence[Reading]) -> dict[str, float] | None:
    """Median parallelism and single-core loop time of some readings."""
    if not readings:
        return None
    return {
        "parallelism": statistics.median(float(r["parallelism"]) for r in readings),
        "parallelism_min": min(float(r["parallelism"]) for r in readings),
        "single_s": statistics.median(float(r["single_s"]) for r in readings),
    }


def warnings(readings: Sequence[Reading], cpus: int | None) -> list[str]:
    """Scenarios during which the machine gave fewer cores than it claims (at most of the
    readings), or ran more than :data:`DRIFT` slower or faster than over the whole run.

    Within a scenario, interleaved cycles share every dip alike; these warnings are about
    what a dip does to all of a scenario's figures, and to comparisons across scenarios.
    """
    if not readings:
        return []
    start = min(float(r["time"]) for r in readings)
    overall = summary(readings)
    assert overall is not None
    notes = []
    for scenario, rs in by_scenario(readings).items():
        seen = summary(rs)
        assert seen is not None
        claimed = cpus or int(rs[0].get("cpus") or 1)
        short = [r for r in rs if float(r["parallelism"]) < SHORT_OF_CORES * claimed]
        if claimed > 1 and len(short) * 2 > len(rs):
            when = f"{_clock(float(short[0]['time']) - start)}-{_clock(float(short[-1]['time']) - start)}"
            notes.append(
                f"only {seen['parallelism']:.1f} of {claimed} cores were available during {scenario} "
                f"(capacity probe: short at {len(short)} of {len(rs)} readings, {when} into the run): "
                "parallel speedups are understated"
            )
        change = seen["single_s"] / overall["single_s"] - 1
        if abs(change) > DRIFT and len(by_scenario(readings)) > 1:
            notes.append(
                f"{scenario} ran on a machine {abs(change):.0%} {'slower' if change > 0 else 'faster'} "
                "(single-core) than the run's median (capacity probe): compare its absolute times "
                "with other scenarios' with care; its models met the same machine"
            )
    return notes + _jumps(readings)


def _jumps(readings: Sequence[Reading]) -> list[str]:
    """One note for every scenario whose single-core speed jumped between its readings."""
    jumpy = {}
    for scenario, rs in by_scenario(readings).items():
        singles = [float(r["single_s"]) for r in rs]
        if len(rs) >= 3 and max(singles) / min(singles) - 1 > VARIES:
            jumpy[scenario] = singles
    if not jumpy:
        return []
    every = [s for singles in jumpy.values() for s in singles]
    where = (
        f"during {next(iter(jumpy))}"
        if len(jumpy) == 1
        else f"in {len(jumpy)} scenarios ({', '.join(jumpy)})"
    )
    return [
        f"single-core speed varied by {max(every) / min(every) - 1:.0%} between readings {where}: "
        f"{min(every) * 1000:.1f}-{max(every) * 1000:.1f} ms a probe loop. One busy core ran faster than "
        "two at times, so speedups over sequential moved with it from round to round; the paired "
        "speedups' intervals show how much"
    ]


def paragraph(readings: Sequence[Reading], cpus: int | None) -> str | None:
    """How the machine moved during a run, once, and why paired results still hold; the
    per-scenario detail stays in :func:`warnings`. ``None`` without readings."""
    overall = summary(readings)
    if overall is None:
        return None
    singles = [float(r["single_s"]) for r in readings]
    claimed = cpus or int(readings[0].get("cpus") or 1)
    moved = {s: _single(rs) / overall["single_s"] - 1 for s, rs in by_scenario(readings).items()}
    slower = sorted((s for s, c in moved.items() if c > DRIFT), key=lambda s: -moved[s])
    faster = sorted((s for s, c in moved.items() if c < -DRIFT), key=lambda s: moved[s])
    short = [
        s
        for s, rs in by_scenario(readings).items()
        if claimed > 1 and 2 * sum(float(r["parallelism"]) < SHORT_OF_CORES * claimed for r in rs) > len(rs)
    ]
    text = (
        f"The machine moved during this run (capacity probe, {len(readings)} readings): one core ran the "
        f"probe loop in {min(singles) * 1000:.1f}-{max(singles) * 1000:.1f} ms (median "
        f"{overall['single_s'] * 1000:.1f} ms), and it gave a median {overall['parallelism']:.2f} of "
        f"{claimed} cores (lowest {overall['parallelism_min']:.2f})."
    )
    if slower or faster:
        text += (
            f" {len(slower) + len(faster)} of {len(moved)} scenarios met a machine more than {DRIFT:.0%} "
            f"slower or faster than that median"
            f"{_names('slower', slower, moved)}{_names('faster', faster, moved)}."
        )
    if short:
        text += (
            f" Fewer than {SHORT_OF_CORES:.0%} of the cores were free during {_few(short)}: "
            "parallel speedups there are understated."
        )
    text += (
        " Within a scenario every model met the same machine, round for round (the rounds ran in shuffled "
        "cycles), so its speedups and winners, read from paired rounds, hold; absolute times of different "
        "scenarios, or of separate runs, do not compare."
    )
    return text


def _few(names: Sequence[str], most: int = 3) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _names(way: str, names: Sequence[str], moved: dict[str, float]) -> str:
    if not names:
        return ""
    shown = [f"{name} {abs(moved[name]):.0%}" for name in names[:3]]
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return f"; {way}: {', '.join(shown)}{more}"


def _single(readings: Sequence[Reading]) -> float:
    return statistics.median(float(r["single_s"]) for r in readings)
