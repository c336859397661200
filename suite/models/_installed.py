"""The workload installed in a process that runs tasks for another one (a pool process,
a Dask worker): prepared once, told when a round begins, asked to run task indices."""

from __future__ import annotations

import functools

from suite.workloads import TaskInput, TimedValue, Workload

_installed: Workload | None = None
_round_no = -1


def install(workload: Workload) -> None:
    """Prepare ``workload`` here; later :func:`run` calls use it."""
    global _installed, _round_no
    workload.prepare(1)
    _installed, _round_no = workload, -1


def run(round_no: int, index: int | TaskInput) -> TimedValue:
    """Task ``index`` (with its data) of round ``round_no``; the first task of a round begins it here."""
    global _round_no
    assert _installed is not None, "no workload was installed in this process"
    if round_no != _round_no:
        _round_no = round_no
        _installed.begin_round(round_no)
    return _installed.run_timed(index)


def task_for_round(round_no: int) -> functools.partial[TimedValue]:
    """The picklable callable a process runs for each task index of a round."""
    return functools.partial(run, round_no)
