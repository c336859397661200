"""The baseline: every task one after the other in the worker's main thread."""

from __future__ import annotations

from suite.models import RoundResult, Runner, timed


class SequentialRunner(Runner):
    name = "sequential"
    summary = "one task after the other (baseline, 1 worker)"
    order = 0
    family = "baseline"
    fixed_workers = 1
    one_cpu = True

    def start(self) -> None:
        self.workload.prepare(1)

    def run_round(self, tasks: int, round_no: int) -> RoundResult:
        self.workload.begin_round(round_no)
        task = self.workload.run_timed
        inputs = self.workload.inputs(tasks)
        return timed(lambda: [task(i) for i in inputs])

    def close(self) -> None:
        self.workload.close()


RUNNERS = (SequentialRunner,)
