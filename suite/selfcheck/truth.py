"""Does the suite tell a real change from noise? A/A and A/B runs, scored.

``python -m suite.selfcheck.truth`` (``tox -e bench-truth``) runs a few scenarios three
times back to back with ``suite run``, as a user would: A, then B (one scenario's work
made 15% larger per task), then A again. Every case reported changed between the two A
runs, or in B's untouched scenarios, is a false change; every case of the changed
scenario reported slower in B is a detection. It prints both rates against the targets
(at most 5% false, at least 90% detected).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import yaml

from suite.results import history
from suite.results.compare import Change, compare

SCENARIOS = ("cpu-python", "cpu-hashing", "sleep-fanout", "dispatch-overhead")
MODELS = "sequential,asyncio,threads,processes"
#: The key that sets each kind's work per task, which B makes larger.
WORK_KEYS = {
    "cpu": "iterations",
    "hash": "repeat",
    "sleep": "latency_ms",
    "compress": "bytes",
    "file": "bytes",
}
FALSE_TARGET, DETECTION_TARGET = 0.05, 0.90


def grown(source: Path, factor: float, folder: Path) -> Path:
    """A copy of ``source`` (same name, so runs compare) whose tasks do ``factor`` times the work."""
    document = yaml.safe_load(source.read_text(encoding="utf-8"))
    workload = document["workload"]
    key = WORK_KEYS[workload["kind"]]
    value = workload.get(key, 1) * factor
    workload[key] = round(value) if isinstance(workload.get(key, 1), int) else value
    document.setdefault("name", source.stem)
    target = folder / source.name
    target.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return target


def suite_run(files: Sequence[Path], results: Path, name: str, models: str) -> None:
    command = [sys.executable, "-m", "suite", "run", *map(str, files), "--results", str(results)]
    subprocess.run([*command, "--save", name, "--models", models, "--", "-q"], check=False)


def score(changes: Sequence[Change], changed: str) -> tuple[list[Change], list[Change], list[Change]]:
    """(false changes, detections, the changed scenario's cases)."""
    false = [c for c in changes if c.scenario != changed and c.verdict in ("slower", "faster")]
    target = [c for c in changes if c.scenario == changed]
    return false, [c for c in target if c.verdict == "slower"], target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m suite.selfcheck.truth", description=__doc__)
    parser.add_argument(
        "--scenarios", type=Path, default=Path("scenarios"), help="where the scenario files are"
    )
    parser.add_argument("--names", default=",".join(SCENARIOS), help="scenarios to run (comma-separated)")
    parser.add_argument("--changed", default=SCENARIOS[0], help="the scenario B makes slower")
    parser.add_argument("--factor", type=float, default=1.15, help="how much more work per task in B")
    parser.add_argument("--models", default=MODELS, help="models to run (comma-separated)")
    parser.add_argument("--results", type=Path, help="keep the three runs here (default: a temporary folder)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.names.split(",") if n.strip()]
    files = [args.scenarios / f"{name}.yaml" for name in names]
    with tempfile.TemporaryDirectory(prefix="suite-truth-") as scratch:
        results = args.results or Path(scratch) / "results"
        changed = grown(args.scenarios / f"{args.changed}.yaml", args.factor, Path(scratch))
        b_files = [changed if f.stem == args.changed else f for f in files]
        for name, run_files in (("a1", files), ("b", b_files), ("a2", files)):
            suite_run(run_files, results, name, args.models)
        a1, b, a2 = (history.load([name], results)[0] for name in ("a1", "b", "a2"))
        saved = history.load_history(results)
        aa = compare([a1, a2], history=saved).changes
        ab = compare([a1, b], history=saved).changes + compare([a2, b], history=saved).changes
    false_aa = [c for c in aa if c.verdict in ("slower", "faster")]
    false_ab, detected, target = score(ab, args.changed)
    untouched = len(aa) + len(ab) - len(target)
    false_rate = (len(false_aa) + len(false_ab)) / untouched if untouched else 0.0
    detection = len(detected) / len(target) if target else 0.0
    for c in [*false_aa, *false_ab]:
        print(
            f"false change: {c.scenario} {c.label} {c.change_pct:+.1f}% {c.verdict} ({c.baseline} -> {c.run})"
        )
    for c in target:
        if c not in detected:
            print(
                f"missed: {c.scenario} {c.label} {c.change_pct:+.1f}% {c.verdict} (floor {c.floor_pct:.0f}%)"
            )
    print(
        f"A/A: {len(false_aa) + len(false_ab)} of {untouched} unchanged cases reported changed "
        f"({false_rate:.0%}; target <= {FALSE_TARGET:.0%})"
    )
    print(
        f"A/B: {len(detected)} of {len(target)} cases of {args.changed} with {args.factor - 1:+.0%} work "
        f"reported slower ({detection:.0%}; target >= {DETECTION_TARGET:.0%})"
    )
    return 0 if false_rate <= FALSE_TARGET and detection >= DETECTION_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
