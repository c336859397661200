"""Work counted, not timed: the instructions one task executes, by valgrind.

A shared machine changes speed from second to second, so a timing cannot say whether
the *work* changed. An instruction count can: ``valgrind --tool=cachegrind
--cache-sim=no`` counts what a process executes, identically from run to run, whatever
else the machine does. A task's count is the difference between two runs of
:data:`PROGRAM` under valgrind, one that runs the task once more than the other; both
import the task and run it once to warm it, so only the task is left.

The parent (:func:`count`) starts both runs at once and reads valgrind's ``I refs``;
the counted program is :data:`PROGRAM`. Counting runs outside any timed round, after the
scenario's rounds.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass

from suite.harness import executables
from suite.harness.launcher import NATIVE_ENV
from suite.spec import registry
from suite.spec.cases import Case

#: Longest a counted run may take (valgrind runs Python about 50 times slower).
TIMEOUT_S = 300.0
REFS = re.compile(rb"I\s+refs:\s+([\d,]+)")
INSTALL = "install valgrind to count them (apt-get install valgrind)"


@dataclass(frozen=True)
class Count:
    """Instructions one task executed, or why there is no count."""

    instructions: int | None
    reason: str | None = None
    #: How long counting took (both runs under valgrind, side by side).
    seconds: float = 0.0


def countable(case: Case) -> bool:
    """Whether the case's work is CPU work whose instructions say how much there is."""
    return registry.workload(case.kind).counted and case.mode == "batch" and not case.params.get("fault")


def unavailable() -> str | None:
    """Why nothing can be counted on this machine, or ``None``."""
    return None if shutil.which("valgrind") else f"valgrind is not installed: {INSTALL}"


@functools.cache
def real_executable(python: str) -> str:
    """The interpreter binary itself: valgrind follows no shell shim (pyenv's) into it."""
    with open(python, "rb") as fh:
        if fh.read(2) != b"#!":
            return python
    done = subprocess.run([python, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True)
    return done.stdout.strip() or python


#: The counted program: one task, bound from :mod:`suite.tasks` (standard library only,
#: so the run that counts nothing is small), run once to warm, then ``TASKS`` times more.
PROGRAM = """
import json, sys
from suite.tasks import bind
kind, arguments, tasks = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
task = bind(kind, arguments)
task(0)
for _ in range(tasks):
    task(0)
"""


def task_of(case: Case) -> tuple[str, dict[str, object]] | None:
    """The case's task as a :mod:`suite.tasks` kind and its arguments, if it has one."""
    kind = registry.workload(case.kind)
    return kind(kind.Params.model_validate(case.params)).pure_task()


def _command(python: str, task: tuple[str, dict[str, object]], tasks: int) -> list[str]:
    return [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        real_executable(python),
        "-c",
        PROGRAM,
        task[0],
        json.dumps(task[1]),
        str(tasks),
    ]


def count(case: Case, python: str = sys.executable) -> Count:
    """The instructions one task of ``case`` executes under ``python``."""
    began = time.monotonic()
    found = _count(case, python)
    return dataclasses.replace(found, seconds=time.monotonic() - began)


def _count(case: Case, python: str) -> Count:
    reason = unavailable()
    if reason is not None:
        return Count(None, reason)
    task = task_of(case)
    if task is None:
        return Count(None, f"the {case.kind} kind has no task of its own to count")
    env = {**executables.worker_env(python), "PYTHONHASHSEED": "0", **dict.fromkeys(NATIVE_ENV, "1")}
    runs = [
        subprocess.Popen(
            _command(python, task, n), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
        )
        for n in (0, 1)
    ]
    found = []
    for run in runs:
        try:
            _, err = run.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            for other in runs:
                other.kill()
                other.communicate()
            return Count(None, f"counting took longer than {TIMEOUT_S:g} s under valgrind")
        refs = REFS.search(err)
        if run.returncode != 0 or refs is None:
            tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
            return Count(None, f"the counted run failed (exit {run.returncode}): {tail[0]}")
        found.append(int(refs.group(1).replace(b",", b"")))
    return Count(max(0, found[1] - found[0]))
