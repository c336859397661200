"""pytest plugin: scenario files become pytest-benchmark benchmarks, one per case.

A YAML file named on the command line (or lying directly in a folder named there) is
collected as a module whose single function is :func:`suite.harness.benchcases.test_case`,
parametrized with one ``(model, workers)`` pair per case; that function measures the case.
This module collects, prints the summary and saves the run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import threading
from collections.abc import Generator, Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from suite.errors import ScenarioError
from suite.harness import benchcases, environment, executables, groups, options
from suite.harness.backend import Backends
from suite.harness.executables import Interpreter
from suite.harness.progress import Progress, case_seconds, fmt_duration
from suite.harness.runstate import (
    BACKENDS,
    BASELINES,
    CASES,
    COUNTS,
    GROUPS,
    INCOMING,
    INTERLEAVED,
    OUTCOMES,
    PROBE,
    PROGRESS,
    RECORDS,
    SAVED,
    SCENARIOS,
)
from suite.results import history, machine, saving, summary
from suite.results.ab import MIN_CYCLES
from suite.spec import registry
from suite.spec.cases import Case, Overrides, build
from suite.spec.scenario import SUFFIXES, Scenario, load
from suite.spec.sides import Side
from suite.spec.sides import load as load_side


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_to_pytest(parser)


def overrides(config: pytest.Config) -> Overrides:
    return Overrides(
        models=options.value(config, "models"),
        workers=options.value(config, "workers"),
        rounds=options.value(config, "rounds"),
        quick=bool(options.value(config, "quick")),
        dask_address=options.value(config, "dask-address"),
    )


def _is_scenario(file_path: Path, session: pytest.Session) -> bool:
    if file_path.suffix not in SUFFIXES:
        return False
    return session.isinitpath(file_path) or session.isinitpath(file_path.parent)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if _is_scenario(file_path, parent.session):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.Module):
    """A scenario file, collected like a test module holding :func:`~suite.harness.benchcases.test_case`."""

    scenario: Scenario
    cases: dict[str, tuple[Case, Interpreter]]

    def _getobj(self) -> ModuleType:
        self.cases = {}
        sides = [Side.from_json(text) for text in options.value(self.config, "side") or []]
        try:
            if sides:
                self._collect_sides(sides)
            else:
                self._collect()
        except ScenarioError as exc:
            raise self.CollectError(str(exc)) from None
        return benchcases

    def _collect(self) -> None:
        self.scenario = load(self.path)
        self.config.stash[SCENARIOS][self.scenario.name] = self.scenario.description or ""
        pythons = executables.resolve(options.value(self.config, "python"))
        known = self.config.stash[CASES]
        for case in build(self.scenario, overrides(self.config)):
            for python in pythons:
                # Ids name the interpreter only when a run has several.
                case_id = case.id if len(pythons) == 1 else f"{case.id}-{python.label.replace(' ', '')}"
                self.cases[case_id] = known[(self.nodeid, case_id)] = (case, python)

    def _collect_sides(self, sides: list[Side]) -> None:
        """Every case twice, once per side (``suite ab``): ids end in the side's name."""
        known = self.config.stash[CASES]
        for side in sides:
            self.scenario = load_side(self.path, side)
            self.config.stash[SCENARIOS].setdefault(self.scenario.name, self.scenario.description or "")
            (python,) = executables.resolve([side.python] if side.python else None)
            for case in build(self.scenario, overrides(self.config)):
                case_id = f"{case.id}-{side.name}"
                # Each pair of processes measures enough cycles for a verdict of its own.
                rounds = case.rounds if options.value(self.config, "rounds") else max(case.rounds, MIN_CYCLES)
                sided = dataclasses.replace(case, side=side.name, rounds=rounds)
                self.cases[case_id] = known[(self.nodeid, case_id)] = (sided, python)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    node = metafunc.definition.parent
    if not isinstance(node, ScenarioFile):
        return
    params = [
        pytest.param(
            case.scenario,
            case.model,
            case.workers,
            python.label,
            id=case_id,
            marks=pytest.mark.benchmark(group=case.scenario, timer=benchcases.ReplayClock()),
        )
        for case_id, (case, python) in node.cases.items()
    ]
    metafunc.parametrize(("scenario", "model", "workers", "python"), params)


@pytest.hookimpl(tryfirst=True)  # before the terminal reporter prints the estimate
def pytest_collection_finish(session: pytest.Session) -> None:
    """Estimate each case's length for the estimate of what is left. An interleaved group
    is measured while its file's first case runs: that case carries the group."""
    cases = session.config.stash[CASES]
    if not cases and session.config.stash[SCENARIOS]:
        raise pytest.UsageError("no cases to run: no scenario has any of the selected models")
    weights: dict[str, float] = {}
    carrier: dict[str, str] = {}
    cores = environment.usable_cpus()
    for item in session.items:
        module = item.getparent(pytest.Module)
        callspec = getattr(item, "callspec", None)
        found = cases.get((module.nodeid, callspec.id)) if module and callspec else None
        if module is None or found is None:
            continue
        case, python = found
        weight = case_seconds(case, cores)
        if python.error is None and groups.alone_reason(case) is None:
            first = carrier.setdefault(module.nodeid, item.nodeid)
            weights[first] = weights.get(first, 0) + weight
            weights.setdefault(item.nodeid, 0)
        else:
            weights[item.nodeid] = weight
    session.config.stash[PROGRESS] = Progress.of(weights.items())


def pytest_report_collectionfinish(config: pytest.Config) -> str | None:
    """The run's estimated length, under "collected N items"."""
    progress = config.stash.get(PROGRESS, None)
    if progress is None or not progress.total:
        return None
    return (
        f"estimated run time: about {fmt_duration(progress.total)}, from the scenarios' parameters "
        "(corrected on each case's line as cases finish)"
    )


#: What ``pytest_report_teststatus`` returns: category, letter (``-q``), word (``-v``).
TestStatus = tuple[str, str, str | tuple[str, Mapping[str, bool]]]


@pytest.hookimpl(wrapper=True)
def pytest_report_teststatus(
    report: pytest.TestReport, config: pytest.Config
) -> Generator[None, TestStatus, TestStatus]:
    """Add elapsed time and an estimate of what is left to a case's result word (``-v``);
    ``-q`` prints only letters, which stay as they are."""
    status: TestStatus = yield
    category, letter, word = status
    progress = config.stash.get(PROGRESS, None)
    if not word or progress is None or report.when == "teardown":
        return status
    note = progress.done(report.nodeid)
    if note is None:
        return status
    text, markup = word if isinstance(word, tuple) else (word, {})
    return category, letter, (f"{text} ({note})", markup)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    outcomes = config.stash.get(OUTCOMES, [])
    if outcomes:
        terminalreporter.write_sep("=", "concurrency suite summary")
        for line in summary.render(outcomes, list(registry.runners()), list(registry.servers())):
            terminalreporter.write_line(line)
    seen = _capacity(config)
    text = machine.paragraph(seen["readings"], seen["cpus"])
    if text is not None:
        details = len(machine.warnings(seen["readings"], seen["cpus"]))
        terminalreporter.write_line(
            text
            + (
                f" (the detail per scenario: {details} note{'s' if details > 1 else ''} in suite report)"
                if details
                else ""
            )
        )
    for line in _count_notes(config):
        terminalreporter.write_line(line)
    if options.value(config, "quick"):
        terminalreporter.write_line(
            "a --quick look: fewer rounds, tasks and workers, smaller tasks; `suite compare` will not "
            "test it against full runs"
        )
    saved = config.stash.get(SAVED, None)
    if saved is not None:
        terminalreporter.write_line(f"saved results in {saved}")


def _count_notes(config: pytest.Config) -> list[str]:
    """Why CPU cases have no instruction counts, once per reason."""
    counts = list(config.stash.get(COUNTS, {}).values())
    reasons = dict.fromkeys(c.reason for c in counts if c.reason)
    lines = [f"instruction counts: none for some cases: {reason}" for reason in reasons]
    counted = [c for c in counts if c.instructions is not None]
    if counted:
        took = sum(c.seconds for c in counts)
        lines.append(f"instruction counts: {len(counted)} tasks counted under valgrind in {took:.0f} s")
    return lines


def pytest_configure(config: pytest.Config) -> None:
    config.stash[CASES] = {}
    config.stash[SCENARIOS] = {}
    config.stash[GROUPS] = {}
    config.stash[INTERLEAVED] = {}
    config.stash[BASELINES] = {}
    config.stash[OUTCOMES] = []
    config.stash[RECORDS] = {}
    config.stash[COUNTS] = {}
    postgres = options.value(config, "postgres")
    config.stash[BACKENDS] = Backends(
        given={"pgbackend": {"dsn": postgres, "given": True}} if postgres else None
    )
    config.add_cleanup(config.stash[BACKENDS].close)
    results: Path | None = options.value(config, "results")
    if results is not None:
        name = options.value(config, "save")
        if name is not None and not saving.NAME.match(name):
            raise pytest.UsageError(f"--suite-save: a name must match {saving.NAME.pattern}, got {name!r}")
        # pytest-benchmark writes here (its JSON, with every round); the suite adds the
        # cases it could not measure and saves the whole atomically at the end.
        results.mkdir(parents=True, exist_ok=True)
        incoming = results / f".incoming-{os.getpid()}-{os.urandom(4).hex()}.json"
        config.stash[INCOMING] = incoming
        config.option.benchmark_json = incoming


def _capacity(config: pytest.Config) -> dict[str, Any]:
    """The capacity probe's readings of this run, for the saved run and the summary."""
    found = config.stash.get(PROBE, None)
    return {"cpus": found.cpus, "readings": found.readings} if found else {"cpus": None, "readings": []}


def _skeleton(config: pytest.Config) -> dict[str, Any]:
    """pytest-benchmark's document for a run in which no case was measured."""
    machine_info = config.hook.pytest_benchmark_generate_machine_info(config=config)
    config.hook.pytest_benchmark_update_machine_info(config=config, machine_info=machine_info)
    commit_info = config.hook.pytest_benchmark_generate_commit_info(config=config)
    config.hook.pytest_benchmark_update_commit_info(config=config, commit_info=commit_info)
    document: dict[str, Any] = config.hook.pytest_benchmark_generate_json(
        config=config, benchmarks=[], include_data=True, machine_info=machine_info, commit_info=commit_info
    )
    return document


def _run_name(config: pytest.Config) -> str:
    """``--suite-save``, or what pytest-benchmark's autosave would call the run."""
    from pytest_benchmark.utils import get_tag

    name: str | None = options.value(config, "save")
    return name if name is not None else str(get_tag())  # type: ignore[no-untyped-call]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Save the run: measured cases as pytest-benchmark wrote them, plus a ``suite``
    section with every case's status, so failed and interrupted cases are never lost."""
    config = session.config
    incoming = config.stash.get(INCOMING, None)
    if incoming is None:
        return
    try:
        document = json.loads(incoming.read_bytes()) if incoming.exists() else None
    except ValueError:
        document = None  # pytest-benchmark was interrupted while writing it
    if document is None:
        document = _skeleton(config)
    records = config.stash[RECORDS]
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
    for entry in records.values():
        if "status" not in entry.model_fields_set:
            entry.status = "interrupted" if interrupted else "failed"
            entry.reason = "the case did not finish"
    not_run = [item.nodeid for item in session.items if item.nodeid not in records]
    document["suite"] = {
        "schema_version": history.SCHEMA_VERSION,
        "complete": not interrupted and not not_run,
        "exit": "interrupted" if interrupted else "finished",
        "cases": [entry.stored() for entry in records.values()],
        "not_run": not_run,
        "scenarios": config.stash[SCENARIOS],
        "quick": bool(options.value(config, "quick")),
        "interleaved": config.stash[INTERLEAVED],
        "capacity": _capacity(config),
    }
    sides = options.value(config, "side")
    if sides:
        document["suite"]["ab"] = {
            "sides": [json.loads(side) for side in sides],
            "floor": options.value(config, "floor") / 100,
            "pairs": options.value(config, "pairs"),
        }
    from pytest_benchmark.utils import get_machine_id  # its storage folder for this machine

    folder = options.value(config, "results") / get_machine_id()  # type: ignore[no-untyped-call]
    with _signals_held():  # a second Ctrl-C must not cost the run that is being saved
        config.stash[SAVED] = saving.save_run(folder, _run_name(config), document)
        incoming.unlink(missing_ok=True)
    from suite.results import index

    index.updated(options.value(config, "results"))  # a cache: the run is saved already


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Ignore SIGINT and SIGTERM for a moment (main thread only; the run is ending anyway)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in held.items():
            signal.signal(sig, handler)


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict[str, Any]) -> None:
    # pytest-benchmark's machine folder does not tell 3.13 from 3.13t; say it here.
    info = environment.describe()
    machine_info.update({key: info[key] for key in ("gil_enabled", "free_threaded", "usable_cpus")})
