"""pytest plugin: scenario files become pytest-benchmark benchmarks, one per case.

A YAML file named on the command line (or lying directly in a folder named there) is
collected as a module whose single function is :func:`suite.benchcases.test_case`,
parametrized with one ``(model, workers)`` pair per case. The test runs the case in a
worker process and hands the round durations the worker measured to pytest-benchmark
through a replaying clock, so the stored statistics are exactly the worker's numbers.
"""

from __future__ import annotations

import importlib
import statistics
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from . import environment, interpreters, launcher, metrics, registry, summary
from .backend import BackendError, Backends
from .cases import Case, Overrides, build
from .errors import CaseFailed, ModelUnavailable, ScenarioError
from .interpreters import Interpreter
from .scenario import SUFFIXES, Scenario, load


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


def _endpoint(config: pytest.Config, case: Case) -> dict[str, Any] | None:
    backend = registry.workload(case.kind).backend
    if backend is None:
        return None
    try:
        return config.stash[BACKENDS].endpoint(backend)
    except BackendError as exc:
        pytest.fail(f"{case.scenario} {case.id}: {exc}", pytrace=False)


def run_benchmark(request: pytest.FixtureRequest, benchmark: Any) -> None:
    """Measure the current item's case in a worker and record it with ``benchmark``."""
    node = request.node.getparent(ScenarioFile)
    assert node is not None
    case, python = node.cases[request.node.callspec.id]
    if python.error is not None:
        _record_failure(request.config, case, python, "failed", python.error)
        pytest.fail(f"{case.scenario} {case.id}: {python.error}", pytrace=False)
    endpoint = _endpoint(request.config, case)
    failure: CaseFailed | None = None
    try:
        result = launcher.run_case(case, python=python.path, endpoint=endpoint)
    except ModelUnavailable as exc:
        _record_failure(request.config, case, python, "unavailable", str(exc))
        pytest.skip(f"{case.model} unavailable: {exc}")
    except CaseFailed as exc:
        failure = exc
    if failure is not None:  # failed outside the handler, so no exception chain is printed
        _record_failure(request.config, case, python, failure.status, failure.reason)
        pytest.fail(f"{case.scenario} {case.id}: {failure.reason}\n{failure.detail}", pytrace=False)
    clock = request.node.get_closest_marker("benchmark").kwargs["timer"]
    clock.load(result.durations_s)
    baselines = request.config.stash[BASELINES]
    if case.model == "sequential":  # first in model order, so later cases can compare
        baselines[(case.scenario, python.label)] = statistics.median(result.durations_s)
    info = metrics.extra_info(result, baselines.get((case.scenario, python.label)))
    median_s = statistics.median(result.durations_s)
    request.config.stash[OUTCOMES].append({**info, "median_s": median_s, "interpreter": python.label})
    benchmark.extra_info.update(info)
    benchmark.pedantic(clock.advance, rounds=len(result.durations_s), iterations=1, warmup_rounds=0)


def _record_failure(config: pytest.Config, case: Case, python: Interpreter, status: str, reason: str) -> None:
    config.stash[OUTCOMES].append(
        {
            "scenario": case.scenario,
            "model": case.model,
            "workers": case.workers,
            "workload": case.kind,
            "tasks": case.tasks,
            "status": status,
            "reason": reason,
            "interpreter": python.label,
        }
    )


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    outcomes = config.stash.get(OUTCOMES, [])
    if outcomes:
        terminalreporter.write_sep("=", "concurrency suite summary")
        for line in summary.render(outcomes, list(registry.runners())):
            terminalreporter.write_line(line)


BACKENDS = pytest.StashKey[Backends]()
#: Sequential medians by scenario and interpreter, for speedup and CPU ideals.
BASELINES = pytest.StashKey[dict[tuple[str, str], float]]()
#: extra_info of every measured case, for the summary after the run.
OUTCOMES = pytest.StashKey[list[dict[str, Any]]]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[BASELINES] = {}
    config.stash[OUTCOMES] = []
    config.stash[BACKENDS] = Backends()
    config.add_cleanup(config.stash[BACKENDS].close)


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict[str, Any]) -> None:
    # pytest-benchmark's machine folder does not tell 3.13 from 3.13t; say it here.
    info = environment.describe()
    machine_info.update({key: info[key] for key in ("gil_enabled", "free_threaded", "usable_cpus")})
