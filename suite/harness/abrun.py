"""``suite ab``: build the two sides, run them in one pytest session, say what changed."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from suite.errors import EXIT_BAD_INPUT, EXIT_FAILED, ScenarioError, SuiteError, exit_code
from suite.harness import executables, options, worktrees
from suite.harness.runstate import SavedRun
from suite.results import ab, history
from suite.spec import sides as sidespec
from suite.spec.scenario import Scenario, load_reporting
from suite.spec.sides import Side

PytestArguments = Callable[[argparse.Namespace, Sequence[Path]], list[str]]


def _two(values: Sequence[str] | None, option: str) -> tuple[str | None, str | None]:
    """``(A, B)`` from an option given twice, or once (B only); ``ValueError`` otherwise."""
    values = list(values or [])
    if len(values) > 2:
        raise ValueError(f"{option} is given {len(values)} times; give it twice (A, then B) or once (B)")
    return (values[0], values[1]) if len(values) == 2 else (None, values[0] if values else None)


def _label(
    python: str | None,
    sets: Sequence[tuple[str, Any]],
    path: str | None,
    rev: str | None,
    file: Path | None = None,
) -> str:
    parts = []
    if python:
        parts.append(executables.probe(python).label)
    parts += [f"{key.removeprefix('workload.')}={value}" for key, value in sets]
    if path:
        parts.append(f"code from {path}")
    if rev:
        parts.append(f"code at {rev}")
    if file:
        parts.append(f"the scenario as {file} writes it")
    return ", ".join(parts) or "the scenarios as written"


def base_sides(args: argparse.Namespace) -> tuple[Side, Side, tuple[str | None, str | None]]:
    """Sides A and B from the options, before any revision is checked out; and the revisions."""
    pythons = _two(args.python, "--python")
    paths = _two(args.path, "--path")
    revs = _two(args.rev, "--rev")
    if any(paths) and any(revs):
        raise ValueError("--path and --rev both name the code a side imports: give one of them")
    if args.file_b is not None and (len(args.paths) != 1 or not args.paths[0].is_file()):
        raise ValueError("--file-b pairs one scenario file with another: give exactly one scenario file")
    made = []
    for index, name in enumerate("AB"):
        sets = tuple(sidespec.parse_set(text) for text in getattr(args, f"set_{name.lower()}"))
        path = paths[index]
        made.append(
            Side(
                name,
                python=pythons[index],
                sets=sets,
                callable_path=(str(Path(path).resolve()),) if path else (),
                label=_label(pythons[index], sets, path, revs[index], args.file_b if name == "B" else None),
                file=str(args.file_b.resolve()) if name == "B" and args.file_b else None,
            )
        )
    return made[0], made[1], revs


def _repositories(scenarios: Sequence[Scenario]) -> list[Path]:
    folders = [getattr(s.params, "path", [None])[0] for s in scenarios if s.kind == "callable"]
    if not folders:
        raise ValueError(
            "--rev checks out a callable target's code, and no scenario given has workload kind callable"
        )
    return [worktrees.repository_of(str(folder)) for folder in folders if folder]


def _check(files: Sequence[Path], sides: Sequence[Side]) -> list[str]:
    problems = []
    for side in sides:
        for file in files:
            try:
                sidespec.load(file, side)
            except ScenarioError as exc:
                problems += [str(p) for p in exc.problems]
    return problems


def _measure(
    args: argparse.Namespace,
    files: Sequence[Path],
    sides: Sequence[Side],
    floor: float,
    save: str,
    build: PytestArguments,
) -> tuple[int, history.Run | None]:
    given = options.given(
        args,
        save=save,
        results=args.results.resolve(),
        side=[side.to_json() for side in sides],
        floor=floor * 100,
    )
    recorder = SavedRun()
    code = int(pytest.main(build(args, files), plugins=[options.Given(given), recorder]))
    saved = history.read_run(recorder.path) if recorder.path is not None else None
    return code, saved


def _result(run: history.Run, sides: Sequence[Side]) -> ab.ABResult:
    return ab.ABResult(ab.analyse_run(run), {side.name: side.label for side in sides}, run.floor or ab.FLOOR)


def main(args: argparse.Namespace, terminated: list[int], build: PytestArguments) -> int:
    scenarios, ok = load_reporting(args.paths or [Path("scenarios")])
    if not ok:
        return EXIT_BAD_INPUT
    files = [s.path for s in scenarios]
    try:
        side_a, side_b, revs = base_sides(args)
        with contextlib.ExitStack() as stack:
            if any(revs):
                roots = _repositories(scenarios)
                for index, rev in enumerate(revs):
                    if rev is not None:
                        remap = stack.enter_context(worktrees.checked_out(roots, rev))
                        which = side_a if index == 0 else side_b
                        which = dataclasses.replace(which, remap=remap)
                        side_a, side_b = (which, side_b) if index == 0 else (side_a, which)
            return _run(args, files, [side_a, side_b], terminated, build)
    except (ValueError, SuiteError) as exc:
        print(f"suite ab: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _run(
    args: argparse.Namespace,
    files: Sequence[Path],
    sides: list[Side],
    terminated: list[int],
    build: PytestArguments,
) -> int:
    problems = _check(files, sides)
    for problem in problems:
        print(problem, file=sys.stderr)
    unfit = [p.error for side in sides if side.python for p in executables.resolve([side.python]) if p.error]
    for problem in unfit:
        print(f"suite ab: --python {problem}", file=sys.stderr)
    if problems or unfit:
        return EXIT_BAD_INPUT
    floor = args.floor / 100
    if args.calibrate:
        same = [sides[0], dataclasses.replace(sides[0], name="B")]
        code, run = _measure(args, files, same, floor, f"{args.save}-calibration", build)
        if run is None or code not in (0, 1):
            return exit_code(code, bool(terminated))
        calibration = _result(run, same)
        found = ab.calibrated_floor([c.change for c in calibration.cases if c.change])
        if found is not None:
            floor = found
        print(
            f"calibrated floor: {floor * 100:.1f}% (95th percentile of {len(calibration.cases)} A/A changes)"
        )
    code, run = _measure(args, files, sides, floor, args.save, build)
    if run is None:
        return exit_code(code, bool(terminated))
    result = _result(run, sides)
    sys.stdout.write("\n" + ab.render_text(result))
    if args.fail_if_slower is not None:
        slower = result.slower_than(args.fail_if_slower)
        for c in slower:
            assert c.change is not None
            print(f"slower: {c.scenario} {c.label}: {c.change.change_pct:+.1f}%", file=sys.stderr)
        if slower:
            return EXIT_FAILED
    return exit_code(code, bool(terminated))
