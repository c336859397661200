"""The ``suite`` command: run, validate, list, schema."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from suite import __version__
from suite.errors import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    Terminated,
    exit_code,
)
from suite.harness import options
from suite.results import history, saving
from suite.results.compare import (
    MIN_CHANGE_PCT,
    RENDERERS,
    Baseline,
    Comparison,
    compare,
    compare_sides,
)
from suite.results.history import HistoryError, Run
from suite.results.index import Index
from suite.spec import registry
from suite.spec.cases import build
from suite.spec.scenario import json_schema, load_all, load_reporting

DEFAULT_SCENARIOS = Path("scenarios")
BENCH_INI = Path(__file__).with_name("pytest-bench.ini")


def _baseline(text: str) -> Baseline:
    try:
        return Baseline.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix(f"--baseline {text!r}: ")) from exc


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="suite", description="Compare Python concurrency models on declared workloads."
    )
    parser.add_argument("--version", action="version", version=f"suite {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run scenarios and save pytest-benchmark results")
    run.add_argument("paths", nargs="*", type=Path, help="scenario files or folders (default: scenarios/)")
    run.epilog = "Arguments after -- go to pytest, e.g. suite run -- -k threads"
    options.add_to_parser(run, "run")
    run.add_argument(
        "--check-expectations",
        action="store_true",
        help="exit 1 when a scenario's expectation (expect:) is false here; not settled ones pass",
    )
    run.set_defaults(pytest_args=[])

    _ab_parser(commands)

    validate = commands.add_parser("validate", help="check scenario files; exit 2 if any is invalid")
    validate.add_argument("paths", nargs="+", type=Path)

    listing = commands.add_parser("list", help="models and workload kinds available here; scenarios' cases")
    listing.add_argument("paths", nargs="*", type=Path)
    listing.add_argument(
        "--python",
        action="append",
        metavar="PATH",
        help="say what is available under this interpreter instead (repeat it for several)",
    )

    schema = commands.add_parser("schema", help="print the JSON Schema of scenario files (or of run files)")
    schema.add_argument("--run", action="store_true", help="the schema of a saved run file instead")

    compare = commands.add_parser("compare", help="compare saved runs: winners, changes, significance")
    compare.add_argument(
        "runs",
        nargs="*",
        metavar="RUN",
        help="a saved run's number (0003), name, or JSON path; default: the latest run; "
        "with several, the first is the baseline. Two sides of several runs each: 1,2,3 4,5,6 "
        "(or two names each saved several times): their medians are compared",
    )
    compare.add_argument(
        "--results", type=Path, default=Path("results"), help="storage folder (default: ./results)"
    )
    compare.add_argument(
        "--by", choices=["interpreter"], help="put runs of different interpreters side by side"
    )
    compare.add_argument(
        "--baseline",
        type=_baseline,
        metavar="INTERPRETER:MODEL",
        help="with --by interpreter (implied): every speedup over this one case, e.g. "
        "cpython-3.11.7:sequential or cpython-3.13.0t:threads-w2 "
        "(default: each interpreter's own sequential)",
    )
    compare.add_argument("--format", choices=sorted(RENDERERS), default="text")
    compare.add_argument(
        "--min-change",
        type=float,
        metavar="PCT",
        default=MIN_CHANGE_PCT,
        help="smaller significant changes count as unchanged (default: %(default)s%%)",
    )
    compare.add_argument(
        "--fail-if-slower",
        type=float,
        metavar="PCT",
        help="exit 1 if any case is significantly slower than the baseline by more than PCT%%",
    )

    _history_parser(commands)

    report = commands.add_parser("report", help="write an offline HTML report with plots of saved runs")
    report.add_argument("runs", nargs="*", metavar="RUN", help="as for compare; the last is the current run")
    report.add_argument(
        "--results", type=Path, default=Path("results"), help="storage folder (default: ./results)"
    )
    report.add_argument("--html", type=Path, required=True, help="the report file to write")
    report.add_argument(
        "--history",
        action="store_true",
        help="a history instead: every case over the saved runs (as `suite history` selects them, "
        "with --save, --last, --commits), the steps found marked",
    )
    _selection(report, "with --history: ")
    report.add_argument("--plots", type=Path, help="also save every plot here as PNG and SVG")
    report.add_argument(
        "--baseline",
        type=_baseline,
        metavar="INTERPRETER:MODEL",
        help="as for compare: the case every interpreter's speedups are over",
    )
    report.add_argument(
        "--scenarios",
        type=Path,
        default=DEFAULT_SCENARIOS,
        help="scenario files, for the questions of runs that did not save them (default: scenarios/)",
    )

    findings = commands.add_parser(
        "findings",
        help="write docs/findings.md from a saved run: winners, margins, the common claims checked",
    )
    findings.add_argument("run", nargs="?", metavar="RUN", help="as for compare (default: the latest run)")
    findings.add_argument(
        "--results", type=Path, default=Path("results"), help="storage folder (default: ./results)"
    )
    findings.add_argument(
        "--out", type=Path, default=Path("docs/findings.md"), help="default: docs/findings.md"
    )
    findings.add_argument(
        "--also",
        metavar="RUN",
        action="append",
        help="another run whose scenarios RUN lacks are added (each scenario from one run)",
    )
    findings.add_argument(
        "--interpreters",
        metavar="RUN",
        action="append",
        help="a run under several interpreters (suite run --python A --python B): adds the "
        "section that puts them side by side; repeat it to add the scenarios of another such run",
    )
    findings.add_argument(
        "--plots",
        type=Path,
        default=Path("docs/findings"),
        help="where the SVG plots go (default: docs/findings)",
    )
    findings.add_argument(
        "--scenarios",
        type=Path,
        default=DEFAULT_SCENARIOS,
        help="the scenario files: their descriptions, and which claims they feed (default: scenarios/)",
    )
    findings.add_argument(
        "--readme", type=Path, help="also rewrite this README's generated 'what wins where' block"
    )
    return parser


def _selection(parser: argparse.ArgumentParser, when: str = "") -> None:
    """The options that choose the runs of a history."""
    parser.add_argument("--save", metavar="NAME", help=f"{when}only the runs saved under this name")
    parser.add_argument(
        "--last", type=int, metavar="N", help=f"{when}only the newest N runs (after the other filters)"
    )
    parser.add_argument(
        "--commits",
        metavar="RANGE",
        help=f"{when}only runs of these commits, as `git rev-list RANGE` gives them (run in the "
        "repository), e.g. v1.0..main",
    )


def _history_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "history",
        help="every case over the saved runs: its work, speedup and time, with the steps in them found",
    )
    parser.add_argument(
        "--results", type=Path, default=Path("results"), help="storage folder (default: ./results)"
    )
    _selection(parser)
    parser.add_argument("--scenario", metavar="NAME", help="only this scenario's cases")
    parser.add_argument("--quick", action="store_true", help="include --quick runs (left out by default)")
    parser.add_argument("--format", choices=sorted(RENDERERS), default="text")
    parser.add_argument(
        "--fail-on-step",
        type=float,
        metavar="PCT",
        help="exit 1 when the newest run starts a step beyond PCT%% in any case's work, speedup or time",
    )


def _ab_parser(commands: Any) -> None:
    ab = commands.add_parser(
        "ab",
        help="two sides of every case in one run, paired cycle by cycle: is the change real?",
        description="Run every case of the scenarios twice, as side A and side B, in one run: each "
        "cycle runs a round of each side back to back in shuffled order, and the change is the "
        "median of the per-cycle B/A with its 95%% interval. A side is an interpreter (--python), "
        "the folder or git revision a callable target is imported from (--path, --rev), or "
        "workload keys (--set-a, --set-b). Given once, --python, --path and --rev set side B "
        "against the scenario as it is.",
    )
    ab.add_argument("paths", nargs="*", type=Path, help="scenario files or folders (default: scenarios/)")
    ab.add_argument("--python", action="append", metavar="PATH", help="interpreter of side A, then of B")
    ab.add_argument(
        "--path", action="append", metavar="DIR", help="folder a callable target is imported from: A, then B"
    )
    ab.add_argument(
        "--rev",
        action="append",
        metavar="REV",
        help="git revision of the callable target's repository: A, then B",
    )
    ab.add_argument(
        "--file-b",
        metavar="FILE",
        type=Path,
        help="side B runs this scenario file instead of the one given (the same cases, written another way)",
    )
    for side in "ab":
        ab.add_argument(
            f"--set-{side}",
            action="append",
            metavar="KEY=VALUE",
            default=[],
            help=f"set a workload key on side {side.upper()} only, e.g. workload.iterations=460000",
        )
    options.add_to_parser(ab, "ab")
    ab.add_argument(
        "--calibrate",
        action="store_true",
        help="first run side A against itself, and take the 95th percentile of its changes as the floor",
    )
    ab.add_argument(
        "--fail-if-slower", type=float, metavar="PCT", help="exit 1 if any case is slower by more than PCT%%"
    )
    ab.set_defaults(pytest_args=[])


def cmd_validate(args: argparse.Namespace) -> int:
    scenarios, problems = load_all(args.paths)
    for scenario in scenarios:
        print(f"ok  {scenario.path} ({scenario.name}: {len(build(scenario))} cases)")
    for problem in problems:
        print(problem, file=sys.stderr)
    return EXIT_BAD_INPUT if problems or not scenarios else EXIT_OK


def _print_availability(found: dict[str, Any]) -> None:
    def state(reason: str | None) -> str:
        return "available" if reason is None else f"unavailable: {reason}"

    print("models:")
    for name, cls in registry.runners().items():
        print(f"  {name:<22} {cls.summary}  [{state(found['models'].get(name))}]")
    print("server models (mode: serve):")
    for name, scls in registry.servers().items():
        print(f"  {name:<22} {scls.summary}  [{state(found['servers'].get(name))}]")
    print("workload kinds:")
    for kind, wcls in registry.workloads().items():
        reason = found["kinds"].get(kind)
        print(f"  {kind:<22} {wcls.summary}" + ("" if reason is None else f"  [{state(reason)}]"))


def cmd_list(args: argparse.Namespace) -> int:
    from suite.harness import availability, executables

    if not args.python:
        _print_availability(availability.report())
    failed = False
    for python in executables.resolve(args.python) if args.python else []:
        print(f"under {python.label} ({python.path}):")
        found = None if python.error else executables.availability(python.path)
        if isinstance(found, str) or found is None:
            print(f"  cannot run the suite's workers: {python.error or found}")
            failed = True
            continue
        _print_availability(found)
    if failed:
        return EXIT_BAD_INPUT
    if args.paths:
        scenarios, problems = load_all(args.paths)
        print("scenarios:")
        for scenario in scenarios:
            cases = build(scenario)
            order = list(registry.servers() if scenario.mode == "serve" else registry.runners())
            models = sorted({c.model for c in cases}, key=order.index)
            count = f"{len(cases)} cases"
            if scenario.mode == "serve":
                count = f"serve, {len(cases)} load-point cases"
            print(
                f"  {scenario.name:<22} {scenario.kind}, {count}: {', '.join(models)}; "
                f"workers {', '.join(map(str, scenario.workers))}"
            )
        for problem in problems:
            print(problem, file=sys.stderr)
        return EXIT_BAD_INPUT if problems else EXIT_OK
    return EXIT_OK


def _rootdir(files: Sequence[Path]) -> Path:
    """The current folder, or the scenario files' common folder when some lie outside it:
    pytest names items relative to its rootdir, and outside it prints no file name."""
    here = Path.cwd()
    resolved = [f.resolve() for f in files]
    if all(f.is_relative_to(here) for f in resolved):
        return here
    return Path(os.path.commonpath([f.parent for f in resolved]))


def _can_write(command: str, folder: Path, option: str) -> bool:
    problem = saving.unwritable(folder)
    if problem is not None:
        print(f"suite {command}: {problem}; choose another folder with {option}", file=sys.stderr)
    return problem is None


def _pythons_fit(paths: Sequence[str] | None) -> bool:
    """Each ``--python`` runs, is 3.11+ and imports the suite's worker; else say why, once."""
    from suite.harness import executables

    problems = [python.error for python in executables.resolve(list(paths or [])) if python.error]
    for problem in problems:
        print(f"suite run: --python {problem}", file=sys.stderr)
    return not problems


def pytest_arguments(args: argparse.Namespace, files: Sequence[Path]) -> list[str]:
    """The pytest command line that measures ``files`` (the run options go to the plugin as
    :class:`suite.harness.options.Given`, already checked)."""
    return [
        "-c",
        str(BENCH_INI),
        "--rootdir",
        str(_rootdir(files)),
        "-v",
        f"--benchmark-storage=file://{args.results.resolve()}",
        "--benchmark-columns=median,iqr,min,max,rounds",
        *args.pytest_args,
        *map(str, files),
    ]


def cmd_run(args: argparse.Namespace) -> int:
    return _with_signals(args, _run)


def _with_signals(args: argparse.Namespace, body: Any) -> int:
    terminated: list[int] = []

    def on_sigterm(signum: int, frame: object) -> None:
        terminated.append(signum)
        raise Terminated

    # Ctrl-C must work also when a shell started the run in the background (which leaves
    # SIGINT ignored), and SIGTERM must stop it as cleanly: cases stopped, workers gone,
    # finished cases saved. Installed first, so no moment of the run is left without them.
    previous = (
        signal.signal(signal.SIGINT, signal.default_int_handler),
        signal.signal(signal.SIGTERM, on_sigterm),
    )
    try:
        return int(body(args, terminated))
    except KeyboardInterrupt:  # before pytest's session began, or after it ended
        print(f"suite {args.command}: interrupted; no case was left running", file=sys.stderr)
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])


def _run(args: argparse.Namespace, terminated: list[int]) -> int:
    import pytest

    scenarios, ok = load_reporting(args.paths or [DEFAULT_SCENARIOS])
    if not ok:
        return EXIT_BAD_INPUT
    files = [s.path for s in scenarios]
    if not _can_write("run", args.results, "--results") or not _pythons_fit(args.python):
        return EXIT_BAD_INPUT
    from suite.harness.runstate import SavedRun
    from suite.results import expectations

    recorder = SavedRun()
    given = options.Given(options.given(args, results=args.results.resolve()))
    code = int(pytest.main(pytest_arguments(args, files), plugins=[given, recorder]))
    judged = expectations.judge_run(history.read_run(recorder.path), scenarios) if recorder.path else []
    for line in expectations.render(judged):
        print(line)
    if args.check_expectations and code == 0 and any(j.state == expectations.FALSE for j in judged):
        return EXIT_FAILED
    return exit_code(code, bool(terminated))


def _ab(args: argparse.Namespace, terminated: list[int]) -> int:
    from suite.harness import abrun

    return abrun.main(args, terminated, pytest_arguments)


def cmd_schema(args: argparse.Namespace) -> int:
    print(json.dumps(history.run_schema() if args.run else json_schema(), indent=2))
    return EXIT_OK


def _load_runs(args: argparse.Namespace) -> list[Run] | None:
    try:
        if not args.runs:  # the latest, found by the index rather than by reading every run
            with Index.open(args.results) as index:
                latest = index.latest()
            if latest is not None:
                return [history.read_run(latest)]
        return history.load(args.runs, args.results)
    except HistoryError as exc:
        print(f"suite {args.command}: {exc}", file=sys.stderr)
        return None


def _comparison(args: argparse.Namespace) -> Comparison | None:
    """Runs one by one (each against the first), or two sides of several runs each."""
    try:
        sides = [history.load_side(spec, args.results) for spec in args.runs]
    except HistoryError as exc:
        print(f"suite compare: {exc}", file=sys.stderr)
        return None
    if any(len(side) > 1 for side in sides):
        if len(sides) != 2 or args.by or args.baseline:
            print(
                "suite compare: with several runs on a side, give exactly two sides, BEFORE AFTER "
                "(e.g. `suite compare 1,2,3 4,5,6`, or two names each saved several times)",
                file=sys.stderr,
            )
            return None
        return compare_sides(sides[0], sides[1], min_change_pct=args.min_change)
    runs = _load_runs(args)
    if runs is None:
        return None
    by = "interpreter" if args.baseline else args.by
    if len(runs) == 1:
        return compare(runs, by=by, min_change_pct=args.min_change, baseline=args.baseline)
    with Index.open(args.results) as saved:
        return compare(runs, by=by, min_change_pct=args.min_change, history=saved, baseline=args.baseline)


def cmd_compare(args: argparse.Namespace) -> int:
    comparison = _comparison(args)
    if comparison is None:
        return EXIT_BAD_INPUT
    sys.stdout.write(RENDERERS[args.format](comparison))
    for warning in comparison.warnings if args.format in ("csv", "json") else ():
        print(f"warning: {warning}", file=sys.stderr)
    if args.fail_if_slower is not None:
        slower = comparison.slower_than(args.fail_if_slower)
        for c in slower:
            print(
                f"slower: {c.scenario} {c.label}: {c.change_pct:+.1f}% in {c.run} (p={c.p_value:.3f})",
                file=sys.stderr,
            )
        return EXIT_FAILED if slower else EXIT_OK
    return EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    from suite.results import trend

    if not args.results.is_dir():
        print(f"suite history: no saved runs under {args.results}; run `suite run` first", file=sys.stderr)
        return EXIT_BAD_INPUT
    with Index.open(args.results) as index:
        try:
            runs = trend.select(
                index, save=args.save, last=args.last, commits=args.commits, include_quick=args.quick
            )
        except trend.TrendError as exc:
            print(f"suite history: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        found = trend.build(index, runs, args.scenario, args.fail_on_step)
        unreadable = index.unreadable()
    comparison = trend.as_comparison(found)
    comparison.warnings += [f"{path}: skipped: {why}" for path, why in unreadable]
    sys.stdout.write(RENDERERS[args.format](comparison))
    for warning in comparison.warnings if args.format in ("csv", "json") else ():
        print(f"warning: {warning}", file=sys.stderr)
    if args.fail_on_step is not None and found.newest:
        for line in found.newest:
            print(f"step: {line}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from suite.results.report import write_report

    if not _can_write("report", args.html.parent, "--html") or (
        args.plots is not None and not _can_write("report", args.plots, "--plots")
    ):
        return EXIT_BAD_INPUT
    if args.history:
        return _history_report(args)
    runs = _load_runs(args)
    if runs is None:
        return EXIT_BAD_INPUT
    write_report(runs, args.html, args.plots, [args.scenarios], args.baseline)
    print(f"wrote {args.html}" + (f" and plots in {args.plots}" if args.plots else ""))
    return EXIT_OK


def _history_report(args: argparse.Namespace) -> int:
    from suite.results import trend
    from suite.results.report import write_history_report

    if args.runs:
        print(
            "suite report --history: select runs with --save, --last or --commits, not RUN", file=sys.stderr
        )
        return EXIT_BAD_INPUT
    with Index.open(args.results) as index:
        try:
            runs = trend.select(index, save=args.save, last=args.last, commits=args.commits)
        except trend.TrendError as exc:
            print(f"suite report: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        found = trend.build(index, runs, intervals=True)
    write_history_report(found, args.html, args.plots)
    print(f"wrote {args.html}" + (f" and plots in {args.plots}" if args.plots else ""))
    return EXIT_OK


def cmd_findings(args: argparse.Namespace) -> int:
    from suite.results.findings import write_findings

    args.runs = [args.run] if args.run else []
    folders = [(args.out.parent, "--out"), *([(args.plots, "--plots")] if args.plots else [])]
    if not all(_can_write("findings", folder, option) for folder, option in folders):
        return EXIT_BAD_INPUT
    runs = _load_runs(args)
    if runs is None:
        return EXIT_BAD_INPUT
    main = runs[0]
    if args.also:
        from suite.results.findings import with_scenarios_of

        try:
            main = with_scenarios_of(main, history.load(args.also, args.results))
        except HistoryError as exc:
            print(f"suite findings: --also: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
    across: list[Run] = []
    if args.interpreters:
        try:
            across = history.load(args.interpreters, args.results)
        except HistoryError as exc:
            print(f"suite findings: --interpreters: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
    try:
        write_findings(main, args.out, args.plots, [args.scenarios], args.readme, across)
    except ValueError as exc:
        print(f"suite findings: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"wrote {args.out}" + (f" and {args.readme}" if args.readme else ""))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; everything after a ``--`` goes to pytest unchanged."""
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = _parser().parse_args(argv[: len(argv) - len(extra) - (1 if extra or "--" in argv else 0)])
    if extra and args.command not in ("run", "ab"):
        _parser().error("arguments after -- are only for `suite run` and `suite ab`")
    args.pytest_args = extra
    handler = {
        "run": cmd_run,
        "ab": lambda a: _with_signals(a, _ab),
        "validate": cmd_validate,
        "list": cmd_list,
        "schema": cmd_schema,
        "compare": cmd_compare,
        "history": cmd_history,
        "report": cmd_report,
        "findings": cmd_findings,
    }
    return handler[args.command](args)
