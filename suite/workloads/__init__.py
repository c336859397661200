"""The workload contract: what one task does, in a sync and an async flavour.

A workload kind is one module in this package that defines a :class:`Workload`
subclass and names it ``WORKLOAD``.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field

MAX_TASKS = 1_000_000


class WorkloadParams(BaseModel):
    """Parameters every workload kind takes; subclasses add their own fields."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    tasks: int = Field(ge=1, le=MAX_TASKS, description="independent tasks per round")

    def quick(self) -> Self:
        """Smaller parameters for ``--quick``: same shape, a fraction of the work."""
        return self


class Workload(abc.ABC):
    """One kind of work, split into ``tasks`` independent tasks per round.

    Every model runs the same tasks: :meth:`run_task` in threads, processes and the
    sequential baseline, :meth:`run_task_async` on event loops. Both must do the same
    work and return the same value for the same index, so the checksum of a round is
    identical under every model.
    """

    #: The name used as ``workload.kind`` in scenario files.
    kind: ClassVar[str]
    #: The pydantic model of this kind's parameters (``extra="forbid"``).
    Params: ClassVar[type[WorkloadParams]]
    #: What the kind measures, one line, for ``suite list``.
    summary: ClassVar[str]

    def __init__(self, params: WorkloadParams) -> None:
        self.params = params

    def __getstate__(self) -> dict[str, Any]:
        # Only parameters travel to pool processes; each process prepares its own data.
        return {"params": self.params}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["params"])  # type: ignore[misc]

    def prepare(self) -> None:
        """Build what tasks need (buffers, ...) in the process that runs them.

        Called once per process, before any round and outside the timed region.
        """

    @abc.abstractmethod
    def run_task(self, index: int) -> int:
        """Do task ``index`` (0-based) and return an int folded into the round checksum."""

    async def run_task_async(self, index: int) -> int:
        """The same task inside a coroutine.

        The default runs :meth:`run_task` on the event loop, which is the honest
        result of doing CPU work in a coroutine; waiting kinds override it.
        """
        return self.run_task(index)

    def ideal_s(self, workers: int) -> float | None:
        """The physical lower bound of one round with ``workers``, if the kind knows it."""
        return None
