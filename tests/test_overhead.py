"""The hand-written reference script the overhead benchmark compares the suite with."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from suite.selfcheck.overhead import HANDWRITTEN, MODELS


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("cpu", {"tasks": 3, "iterations": 100}),
        ("hash", {"tasks": 3, "bytes": 4096}),
        ("sleep", {"tasks": 4, "latency_ms": 5}),
    ],
)
def test_handwritten_times_each_round(model: str, kind: str, params: dict[str, int]) -> None:
    done = subprocess.run(
        [sys.executable, str(HANDWRITTEN), model, kind, json.dumps(params), "2", "3", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    durations = json.loads(done.stdout)
    assert len(durations) == 3
    assert all(d > 0 for d in durations)
    if kind == "sleep":  # four 5 ms waits, at most two at a time (one for the baseline)
        assert min(durations) >= 0.010


def test_handwritten_is_independent_of_the_suite() -> None:
    source = HANDWRITTEN.read_text()
    assert "import suite" not in source
    assert "from suite" not in source
    assert "from ." not in source
