"""Your own function as the workload: ``target: "package.module:function"``.

Every model calls the same function by its import path: each process (and each
subinterpreter, and each Dask worker) imports it itself, so the function must be
defined at module level. ``args`` and ``kwargs`` are passed as given; ``index_arg``, when
set, also passes the task's index under that keyword. The return value is folded into
the round's checksum (ints as they are, anything else by a digest of its ``repr``), so
models that computed different things show different checksums. ``async_target``, a
coroutine function, is what the async models await instead; without it they call
``target`` on the event loop, which is what calling blocking code from asyncio costs.

A scenario with a callable runs that code, like running any Python file: importing it
runs its module's top level, once when the scenario is validated (in a separate process)
and once in each process of each case.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any, Self

from pydantic import Field

from suite.tasks import call_arguments, fold, resolve
from suite.workloads import Workload, WorkloadParams

TARGET = (
    r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"
)
#: Longest a validation probe may take to import the target's module.
PROBE_TIMEOUT_S = 60.0


class CallableParams(WorkloadParams):
    target: str = Field(pattern=TARGET, description="the function to run, as package.module:function")
    async_target: str | None = Field(
        default=None, pattern=TARGET, description="a coroutine function the async models await instead"
    )
    args: list[Any] = Field(default_factory=list, description="positional arguments, the same for every task")
    kwargs: dict[str, Any] = Field(default_factory=dict, description="keyword arguments for every task")
    requires: list[str] = Field(
        default_factory=list,
        description="modules the function imports when it runs (e.g. numpy); where one is not "
        "installed, the case is reported unavailable with that reason",
    )
    index_arg: str | None = Field(
        default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="keyword that receives the task index"
    )
    path: list[str] = Field(
        default_factory=list,
        description="folders put on sys.path to import the target, relative to the scenario file; "
        "default: the scenario file's folder",
    )

    def bind_to(self, folder: Path) -> Self:
        paths = [str((folder / p).resolve()) for p in self.path] or [str(folder.resolve())]
        return self.model_copy(update={"path": paths})

    def problems(self) -> list[tuple[str, str]]:
        """What is wrong with the targets, found by importing them in another process."""
        found = []
        for key in ("target", "async_target"):
            target = getattr(self, key)
            if target is not None:
                message = probe(target, tuple(self.path), coroutine=key == "async_target")
                if message is not None:
                    found.append((key, message))
        return found


PROBE = """
import inspect, json, pickle, sys
target, path, coroutine = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3] == "1"
sys.path[:0] = path
module_name, _, qualname = target.partition(":")
def say(message):
    print(json.dumps(message))
    sys.exit(0)
try:
    import importlib
    found = importlib.import_module(module_name)
except BaseException as exc:
    say(f"cannot import {module_name!r}: {type(exc).__name__}: {exc} (sys.path starts with {path})")
for part in qualname.split("."):
    if not hasattr(found, part):
        say(f"{module_name!r} has no attribute {qualname!r}")
    found = getattr(found, part)
if not callable(found):
    say(f"{target} is a {type(found).__name__}, not a function")
if coroutine and not inspect.iscoroutinefunction(found):
    say(f"{target} is not a coroutine function (async def); async_target must be one")
try:
    pickle.loads(pickle.dumps(found))
except Exception as exc:
    say(f"{target} cannot be pickled ({type(exc).__name__}: {exc}), so it cannot be sent to "
        "process pools: define it with def at module level")
say(None)
"""


@functools.lru_cache(maxsize=256)
def probe(target: str, path: tuple[str, ...], coroutine: bool = False) -> str | None:
    """Import ``target`` in a fresh interpreter: ``None`` if it is usable, else why not."""
    import json

    try:
        done = subprocess.run(
            [sys.executable, "-c", PROBE, target, json.dumps(list(path)), "1" if coroutine else "0"],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"importing {target} took longer than {PROBE_TIMEOUT_S:g} s"
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return f"importing {target} failed: {tail[0]}"
    message: str | None = json.loads(lines[-1])
    return message


class CallableWorkload(Workload):
    kind = "callable"
    Params = CallableParams
    summary = "your own function, by import path (target: package.module:function)"
    counted = True
    params: CallableParams

    @classmethod
    def unavailable_with(cls, params: WorkloadParams) -> str | None:
        assert isinstance(params, CallableParams)
        missing = [name for name in params.requires if importlib.util.find_spec(name) is None]
        if missing:
            return (
                f"{params.target} needs {', '.join(missing)}, not installed for this interpreter: "
                f"pip install {' '.join(missing)} (numpy comes with the suite's numeric extra)"
            )
        return None

    def load_modules(self) -> None:
        for name in self.params.requires:
            importlib.import_module(name)
        resolve(self.params.target, self.params.path)

    def prepare(self, concurrency: int) -> None:
        p = self.params
        resolve(p.target, p.path)  # imported here, outside the timed rounds
        if p.async_target is not None:
            resolve(p.async_target, p.path)

    async def run_task_async(self, index: int) -> int:
        p = self.params
        if p.async_target is None:
            return self.run_task(index)
        positional, keywords = call_arguments(index, p.args, p.kwargs, p.index_arg)
        return fold(await resolve(p.async_target, p.path)(*positional, **keywords))

    def pure_task(self) -> tuple[str, dict[str, Any]]:
        p = self.params
        return "callable", {
            "target": p.target,
            "path": p.path,
            "args": p.args,
            "kwargs": p.kwargs,
            "index_arg": p.index_arg,
        }


WORKLOAD = CallableWorkload
