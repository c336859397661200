"""A process pool whose tasks read their payload in place from shared memory.

What a careful person does instead of pickling large ``bytes`` inputs to a pool: put them
in a :class:`multiprocessing.shared_memory.SharedMemory` block and send each task only the
block's name and its span. The block is filled before the rounds (as a program would
produce its data straight into it), so no round copies the inputs; each task reads its span
where it lies. What tasks return (``payload.out_bytes``) still travels back pickled.
Without ``payload.in_bytes`` it is the plain ``processes`` model, so scenarios that do not
name it leave it out (``by_default``).
"""

from __future__ import annotations

from collections.abc import Sequence
from multiprocessing import shared_memory

from suite.models import RoundResult, timed
from suite.models._installed import task_for_round
from suite.models.processes import ProcessesRunner, map_or_explain, pickling_s
from suite.workloads import TaskInput, payload_bytes


class SharedMemoryRunner(ProcessesRunner):
    name = "processes-shm"
    summary = "ProcessPoolExecutor; tasks read their payload in place from multiprocessing.shared_memory"
    order = 35
    by_default = False
    _block: shared_memory.SharedMemory | None = None
    _inputs: list[TaskInput]

    @property
    def _sharing(self) -> bool:
        payload = self.workload.params.payload
        return payload is not None and payload.in_bytes > 0

    def start(self) -> None:
        self._inputs = []
        super().start()

    def inputs(self, tasks: int) -> Sequence[TaskInput]:
        """Each task's span of the block, which is made and filled on first use (untimed)."""
        payload = self.workload.params.payload
        assert payload is not None
        if len(self._inputs) != tasks:
            self._release()
            size = payload.in_bytes
            block = self._block = shared_memory.SharedMemory(create=True, size=max(1, tasks * size))
            assert block.buf is not None
            for i in range(tasks):
                block.buf[i * size : (i + 1) * size] = payload_bytes(i, size)
            self._inputs = [TaskInput(i, b"", (block.name, i * size, size)) for i in range(tasks)]
        return self._inputs

    def run_round(self, tasks: int, round_no: int) -> RoundResult:
        if not self._sharing:
            return super().run_round(tasks, round_no)
        inputs = self.inputs(tasks)  # before the clock starts
        assert self._pool is not None, "start() was not called"
        pool, task = self._pool, task_for_round(round_no)
        return timed(lambda: map_or_explain(pool, task, inputs))

    def serialize_estimate(self, tasks: int) -> float | None:
        if not self._sharing:
            return super().serialize_estimate(tasks)
        return pickling_s(self.workload, tasks, self.inputs(tasks))

    def _release(self) -> None:
        if self._block is not None:
            self._block.close()
            self._block.unlink()
            self._block = None

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()


RUNNERS = (SharedMemoryRunner,)
