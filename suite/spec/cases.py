"""Cases: one scenario x model x workers, the unit that runs in its own worker process."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from suite.spec import registry
from suite.spec.scenario import Scenario

#: What ``--quick`` keeps of a scenario: "does everything run, and roughly who wins" in
#: about two minutes on 2 cores. Every model runs; of the scenario's worker counts, the
#: fewest and the most (capped); of a serve scenario's, the most (capped), under its
#: highest open rate (its closed load points where it has no open load). Each kind
#: also cuts each task's work (its ``Params.quick``: iterations, repeats, bytes and
#: latencies to a quarter, waits at most 50 ms).
QUICK_ROUNDS = 2
QUICK_WARMUP = 1
QUICK_MAX_TASKS = 64
QUICK_MAX_WORKERS = 16
#: What ``--quick`` keeps of each serve load point's window and warm-up, in seconds.
QUICK_SERVE_S = 0.3
QUICK_SERVE_WARMUP_S = 0.1
#: A warm-up round runs this share of a round's tasks (see :attr:`Case.warmup_tasks`).
WARMUP_SHARE = 0.25


@dataclass(frozen=True)
class Case:
    """Everything a worker needs to measure one case; crosses the process boundary as JSON."""

    scenario: str
    model: str
    workers: int
    kind: str
    params: dict[str, Any]
    rounds: int
    warmup: int
    timeout_s: float
    #: Settings for the model, e.g. ``{"dask_address": "tcp://..."}``.
    options: dict[str, Any] = field(default_factory=dict)
    #: Whether the scenario lets its cases' rounds run in shuffled cycles side by side.
    interleave: bool = True
    #: Extra rounds while the case's figure is uncertain (interleaved cases only): at most
    #: this many measured rounds, until within ``precision_pct``, within ``budget_s``.
    max_rounds: int = 0
    precision_pct: float = 3.0
    budget_s: float | None = None
    #: ``batch`` (rounds of tasks) or ``serve`` (the model as a server under ``load``).
    mode: str = "batch"
    #: Serve mode: this case's load point (see :func:`load_points`), the latency
    #: objective and the tasks each request runs.
    load: dict[str, Any] | None = None
    slo_p99_ms: float | None = None
    fanout: int = 1
    #: Threads each native pool may use in every process of the case (``"auto"``:
    #: usable CPUs // workers); ``None`` leaves them as the library sets them.
    native_threads: int | str | None = None
    #: Which side of an A/B comparison (``suite ab``) the case belongs to; "" outside one.
    side: str = ""

    def native_limit(self, usable_cpus: int) -> int | None:
        """The native pools' thread limit for this case on ``usable_cpus`` CPUs."""
        if self.native_threads == "auto":
            return max(1, usable_cpus // max(1, self.workers))
        return None if self.native_threads is None else int(self.native_threads)

    @property
    def id(self) -> str:
        base = f"{self.model}-w{self.workers}"
        return base if self.load is None else f"{base}-{self.load['label']}"

    @property
    def load_label(self) -> str:
        """The serve load point's name (``closed16``, ``open800``); empty in batch mode."""
        return str(self.load["label"]) if self.load else ""

    @property
    def tasks(self) -> int:
        return int(self.params["tasks"])

    @property
    def warmup_tasks(self) -> int:
        """Tasks of a warm-up round: a quarter of a round's (:data:`WARMUP_SHARE`), at
        least two per worker, and through the task a fault is injected into.

        A warm-up round is there so that the first measured round pays no first-time
        costs: imports, the interpreter's specialization, a pool's lazy start, a
        client's connections, a native library's threads. Each worker meets those at its
        first task, so a share of the tasks that reaches every worker pays them at a
        quarter of the time (a sequential web fan-out's warm-up was 10.75 s of waiting).
        The fault stays in the warm-up round, where it fired before."""
        share = max(2 * self.workers, math.ceil(self.tasks * WARMUP_SHARE))
        fault = self.params.get("fault")
        if fault:
            share = max(share, int(fault.get("at_task", 0)) + 1)
        return min(self.tasks, share)


@dataclass(frozen=True)
class Overrides:
    """What the command line changes in every scenario of a run."""

    models: Sequence[str] | None = None
    workers: Sequence[int] | None = None
    rounds: int | None = None
    quick: bool = False
    dask_address: str | None = None


def select_models(scenario: Scenario, wanted: Sequence[str] | None) -> list[str]:
    """The scenario's models (default: all known), narrowed to ``wanted`` when given."""
    models = scenario.models or [name for name, cls in registry.runners().items() if cls.by_default]
    models = list(models)
    if wanted is not None:
        models = [m for m in models if m in wanted]
    return models


def _options(scenario: Scenario, overrides: Overrides) -> dict[str, Any]:
    address = overrides.dask_address or scenario.dask_address
    return {"dask_address": address} if address else {}


def _levels(scenario: Scenario, overrides: Overrides, fixed: int | None) -> list[int]:
    """Worker counts of one model; ``--quick`` caps the scenario's own (not ``--workers``)."""
    if fixed is not None:
        return [fixed]
    if overrides.workers:
        return list(overrides.workers)
    if overrides.quick:
        capped = [min(w, QUICK_MAX_WORKERS) for w in scenario.workers]
        return sorted({min(capped), max(capped)})
    return list(scenario.workers)


def load_points(scenario: Scenario, quick: bool = False) -> list[dict[str, Any]]:
    """A serve scenario's load points: closed ones (by connections), then open ones (by
    rate). ``quick`` shortens each window and keeps the highest open rate alone (the
    closed points where there is no open load)."""
    load = scenario.load
    if load is None:
        return []
    common = {
        "duration_s": min(load.duration_s, QUICK_SERVE_S) if quick else load.duration_s,
        "warmup_s": min(load.warmup_s, QUICK_SERVE_WARMUP_S) if quick else load.warmup_s,
        "timeout_s": load.timeout_s,
    }
    points = []
    # A quick look keeps one point where the scenario has an open load: its highest rate,
    # the one that decides which models hold their SLO (serving dominated a quick run).
    closed = load.closed.connections if load.closed and not (quick and load.open) else ()
    for connections in closed:
        points.append(
            {"mode": "closed", "connections": connections, "label": f"closed{connections}", **common}
        )
    if load.open is not None:
        for rate in sorted(load.open.rates_rps)[-1:] if quick else load.open.rates_rps:
            points.append(
                {
                    "mode": "open",
                    "rate_rps": rate,
                    "arrival": load.open.arrival,
                    "connections": load.open.connections,
                    "label": f"open{rate:g}",
                    **common,
                }
            )
    return points


def _serve_models(scenario: Scenario, wanted: Sequence[str] | None) -> list[str]:
    models = list(scenario.models or registry.servers())
    return [m for m in models if wanted is None or m in wanted]


def build_serve(scenario: Scenario, overrides: Overrides = Overrides()) -> list[Case]:
    """A serve scenario's cases: model x workers x load point, in that order."""
    params = scenario.params.quick() if overrides.quick else scenario.params
    # One request at a time is the unit: no rounds, no interleaving, one load point each.
    serving = Case(
        scenario=scenario.name,
        model="",
        workers=1,
        kind=scenario.kind,
        params=params.model_dump(mode="json"),
        rounds=1,
        warmup=0,
        timeout_s=scenario.timeout_s,
        interleave=False,
        max_rounds=1,
        mode="serve",
        slo_p99_ms=scenario.slo_p99_ms,
        fanout=scenario.fanout,
    )
    cases: list[Case] = []
    for model in _serve_models(scenario, overrides.models):
        fixed = registry.server(model).fixed_workers
        levels = _levels(scenario, overrides, fixed)
        if overrides.quick and fixed is None and not overrides.workers:
            # A quick look at serving: the most workers only, capped (uvicorn spawned
            # its 64 processes in about 10 s, twice a scenario).
            levels = [min(levels[-1], QUICK_MAX_WORKERS)]
        for workers in levels:
            cases += [
                dataclasses.replace(
                    serving,
                    model=model,
                    workers=workers,
                    load=point,
                )
                for point in load_points(scenario, overrides.quick)
            ]
    return cases


def build(scenario: Scenario, overrides: Overrides = Overrides()) -> list[Case]:
    """The cases of one scenario, in model order then worker order."""
    if scenario.mode == "serve":
        return build_serve(scenario, overrides)
    params = scenario.params
    if overrides.quick:
        quicker = params.quick()
        # A fault must still fire: keep the task it is injected into.
        keep = QUICK_MAX_TASKS if quicker.fault is None else max(QUICK_MAX_TASKS, quicker.fault.at_task + 1)
        params = quicker.model_copy(update={"tasks": min(quicker.tasks, keep)})
    rounds = overrides.rounds or (min(scenario.rounds, QUICK_ROUNDS) if overrides.quick else scenario.rounds)
    warmup = min(scenario.warmup, QUICK_WARMUP) if overrides.quick else scenario.warmup
    cases: list[Case] = []
    for model in select_models(scenario, overrides.models):
        for workers in _levels(scenario, overrides, registry.runner(model).fixed_workers):
            cases.append(
                Case(
                    scenario=scenario.name,
                    model=model,
                    workers=workers,
                    kind=scenario.kind,
                    params=params.model_dump(mode="json"),
                    rounds=rounds,
                    warmup=warmup,
                    timeout_s=scenario.timeout_s,
                    options=_options(scenario, overrides),
                    interleave=scenario.interleave,
                    # A quick look does not refine: it is for "does it run", not for margins.
                    max_rounds=rounds if overrides.quick or overrides.rounds else scenario.max_rounds,
                    precision_pct=scenario.precision_pct,
                    budget_s=scenario.budget_s,
                    native_threads=scenario.native_threads,
                )
            )
    return cases
