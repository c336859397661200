"""What one pytest session of the suite keeps between hooks and cases, in ``config.stash``.

Kept apart so the plugin (collection, saving) and the benchmark function (measuring a
case) share it without importing each other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from suite.harness.backend import Backends
from suite.harness.executables import Interpreter
from suite.harness.interleave import Outcome
from suite.harness.launcher import CaseResult
from suite.harness.probe import CapacityProbe
from suite.harness.progress import Progress
from suite.harness.workcount import Count
from suite.results.record import CaseRecord
from suite.spec.cases import Case

#: Each collected scenario's description (its question first), by scenario name.
SCENARIOS = pytest.StashKey[dict[str, str]]()
#: Every collected case and the interpreter it runs under, by (scenario file node id, case id).
CASES = pytest.StashKey[dict[tuple[str, str], tuple[Case, Interpreter]]]()
BACKENDS = pytest.StashKey[Backends]()
#: The sequential case's result by scenario, interpreter and A/B side, for speedups and CPU ideals.
BASELINES = pytest.StashKey[dict[tuple[str, str, str], CaseResult]]()
#: The record of every case that ended, measured or not, for the summary after the run.
OUTCOMES = pytest.StashKey[list[CaseRecord]]()
#: Each case that began, by node id: what it was, its status and reason, for the saved results.
RECORDS = pytest.StashKey[dict[str, CaseRecord]]()
#: Where pytest-benchmark writes the measured cases before the suite saves the run.
INCOMING = pytest.StashKey[Path]()
#: The saved run's file.
SAVED = pytest.StashKey[Path]()
#: Elapsed time and what is left, shown on each case's result line.
PROGRESS = pytest.StashKey[Progress]()
#: Outcomes of each scenario file's interleaved group, by the file's node id.
GROUPS = pytest.StashKey[dict[str, dict[str, Outcome]]]()
#: What each interleaved scenario ran side by side (its seed, cases, and who ran alone).
INTERLEAVED = pytest.StashKey[dict[str, dict[str, Any]]]()
#: Instructions per task by (scenario, side, interpreter path, parameters), counted once each.
COUNTS = pytest.StashKey[dict[tuple[str, str, str], Count]]()
#: The capacity probe, started at the first scenario.
PROBE = pytest.StashKey[CapacityProbe]()


class SavedRun:
    """A pytest plugin that remembers where the suite saved the run."""

    path: Path | None = None

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.path = config.stash.get(SAVED, None)
