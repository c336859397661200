"""The capacity probe: how fast one core is, and how many cores the machine gives, now.

A shared VM can lose speed, or a core, for minutes at a time; results then say less than
they seem to. The probe is a fixed pure-Python loop (the ``cpu`` kind's task), timed in
one process alone (single-core speed) and then in one process per usable CPU at once
(available parallelism: the sum over those processes of alone-time / their time, so 2.0
on 2 idle cores and 1.3 when a neighbour takes most of one). It runs in a process of its
own (``python -m suite.harness.probe``), started once per run, never in pytest's.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from typing import Any

from suite.tasks import cpu_task

#: Loop length: about 25 ms on the 2-core machine this was written on; long enough that
#: dispatch to the helper processes (< 1 ms) is small beside it.
ITERATIONS = 200_000
#: Pairs per probe: a loop alone, then one loop in every helper at once. This machine's
#: speed can change within a second, so each together-run is set against the alone-run
#: just before it, and the probe reports the median pair.
PAIRS = 5

_start_line: Any = None  # the helpers' barrier, inherited through fork


def _timed_loop(_: int = 0) -> float:
    began = time.perf_counter()
    cpu_task(1, ITERATIONS)
    return time.perf_counter() - began


def _together(_: int) -> float:
    # Every helper waits here until all have a task: no helper can take two of them, so
    # the loops really run at the same time.
    _start_line.wait(timeout=10)
    return _timed_loop()


def measure(pool: Any, cpus: int) -> dict[str, Any]:
    alone: list[float] = []
    ratios: list[float] = []
    together: list[list[float]] = []
    for _ in range(PAIRS):
        alone.append(_timed_loop())
        together.append(pool.map(_together, range(cpus), chunksize=1))
        ratios.append(sum(alone[-1] / t for t in together[-1] if t > 0))
    middle = sorted(range(PAIRS), key=ratios.__getitem__)[PAIRS // 2]
    return {
        "single_s": statistics.median(alone),
        "parallel_s": together[middle],
        "cpus": cpus,
        "parallelism": ratios[middle],
    }


def main() -> int:
    from suite.harness import procgroup

    procgroup.die_with_parent()
    global _start_line
    cpus = len(os.sched_getaffinity(0))
    context = multiprocessing.get_context("fork")
    _start_line = context.Barrier(cpus)
    with context.Pool(cpus) as pool:
        pool.map(_together, range(cpus), chunksize=1)  # the helpers are up and warm
        print(json.dumps({"ready": True, "cpus": cpus}), flush=True)
        for line in sys.stdin:
            if line.strip() != "probe":
                break
            print(json.dumps(measure(pool, cpus)), flush=True)
    return 0


class CapacityProbe:
    """The parent's handle on the probe process; every reading is kept with its moment."""

    def __init__(self, python: str = sys.executable) -> None:
        from suite.harness import procgroup

        self.readings: list[dict[str, Any]] = []
        self._proc = subprocess.Popen(
            [python, "-m", "suite.harness.probe"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=procgroup.child_env(),
            start_new_session=True,
        )
        assert self._proc.stdout is not None
        self.cpus = int(json.loads(self._proc.stdout.readline())["cpus"])

    def probe(self, **context: Any) -> dict[str, Any] | None:
        """Measure now; ``context`` (scenario, cycle) is saved with the reading. ``None``
        once the probe process is gone: the run goes on without readings."""
        assert self._proc.stdin is not None
        assert self._proc.stdout is not None
        began = time.time()
        try:
            self._proc.stdin.write("probe\n")
            self._proc.stdin.flush()
            reading = {"time": began, **context, **json.loads(self._proc.stdout.readline())}
        except (OSError, ValueError):
            return None
        self.readings.append(reading)
        return reading

    def close(self) -> None:
        from suite.harness.procgroup import stop_group

        if self._proc.stdin is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=5)
        stop_group(self._proc)
        if self._proc.stdout is not None:
            self._proc.stdout.close()


if __name__ == "__main__":
    sys.exit(main())
