"""Does the suite tell a real change from noise? Scored with the commands a user runs.

``python -m suite.selfcheck.truth`` (``tox -e bench-truth``) runs, as a user would:

1. ``suite run`` of a few scenarios twice, as separate runs (A1, A2): ``suite compare``
   between them must call at most 5% of the cases changed, and every CPU case's
   instruction count must agree within 0.5%;
2. ``suite ab`` of the same scenarios with the same code on both sides (A/A): at most 5%
   of the cases called changed, in at most 2.2 times the time of one ``suite run``;
3. ``suite ab`` of each changed scenario with 15% more work per task on side B: at least
   90% of its cases called slower, and its instruction counts +15% (+-1%) in every CPU case.

It prints each figure against its target and exits 1 if any target is missed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from suite.results import ab, history
from suite.results.compare import compare

SCENARIOS = ("cpu-python", "cpu-hashing", "sleep-fanout", "dispatch-overhead")
CHANGED = ("cpu-python", "cpu-hashing", "sleep-fanout")
MODELS = "sequential,asyncio,threads,processes"
#: The key that sets each kind's work per task, which side B makes larger.
WORK_KEYS = {
    "cpu": "iterations",
    "hash": "bytes",
    "sleep": "latency_ms",
    "compress": "bytes",
    "file": "bytes",
}
FALSE_TARGET, DETECTION_TARGET, TIME_TARGET = 0.05, 0.90, 2.2
SAME_COUNT, COUNT_TOLERANCE = 0.005, 0.01


@dataclass
class Score:
    """One figure against its target."""

    what: str
    value: float
    target: str
    met: bool

    def __str__(self) -> str:
        return f"{'ok  ' if self.met else 'MISS'} {self.what}: {self.value:.3g} (target {self.target})"


def grown_setting(source: Path, factor: float) -> str:
    """``workload.KEY=VALUE``: the scenario's work per task times ``factor``."""
    workload = yaml.safe_load(source.read_text(encoding="utf-8"))["workload"]
    key = WORK_KEYS[workload["kind"]]
    value = workload.get(key, 1) * factor
    value = round(value) if isinstance(workload.get(key, 1), int) else value
    return f"workload.{key}={value}"


def suite(*args: str) -> float:
    """Run the ``suite`` command; how long it took."""
    began = time.monotonic()
    subprocess.run([sys.executable, "-m", "suite", *args], check=False)
    return time.monotonic() - began


def _counts(run: history.Run) -> dict[tuple[str, str], float]:
    return {
        (m.scenario, m.label): float(m.record.instructions_per_task)
        for m in run.measurements
        if m.record.instructions_per_task
    }


def score_counts(a: history.Run, b: history.Run) -> tuple[int, int]:
    """Cases whose counts agree within :data:`SAME_COUNT`, of those both runs counted."""
    ca, cb = _counts(a), _counts(b)
    common = ca.keys() & cb.keys()
    return sum(abs(cb[k] / ca[k] - 1) <= SAME_COUNT for k in common), len(common)


def score_work(cases: Sequence[ab.CaseAB], factor: float) -> tuple[int, int]:
    """Cases whose counts moved by ``factor`` (within :data:`COUNT_TOLERANCE`), of those counted."""
    counted = [c for c in cases if c.count_a and c.count_b]
    good = [c for c in counted if abs(c.count_b / c.count_a - factor) <= COUNT_TOLERANCE]  # type: ignore[operator]
    return len(good), len(counted)


def _ab_run(results: Path, name: str) -> list[ab.CaseAB]:
    run = history.read_run(max(history.matches(name, results)))
    return ab.analyse_run(run)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m suite.selfcheck.truth", description=__doc__)
    parser.add_argument("--scenarios", type=Path, default=Path("scenarios"), help="scenario folder")
    parser.add_argument("--names", default=",".join(SCENARIOS), help="scenarios to run (comma-separated)")
    parser.add_argument("--changed", default=",".join(CHANGED), help="scenarios side B makes slower, in turn")
    parser.add_argument("--factor", type=float, default=1.15, help="how much more work per task on side B")
    parser.add_argument("--models", default=MODELS, help="models to run (comma-separated)")
    parser.add_argument("--results", type=Path, help="keep the runs here (default: a temporary folder)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.names.split(",") if n.strip()]
    files = [str(args.scenarios / f"{name}.yaml") for name in names]
    common = ["--models", args.models, "--", "-q"]
    with tempfile.TemporaryDirectory(prefix="suite-truth-") as scratch:
        results = args.results or Path(scratch) / "results"
        where = ["--results", str(results)]
        run_s = suite("run", *files, *where, "--save", "a1", *common)
        suite("run", *files, *where, "--save", "a2", *common)
        ab_s = suite("ab", *files, *where, "--save", "aa", *common)
        detected = {}
        for name in [n.strip() for n in args.changed.split(",") if n.strip()]:
            file = args.scenarios / f"{name}.yaml"
            setting = grown_setting(file, args.factor)
            suite("ab", str(file), *where, "--save", f"ab-{name}", "--set-b", setting, *common)
            detected[name] = _ab_run(results, f"ab-{name}")
        a1, a2 = (history.read_run(max(history.matches(n, results))) for n in ("a1", "a2"))
        separate = compare([a1, a2], history=history.load_history(results)).changes
        same = _ab_run(results, "aa")
    scores = _scores(separate, same, detected, a1, a2, ab_s / run_s, args.factor)
    for line in _details(separate, same, detected):
        print(line)
    for s in scores:
        print(s)
    return 0 if all(s.met for s in scores) else 1


def _scores(
    separate: Sequence[object],
    same: Sequence[ab.CaseAB],
    detected: dict[str, list[ab.CaseAB]],
    a1: history.Run,
    a2: history.Run,
    time_ratio: float,
    factor: float,
) -> list[Score]:
    changed_apart = [c for c in separate if getattr(c, "verdict", "") in ("slower", "faster")]
    false_ab = [c for c in same if c.verdict in (ab.SLOWER, ab.FASTER)]
    scores = [
        Score(
            f"suite compare of two separate runs: {len(changed_apart)} of {len(separate)} called changed",
            len(changed_apart) / max(1, len(separate)),
            f"<= {FALSE_TARGET}",
            len(changed_apart) <= FALSE_TARGET * len(separate),
        ),
        Score(
            f"suite ab, same code both sides: {len(false_ab)} of {len(same)} cases called changed",
            len(false_ab) / max(1, len(same)),
            f"<= {FALSE_TARGET}",
            len(false_ab) <= FALSE_TARGET * len(same),
        ),
        Score(
            "suite ab's time over one suite run's", time_ratio, f"<= {TIME_TARGET}", time_ratio <= TIME_TARGET
        ),
    ]
    agree, counted = score_counts(a1, a2)
    scores.append(
        Score(
            f"counts of two separate runs within {SAME_COUNT:.1%}: {agree} of {counted} CPU cases",
            agree / max(1, counted),
            "1 (every CPU case)",
            counted > 0 and agree == counted,
        )
    )
    for name, cases in detected.items():
        slower = [c for c in cases if c.verdict == ab.SLOWER]
        scores.append(
            Score(
                f"suite ab, {name} {factor - 1:+.0%} work on B: {len(slower)} of {len(cases)} slower",
                len(slower) / max(1, len(cases)),
                f">= {DETECTION_TARGET}",
                len(slower) >= DETECTION_TARGET * len(cases),
            )
        )
        good, counted = score_work(cases, factor)
        if counted:
            scores.append(
                Score(
                    f"{name}: count {factor - 1:+.0%} (+-{COUNT_TOLERANCE:.0%}) in {good} of {counted} cases",
                    good / counted,
                    "1",
                    good == counted,
                )
            )
    return scores


def _details(
    separate: Sequence[object], same: Sequence[ab.CaseAB], detected: dict[str, list[ab.CaseAB]]
) -> list[str]:
    lines = [
        f"separate runs: {c.scenario} {c.label} {c.change_pct:+.1f}% {c.verdict}"  # type: ignore[attr-defined]
        for c in separate
        if getattr(c, "verdict", "") in ("slower", "faster")
    ]
    lines += [f"A/A: {c.scenario} {c.label} {c.change} {c.verdict}" for c in same if c.verdict != ab.SAME]
    for name, cases in detected.items():
        lines += [
            f"{name} +work: {c.label} {c.change} {c.verdict} {c.work or ''}"
            for c in cases
            if c.verdict != ab.SLOWER
        ]
    return lines


if __name__ == "__main__":
    sys.exit(main())
