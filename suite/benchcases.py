"""The benchmark function every scenario file runs; the plugin parametrizes it per case.

It is collected once per scenario file (see :mod:`suite.plugin`), never imported as a
test module of its own.
"""

from __future__ import annotations

from typing import Any

import pytest

from .plugin import run_benchmark


def test_case(
    request: pytest.FixtureRequest, benchmark: Any, scenario: str, model: str, workers: int, python: str
) -> None:
    run_benchmark(request, benchmark)
