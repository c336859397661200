"""A scenario file's cases, measured side by side: the interleaved group and the probe.

The first case of a scenario file that pytest runs measures the whole group (every
selected case of that file that may stand beside the others); each case's test then
takes its own outcome. Cases that cannot stand beside others run alone, in turn, when
their test comes. The capacity probe reads the machine before each scenario and after every
other cycle.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable
from typing import Any

import pytest

from suite.errors import CaseFailed
from suite.harness import options
from suite.harness.backend import BackendError
from suite.harness.interleave import Adapt, Job, Outcome, run_interleaved
from suite.harness.paired import Plan, run_paired
from suite.harness.probe import CapacityProbe
from suite.harness.progress import fmt_duration
from suite.harness.runstate import BACKENDS, CASES, GROUPS, INTERLEAVED, PROBE
from suite.spec import registry
from suite.spec.cases import Case

#: From this many workers a case runs alone: its sockets, threads or processes would
#: crowd the cases beside it (and the descriptor limit).
ALONE_WORKERS = 1000


def alone_reason(case: Case) -> str | None:
    """Why ``case`` runs alone rather than interleaved with its scenario's other cases."""
    if case.mode == "serve":
        return "serve mode: each server is measured alone, under its load"
    if not case.interleave:
        return "its scenario sets interleave: false"
    if case.workers >= ALONE_WORKERS:
        return f"{case.workers} workers are too many to hold beside other cases"
    return registry.runner(case.model).busy_when_idle


def endpoint(config: pytest.Config, case: Case) -> dict[str, Any] | None:
    """Where the case's backend listens (started on first use); raises :class:`BackendError`."""
    backend = registry.workload(case.kind).backend_for(case.params)
    return None if backend is None else config.stash[BACKENDS].endpoint(backend)


def probe(config: pytest.Config, **context: Any) -> dict[str, Any] | None:
    """A capacity reading now, saved with ``context``; ``None`` if the probe cannot run."""
    found = config.stash.get(PROBE, None)
    if found is None:
        try:
            found = CapacityProbe()
        except (OSError, ValueError):
            return None
        config.stash[PROBE] = found
        config.add_cleanup(found.close)
    return found.probe(**context)


def outcome(module: pytest.Module, session: pytest.Session, key: str) -> Outcome | None:
    """The case's outcome from its scenario's group, measured on first call; ``None`` when
    the case runs alone (its caller measures it)."""
    groups = session.config.stash[GROUPS]
    if module.nodeid not in groups:
        groups[module.nodeid] = _measure_group(module, session)
    return groups[module.nodeid].get(key)


def members(module: pytest.Module, session: pytest.Session) -> list[tuple[str, Case, Any]]:
    """The selected cases of a scenario file, in run order: (key, case, interpreter)."""
    cases = session.config.stash[CASES]
    found = []
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        if item.getparent(pytest.Module) is module and callspec is not None:
            case, python = cases[(module.nodeid, callspec.id)]
            found.append((callspec.id, case, python))
    return found


def _measure_group(module: pytest.Module, session: pytest.Session) -> dict[str, Outcome]:
    config = session.config
    everyone = members(module, session)
    alone = {key: reason for key, case, _ in everyone if (reason := alone_reason(case)) is not None}
    outcomes: dict[str, Outcome] = {}
    jobs = []
    for key, case, python in everyone:
        if python.error is not None or key in alone:
            continue
        try:
            pair = case.id if case.side else None
            jobs.append(Job(key, case, python.path, endpoint(config, case), pair))
        except BackendError as exc:
            outcomes[key] = CaseFailed(str(exc))
    scenario = everyone[0][1].scenario if everyone else module.name
    first = probe(config, scenario=scenario, cycle=0)
    if len(jobs) < 2:
        return outcomes
    seed = random.randrange(2**32)
    config.stash[INTERLEAVED][scenario] = {"seed": seed, "cases": [job.key for job in jobs], "alone": alone}
    began = time.monotonic()
    first_case = jobs[0].case
    say = _writer(config)
    say(f"{scenario}: {len(jobs)} cases side by side, one round of each per cycle in shuffled order")
    if first is not None:
        say(f"  before: {_capacity(first)}")

    def between(done: int, planned: int, pending: int) -> None:
        # A quick look reads the machine before each scenario only: it is for "does it run".
        # A full run reads it after every other cycle and after the last planned one: a
        # reading takes about 0.2 s, and after every cycle they were 170 of them, 6% of
        # the run; the machine's notes come from their median and extremes per scenario.
        wanted = not options.value(config, "quick") and (first_case.side or done % 2 == 0 or done == planned)
        reading = probe(config, scenario=scenario, cycle=done) if wanted else None
        note = f"; {_capacity(reading)}" if reading is not None else ""
        if first_case.side and not planned:
            what = f"extra cycle {done} for the cases not settled"
        elif first_case.side:
            what = f"pair {pending + 1} of processes: cycle {done}/{planned}"
        elif not pending:
            what = f"cycle {done}/{planned}"
        else:
            what = f"extra cycle {done} for {pending} uncertain case(s)"
        say(f"  {what} done, {fmt_duration(time.monotonic() - began)}{note}")

    if first_case.side:  # suite ab: both sides of each case paired, until settled
        plan = Plan(options.value(config, "pairs"), options.value(config, "floor") / 100)
        outcomes.update(run_paired(jobs, seed, between, plan))
        return outcomes
    adapt = Adapt(first_case.max_rounds, first_case.precision_pct / 100, first_case.budget_s)
    outcomes.update(run_interleaved(jobs, seed, between, adapt))
    return outcomes


def _capacity(reading: dict[str, Any]) -> str:
    return (
        f"the machine gave {reading['parallelism']:.2f} of {reading['cpus']} cores, "
        f"{reading['single_s'] * 1000:.1f} ms a probe loop"
    )


def _writer(config: pytest.Config) -> Callable[[str], None]:
    """Print a line now, while a test runs (past pytest's output capture), as live logs do."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or config.get_verbosity() < 1:
        return lambda line: None  # -q: the dots stay on one line

    def write(line: str) -> None:
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            reporter.write_line(line)

    return write
