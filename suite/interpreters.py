"""Interpreters that run workers: probed once, labelled by version, build and GIL state."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from dataclasses import dataclass

from .history import interpreter_label

PROBE = (
    "import json, platform, sys, sysconfig; "
    "gil = getattr(sys, '_is_gil_enabled', lambda: True)(); "
    "print(json.dumps({'implementation': sys.implementation.name, 'version': platform.python_version(), "
    "'free_threaded': bool(sysconfig.get_config_var('Py_GIL_DISABLED')), 'gil_enabled': bool(gil)}))"
)


@dataclass(frozen=True)
class Interpreter:
    """A Python that runs workers, and the label its results carry."""

    path: str
    label: str
    error: str | None = None  # why it cannot even be probed


@functools.cache
def probe(path: str) -> Interpreter:
    """Ask ``path`` what it is; a path that does not run gives an :class:`Interpreter` with an error."""
    if os.path.realpath(path) == os.path.realpath(sys.executable):
        path = sys.executable
    try:
        done = subprocess.run([path, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True)
        facts = json.loads(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        return Interpreter(
            path, os.path.basename(path), f"{path} does not run as a Python interpreter: {exc}"
        )
    label = interpreter_label(
        facts["implementation"], facts["version"], facts["free_threaded"], facts["gil_enabled"]
    )
    return Interpreter(path, label)


def resolve(paths: list[str] | None) -> list[Interpreter]:
    """The interpreters of a run, in the order given (default: this one)."""
    return [probe(p) for p in dict.fromkeys(paths or [sys.executable])]
