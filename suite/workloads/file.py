r"""Files written, read back and deleted: real calls into the file system and the disk.

Each task writes its own file of ``bytes`` into the case's own folder (under the
system's temporary folder, removed after the case), optionally ``fsync``\ s it, reads it
back and deletes it. The calls release the GIL while the kernel works. There is no
asynchronous file API in asyncio: coroutines make the same blocking calls on the loop
(``asyncio+threads`` is the usual way out, and is measured as a model of its own).
"""

from __future__ import annotations

import shutil
import tempfile
from typing import Any

from pydantic import Field

from suite.tasks import text
from suite.workloads import Workload, WorkloadParams


class FileParams(WorkloadParams):
    quick_fields = ("bytes",)
    bytes: int = Field(ge=1, le=256 * 1024 * 1024, description="size of each task's file")
    fsync: bool = Field(default=False, description="force each file to the disk before reading it back")


class FileWorkload(Workload):
    kind = "file"
    Params = FileParams
    summary = "write, read back and delete a file per task (file-system I/O)"
    params: FileParams
    _own_folder: str | None = None

    def folder(self) -> str:
        """Where the tasks' files go: the case's own folder, or one made for this object."""
        if self.scratch is not None:
            return self.scratch
        if self._own_folder is None:
            self._own_folder = tempfile.mkdtemp(prefix="suite-file-")
        return self._own_folder

    def prepare(self, concurrency: int) -> None:
        text(self.params.bytes)
        self.folder()

    def close(self) -> None:
        if self._own_folder is not None:
            shutil.rmtree(self._own_folder, ignore_errors=True)
            self._own_folder = None

    holds_gil = False

    def rough_task_s(self) -> tuple[float, float]:
        return (0.005 if self.params.fsync else 0.0), 2e-4 + self.params.bytes / 800e6

    def pure_task(self) -> tuple[str, dict[str, Any]]:
        return "file", {"folder": self.folder(), "size": self.params.bytes, "fsync": self.params.fsync}

    def descriptors_needed(self, concurrency: int) -> int:
        return concurrency  # one open file per task in flight


WORKLOAD = FileWorkload
