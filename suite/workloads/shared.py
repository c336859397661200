"""Tasks that update one shared counter, dict or list: what the GIL does not protect.

Each task makes ``updates`` read-modify-write updates (``counter += 1``, ``d[k] =
d.get(k, 0) + 1``) or appends to one list, all on the same shared state; ``guard: lock``
holds a lock around each update. After each round the worker reads the state: the
expected total is ``tasks x updates``, and any shortfall is a lost update. A case that
lost any is reported as incorrect, with the count, never saved as a measurement.

Where the state lives depends on where the tasks run, as a careful person would share it:
- tasks in the process that made the workload (sequential, threads, event loops,
  asyncio+threads) share plain Python objects and a ``threading.Lock``;
- tasks in pool processes share a ``multiprocessing.RawValue`` (shared memory) for the
  counter, a ``multiprocessing.Manager`` dict or list for the others, and a
  ``multiprocessing.Lock``. The process models make them before starting their pool
  (:meth:`SharedWorkload.share_across_processes`).
Subinterpreters and Dask workers share no state with the process that started them.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Literal

from pydantic import Field

from suite.workloads import SharedState, WorkloadParams

#: Dict updates spread over this many keys, so tasks collide on them.
KEYS = 16


class SharedParams(WorkloadParams):
    quick_fields = ("updates",)
    op: Literal["counter", "dict", "list-append"] = Field(
        description="counter: `box.value += 1`; dict: `d[k] = d.get(k, 0) + 1` over 16 keys; "
        "list-append: `items.append(i)`"
    )
    updates: int = Field(ge=1, le=10**7, description="updates each task makes")
    guard: Literal["none", "lock"] = Field(default="none", description="lock: a lock around each update")


class Box:
    """A plain object with one attribute: the counter threads share."""

    value = 0


class SharedWorkload(SharedState):
    kind = "shared"
    Params = SharedParams
    summary = "each task updates one shared counter, dict or list; lost updates fail the case"
    params: SharedParams

    def __init__(
        self, params: WorkloadParams, endpoint: dict[str, Any] | None = None, scratch: str | None = None
    ) -> None:
        super().__init__(params, endpoint, scratch)
        self._owner = os.getpid()
        self._lock: Any = threading.Lock()
        self._box, self._dict, self._list = Box(), dict[int, int](), list[int]()
        # Made by share_across_processes, for tasks in other processes.
        self._value: Any = None
        self._manager: Any = None

    def share_across_processes(self, context: Any) -> None:
        """Put the state where pool processes can reach it, made with the pool's own
        multiprocessing context (a lock of one start method cannot go to another's)."""
        self._value = context.RawValue("q", 0)
        self._lock = context.Lock()
        if self.params.op != "counter":
            self._manager = context.Manager()
            self._dict, self._list = self._manager.dict(), self._manager.list()

    def __getstate__(self) -> dict[str, Any]:
        # Pool processes get the shared objects (passed while they start, as multiprocessing
        # requires) and the owner's pid, so they know they are not the owner.
        return {
            **super().__getstate__(),
            "shared": (self._owner, self._lock, self._value, self._dict, self._list),
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._owner, self._lock, self._value, self._dict, self._list = state["shared"]

    def _in_owner(self) -> bool:
        return os.getpid() == self._owner or self._value is None

    def rough_task_s(self) -> tuple[float, float]:
        return 0.0, self.params.updates * 1e-7

    def run_task(self, index: int) -> int:
        op, updates, lock = self.params.op, self.params.updates, self._lock
        guarded = self.params.guard == "lock"
        if op == "counter":
            box = self._box if self._in_owner() else self._value
            if guarded:
                for _ in range(updates):
                    with lock:
                        box.value += 1
            else:
                for _ in range(updates):
                    box.value += 1
        elif op == "dict":
            d = self._dict
            for i in range(updates):
                key = (index + i) % KEYS
                if guarded:
                    with lock:
                        d[key] = d.get(key, 0) + 1
                else:
                    d[key] = d.get(key, 0) + 1
        else:
            items = self._list
            for i in range(updates):
                if guarded:
                    with lock:
                        items.append(i)
                else:
                    items.append(i)
        return index

    async def run_task_async(self, index: int) -> int:
        # No await inside: a coroutine's updates cannot interleave with another's.
        return self.run_task(index)

    def reset_shared(self) -> None:
        self._box.value = 0
        if self._value is not None:
            self._value.value = 0
        self._dict.clear()
        # A Manager's list proxy has no clear() before 3.13 on every version: delete the slice.
        del self._list[:]

    def shared_outcome(self, tasks: int) -> tuple[int, int]:
        expected = tasks * self.params.updates
        if self.params.op == "counter":
            observed = self._box.value + (self._value.value if self._value is not None else 0)
        elif self.params.op == "dict":
            observed = sum(self._dict.values())
        else:
            observed = len(self._list)
        return expected, observed

    def close(self) -> None:
        if self._manager is not None:
            self._manager.shutdown()
            self._manager = None


WORKLOAD = SharedWorkload
