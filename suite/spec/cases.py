"""Cases: one scenario x model x workers, the unit that runs in its own worker process."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from suite.spec import registry
from suite.spec.scenario import Scenario

#: What ``--quick`` keeps of a scenario: "does everything run, and roughly who wins" in
#: about a minute on 2 cores. Each kind also cuts each task's work (its ``Params.quick``:
#: iterations, repeats, bytes and latencies to a quarter).
QUICK_ROUNDS = 2
QUICK_WARMUP = 1
QUICK_MAX_TASKS = 64
QUICK_MAX_WORKERS = 16


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

    @property
    def id(self) -> str:
        return f"{self.model}-w{self.workers}"

    @property
    def tasks(self) -> int:
        return int(self.params["tasks"])


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
    models = list(scenario.models or registry.runners())
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
        return list(dict.fromkeys(min(w, QUICK_MAX_WORKERS) for w in scenario.workers))
    return list(scenario.workers)


def build(scenario: Scenario, overrides: Overrides = Overrides()) -> list[Case]:
    """The cases of one scenario, in model order then worker order."""
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
                )
            )
    return cases
