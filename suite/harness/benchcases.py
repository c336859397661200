"""The benchmark function every scenario file runs; the plugin parametrizes it per case.

It is collected once per scenario file (see :mod:`suite.harness.plugin`), never imported
as a test module of its own. Each call runs one case in a worker process and hands the
round durations the worker measured to pytest-benchmark through a :class:`ReplayClock`,
so the stored statistics are exactly the worker's numbers.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from typing import Any

import pytest

from suite.errors import CaseFailed, ModelUnavailable, Terminated
from suite.harness import groups, launcher, metrics, options, serve_case, workcount
from suite.harness.backend import BackendError
from suite.harness.executables import Interpreter
from suite.harness.launcher import CaseResult
from suite.harness.runstate import BASELINES, CASES, COUNTS, OUTCOMES, RECORDS
from suite.results.record import CaseRecord, LoadPoint
from suite.spec import registry
from suite.spec.cases import Case

#: Kept of a failed case's traceback in the saved results.
DETAIL_CHARS = 4000


def test_case(
    request: pytest.FixtureRequest, benchmark: Any, scenario: str, model: str, workers: int, python: str
) -> None:
    run_benchmark(request, benchmark)


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


def run_benchmark(request: pytest.FixtureRequest, benchmark: Any) -> None:
    """Measure the current item's case in a worker and record it with ``benchmark``."""
    module = request.node.getparent(pytest.Module)
    assert module is not None
    case, python = request.config.stash[CASES][(module.nodeid, request.node.callspec.id)]
    config = request.config
    record = CaseLog(config, request.node.nodeid, request.node.name, case, python)
    if python.error is not None:
        record.failed("failed", python.error)
        pytest.fail(f"{case.scenario} {case.id}: {python.error}", pytrace=False)
    failure: CaseFailed | None = None
    try:
        result = _measure(request, module, case, python)
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
        record.failed(failure.status, failure.reason, failure.detail, failure.fields)
        if failure.status == "incorrect" and case.params.get("guard", "none") == "none":
            # Unguarded updates of shared state: whether they are lost is the question asked.
            pytest.xfail(f"{case.scenario} {case.id}: {failure.reason}")
        if case.params.get("fault") and backend_death is None:
            # The scenario injects a fault: a case it brings down is the finding, not an error.
            pytest.xfail(f"{case.scenario} {case.id}: the injected fault stopped it: {failure.reason}")
        pytest.fail(f"{case.scenario} {case.id}: {failure.reason}\n{failure.detail}", pytrace=False)
    clock = request.node.get_closest_marker("benchmark").kwargs["timer"]
    clock.load(result.durations_s)
    if isinstance(result, serve_case.ServeResult):
        kept = serve_case.record(result)
    else:
        baselines = request.config.stash[BASELINES]
        where = (case.scenario, python.label, case.side)
        if case.model == "sequential":  # first in model order, so later cases can compare
            baselines[where] = result
        kept = metrics.record(result, baselines.get(where))
        if result.group is None and case.interleave:
            kept.alone_reason = groups.alone_reason(case)
    if case.side:
        kept.side = case.side
    _work_count(config, case, python, kept)
    benchmark.extra_info.update(kept.stored())
    kept.median_s, kept.interpreter = statistics.median(result.durations_s), python.label
    record.measured(kept)
    benchmark.pedantic(clock.advance, rounds=len(result.durations_s), iterations=1, warmup_rounds=0)


def _measure(
    request: pytest.FixtureRequest, module: pytest.Module, case: Case, python: Interpreter
) -> CaseResult | serve_case.ServeResult:
    """The case's result: from its scenario's interleaved group, or measured alone now."""
    found = groups.outcome(module, request.session, request.node.callspec.id)
    if isinstance(found, Exception):
        raise found
    if found is not None:
        return found
    try:
        endpoint = groups.endpoint(request.config, case)
    except BackendError as exc:
        raise CaseFailed(str(exc)) from None
    if case.mode == "serve":
        return serve_case.run_serve_case(case, python=python.path, endpoint=endpoint)
    return launcher.run_case(case, python=python.path, endpoint=endpoint)


def _work_count(config: pytest.Config, case: Case, python: Interpreter, record: CaseRecord) -> None:
    """The instructions one of the case's tasks executes, counted once per task (its
    kind and parameters) and interpreter, after its rounds; or why it has none. Two
    sides that run the same task under the same interpreter share one count (a side's
    code or keys are in its parameters)."""
    if not workcount.countable(case):
        return
    if options.value(config, "no-count") or options.value(config, "quick"):
        record.instructions_note = "not counted (--no-count or --quick)"
        return
    key = (case.kind, python.path, json.dumps(case.params, sort_keys=True))
    counts = config.stash[COUNTS]
    if key not in counts:
        counts[key] = workcount.count(case, python.path)
    found = counts[key]
    if found.instructions is None:
        record.instructions_note = found.reason
    else:
        record.instructions_per_task = found.instructions


def _backend_death(config: pytest.Config, case: Case) -> str | None:
    """Why the case's server is gone, if it died while the case ran (never restarted)."""
    if registry.workload(case.kind).backend_for(case.params) is None:
        return None
    try:
        groups.endpoint(config, case)
    except BackendError as exc:
        return f"{exc} while this case ran; its requests failed"
    return None


class CaseLog:
    """What a run keeps of one case: the summary's outcome and the saved results' status."""

    def __init__(
        self, config: pytest.Config, nodeid: str, name: str, case: Case, python: Interpreter
    ) -> None:
        self.config = config
        self.entry = CaseRecord(
            name=name,
            fullname=nodeid,
            scenario=case.scenario,
            model=case.model,
            workers=case.workers,
            workload=case.kind,
            tasks=case.tasks,
            interpreter=python.label,
        )
        if case.side:
            self.entry.side = case.side
        if case.mode == "serve":
            self.entry.mode = "serve"
            self.entry.load = LoadPoint.model_validate(case.load)
            self.entry.slo_p99_ms, self.entry.fanout = case.slo_p99_ms, case.fanout
        config.stash[RECORDS][nodeid] = self.entry

    def failed(
        self, status: str, reason: str, detail: str = "", fields: dict[str, Any] | None = None
    ) -> None:
        entry = self.entry
        entry.status, entry.reason, entry.detail = status, reason, detail[-DETAIL_CHARS:]
        for name, value in (fields or {}).items():
            setattr(entry, name, value)
        self.config.stash[OUTCOMES].append(entry.model_copy(update={"detail": None}))

    def measured(self, record: CaseRecord) -> None:
        self.entry.status, self.entry.reason = record.status, record.reason
        self.config.stash[OUTCOMES].append(record)
