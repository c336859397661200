"""pytest plugin: scenario files become pytest-benchmark benchmarks, one per case.

A YAML file named on the command line (or lying directly in a folder named there) is
collected as a module whose single function is :func:`suite.benchcases.test_case`,
parametrized with one ``(model, workers)`` pair per case. The test runs the case in a
worker process and hands the round durations the worker measured to pytest-benchmark
through a replaying clock, so the stored statistics are exactly the worker's numbers.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import statistics
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from . import environment, interpreters, launcher, metrics, registry, saving, summary
from .backend import BackendError, Backends
from .cases import Case, Overrides, build
from .errors import CaseFailed, ModelUnavailable, ScenarioError, Terminated
from .interpreters import Interpreter
from .scenario import SUFFIXES, Scenario, load

#: Kept of a failed case's traceback in the saved results.
DETAIL_CHARS = 4000


class ReplayClock:
    """A clock that stands still until advanced by durations measured elsewhere.

    pytest-benchmark reads the timer before and after calling the target; the target is
    :meth:`advance`, so each round it records is the next worker-measured duration.
    """

    __name__ = "worker_perf_counter"

    def __init__(self) -> None:
        self.now = 0.0
        self._pending: list[float] = []

    def load(self, durations: Sequence[float]) -> None:
        self._pending = list(durations)

    def advance(self) -> None:
        self.now += self._pending.pop(0)

    def __call__(self) -> float:
        return self.now


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("suite", "concurrency comparison suite")
    group.addoption(
        "--suite-models", default=None, help="comma-separated models to run (default: each scenario's)"
    )
    group.addoption(
        "--suite-workers", default=None, help="comma-separated worker counts, replacing each scenario's"
    )
    group.addoption("--suite-rounds", type=int, default=None, help="measured rounds per case")
    group.addoption(
        "--suite-quick", action="store_true", help="fewer rounds and smaller sizes, for a fast look"
    )
    group.addoption("--suite-dask-address", default=None, help="scheduler address for the dask model")
    group.addoption(
        "--suite-results",
        type=Path,
        default=None,
        help="save the run here (pytest-benchmark's layout), failed and interrupted cases included",
    )
    group.addoption("--suite-save", default=None, help="name of the saved run (default: commit and time)")
    group.addoption(
        "--suite-python",
        action="append",
        default=None,
        help="interpreter that runs the workers (repeatable: every case runs under each; default: this one)",
    )


def _csv(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def overrides(config: pytest.Config) -> Overrides:
    workers = _csv(config.getoption("suite_workers"))
    return Overrides(
        models=_csv(config.getoption("suite_models")),
        workers=[int(w) for w in workers] if workers else None,
        rounds=config.getoption("suite_rounds"),
        quick=config.getoption("suite_quick"),
        dask_address=config.getoption("suite_dask_address"),
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
    """A scenario file, collected like a test module holding :func:`~suite.benchcases.test_case`."""

    scenario: Scenario
    cases: dict[str, tuple[Case, Interpreter]]

    def _getobj(self) -> ModuleType:
        try:
            self.scenario = load(self.path)
        except ScenarioError as exc:
            raise self.CollectError(str(exc)) from None
        pythons = interpreters.resolve(self.config.getoption("suite_python"))
        self.cases = {}
        for case in build(self.scenario, overrides(self.config)):
            for python in pythons:
                # Ids name the interpreter only when a run has several.
                case_id = case.id if len(pythons) == 1 else f"{case.id}-{python.label.replace(' ', '')}"
                self.cases[case_id] = (case, python)
        return importlib.import_module("suite.benchcases")


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
            marks=pytest.mark.benchmark(group=case.scenario, timer=ReplayClock()),
        )
        for case_id, (case, python) in node.cases.items()
    ]
    metafunc.parametrize(("scenario", "model", "workers", "python"), params)


def run_benchmark(request: pytest.FixtureRequest, benchmark: Any) -> None:
    """Measure the current item's case in a worker and record it with ``benchmark``."""
    node = request.node.getparent(ScenarioFile)
    assert node is not None
    case, python = node.cases[request.node.callspec.id]
    config = request.config
    record = CaseRecord(config, request.node.nodeid, request.node.name, case, python)
    if python.error is not None:
        record.failed("failed", python.error)
        pytest.fail(f"{case.scenario} {case.id}: {python.error}", pytrace=False)
    failure: CaseFailed | None = None
    try:
        endpoint = _endpoint(config, case)
    except BackendError as exc:
        failure = CaseFailed(str(exc))
    if failure is not None:  # failed outside the handler, so no exception chain is printed
        record.failed("failed", failure.reason)
        pytest.fail(f"{case.scenario} {case.id}: {failure.reason}", pytrace=False)
    try:
        result = launcher.run_case(case, python=python.path, endpoint=endpoint)
    except ModelUnavailable as exc:
        record.failed("unavailable", str(exc))
        pytest.skip(f"{case.model} unavailable: {exc}")
    except CaseFailed as exc:
        failure = exc
    except KeyboardInterrupt as exc:
        signal_name = "SIGTERM" if isinstance(exc, Terminated) else "SIGINT"
        record.failed("interrupted", f"the run was interrupted ({signal_name}) while this case ran")
        raise
    backend_death = _backend_death(config, case)
    if backend_death is not None:
        failure = CaseFailed(backend_death, detail=failure.reason if failure else "")
    if failure is not None:  # failed outside the handler, so no exception chain is printed
        record.failed(failure.status, failure.reason, failure.detail)
        if case.params.get("fault") and backend_death is None:
            # The scenario injects a fault: a case it brings down is the finding, not an error.
            pytest.xfail(f"{case.scenario} {case.id}: the injected fault stopped it: {failure.reason}")
        pytest.fail(f"{case.scenario} {case.id}: {failure.reason}\n{failure.detail}", pytrace=False)
    clock = request.node.get_closest_marker("benchmark").kwargs["timer"]
    clock.load(result.durations_s)
    baselines = request.config.stash[BASELINES]
    if case.model == "sequential":  # first in model order, so later cases can compare
        baselines[(case.scenario, python.label)] = statistics.median(result.durations_s)
    info = metrics.extra_info(result, baselines.get((case.scenario, python.label)))
    median_s = statistics.median(result.durations_s)
    record.measured({**info, "median_s": median_s, "interpreter": python.label})
    benchmark.extra_info.update(info)
    benchmark.pedantic(clock.advance, rounds=len(result.durations_s), iterations=1, warmup_rounds=0)


def _endpoint(config: pytest.Config, case: Case) -> dict[str, Any] | None:
    backend = registry.workload(case.kind).backend
    return None if backend is None else config.stash[BACKENDS].endpoint(backend)


def _backend_death(config: pytest.Config, case: Case) -> str | None:
    """Why the case's server is gone, if it died while the case ran (never restarted)."""
    backend = registry.workload(case.kind).backend
    if backend is None:
        return None
    try:
        config.stash[BACKENDS].endpoint(backend)
    except BackendError as exc:
        return f"{exc} while this case ran; its requests failed"
    return None


class CaseRecord:
    """What a run keeps of one case: the summary's outcome and the saved results' status."""

    def __init__(
        self, config: pytest.Config, nodeid: str, name: str, case: Case, python: Interpreter
    ) -> None:
        self.config, self.case, self.python = config, case, python
        self.entry: dict[str, Any] = {
            "name": name,
            "fullname": nodeid,
            "scenario": case.scenario,
            "model": case.model,
            "workers": case.workers,
            "workload": case.kind,
            "tasks": case.tasks,
            "interpreter": python.label,
        }
        config.stash[RECORDS][nodeid] = self.entry

    def failed(self, status: str, reason: str, detail: str = "") -> None:
        self.entry.update(status=status, reason=reason, detail=detail[-DETAIL_CHARS:])
        self.config.stash[OUTCOMES].append({**self.entry, "detail": None})

    def measured(self, info: dict[str, Any]) -> None:
        self.entry.update(status=info["status"], reason=info.get("reason"))
        self.config.stash[OUTCOMES].append(info)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    outcomes = config.stash.get(OUTCOMES, [])
    if outcomes:
        terminalreporter.write_sep("=", "concurrency suite summary")
        for line in summary.render(outcomes, list(registry.runners())):
            terminalreporter.write_line(line)
    saved = config.stash.get(SAVED, None)
    if saved is not None:
        terminalreporter.write_line(f"saved results in {saved}")


BACKENDS = pytest.StashKey[Backends]()
#: Sequential medians by scenario and interpreter, for speedup and CPU ideals.
BASELINES = pytest.StashKey[dict[tuple[str, str], float]]()
#: extra_info of every measured case, for the summary after the run.
OUTCOMES = pytest.StashKey[list[dict[str, Any]]]()
#: Each case that began, by node id: its status and reason, for the saved results.
RECORDS = pytest.StashKey[dict[str, dict[str, Any]]]()
#: Where pytest-benchmark writes the measured cases before the suite saves the run.
INCOMING = pytest.StashKey[Path]()
#: The saved run's file.
SAVED = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[BASELINES] = {}
    config.stash[OUTCOMES] = []
    config.stash[RECORDS] = {}
    config.stash[BACKENDS] = Backends()
    config.add_cleanup(config.stash[BACKENDS].close)
    results: Path | None = config.getoption("suite_results")
    if results is not None:
        name = config.getoption("suite_save")
        if name is not None and not saving.NAME.match(name):
            raise pytest.UsageError(f"--suite-save: a name must match {saving.NAME.pattern}, got {name!r}")
        # pytest-benchmark writes here (its JSON, with every round); the suite adds the
        # cases it could not measure and saves the whole atomically at the end.
        results.mkdir(parents=True, exist_ok=True)
        incoming = results / f".incoming-{os.getpid()}-{os.urandom(4).hex()}.json"
        config.stash[INCOMING] = incoming
        config.option.benchmark_json = incoming


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

    name: str | None = config.getoption("suite_save")
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
        entry.setdefault("status", "interrupted" if interrupted else "failed")
        entry.setdefault("reason", "the case did not finish")
    not_run = [item.nodeid for item in session.items if item.nodeid not in records]
    document["suite"] = {
        "complete": not interrupted and not not_run,
        "exit": "interrupted" if interrupted else "finished",
        "cases": list(records.values()),
        "not_run": not_run,
    }
    from pytest_benchmark.utils import get_machine_id  # its storage folder for this machine

    folder = config.getoption("suite_results") / get_machine_id()  # type: ignore[no-untyped-call]
    with _signals_held():  # a second Ctrl-C must not cost the run that is being saved
        config.stash[SAVED] = saving.save_run(folder, _run_name(config), document)
        incoming.unlink(missing_ok=True)


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
