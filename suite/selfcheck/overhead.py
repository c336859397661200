"""Harness overhead, measured: the suite against plain hand-written code, same work.

``python -m suite.selfcheck.overhead`` (``tox -e bench-overhead``) runs each model on the CPU,
hashing and sleep workloads through the suite and through :mod:`suite.selfcheck.handwritten`,
alternating the two so slow drifts of the machine hit both, and prints the ratio of the
medians per model. Target: at most 1.05 everywhere.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from suite.harness.launcher import run_case
from suite.spec.cases import Case

TARGET = 1.05
HANDWRITTEN = Path(__file__).with_name("handwritten.py")
MODELS = ("sequential", "asyncio", "uvloop", "threads", "processes")
WORKLOADS = {
    "cpu": ({"tasks": 8, "iterations": 400_000}, 2),
    "hash": ({"tasks": 16, "bytes": 1 << 20, "repeat": 24}, 2),
    "sleep": ({"tasks": 100, "latency_ms": 20}, 10),
}


def suite_median(model: str, kind: str, params: dict[str, int], workers: int, rounds: int) -> float:
    case = Case(
        scenario="overhead",
        model=model,
        workers=1 if model == "sequential" else workers,
        kind=kind,
        params=params,
        rounds=rounds,
        warmup=1,
        timeout_s=120,
    )
    return statistics.median(run_case(case).durations_s)


def handwritten_median(model: str, kind: str, params: dict[str, int], workers: int, rounds: int) -> float:
    done = subprocess.run(
        [sys.executable, str(HANDWRITTEN), model, kind, json.dumps(params), str(workers), str(rounds), "1"],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    durations: list[float] = json.loads(done.stdout)
    return statistics.median(durations)


def measure(model: str, kind: str, rounds: int, repeats: int) -> tuple[float, float]:
    params, workers = WORKLOADS[kind]
    suite, plain = [], []
    for _ in range(repeats):  # alternate, so drifts of the machine hit both sides
        suite.append(suite_median(model, kind, params, workers, rounds))
        plain.append(handwritten_median(model, kind, params, workers, rounds))
    return statistics.median(suite), statistics.median(plain)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m suite.selfcheck.overhead", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3, help="alternations of suite and hand-written runs")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--kinds", default=",".join(WORKLOADS))
    args = parser.parse_args(argv)
    print(f"{'workload':<8} {'model':<11} {'suite':>10} {'by hand':>10} {'ratio':>7}")
    worst = 0.0
    for kind in args.kinds.split(","):
        for model in args.models.split(","):
            suite, plain = measure(model, kind, args.rounds, args.repeats)
            ratio = suite / plain
            worst = max(worst, ratio)
            flag = "" if ratio <= TARGET else f"  over {TARGET}"
            print(
                f"{kind:<8} {model:<11} {suite * 1e3:>8.1f}ms {plain * 1e3:>8.1f}ms {ratio:>7.3f}{flag}",
                flush=True,
            )
    print(f"worst ratio {worst:.3f} (target <= {TARGET})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
