from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from suite.spec import registry

pytest_plugins = ["pytester"]


def _model_params() -> list[object]:
    params = []
    for name, cls in registry.runners().items():
        reason = cls.unavailable_reason()
        marks = [pytest.mark.skip(reason=reason)] if reason else []
        params.append(pytest.param(name, id=name, marks=marks))
    return params


@pytest.fixture(autouse=True)
def _environment_restored() -> Any:
    """Each test leaves os.environ as it found it. Models run in this process by the
    runner tests change it: a Dask LocalCluster sets OMP_NUM_THREADS=1 and its BLAS
    siblings here for its workers, and every worker started later would inherit them."""
    saved = dict(os.environ)
    yield
    if os.environ != saved:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(params=_model_params())
def model(request: pytest.FixtureRequest) -> str:
    """Every model the suite knows; unavailable ones are skipped with their reason."""
    name: str = request.param
    return name


@pytest.fixture
def write_scenario(tmp_path: Path) -> Callable[..., Path]:
    """Write a scenario file (dedented) into a temporary folder and return its path."""

    def write(text: str, name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


MakeRun = Callable[..., Path]


@pytest.fixture
def make_run(tmp_path: Path) -> MakeRun:
    """Write a saved run in pytest-benchmark's format with chosen medians and noise.

    ``cases`` maps (scenario, model, workers) to a median in seconds; each case gets
    ``rounds`` round times spread by ``noise`` (a fraction) around it, from a fixed seed.
    """
    import json
    import random

    def make(
        number: int,
        cases: dict[tuple[str, str, int], float],
        *,
        name: str = "run",
        rounds: int = 7,
        noise: float = 0.01,
        seed: int = 0,
        machine: dict[str, object] | None = None,
        python: str = "3.11.7",
        extra: dict[str, object] | None = None,
        results: Path | None = None,
    ) -> Path:
        rng = random.Random(seed)
        benchmarks = []
        for (scenario, model, workers), median in cases.items():
            data = [median * (1 + rng.uniform(-noise, noise)) for _ in range(rounds)]
            data.sort()
            benchmarks.append(
                {
                    "group": scenario,
                    "name": f"test_case[{model}-w{workers}]",
                    "param": f"{model}-w{workers}",
                    "params": {"scenario": scenario, "model": model, "workers": workers},
                    "extra_info": {
                        "scenario": scenario,
                        "model": model,
                        "workers": workers,
                        "workload": "sleep",
                        "python": python,
                        "implementation": "cpython",
                        "gil_enabled": True,
                        "free_threaded": False,
                        "status": "ok",
                        **(extra or {}),
                    },
                    "stats": {"data": data, "median": data[len(data) // 2], "rounds": rounds},
                }
            )
        info = {
            "node": "box",
            "machine": "x86_64",
            "python_implementation": "CPython",
            "python_version": python,
            "cpu": {"count": 2, "brand_raw": "Test CPU"},
            "gil_enabled": True,
            "free_threaded": False,
            **(machine or {}),
        }
        folder = (results or tmp_path / "results") / "Linux-CPython-3.11-64bit"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{number:04d}_{name}.json"
        path.write_text(
            json.dumps(
                {
                    "machine_info": info,
                    "commit_info": {},
                    "benchmarks": benchmarks,
                    "datetime": f"2026-11-{number:02d}T10:00:00",
                    "version": "5.3.1",
                }
            )
        )
        return path

    return make


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, Any]:
    """Every async test runs twice: on asyncio's own event loop and on uvloop's."""
    import asyncio

    import uvloop

    return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


@pytest.fixture
def short_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    """Wait 0.3 s, not 2 s, past a round's ``timeout_s`` before the parent stops it: for
    tests whose round never ends, where the grace is only waiting."""
    from suite.harness import launcher

    monkeypatch.setattr(launcher, "GRACE_S", 0.3)
