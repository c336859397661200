from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from suite import registry

pytest_plugins = ["pytester"]


def _model_params() -> list[object]:
    params = []
    for name, cls in registry.runners().items():
        reason = cls.unavailable_reason()
        marks = [pytest.mark.skip(reason=reason)] if reason else []
        params.append(pytest.param(name, id=name, marks=marks))
    return params


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
