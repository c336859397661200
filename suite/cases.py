"""Cases: one scenario x model x workers, the unit that runs in its own worker process."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from . import registry
from .scenario import Scenario

QUICK_ROUNDS = 2
QUICK_WARMUP = 1


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


def build(scenario: Scenario, overrides: Overrides = Overrides()) -> list[Case]:
    """The cases of one scenario, in model order then worker order."""
    params = scenario.params.quick() if overrides.quick else scenario.params
    rounds = overrides.rounds or (min(scenario.rounds, QUICK_ROUNDS) if overrides.quick else scenario.rounds)
    warmup = min(scenario.warmup, QUICK_WARMUP) if overrides.quick else scenario.warmup
    cases: list[Case] = []
    for model in select_models(scenario, overrides.models):
        fixed = registry.runner(model).fixed_workers
        levels = [fixed] if fixed is not None else list(overrides.workers or scenario.workers)
        for workers in levels:
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
                )
            )
    return cases
