"""Score ``suite history``'s step finder on histories built from this machine's real noise.

``python -m suite.selfcheck.history_truth [--results DIR]`` (``tox -e history-truth``):

1. **Detection.** For every case of the full runs saved under ``--results`` (at least
   :data:`MIN_REAL` runs of the same work), its medians across those runs, each divided
   by their median, are the noise: a synthetic history of ``--runs`` runs draws from them
   (with replacement), at the case's level, and multiplies every run from ``--step-at`` on
   by ``1 + --step``. Instruction counts (CPU cases) are drawn the same way from their
   counts. A step counts as found when the finder places one, in the right direction, at
   ``--step-at`` +-1. The same draws without the step count false steps.
2. **Scale** (``--scale N --out DIR``): writes N full-size run files into ``DIR`` (copies
   of the largest saved full run, each case's rounds scaled by drawn noise and a step
   half-way), then times building the index, ``suite history`` of every case, and
   ``suite compare`` of two runs, each as a new process, with its peak memory.

Each figure is printed against the issue's target; the exit status is 1 if any missed.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from suite.results import changepoints, trend
from suite.results.index import Index

#: Fewest real runs of one case's work that make a noise pool.
MIN_REAL = 3
TARGETS = {"work": 0.90, "time": 0.80}
#: False steps allowed per 100 series without one.
FALSE_PER_100 = 1.0


def pools(index: Index, across_commits: bool = False) -> dict[str, dict[tuple[str, ...], list[float]]]:
    """Per series kind, each case's real run-to-run noise as ratios to a middle value.

    A/A by default: within each commit that has two or more full runs, each run's value
    over that commit's median, pooled over the commits (a harness change between commits
    is a change, not noise). ``across_commits``: every full run of the same work over one
    median, whatever code ran it (noise and every change the commits made)."""
    runs = [r for r in index.runs() if not r.quick and r.complete is not False]
    commit_of = {r.id: (r.commit if not across_commits else "") for r in runs}
    grouped: dict[str, dict[tuple[str, ...], dict[str, list[float]]]] = {"work": {}, "time": {}}
    for row in index.cases([r.id for r in runs]):
        key: tuple[str, ...] = (row.scenario, row.label, row.interpreter, row.params)
        commit = commit_of[row.run]
        if row.median > 0:
            grouped["time"].setdefault(key, {}).setdefault(commit, []).append(row.median)
        if row.instructions:
            grouped["work"].setdefault(key, {}).setdefault(commit, []).append(float(row.instructions))
    found: dict[str, dict[tuple[str, ...], list[float]]] = {"work": {}, "time": {}}
    for kind, cases in grouped.items():
        for key, by_commit in cases.items():
            ratios = [
                v / statistics.median(values)
                for values in by_commit.values()
                if len(values) >= 2
                for v in values
            ]
            if len(ratios) >= MIN_REAL:
                found[kind][key] = ratios
    return found


def synthetic(
    noise: Sequence[float], runs: int, step_at: int | None, step: float, rng: random.Random
) -> list[float]:
    """A history of ``runs`` values drawn from ``noise`` (ratios to a level of 1)."""
    values = [rng.choice(noise) for _ in range(runs)]
    if step_at is not None:
        values[step_at:] = [v * (1 + step) for v in values[step_at:]]
    return values


def score(
    cases: dict[tuple[str, ...], list[float]],
    kind: str,
    runs: int,
    step_at: int,
    step: float,
    repeats: int,
    rng: random.Random,
) -> tuple[int, int, int, int, list[str]]:
    """(found, tried, false steps, series without a step, cases missed)."""
    found = tried = false = quiet = 0
    missed = []
    for key, real in sorted(cases.items()):
        hits = 0
        for _ in range(repeats):
            values = synthetic(real, runs, step_at, step, rng)
            steps = changepoints.find_steps(values, min_size=trend.MIN_STEP[kind])
            hit = any(abs(s.at - step_at) <= 1 and s.size * step > 0 for s in steps)
            hits += hit
            tried += 1
            flat = synthetic(real, runs, None, step, rng)
            false += len(changepoints.find_steps(flat, min_size=trend.MIN_STEP[kind]))
            quiet += 1
        found += hits
        if hits < repeats:
            spread = max(real) / min(real) - 1
            missed.append(
                f"{' '.join(key[:3])}: {hits}/{repeats} (its {len(real)} real values spread {spread:.0%})"
            )
    return found, tried, false, quiet, missed


def detection(
    results: Path, runs: int, step_at: int, step: float, repeats: int, seed: int, across_commits: bool
) -> bool:
    rng = random.Random(seed)
    with Index.open(results) as index:
        real = pools(index, across_commits)
        full = [r for r in index.runs() if not r.quick and r.complete is not False]
    commits = {r.commit for r in full}
    source = (
        f"every full run's value of the same work ({len(full)} runs, {len(commits)} commits)"
        if across_commits
        else f"A/A: runs of one commit, each over that commit's median ({len(full)} full runs, "
        f"{sum(1 for c in commits if sum(r.commit == c for r in full) >= 2)} commit(s) with two or more)"
    )
    ok = True
    print(
        f"Synthetic histories of {runs} runs, a {step:+.0%} step at run {step_at}, noise drawn from "
        f"{source} under {results}; {repeats} histories per case and series"
    )
    false_total = quiet_total = 0
    for kind in ("work", "time"):
        cases = real[kind]
        if not cases:
            print(f"  {kind}: no case has {MIN_REAL} real runs of the same work: nothing to score")
            ok = False
            continue
        found, tried, false, quiet, missed = score(cases, kind, runs, step_at, step, repeats, rng)
        share = found / tried
        good = share >= TARGETS[kind]
        ok &= good
        false_total += false
        quiet_total += quiet
        label = "instruction counts" if kind == "work" else "medians (time)"
        print(
            f"  {'ok  ' if good else 'MISS'} {label}: step found at {step_at}+-1 in {found} of {tried} "
            f"({share:.0%}; target {TARGETS[kind]:.0%}) over {len(cases)} cases"
        )
        for line in missed[:12]:
            print(f"         missed {line}")
        if len(missed) > 12:
            print(f"         ... and {len(missed) - 12} more")
    per_100 = 100 * false_total / max(quiet_total, 1)
    good = per_100 <= FALSE_PER_100
    ok &= good
    print(
        f"  {'ok  ' if good else 'MISS'} false steps: {false_total} in {quiet_total} series without one "
        f"({per_100:.2f} per 100; target at most {FALSE_PER_100:.0f})"
    )
    return ok


# Scale


def _largest_full_run(results: Path) -> Path:
    with Index.open(results) as index:
        full = [r.path for r in index.runs() if not r.quick and r.complete]
    if not full:
        raise SystemExit(f"history_truth: no complete full run under {results} to copy")
    return max(full, key=lambda p: p.stat().st_size)


def write_runs(template: Path, out: Path, count: int, seed: int) -> Path:
    """``count`` run files in ``out/<machine>/``: the template's cases, rounds scaled by a
    drawn factor per case, +15% from the middle run on, one commit per 20 runs."""
    rng = random.Random(seed)
    document = json.loads(template.read_text())
    folder = out / template.parent.name
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(1, count + 1):
        commit = f"{n // 20:040x}"
        document["commit_info"] = {"id": commit, "dirty": False}
        document["datetime"] = f"2026-01-01T00:00:00.{n:06d}"
        for bench in document["benchmarks"]:
            stats = bench["stats"]
            factor = rng.lognormvariate(0, 0.03) * (1.15 if n > count // 2 else 1.0)
            original = stats.setdefault("_original", list(stats["data"]))
            stats["data"] = [v * factor for v in original]
            stats["median"] = statistics.median(stats["data"])
        saved = json.loads(json.dumps(document))
        for bench in saved["benchmarks"]:
            bench["stats"].pop("_original", None)
        (folder / f"{n:04d}_synthetic.json").write_text(json.dumps(saved, indent=4))  # as saved
    return folder


def _timed(argv: Sequence[str]) -> tuple[float, float, int]:
    """Seconds, peak memory (MiB) and exit status of one command in a process of its own."""
    began = time.perf_counter()
    probe = (
        "import resource, subprocess, sys; rc = subprocess.call(sys.argv[1:]); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(rc)"
    )
    done = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - began
    peak = int(done.stderr.strip().splitlines()[-1]) / 1024 if done.stderr.strip() else float("nan")
    return seconds, peak, done.returncode


def scale(results: Path, out: Path, count: int, seed: int) -> bool:
    template = _largest_full_run(results)
    began = time.perf_counter()
    write_runs(template, out, count, seed)
    print(
        f"Scale: {count} run files written in {time.perf_counter() - began:.0f} s under {out} "
        f"(each a copy of {template.name}, {template.stat().st_size / 2**20:.1f} MiB)"
    )
    suite = [sys.executable, "-m", "suite"]
    ok = True
    steps = [
        (
            "build the index (every file read once)",
            [*suite, "history", "--results", str(out), "--last", "2"],
            None,
        ),
        ("suite history of every case", [*suite, "history", "--results", str(out)], 3.0),
        ("suite compare A B", [*suite, "compare", "1", str(count), "--results", str(out)], 2.0),
        ("suite compare (the latest run)", [*suite, "compare", "--results", str(out)], None),
    ]
    for what, argv, target in steps:
        seconds, peak, rc = _timed(argv)
        good = (target is None or seconds <= target) and rc in (0, 1)
        ok &= good
        aim = f"; target at most {target:.0f} s" if target else ""
        print(f"  {'ok  ' if good else 'MISS'} {what}: {seconds:.2f} s, peak {peak:.0f} MiB{aim} (exit {rc})")
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m suite.selfcheck.history_truth", description=__doc__)
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--step-at", type=int, default=40)
    parser.add_argument("--step", type=float, default=0.15)
    parser.add_argument("--repeats", type=int, default=3, help="histories per case and series (default 3)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--across-commits",
        action="store_true",
        help="draw the noise from every full run of the same work, whatever its commit (harsher: "
        "changes between commits count as noise)",
    )
    parser.add_argument("--scale", type=int, metavar="N", help="also write N run files and time the commands")
    parser.add_argument("--out", type=Path, help="with --scale: where the N run files go")
    args = parser.parse_args(argv)
    ok = detection(
        args.results, args.runs, args.step_at, args.step, args.repeats, args.seed, args.across_commits
    )
    if args.scale:
        if args.out is None:
            parser.error("--scale needs --out DIR")
        ok &= scale(args.results, args.out, args.scale, args.seed)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
